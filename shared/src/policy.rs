//! Policies: what an admin writes (name, description, configured settings of one profile, assignments) and the
//! one function that checks it, called by the policy wizard as the admin types and by the server before every write.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use shared_derive::CompactDeserialize;

use crate::api::UnixSeconds;
use crate::catalog::{
    ConfiguredSetting, Parent, Profile, SettingValue, definition, validate_policy_text, validate_settings,
};
use crate::error::Violation;

/// The message for any assignment filter: the profiles Rampart manages do not support them.
pub const FILTERS_NOT_SUPPORTED: &str =
    "Assignment filters are not supported for Security Configuration Management profiles";

/// The platform every policy targets.
pub const PLATFORM: &str = crate::catalog::PLATFORM;

/// One group a policy is assigned to (included or excluded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AssignmentTarget {
    /// The group's id (`all-devices` for *All devices*).
    pub group_id: String,
    /// An assignment filter. Accepted only so that it can be refused with the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<serde_json::Value>,
}

impl AssignmentTarget {
    /// A target without a filter.
    pub fn group(group_id: impl Into<String>) -> Self {
        Self { group_id: group_id.into(), filter: None }
    }
}

/// Who gets a policy: members of an included group, unless they are in an excluded group (exclusion wins).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Assignments {
    /// Included groups.
    #[serde(default)]
    pub include: Vec<AssignmentTarget>,
    /// Excluded groups.
    #[serde(default)]
    pub exclude: Vec<AssignmentTarget>,
}

impl Assignments {
    /// Ids of the included groups.
    pub fn included(&self) -> impl Iterator<Item = &str> {
        self.include.iter().map(|t| t.group_id.as_str())
    }

    /// Ids of the excluded groups.
    pub fn excluded(&self) -> impl Iterator<Item = &str> {
        self.exclude.iter().map(|t| t.group_id.as_str())
    }
}

/// What an admin writes: the body of create and update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PolicyDraft {
    /// The profile (and with it the policy type: Antivirus or Firewall).
    pub profile: Profile,
    /// Name, unique among policies.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// The configured settings; anything not here is left to the device.
    #[serde(default)]
    pub settings: Vec<ConfiguredSetting>,
    /// Included and excluded groups.
    #[serde(default)]
    pub assignments: Assignments,
}

/// Checks a draft; returns every problem with the path of its field. `group_exists` says whether a group id is
/// known (the server asks its store; the browser its snapshot).
pub fn validate_policy(draft: &PolicyDraft, group_exists: impl Fn(&str) -> bool) -> Vec<Violation> {
    let mut violations = validate_policy_text(&draft.name, &draft.description);
    violations.extend(validate_settings(draft.profile, &draft.settings));
    violations.extend(validate_assignments(&draft.assignments, group_exists));
    violations
}

/// Checks assignments: known groups, no filters, no group twice, no group both included and excluded.
pub fn validate_assignments(assignments: &Assignments, group_exists: impl Fn(&str) -> bool) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut seen = BTreeSet::new();
    for (list, targets) in [("include", &assignments.include), ("exclude", &assignments.exclude)] {
        for (i, target) in targets.iter().enumerate() {
            let path = format!("assignments.{list}[{i}]");
            if target.filter.is_some() {
                violations.push(Violation::new(format!("{path}.filter"), FILTERS_NOT_SUPPORTED));
            }
            if !group_exists(&target.group_id) {
                violations.push(Violation::new(
                    format!("{path}.group_id"),
                    format!("no group has the id {:?}", target.group_id),
                ));
            } else if !seen.insert(target.group_id.as_str()) {
                let message = if list == "exclude" && assignments.included().any(|id| id == target.group_id) {
                    "this group is also included; a group is either included or excluded"
                } else {
                    "this group is listed twice"
                };
                violations.push(Violation::new(format!("{path}.group_id"), message));
            }
        }
    }
    violations
}

/// Configures (`Some`) or unconfigures (`None`) a top-level setting in a draft, keeping the settings in catalog
/// order and dropping children whose parent no longer has the option that enables them (as the wizard hides them).
pub fn set_setting(draft: &mut PolicyDraft, id: &str, value: Option<SettingValue>) {
    draft.settings.retain(|setting| setting.id != id);
    if let Some(value) = value {
        draft.settings.push(ConfiguredSetting::new(id, value));
    }
    loop {
        let before = draft.settings.len();
        let snapshot = draft.settings.clone();
        draft.settings.retain(|setting| match definition(&setting.id).and_then(|d| d.parent) {
            Some(Parent::Option { id: parent, option }) => snapshot
                .iter()
                .any(|p| p.id == parent && matches!(&p.value, SettingValue::Choice(chosen) if chosen == option)),
            _ => true,
        });
        if draft.settings.len() == before {
            break;
        }
    }
    let order: Vec<&str> = draft.profile.settings().map(|d| d.id).collect();
    crate::sort::sort_by_key(&mut draft.settings, |setting| {
        order.iter().position(|id| *id == setting.id).unwrap_or(usize::MAX)
    });
}

/// Sorts violations of a draft by the setting they concern: `settings[3].value[1]` goes to the id of the fourth
/// configured setting, with the rest of the path (`value[1]`) kept for the message. Violations of other fields are
/// under their path (`name`, `assignments.include[0].group_id`).
pub fn violations_by_field(draft: &PolicyDraft, violations: &[Violation]) -> BTreeMap<String, Vec<String>> {
    let mut by_field: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for violation in violations {
        let setting = violation.path.strip_prefix("settings[").and_then(|rest| {
            let (index, tail) = rest.split_once(']')?;
            let setting = draft.settings.get(index.parse::<usize>().ok()?)?;
            Some((setting.id.clone(), tail.trim_start_matches('.').to_owned()))
        });
        match setting {
            Some((id, tail)) => {
                let message = if tail.is_empty() || tail == "value" || tail == "id" {
                    violation.message.clone()
                } else {
                    format!("{}: {}", tail.trim_start_matches("value."), violation.message)
                };
                by_field.entry(id).or_default().push(message);
            }
            None => by_field.entry(violation.path.clone()).or_default().push(violation.message.clone()),
        }
    }
    by_field
}

/// A configured value in words, for review pages and reports: option labels rather than codes, units for numbers,
/// lists joined, rules by name.
pub fn describe_value(id: &str, value: &SettingValue) -> String {
    let definition = definition(id);
    let label = |choice: &str| {
        definition.and_then(|d| d.option(choice)).map_or_else(|| choice.to_owned(), |option| option.label.to_owned())
    };
    match value {
        SettingValue::Choice(choice) => label(choice),
        SettingValue::ChoiceList(choices) => choices.iter().map(|c| label(c)).collect::<Vec<_>>().join(", "),
        SettingValue::Integer(n) => match definition.map(|d| d.kind) {
            Some(crate::catalog::SettingKind::Integer(range)) if !range.unit.label().is_empty() => {
                format!("{n} {}", range.unit.label())
            }
            _ => n.to_string(),
        },
        SettingValue::String(text) => text.clone(),
        SettingValue::StringList(list) => list.join("; "),
        SettingValue::Group(members) => members
            .iter()
            .map(|member| {
                let name = definition_name(&member.id);
                format!("{name}: {}", describe_value(&member.id, &member.value))
            })
            .collect::<Vec<_>>()
            .join("; "),
        SettingValue::FirewallRules(rules) => {
            let names: Vec<&str> = rules.iter().map(|rule| rule.name.as_str()).collect();
            format!("{} rule{}: {}", rules.len(), if rules.len() == 1 { "" } else { "s" }, names.join(", "))
        }
    }
}

/// A setting's display name, or its id when the catalog does not know it.
pub fn definition_name(id: &str) -> String {
    definition(id).map_or_else(|| id.to_owned(), |d| d.display_name.to_owned())
}

/// A stored policy at its current version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Policy {
    /// Id.
    pub id: String,
    /// What the admin wrote.
    #[serde(flatten)]
    pub draft: PolicyDraft,
    /// Increases by one on every change; the ETag is `"<version>"`.
    pub version: u64,
    /// When it was created.
    pub created_at: UnixSeconds,
    /// When it last changed.
    pub updated_at: UnixSeconds,
    /// Who changed it last.
    pub updated_by: String,
}

impl Policy {
    /// Version 1 of a new policy, written by `actor` at `now`.
    pub fn first_version(id: String, draft: PolicyDraft, actor: &str, now: UnixSeconds) -> Self {
        Self { id, draft, version: 1, created_at: now, updated_at: now, updated_by: actor.to_owned() }
    }
}

/// A policy in the list of its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PolicySummary {
    /// Id.
    pub id: String,
    /// Profile.
    pub profile: Profile,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Number of configured settings.
    pub n_settings: u64,
    /// Names of the included groups.
    pub included: Vec<String>,
    /// Names of the excluded groups.
    pub excluded: Vec<String>,
    /// Current version.
    pub version: u64,
    /// When it last changed.
    pub updated_at: UnixSeconds,
    /// Who changed it last.
    pub updated_by: String,
    /// The devices it targets, by the policy's state on them.
    #[serde(default)]
    pub status: crate::report::StatusCounts,
}

/// What importing one exported policy file did (`POST /api/v1/policies/import`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImportReport {
    /// The policy created from the file (without assignments).
    pub policy: Policy,
    /// Every setting of the file that could not be mapped, with the reason; nothing is dropped silently.
    pub unmapped: Vec<crate::graph::UnmappedSetting>,
}

/// One version in a policy's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PolicyVersion {
    /// The version number.
    pub version: u64,
    /// The policy as it was.
    pub draft: PolicyDraft,
    /// When this version was written.
    pub created_at: UnixSeconds,
    /// Who wrote it.
    pub created_by: String,
}

/// One difference between two versions of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Change {
    /// What changed: `name`, `description`, a setting id, `assignments.include`, `assignments.exclude`.
    pub field: String,
    /// The value before, as JSON text; `None` when it was not set.
    pub before: Option<String>,
    /// The value after, as JSON text; `None` when it was removed.
    pub after: Option<String>,
}

/// The differences from `old` to `new`, fields first, then settings in id order, then assignments.
pub fn diff(old: &PolicyDraft, new: &PolicyDraft) -> Vec<Change> {
    fn text<T: Serialize + ?Sized>(value: &T) -> String {
        serde_json::to_string(value).unwrap_or_default()
    }
    let mut changes = Vec::new();
    let mut field = |name: &str, before: Option<String>, after: Option<String>| {
        if before != after {
            changes.push(Change { field: name.to_owned(), before, after });
        }
    };
    field("name", Some(text(&old.name)), Some(text(&new.name)));
    field("description", Some(text(&old.description)), Some(text(&new.description)));
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    ids.extend(old.settings.iter().chain(&new.settings).map(|s| s.id.as_str()));
    for id in ids {
        let find = |draft: &PolicyDraft| draft.settings.iter().find(|s| s.id == id).map(|s| text(&s.value));
        field(id, find(old), find(new));
    }
    let groups = |targets: &[AssignmentTarget]| {
        let mut ids: BTreeSet<&str> = BTreeSet::new();
        ids.extend(targets.iter().map(|t| t.group_id.as_str()));
        text(&ids)
    };
    field("assignments.include", Some(groups(&old.assignments.include)), Some(groups(&new.assignments.include)));
    field("assignments.exclude", Some(groups(&old.assignments.exclude)), Some(groups(&new.assignments.exclude)));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> PolicyDraft {
        PolicyDraft {
            profile: Profile::Antivirus,
            name: "Baseline AV".into(),
            description: String::new(),
            settings: Vec::new(),
            assignments: Assignments::default(),
        }
    }

    #[test]
    fn a_filter_on_an_assignment_is_refused_with_the_product_message() {
        let assignments = Assignments {
            include: vec![AssignmentTarget { group_id: "g1".into(), filter: Some(serde_json::json!({"id": "f"})) }],
            exclude: vec![],
        };
        let violations = validate_assignments(&assignments, |_| true);
        assert_eq!(violations, [Violation::new("assignments.include[0].filter", FILTERS_NOT_SUPPORTED)]);
    }

    #[test]
    fn unknown_twice_listed_and_both_included_and_excluded_groups_are_named() {
        let assignments = Assignments {
            include: vec![
                AssignmentTarget::group("g1"),
                AssignmentTarget::group("g1"),
                AssignmentTarget::group("nope"),
            ],
            exclude: vec![AssignmentTarget::group("g1")],
        };
        let violations = validate_assignments(&assignments, |id| id != "nope");
        let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(
            paths,
            ["assignments.include[1].group_id", "assignments.include[2].group_id", "assignments.exclude[0].group_id"]
        );
        assert!(violations[2].message.contains("also included"));
    }

    #[test]
    fn a_draft_with_a_blank_name_and_an_unknown_setting_reports_both() {
        let mut draft = draft();
        draft.name = " ".into();
        draft.settings.push(ConfiguredSetting::new("no_such_setting", SettingValue::Integer(1)));
        let violations = validate_policy(&draft, |_| true);
        let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
        assert!(paths.contains(&"name") && paths.iter().any(|p| p.starts_with("settings[0]")), "{violations:?}");
    }

    #[test]
    fn the_diff_lists_what_changed_and_nothing_else() {
        let old = draft();
        let mut new = draft();
        new.description = "now with cloud".into();
        new.settings.push(ConfiguredSetting::new("x", SettingValue::Integer(2)));
        new.assignments.exclude.push(AssignmentTarget::group("g2"));
        let changes = diff(&old, &new);
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["description", "x", "assignments.exclude"]);
        assert_eq!(changes[1].before, None);
        assert!(diff(&new, &new).is_empty());
    }

    #[test]
    fn setting_a_value_keeps_catalog_order_and_unsetting_a_parent_drops_its_children() {
        let enable = "vendor_msft_firewall_mdmstore_domainprofile_enablefirewall";
        let child = crate::catalog::children_of(enable).find(|d| d.is_top_level()).expect("a child of Enable Firewall");
        let mut draft = draft();
        draft.profile = Profile::Firewall;
        set_setting(&mut draft, enable, Some(SettingValue::Choice("true".into())));
        let value = child.default.map(|d| d.to_value()).unwrap_or(SettingValue::Choice("true".into()));
        set_setting(&mut draft, child.id, Some(value));
        assert_eq!(draft.settings.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [enable, child.id]);
        set_setting(&mut draft, enable, Some(SettingValue::Choice("false".into())));
        assert_eq!(draft.settings.len(), 1, "the child went with its parent's enabling value");
        set_setting(&mut draft, enable, None);
        assert!(draft.settings.is_empty());
    }

    #[test]
    fn violations_are_sorted_to_the_setting_they_concern() {
        let mut draft = draft();
        draft.settings.push(ConfiguredSetting::new("a", SettingValue::Integer(1)));
        draft.settings.push(ConfiguredSetting::new("b", SettingValue::StringList(vec![])));
        let violations = [
            Violation::new("name", "is required"),
            Violation::new("settings[1].value[0]", "is not a path"),
            Violation::new("settings[0].value", "is too big"),
        ];
        let by_field = violations_by_field(&draft, &violations);
        assert_eq!(by_field["name"], ["is required"]);
        assert_eq!(by_field["a"], ["is too big"]);
        assert_eq!(by_field["b"], ["value[0]: is not a path"]);
    }

    #[test]
    fn values_are_described_with_option_labels_and_units() {
        let cloud = "device_vendor_msft_policy_config_defender_cloudblocklevel";
        assert_eq!(describe_value(cloud, &SettingValue::Choice("6".into())), "Zero tolerance");
        let cpu = "device_vendor_msft_policy_config_defender_avgcpuloadfactor";
        assert_eq!(describe_value(cpu, &SettingValue::Integer(30)), "30 %");
        assert_eq!(describe_value("unknown", &SettingValue::StringList(vec!["a".into(), "b".into()])), "a; b");
    }

    #[test]
    fn a_draft_round_trips_through_json() {
        let mut draft = draft();
        draft.assignments.include.push(AssignmentTarget::group("all-devices"));
        let json = serde_json::to_string(&draft).expect("serializes");
        assert_eq!(serde_json::from_str::<PolicyDraft>(&json).expect("parses"), draft);
    }
}
