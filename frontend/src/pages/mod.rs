//! One folder or file per screen.

pub mod devices;
pub mod groups;
pub mod login;
pub mod policies;
pub mod tenant;
