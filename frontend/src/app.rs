//! Routes and the shell around every signed-in page: the top bar, the navigation and the sign-in guard.

use leptos::prelude::*;
use leptos_router::components::{A, Outlet, ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::{NavigateOptions, path};

use crate::api;
use crate::components::Can;
use crate::format;
use crate::pages::devices::{DeviceDetailPage, DevicesPage};
use crate::pages::groups::{GroupDetailPage, GroupsPage};
use crate::pages::login::LoginPage;
use crate::pages::policies::{
    EditPolicyPage, NewPolicyPage, PolicyDeviceReportPage, PolicyHistoryPage, PolicyListPage, PolicyPage,
    PolicyReportPage, PolicySettingsStatusPage,
};
use crate::pages::tenant::TenantPage;
use crate::session::{provide_session, use_session};
use shared::access::Permission;

/// The admin center.
#[component]
pub fn App() -> impl IntoView {
    provide_session();
    view! {
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view=LoginPage/>
                <ParentRoute path=path!("") view=Shell>
                    <Route path=path!("") view=|| view! { <Redirect path="/devices"/> }/>
                    <Route path=path!("devices") view=DevicesPage/>
                    <Route path=path!("devices/:id") view=DeviceDetailPage/>
                    <Route path=path!("groups") view=GroupsPage/>
                    <Route path=path!("groups/:id") view=GroupDetailPage/>
                    <Route path=path!("endpoint-security/:kind") view=PolicyListPage/>
                    <Route path=path!("policies/new") view=NewPolicyPage/>
                    <Route path=path!("policies/:id") view=PolicyPage/>
                    <Route path=path!("policies/:id/edit") view=EditPolicyPage/>
                    <Route path=path!("policies/:id/history") view=PolicyHistoryPage/>
                    <Route path=path!("policies/:id/report") view=PolicyReportPage/>
                    <Route path=path!("policies/:id/report/:device") view=PolicyDeviceReportPage/>
                    <Route path=path!("policies/:id/settings-status") view=PolicySettingsStatusPage/>
                    <Route path=path!("tenant") view=TenantPage/>
                    <Route path=path!("users") view=crate::pages::users::UsersPage/>
                    <Route path=path!("audit") view=crate::pages::audit::AuditPage/>
                    <Route path=path!("conflicts") view=crate::pages::conflicts::ConflictsPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The frame of every signed-in page. Sends the admin to sign in when there is no session.
#[component]
fn Shell() -> impl IntoView {
    let session = use_session();
    let offline_since = api::offline::provide();
    let navigate = use_navigate();
    let location = use_location();
    let to_login = {
        let navigate = navigate.clone();
        move || {
            let here = format!("{}{}", location.pathname.get_untracked(), location.search.get_untracked());
            let next = if here.is_empty() || here == "/" {
                String::new()
            } else {
                format!("?next={}", shared::query::percent_encode(&here))
            };
            navigate(&format!("/login{next}"), NavigateOptions { replace: true, ..Default::default() });
        }
    };
    if session.0.get_untracked().is_none() {
        let to_login = to_login.clone();
        leptos::task::spawn_local(async move {
            match api::me().await {
                Ok(me) => session.0.set(Some(me)),
                Err(_) => to_login(),
            }
        });
    }
    // The offline copies of what the preview and the lists need are refreshed once signed in and every ten minutes
    // while online, so that the preview works offline even if the admin never opened it online.
    let refresh = move || {
        if session.0.get_untracked().is_some_and(|me| !me.must_change_password) {
            leptos::task::spawn_local(api::refresh_offline_copies());
        }
    };
    Effect::new(move |refreshed: Option<bool>| {
        let ready = session.0.with(|me| me.as_ref().is_some_and(|me| !me.must_change_password));
        if ready && refreshed != Some(true) {
            refresh();
        }
        ready || refreshed == Some(true)
    });
    if let Ok(interval) = set_interval_with_handle(refresh, std::time::Duration::from_secs(600)) {
        on_cleanup(move || interval.clear());
    }
    let sign_out = move |_| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let _ = api::logout().await;
            api::offline::forget();
            session.0.set(None);
            navigate("/login", NavigateOptions { replace: true, ..Default::default() });
        });
    };
    view! {
        <div class="shell">
            <header class="topbar">
                <a class="brand" href="/devices">
                    <span class="brand-mark" aria-hidden="true"></span>
                    "Rampart"
                    <span class="brand-sub">"admin center"</span>
                </a>
                <div class="topbar-user">
                    {move || session.0.get().map(|me| view! {
                        <span class="username" data-testid="signed-in-user">{me.username}</span>
                        <span class="role" data-testid="signed-in-role">{me.role.label()}</span>
                        <button class="button subtle" on:click=sign_out.clone()>"Sign out"</button>
                    })}
                </div>
            </header>
            <nav class="sidenav" aria-label="Main">
                <A href="/devices">"Devices"</A>
                <A href="/groups">"Groups"</A>
                <span class="nav-heading">"Endpoint security"</span>
                <A href="/endpoint-security/antivirus">"Antivirus"</A>
                <A href="/endpoint-security/firewall">"Firewall"</A>
                <A href="/conflicts">"Conflicts"</A>
                <span class="nav-heading">"Administration"</span>
                <Can permission=Permission::ViewTenant>
                    <A href="/tenant">"Tenant administration"</A>
                    <A href="/users">"Users"</A>
                </Can>
                <A href="/audit">"Audit log"</A>
            </nav>
            <main class="content">
                {move || offline_since.get().map(|_| view! {
                    <div class="notice warning offline" role="status" data-testid="offline-banner">
                        <p><strong>"Offline: the server cannot be reached."</strong>
                            {format!(" Pages show the data as of {}. The preview works; saving waits for the connection.",
                                api::offline::saved_at().map_or_else(|| "the last visit".to_owned(), format::date_time))}</p>
                    </div>
                })}
                <Show when=move || session.0.get().is_some() fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    <Show
                        when=move || session.0.get().is_some_and(|me| !me.must_change_password)
                        fallback=|| view! { <crate::pages::password::ChangePasswordForm/> }
                    >
                        <Outlet/>
                    </Show>
                </Show>
            </main>
        </div>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <main class="standalone">
            <h1>"Page not found"</h1>
            <p><a href="/devices">"Go to Devices"</a></p>
        </main>
    }
}
