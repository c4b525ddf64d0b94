//! The conflict preview beside the wizard: computed in the browser, with the `shared` rules, on every edit of the
//! draft, from a snapshot of the tenant loaded once — no server round trip per keystroke.

use leptos::prelude::*;
use shared::policy::PolicyDraft;
use shared::preview::{Memberships, Overlap, Preview, Reach, Snapshot, preview_within};

use crate::api;
use crate::components::{AffectedDevices, ErrorNotice};
use crate::format;
use crate::load::Load;

/// The panel: loads the snapshot, then previews the draft as it changes.
#[component]
pub fn PreviewPanel(draft: RwSignal<PolicyDraft>, editing: Option<String>) -> impl IntoView {
    let snapshot = Load::new(api::snapshot);
    view! {
        <section class="card preview" data-testid="preview" aria-live="polite">
            <h2>"Conflict preview"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading the tenant's devices, groups and policies…"</p> }>
                {move || snapshot.get().map(|result| match result {
                    Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                    Ok(snapshot) => view! { <PreviewOf snapshot draft editing=editing.clone()/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn PreviewOf(snapshot: Snapshot, draft: RwSignal<PolicyDraft>, editing: Option<String>) -> impl IntoView {
    let taken_at = snapshot.taken_at;
    let memberships = Memberships::of(&snapshot);
    let data = StoredValue::new((snapshot, memberships));
    // Which devices the draft reaches changes only with its assignments; edits of settings reuse it, and only the
    // settings that changed are computed again; after an assignment change, what each set of policies resolves to
    // is still reused.
    let reach = StoredValue::new(None::<Reach>);
    let result: Memo<Preview> = Memo::new(move |_| {
        draft.with(|d| {
            data.with_value(|(snapshot, memberships)| {
                let editing = editing.as_deref();
                if !reach.with_value(|r| r.as_ref().is_some_and(|r| r.fits(d, editing))) {
                    reach.update_value(|r| match r {
                        Some(r) => r.refit(snapshot, memberships, d, editing),
                        None => *r = Some(Reach::of(snapshot, memberships, d, editing)),
                    });
                }
                reach
                    .try_update_value(|r| r.as_mut().map(|r| preview_within(snapshot, r, d)))
                    .flatten()
                    .unwrap_or_default()
            })
        })
    });
    let section = move |overlap: Overlap, title: &'static str, help: &'static str| {
        move || {
            let rows: Vec<_> = result.with(|p| p.settings.iter().filter(|s| s.overlap == overlap).cloned().collect());
            (!rows.is_empty()).then(|| view! {
                <h3>{format!("{title} ({})", rows.len())}</h3>
                <p class="help">{help}</p>
                <table class="grid" data-testid=format!("preview-{}", overlap.code())>
                    <thead><tr><th scope="col">"Setting"</th><th scope="col">"This policy"</th><th scope="col">"Other policies"</th><th scope="col">"Devices"</th><th scope="col">"On the device"</th></tr></thead>
                    <tbody>
                        {rows.into_iter().map(|row| {
                            let setting = row.clone();
                            let why = row.decided_by.map(|by| format!(" ({} wins)", by.winner())).unwrap_or_default();
                            view! {
                                <tr data-setting=row.setting_id.clone()>
                                    <td>{row.name}</td>
                                    <td class="sub-wide">{row.value}</td>
                                    <td class="sub-wide">{row.others.iter().map(|o| view! {
                                        <div><a href=format!("/policies/{}", o.policy_id)>{o.policy_name.clone()}</a>": "{o.value.clone()}</div>
                                    }).collect_view()}</td>
                                    <td><AffectedDevices n=row.n_devices sample=row.sample.clone() links=true all=Callback::new(
                                        move |()| reach.with_value(|r| data.with_value(|(snapshot, _)| {
                                            r.as_ref().map(|r| r.devices(&setting).map(|d| {
                                                let device = &snapshot.devices[d];
                                                (device.id.clone(), device.facts.hostname.to_string())
                                            }).collect()).unwrap_or_default()
                                        }))
                                    )/></td>
                                    <td class="sub-wide">{format!("{}{why}", row.effective)}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            })
        }
    };
    view! {
        <p data-testid="preview-reach">{move || result.with(|p| {
            let not_eligible = p.n_targeted - p.n_applies;
            format!(
                "Would apply to {} device{}{}.",
                p.n_applies,
                if p.n_applies == 1 { "" } else { "s" },
                if not_eligible > 0 { format!(" ({not_eligible} more in its groups are not eligible)") } else { String::new() }
            )
        })}</p>
        {move || result.with(|p| p.settings.is_empty()).then(|| view! {
            <p class="muted" data-testid="preview-none">"No other policy configures these settings on those devices."</p>
        })}
        {section(Overlap::Conflict, "Conflicts", "Another policy gives a different value on the same devices; the device applies one of them and reports Conflict.")}
        {section(Overlap::Merged, "Merged lists", "The devices apply the union of the lists.")}
        {section(Overlap::Identical, "Same value elsewhere", "Another policy already sets the same value: harmless, worth knowing.")}
        <p class="help">{format!("Computed in your browser from the tenant as of {}.", format::date_time(taken_at))}</p>
    }
}
