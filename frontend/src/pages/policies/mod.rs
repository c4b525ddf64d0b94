//! Endpoint security policies: the list per type, the create/edit wizard, a policy's overview and its history.

mod history;
pub(crate) mod import;
mod list;
mod overview;
mod preview;
mod report;
mod rules_editor;
mod settings_form;
mod wizard;

pub use history::{PolicyHistoryPage, readable};
pub use list::PolicyListPage;
pub use overview::PolicyPage;
pub use report::{PolicyDeviceReportPage, PolicyReportPage, PolicySettingsStatusPage, SettingDevicesPage};
pub use wizard::{EditPolicyPage, NewPolicyPage};

use shared::catalog::Profile;

/// The list page of a profile's policy type.
pub fn list_path(profile: Profile) -> &'static str {
    match profile {
        Profile::Antivirus => "/endpoint-security/antivirus",
        Profile::Firewall => "/endpoint-security/firewall",
    }
}
