//! The signed-in admin, shared through context.

use leptos::prelude::*;
use shared::api::Me;

/// `None` until the session is known, then the admin (or `None` again after signing out).
#[derive(Debug, Clone, Copy)]
pub struct Session(pub RwSignal<Option<Me>>);

/// Provides an empty session; call once at the top of the app.
pub fn provide_session() {
    provide_context(Session(RwSignal::new(None)));
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
