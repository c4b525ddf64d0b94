//! A policy's history: every version, and what changed between two of them.

use crate::router::use_params_map;
use leptos::prelude::*;
use shared::catalog::SettingValue;
use shared::policy::{definition_name, describe_value};

use crate::api;
use crate::components::ErrorNotice;
use crate::format;
use crate::load::Load;

/// The history page.
#[component]
pub fn PolicyHistoryPage() -> impl IntoView {
    let params = use_params_map();
    let id = StoredValue::new(params.get_untracked().get("id").unwrap_or_default());
    let versions = Load::new(move || async move { api::policy_versions(&id.get_value()).await });
    let from = RwSignal::new(0u64);
    let to = RwSignal::new(0u64);
    Effect::new(move |_| {
        if let Some(Ok(list)) = versions.get() {
            let last = list.last().map_or(1, |v| v.version);
            to.set(last);
            from.set(last.saturating_sub(1).max(1));
        }
    });
    let changes = Load::new(move || {
        let (f, t) = (from.get(), to.get());
        async move { if f == 0 || t == 0 { Ok(Vec::new()) } else { api::policy_diff(&id.get_value(), f, t).await } }
    });
    view! {
        <p class="breadcrumb"><a href=move || format!("/policies/{}", id.get_value())>"Policy"</a>" › history"</p>
        <h1>"History"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading history…"</p> }>
            {move || versions.get().map(|result| match result {
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                Ok(list) => {
                    let options = move |selected: RwSignal<u64>| list.iter().map(|v| {
                        let version = v.version;
                        view! { <option value=version.to_string() selected=move || selected.get() == version>{format!("Version {version} — {} by {}", format::date_time(v.created_at), v.created_by)}</option> }
                    }).collect_view();
                    view! {
                        <div class="toolbar">
                            <label class="field"><span>"Compare"</span>
                                <select aria-label="From version" on:change=move |ev| from.set(event_target_value(&ev).parse().unwrap_or(1))>{options(from)}</select></label>
                            <label class="field"><span>"with"</span>
                                <select aria-label="To version" on:change=move |ev| to.set(event_target_value(&ev).parse().unwrap_or(1))>{options(to)}</select></label>
                        </div>
                    }.into_any()
                }
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || changes.get().map(|result| match result {
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                Ok(changes) if changes.is_empty() => view! { <p class="muted">"No differences."</p> }.into_any(),
                Ok(changes) => view! {
                    <div class="table-wrap">
                        <table class="grid" data-testid="diff-table">
                            <thead><tr><th scope="col">"What"</th><th scope="col">"Before"</th><th scope="col">"After"</th></tr></thead>
                            <tbody>
                                {changes.into_iter().map(|c| {
                                    let (before, after) = (readable(&c.field, c.before), readable(&c.field, c.after));
                                    view! {
                                        <tr>
                                            <td>{definition_name(&c.field)}</td>
                                            <td class="before"><code class="plain">{before}</code></td>
                                            <td class="after"><code class="plain">{after}</code></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
            })}
        </Transition>
    }
}

/// A changed value in words: a setting's value described as the review page does, other fields as their text.
pub fn readable(field: &str, json: Option<String>) -> String {
    let Some(json) = json else { return "Not configured".to_owned() };
    if let Ok(value) = serde_json::from_str::<SettingValue>(&json) {
        return describe_value(field, &value);
    }
    match serde_json::from_str::<serde_json::Value>(&json) {
        Ok(serde_json::Value::String(text)) => text,
        _ => json,
    }
}
