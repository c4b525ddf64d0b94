//! Tenant administration: the two switches, declared licences, the onboarding tokens and the prerequisite checklist.

use leptos::prelude::*;
use shared::access::Permission;
use shared::api::{
    CreateOnboardingToken, CreatedOnboardingToken, OnboardingTokenState, OnboardingTokenSummary, TenantView,
    UpdateTenant,
};
use shared::tenant::{Licences, TenantSwitches};

use crate::api::{self, ApiFailure};
use crate::components::{Confirm, ErrorNotice};
use crate::format;
use crate::load::Load;

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
    let update = move |change: UpdateTenant| {
        saving.set(true);
        leptos::task::spawn_local(async move {
            match api::update_tenant(&change).await {
                Ok(view) => {
                    tenant.set(Some(view));
                    failure.set(None);
                }
                Err(error) => failure.set(Some(error)),
            }
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
            }
        })}
        // Outside the tenant's view, so that changing a switch neither reloads the tokens nor hides a new one.
        <OnboardingTokens/>
        {move || tenant.get().map(|view| {
            view! {
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

/// The onboarding tokens devices onboard with: every token with its limits and state; Administrators create tokens
/// (each shown once, with its onboarding package) and revoke them.
#[component]
fn OnboardingTokens() -> impl IntoView {
    // The page opens only once the session is known, and a role does not change while it is open.
    let manage = crate::session::can(Permission::ManageTenant).get_untracked();
    let tokens = Load::new(api::onboarding_tokens);
    let created = RwSignal::new(None::<CreatedOnboardingToken>);
    let failure = RwSignal::new(None::<ApiFailure>);
    let confirming = RwSignal::new(false);
    // The token to revoke once confirmed: (id, name).
    let target = RwSignal::new((String::new(), String::new()));
    let revoke = Callback::new(move |()| {
        let id = target.get_untracked().0;
        leptos::task::spawn_local(async move {
            failure.set(api::revoke_onboarding_token(&id).await.err());
            tokens.refetch();
        });
    });
    view! {
        <section class="card" data-testid="onboarding-tokens">
            <h2>"Onboarding tokens"</h2>
            <p class="muted">"Devices onboard with a token: give it to your deployment tooling, or its onboarding package to "
                <code>"rampart-agent --onboarding-package"</code>
                ". A token is shown only when it is created. Revoking one stops new onboardings with it; devices already onboarded keep working."</p>
            {move || match created.get() {
                Some(token) => view! { <CreatedToken created=token done=move || created.set(None)/> }.into_any(),
                None => manage.then(|| view! { <NewToken created tokens/> }).into_any(),
            }}
            <Confirm open=confirming action="Revoke token" confirm=revoke
                question=Signal::derive(move || format!("Revoke \u{201c}{}\u{201d}? No device can onboard with it any more; devices already onboarded keep working.", target.with(|t| t.1.clone())))/>
            {move || failure.get().map(|failure| view! { <ErrorNotice failure/> })}
            // Read without a Transition (the list stays while it reloads): one less in the bundle.
            {move || match tokens.get() {
                    None => view! { <p class="muted">"Loading onboarding tokens…"</p> }.into_any(),
                    Some(Err(failure)) => view! { <ErrorNotice failure/> }.into_any(),
                    Some(Ok(list)) => {
                        let now = format::now();
                        view! {
                            <div class="table-wrap">
                                <table class="grid" data-testid="tokens-table">
                                    <thead><tr>
                                        <th scope="col">"Name"</th><th scope="col">"Ends with"</th><th scope="col">"Created"</th>
                                        <th scope="col">"Expires"</th><th scope="col">"Uses / max"</th><th scope="col">"State"</th>
                                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                                    </tr></thead>
                                    <tbody>
                                        {if list.is_empty() {
                                            view! { <tr><td colspan="7" class="empty">"No onboarding token yet: no device can onboard."</td></tr> }.into_any()
                                        } else {
                                            list.into_iter().map(|token| {
                                                let active = token.state == OnboardingTokenState::Active;
                                                let revocable = manage && active;
                                                let ask = (token.id.clone(), token.name.clone());
                                                view! {
                                                    <tr>
                                                        <td class="name">{token.name.clone()}</td>
                                                        <td><code class="plain">{format!("…{}", token.ends_with)}</code></td>
                                                        <td class="when">{format!("{} by {}", format::ago(token.created_at, now), token.created_by)}</td>
                                                        <td class="when">{token.expires_at.map_or_else(|| "Never".to_owned(), format::date_time)}</td>
                                                        <td>{format!("{} / {}", token.uses, token.max_uses.map_or_else(|| "no limit".to_owned(), |max| max.to_string()))}</td>
                                                        <td><span class=if active { "badge ok" } else { "badge muted" }>{token.state.label()}</span></td>
                                                        <td>{revocable.then(|| view! {
                                                            <button class="button danger small" on:click=move |_| {
                                                                target.set(ask.clone());
                                                                confirming.set(true);
                                                            }>"Revoke…"</button>
                                                        })}</td>
                                                    </tr>
                                                }
                                            }).collect_view().into_any()
                                        }}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any()
                    }
            }}
        </section>
    }
}

/// The form that creates a token, checked with the server's own rules as the admin types.
#[component]
fn NewToken(
    created: RwSignal<Option<CreatedOnboardingToken>>,
    tokens: Load<Vec<OnboardingTokenSummary>>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let days = RwSignal::new("30".to_owned());
    let never = RwSignal::new(false);
    let max_uses = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<ApiFailure>);
    let busy = RwSignal::new(false);
    // A number that does not read as one is out of range: the rule's own message says what is expected.
    let number = |text: &String| text.trim().parse::<u64>().unwrap_or(0);
    let request = move || CreateOnboardingToken {
        name: name.get().trim().to_owned(),
        expires_in_days: (!never.get()).then(|| days.with(|d| u32::try_from(number(d)).unwrap_or(0))),
        max_uses: max_uses.with(|m| (!m.trim().is_empty()).then(|| number(m))),
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let create = request();
        if !create.validate().is_empty() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::create_onboarding_token(&create).await {
                Ok(token) => {
                    created.set(Some(token));
                    tokens.refetch();
                }
                Err(error) => failure.set(Some(error)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="toolbar" on:submit=submit data-testid="new-token">
            <label class="field">"Name"
                <input type="text" id="token-name" placeholder="Site or deployment wave" on:input=move |ev| name.set(event_target_value(&ev))/>
            </label>
            <label class="field">"Expires after (days)"
                <input type="text" class="number" id="token-days" value="30" disabled=move || never.get()
                    on:input=move |ev| days.set(event_target_value(&ev))/>
            </label>
            <label class="check">
                <input type="checkbox" id="token-never" on:change=move |ev| never.set(event_target_checked(&ev))/>
                "Never expires"
            </label>
            <label class="field">"Maximum devices"
                <input type="text" class="number" id="token-max-uses" placeholder="No limit" on:input=move |ev| max_uses.set(event_target_value(&ev))/>
            </label>
            <button class="button primary" type="submit" disabled=move || busy.get() || !request().validate().is_empty()>"New onboarding token"</button>
            <div class="field-errors-row">
                {move || {
                    // The name is judged once the admin types one.
                    let typed = !name.with(String::is_empty);
                    request().validate().into_iter().filter(|v| typed || v.path != "name").map(|v| {
                        let field = match v.path.as_str() {
                            "name" => "Name",
                            "expires_in_days" => "Expiry",
                            _ => "Maximum devices",
                        };
                        view! { <p class="field-error">{format!("{field} {}.", v.message)}</p> }
                    }).collect_view()
                }}
            </div>
            {move || failure.get().map(|failure| view! { <ErrorNotice failure/> })}
        </form>
    }
}

/// A token just created, shown this once: copy it, or download its onboarding package; Done hides it for good.
#[component]
fn CreatedToken(created: CreatedOnboardingToken, done: impl Fn() + 'static) -> impl IntoView {
    let copied = RwSignal::new(false);
    let token = created.package.onboarding_token.clone();
    let package = serde_json::to_string(&created.package).unwrap_or_default();
    let copy = move |_| {
        if let Some(window) = web_sys::window() {
            let _ = window.navigator().clipboard().write_text(&token);
            copied.set(true);
        }
    };
    view! {
        <div class="notice success" role="status" data-testid="created-token">
            <p>{format!("Token \u{201c}{}\u{201d} created. Copy it or download its onboarding package now: it will not be shown again.", created.token.name)}</p>
            <div class="token-row">
                <code class="token" data-testid="new-token-value">{created.package.onboarding_token.clone()}</code>
                <button type="button" class="button subtle" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
                <a class="button subtle" data-testid="onboarding-package" download="rampart-onboarding.json"
                    href=format!("data:application/json;charset=utf-8,{}", shared::query::percent_encode(&package))>"Download onboarding package"</a>
                <button type="button" class="button subtle" on:click=move |_| done()>"Done"</button>
            </div>
        </div>
    }
}
