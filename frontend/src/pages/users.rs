//! Users: every account with its role; Administrators invite users (a one-time password, shown once), change roles,
//! and disable or enable accounts.

use leptos::prelude::*;
use shared::access::{CreateUser, CreatedUser, Permission, Role, UpdateUser, UserSummary};

use crate::api::{self, ApiFailure};
use crate::components::{Can, ErrorNotice, NotAllowed};
use crate::format;
use crate::load::Load;
use crate::session::{can, use_session};

/// The Users page.
#[component]
pub fn UsersPage() -> impl IntoView {
    let allowed = can(Permission::ViewTenant);
    view! {
        <Show when=move || allowed.get() fallback=|| view! { <NotAllowed what="see users"/> }>
            <Users/>
        </Show>
    }
}

#[component]
fn Users() -> impl IntoView {
    let users = Load::new(api::users);
    let failure = RwSignal::new(None::<ApiFailure>);
    let created = RwSignal::new(None::<CreatedUser>);
    let manage = can(Permission::ManageUsers);
    let me = use_session();
    let update = move |username: String, change: UpdateUser| {
        leptos::task::spawn_local(async move {
            match api::update_user(&username, &change).await {
                Ok(_) => {
                    failure.set(None);
                    users.refetch();
                }
                Err(error) => failure.set(Some(error)),
            }
        });
    };
    view! {
        <div class="page-head">
            <p class="breadcrumb">"Administration"</p>
            <h1>"Users"</h1>
            <p class="muted">"Who can sign in to this admin center, and what their role lets them do."</p>
        </div>
        <Can permission=Permission::ManageUsers>
            <InviteUser created refresh=move || users.refetch()/>
        </Can>
        {move || created.get().map(|created| view! {
            <div class="notice success" role="status" data-testid="one-time-password">
                <p>{format!("{} can now sign in as {} with this one-time password, shown only now; they choose their own at first sign-in:", created.user.username, created.user.role.label())}</p>
                <p><code class="token">{created.one_time_password}</code></p>
            </div>
        })}
        {move || failure.get().map(|failure| view! { <ErrorNotice failure/> })}
        <Transition fallback=|| view! { <p class="muted">"Loading users…"</p> }>
            {move || users.get().map(|result| match result {
                Err(failure) => view! { <ErrorNotice failure/> }.into_any(),
                Ok(list) => {
                    let now = format::now();
                    view! {
                        <div class="table-wrap">
                            <table class="grid" data-testid="users-table">
                                <thead><tr><th scope="col">"User"</th><th scope="col">"Role"</th><th scope="col">"Status"</th><th scope="col">"Created"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|user: UserSummary| {
                                        let name = user.username.clone();
                                        let name_for_toggle = name.clone();
                                        let is_me = me.0.get_untracked().is_some_and(|me| me.username == user.username);
                                        view! {
                                            <tr data-user=user.username.clone()>
                                                <td class="name">{user.username.clone()}{is_me.then(|| view! { <span class="sub">" (you)"</span> })}</td>
                                                <td>{move || if manage.get() {
                                                    let name = name.clone();
                                                    view! {
                                                        <select aria-label=format!("Role of {name}") on:change=move |ev| {
                                                            if let Some(role) = Role::from_code(&event_target_value(&ev)) {
                                                                update(name.clone(), UpdateUser { role: Some(role), disabled: None });
                                                            }
                                                        }>
                                                            {Role::ALL.iter().map(|role| view! { <option value=role.code() selected=*role == user.role>{role.label()}</option> }).collect_view()}
                                                        </select>
                                                    }.into_any()
                                                } else {
                                                    view! { <span>{user.role.label()}</span> }.into_any()
                                                }}</td>
                                                <td>
                                                    {if user.disabled { view! { <span class="badge muted">"Disabled"</span> }.into_any() }
                                                     else if user.must_change_password { view! { <span class="badge state pending">"Invited"</span> }.into_any() }
                                                     else { view! { <span class="badge ok">"Active"</span> }.into_any() }}
                                                    <Can permission=Permission::ManageUsers>
                                                        {
                                                            let name = name_for_toggle.clone();
                                                            let disabled = user.disabled;
                                                            view! { " " <button class="button subtle small" on:click=move |_| update(name.clone(), UpdateUser { role: None, disabled: Some(!disabled) })>
                                                                {if disabled { "Enable" } else { "Disable" }}
                                                            </button> }
                                                        }
                                                    </Can>
                                                </td>
                                                <td class="when">{format::ago(user.created_at, now)}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                }
            })}
        </Transition>
        <section class="card">
            <h2>"Roles"</h2>
            <dl class="facts">
                {Role::ALL.iter().map(|role| view! {
                    <dt>{role.label()}</dt>
                    <dd>{role.permissions().iter().map(|p| p.label()).collect::<Vec<_>>().join("; ")}</dd>
                }).collect_view()}
            </dl>
        </section>
    }
}

#[component]
fn InviteUser(created: RwSignal<Option<CreatedUser>>, refresh: impl Fn() + Copy + 'static) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let role = RwSignal::new(Role::ReadOnlyOperator);
    let failure = RwSignal::new(None::<ApiFailure>);
    let problem = move || shared::access::validate_username(username.get().trim()).first().map(|v| v.message.clone());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let create = CreateUser { username: username.get_untracked().trim().to_owned(), role: role.get_untracked() };
        leptos::task::spawn_local(async move {
            match api::create_user(&create).await {
                Ok(user) => {
                    created.set(Some(user));
                    failure.set(None);
                    username.set(String::new());
                    refresh();
                }
                Err(error) => failure.set(Some(error)),
            }
        });
    };
    view! {
        <form class="card toolbar" on:submit=submit data-testid="invite-user">
            <label class="field">"User name"
                <input type="text" id="invite-username" prop:value=move || username.get()
                    on:input=move |ev| username.set(event_target_value(&ev))/>
            </label>
            <label class="field">"Role"
                <select id="invite-role" on:change=move |ev| if let Some(r) = Role::from_code(&event_target_value(&ev)) { role.set(r) }>
                    {Role::ALL.iter().map(|r| view! { <option value=r.code() selected=*r == Role::ReadOnlyOperator>{r.label()}</option> }).collect_view()}
                </select>
            </label>
            <button class="button primary" type="submit" disabled=move || username.get().trim().is_empty() || problem().is_some()>"Invite user"</button>
            {move || (!username.get().is_empty()).then(problem).flatten().map(|p| view! { <p class="field-error">{format!("User name {p}.")}</p> })}
            {move || failure.get().map(|failure| view! { <ErrorNotice failure/> })}
        </form>
    }
}
