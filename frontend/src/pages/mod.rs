//! One folder or file per screen.

pub mod audit;
pub mod conflicts;
pub mod devices;
pub mod groups;
pub mod login;
pub mod password;
pub mod policies;
pub mod tenant;
pub mod users;
