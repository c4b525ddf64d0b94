//! Replacing one's password: required after signing in with an invitation's one-time password.

use leptos::prelude::*;
use shared::access::{ChangePassword, MIN_PASSWORD_CHARS};

use crate::api::{self, ApiFailure};
use crate::components::ErrorNotice;
use crate::session::use_session;

/// The form; on success the session no longer asks for it.
#[component]
pub fn ChangePasswordForm() -> impl IntoView {
    let session = use_session();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<ApiFailure>);
    let busy = RwSignal::new(false);
    let mismatch = move || !repeat.get().is_empty() && repeat.get() != new.get();
    let too_short = move || !new.get().is_empty() && new.get().chars().count() < MIN_PASSWORD_CHARS;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if mismatch() || too_short() {
            return;
        }
        busy.set(true);
        let change = ChangePassword { current_password: current.get_untracked(), new_password: new.get_untracked() };
        leptos::task::spawn_local(async move {
            match api::change_password(&change).await {
                Ok(me) => session.0.set(Some(me)),
                Err(error) => failure.set(Some(error)),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="page-head">
            <h1>"Choose your password"</h1>
            <p class="muted">"You signed in with a one-time password. Choose your own to continue."</p>
        </div>
        {move || failure.get().map(|failure| view! { <ErrorNotice failure/> })}
        <form class="card form" on:submit=submit data-testid="change-password">
            <label>"One-time password"
                <input type="password" id="current-password" autocomplete="current-password" required
                    on:input=move |ev| current.set(event_target_value(&ev))/>
            </label>
            <label>{format!("New password (at least {MIN_PASSWORD_CHARS} characters)")}
                <input type="password" id="new-password" autocomplete="new-password" required
                    on:input=move |ev| new.set(event_target_value(&ev))/>
            </label>
            <Show when=too_short><p class="field-error">{format!("At least {MIN_PASSWORD_CHARS} characters.")}</p></Show>
            <label>"Repeat the new password"
                <input type="password" id="repeat-password" autocomplete="new-password" required
                    on:input=move |ev| repeat.set(event_target_value(&ev))/>
            </label>
            <Show when=mismatch><p class="field-error">"The two passwords differ."</p></Show>
            <div><button class="button primary" type="submit" disabled=move || busy.get()>"Save password"</button></div>
        </form>
    }
}
