//! One device: every fact it reported, its registration and its eligibility.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use shared::api::DeviceDetail;

use crate::api;
use crate::components::{EligibilityBadge, ErrorNotice};
use crate::format;

/// The device detail page.
#[component]
pub fn DeviceDetailPage() -> impl IntoView {
    let params = use_params_map();
    let device = LocalResource::new(move || {
        let id = params.get().get("id").unwrap_or_default();
        async move { api::device(&id).await }
    });
    view! {
        <p class="breadcrumb"><a href="/devices">"Devices"</a>" › device detail"</p>
        <Transition fallback=|| view! { <p class="muted">"Loading device…"</p> }>
            {move || device.get().map(|result| match result {
                Ok(device) => view! { <DeviceFacts device/> }.into_any(),
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
    view! {
        <div class="page-head">
            <h1>{facts.hostname.to_string()}</h1>
        </div>
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
