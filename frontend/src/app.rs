//! Routes and the shell around every signed-in page: the top bar, the navigation and the sign-in guard.

use crate::api;
use crate::components::Can;
use crate::format;
use crate::pages::devices::{DeviceDetailPage, DevicesPage};
use crate::pages::groups::{GroupDetailPage, GroupsPage};
use crate::pages::login::LoginPage;
use crate::pages::policies::{
    EditPolicyPage, NewPolicyPage, PolicyDeviceReportPage, PolicyHistoryPage, PolicyListPage, PolicyPage,
    PolicyReportPage, PolicySettingsStatusPage, SettingDevicesPage,
};
use crate::pages::tenant::TenantPage;
use crate::router::{self, NavLink, Page, Params};
use crate::session::{provide_session, use_session};
use leptos::prelude::*;
use shared::access::Permission;

/// The admin center.
#[component]
pub fn App() -> impl IntoView {
    provide_session();
    router::start();
    let here = router::here();
    let route = Memo::new(move |_| here.with(|here| Page::of(&here.path)));
    // The shell stays while the admin moves between its pages; only the page inside it is built again.
    let frame = Memo::new(move |_| match route.with(|(page, _)| *page) {
        page @ (Page::Login | Page::NotFound) => page,
        _ => Page::Devices,
    });
    move || match frame.get() {
        Page::Login => view! { <LoginPage/> }.into_any(),
        Page::NotFound => view! { <NotFound/> }.into_any(),
        _ => view! { <Shell route/> }.into_any(),
    }
}

/// The page inside the shell.
fn page(page: Page) -> AnyView {
    match page {
        Page::Devices => view! { <DevicesPage/> }.into_any(),
        Page::Device => view! { <DeviceDetailPage/> }.into_any(),
        Page::Groups => view! { <GroupsPage/> }.into_any(),
        Page::Group => view! { <GroupDetailPage/> }.into_any(),
        Page::Policies => view! { <PolicyListPage/> }.into_any(),
        Page::NewPolicy => view! { <NewPolicyPage/> }.into_any(),
        Page::Policy => view! { <PolicyPage/> }.into_any(),
        Page::EditPolicy => view! { <EditPolicyPage/> }.into_any(),
        Page::PolicyHistory => view! { <PolicyHistoryPage/> }.into_any(),
        Page::PolicyReport => view! { <PolicyReportPage/> }.into_any(),
        Page::PolicyDeviceReport => view! { <PolicyDeviceReportPage/> }.into_any(),
        Page::PolicySettingsStatus => view! { <PolicySettingsStatusPage/> }.into_any(),
        Page::SettingDevices => view! { <SettingDevicesPage/> }.into_any(),
        Page::Tenant => view! { <TenantPage/> }.into_any(),
        Page::Users => view! { <crate::pages::users::UsersPage/> }.into_any(),
        Page::Audit => view! { <crate::pages::audit::AuditPage/> }.into_any(),
        Page::AuditEntry => view! { <crate::pages::audit::AuditEntryPage/> }.into_any(),
        Page::Conflicts => view! { <crate::pages::conflicts::ConflictsPage/> }.into_any(),
        Page::Login | Page::NotFound => ().into_any(),
    }
}

/// The frame of every signed-in page. Sends the admin to sign in when there is no session.
#[component]
fn Shell(route: Memo<(Page, Params)>) -> impl IntoView {
    let session = use_session();
    let offline_since = api::offline::provide();
    if session.0.get_untracked().is_none() {
        leptos::task::spawn_local(async move {
            match api::me().await {
                Ok(me) => session.0.set(Some(me)),
                // Refused: the API client ends the session (its copies deleted) and opens the sign-in page.
                Err(failure) if failure.is_unauthenticated() => {}
                // Unreachable, and nothing kept from an earlier visit.
                Err(_) => crate::session::to_sign_in(),
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
        leptos::task::spawn_local(async move {
            let _ = api::logout().await;
            crate::session::end(false);
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
                        <button class="button subtle" on:click=sign_out>"Sign out"</button>
                    })}
                </div>
            </header>
            <nav class="sidenav" aria-label="Main">
                <NavLink href="/devices">"Devices"</NavLink>
                <NavLink href="/groups">"Groups"</NavLink>
                <span class="nav-heading">"Endpoint security"</span>
                <NavLink href="/endpoint-security/antivirus">"Antivirus"</NavLink>
                <NavLink href="/endpoint-security/firewall">"Firewall"</NavLink>
                <NavLink href="/conflicts">"Conflicts"</NavLink>
                <span class="nav-heading">"Administration"</span>
                <Can permission=Permission::ViewTenant>
                    <NavLink href="/tenant">"Tenant administration"</NavLink>
                    <NavLink href="/users">"Users"</NavLink>
                </Can>
                <NavLink href="/audit">"Audit log"</NavLink>
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
                        {move || page(route.with(|(page, _)| *page))}
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
