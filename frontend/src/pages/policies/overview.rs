//! A policy: its basics, configured settings, assignments, and the actions on it (edit, duplicate, delete, history).

use crate::router::use_params_map;
use leptos::prelude::*;
use shared::policy::{Policy, definition_name, describe_value};

use super::list_path;
use crate::api::{self, ApiFailure};
use crate::components::{Can, Confirm, ErrorNotice};
use crate::format;
use crate::load::Load;

/// The policy page.
#[component]
pub fn PolicyPage() -> impl IntoView {
    let params = use_params_map();
    let policy = Load::new(move || {
        let id = params.get().get("id").unwrap_or_default();
        async move { api::policy(&id).await }
    });
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading policy…"</p> }>
            {move || policy.get().map(|result| match result {
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                Ok(policy) => view! { <PolicyView policy/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn PolicyView(policy: Policy) -> impl IntoView {
    let failure = RwSignal::new(None::<ApiFailure>);
    let confirming = RwSignal::new(false);
    let id = StoredValue::new(policy.id.clone());
    let profile = policy.draft.profile;
    let duplicate = {
        move |_| {
            leptos::task::spawn_local(async move {
                match api::duplicate_policy(&id.get_value()).await {
                    Ok(copy) => crate::router::navigate(&format!("/policies/{}", copy.id)),
                    Err(error) => failure.set(Some(error)),
                }
            });
        }
    };
    let delete = Callback::new(move |()| {
        leptos::task::spawn_local(async move {
            match api::delete_policy(&id.get_value()).await {
                Ok(()) => crate::router::navigate(list_path(profile)),
                Err(error) => failure.set(Some(error)),
            }
        });
    });
    let draft = policy.draft;
    let groups = Load::new(api::groups);
    let names = move |ids: Vec<String>| {
        move || {
            let known = groups.get().and_then(Result::ok).unwrap_or_default();
            let names: Vec<String> = ids
                .iter()
                .map(|id| known.iter().find(|g| &g.id == id).map_or_else(|| id.clone(), |g| g.name.clone()))
                .collect();
            if names.is_empty() { "None".to_owned() } else { names.join(", ") }
        }
    };
    view! {
        <div class="page-head row">
            <div>
                <p class="breadcrumb"><a href=list_path(profile)>{format!("Endpoint security › {}", profile.policy_type())}</a></p>
                <h1>{draft.name.clone()}</h1>
                <p class="muted">{format!("{} · version {} · changed {} by {}", profile.label(), policy.version, format::date_time(policy.updated_at), policy.updated_by)}</p>
            </div>
            <div class="actions">
                <Can permission=shared::access::Permission::ManageEndpointSecurity>
                    <a class="button primary" href=format!("/policies/{}/edit", id.get_value())>"Edit"</a>
                    <button class="button subtle" on:click=duplicate>"Duplicate"</button>
                </Can>
                <a class="button subtle" href=format!("/policies/{}/history", policy.id)>"History"</a>
                <a class="button subtle" href=format!("/audit?object_type=policy&object_id={}", policy.id)>"Audit log"</a>
                <a class="button subtle" href=api::export_url(&policy.id) download="">"Export"</a>
                <Can permission=shared::access::Permission::ManageEndpointSecurity>
                    <button class="button danger" on:click=move |_| confirming.set(true)>"Delete…"</button>
                </Can>
            </div>
        </div>
        <Confirm open=confirming action="Delete policy" confirm=delete
            question=Signal::stored("Delete this policy and its history? Devices stop receiving it at their next check-in.".to_owned())/>
        {move || failure.get().map(|failure| view! { <ErrorNotice failure/> })}
        <super::report::DeviceStatusCard policy_id=policy.id.clone()/>
        <section class="card">
            <h2>"Basics"</h2>
            <dl class="facts">
                <dt>"Platform"</dt><dd>{shared::catalog::PLATFORM}</dd>
                <dt>"Profile"</dt><dd>{profile.label()}</dd>
                <dt>"Description"</dt><dd>{draft.description.clone()}</dd>
                <dt>"Included groups"</dt><dd data-testid="policy-included">{names(draft.assignments.included().map(str::to_owned).collect())}</dd>
                <dt>"Excluded groups"</dt><dd data-testid="policy-excluded">{names(draft.assignments.excluded().map(str::to_owned).collect())}</dd>
            </dl>
        </section>
        <section class="card">
            <h2>{format!("Configuration settings ({})", draft.settings.len())}</h2>
            <dl class="facts" data-testid="policy-settings">
                {draft.settings.iter().map(|s| view! { <dt>{definition_name(&s.id)}</dt><dd>{describe_value(&s.id, &s.value)}</dd> }).collect_view()}
            </dl>
        </section>
    }
}
