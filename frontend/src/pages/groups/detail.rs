//! A group: its members (and how each got there), the groups nested in it, its rule, and the changes an admin can
//! make: rename, change the rule, remove members, nest or un-nest groups, delete.

use crate::router::use_params_map;
use leptos::prelude::*;
use shared::api::{GroupDetail, GroupSummary, UpdateGroup};
use shared::groups::{GroupKind, Rule};

use crate::api::{self, ApiFailure, ApiResult};
use crate::components::{Confirm, ErrorNotice, RuleEditor};

/// The group page.
#[component]
pub fn GroupDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.get().get("id").unwrap_or_default());
    let group = RwSignal::new(None::<ApiResult<GroupDetail>>);
    let all_groups = RwSignal::new(Vec::<GroupSummary>::new());
    Effect::new(move |_| {
        let id = id.get();
        leptos::task::spawn_local(async move {
            group.set(Some(api::group(&id).await));
            if let Ok(groups) = api::groups().await {
                all_groups.set(groups);
            }
        });
    });
    view! {
        <p class="breadcrumb"><a href="/groups">"Groups"</a>" › group"</p>
        {move || match group.get() {
            None => view! { <p class="muted">"Loading group…"</p> }.into_any(),
            Some(Err(failure)) => view! { <ErrorNotice failure/> }.into_any(),
            Some(Ok(detail)) => view! { <GroupView detail group all_groups/> }.into_any(),
        }}
    }
}

#[component]
fn GroupView(
    detail: GroupDetail,
    group: RwSignal<Option<ApiResult<GroupDetail>>>,
    all_groups: RwSignal<Vec<GroupSummary>>,
) -> impl IntoView {
    let failure = RwSignal::new(None::<ApiFailure>);
    let summary = detail.summary.clone();
    let id = StoredValue::new(summary.id.clone());
    // Built-in groups cannot change, and only roles that manage endpoint security see the controls.
    let editable =
        !summary.built_in && crate::session::can(shared::access::Permission::ManageEndpointSecurity).get_untracked();
    let is_static = summary.kind == GroupKind::Static && editable;
    let apply = move |result: ApiResult<GroupDetail>| match result {
        Ok(detail) => {
            failure.set(None);
            group.set(Some(Ok(detail)));
        }
        Err(error) => failure.set(Some(error)),
    };

    let rule = RwSignal::new(summary.rule.clone().unwrap_or_default());
    let saved_rule = summary.rule.clone().unwrap_or_default();
    let save_rule = move |_| {
        let update = UpdateGroup { rule: Some(rule.get_untracked()), ..Default::default() };
        leptos::task::spawn_local(async move { apply(api::update_group(&id.get_value(), &update).await) });
    };
    let remove_member = move |device_id: String| {
        leptos::task::spawn_local(async move { apply(api::remove_members(&id.get_value(), vec![device_id]).await) });
    };
    let nest_choice = RwSignal::new(String::new());
    let nest = move |_| {
        let child = nest_choice.get_untracked();
        if child.is_empty() {
            return;
        }
        leptos::task::spawn_local(async move { apply(api::nest_group(&id.get_value(), child).await) });
    };
    let unnest = move |child: String| {
        leptos::task::spawn_local(async move { apply(api::unnest_group(&id.get_value(), &child).await) });
    };
    let confirming_delete = RwSignal::new(false);
    let delete = Callback::new(move |()| {
        leptos::task::spawn_local(async move {
            match api::delete_group(&id.get_value()).await {
                Ok(()) => crate::router::navigate("/groups"),
                Err(error) => failure.set(Some(error)),
            }
        });
    });

    let nested_ids: Vec<String> = detail.nested.iter().map(|g| g.id.clone()).collect();
    let kind_label = if summary.built_in {
        "Built-in group"
    } else if is_static {
        "Static group"
    } else {
        "Dynamic group"
    };
    let n_direct = detail.members.iter().filter(|m| m.direct).count();
    view! {
        <div class="page-head row">
            <div>
                <h1>{summary.name.clone()}</h1>
                <p class="muted">{kind_label} " · " {format!("{} devices ({} direct)", summary.n_members, n_direct)}
                    {(!summary.description.is_empty()).then(|| format!(" · {}", summary.description))}</p>
            </div>
            <Show when=move || editable>
                <button class="button danger" on:click=move |_| confirming_delete.set(true)>"Delete…"</button>
            </Show>
        </div>
        <Confirm open=confirming_delete action="Delete group" confirm=delete
            question=Signal::stored("Delete this group? Devices stay onboarded; groups nested in it are not deleted.".to_owned())/>
        {move || failure.get().map(|failure| view! { <ErrorNotice failure/> })}
        {(summary.kind == GroupKind::Dynamic && editable).then(|| view! {
            <section class="card form">
                <h2>"Rule"</h2>
                <RuleEditor rule/>
                <div class="actions">
                    <button class="button primary" on:click=save_rule
                        disabled=move || { let r = rule.get(); r == saved_rule || Rule::parse(&r, "rule").is_err() }>
                        "Save rule"
                    </button>
                </div>
            </section>
        })}
        {editable.then(|| {
            let nested_ids = nested_ids.clone();
            let candidates = move || -> Vec<GroupSummary> {
                all_groups
                    .get()
                    .into_iter()
                    .filter(|g| !g.built_in && g.id != id.get_value() && !nested_ids.contains(&g.id))
                    .collect()
            };
            view! {
                <section class="card">
                    <h2>"Nested groups"</h2>
                    <p class="muted">"Devices of nested groups are members of this group too."</p>
                    <ul class="plain-list" data-testid="nested-groups">
                        {detail.nested.iter().map(|nested| {
                            let child = nested.id.clone();
                            view! {
                                <li>
                                    <a href=format!("/groups/{}", nested.id)>{nested.name.clone()}</a>
                                    " "
                                    <button class="button subtle small" on:click=move |_| unnest(child.clone())>"Remove"</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    <div class="actions">
                        <label class="field inline">
                            <span>"Nest group"</span>
                            <select aria-label="Group to nest" on:change=move |ev| nest_choice.set(event_target_value(&ev))>
                                <option value="">"Choose a group…"</option>
                                {move || candidates().into_iter().map(|g| view! { <option value=g.id.clone()>{g.name}</option> }).collect_view()}
                            </select>
                        </label>
                        <button class="button subtle" on:click=nest>"Nest"</button>
                    </div>
                    {(!detail.nested_in.is_empty()).then(|| view! {
                        <p class="muted">"This group is nested in: "
                            {detail.nested_in.iter().map(|g| view! { <a href=format!("/groups/{}", g.id)>{g.name.clone()}</a>" " }).collect_view()}
                        </p>
                    })}
                </section>
            }
        })}
        <section class="card wide">
            <h2>"Members"</h2>
            {is_static.then(|| view! {
                <p class="muted">"Add devices from the " <a href="/devices">"Devices"</a> " page: select them, then choose this group."</p>
            })}
            <div class="table-wrap">
                <table class="grid" data-testid="group-members-table">
                    <thead><tr>
                        <th scope="col">"Name"</th><th scope="col">"OS"</th><th scope="col">"Managed by"</th>
                        <th scope="col">"Membership"</th><th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr></thead>
                    <tbody>
                        {detail.members.into_iter().map(|member| {
                            let device_id = member.id.clone();
                            let how = if member.direct { if is_static { "Direct" } else { "Rule" } } else { "Through a nested group" };
                            view! {
                                <tr>
                                    <td class="name"><a href=format!("/devices/{}", member.id)>{member.hostname}</a></td>
                                    <td>{member.os.label()}</td>
                                    <td>{member.managed_by.label()}</td>
                                    <td>{how}</td>
                                    <td>{(is_static && member.direct && editable).then(|| view! {
                                        <button class="button subtle small" on:click=move |_| remove_member(device_id.clone())>"Remove"</button>
                                    })}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <Show when=move || summary.n_members == 0>
                    <p class="empty">"No devices in this group yet."</p>
                </Show>
            </div>
        </section>
    }
}
