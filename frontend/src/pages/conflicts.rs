//! Endpoint security → Conflicts: every conflict in the tenant right now (setting × competing policies × devices),
//! computed in the browser from the tenant snapshot with the rules the devices use.

use leptos::prelude::*;
use shared::conflict::DecidedBy;
use shared::groups::ALL_DEVICES;
use shared::policy::{AssignmentTarget, Assignments, Policy, PolicyDraft};
use shared::preview::{Memberships, Snapshot, SnapshotDevice, TenantConflict, tenant_conflicts};
use wasm_bindgen::JsCast;

use crate::api;
use crate::components::{AffectedDevices, ErrorNotice};
use crate::format;
use crate::load::Load;

/// The Conflicts page.
#[component]
pub fn ConflictsPage() -> impl IntoView {
    let snapshot = Load::new(api::snapshot);
    view! {
        <div class="page-head row">
            <div>
            <p class="breadcrumb">"Endpoint security"</p>
            <h1>"Conflicts"</h1>
            <p class="muted">"Settings that two or more policies give different values on the same devices, with the value the devices apply. Computed in your browser with the same rules the devices use."</p>
            </div>
            <div class="actions">
                <a class="button subtle" href="/api/v1/snapshot" download="rampart-snapshot.json">"Download snapshot"</a>
            </div>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading the tenant…"</p> }>
            {move || snapshot.get().map(|result| match result {
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                Ok(snapshot) => view! { <ConflictsOf snapshot links=true/> }.into_any(),
            })}
        </Transition>
        <FilesPreview/>
    }
}

/// How many conflicts the table shows at first, and adds at a time: a large tenant can have thousands.
const PAGE: usize = 100;

/// The conflicts of a snapshot as a table, the ones on the most devices first. `links`: policies and devices link to
/// their pages (not for files, whose policies and devices need not exist in this tenant).
#[component]
fn ConflictsOf(snapshot: Snapshot, links: bool) -> impl IntoView {
    let memberships = Memberships::of(&snapshot);
    let conflicts = tenant_conflicts(&snapshot, &memberships);
    let taken_at = snapshot.taken_at;
    if conflicts.is_empty() {
        return view! { <div class="card"><p class="empty" data-testid="no-conflicts">"No conflicts: wherever policies overlap, they agree or their lists merge."</p></div> }.into_any();
    }
    let total = conflicts.len();
    let mut settings = std::collections::BTreeSet::new();
    settings.extend(conflicts.iter().map(|c| c.setting_id.as_str()));
    let settings = settings.len();
    let data = StoredValue::new((snapshot, memberships));
    let conflicts = StoredValue::new(conflicts);
    let shown = RwSignal::new(PAGE);
    let row = move |c: TenantConflict| {
        let why = c.decided_by.map_or("", DecidedBy::winner);
        view! {
            <tr data-setting=c.setting_id.clone()>
                <td>{c.name}</td>
                <td class="sub-wide">{c.policies.iter().map(|p| {
                    let name = if links {
                        view! { <a href=format!("/policies/{}", p.policy_id)>{p.policy_name.clone()}</a> }.into_any()
                    } else {
                        view! { <strong>{p.policy_name.clone()}</strong> }.into_any()
                    };
                    view! { <div>{name}": "{p.value.clone()}</div> }
                }).collect_view()}</td>
                <td><AffectedDevices n=c.n_devices sample=c.sample.clone() links all=Callback::new({
                    let classes = c.classes.clone();
                    move |()| data.with_value(|(snapshot, memberships)| {
                        memberships.devices_in(&classes).map(|d| {
                            let device = &snapshot.devices[d];
                            (device.id.clone(), device.facts.hostname.to_string())
                        }).collect()
                    })
                })/></td>
                <td class="sub-wide">{c.effective}<div class="sub">{why}</div></td>
            </tr>
        }
    };
    view! {
        <p class="muted" data-testid="conflicts-summary">{format!(
            "{total} conflict{} on {settings} setting{}, the ones on the most devices first.",
            if total == 1 { "" } else { "s" },
            if settings == 1 { "" } else { "s" },
        )}</p>
        <div class="table-wrap">
            <table class="grid" data-testid="conflicts-table">
                <thead><tr><th scope="col">"Setting"</th><th scope="col">"Policies and their values"</th><th scope="col">"Devices"</th><th scope="col">"Takes effect"</th></tr></thead>
                <tbody>
                    {move || conflicts.with_value(|all| all.iter().take(shown.get()).cloned().map(row).collect_view())}
                </tbody>
            </table>
        </div>
        {move || (shown.get() < total).then(|| view! {
            <p><button type="button" class="button subtle" on:click=move |_| shown.update(|n| *n += PAGE)>
                {format!("Show {} more (of {total})", PAGE.min(total - shown.get_untracked()))}
            </button></p>
        })}
        <p class="help">{format!("As of {}.", format::date_time(taken_at))}</p>
    }
    .into_any()
}

/// A device that takes every policy, for previewing exported policies against each other with no tenant at all.
fn any_device() -> Option<SnapshotDevice> {
    // Read as a device's report is (from text: one JSON reader in the bundle).
    let report = r#"{"hostname": "ANY-DEVICE", "os": "windows_11", "edition": "enterprise",
        "os_build": "10.0.26100.4275", "required_update_installed": true, "downlevel_agent_installed": false,
        "join_type": "workgroup", "directory_device_id": null, "managed_by": "mde"}"#;
    let facts = shared::device::DeviceFacts::parse(&serde_json::from_str(report).ok()?, "facts").ok()?;
    Some(SnapshotDevice { id: "any-device".to_owned(), support: shared::eligibility::device_support(&facts), facts })
}

/// Previews conflicts from files alone: a downloaded snapshot, exported Intune policies, or both (the exported
/// policies are added to the snapshot, assigned to All devices). No server is needed.
#[component]
fn FilesPreview() -> impl IntoView {
    let loaded = RwSignal::new(None::<(Vec<String>, Snapshot)>);
    let on_change = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let Some(list) = input.files() else { return };
        let files: Vec<web_sys::File> = (0..list.length()).filter_map(|i| list.get(i)).collect();
        input.set_value("");
        leptos::task::spawn_local(async move {
            let mut notes = Vec::new();
            let mut snapshot = None::<Snapshot>;
            let mut policies = Vec::new();
            for (i, file) in files.iter().enumerate() {
                let name = file.name();
                let Ok(bytes) = crate::pages::policies::import::read(file).await else {
                    notes.push(format!("{name}: cannot be read"));
                    continue;
                };
                // From text, as every answer of the server: one JSON reader in the bundle.
                let text = std::str::from_utf8(&bytes).unwrap_or_default();
                if let Ok(found) = serde_json::from_str::<Snapshot>(text) {
                    notes.push(format!("{name}: the tenant as of {}", format::date_time(found.taken_at)));
                    snapshot = Some(found);
                    continue;
                }
                match shared::graph::import_policy(&bytes) {
                    Ok(imported) => {
                        notes.push(format!("{name} → \"{}\" ({} settings)", imported.name, imported.settings.len()));
                        let draft = PolicyDraft {
                            profile: imported.profile,
                            name: imported.name,
                            description: imported.description,
                            settings: imported.settings,
                            assignments: Assignments {
                                include: vec![AssignmentTarget::group(ALL_DEVICES)],
                                exclude: Vec::new(),
                            },
                        };
                        policies.push(Policy::first_version(format!("file-{i}"), draft, "file", i as i64));
                    }
                    Err(problems) => notes.push(format!(
                        "{name}: neither a snapshot nor an exported policy ({})",
                        problems.first().map_or_else(String::new, |v| v.message.clone())
                    )),
                }
            }
            let mut snapshot = snapshot.unwrap_or_else(|| Snapshot {
                generation: 0,
                taken_at: format::now(),
                switches: shared::tenant::TenantSwitches {
                    security_settings_management: true,
                    enforce_security_configuration: true,
                },
                devices: any_device().into_iter().collect(),
                groups: Vec::new(),
                policies: Vec::new(),
            });
            snapshot.policies.extend(policies);
            loaded.set(Some((notes, snapshot)));
        });
    };
    view! {
        <section class="card wide files-preview" data-testid="files-preview">
            <h2>"Preview files, without the server"</h2>
            <p class="muted">"Load a downloaded snapshot, exported Intune policies (Graph JSON), or both: the conflicts are computed here, in your browser. Exported policies count as assigned to All devices."</p>
            <label class="button subtle file-button">"Load files…"
                <input type="file" multiple accept=".json,application/json" aria-label="Preview files" data-testid="preview-files" on:change=on_change/>
            </label>
            {move || loaded.get().map(|(notes, snapshot)| view! {
                <ul class="plain-list" data-testid="preview-files-report">{notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
                <ConflictsOf snapshot links=false/>
            })}
        </section>
    }
}
