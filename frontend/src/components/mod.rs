//! Widgets used by several pages.

mod rule_editor;
mod status;

use leptos::prelude::*;
pub use rule_editor::RuleEditor;
pub use status::{SettingBadge, StateBadge, StatusBar, StatusChart, describe as describe_counts};

use crate::api::ApiFailure;

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
