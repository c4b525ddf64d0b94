//! The signed-in admin, shared through context, and the end of a session.

use std::cell::Cell;

use leptos::prelude::*;
use shared::api::Me;

/// `None` until the session is known, then the admin (or `None` again after signing out).
#[derive(Debug, Clone, Copy)]
pub struct Session(pub RwSignal<Option<Me>>);

thread_local! {
    /// The session, for the API client, which has no reactive context when an answer arrives.
    static CURRENT: Cell<Option<Session>> = const { Cell::new(None) };
    /// Whether a session is ending (several loads can be refused at once).
    static ENDING: Cell<bool> = const { Cell::new(false) };
}

/// Provides an empty session; call once at the top of the app.
pub fn provide_session() {
    let session = Session(RwSignal::new(None));
    CURRENT.with(|current| current.set(Some(session)));
    provide_context(session);
}

/// The session.
pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// Whether the signed-in user's role allows `permission` (false while the session is unknown).
pub fn can(permission: shared::access::Permission) -> Signal<bool> {
    let session = use_session();
    Signal::derive(move || session.0.get().is_some_and(|me| me.can(permission)))
}

/// The sign-in page's address, `next` naming the current page to come back to after signing in; `None` on the
/// sign-in page itself.
fn sign_in_address(next: bool) -> Option<String> {
    let here = crate::router::here().with_untracked(|here| {
        if here.search.is_empty() { here.path.clone() } else { format!("{}?{}", here.path, here.search) }
    });
    if here.starts_with("/login") {
        None
    } else if next && !here.is_empty() && here != "/" {
        Some(format!("/login?next={}", shared::query::percent_encode(&here)))
    } else {
        Some("/login".to_owned())
    }
}

/// Opens the sign-in page; the admin comes back to this page after signing in.
pub fn to_sign_in() {
    if let Some(to) = sign_in_address(true) {
        crate::router::replace(&to);
    }
}

/// The session is over: the admin signed out (`expired` false), or the server refused it (it expired or was ended
/// elsewhere; after signing in again the admin comes back to this page). The copies of tenant data the admin center
/// keeps in the browser are deleted first, then the sign-in page shows.
pub fn end(expired: bool) {
    if ENDING.with(|ending| ending.replace(true)) {
        return;
    }
    let to = sign_in_address(expired);
    leptos::task::spawn_local(async move {
        crate::api::offline::forget().await;
        if let Some(session) = CURRENT.with(Cell::get) {
            session.0.set(None);
        }
        if let Some(to) = to {
            crate::router::replace(&to);
        }
        ENDING.with(|ending| ending.set(false));
    });
}
