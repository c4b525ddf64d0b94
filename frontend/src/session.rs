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
