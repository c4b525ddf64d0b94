//! Tenant administration: the two switches, declared licences, the onboarding token and the prerequisite checklist.

use leptos::prelude::*;
use shared::api::{TenantView, UpdateTenant};
use shared::tenant::{Licences, TenantSwitches};

use crate::api::{self, ApiFailure};
use crate::components::ErrorNotice;
use shared::access::Permission;

/// The tenant administration page, for roles that may see it; only Administrators change it.
#[component]
pub fn TenantPage() -> impl IntoView {
    let allowed = crate::session::can(Permission::ViewTenant);
    view! {
        <Show when=move || allowed.get() fallback=|| view! { <crate::components::NotAllowed what="open tenant administration"/> }>
            <Tenant/>
        </Show>
    }
}

#[component]
fn Tenant() -> impl IntoView {
    let manage = crate::session::can(Permission::ManageTenant);
    // Roles that may only read see the controls disabled.
    let locked = Signal::derive(move || !manage.get());
    let tenant = RwSignal::new(None::<TenantView>);
    let failure = RwSignal::new(None::<ApiFailure>);
    let saving = RwSignal::new(false);
    leptos::task::spawn_local(async move {
        match api::tenant().await {
            Ok(view) => tenant.set(Some(view)),
            Err(error) => failure.set(Some(error)),
        }
    });
    let apply = move |result: Result<TenantView, ApiFailure>| match result {
        Ok(view) => {
            tenant.set(Some(view));
            failure.set(None);
        }
        Err(error) => failure.set(Some(error)),
    };
    let update = move |change: UpdateTenant| {
        saving.set(true);
        leptos::task::spawn_local(async move {
            apply(api::update_tenant(&change).await);
            saving.set(false);
        });
    };

    view! {
        <div class="page-head">
            <h1>"Tenant administration"</h1>
            <p class="muted">"Turn on security settings management, onboard devices, and check what is still missing."</p>
        </div>
        {move || failure.get().map(|failure| view! { <ErrorNotice failure/> })}
        {move || tenant.get().map(|view| {
            let switches = view.switches;
            let licences = view.licences;
            view! {
                <section class="card">
                    <h2>"Security settings management"</h2>
                    <p class="muted">"Both switches must be on before any device takes policies. Devices managed by an MDM never do."</p>
                    <Switch
                        label="Security settings management (Defender side)"
                        help="Lets onboarded devices receive security settings from this admin center instead of an MDM."
                        on=switches.security_settings_management
                        disabled=Signal::derive(move || saving.get() || locked.get())
                        toggle=move |on| update(UpdateTenant { switches: Some(TenantSwitches { security_settings_management: on, ..switches }), licences: None })
                    />
                    <Switch
                        label="Allow Defender for Endpoint to enforce endpoint security configurations"
                        help="The admin-center side: supported devices that no MDM manages become eligible."
                        on=switches.enforce_security_configuration
                        disabled=Signal::derive(move || saving.get() || locked.get())
                        toggle=move |on| update(UpdateTenant { switches: Some(TenantSwitches { enforce_security_configuration: on, ..switches }), licences: None })
                    />
                </section>
                <section class="card">
                    <h2>"Licences"</h2>
                    <p class="muted">"Rampart cannot check licences; declare the ones your tenant holds."</p>
                    <label class="check">
                        <input type="checkbox" prop:checked=licences.defender_for_endpoint disabled=move || saving.get() || locked.get()
                            on:change=move |ev| update(UpdateTenant { switches: None, licences: Some(Licences { defender_for_endpoint: event_target_checked(&ev), ..licences }) })/>
                        "Microsoft Defender for Endpoint licences"
                    </label>
                    <label class="check">
                        <input type="checkbox" prop:checked=licences.directory_premium_p1 disabled=move || saving.get() || locked.get()
                            on:change=move |ev| update(UpdateTenant { switches: None, licences: Some(Licences { directory_premium_p1: event_target_checked(&ev), ..licences }) })/>
                        "Directory premium (P1) licence"
                    </label>
                </section>
                {if manage.get_untracked() {
                    view! { <OnboardingToken token=view.onboarding_token.clone() apply/> }.into_any()
                } else {
                    view! {
                        <section class="card">
                            <h2>"Onboarding"</h2>
                            <p class="muted" data-testid="onboarding-token">{format!("Only Administrators see the onboarding token (it ends with {}).", view.onboarding_token.trim_start_matches('…'))}</p>
                        </section>
                    }.into_any()
                }}
                <section class="card">
                    <h2>"Prerequisites"</h2>
                    <ul class="checklist" data-testid="prerequisites">
                        {view.prerequisites.into_iter().map(|item| {
                            let (class, mark) = if item.met { ("met", "✓") } else { ("unmet", "✗") };
                            view! {
                                <li class=class data-testid=format!("prerequisite-{}", item.id)>
                                    <span class="mark" aria-label=if item.met { "met" } else { "not met" }>{mark}</span>
                                    <span><strong>{item.label}</strong><br/><span class="muted">{item.detail}</span></span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </section>
            }
        })}
    }
}

/// A labelled on/off switch (a checkbox with the switch role, so keyboards and screen readers know it).
#[component]
fn Switch(
    label: &'static str,
    help: &'static str,
    on: bool,
    disabled: Signal<bool>,
    toggle: impl Fn(bool) + 'static,
) -> impl IntoView {
    view! {
        <label class="switch">
            <input type="checkbox" role="switch" prop:checked=on disabled=move || disabled.get()
                on:change=move |ev| toggle(event_target_checked(&ev))/>
            <span class="track" aria-hidden="true"></span>
            <span><strong>{label}</strong><br/><span class="muted">{help}</span></span>
        </label>
    }
}

/// The onboarding token: hidden until shown, copyable, rotatable after a confirmation.
#[component]
fn OnboardingToken(
    token: String,
    apply: impl Fn(Result<TenantView, ApiFailure>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let shown = RwSignal::new(false);
    let copied = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let masked = format!("{}{}", &token[..token.len().min(4)], "•".repeat(28));
    let copy = {
        let token = token.clone();
        move |_| {
            if let Some(window) = web_sys::window() {
                let _ = window.navigator().clipboard().write_text(&token);
                copied.set(true);
            }
        }
    };
    let rotate = move |_| {
        confirming.set(false);
        leptos::task::spawn_local(async move { apply(api::rotate_onboarding_token().await) });
    };
    view! {
        <section class="card">
            <h2>"Onboarding"</h2>
            <p class="muted">"Devices onboard with this token. Give it to your deployment tooling, or download the onboarding package for "<code>"rampart-agent --onboarding-package"</code>"."</p>
            <div class="token-row">
                <code class="token" data-testid="onboarding-token">{move || if shown.get() { token.clone() } else { masked.clone() }}</code>
                <button class="button subtle" on:click=move |_| shown.update(|s| *s = !*s)>
                    {move || if shown.get() { "Hide" } else { "Show" }}
                </button>
                <button class="button subtle" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
                <a class="button subtle" href=api::ONBOARDING_PACKAGE_URL download="rampart-onboarding.json">"Download onboarding package"</a>
                <button class="button danger" on:click=move |_| confirming.set(true)>"Rotate…"</button>
            </div>
            <Show when=move || confirming.get()>
                <div class="notice warning" role="alertdialog" aria-label="Confirm rotation">
                    <p>"Devices already onboarded keep working; new devices will need the new token. Rotate now?"</p>
                    <button class="button danger" on:click=rotate>"Rotate token"</button>
                    " "
                    <button class="button subtle" on:click=move |_| confirming.set(false)>"Cancel"</button>
                </div>
            </Show>
        </section>
    }
}
