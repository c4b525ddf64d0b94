//! A policy's reports: *View report* (the devices it targets, with status, filterable and sortable), one device's
//! per-setting status with the other policies that manage each setting there, *Per setting status*, and one setting's
//! devices. Every table downloads as CSV.

use crate::router::{use_params_map, use_query_map};
use leptos::prelude::*;
use shared::api::{PolicyDeviceReport, PolicyReport, SettingReport};
use shared::query::{ReportQuery, ReportSort, SettingQuery, SettingSort, SortColumn, SortDir, StateQuery};
use shared::report::{PolicyState, SettingState};

use crate::api::{self, CsvTable};
use crate::components::{ErrorNotice, SettingBadge, StateBadge, StatusChart};
use crate::format;
use crate::load::Load;

/// Loads the report of the policy in the URL.
fn use_report() -> Load<PolicyReport> {
    let params = use_params_map();
    Load::new(move || {
        let id = params.get().get("id").unwrap_or_default();
        async move { api::policy_report(&id).await }
    })
}

fn breadcrumb(report: &shared::api::PolicyRef, here: &str) -> impl IntoView + use<> {
    let (list, kind) =
        (super::list_path(report.profile), format!("Endpoint security › {}", report.profile.policy_type()));
    let (href, name, here) = (format!("/policies/{}", report.id), report.name.clone(), format!(" › {here}"));
    view! { <p class="breadcrumb"><a href=list>{kind}</a>" › "<a href=href>{name}</a>{here}</p> }
}

/// The summary card of a policy's overview: the chart of device counts by status, check-in status, and the links to
/// the reports.
#[component]
pub fn DeviceStatusCard(policy_id: String) -> impl IntoView {
    let id = policy_id.clone();
    let report = Load::new(move || {
        let id = id.clone();
        async move { api::policy_report(&id).await }
    });
    view! {
        <section class="card">
            <div class="row settings-head">
                <h2>"Device status"</h2>
                <div class="actions">
                    <a class="button" href=format!("/policies/{policy_id}/report")>"View report"</a>
                    <a class="button subtle" href=format!("/policies/{policy_id}/settings-status")>"Per setting status"</a>
                </div>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading status…"</p> }>
                {move || report.get().map(|result| match result {
                    Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                    Ok(report) => view! {
                        <p class="muted">{format!("{} devices are assigned this policy (version {}).", report.counts.total(), report.policy.version)}</p>
                        <StatusChart counts=report.counts/>
                        <h2 class="spaced">"Check-in status"</h2>
                        <dl class="facts checkins" data-testid="check-in-status">
                            <dt>"Checked in since the last change"</dt><dd>{report.check_in.since_change}</dd>
                            <dt>"Not checked in since the last change"</dt><dd>{report.check_in.before_change}</dd>
                            <dt>"Never checked in"</dt><dd>{report.check_in.never}</dd>
                        </dl>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// *View report*: the devices that the policy targets, with status and last report time. The filter, sort and page
/// are the URL's query (`shared::query::ReportQuery`), which the server applies.
#[component]
pub fn PolicyReportPage() -> impl IntoView {
    let params = use_params_map();
    let query_map = use_query_map();
    let parsed = Memo::new(move |_| query_map.with(|map| ReportQuery::parse(map.pairs())));
    let query = Memo::new(move |_| parsed.get().unwrap_or_default());
    let report = Load::new(move || {
        let id = params.get().get("id").unwrap_or_default();
        let qs = query.get().to_query_string();
        async move { api::policy_report_page(&id, &qs).await }
    });
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading report…"</p> }>
            {move || report.get().map(|result| match result {
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                Ok(report) => view! { <DevicesReport report query/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn DevicesReport(report: PolicyReport, query: Memo<ReportQuery>) -> impl IntoView {
    let policy = report.policy.clone();
    let policy_id = StoredValue::new(policy.id.clone());
    let go = move |next: ReportQuery, replace: bool| {
        go_to(&format!("/policies/{}/report", policy_id.get_value()), &next.to_query_string(), replace)
    };
    let header = move |column: ReportSort, label: &'static str| {
        let current = query.get_untracked();
        sort_header(label, (current.sort == column).then_some(current.dir), move || {
            go(query.get_untracked().sorted_by(column), false)
        })
    };
    let current = query.get_untracked();
    let total = report.devices_total;
    let csv = csv_link(api::csv_url(CsvTable::Devices(&policy.id)), &current);
    let now = format::now();
    let rows = report.devices;
    view! {
        <div class="page-head row">
            <div>
                {breadcrumb(&policy, "View report")}
                <h1>{format!("{} — device status", policy.name)}</h1>
                <p class="muted">{format!("Every device the policy is assigned to, with the status it reported for version {}. Select a device to see each setting.", policy.version)}</p>
            </div>
            <div class="actions">
                <a class="button subtle" href=format!("/policies/{}/settings-status", policy.id)>"Per setting status"</a>
                <a class="button" href=csv download="">"Export CSV"</a>
            </div>
        </div>
        <section class="card"><StatusChart counts=report.counts/></section>
        <div class="toolbar">
            <label class="field">"Search devices"
                <input type="search" placeholder="Device name" prop:value=current.search.clone()
                    on:change=move |ev| go(ReportQuery { search: event_target_value(&ev).trim().to_owned(), page: 1, ..query.get_untracked() }, true)/>
            </label>
            <label class="field">"Status"
                <select data-testid="status-filter" on:change=move |ev| {
                    go(ReportQuery { state: PolicyState::from_code(&event_target_value(&ev)), page: 1, ..query.get_untracked() }, false)
                }>
                    <option value="">"Any status"</option>
                    {PolicyState::ALL.iter().map(|state| view! { <option value=state.code() selected=current.state == Some(*state)>{state.label()}</option> }).collect_view()}
                </select>
            </label>
        </div>
        <div class="table-wrap">
            <table class="grid" data-testid="report-devices">
                <thead><tr>
                    {header(ReportSort::Device, "Device")}<th scope="col">"Operating system"</th>{header(ReportSort::Status, "Status")}
                    <th scope="col">"Version reported"</th>{header(ReportSort::Reported, "Last report")}{header(ReportSort::CheckIn, "Last check-in")}
                </tr></thead>
                <tbody>
                    {if rows.is_empty() {
                        view! { <tr><td colspan="6" class="empty">"No device matches."</td></tr> }.into_any()
                    } else {
                        rows.into_iter().map(|row| view! {
                            <tr>
                                <td class="name"><a href=format!("/policies/{}/report/{}", policy_id.get_value(), row.device_id)>{row.device_name}</a></td>
                                <td>{row.os}</td>
                                <td><StateBadge state=row.state/></td>
                                <td>{row.reported_version.map_or_else(|| "—".to_owned(), |v| v.to_string())}</td>
                                <td class="when">{row.reported_at.map_or_else(|| "Not yet".to_owned(), |at| format::ago(at, now))}</td>
                                <td class="when">{row.last_check_in.map_or_else(|| "Never".to_owned(), |at| format::ago(at, now))}</td>
                            </tr>
                        }).collect_view().into_any()
                    }}
                </tbody>
            </table>
        </div>
        {pager(total, current.page, current.per_page, move |page| go(ReportQuery { page, ..query.get_untracked() }, false))}
    }
}

/// The range shown of `total` devices and the buttons to the pages before and after, which call `to` with a page.
fn pager(total: u64, page: u32, per_page: u32, to: impl Fn(u32) + Copy + 'static) -> impl IntoView {
    let first = u64::from(page - 1) * u64::from(per_page) + 1;
    let last = (first - 1 + u64::from(per_page)).min(total);
    view! {
        <div class="pager">
            <span data-testid="report-range">{format!("{}–{last} of {total} devices", if total == 0 { 0 } else { first })}</span>
            <span class="spacer"></span>
            <button class="button" disabled={page == 1} on:click=move |_| to(page.saturating_sub(1).max(1))>"Previous"</button>
            <button class="button" disabled={last >= total} on:click=move |_| to(page + 1)>"Next"</button>
        </div>
    }
}

/// `path` with the query string `qs` (none when empty).
fn with_query(path: &str, qs: &str) -> String {
    if qs.is_empty() { path.to_owned() } else { format!("{path}?{qs}") }
}

/// Opens `path` with the query string `qs`, replacing the current history entry or adding one.
fn go_to(path: &str, qs: &str, replace: bool) {
    let url = with_query(path, qs);
    if replace { crate::router::replace(&url) } else { crate::router::navigate(&url) }
}

/// The download address of a table's CSV with the view's filter and sort, all pages.
fn csv_link<State: shared::Coded, Sort: SortColumn>(url: String, view: &StateQuery<State, Sort>) -> String {
    let all = StateQuery { page: 1, per_page: StateQuery::<State, Sort>::default().per_page, ..view.clone() };
    with_query(&url, &all.to_query_string())
}

/// A sortable column header: a button that calls `sort`, marked with the direction when `current` is `Some`.
fn sort_header(label: &'static str, current: Option<SortDir>, sort: impl Fn() + 'static) -> impl IntoView {
    let (aria, arrow) = match current {
        Some(SortDir::Asc) => ("ascending", " ▲"),
        Some(SortDir::Desc) => ("descending", " ▼"),
        None => ("none", ""),
    };
    view! { <th scope="col" aria-sort=aria><button class="sort" on:click=move |_| sort()>{label}{arrow}</button></th> }
}

/// One device's per-setting status for the policy; selecting a setting shows the other policies that manage it there.
#[component]
pub fn PolicyDeviceReportPage() -> impl IntoView {
    let params = use_params_map();
    let report = Load::new(move || {
        let map = params.get();
        let (id, device) = (map.get("id").unwrap_or_default(), map.get("device").unwrap_or_default());
        async move { api::policy_device_report(&id, &device).await }
    });
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading the device's settings…"</p> }>
            {move || report.get().map(|result| match result {
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                Ok(report) => view! { <DeviceSettings report/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn DeviceSettings(report: PolicyDeviceReport) -> impl IntoView {
    let PolicyDeviceReport { policy, device, settings } = report;
    let settings = StoredValue::new(settings);
    let selected = RwSignal::new(None::<String>);
    let now = format::now();
    let csv = api::csv_url(CsvTable::DeviceSettings(&policy.id, &device.device_id));
    view! {
        <div class="page-head row">
            <div>
                {breadcrumb(&policy, "View report")}
                <h1>{device.device_name.clone()}</h1>
                <p class="muted">
                    <StateBadge state=device.state/>
                    {format!(" {} · {} · last report {}", policy.name, device.os,
                        device.reported_at.map_or_else(|| "not yet".to_owned(), |at| format::ago(at, now)))}
                </p>
            </div>
            <div class="actions">
                <a class="button subtle" href=format!("/policies/{}/report", policy.id)>"All devices"</a>
                <a class="button subtle" href=format!("/devices/{}", device.device_id)>"Device"</a>
                <a class="button" href=csv download="">"Export CSV"</a>
            </div>
        </div>
        <p class="muted">"Select a setting to see the other policies that manage it on this device."</p>
        <div class="table-wrap">
            <table class="grid" data-testid="device-settings">
                <thead><tr>
                    <th scope="col">"Setting"</th><th scope="col">"This policy's value"</th><th scope="col">"Status"</th>
                    <th scope="col">"Value in effect"</th><th scope="col">"Other policies"</th>
                </tr></thead>
                <tbody>
                    {settings.get_value().into_iter().map(|row| {
                        let id = row.setting_id.clone();
                        let is_selected = {
                            let id = id.clone();
                            Signal::derive(move || selected.get().as_deref() == Some(id.as_str()))
                        };
                        view! {
                            <tr class:selected=is_selected data-setting=row.setting_id.clone()>
                                <td><button class="link-button" aria-pressed=move || is_selected.get().to_string()
                                    on:click=move |_| selected.set(Some(id.clone()))>{row.name}</button></td>
                                <td class="sub-wide">{row.value}</td>
                                <td><SettingBadge state=row.state/></td>
                                <td class="sub-wide">{row.effective}</td>
                                <td>{if row.others.is_empty() { "None".to_owned() } else { row.others.len().to_string() }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        {move || selected.get().and_then(|id| settings.with_value(|rows| rows.iter().find(|r| r.setting_id == id).cloned())).map(|row| view! {
            <section class="card setting-detail" data-testid="setting-detail" aria-live="polite">
                <h2>{row.name.clone()}</h2>
                <dl class="facts">
                    <dt>"Status"</dt><dd><SettingBadge state=row.state/></dd>
                    {(!row.code.is_empty()).then(|| view! { <dt>"Error code"</dt><dd><code>{row.code.clone()}</code></dd> })}
                    {(!row.detail.is_empty()).then(|| view! { <dt>"Detail"</dt><dd>{row.detail.clone()}</dd> })}
                    <dt>"This policy"</dt><dd>{format!("{}: {}", policy.name, row.value)}</dd>
                    <dt>"Value in effect"</dt><dd>{row.effective.clone()}</dd>
                </dl>
                <h2 class="spaced">"Other policies managing this setting on this device"</h2>
                {if row.others.is_empty() {
                    view! { <p class="muted">"None: only this policy manages it here."</p> }.into_any()
                } else {
                    view! {
                        <table class="grid" data-testid="other-policies">
                            <thead><tr><th scope="col">"Policy"</th><th scope="col">"Its value"</th></tr></thead>
                            <tbody>{row.others.iter().map(|other| view! {
                                <tr><td class="name"><a href=format!("/policies/{}", other.policy_id)>{other.policy_name.clone()}</a></td><td>{other.value.clone()}</td></tr>
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any()
                }}
                <p><code class="plain">{row.setting_id.clone()}</code></p>
            </section>
        })}
    }
}

/// *Per setting status*: every setting the policy manages, with device counts of success, error and conflict.
#[component]
pub fn PolicySettingsStatusPage() -> impl IntoView {
    let report = use_report();
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading per setting status…"</p> }>
            {move || report.get().map(|result| match result {
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                Ok(report) => {
                    let policy = report.policy.clone();
                    view! {
                        <div class="page-head row">
                            <div>
                                {breadcrumb(&policy, "Per setting status")}
                                <h1>{format!("{} — per setting status", policy.name)}</h1>
                                <p class="muted">{format!("Devices that reported version {} of the policy, counted per setting. Select a setting or a count to see those devices.", policy.version)}</p>
                            </div>
                            <div class="actions">
                                <a class="button subtle" href=format!("/policies/{}/report", policy.id)>"View report"</a>
                                <a class="button" href=api::csv_url(CsvTable::Settings(&policy.id)) download="">"Export CSV"</a>
                            </div>
                        </div>
                        <div class="table-wrap">
                            <table class="grid" data-testid="settings-status">
                                <thead><tr>
                                    <th scope="col">"Setting"</th><th scope="col">"Value"</th><th scope="col" class="count">"Succeeded"</th>
                                    <th scope="col" class="count">"Error"</th><th scope="col" class="count">"Conflict"</th><th scope="col" class="count">"Not applicable"</th>
                                </tr></thead>
                                <tbody>
                                    {report.settings.into_iter().map(|row| {
                                        let href = format!("/policies/{}/settings-status/{}", policy.id, shared::query::percent_encode(&row.setting_id));
                                        let count = |n: u64, state: SettingState| {
                                            let kind = state.code().replace('_', "-");
                                            let link = format!("{href}?state={}", state.code());
                                            view! {
                                                <td class=format!("count {kind}{}", if n > 0 { " nonzero" } else { "" })>
                                                    {if n > 0 { view! { <a href=link>{n}</a> }.into_any() } else { n.into_any() }}
                                                </td>
                                            }
                                        };
                                        view! {
                                            <tr data-setting=row.setting_id.clone()>
                                                <td><a href=href.clone()>{row.name}</a></td>
                                                <td class="sub-wide">{row.value}</td>
                                                {count(row.succeeded, SettingState::Succeeded)}
                                                {count(row.error, SettingState::Error)}
                                                {count(row.conflict, SettingState::Conflict)}
                                                {count(row.not_applicable, SettingState::NotApplicable)}
                                            </tr>
                                        }
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

/// One setting's devices: those that reported it for the policy's current version, with its state, error code and
/// detail on each. The filter, sort and page are the URL's query (`shared::query::SettingQuery`), which the server
/// applies.
#[component]
pub fn SettingDevicesPage() -> impl IntoView {
    let params = use_params_map();
    let query_map = use_query_map();
    let query = Memo::new(move |_| query_map.with(|map| SettingQuery::parse(map.pairs()).unwrap_or_default()));
    let report = Load::new(move || {
        let map = params.get();
        let (id, setting) = (map.get("id").unwrap_or_default(), map.get("setting").unwrap_or_default());
        let qs = query.get().to_query_string();
        async move { api::setting_report(&id, &setting, &qs).await }
    });
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading the setting's devices…"</p> }>
            {move || report.get().map(|result| match result {
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                Ok(report) => view! { <SettingDevices report query/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn SettingDevices(report: SettingReport, query: Memo<SettingQuery>) -> impl IntoView {
    let SettingReport { policy, setting, devices, devices_total, .. } = report;
    let path =
        format!("/policies/{}/settings-status/{}", policy.id, shared::query::percent_encode(&setting.setting_id));
    let here = StoredValue::new(path);
    let go =
        move |next: SettingQuery, replace: bool| here.with_value(|path| go_to(path, &next.to_query_string(), replace));
    let header = move |column: SettingSort, label: &'static str| {
        let current = query.get_untracked();
        sort_header(label, (current.sort == column).then_some(current.dir), move || {
            go(query.get_untracked().sorted_by(column), false)
        })
    };
    let current = query.get_untracked();
    let csv = csv_link(api::csv_url(CsvTable::SettingDevices(&policy.id, &setting.setting_id)), &current);
    let now = format::now();
    let counts = [
        (SettingState::Succeeded, setting.succeeded),
        (SettingState::Error, setting.error),
        (SettingState::Conflict, setting.conflict),
        (SettingState::NotApplicable, setting.not_applicable),
    ];
    view! {
        <div class="page-head row">
            <div>
                {breadcrumb(&policy, "Per setting status")}
                <h1>{setting.name.clone()}</h1>
                <p class="muted">{format!("{} sets it to {}. The devices that reported version {} of the policy, with the setting's status on each.", policy.name, setting.value, policy.version)}</p>
            </div>
            <div class="actions">
                <a class="button subtle" href=format!("/policies/{}/settings-status", policy.id)>"All settings"</a>
                <a class="button" href=csv download="">"Export CSV"</a>
            </div>
        </div>
        <section class="card">
            <dl class="facts checkins" data-testid="setting-counts">
                {counts.into_iter().map(|(state, n)| view! { <dt>{state.label()}</dt><dd>{n}</dd> }).collect_view()}
            </dl>
        </section>
        <div class="toolbar">
            <label class="field">"Search devices"
                <input type="search" placeholder="Device name" prop:value=current.search.clone()
                    on:change=move |ev| go(SettingQuery { search: event_target_value(&ev).trim().to_owned(), page: 1, ..query.get_untracked() }, true)/>
            </label>
            <label class="field">"Status"
                <select data-testid="status-filter" on:change=move |ev| {
                    go(SettingQuery { state: SettingState::from_code(&event_target_value(&ev)), page: 1, ..query.get_untracked() }, false)
                }>
                    <option value="">"Any status"</option>
                    {SettingState::ALL.iter().map(|state| view! { <option value=state.code() selected=current.state == Some(*state)>{state.label()}</option> }).collect_view()}
                </select>
            </label>
        </div>
        <div class="table-wrap">
            <table class="grid" data-testid="setting-devices">
                <thead><tr>
                    {header(SettingSort::Device, "Device")}<th scope="col">"Operating system"</th>{header(SettingSort::Status, "Status")}
                    <th scope="col">"Error code"</th><th scope="col">"Detail"</th><th scope="col">"Last report"</th>
                </tr></thead>
                <tbody>
                    {if devices.is_empty() {
                        view! { <tr><td colspan="6" class="empty">"No device matches."</td></tr> }.into_any()
                    } else {
                        devices.into_iter().map(|row| view! {
                            <tr>
                                <td class="name"><a href=format!("/policies/{}/report/{}", policy.id, row.device_id)>{row.device_name}</a></td>
                                <td>{row.os}</td>
                                <td><SettingBadge state=Some(row.state)/></td>
                                <td>{(!row.code.is_empty()).then(|| view! { <code>{row.code}</code> })}</td>
                                <td class="sub-wide">{row.detail}</td>
                                <td class="when">{row.reported_at.map_or_else(|| "Not yet".to_owned(), |at| format::ago(at, now))}</td>
                            </tr>
                        }).collect_view().into_any()
                    }}
                </tbody>
            </table>
        </div>
        {pager(devices_total, current.page, current.per_page, move |page| go(SettingQuery { page, ..query.get_untracked() }, false))}
    }
}
