//! The sign-in form.

use crate::router::use_query_map;
use leptos::prelude::*;

use crate::api;
use crate::components::ErrorNotice;
use crate::session::use_session;

/// Signs an admin in, then goes back to where they were headed (only paths inside the app are followed).
#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let query = use_query_map();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<api::ApiFailure>);
    let busy = RwSignal::new(false);

    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        failure.set(None);
        let next = query
            .get_untracked()
            .get("next")
            .filter(|next| next.starts_with('/') && !next.starts_with("//"))
            .unwrap_or_else(|| "/devices".to_owned());
        leptos::task::spawn_local(async move {
            match api::login(username.get_untracked(), password.get_untracked()).await {
                Ok(me) => {
                    session.0.set(Some(me));
                    crate::router::replace(&next);
                }
                Err(error) => {
                    password.set(String::new());
                    failure.set(Some(error));
                }
            }
            busy.set(false);
        });
    };

    view! {
        <main class="standalone login">
            <form class="card login-card" on:submit=submit>
                <h1><span class="brand-mark" aria-hidden="true"></span>"Sign in to Rampart"</h1>
                <p class="muted">"Endpoint security configuration for your Windows fleet."</p>
                {move || failure.get().map(|failure| view! { <ErrorNotice failure/> })}
                <label for="username">"User name"</label>
                <input id="username" name="username" type="text" autocomplete="username" required autofocus
                    prop:value=move || username.get() on:input=move |ev| username.set(event_target_value(&ev))/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
                <button class="button primary" type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
        </main>
    }
}
