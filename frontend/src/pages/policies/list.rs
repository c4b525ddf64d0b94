//! *Endpoint security → Antivirus* or *→ Firewall*: the policies of that type, with their assignments.

use crate::router::use_params_map;
use leptos::prelude::*;
use shared::catalog::Profile;

use super::import::{FileOutcome, ImportPolicies, ImportReportView};
use crate::api;
use crate::api::CsvTable;
use crate::components::{Can, ErrorNotice, StatusBar, describe_counts};
use crate::format;
use crate::load::Load;

/// The policies of the type in the URL (`antivirus` or `firewall`).
#[component]
pub fn PolicyListPage() -> impl IntoView {
    let params = use_params_map();
    let profile = Memo::new(move |_| match params.get().get("kind").as_deref() {
        Some("firewall") => Profile::Firewall,
        _ => Profile::Antivirus,
    });
    let policies = Load::new(move || {
        let profile = profile.get();
        async move { api::policies(profile).await }
    });
    let import_outcomes = RwSignal::new(Vec::<FileOutcome>::new());
    view! {
        <div class="page-head row">
            <div>
                <p class="breadcrumb">"Endpoint security"</p>
                <h1>{move || profile.get().policy_type()}</h1>
                <p class="muted">{move || format!("{} policies for {}.", profile.get().label(), shared::catalog::PLATFORM)}</p>
            </div>
            <div class="actions">
                <Can permission=shared::access::Permission::ManageEndpointSecurity>
                    <ImportPolicies outcomes=import_outcomes imported=move || policies.refetch()/>
                </Can>
                <a class="button subtle" href=move || api::csv_url(CsvTable::Policies(profile.get())) download="">"Export CSV"</a>
                <Can permission=shared::access::Permission::ManageEndpointSecurity>
                    <a class="button primary" href=move || format!("/policies/new?profile={}", profile.get().code())>"Create policy"</a>
                </Can>
            </div>
        </div>
        <ImportReportView outcomes=import_outcomes/>
        <Transition fallback=|| view! { <p class="muted">"Loading policies…"</p> }>
            {move || policies.get().map(|result| match result {
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                Ok(list) if list.is_empty() => view! {
                    <div class="card"><p class="empty">"No policies yet. Create one to manage these settings on your devices."</p></div>
                }.into_any(),
                Ok(list) => {
                    let now = format::now();
                    view! {
                        <div class="table-wrap">
                            <table class="grid" data-testid="policies-table">
                                <thead><tr>
                                    <th scope="col">"Name"</th><th scope="col">"Device status"</th><th scope="col">"Settings"</th><th scope="col">"Included groups"</th>
                                    <th scope="col">"Excluded groups"</th><th scope="col">"Version"</th><th scope="col">"Last modified"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|policy| view! {
                                        <tr>
                                            <td class="name"><a href=format!("/policies/{}", policy.id)>{policy.name}</a>
                                                <div class="sub">{policy.description}</div></td>
                                            <td data-testid="policy-status"><div class="status-cell">
                                                <StatusBar counts=policy.status/>
                                                <span class="sub">{describe_counts(&policy.status)}</span>
                                            </div></td>
                                            <td>{policy.n_settings}</td>
                                            <td data-testid="included">{if policy.included.is_empty() { "None".to_owned() } else { policy.included.join(", ") }}</td>
                                            <td data-testid="excluded">{if policy.excluded.is_empty() { "None".to_owned() } else { policy.excluded.join(", ") }}</td>
                                            <td>{policy.version}</td>
                                            <td class="when">{format::ago(policy.updated_at, now)}<div class="sub">{policy.updated_by}</div></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                }
            })}
        </Transition>
    }
}
