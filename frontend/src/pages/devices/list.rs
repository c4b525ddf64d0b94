//! The Devices list: every onboarded device, sortable by each column, filterable, paged by the server. The filter,
//! sort and page live in the URL, so a reload, the back button and a shared link show the same list.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::router::use_query_map;
use leptos::prelude::*;
use shared::api::DevicePage;
use shared::device::{ManagedBy, OsProduct};
use shared::query::{DeviceQuery, DeviceSort, EligibilityFilter, SortDir};

use crate::api;
use crate::components::{Can, EligibilityBadge, ErrorNotice};
use crate::format;
use crate::load::Load;

/// How often the list refreshes itself, so that check-ins show up without a reload.
const REFRESH: Duration = Duration::from_secs(15);

/// The Devices page.
#[component]
pub fn DevicesPage() -> impl IntoView {
    let params = use_query_map();
    let parsed = Memo::new(move |_| params.with(|map| DeviceQuery::parse(map.pairs())));
    let query = Memo::new(move |_| parsed.get().unwrap_or_default());
    let go = move |next: DeviceQuery, replace: bool| {
        let qs = next.to_query_string();
        let url = if qs.is_empty() { "/devices".to_owned() } else { format!("/devices?{qs}") };
        if replace { crate::router::replace(&url) } else { crate::router::navigate(&url) }
    };

    let page = Load::new(move || {
        let query = query.get();
        async move { api::devices(&query).await }
    });
    let handle = set_interval_with_handle(move || page.refetch(), REFRESH).ok();
    on_cleanup(move || {
        if let Some(handle) = handle {
            handle.clear();
        }
    });

    let selected = RwSignal::new(BTreeSet::<String>::new());
    let on_search = move |ev| {
        let search = event_target_value(&ev);
        go(DeviceQuery { search, page: 1, ..query.get_untracked() }, true);
    };
    let select_filter = move |apply: fn(&mut DeviceQuery, &str)| {
        move |ev| {
            let mut next = DeviceQuery { page: 1, ..query.get_untracked() };
            apply(&mut next, &event_target_value(&ev));
            go(next, false);
        }
    };

    view! {
        <div class="page-head">
            <h1>"Devices"</h1>
            <p class="muted">
                "Devices that onboarded with the tenant's onboarding token. Sort by " <em>"Managed by"</em>
                " to find the ones managed by MDE: only those can take security settings from Rampart."
            </p>
        </div>
        {move || parsed.get().err().map(|violations| {
            let text = violations.iter().map(|v| format!("{}: {}", v.path, v.message)).collect::<Vec<_>>().join("; ");
            view! { <div class="notice warning" role="status">"The address had parameters that were ignored — " {text}</div> }
        })}
        <div class="toolbar" role="search">
            <label class="field">
                <span>"Search"</span>
                <input type="search" placeholder="Device name" aria-label="Search by device name"
                    prop:value=move || query.get().search on:input=on_search/>
            </label>
            <label class="field">
                <span>"Managed by"</span>
                <select aria-label="Managed by" on:change=select_filter(|q, v| q.managed_by = ManagedBy::from_code(v))>
                    <option value="" selected=move || query.get().managed_by.is_none()>"All"</option>
                    {ManagedBy::ALL.iter().map(|m| {
                        let m = *m;
                        view! { <option value=m.code() selected=move || query.get().managed_by == Some(m)>{m.label()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label class="field">
                <span>"OS"</span>
                <select aria-label="OS" on:change=select_filter(|q, v| q.os = OsProduct::from_code(v))>
                    <option value="" selected=move || query.get().os.is_none()>"All"</option>
                    {OsProduct::ALL.iter().map(|os| {
                        let os = *os;
                        view! { <option value=os.code() selected=move || query.get().os == Some(os)>{os.label()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label class="field">
                <span>"Security settings management"</span>
                <select aria-label="Security settings management"
                    on:change=select_filter(|q, v| q.eligibility = EligibilityFilter::from_code(v))>
                    <option value="" selected=move || query.get().eligibility.is_none()>"All"</option>
                    {EligibilityFilter::ALL.iter().map(|e| {
                        let e = *e;
                        view! { <option value=e.code() selected=move || query.get().eligibility == Some(e)>{e.label()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <button class="button subtle" on:click=move |_| page.refetch()>"Refresh"</button>
        </div>
        <Can permission=shared::access::Permission::ManageEndpointSecurity>
            <AddToGroup selected/>
        </Can>
        <Transition fallback=|| view! { <p class="muted">"Loading devices…"</p> }>
            {move || page.get().map(|result| match result {
                Ok(devices) => view! { <DeviceTable devices query selected go=go/> }.into_any(),
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
            })}
        </Transition>
    }
}

/// The table and its pager.
#[component]
fn DeviceTable(
    devices: DevicePage,
    query: Memo<DeviceQuery>,
    selected: RwSignal<BTreeSet<String>>,
    go: impl Fn(DeviceQuery, bool) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let page_ids: Vec<String> = devices.items.iter().map(|device| device.id.clone()).collect();
    let all_on_page_selected = {
        let page_ids = page_ids.clone();
        move || !page_ids.is_empty() && selected.with(|s| page_ids.iter().all(|id| s.contains(id)))
    };
    let toggle_page = move |ev| {
        let on = event_target_checked(&ev);
        selected.update(|s| {
            for id in &page_ids {
                if on {
                    s.insert(id.clone());
                } else {
                    s.remove(id);
                }
            }
        });
    };
    let now = format::now();
    let current = query.get_untracked();
    let header = {
        let go = go.clone();
        move |column: DeviceSort| {
            let go = go.clone();
            let aria_sort = match (current.sort == column, current.dir) {
                (false, _) => "none",
                (true, SortDir::Asc) => "ascending",
                (true, SortDir::Desc) => "descending",
            };
            let arrow = match (current.sort == column, current.dir) {
                (false, _) => "",
                (true, SortDir::Asc) => " ▲",
                (true, SortDir::Desc) => " ▼",
            };
            view! {
                <th scope="col" aria-sort=aria_sort>
                    <button class="sort" data-testid=format!("sort-{}", column.code())
                        on:click=move |_| go(query.get_untracked().sorted_by(column), false)>
                        {column.label()}{arrow}
                    </button>
                </th>
            }
        }
    };
    let first = if devices.total == 0 { 0 } else { current.offset() + 1 };
    let last = current.offset() + devices.items.len() as u64;
    let n_pages = devices.total.div_ceil(u64::from(current.per_page)).max(1);
    let page_number = u64::from(current.page);
    let previous = {
        let go = go.clone();
        move |_: leptos::ev::MouseEvent| {
            go(
                DeviceQuery { page: query.get_untracked().page.saturating_sub(1).max(1), ..query.get_untracked() },
                false,
            )
        }
    };
    let next = {
        let go = go.clone();
        move |_: leptos::ev::MouseEvent| {
            go(DeviceQuery { page: query.get_untracked().page + 1, ..query.get_untracked() }, false)
        }
    };
    let per_page = move |ev| {
        let per_page = event_target_value(&ev).parse().unwrap_or(DeviceQuery::DEFAULT_PER_PAGE);
        go(DeviceQuery { per_page, page: 1, ..query.get_untracked() }, false)
    };
    let rows = devices
        .items
        .into_iter()
        .map(|device| {
            let facts = device.facts;
            let href = format!("/devices/{}", device.id);
            let last_check_in = device.last_check_in.map_or_else(|| "Never".to_owned(), |at| format::ago(at, now));
            let os = format!("{} {}", facts.os.label(), facts.edition.label());
            let reason = device.eligibility.reason.clone();
            let id = device.id.clone();
            let checked = {
                let id = id.clone();
                move || selected.with(|s| s.contains(&id))
            };
            let label = format!("Select {}", facts.hostname);
            view! {
                <tr>
                    <td class="select"><input type="checkbox" aria-label=label prop:checked=checked
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            selected.update(|s| { if on { s.insert(id.clone()); } else { s.remove(&id); } });
                        }/></td>
                    <td class="name"><a href=href>{facts.hostname.to_string()}</a></td>
                    <td>{os}<div class="sub">{facts.os_build.as_str().to_owned()}</div></td>
                    <td data-testid="managed-by">{facts.managed_by.label()}</td>
                    <td>{facts.join_type.label()}</td>
                    <td><EligibilityBadge eligibility=device.eligibility/><div class="sub">{reason}</div></td>
                    <td class="when">{last_check_in}</td>
                </tr>
            }
        })
        .collect_view();

    view! {
        <div class="table-wrap">
            <table class="grid" data-testid="devices-table">
                <thead>
                    <tr>
                        <th scope="col" class="select"><input type="checkbox" aria-label="Select all devices on this page"
                            prop:checked=all_on_page_selected on:change=toggle_page/></th>
                        {header(DeviceSort::Hostname)}
                        {header(DeviceSort::Os)}
                        {header(DeviceSort::ManagedBy)}
                        {header(DeviceSort::JoinType)}
                        {header(DeviceSort::Eligibility)}
                        {header(DeviceSort::LastCheckIn)}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <Show when=move || devices.total == 0>
                <p class="empty">"No devices match. Devices appear here once they onboard with the tenant's onboarding token (Tenant administration)."</p>
            </Show>
        </div>
        <div class="pager">
            <span data-testid="device-count">{format!("{first}–{last} of {} devices", devices.total)}</span>
            <span class="spacer"></span>
            <label class="field inline">
                <span>"Rows per page"</span>
                <select on:change=per_page>
                    {[25u32, 50, 100, 200].into_iter().map(|n| view! {
                        <option value=n.to_string() selected=current.per_page == n>{n.to_string()}</option>
                    }).collect_view()}
                </select>
            </label>
            <button class="button subtle" disabled={page_number <= 1} on:click=previous>"Previous"</button>
            <span>{format!("Page {page_number} of {n_pages}")}</span>
            <button class="button subtle" disabled={page_number >= n_pages} on:click=next>"Next"</button>
        </div>
    }
}

/// The bar that adds the selected devices to a static group.
#[component]
fn AddToGroup(selected: RwSignal<BTreeSet<String>>) -> impl IntoView {
    let groups = Load::new(api::groups);
    let target = RwSignal::new(String::new());
    let outcome = RwSignal::new(None::<Result<String, api::ApiFailure>>);
    let add = move |_| {
        let group_id = target.get_untracked();
        let device_ids: Vec<String> = selected.get_untracked().into_iter().collect();
        if group_id.is_empty() || device_ids.is_empty() {
            return;
        }
        let n = device_ids.len();
        leptos::task::spawn_local(async move {
            match api::add_members(&group_id, device_ids).await {
                Ok(group) => {
                    selected.set(BTreeSet::new());
                    outcome.set(Some(Ok(format!("Added {n} devices to {}.", group.summary.name))));
                }
                Err(error) => outcome.set(Some(Err(error))),
            }
        });
    };
    view! {
        {move || outcome.get().map(|result| match result {
            Ok(message) => view! { <div class="notice success" role="status">{message}</div> }.into_any(),
            Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
        })}
        <Show when=move || selected.with(|s| !s.is_empty())>
            <div class="bulkbar" role="region" aria-label="Selected devices">
                <strong data-testid="selected-count">{move || format!("{} selected", selected.with(BTreeSet::len))}</strong>
                <label class="field inline">
                    <span>"Add to static group"</span>
                    <select aria-label="Static group" on:change=move |ev| target.set(event_target_value(&ev))>
                        <option value="">"Choose a group…"</option>
                        {move || groups.get().and_then(Result::ok).unwrap_or_default().into_iter()
                            .filter(|g| !g.built_in && g.kind == shared::groups::GroupKind::Static)
                            .map(|g| view! { <option value=g.id.clone()>{g.name}</option> })
                            .collect_view()}
                    </select>
                </label>
                <button class="button primary" on:click=add disabled=move || target.get().is_empty()>"Add"</button>
                <button class="button subtle" on:click=move |_| selected.set(BTreeSet::new())>"Clear selection"</button>
            </div>
        </Show>
    }
}
