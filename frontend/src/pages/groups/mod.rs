//! The Groups list (with the form for a new group) and a group's page.

mod detail;
mod list;

pub use detail::GroupDetailPage;
pub use list::GroupsPage;
