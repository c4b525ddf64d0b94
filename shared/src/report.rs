//! What a device reports after it applied its policies: per policy and per setting a status, and the resulting
//! local preferences (the `Get-MpPreference` view). [`device_report`] computes it from the policies the device
//! received, with the conflict rules of [`crate::conflict`], so the agent and any preview agree by construction.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::definition;
use crate::conflict::{SettingStatus, resolve};
use crate::device::OsProduct;
use crate::policy::{Policy, describe_value};

string_enum! {
    /// The status of one setting of one policy on one device.
    pub enum SettingState {
        Succeeded = ("succeeded", "Succeeded"),
        Conflict = ("conflict", "Conflict"),
        Error = ("error", "Error"),
        NotApplicable = ("not_applicable", "Not applicable"),
    }
}

string_enum! {
    /// The status of one policy on one device.
    pub enum PolicyState {
        Succeeded = ("succeeded", "Succeeded"),
        Conflict = ("conflict", "Conflict"),
        Error = ("error", "Error"),
        NotApplicable = ("not_applicable", "Not applicable"),
        Pending = ("pending", "Pending"),
    }
}

/// One setting's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingResult {
    /// The setting.
    pub setting_id: String,
    /// Its status.
    pub state: SettingState,
    /// Why, for a conflict (the other policies and the value that took effect) or a setting the OS does not support.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// One policy's results on a device, for the version the device applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyResult {
    /// The policy.
    pub policy_id: String,
    /// The version applied; a report for an older version never replaces one for a newer.
    pub version: u64,
    /// Every configured setting of the policy.
    pub settings: Vec<SettingResult>,
}

impl PolicyResult {
    /// Error if any setting errored; else Conflict if any conflicted; else Succeeded (DESIGN.md "Statuses"). Settings
    /// the OS does not support do not fail the policy; when no setting applies at all, the policy is Not applicable.
    pub fn state(&self) -> PolicyState {
        let has = |state: SettingState| self.settings.iter().any(|s| s.state == state);
        if has(SettingState::Error) {
            PolicyState::Error
        } else if has(SettingState::Conflict) {
            PolicyState::Conflict
        } else if !self.settings.is_empty() && self.settings.iter().all(|s| s.state == SettingState::NotApplicable) {
            PolicyState::NotApplicable
        } else {
            PolicyState::Succeeded
        }
    }
}

/// A device's report: per policy results and the resulting local preferences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceReport {
    /// The policy set the report is for (the hash of the check-in answer).
    pub policies_hash: String,
    /// One entry per policy the device received.
    pub policies: Vec<PolicyResult>,
    /// Preference name (the CSP node's last segment, e.g. `AllowRealtimeMonitoring`) → the value in words.
    pub preferences: BTreeMap<String, String>,
}

/// What a device with `os` reports after applying `policies`: settings its OS does not support are Not applicable
/// with the catalog's reason; every other setting is Succeeded or, where policies disagree, Conflict naming the
/// other policies and the value that took effect.
pub fn device_report(policies_hash: &str, policies: &[&Policy], os: OsProduct) -> DeviceReport {
    let resolution = resolve(policies);
    let mut results = Vec::with_capacity(policies.len());
    for policy in policies {
        let settings = policy
            .draft
            .settings
            .iter()
            .map(|configured| {
                let id = configured.id.clone();
                if let Some(reason) = definition(&id).and_then(|d| d.unsupported_reason(os)) {
                    return SettingResult {
                        setting_id: id,
                        state: SettingState::NotApplicable,
                        detail: reason.to_owned(),
                    };
                }
                match resolution.setting(&id) {
                    Some(outcome) if outcome.status == SettingStatus::Conflict => {
                        let others: Vec<String> =
                            outcome.other_sources(&policy.id).map(|s| format!("\"{}\"", s.policy_name)).collect();
                        let detail = format!(
                            "Also configured by {}; {} took effect.",
                            others.join(", "),
                            describe_value(&id, &outcome.effective)
                        );
                        SettingResult { setting_id: id, state: SettingState::Conflict, detail }
                    }
                    _ => SettingResult { setting_id: id, state: SettingState::Succeeded, detail: String::new() },
                }
            })
            .collect();
        results.push(PolicyResult { policy_id: policy.id.clone(), version: policy.version, settings });
    }
    let preferences = resolution
        .settings
        .iter()
        .filter(|outcome| definition(&outcome.setting_id).and_then(|d| d.unsupported_reason(os)).is_none())
        .map(|outcome| {
            let name = definition(&outcome.setting_id)
                .and_then(|d| d.csp_uri.rsplit('/').find(|segment| !segment.is_empty()))
                .unwrap_or(&outcome.setting_id)
                .to_owned();
            (name, describe_value(&outcome.setting_id, &outcome.effective))
        })
        .collect();
    DeviceReport { policies_hash: policies_hash.to_owned(), policies: results, preferences }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ConfiguredSetting, Profile, SettingValue};
    use crate::policy::{Assignments, PolicyDraft};

    const CLOUD: &str = "device_vendor_msft_policy_config_defender_cloudblocklevel";
    const REALTIME: &str = "device_vendor_msft_policy_config_defender_allowrealtimemonitoring";

    fn policy(id: &str, name: &str, cloud: &str, updated_at: i64) -> Policy {
        let draft = PolicyDraft {
            profile: Profile::Antivirus,
            name: name.into(),
            description: String::new(),
            settings: vec![
                ConfiguredSetting::new(REALTIME, SettingValue::Choice("1".into())),
                ConfiguredSetting::new(CLOUD, SettingValue::Choice(cloud.into())),
            ],
            assignments: Assignments::default(),
        };
        Policy::first_version(id.into(), draft, "admin", updated_at)
    }

    #[test]
    fn a_conflict_is_reported_by_every_involved_policy_with_the_other_and_the_value_that_won() {
        let (a, b) = (policy("a", "Baseline", "4", 1), policy("b", "Strict", "6", 2));
        let report = device_report("hash", &[&a, &b], OsProduct::Windows11);
        for result in &report.policies {
            assert_eq!(result.state(), PolicyState::Conflict);
            let cloud = result.settings.iter().find(|s| s.setting_id == CLOUD).expect("reported");
            assert_eq!(cloud.state, SettingState::Conflict);
            assert!(cloud.detail.contains("Zero tolerance took effect"), "{}", cloud.detail);
            let realtime = result.settings.iter().find(|s| s.setting_id == REALTIME).expect("reported");
            assert_eq!(realtime.state, SettingState::Succeeded, "equal values are not a conflict");
        }
        assert!(report.policies[0].settings[1].detail.contains("\"Strict\""));
        assert_eq!(report.preferences.get("CloudBlockLevel").map(String::as_str), Some("Zero tolerance"));
        assert_eq!(report.preferences.get("AllowRealtimeMonitoring").map(String::as_str), Some("Allowed"));
    }

    #[test]
    fn a_single_policy_succeeds_and_its_version_is_reported() {
        let mut a = policy("a", "Baseline", "4", 1);
        a.version = 3;
        let report = device_report("h", &[&a], OsProduct::WindowsServer2022);
        assert_eq!(report.policies[0].version, 3);
        assert_eq!(report.policies[0].state(), PolicyState::Succeeded);
        assert_eq!(report.policies_hash, "h");
    }

    #[test]
    fn policy_state_follows_the_worst_setting() {
        let result = |states: &[SettingState]| PolicyResult {
            policy_id: "p".into(),
            version: 1,
            settings: states
                .iter()
                .map(|state| SettingResult { setting_id: "s".into(), state: *state, detail: String::new() })
                .collect(),
        };
        use SettingState::*;
        assert_eq!(result(&[Succeeded, Conflict, Error]).state(), PolicyState::Error);
        assert_eq!(result(&[Succeeded, Conflict]).state(), PolicyState::Conflict);
        assert_eq!(result(&[Succeeded, NotApplicable]).state(), PolicyState::Succeeded);
        assert_eq!(result(&[NotApplicable]).state(), PolicyState::NotApplicable);
        assert_eq!(result(&[]).state(), PolicyState::Succeeded);
    }
}
