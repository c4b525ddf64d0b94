//! Endpoint security → Conflicts: every conflict in the tenant right now (setting × competing policies × devices),
//! computed in the browser from the tenant snapshot with the rules the devices use.

use leptos::prelude::*;
use shared::conflict::DecidedBy;
use shared::preview::{Memberships, tenant_conflicts};

use crate::api;
use crate::components::ErrorNotice;
use crate::format;

/// The Conflicts page.
#[component]
pub fn ConflictsPage() -> impl IntoView {
    let snapshot = LocalResource::new(api::snapshot);
    view! {
        <div class="page-head">
            <p class="breadcrumb">"Endpoint security"</p>
            <h1>"Conflicts"</h1>
            <p class="muted">"Settings that two or more policies give different values on the same devices, with the value the devices apply. Computed in your browser with the same rules the devices use."</p>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading the tenant…"</p> }>
            {move || snapshot.get().map(|result| match result {
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                Ok(snapshot) => {
                    let conflicts = tenant_conflicts(&snapshot, &Memberships::of(&snapshot));
                    let taken_at = snapshot.taken_at;
                    if conflicts.is_empty() {
                        return view! { <div class="card"><p class="empty" data-testid="no-conflicts">"No conflicts: wherever policies overlap, they agree or their lists merge."</p></div> }.into_any();
                    }
                    view! {
                        <div class="table-wrap">
                            <table class="grid" data-testid="conflicts-table">
                                <thead><tr><th scope="col">"Setting"</th><th scope="col">"Policies and their values"</th><th scope="col">"Devices"</th><th scope="col">"Takes effect"</th></tr></thead>
                                <tbody>
                                    {conflicts.into_iter().map(|c| {
                                        let why = match c.decided_by {
                                            Some(DecidedBy::MostSecure) => "the most secure value",
                                            Some(DecidedBy::MostRecentlyModified) => "the most recently modified policy",
                                            None => "",
                                        };
                                        view! {
                                            <tr data-setting=c.setting_id.clone()>
                                                <td>{c.name}</td>
                                                <td class="sub-wide">{c.policies.iter().map(|p| view! {
                                                    <div><a href=format!("/policies/{}", p.policy_id)>{p.policy_name.clone()}</a>": "{p.value.clone()}</div>
                                                }).collect_view()}</td>
                                                <td>{c.n_devices}<div class="sub">{c.sample.iter().map(|(id, name)| view! {
                                                    <a href=format!("/devices/{id}")>{name.clone()}</a>" "
                                                }).collect_view()}</div></td>
                                                <td class="sub-wide">{c.effective}<div class="sub">{why}</div></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <p class="help">{format!("As of {}.", format::date_time(taken_at))}</p>
                    }.into_any()
                }
            })}
        </Transition>
    }
}
