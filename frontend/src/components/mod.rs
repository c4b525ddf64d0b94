//! Widgets used by several pages.

mod rule_editor;
mod status;

use leptos::prelude::*;
pub use rule_editor::RuleEditor;
pub use status::{SettingBadge, StateBadge, StatusBar, StatusChart, describe as describe_counts};

use crate::api::ApiFailure;

/// How many devices something happens on, a few of them, and on demand all of them (by name, the first 500): `all`
/// lists them (id, name) when asked. `links`: the names open the devices' pages.
#[component]
pub fn AffectedDevices(
    n: u64,
    sample: Vec<(String, String)>,
    all: Callback<(), Vec<(String, String)>>,
    links: bool,
) -> impl IntoView {
    const SHOWN: usize = 500;
    let open = RwSignal::new(false);
    let device = move |(id, name): (String, String)| {
        if links {
            view! { <a href=format!("/devices/{id}")>{name}</a>" " }.into_any()
        } else {
            view! { <span>{name}</span>" " }.into_any()
        }
    };
    let more = usize::try_from(n).unwrap_or(usize::MAX) > sample.len();
    view! {
        {n}
        {move || (!open.get()).then(|| view! {
            <div class="sub device-names">{sample.clone().into_iter().map(device).collect_view()}</div>
        })}
        {more.then(|| view! {
            <button type="button" class="link-button more" aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)>
                {move || if open.get() { "Hide the list".to_owned() } else { format!("Show all {n}") }}
            </button>
        })}
        {move || open.get().then(|| {
            let mut devices = all.run(());
            shared::sort::sort_by(&mut devices, |a, b| a.1.cmp(&b.1));
            let rest = devices.len().saturating_sub(SHOWN);
            devices.truncate(SHOWN);
            view! {
                <div class="sub device-names" data-testid="affected-devices">
                    {devices.into_iter().map(device).collect_view()}
                    {(rest > 0).then(|| view! { <p>{format!("…and {rest} more.")}</p> })}
                </div>
            }
        })}
    }
}

/// An error from the API, with every violation listed.
#[component]
pub fn ErrorNotice(failure: ApiFailure) -> impl IntoView {
    let violations = match &failure {
        ApiFailure::Server(envelope) => envelope.error.violations.clone(),
        ApiFailure::Network(_) => Vec::new(),
    };
    let message = match &failure {
        ApiFailure::Server(envelope) => envelope.error.message.clone(),
        ApiFailure::Network(_) => failure.to_string(),
    };
    let sign_in = failure.is_unauthenticated().then(|| view! { <p><a href="/login">"Sign in again"</a></p> });
    view! {
        <div class="notice error" role="alert">
            <p>{message}</p>
            {sign_in}
            <Show when={
                let empty = violations.is_empty();
                move || !empty
            }>
                <ul>
                    {violations.iter().map(|v| {
                        let text = if v.path.is_empty() { v.message.clone() } else { format!("{}: {}", v.path, v.message) };
                        view! { <li>{text}</li> }
                    }).collect_view()}
                </ul>
            </Show>
        </div>
    }
}

/// The eligibility of a device as a badge, with the reason as its title.
#[component]
pub fn EligibilityBadge(eligibility: shared::eligibility::Eligibility) -> impl IntoView {
    let class = if eligibility.is_eligible() { "badge ok" } else { "badge muted" };
    let label = if eligibility.is_eligible() { "Eligible" } else { "Not applicable" };
    view! { <span class=class title=eligibility.reason.clone()>{label}</span> }
}

/// Its children only when the signed-in user's role allows `permission`: actions a role may not take are not shown.
#[component]
pub fn Can(permission: shared::access::Permission, children: ChildrenFn) -> impl IntoView {
    let allowed = crate::session::can(permission);
    view! { <Show when=move || allowed.get()>{children()}</Show> }
}

/// Asks before a change that cannot be undone: what will happen, the button that does it, and Cancel. Either button
/// closes it.
#[component]
pub fn Confirm(
    open: RwSignal<bool>,
    question: Signal<String>,
    action: &'static str,
    confirm: Callback<()>,
) -> impl IntoView {
    view! {
        <Show when=move || open.get()>
            <div class="notice warning" role="alertdialog" aria-label="Confirm">
                <p>{move || question.get()}</p>
                <button class="button danger" on:click=move |_| {
                    open.set(false);
                    confirm.run(());
                }>{action}</button>
                " "
                <button class="button subtle" on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </Show>
    }
}

/// In place of a page the role may not use (opened by its address).
#[component]
pub fn NotAllowed(what: &'static str) -> impl IntoView {
    let session = crate::session::use_session();
    let role = move || session.0.get().map(|me| me.role.label()).unwrap_or_default();
    view! {
        <div class="notice warning" role="alert" data-testid="not-allowed">
            <p>{move || format!("Your role, {}, does not allow you to {what}.", role())}</p>
            <p><a href="/devices">"Go to Devices"</a></p>
        </div>
    }
}
