//! Every group, and the form that creates one: static (members added later) or dynamic (a rule, previewed live).

use leptos::prelude::*;
use shared::api::CreateGroup;
use shared::groups::{GroupKind, Rule, validate_group_text};

use crate::api;
use crate::components::{Can, ErrorNotice, RuleEditor};
use crate::load::Load;

/// The Groups page.
#[component]
pub fn GroupsPage() -> impl IntoView {
    let groups = Load::new(api::groups);
    let creating = RwSignal::new(false);
    view! {
        <div class="page-head row">
            <div>
                <h1>"Groups"</h1>
                <p class="muted">"Policies are assigned to groups of devices. Static groups list their devices; dynamic groups follow a rule; groups can contain groups."</p>
            </div>
            <Can permission=shared::access::Permission::ManageEndpointSecurity>
                <button class="button primary" on:click=move |_| creating.set(true) disabled=move || creating.get()>"New group"</button>
            </Can>
        </div>
        <Show when=move || creating.get()>
            <NewGroupForm cancel=move || creating.set(false)/>
        </Show>
        <Transition fallback=|| view! { <p class="muted">"Loading groups…"</p> }>
            {move || groups.get().map(|result| match result {
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                Ok(groups) => view! {
                    <div class="table-wrap">
                        <table class="grid" data-testid="groups-table">
                            <thead><tr>
                                <th scope="col">"Name"</th><th scope="col">"Type"</th><th scope="col">"Devices"</th>
                                <th scope="col">"Nested groups"</th><th scope="col">"Rule or description"</th>
                            </tr></thead>
                            <tbody>
                                {groups.into_iter().map(|group| {
                                    let kind = if group.built_in { "Built in" } else { group.kind.label() };
                                    let about = group.rule.clone().unwrap_or_else(|| group.description.clone());
                                    view! {
                                        <tr>
                                            <td class="name"><a href=format!("/groups/{}", group.id)>{group.name}</a></td>
                                            <td>{kind}</td>
                                            <td data-testid="group-members">{group.n_members}</td>
                                            <td>{group.n_nested}</td>
                                            <td class="about"><code class="plain">{about}</code></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
            })}
        </Transition>
    }
}

/// The form for a new group. The Create button stays disabled, saying why, until the input is valid.
#[component]
fn NewGroupForm(cancel: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let kind = RwSignal::new(GroupKind::Static);
    let rule = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<api::ApiFailure>);
    let busy = RwSignal::new(false);
    let blocker = Memo::new(move |_| {
        if let Some(problem) = validate_group_text(&name.get(), &description.get()).first() {
            return Some(format!("The {} {}.", problem.path, problem.message));
        }
        (kind.get() == GroupKind::Dynamic && Rule::parse(&rule.get(), "rule").is_err())
            .then(|| "The rule is not valid yet.".to_owned())
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if blocker.get_untracked().is_some() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        let create = CreateGroup {
            name: name.get_untracked(),
            description: description.get_untracked(),
            kind: kind.get_untracked(),
            rule: (kind.get_untracked() == GroupKind::Dynamic).then(|| rule.get_untracked()),
        };
        leptos::task::spawn_local(async move {
            match api::create_group(&create).await {
                Ok(group) => crate::router::navigate(&format!("/groups/{}", group.summary.id)),
                Err(error) => failure.set(Some(error)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="card form" on:submit=submit aria-label="New group">
            <h2>"New group"</h2>
            {move || failure.get().map(|failure| view! { <ErrorNotice failure/> })}
            <label for="group-name">"Name"</label>
            <input id="group-name" type="text" required prop:value=move || name.get()
                on:input=move |ev| name.set(event_target_value(&ev))/>
            <label for="group-description">"Description"</label>
            <input id="group-description" type="text" prop:value=move || description.get()
                on:input=move |ev| description.set(event_target_value(&ev))/>
            <fieldset class="radios">
                <legend>"Membership"</legend>
                <label class="check">
                    <input type="radio" name="kind" value="static" prop:checked=move || kind.get() == GroupKind::Static
                        on:change=move |_| kind.set(GroupKind::Static)/>
                    "Static: I choose the devices"
                </label>
                <label class="check">
                    <input type="radio" name="kind" value="dynamic" prop:checked=move || kind.get() == GroupKind::Dynamic
                        on:change=move |_| kind.set(GroupKind::Dynamic)/>
                    "Dynamic: devices matching a rule"
                </label>
            </fieldset>
            <Show when=move || kind.get() == GroupKind::Dynamic>
                <RuleEditor rule/>
            </Show>
            <div class="actions">
                <button class="button primary" type="submit" disabled=move || blocker.get().is_some() || busy.get()>"Create"</button>
                <button class="button subtle" type="button" on:click=move |_| cancel()>"Cancel"</button>
                <span class="muted" data-testid="create-blocker">{move || blocker.get()}</span>
            </div>
        </form>
    }
}
