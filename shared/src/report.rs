//! What a device reports after it applied its policies: per policy and per setting a status, and the resulting
//! local preferences (the `Get-MpPreference` view). [`device_report`] computes it from the policies the device
//! received, with the conflict rules of [`crate::conflict`], so the agent and any preview agree by construction.

use std::collections::BTreeMap;

use serde::Serialize;
use shared_derive::CompactDeserialize;

use crate::catalog::{SettingValue, definition, firewall};
use crate::conflict::{Resolution, SettingStatus, resolve};
use crate::device::OsProduct;
use crate::policy::{Policy, definition_name, describe_value};

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SettingResult {
    /// The setting.
    pub setting_id: String,
    /// Its status.
    pub state: SettingState,
    /// For an error, the code the device gave (e.g. `0x87D1FDE8`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    /// Why: for a conflict the other policies and the value that took effect, for an error the device's message, for
    /// a setting the OS does not support the catalog's reason.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl SettingResult {
    fn new(setting_id: String, state: SettingState, detail: String) -> Self {
        Self { setting_id, state, code: String::new(), detail }
    }
}

/// One policy's results on a device, for the version the device applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeviceReport {
    /// The policy set the report is for (the hash of the check-in answer).
    pub policies_hash: String,
    /// One entry per policy the device received.
    pub policies: Vec<PolicyResult>,
    /// Preference name (the CSP node's last segment, e.g. `AllowRealtimeMonitoring`) → the value in words.
    pub preferences: BTreeMap<String, String>,
}

/// The code a device gives when it refuses to apply a value: Intune's "remediation failed" (`0x87D1FDE8`, in decimal
/// -2016281112).
pub const REMEDIATION_FAILED: &str = "0x87D1FDE8";

const NETWORK_PROTECTION: &str = "device_vendor_msft_policy_config_defender_enablenetworkprotection";
const NETWORK_PROTECTION_DOWN_LEVEL: &str = "device_vendor_msft_defender_configuration_allownetworkprotectiondownlevel";

/// Why a device running `os` refuses the value `policy` gives setting `id`, when the catalog supports the setting on
/// that OS but not this value there:
/// - network protection (block or audit mode) on Windows Server 2012 R2, 2016 and 2019 runs only when *Allow Network
///   Protection Down Level* is enabled in the device's effective configuration;
/// - a firewall rule using a remote-address keyword from Windows 1809 cannot be created on Server 2012 R2 or 2016.
pub fn refusal(id: &str, value: &SettingValue, resolution: &Resolution, os: OsProduct) -> Option<String> {
    match (id, value) {
        (NETWORK_PROTECTION, _) => {
            let down_level = matches!(
                os,
                OsProduct::WindowsServer2012R2 | OsProduct::WindowsServer2016 | OsProduct::WindowsServer2019
            );
            let effective = resolution.setting(id).map(|outcome| &outcome.effective);
            let enabled = matches!(effective, Some(SettingValue::Choice(choice)) if choice != "0");
            let allowed = matches!(
                resolution.setting(NETWORK_PROTECTION_DOWN_LEVEL).map(|outcome| &outcome.effective),
                Some(SettingValue::Choice(choice)) if choice == "1"
            );
            (down_level && enabled && !allowed).then(|| {
                format!(
                    "{os} runs network protection only when Allow Network Protection Down Level is enabled; no \
                     policy that applies to this device enables it."
                )
            })
        }
        (firewall::RULES_ID, SettingValue::FirewallRules(rules)) => rules.iter().find_map(|rule| {
            rule.unsupported_reason(os).map(|reason| format!("The rule \"{}\" was refused. {reason}", rule.name))
        }),
        _ => None,
    }
}

/// What a device with `os` reports after applying `policies`: settings its OS does not support are Not applicable
/// with the catalog's reason; values the OS refuses (see [`refusal`]) are Error with [`REMEDIATION_FAILED`]; every
/// other setting is Succeeded or, where policies disagree, Conflict naming the other policies and the value that
/// took effect.
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
                    return SettingResult::new(id, SettingState::NotApplicable, reason.to_owned());
                }
                if let Some(message) = refusal(&id, &configured.value, &resolution, os) {
                    return SettingResult {
                        code: REMEDIATION_FAILED.to_owned(),
                        ..SettingResult::new(id, SettingState::Error, message)
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
                        SettingResult::new(id, SettingState::Conflict, bounded(detail, MAX_DETAIL_CHARS))
                    }
                    _ => SettingResult::new(id, SettingState::Succeeded, String::new()),
                }
            })
            .collect();
        results.push(PolicyResult { policy_id: policy.id.clone(), version: policy.version, settings });
    }
    let preferences = resolution
        .settings
        .iter()
        .filter(|outcome| definition(&outcome.setting_id).and_then(|d| d.unsupported_reason(os)).is_none())
        .filter(|outcome| refusal(&outcome.setting_id, &outcome.effective, &resolution, os).is_none())
        .map(|outcome| {
            let name = definition(&outcome.setting_id)
                .and_then(|d| d.csp_uri.rsplit('/').find(|segment| !segment.is_empty()))
                .unwrap_or(&outcome.setting_id)
                .to_owned();
            (name, bounded(describe_value(&outcome.setting_id, &outcome.effective), MAX_PREFERENCE_VALUE_CHARS))
        })
        .collect();
    DeviceReport { policies_hash: policies_hash.to_owned(), policies: results, preferences }
}

/// The longest `policies_hash` a report may carry.
pub const MAX_HASH_CHARS: usize = 128;
/// The longest setting id in a report.
pub const MAX_SETTING_ID_CHARS: usize = 256;
/// The longest error code.
pub const MAX_CODE_CHARS: usize = 64;
/// The longest detail of one setting's result.
pub const MAX_DETAIL_CHARS: usize = 4_096;
/// The most setting results one report may carry, over all its policies.
pub const MAX_REPORTED_SETTINGS: usize = 20_000;
/// The most local preferences one report may carry.
pub const MAX_PREFERENCES: usize = 2_000;
/// The longest preference name.
pub const MAX_PREFERENCE_NAME_CHARS: usize = 128;
/// The longest preference value.
pub const MAX_PREFERENCE_VALUE_CHARS: usize = 16_384;

/// `text`, cut to at most `max` characters (the last one an ellipsis when cut).
fn bounded(text: String, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((end, _)) if text.chars().count() > max => format!("{}…", &text[..end]),
        _ => text,
    }
}

impl DeviceReport {
    /// Every string and list of the report over its bound, by path: what a device sends is stored, so nothing in it
    /// may be unbounded.
    pub fn bound_violations(&self) -> Vec<crate::Violation> {
        let mut violations = Vec::new();
        let mut too_long = |path: String, text: &str, max: usize| {
            if text.chars().count() > max {
                violations.push(crate::Violation::new(path, format!("must be at most {max} characters")));
            }
        };
        too_long("policies_hash".to_owned(), &self.policies_hash, MAX_HASH_CHARS);
        for (i, policy) in self.policies.iter().enumerate() {
            too_long(format!("policies[{i}].policy_id"), &policy.policy_id, MAX_SETTING_ID_CHARS);
            for (j, setting) in policy.settings.iter().enumerate() {
                let path = |field: &str| format!("policies[{i}].settings[{j}].{field}");
                too_long(path("setting_id"), &setting.setting_id, MAX_SETTING_ID_CHARS);
                too_long(path("code"), &setting.code, MAX_CODE_CHARS);
                too_long(path("detail"), &setting.detail, MAX_DETAIL_CHARS);
            }
        }
        for (name, value) in &self.preferences {
            let path = format!("preferences.{}", bounded(name.clone(), 32));
            too_long(path.clone(), name, MAX_PREFERENCE_NAME_CHARS);
            too_long(path, value, MAX_PREFERENCE_VALUE_CHARS);
        }
        let n_settings: usize = self.policies.iter().map(|policy| policy.settings.len()).sum();
        if n_settings > MAX_REPORTED_SETTINGS {
            violations.push(crate::Violation::new(
                "policies",
                format!("must hold at most {MAX_REPORTED_SETTINGS} setting results in all (it has {n_settings})"),
            ));
        }
        if self.preferences.len() > MAX_PREFERENCES {
            violations.push(crate::Violation::new(
                "preferences",
                format!("must hold at most {MAX_PREFERENCES} entries (it has {})", self.preferences.len()),
            ));
        }
        violations
    }
}

/// Device counts by the state of one policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StatusCounts {
    /// Applied without conflict or error.
    pub succeeded: u64,
    /// At least one setting failed.
    pub error: u64,
    /// At least one setting conflicts with another policy.
    pub conflict: u64,
    /// The device cannot receive the policy.
    pub not_applicable: u64,
    /// The device has not reported the current version yet.
    pub pending: u64,
}

impl StatusCounts {
    /// Counts one more device in `state`.
    pub fn add(&mut self, state: PolicyState) {
        *self.slot(state) += 1;
    }

    /// The count for `state`.
    pub fn get(&self, state: PolicyState) -> u64 {
        match state {
            PolicyState::Succeeded => self.succeeded,
            PolicyState::Error => self.error,
            PolicyState::Conflict => self.conflict,
            PolicyState::NotApplicable => self.not_applicable,
            PolicyState::Pending => self.pending,
        }
    }

    /// Every device counted.
    pub fn total(&self) -> u64 {
        PolicyState::ALL.iter().map(|state| self.get(*state)).sum()
    }

    fn slot(&mut self, state: PolicyState) -> &mut u64 {
        match state {
            PolicyState::Succeeded => &mut self.succeeded,
            PolicyState::Error => &mut self.error,
            PolicyState::Conflict => &mut self.conflict,
            PolicyState::NotApplicable => &mut self.not_applicable,
            PolicyState::Pending => &mut self.pending,
        }
    }
}

impl FromIterator<PolicyState> for StatusCounts {
    fn from_iter<I: IntoIterator<Item = PolicyState>>(states: I) -> Self {
        let mut counts = Self::default();
        states.into_iter().for_each(|state| counts.add(state));
        counts
    }
}

/// The state of a policy at `current_version` on a device it targets: Not applicable when the device is not eligible;
/// else what the device reported for the current version; Pending until it has (DESIGN.md "Statuses").
pub fn targeted_state(current_version: u64, eligible: bool, reported: Option<(u64, PolicyState)>) -> PolicyState {
    match reported {
        _ if !eligible => PolicyState::NotApplicable,
        Some((version, state)) if version == current_version => state,
        _ => PolicyState::Pending,
    }
}

/// One setting of a policy with device counts by its state ("Per setting status").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SettingCounts {
    /// The setting.
    pub setting_id: String,
    /// Its display name.
    pub name: String,
    /// The value the policy gives it, in words.
    pub value: String,
    /// Devices that applied it.
    pub succeeded: u64,
    /// Devices that refused it.
    pub error: u64,
    /// Devices where another policy competes for it.
    pub conflict: u64,
    /// Devices whose OS does not support it.
    pub not_applicable: u64,
}

impl SettingCounts {
    /// The devices where the setting is in `state`.
    pub fn count(&self, state: SettingState) -> u64 {
        match state {
            SettingState::Succeeded => self.succeeded,
            SettingState::Error => self.error,
            SettingState::Conflict => self.conflict,
            SettingState::NotApplicable => self.not_applicable,
        }
    }

    /// The devices that reported the setting.
    pub fn total(&self) -> u64 {
        self.succeeded + self.error + self.conflict + self.not_applicable
    }
}

/// Whether a device whose last check-in was `last_check_in` has checked in since a policy changed at `changed_at`
/// (`None`: it never checked in). A check-in in the change's own second counts as after it.
pub fn checked_in_since_change(last_check_in: Option<i64>, changed_at: i64) -> Option<bool> {
    last_check_in.map(|at| at >= changed_at)
}

/// One setting's results counted by state: what the store keeps per policy and setting as reports arrive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettingTally {
    /// Applied.
    pub succeeded: i64,
    /// Refused.
    pub error: i64,
    /// Competed for.
    pub conflict: i64,
    /// Not supported.
    pub not_applicable: i64,
}

impl SettingTally {
    /// Adds `delta` results in `state` (a negative delta takes them away).
    pub fn add(&mut self, state: SettingState, delta: i64) {
        match state {
            SettingState::Succeeded => self.succeeded += delta,
            SettingState::Error => self.error += delta,
            SettingState::Conflict => self.conflict += delta,
            SettingState::NotApplicable => self.not_applicable += delta,
        }
    }

    /// Nothing counted.
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

/// Per setting of `policy`, the devices by state, from the tallies by setting id. Settings appear in the policy's
/// order, also when no device reported them yet; tallies of settings the policy no longer has are left out.
pub fn setting_counts_from(policy: &Policy, tallies: &BTreeMap<String, SettingTally>) -> Vec<SettingCounts> {
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    policy
        .draft
        .settings
        .iter()
        .map(|configured| {
            let tally = tallies.get(&configured.id).copied().unwrap_or_default();
            SettingCounts {
                setting_id: configured.id.clone(),
                name: definition_name(&configured.id),
                value: describe_value(&configured.id, &configured.value),
                succeeded: count(tally.succeeded),
                error: count(tally.error),
                conflict: count(tally.conflict),
                not_applicable: count(tally.not_applicable),
            }
        })
        .collect()
}

/// Per setting of `policy`, the devices by state, from the setting results of reports of the policy's current version
/// (one slice per device), computed from scratch: the reference the maintained tallies are checked against.
pub fn setting_counts<'a>(
    policy: &Policy,
    reports: impl IntoIterator<Item = &'a [SettingResult]>,
) -> Vec<SettingCounts> {
    let mut tallies: BTreeMap<String, SettingTally> = BTreeMap::new();
    for results in reports {
        for result in results {
            tallies.entry(result.setting_id.clone()).or_default().add(result.state, 1);
        }
    }
    setting_counts_from(policy, &tallies)
}

/// Another policy's value for a setting, on one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OtherPolicyValue {
    /// The policy.
    pub policy_id: String,
    /// Its name.
    pub policy_name: String,
    /// Its value, in words.
    pub value: String,
}

/// One setting of a policy on one device: what the policy asks, what the device reported, what took effect, and the
/// other policies that manage the same setting there (the source of a conflict).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SettingOnDevice {
    /// The setting.
    pub setting_id: String,
    /// Its display name.
    pub name: String,
    /// The policy's value, in words.
    pub value: String,
    /// What the device reported for the current version; `None` while pending.
    pub state: Option<SettingState>,
    /// The error code, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    /// The reported detail, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// The value in effect on the device with every policy that applies to it now, in words ("Not applied: …" when
    /// the device refused the setting or its OS does not support it).
    pub effective: String,
    /// The other policies that apply to the device and configure this setting, with their values.
    pub others: Vec<OtherPolicyValue>,
}

/// Every setting of `policy` on a device that `applicable` policies (including `policy`) apply to, with the device's
/// reported results for the current version (`None` while pending).
pub fn settings_on_device(
    policy: &Policy,
    applicable: &[&Policy],
    reported: Option<&[SettingResult]>,
) -> Vec<SettingOnDevice> {
    let resolution = resolve(applicable);
    policy
        .draft
        .settings
        .iter()
        .map(|configured| {
            let id = &configured.id;
            let result = reported.and_then(|results| results.iter().find(|r| &r.setting_id == id));
            let outcome = resolution.setting(id);
            SettingOnDevice {
                setting_id: id.clone(),
                name: definition_name(id),
                value: describe_value(id, &configured.value),
                state: result.map(|r| r.state),
                code: result.map(|r| r.code.clone()).unwrap_or_default(),
                detail: result.map(|r| r.detail.clone()).unwrap_or_default(),
                effective: match result.map(|r| r.state) {
                    Some(SettingState::Error) => "Not applied: the device refused it".to_owned(),
                    Some(SettingState::NotApplicable) => "Not applied: not supported on this OS".to_owned(),
                    _ => outcome.map_or_else(
                        || describe_value(id, &configured.value),
                        |outcome| describe_value(id, &outcome.effective),
                    ),
                },
                others: outcome
                    .map(|outcome| {
                        outcome
                            .other_sources(&policy.id)
                            .map(|source| OtherPolicyValue {
                                policy_id: source.policy_id.clone(),
                                policy_name: source.policy_name.clone(),
                                value: describe_value(id, &source.value),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// A CSV document (RFC 4180, CRLF line ends) from a header and rows; an empty header writes the rows only (a chunk
/// of a streamed export). Cells that a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, tab or carriage return) get a leading apostrophe, so an exported device name
/// cannot execute on the admin's machine.
pub fn csv<R, C>(header: &[&str], rows: R) -> String
where
    R: IntoIterator<Item = C>,
    C: IntoIterator<Item = String>,
{
    fn cell(out: &mut String, text: &str) {
        let guarded = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
        if guarded || text.contains([',', '"', '\n', '\r']) {
            out.push('"');
            if guarded {
                out.push('\'');
            }
            out.push_str(&text.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(text);
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = String>| {
        for (i, text) in cells.enumerate() {
            if i > 0 {
                out.push(',');
            }
            cell(&mut out, &text);
        }
        out.push_str("\r\n");
    };
    if !header.is_empty() {
        line(&mut header.iter().map(|h| (*h).to_owned()));
    }
    for row in rows {
        line(&mut row.into_iter());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_over_its_bounds_names_every_field() {
        let long = |n: usize| "x".repeat(n);
        let report = DeviceReport {
            policies_hash: long(MAX_HASH_CHARS + 1),
            policies: vec![PolicyResult {
                policy_id: "p".to_owned(),
                version: 1,
                settings: vec![SettingResult {
                    setting_id: "s".to_owned(),
                    state: SettingState::Error,
                    code: long(MAX_CODE_CHARS + 1),
                    detail: long(MAX_DETAIL_CHARS + 1),
                }],
            }],
            preferences: [(long(200), "v".to_owned()), ("Ok".to_owned(), long(MAX_PREFERENCE_VALUE_CHARS + 1))]
                .into_iter()
                .collect(),
        };
        let paths: Vec<String> = report.bound_violations().into_iter().map(|v| v.path).collect();
        assert_eq!(
            paths,
            [
                "policies_hash".to_owned(),
                "policies[0].settings[0].code".to_owned(),
                "policies[0].settings[0].detail".to_owned(),
                "preferences.Ok".to_owned(),
                format!("preferences.{}…", long(31)),
            ]
        );
        assert_eq!(bounded("abcdef".to_owned(), 4), "abc…");
        assert_eq!(bounded("abcd".to_owned(), 4), "abcd");
    }
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
            settings: states.iter().map(|state| SettingResult::new("s".into(), *state, String::new())).collect(),
        };
        use SettingState::*;
        assert_eq!(result(&[Succeeded, Conflict, Error]).state(), PolicyState::Error);
        assert_eq!(result(&[Succeeded, Conflict]).state(), PolicyState::Conflict);
        assert_eq!(result(&[Succeeded, NotApplicable]).state(), PolicyState::Succeeded);
        assert_eq!(result(&[NotApplicable]).state(), PolicyState::NotApplicable);
        assert_eq!(result(&[]).state(), PolicyState::Succeeded);
    }

    fn network_protection(id: &str, mode: &str, down_level: Option<&str>, updated_at: i64) -> Policy {
        let mut settings = vec![ConfiguredSetting::new(NETWORK_PROTECTION, SettingValue::Choice(mode.into()))];
        if let Some(value) = down_level {
            settings.push(ConfiguredSetting::new(NETWORK_PROTECTION_DOWN_LEVEL, SettingValue::Choice(value.into())));
        }
        let draft = PolicyDraft {
            profile: Profile::Antivirus,
            name: id.into(),
            description: String::new(),
            settings,
            assignments: Assignments::default(),
        };
        Policy::first_version(id.into(), draft, "admin", updated_at)
    }

    #[test]
    fn down_level_servers_refuse_network_protection_unless_down_level_is_allowed() {
        let block = network_protection("np", "1", None, 1);
        for os in [OsProduct::WindowsServer2012R2, OsProduct::WindowsServer2019] {
            let report = device_report("h", &[&block], os);
            let result = &report.policies[0].settings[0];
            assert_eq!((result.state, result.code.as_str()), (SettingState::Error, REMEDIATION_FAILED), "{os}");
            assert!(result.detail.contains("Allow Network Protection Down Level"), "{}", result.detail);
            assert_eq!(report.policies[0].state(), PolicyState::Error);
            assert!(!report.preferences.contains_key("EnableNetworkProtection"), "a refused value is not applied");
        }
        for os in [OsProduct::Windows11, OsProduct::WindowsServer2022] {
            assert_eq!(device_report("h", &[&block], os).policies[0].state(), PolicyState::Succeeded, "{os}");
        }
        // Down level allowed by another policy that applies to the device: accepted.
        let allow = network_protection("allow", "1", Some("1"), 2);
        let report = device_report("h", &[&block, &allow], OsProduct::WindowsServer2019);
        assert!(report.policies.iter().all(|p| p.state() == PolicyState::Succeeded), "{report:?}");
        // Disabled network protection is never refused.
        let off = network_protection("off", "0", None, 1);
        assert_eq!(
            device_report("h", &[&off], OsProduct::WindowsServer2012R2).policies[0].state(),
            PolicyState::Succeeded
        );
    }

    #[test]
    fn old_servers_refuse_firewall_rules_with_keywords_from_1809() {
        use crate::catalog::FirewallRule;
        let rule = FirewallRule { remote_addresses: vec!["Intranet".into()], ..FirewallRule::named("Intranet SMB") };
        let draft = PolicyDraft {
            profile: Profile::Firewall,
            name: "Rules".into(),
            description: String::new(),
            settings: vec![ConfiguredSetting::new(firewall::RULES_ID, SettingValue::FirewallRules(vec![rule]))],
            assignments: Assignments::default(),
        };
        let policy = Policy::first_version("fw".into(), draft, "admin", 1);
        let old = device_report("h", &[&policy], OsProduct::WindowsServer2012R2);
        assert_eq!(old.policies[0].settings[0].state, SettingState::Error);
        assert!(old.policies[0].settings[0].detail.contains("\"Intranet SMB\""));
        let new = device_report("h", &[&policy], OsProduct::WindowsServer2019);
        assert_eq!(new.policies[0].settings[0].state, SettingState::Succeeded);
    }

    #[test]
    fn targeted_devices_are_pending_until_they_report_the_current_version() {
        use PolicyState::*;
        assert_eq!(targeted_state(2, false, Some((2, Succeeded))), NotApplicable);
        assert_eq!(targeted_state(2, true, None), Pending);
        assert_eq!(targeted_state(2, true, Some((1, Succeeded))), Pending);
        assert_eq!(targeted_state(2, true, Some((2, Conflict))), Conflict);
        let counts: StatusCounts = [Succeeded, Succeeded, Error, Pending, NotApplicable].into_iter().collect();
        assert_eq!((counts.succeeded, counts.error, counts.pending, counts.not_applicable), (2, 1, 1, 1));
        assert_eq!((counts.conflict, counts.total()), (0, 5));
    }

    #[test]
    fn per_setting_counts_add_up_the_reports_in_policy_order() {
        let (a, b) = (policy("a", "Baseline", "4", 1), policy("b", "Strict", "6", 2));
        let alone = device_report("h", &[&a], OsProduct::Windows11);
        let together = device_report("h", &[&a, &b], OsProduct::Windows11);
        let counts = setting_counts(&a, [&alone.policies[0].settings[..], &together.policies[0].settings[..]]);
        assert_eq!(counts.iter().map(|c| c.setting_id.as_str()).collect::<Vec<_>>(), [REALTIME, CLOUD]);
        assert_eq!((counts[0].succeeded, counts[0].conflict), (2, 0));
        assert_eq!((counts[1].succeeded, counts[1].conflict), (1, 1));
        assert_eq!(counts[1].name, "Cloud Block Level");
        assert_eq!(setting_counts(&a, []).iter().map(|c| c.succeeded).sum::<u64>(), 0);
    }

    #[test]
    fn a_setting_on_a_device_names_the_other_policies_that_manage_it() {
        let (a, b) = (policy("a", "Baseline", "4", 1), policy("b", "Strict", "6", 2));
        let report = device_report("h", &[&a, &b], OsProduct::Windows11);
        let rows = settings_on_device(&a, &[&a, &b], Some(&report.policies[0].settings));
        let cloud = rows.iter().find(|row| row.setting_id == CLOUD).expect("listed");
        assert_eq!(cloud.state, Some(SettingState::Conflict));
        assert_eq!(cloud.effective, "Zero tolerance");
        assert_eq!(cloud.others.len(), 1);
        assert_eq!(
            (cloud.others[0].policy_name.as_str(), cloud.others[0].value.as_str()),
            ("Strict", "Zero tolerance")
        );
        let refused = network_protection("np", "1", None, 1);
        let report = device_report("h", &[&refused], OsProduct::WindowsServer2019);
        let rows = settings_on_device(&refused, &[&refused], Some(&report.policies[0].settings));
        assert_eq!(
            (rows[0].state, rows[0].effective.as_str()),
            (Some(SettingState::Error), "Not applied: the device refused it")
        );
        let pending = settings_on_device(&a, &[&a], None);
        assert!(pending.iter().all(|row| row.state.is_none() && row.others.is_empty()));
    }

    #[test]
    fn csv_quotes_what_needs_it_and_defuses_formulas() {
        let text = csv(
            &["Name", "Note"],
            [vec!["LAP-1".to_owned(), "a, \"b\"".to_owned()], vec!["=HYPERLINK(1)".to_owned(), "plain".to_owned()]],
        );
        assert_eq!(text, "Name,Note\r\nLAP-1,\"a, \"\"b\"\"\"\r\n\"'=HYPERLINK(1)\",plain\r\n");
    }
}
