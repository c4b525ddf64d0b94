//! The audit log: who changed what, when, from where, in a line; filtered by actor, object type, action and period,
//! newest first, and downloadable as CSV. Each entry has its own page with the values before and after. Read-only:
//! nothing here can change an entry.

use crate::router::{use_params_map, use_query_map};
use leptos::prelude::*;
use shared::audit::{AuditAction, AuditEntry, ObjectType};
use shared::policy::{Change, PolicyDraft, definition_name, diff};

use crate::api;
use crate::components::ErrorNotice;
use crate::format;
use crate::load::Load;

/// The filters the page keeps in its URL.
const FILTERS: [&str; 5] = ["actor", "object_type", "object_id", "action", "period"];

const PERIODS: &[(&str, &str, i64)] = &[
    ("", "Any time", 0),
    ("day", "Last 24 hours", 86_400),
    ("week", "Last 7 days", 604_800),
    ("month", "Last 30 days", 2_592_000),
];

/// The audit page; its filters live in the URL.
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.with(|q| q.get(key).unwrap_or_default());
    // The API's query string: the URL's filters, with the period turned into `since`.
    let api_query = Memo::new(move |_| {
        let mut pairs = Vec::new();
        for key in FILTERS.iter().filter(|k| **k != "period").chain(&["page"]) {
            let value = param(key);
            if !value.is_empty() {
                pairs.push(format!("{key}={}", shared::query::percent_encode(&value)));
            }
        }
        if let Some((_, _, seconds)) = PERIODS.iter().find(|(code, _, _)| !code.is_empty() && *code == param("period"))
        {
            pairs.push(format!("since={}", format::now() - seconds));
        }
        pairs.join("&")
    });
    let page = Load::new(move || {
        let query = api_query.get();
        async move { api::audit(&query).await }
    });
    let set = move |key: &'static str, value: String| {
        let mut pairs: Vec<(String, String)> = query.with(|q| {
            FILTERS.iter().filter(|k| **k != key).map(|k| (k.to_string(), q.get(k).unwrap_or_default())).collect()
        });
        pairs.push((key.to_owned(), value));
        let text: Vec<String> = pairs
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", shared::query::percent_encode(&v)))
            .collect();
        crate::router::navigate(&format!("/audit?{}", text.join("&")));
    };
    view! {
        <div class="page-head row">
            <div>
                <p class="breadcrumb">"Administration"</p>
                <h1>"Audit log"</h1>
                <p class="muted">"Every change made in this admin center, newest first. Entries cannot be edited or deleted."</p>
            </div>
            <div class="actions">
                <a class="button" href=move || api::audit_csv_url(&api_query.get()) download="">"Export CSV"</a>
            </div>
        </div>
        <div class="toolbar">
            <label class="field">"Actor"
                <input type="search" placeholder="User name" prop:value=move || param("actor")
                    on:change=move |ev| set("actor", event_target_value(&ev).trim().to_owned())/>
            </label>
            <label class="field">"Object type"
                <select data-testid="filter-object-type" on:change=move |ev| set("object_type", event_target_value(&ev))>
                    <option value="">"Any object"</option>
                    {ObjectType::ALL.iter().map(|t| view! { <option value=t.code() selected=move || param("object_type") == t.code()>{t.label()}</option> }).collect_view()}
                </select>
            </label>
            <label class="field">"Action"
                <select data-testid="filter-action" on:change=move |ev| set("action", event_target_value(&ev))>
                    <option value="">"Any action"</option>
                    {AuditAction::ALL.iter().map(|a| view! { <option value=a.code() selected=move || param("action") == a.code()>{a.label()}</option> }).collect_view()}
                </select>
            </label>
            {move || {
                let id = param("object_id");
                (!id.is_empty()).then(|| {
                    view! {
                        <span class="field"><span>"Object"</span>
                            <span class="chip" data-testid="filter-object">{id}
                                " " <button class="link-button" aria-label="Any object" on:click=move |_| set("object_id", String::new())>"×"</button>
                            </span>
                        </span>
                    }
                })
            }}
            <label class="field">"Period"
                <select on:change=move |ev| set("period", event_target_value(&ev))>
                    {PERIODS.iter().map(|(code, label, _)| view! { <option value=*code selected=move || param("period") == *code>{*label}</option> }).collect_view()}
                </select>
            </label>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading the audit log…"</p> }>
            {move || page.get().map(|result| match result {
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                Ok(page) => {
                    let now = format::now();
                    let first = if page.total == 0 { 0 } else { u64::from(page.page - 1) * u64::from(page.per_page) + 1 };
                    let last = (first + page.items.len() as u64).saturating_sub(1);
                    let (current, has_next) = (page.page, u64::from(page.page) * u64::from(page.per_page) < page.total);
                    view! {
                        <div class="table-wrap">
                            <table class="grid" data-testid="audit-table">
                                <thead><tr>
                                    <th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th>
                                    <th scope="col">"Object"</th><th scope="col">"Summary"</th>
                                </tr></thead>
                                <tbody>
                                    {if page.items.is_empty() {
                                        view! { <tr><td colspan="5" class="empty">"No entry matches."</td></tr> }.into_any()
                                    } else {
                                        page.items.into_iter().map(|entry| view! { <Entry entry now/> }).collect_view().into_any()
                                    }}
                                </tbody>
                            </table>
                        </div>
                        <div class="pager">
                            <span>{format!("{first}–{last} of {} entries", page.total)}</span>
                            <span class="spacer"></span>
                            <a class="button subtle" class:hidden=current <= 1 href=move || page_href(&query.get(), current - 1)>"Previous"</a>
                            <a class="button subtle" class:hidden=!has_next href=move || page_href(&query.get(), current + 1)>"Next"</a>
                        </div>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

fn page_href(query: &crate::router::Params, page: u32) -> String {
    let mut text: Vec<String> = FILTERS
        .iter()
        .filter_map(|k| query.get(k).map(|v| format!("{k}={}", shared::query::percent_encode(&v))))
        .collect();
    text.push(format!("page={}", page.max(1)));
    format!("/audit?{}", text.join("&"))
}

/// One entry of the list, its action linking to its page.
#[component]
fn Entry(entry: AuditEntry, now: i64) -> impl IntoView {
    view! {
        <tr data-action=entry.action.code()>
            <td class="when" title=format::date_time(entry.at)>{format::ago(entry.at, now)}</td>
            <td class="name">{entry.actor.clone()}<div class="sub">{entry.address.clone()}</div></td>
            <td><a href=format!("/audit/{}", entry.id)>{entry.action.label()}</a></td>
            <td>{entry.object_name.clone()}<div class="sub">{entry.object_type.label()}</div></td>
            <td class="sub-wide" data-testid="audit-summary">{if entry.summary.is_empty() { "—".to_owned() } else { entry.summary.clone() }}</td>
        </tr>
    }
}

/// One entry's page: who, when, from where, and the values before and after — the changes in words (a policy's
/// setting by setting), then every value.
#[component]
pub fn AuditEntryPage() -> impl IntoView {
    let params = use_params_map();
    let entry = Load::new(move || {
        let id = params.get().get("id").unwrap_or_default();
        async move { api::audit_entry(&id).await }
    });
    view! {
        <p class="breadcrumb">"Administration › "<a href="/audit">"Audit log"</a></p>
        <Transition fallback=|| view! { <p class="muted">"Loading the entry…"</p> }>
            {move || entry.get().map(|result| match result {
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                Ok(entry) => {
                    let (changes, values) = (changes(&entry, false), changes(&entry, true));
                    view! {
                        <div class="page-head">
                            <h1>{format!("{}: {}", entry.action.label(), entry.object_name)}</h1>
                            <p class="muted" data-testid="audit-entry">{format!(
                                "{} by {} from {} · {} {} · {}",
                                format::date_time(entry.at), entry.actor, entry.address, entry.object_type.label(), entry.object_id,
                                if entry.summary.is_empty() { "—" } else { &entry.summary },
                            )}</p>
                        </div>
                        <section class="card wide">
                            <h2>"Changes"</h2>
                            {change_table(changes, "audit-changes")}
                        </section>
                        <section class="card wide">
                            <h2>"Every value"</h2>
                            {change_table(values, "audit-values")}
                        </section>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// (what, before, after) as a table, or a dash when there is nothing.
fn change_table(rows: Vec<(String, String, String)>, test_id: &'static str) -> AnyView {
    if rows.is_empty() {
        return view! { <p class="muted" data-testid=test_id>"—"</p> }.into_any();
    }
    view! {
        <table class="changes" data-testid=test_id>
            <thead><tr><th scope="col"><span class="sr-only">"Value"</span></th><th scope="col">"Before"</th><td></td><th scope="col">"After"</th></tr></thead>
            <tbody>{rows.into_iter().map(|(what, before, after)| view! {
                <tr><th scope="row">{what}</th><td class="before"><code class="plain">{before}</code></td><td aria-hidden="true">"→"</td><td class="after"><code class="plain">{after}</code></td></tr>
            }).collect_view()}</tbody>
        </table>
    }
    .into_any()
}

/// (what, before, after) in words: what changed (`all` false), or every value (`all`), a policy as its fields.
fn changes(entry: &AuditEntry, all: bool) -> Vec<(String, String, String)> {
    let draft = |value: &Option<serde_json::Value>| {
        // Read back from text: the one JSON reader the admin center compiles (another would duplicate the code that
        // reads every type).
        value.as_ref().and_then(|v| serde_json::from_str::<PolicyDraft>(&v.get("policy")?.to_string()).ok())
    };
    if entry.object_type == ObjectType::Policy && !all {
        let (before, after) = (draft(&entry.before), draft(&entry.after));
        // A creation or a deletion reads as every field and setting from or to nothing.
        if let Some(some) = before.as_ref().or(after.as_ref()) {
            let empty = PolicyDraft {
                name: String::new(),
                description: String::new(),
                settings: Vec::new(),
                assignments: Default::default(),
                ..some.clone()
            };
            let (had, has) = (before.is_some(), after.is_some());
            return diff(before.as_ref().unwrap_or(&empty), after.as_ref().unwrap_or(&empty))
                .into_iter()
                .map(|change| {
                    let Change { field, before, after } = change;
                    let side = |present: bool, value| {
                        if present { crate::pages::policies::readable(&field, value) } else { "—".to_owned() }
                    };
                    (definition_name(&field), side(had, before), side(has, after))
                })
                .collect();
        }
    }
    let object =
        |value: &Option<serde_json::Value>| value.as_ref().and_then(|v| v.as_object().cloned()).unwrap_or_default();
    let (before, after) = (object(&entry.before), object(&entry.after));
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    shared::sort::sort_by(&mut keys, |a, b| a.cmp(b));
    keys.dedup();
    let text = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => "—".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    keys.into_iter()
        .filter(|k| all || before.get(*k) != after.get(*k))
        .map(|k| (k.replace('_', " "), text(before.get(k)), text(after.get(k))))
        .collect()
}
