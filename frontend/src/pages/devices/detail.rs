//! One device: every fact it reported, its registration and its eligibility; deleting it.

use crate::router::use_params_map;
use leptos::prelude::*;
use shared::api::{DeviceDetail, DeviceStatus, DirectoryConflict, EffectiveConfiguration};
use shared::conflict::SettingStatus;
use shared::policy::{definition_name, describe_value};
use shared::report::SettingState;

use crate::api;
use crate::components::{Can, Confirm, EligibilityBadge, ErrorNotice, StateBadge};
use crate::format;
use crate::load::Load;

/// The device detail page.
#[component]
pub fn DeviceDetailPage() -> impl IntoView {
    let params = use_params_map();
    let device = Load::new(move || {
        let id = params.get().get("id").unwrap_or_default();
        async move { api::device(&id).await }
    });
    let status = Load::new(move || {
        let id = params.get().get("id").unwrap_or_default();
        async move { api::device_status(&id).await }
    });
    let effective = Load::new(move || {
        let id = params.get().get("id").unwrap_or_default();
        async move { api::device_effective(&id).await }
    });
    view! {
        <p class="breadcrumb"><a href="/devices">"Devices"</a>" › device detail"</p>
        <Transition fallback=|| view! { <p class="muted">"Loading device…"</p> }>
            {move || device.get().map(|result| match result {
                Ok(device) => view! { <DeviceFacts device/> }.into_any(),
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || status.get().map(|result| match result {
                Ok(status) => view! { <StatusView status device_id=params.get_untracked().get("id").unwrap_or_default()/> }.into_any(),
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || effective.get().map(|result| match result {
                Ok(effective) => view! { <EffectiveView effective/> }.into_any(),
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn DeviceFacts(device: DeviceDetail) -> impl IntoView {
    let now = format::now();
    let summary = device.summary;
    let facts = summary.facts;
    let yes_no = |b: bool| if b { "Yes" } else { "No" };
    let rows: Vec<(&str, String)> = vec![
        ("Operating system", facts.os.label().to_owned()),
        ("Edition", facts.edition.label().to_owned()),
        ("OS build", facts.os_build.as_str().to_owned()),
        ("Required update installed", yes_no(facts.required_update_installed).to_owned()),
        ("Down-level Defender agent installed", yes_no(facts.downlevel_agent_installed).to_owned()),
        ("Managed by", facts.managed_by.label().to_owned()),
        ("Join type", facts.join_type.label().to_owned()),
        ("Directory device id", summary.directory_device_id.to_string()),
        ("Registration", device.registration.label().to_owned()),
        ("Rampart device id", summary.id.clone()),
        ("Onboarded", format::date_time(summary.onboarded_at)),
        (
            "Last check-in",
            summary.last_check_in.map_or_else(
                || "Never".to_owned(),
                |at| format!("{} ({})", format::ago(at, now), format::date_time(at)),
            ),
        ),
        ("Check-ins", device.n_check_ins.to_string()),
    ];
    let reason = if summary.eligibility.is_eligible() {
        "No MDM manages this device and its platform is supported: it takes security settings from Rampart.".to_owned()
    } else {
        summary.eligibility.reason.clone()
    };
    let device_id = StoredValue::new(summary.id.clone());
    let sync_state = RwSignal::new(if device.sync_requested { Some(Ok(())) } else { None::<Result<(), String>> });
    let sync = move |_| {
        leptos::task::spawn_local(async move {
            sync_state.set(Some(api::sync_device(&device_id.get_value()).await.map_err(|failure| failure.to_string())));
        });
    };
    let confirming_delete = RwSignal::new(false);
    let delete = Callback::new(move |()| {
        leptos::task::spawn_local(async move {
            match api::delete_device(&device_id.get_value()).await {
                Ok(()) => crate::router::navigate("/devices"),
                Err(failure) => sync_state.set(Some(Err(failure.to_string()))),
            }
        });
    });
    let hostname = facts.hostname.to_string();
    view! {
        <div class="page-head row">
            <h1>{hostname.clone()}</h1>
            <div class="actions">
                <Can permission=shared::access::Permission::ManageEndpointSecurity>
                    <button class="button" on:click=sync disabled=move || matches!(sync_state.get(), Some(Ok(())))>"Policy sync"</button>
                    <button class="button danger" on:click=move |_| confirming_delete.set(true)>"Delete…"</button>
                </Can>
            </div>
        </div>
        <Confirm open=confirming_delete action="Delete device" confirm=delete
            question=Signal::stored(format!("Delete {hostname}? Its credentials stop working at once: it can no longer check in or report. Its reports and group memberships are deleted with it. It can onboard again later with an onboarding token, as a new device."))/>
        {device.directory_conflict.map(|conflict| view! { <DirectoryConflictNotice conflict/> })}
        {move || sync_state.get().map(|state| match state {
            Ok(()) => view! { <div class="notice success" role="status"><p>"Sync requested: the device checks in for all its policies at its next poll."</p></div> }.into_any(),
            Err(message) => view! { <div class="notice error" role="alert"><p>{message}</p></div> }.into_any(),
        })}
        <section class="card">
            <h2>"Security settings management"</h2>
            <p><EligibilityBadge eligibility=summary.eligibility/> " " {reason}</p>
        </section>
        <section class="card">
            <h2>"Device facts"</h2>
            <dl class="facts">
                {rows.into_iter().map(|(label, value)| view! { <dt>{label}</dt><dd>{value}</dd> }).collect_view()}
            </dl>
        </section>
    }
}

/// The device presented a directory registration that another device holds: which, who holds it, what to do.
#[component]
fn DirectoryConflictNotice(conflict: DirectoryConflict) -> impl IntoView {
    let gone = conflict.held_by.is_none();
    let advice = match &conflict.held_by {
        Some(holder) => format!(
            "If this is the real machine (reinstalled or re-imaged, for example), delete {} and onboard this one again. Otherwise the other device keeps the registration.",
            holder.hostname
        ),
        None => "The device that held it no longer exists: if this is the real machine, delete this device and onboard it again to take its registration.".to_owned(),
    };
    view! {
        <div class="notice warning" role="alert" data-testid="directory-conflict">
            <p><strong>"Another device holds the directory registration this device presented."</strong></p>
            <p>"At onboarding it presented the directory device id " <code>{conflict.presented.to_string()}</code> ", held by "
                {conflict.held_by.map(|holder| view! { <a href=format!("/devices/{}", holder.id)>{holder.hostname}</a> })}
                {gone.then_some("a device since deleted")}
                ". Rampart did not take it over: this device was onboarded with a registration of its own instead."</p>
            <p>{advice}</p>
        </div>
    }
}

/// The policies that apply and, per setting, the value that takes effect and why.
#[component]
fn EffectiveView(effective: EffectiveConfiguration) -> impl IntoView {
    let name_of = {
        let policies = effective.policies.clone();
        move |id: &str| policies.iter().find(|p| p.id == id).map_or_else(|| id.to_owned(), |p| p.name.clone())
    };
    let applied = if effective.policies.is_empty() {
        "No policy applies to this device.".to_owned()
    } else {
        effective
            .policies
            .iter()
            .map(|p| match effective.through.get(&p.id) {
                Some(path) => format!("{} (version {}) through {}", p.name, p.version, path.join(" › ")),
                None => format!("{} (version {})", p.name, p.version),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    view! {
        <section class="card wide">
            <h2>"Effective configuration"</h2>
            <p class="muted" data-testid="applied-policies">{applied}</p>
            {(!effective.resolution.settings.is_empty()).then(|| view! {
                <div class="table-wrap">
                    <table class="grid" data-testid="effective-settings">
                        <thead><tr>
                            <th scope="col">"Setting"</th><th scope="col">"Effective value"</th>
                            <th scope="col">"Status"</th><th scope="col">"From"</th>
                        </tr></thead>
                        <tbody>
                            {effective.resolution.settings.iter().map(|outcome| {
                                let conflict = outcome.status == SettingStatus::Conflict;
                                let sources: Vec<String> = outcome.sources.iter().map(|s| format!("{}: {}", s.policy_name, describe_value(&outcome.setting_id, &s.value))).collect();
                                let from = match (&outcome.decided_by, &outcome.winning_policy_id) {
                                    (Some(by), Some(winner)) => format!("{} — {} wins. {}", name_of(winner), by.winner(), sources.join("; ")),
                                    _ if !outcome.contributions.is_empty() => format!("Merged from {}", outcome.sources.iter().map(|s| s.policy_name.clone()).collect::<Vec<_>>().join(", ")),
                                    _ => outcome.sources.iter().map(|s| s.policy_name.clone()).collect::<Vec<_>>().join(", "),
                                };
                                view! {
                                    <tr>
                                        <td>{definition_name(&outcome.setting_id)}</td>
                                        <td>{describe_value(&outcome.setting_id, &outcome.effective)}</td>
                                        <td><span class=if conflict { "badge bad" } else { "badge ok" }>{if conflict { "Conflict" } else { "Succeeded" }}</span></td>
                                        <td class="sub-wide">{from}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            })}
        </section>
    }
}

/// Every policy that applies, with the state the device reported, and its local preferences.
#[component]
fn StatusView(status: DeviceStatus, device_id: String) -> impl IntoView {
    let now = format::now();
    let device_id = StoredValue::new(device_id);
    view! {
        <section class="card wide">
            <h2>"Policies"</h2>
            {if status.policies.is_empty() {
                view! { <p class="muted">"No policy applies to this device."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="grid" data-testid="device-policies">
                            <thead><tr><th scope="col">"Policy"</th><th scope="col">"Status"</th><th scope="col">"Settings"</th><th scope="col">"Reported"</th></tr></thead>
                            <tbody>
                                {status.policies.into_iter().map(|p| {
                                    let details: Vec<String> = p.settings.iter()
                                        .filter(|s| s.state != SettingState::Succeeded)
                                        .map(|s| format!("{}: {} — {}", definition_name(&s.setting_id), s.state.label(), s.detail))
                                        .collect();
                                    let summary = if p.settings.is_empty() { "Settings".to_owned() } else {
                                        format!("{} of {} succeeded", p.settings.iter().filter(|s| s.state == SettingState::Succeeded).count(), p.settings.len())
                                    };
                                    view! {
                                        <tr>
                                            <td class="name"><a href=format!("/policies/{}", p.policy.id)>{p.policy.name}</a><div class="sub">{format!("version {}", p.policy.version)}</div></td>
                                            <td><StateBadge state=p.state/></td>
                                            <td class="sub-wide"><a href=format!("/policies/{}/report/{}", p.policy.id, device_id.get_value())>{summary}</a><ul class="plain-list">{details.into_iter().map(|d| view! { <li>{d}</li> }).collect_view()}</ul></td>
                                            <td class="when">{p.reported_at.map_or_else(|| "Not yet".to_owned(), |at| format::ago(at, now))}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
        <section class="card wide">
            <h2>"Local preferences"</h2>
            <p class="muted">{match status.preferences_reported_at {
                Some(at) => format!("What the device reported it applies (the Get-MpPreference view), {}.", format::ago(at, now)),
                None => "The device has not reported yet.".to_owned(),
            }}</p>
            {(!status.preferences.is_empty()).then(|| view! {
                <dl class="facts" data-testid="device-preferences">
                    {status.preferences.into_iter().map(|(name, value)| view! { <dt><code class="plain">{name}</code></dt><dd>{value}</dd> }).collect_view()}
                </dl>
            })}
        </section>
    }
}
