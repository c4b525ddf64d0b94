//! Import of exported policy files (Microsoft Graph settings-catalog JSON, e.g. from Intune): one or many files, each
//! reported on its own: the policy it became and every setting that could not be mapped, or why it was refused.

use leptos::prelude::*;
use shared::policy::ImportReport;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::api::{self, ApiFailure};

/// What became of one file.
#[derive(Debug, Clone)]
pub struct FileOutcome {
    file_name: String,
    result: Result<ImportReport, ApiFailure>,
}

pub(crate) async fn read(file: &web_sys::File) -> Result<Vec<u8>, ApiFailure> {
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| ApiFailure::Network(format!("cannot read {}", file.name())))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The Import button; what became of each file goes to `outcomes`. `imported` runs after every import.
#[component]
pub fn ImportPolicies(
    outcomes: RwSignal<Vec<FileOutcome>>,
    imported: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let busy = RwSignal::new(false);
    let on_change = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let Some(list) = input.files() else { return };
        let files: Vec<web_sys::File> = (0..list.length()).filter_map(|i| list.get(i)).collect();
        input.set_value("");
        if files.is_empty() {
            return;
        }
        busy.set(true);
        outcomes.set(Vec::new());
        leptos::task::spawn_local(async move {
            for file in files {
                let result = match read(&file).await {
                    Ok(bytes) => api::import_policy(&bytes).await,
                    Err(error) => Err(error),
                };
                outcomes.update(|o| o.push(FileOutcome { file_name: file.name(), result }));
            }
            busy.set(false);
            imported();
        });
    };
    view! {
        <label class="button subtle file-button">
            {move || if busy.get() { "Importing…" } else { "Import" }}
            <input type="file" multiple accept=".json,application/json" aria-label="Import policy files"
                data-testid="import-files" on:change=on_change disabled=move || busy.get()/>
        </label>
    }
}

/// The report of the last import: each file, the policy it became and what could not be mapped, or why it was refused.
#[component]
pub fn ImportReportView(outcomes: RwSignal<Vec<FileOutcome>>) -> impl IntoView {
    view! {
        <Show when=move || !outcomes.with(Vec::is_empty)>
            <section class="card import-report" data-testid="import-report" aria-live="polite">
                <h2>"Import"</h2>
                <ul class="plain-list">
                    {move || outcomes.get().into_iter().map(|outcome| match outcome.result {
                        Ok(report) => {
                            let unmapped = report.unmapped.clone();
                            view! {
                                <li class="ok-text">
                                    <strong>{outcome.file_name}</strong>
                                    {format!(" → \"{}\" ({}, {} settings)", report.policy.draft.name, report.policy.draft.profile.label(), report.policy.draft.settings.len())}
                                    {(!unmapped.is_empty()).then(|| view! {
                                        <div class="muted">{format!("{} setting(s) could not be imported:", unmapped.len())}
                                            <ul>{unmapped.into_iter().map(|u| view! { <li>{format!("{} ({}): {}", u.setting_definition_id, u.path, u.reason)}</li> }).collect_view()}</ul>
                                        </div>
                                    })}
                                </li>
                            }.into_any()
                        }
                        Err(failure) => {
                            let detail = match &failure {
                                ApiFailure::Server(envelope) if !envelope.error.violations.is_empty() => envelope
                                    .error
                                    .violations
                                    .iter()
                                    .map(|v| if v.path.is_empty() { v.message.clone() } else { format!("{}: {}", v.path, v.message) })
                                    .collect::<Vec<_>>()
                                    .join("; "),
                                _ => failure.to_string(),
                            };
                            view! { <li class="field-error"><strong>{outcome.file_name}</strong>{format!(" was not imported: {detail}")}</li> }.into_any()
                        }
                    }).collect_view()}
                </ul>
            </section>
        </Show>
    }
}
