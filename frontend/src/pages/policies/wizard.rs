//! The policy wizard, for creating and editing: Platform and profile → Basics → Configuration settings →
//! Assignments → Review + create. Every change is checked at once with `shared::policy::validate_policy` (the
//! server runs the same function before it stores anything); errors show next to their field, and the Create
//! button says why it is disabled.

use std::collections::BTreeMap;

use crate::router::{use_params_map, use_query_map};
use leptos::prelude::*;
use shared::api::GroupSummary;
use shared::catalog::{PLATFORM, Profile};
use shared::policy::{
    AssignmentTarget, Assignments, PolicyDraft, definition_name, describe_value, validate_policy, violations_by_field,
};

use super::list_path;
use super::settings_form::SettingsStep;
use crate::api::{self, ApiFailure};
use crate::components::ErrorNotice;
use crate::load::Load;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Profile,
    Basics,
    Settings,
    Assignments,
    Review,
}

impl Step {
    const ALL: [Step; 5] = [Step::Profile, Step::Basics, Step::Settings, Step::Assignments, Step::Review];

    fn label(self, editing: bool) -> &'static str {
        match self {
            Step::Profile => "Platform and profile",
            Step::Basics => "Basics",
            Step::Settings => "Configuration settings",
            Step::Assignments => "Assignments",
            Step::Review if editing => "Review + save",
            Step::Review => "Review + create",
        }
    }

    fn index(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// *Create policy*: the profile comes from `?profile=`.
#[component]
pub fn NewPolicyPage() -> impl IntoView {
    let query = use_query_map();
    let profile =
        query.get_untracked().get("profile").and_then(|code| Profile::from_code(&code)).unwrap_or(Profile::Antivirus);
    let draft = RwSignal::new(PolicyDraft {
        profile,
        name: String::new(),
        description: String::new(),
        settings: Vec::new(),
        assignments: Assignments::default(),
    });
    let allowed = crate::session::can(shared::access::Permission::ManageEndpointSecurity);
    view! {
        <Show when=move || allowed.get() fallback=|| view! { <crate::components::NotAllowed what="create policies"/> }>
            <Wizard draft existing=None/>
        </Show>
    }
}

/// *Edit*: the same pages, over the policy as it is now.
#[component]
pub fn EditPolicyPage() -> impl IntoView {
    if !crate::session::can(shared::access::Permission::ManageEndpointSecurity).get_untracked() {
        return view! { <crate::components::NotAllowed what="change policies"/> }.into_any();
    }
    let params = use_params_map();
    let id = params.get_untracked().get("id").unwrap_or_default();
    let loaded = Load::new(move || {
        let id = id.clone();
        async move { api::policy(&id).await }
    });
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading policy…"</p> }>
            {move || loaded.get().map(|result| match result {
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                Ok(policy) => {
                    let draft = RwSignal::new(policy.draft.clone());
                    view! { <Wizard draft existing=Some((policy.id.clone(), policy.version))/> }.into_any()
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn Wizard(draft: RwSignal<PolicyDraft>, existing: Option<(String, u64)>) -> impl IntoView {
    let editing = existing.is_some();
    let existing = StoredValue::new(existing);
    let step = RwSignal::new(if editing { Step::Basics } else { Step::Profile });
    let groups = RwSignal::new(None::<Vec<GroupSummary>>);
    leptos::task::spawn_local(async move {
        if let Ok(list) = api::groups().await {
            groups.set(Some(list));
        }
    });
    let local_errors = RwSignal::new(BTreeMap::<String, String>::new());
    let violations = Memo::new(move |_| {
        draft.with(|d| {
            groups.with(|groups| match groups {
                Some(groups) => validate_policy(d, |id| groups.iter().any(|g| g.id == id)),
                None => validate_policy(d, |_| true),
            })
        })
    });
    let errors = Memo::new(move |_| draft.with(|d| violations_by_field(d, &violations.get())));
    let blocker = Memo::new(move |_| {
        let local = local_errors.get();
        let all = violations.get();
        let n = all.len() + local.len();
        let first = local
            .iter()
            .map(|(id, message)| format!("{}: {message}", definition_name(id)))
            .chain(all.iter().map(|v| {
                let field = field_name(&draft.get_untracked(), &v.path);
                format!("{field}: {}", v.message)
            }))
            .next()?;
        Some(if n == 1 {
            format!("Fix this first — {first}")
        } else {
            format!("Fix {n} problems first — {first}; …")
        })
    });
    let failure = RwSignal::new(None::<ApiFailure>);
    let busy = RwSignal::new(false);
    let submit = move |_| {
        if blocker.get_untracked().is_some() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        let draft = draft.get_untracked();
        leptos::task::spawn_local(async move {
            let result = match existing.get_value() {
                Some((id, version)) => api::update_policy(&id, version, &draft).await,
                None => api::create_policy(&draft).await,
            };
            busy.set(false);
            match result {
                Ok(policy) if editing => crate::router::navigate(&format!("/policies/{}", policy.id)),
                Ok(policy) => crate::router::navigate(list_path(policy.draft.profile)),
                Err(error) => failure.set(Some(error)),
            }
        });
    };

    view! {
        <div class="page-head">
            <p class="breadcrumb">{move || format!("Endpoint security › {}", draft.with(|d| d.profile.policy_type()))}</p>
            <h1>{if editing { "Edit policy" } else { "Create policy" }}</h1>
        </div>
        <nav class="steps" aria-label="Wizard steps">
            {Step::ALL.iter().map(|s| {
                let s = *s;
                view! {
                    <button type="button" class="step" aria-current=move || (step.get() == s).then_some("step")
                        disabled=move || editing && s == Step::Profile
                        on:click=move |_| step.set(s)>
                        <span class="step-number">{s.index() + 1}</span>{s.label(editing)}
                    </button>
                }
            }).collect_view()}
        </nav>
        {move || failure.get().map(|failure| view! { <ErrorNotice failure/> })}
        <div class="wizard-body">
            {move || match step.get() {
                Step::Profile => view! { <ProfileStep draft/> }.into_any(),
                Step::Basics => view! { <BasicsStep draft errors/> }.into_any(),
                Step::Settings => view! { <SettingsStep draft errors local_errors/> }.into_any(),
                Step::Assignments => view! { <AssignmentsStep draft errors groups/> }.into_any(),
                Step::Review => view! { <ReviewStep draft groups violations/> }.into_any(),
            }}
        </div>
        <Show when=move || matches!(step.get(), Step::Settings | Step::Assignments | Step::Review)>
            <super::preview::PreviewPanel draft editing=existing.get_value().map(|(id, _)| id)/>
        </Show>
        <div class="wizard-actions">
            <button class="button subtle" type="button" disabled=move || step.get().index() == 0 || (editing && step.get() == Step::Basics)
                on:click=move |_| step.update(|s| *s = Step::ALL[s.index().saturating_sub(1)])>"Previous"</button>
            <Show when=move || step.get() != Step::Review>
                <button class="button primary" type="button" on:click=move |_| step.update(|s| *s = Step::ALL[(s.index() + 1).min(4)])>"Next"</button>
            </Show>
            <Show when=move || step.get() == Step::Review>
                <button class="button primary" type="button" data-testid="submit-policy"
                    disabled=move || blocker.get().is_some() || busy.get() on:click=submit>
                    {if editing { "Save" } else { "Create" }}
                </button>
            </Show>
            <span class="muted" data-testid="submit-blocker">{move || blocker.get()}</span>
        </div>
    }
}

/// A violation's path in words: a setting's name, or the form field.
fn field_name(draft: &PolicyDraft, path: &str) -> String {
    if let Some(rest) = path.strip_prefix("settings[")
        && let Some((index, _)) = rest.split_once(']')
        && let Some(setting) = index.parse::<usize>().ok().and_then(|i| draft.settings.get(i))
    {
        return definition_name(&setting.id);
    }
    match path {
        "name" => "Name".to_owned(),
        "description" => "Description".to_owned(),
        other => other.to_owned(),
    }
}

#[component]
fn ProfileStep(draft: RwSignal<PolicyDraft>) -> impl IntoView {
    view! {
        <section class="card form">
            <h2>"Platform and profile"</h2>
            <label for="platform">"Platform"</label>
            <input id="platform" type="text" value=PLATFORM readonly/>
            <label for="profile">"Profile"</label>
            <select id="profile" prop:value=move || draft.with(|d| d.profile.code().to_owned())
                on:change=move |ev| {
                    if let Some(profile) = Profile::from_code(&event_target_value(&ev)) {
                        draft.update(|d| if d.profile != profile { d.profile = profile; d.settings.clear(); });
                    }
                }>
                {Profile::ALL.iter().map(|p| view! { <option value=p.code()>{format!("{} ({})", p.label(), p.policy_type())}</option> }).collect_view()}
            </select>
            <p class="help">"Changing the profile clears the configured settings."</p>
        </section>
    }
}

#[component]
fn BasicsStep(draft: RwSignal<PolicyDraft>, errors: Memo<BTreeMap<String, Vec<String>>>) -> impl IntoView {
    let error = move |field: &'static str| {
        move || {
            errors
                .with(|e| e.get(field).map(|m| m.join("; ")))
                .map(|m| view! { <p class="field-error" role="alert">{m}</p> })
        }
    };
    let initial = draft.get_untracked();
    view! {
        <section class="card form">
            <h2>"Basics"</h2>
            <label for="policy-name">"Name"</label>
            <input id="policy-name" type="text" value=initial.name aria-required="true"
                on:input=move |ev| draft.update(|d| d.name = event_target_value(&ev))/>
            {error("name")}
            <label for="policy-description">"Description"</label>
            <textarea id="policy-description" rows="3"
                on:input=move |ev| draft.update(|d| d.description = event_target_value(&ev))>{initial.description}</textarea>
            {error("description")}
        </section>
    }
}

#[component]
fn AssignmentsStep(
    draft: RwSignal<PolicyDraft>,
    errors: Memo<BTreeMap<String, Vec<String>>>,
    groups: RwSignal<Option<Vec<GroupSummary>>>,
) -> impl IntoView {
    let toggle = move |exclude: bool, group_id: String, on: bool| {
        draft.update(|d| {
            let (list, other) = if exclude {
                (&mut d.assignments.exclude, &mut d.assignments.include)
            } else {
                (&mut d.assignments.include, &mut d.assignments.exclude)
            };
            list.retain(|t| t.group_id != group_id);
            if on {
                other.retain(|t| t.group_id != group_id);
                list.push(AssignmentTarget::group(group_id));
            }
        });
    };
    let is_in = move |exclude: bool, group_id: String| {
        move || {
            draft.with(|d| {
                let list = if exclude { &d.assignments.exclude } else { &d.assignments.include };
                list.iter().any(|t| t.group_id == group_id)
            })
        }
    };
    let assignment_errors = move || {
        errors.with(|e| {
            e.iter().filter(|(k, _)| k.starts_with("assignments")).flat_map(|(_, m)| m.clone()).collect::<Vec<_>>()
        })
    };
    view! {
        <section class="card">
            <h2>"Assignments"</h2>
            <p class="muted">"Devices in an included group get the policy, unless they are also in an excluded group: exclusion wins."</p>
            {move || match groups.get() {
                None => view! { <p class="muted">"Loading groups…"</p> }.into_any(),
                Some(list) => view! {
                    <table class="grid" data-testid="assignment-groups">
                        <thead><tr><th scope="col">"Group"</th><th scope="col">"Devices"</th><th scope="col">"Include"</th><th scope="col">"Exclude"</th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|group| {
                                let (a, b, c, d) = (group.id.clone(), group.id.clone(), group.id.clone(), group.id.clone());
                                view! {
                                    <tr>
                                        <td>{group.name.clone()}</td>
                                        <td>{group.n_members}</td>
                                        <td><input type="checkbox" aria-label=format!("Include {}", group.name)
                                            prop:checked=is_in(false, a) on:change=move |ev| toggle(false, b.clone(), event_target_checked(&ev))/></td>
                                        <td><input type="checkbox" aria-label=format!("Exclude {}", group.name)
                                            prop:checked=is_in(true, c) on:change=move |ev| toggle(true, d.clone(), event_target_checked(&ev))/></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
            {move || {
                let problems = assignment_errors();
                (!problems.is_empty()).then(|| view! { <ul class="field-errors" role="alert">{problems.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}</ul> })
            }}
            <p class="help">"Assignment filters are not supported for Security Configuration Management profiles."</p>
        </section>
    }
}

#[component]
fn ReviewStep(
    draft: RwSignal<PolicyDraft>,
    groups: RwSignal<Option<Vec<GroupSummary>>>,
    violations: Memo<Vec<shared::Violation>>,
) -> impl IntoView {
    let group_name = move |id: &str| {
        groups
            .with(|g| g.as_ref().and_then(|g| g.iter().find(|g| g.id == id)).map(|g| g.name.clone()))
            .unwrap_or_else(|| id.to_owned())
    };
    view! {
        {move || {
            let d = draft.get();
            let problems = violations.get();
            view! {
                <section class="card">
                    <h2>"Basics"</h2>
                    <dl class="facts">
                        <dt>"Platform"</dt><dd>{PLATFORM}</dd>
                        <dt>"Profile"</dt><dd>{d.profile.label()}</dd>
                        <dt>"Name"</dt><dd data-testid="review-name">{d.name.clone()}</dd>
                        <dt>"Description"</dt><dd>{d.description.clone()}</dd>
                    </dl>
                </section>
                <section class="card">
                    <h2>{format!("Configuration settings ({})", d.settings.len())}</h2>
                    <dl class="facts" data-testid="review-settings">
                        {d.settings.iter().map(|s| view! { <dt>{definition_name(&s.id)}</dt><dd>{describe_value(&s.id, &s.value)}</dd> }).collect_view()}
                    </dl>
                </section>
                <section class="card">
                    <h2>"Assignments"</h2>
                    <dl class="facts">
                        <dt>"Included groups"</dt><dd>{d.assignments.included().map(group_name).collect::<Vec<_>>().join(", ")}</dd>
                        <dt>"Excluded groups"</dt><dd>{d.assignments.excluded().map(group_name).collect::<Vec<_>>().join(", ")}</dd>
                    </dl>
                </section>
                {(!problems.is_empty()).then(|| view! {
                    <div class="notice error" role="alert">
                        <p>{format!("{} problem(s) to fix before saving:", problems.len())}</p>
                        <ul>{problems.iter().map(|v| view! { <li>{format!("{}: {}", field_name(&d, &v.path), v.message)}</li> }).collect_view()}</ul>
                    </div>
                })}
            }
        }}
    }
}
