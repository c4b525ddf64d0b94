//! Conflicts: which policies apply to a device, and what a device ends up with when several of them configure the
//! same setting. This is the one implementation of DESIGN.md "Conflicts"; the server's preview and reports and the
//! agent all call it, so what the preview predicts is what the device does.
//!
//! For one device, every setting configured by any applicable policy gets one [`SettingOutcome`]:
//! 1. One policy sets it, or all set the identical value → [`SettingStatus::Succeeded`].
//! 2. A mergeable list ([`Merge::Union`] string lists such as Antivirus excluded paths, extensions and processes) →
//!    the union is applied; no conflict. Lists dedupe without regard to case (Windows paths and extensions ignore
//!    case) and keep the first-seen spelling and order. Firewall rules ([`Merge::PerPolicy`]) never conflict: a rule
//!    is identified by its policy and its own name, so every policy's rules apply side by side, in policy id order —
//!    two policies may both have a rule named "Allow RDP", with different definitions, and the device gets both.
//! 3. Otherwise → [`SettingStatus::Conflict`], still resolved deterministically: when the catalog ranks every
//!    competing value ([`SettingDefinition::security_rank`](crate::catalog::SettingDefinition::security_rank)) and
//!    one value ranks strictly highest, it wins ([`DecidedBy::MostSecure`]); otherwise the value of the most recently
//!    modified policy wins ([`DecidedBy::MostRecentlyModified`]). When several different values share the top rank,
//!    only the policies giving a top-ranked value compete on recency, so a less secure value never wins a tie.
//!    Equal modification times are broken by policy id: the id that sorts first wins.
//!
//! Policies are always considered in the order of their ids, so the outcome does not depend on the order in which
//! a caller passes them.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use shared_derive::CompactDeserialize;

use crate::catalog::{FirewallRule, Merge, SettingValue, definition};
use crate::groups::ALL_DEVICES;
use crate::policy::Policy;

/// Whether a policy applies to a device: the device is in at least one included group and in no excluded group
/// (exclusion wins). `in_group(group_id)` says whether the device is a member of a group (through nesting and
/// dynamic rules: resolve it with [`crate::groups::resolve_members`]); every device is in
/// [*All devices*](ALL_DEVICES) whatever `in_group` says.
///
/// Eligibility for security settings management and the tenant's switches are not checked here: gating on them is
/// the caller's job.
pub fn applies_to(policy: &Policy, in_group: impl Fn(&str) -> bool) -> bool {
    let member = |group_id: &str| group_id == ALL_DEVICES || in_group(group_id);
    let assignments = &policy.draft.assignments;
    assignments.included().any(member) && !assignments.excluded().any(member)
}

/// The policies that apply to one device, in the order given: see [`applies_to`]. `in_group(group_id)` answers for
/// that device. Eligibility and the tenant's switches are the caller's job.
pub fn applicable_policies(policies: &[Policy], in_group: impl Fn(&str) -> bool) -> Vec<&Policy> {
    policies.iter().filter(|policy| applies_to(policy, &in_group)).collect()
}

/// How a setting ended up on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SettingStatus {
    /// One value (or a merged list) applies without competition.
    Succeeded,
    /// Policies give different values that do not merge; the device still applies one of them.
    Conflict,
}

/// The rule that picked the effective value of a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecidedBy {
    /// The catalog ranks every competing value and one ranks strictly highest.
    MostSecure,
    /// No rank (or a tie at the top): the value of the most recently modified policy.
    MostRecentlyModified,
}

impl DecidedBy {
    /// What wins under this rule, in words: "the most secure value", "the most recently modified policy".
    pub fn winner(self) -> &'static str {
        match self {
            Self::MostSecure => "the most secure value",
            Self::MostRecentlyModified => "the most recently modified policy",
        }
    }
}

/// One policy's value for a setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Source {
    /// The policy's id.
    pub policy_id: String,
    /// The policy's name.
    pub policy_name: String,
    /// The value it configures.
    pub value: SettingValue,
}

/// What one policy added to a merged list: the entries it was the first to bring, in policy id order (a policy whose
/// entries all came earlier has an empty `added`); for firewall rules, the names of all its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Contribution {
    /// The policy's id.
    pub policy_id: String,
    /// The policy's name.
    pub policy_name: String,
    /// The entries first brought by this policy (for firewall rules: all its rules' names), as it spells them.
    pub added: Vec<String>,
}

/// What one setting is on a device, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SettingOutcome {
    /// The setting's id.
    pub setting_id: String,
    /// Succeeded or Conflict.
    pub status: SettingStatus,
    /// The value the device applies.
    pub effective: SettingValue,
    /// Every policy that configures the setting, with its value, in policy id order.
    pub sources: Vec<Source>,
    /// For a conflict, the rule that picked the effective value; `None` when it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<DecidedBy>,
    /// For a conflict over the whole value, the policy whose value took effect; `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winning_policy_id: Option<String>,
    /// For a merged list, what each policy added (one entry per source, in policy id order); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contributions: Vec<Contribution>,
}

impl SettingOutcome {
    /// The policies other than `policy_id` that configure this setting, for "also managed by" in reports.
    pub fn other_sources<'s>(&'s self, policy_id: &'s str) -> impl Iterator<Item = &'s Source> + 's {
        self.sources.iter().filter(move |source| source.policy_id != policy_id)
    }
}

/// What one device ends up with: one outcome per configured setting, sorted by setting id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Resolution {
    /// One outcome per setting configured by any of the policies, sorted by setting id.
    pub settings: Vec<SettingOutcome>,
}

impl Resolution {
    /// The outcome of one setting, if any policy configures it.
    pub fn setting(&self, setting_id: &str) -> Option<&SettingOutcome> {
        self.settings
            .binary_search_by(|outcome| outcome.setting_id.as_str().cmp(setting_id))
            .ok()
            .map(|index| &self.settings[index])
    }

    /// The outcomes in conflict.
    pub fn conflicts(&self) -> impl Iterator<Item = &SettingOutcome> {
        self.settings.iter().filter(|outcome| outcome.status == SettingStatus::Conflict)
    }
}

/// Resolves the settings of the policies that apply to ONE device (see the module documentation for the rules).
/// Only top-level configured settings are compared; a group setting's value is compared as a whole.
pub fn resolve(policies: &[&Policy]) -> Resolution {
    let mut ordered: Vec<&Policy> = policies.to_vec();
    crate::sort::sort_by(&mut ordered, |a, b| a.id.cmp(&b.id));
    let mut by_setting: BTreeMap<&str, Vec<(&Policy, &SettingValue)>> = BTreeMap::new();
    for policy in ordered {
        for setting in &policy.draft.settings {
            by_setting.entry(setting.id.as_str()).or_default().push((policy, &setting.value));
        }
    }
    Resolution { settings: by_setting.into_iter().map(|(id, entries)| resolve_setting(id, &entries)).collect() }
}

/// The outcome of ONE setting among `policies` (those that apply to a device), or `None` when none configures it:
/// exactly `resolve(policies).setting(setting_id)`, since settings resolve independently, without resolving the rest.
/// The conflict preview calls it once per setting and distinct set of policies configuring it.
pub fn resolve_one(setting_id: &str, policies: &[&Policy]) -> Option<SettingOutcome> {
    let mut entries: Vec<(&Policy, &SettingValue)> = policies
        .iter()
        .filter_map(|policy| policy.draft.settings.iter().find(|s| s.id == setting_id).map(|s| (*policy, &s.value)))
        .collect();
    crate::sort::sort_by(&mut entries, |a, b| a.0.id.cmp(&b.0.id));
    (!entries.is_empty()).then(|| resolve_setting(setting_id, &entries))
}

/// One setting's outcome from its (policy, value) entries, in policy id order.
fn resolve_setting(setting_id: &str, entries: &[(&Policy, &SettingValue)]) -> SettingOutcome {
    let sources = entries
        .iter()
        .map(|(policy, value)| Source {
            policy_id: policy.id.clone(),
            policy_name: policy.draft.name.clone(),
            value: (*value).clone(),
        })
        .collect();
    let mut outcome = SettingOutcome {
        setting_id: setting_id.to_owned(),
        status: SettingStatus::Succeeded,
        effective: entries[0].1.clone(),
        sources,
        decided_by: None,
        winning_policy_id: None,
        contributions: Vec::new(),
    };
    if entries.iter().all(|(_, value)| *value == entries[0].1) {
        return outcome;
    }
    let definition = definition(setting_id);
    let merge = definition.map_or(Merge::Conflict, |d| d.merge);
    let lists: Option<Vec<&Vec<String>>> = entries
        .iter()
        .map(|(_, value)| match value {
            SettingValue::StringList(list) => Some(list),
            _ => None,
        })
        .collect();
    let rule_sets: Option<Vec<&Vec<FirewallRule>>> = entries
        .iter()
        .map(|(_, value)| match value {
            SettingValue::FirewallRules(rules) => Some(rules),
            _ => None,
        })
        .collect();
    match (merge, lists, rule_sets) {
        (Merge::Union, Some(lists), _) => merge_lists(&mut outcome, entries, &lists),
        (Merge::PerPolicy, _, Some(rule_sets)) => merge_rules(&mut outcome, entries, &rule_sets),
        _ => {
            let candidates: Vec<Candidate<'_, SettingValue>> = entries
                .iter()
                .map(|&(policy, value)| Candidate {
                    policy,
                    value,
                    rank: definition.and_then(|d| d.security_rank(value)),
                })
                .collect();
            let (winner, decided_by) = decide(&candidates);
            outcome.status = SettingStatus::Conflict;
            outcome.effective = candidates[winner].value.clone();
            outcome.decided_by = Some(decided_by);
            outcome.winning_policy_id = Some(candidates[winner].policy.id.clone());
        }
    }
    outcome
}

/// Unions string lists: first-seen order and spelling, duplicates found without regard to case.
fn merge_lists(outcome: &mut SettingOutcome, entries: &[(&Policy, &SettingValue)], lists: &[&Vec<String>]) {
    let mut seen = HashSet::new();
    let mut merged = Vec::new();
    for ((policy, _), list) in entries.iter().zip(lists) {
        let mut added = Vec::new();
        for item in list.iter() {
            if seen.insert(item.to_lowercase()) {
                merged.push(item.clone());
                added.push(item.clone());
            }
        }
        outcome.contributions.push(contribution(policy, added));
    }
    outcome.effective = SettingValue::StringList(merged);
}

/// Every policy's firewall rules, side by side in policy id order: a rule's identity is its policy and its name, so
/// rules of the same name in two policies are two rules, and none conflicts.
fn merge_rules(outcome: &mut SettingOutcome, entries: &[(&Policy, &SettingValue)], rule_sets: &[&Vec<FirewallRule>]) {
    let mut merged = Vec::new();
    for ((policy, _), rules) in entries.iter().zip(rule_sets) {
        merged.extend(rules.iter().cloned());
        outcome.contributions.push(contribution(policy, rules.iter().map(|rule| rule.name.clone()).collect()));
    }
    outcome.effective = SettingValue::FirewallRules(merged);
}

fn contribution(policy: &Policy, added: Vec<String>) -> Contribution {
    Contribution { policy_id: policy.id.clone(), policy_name: policy.draft.name.clone(), added }
}

/// One competing value: from which policy, and its security rank.
struct Candidate<'a, T> {
    policy: &'a Policy,
    value: &'a T,
    rank: Option<u32>,
}

/// Picks the winning candidate (by index) of a conflict, and the rule that picked it. See the module documentation.
fn decide<T: PartialEq>(candidates: &[Candidate<'_, T>]) -> (usize, DecidedBy) {
    let ranks: Option<Vec<u32>> = candidates.iter().map(|candidate| candidate.rank).collect();
    let (pool, decided_by): (Vec<usize>, DecidedBy) = match ranks.as_ref().and_then(|ranks| ranks.iter().max()) {
        Some(top) => {
            let ranks = ranks.as_deref().unwrap_or_default();
            let pool: Vec<usize> = (0..candidates.len()).filter(|&i| ranks[i] == *top).collect();
            let first = candidates[pool[0]].value;
            let one_value = pool.iter().all(|&i| candidates[i].value == first);
            (pool, if one_value { DecidedBy::MostSecure } else { DecidedBy::MostRecentlyModified })
        }
        None => ((0..candidates.len()).collect(), DecidedBy::MostRecentlyModified),
    };
    let winner = pool
        .into_iter()
        .max_by_key(|&i| (candidates[i].policy.updated_at, Reverse(candidates[i].policy.id.as_str())))
        .unwrap_or(0);
    (winner, decided_by)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ConfiguredSetting, Profile, RuleAction};
    use crate::policy::{AssignmentTarget, Assignments, PolicyDraft};

    const CLOUD: &str = "device_vendor_msft_policy_config_defender_cloudblocklevel";
    const UI: &str = "device_vendor_msft_policy_config_defender_allowuseruiaccess";
    const PATHS: &str = "device_vendor_msft_policy_config_defender_excludedpaths";
    const TIMEOUT: &str = "device_vendor_msft_policy_config_defender_cloudextendedtimeout";
    const CPU: &str = "device_vendor_msft_policy_config_defender_avgcpuloadfactor";
    const RULES: &str = "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}";

    fn policy(id: &str, updated_at: i64, settings: Vec<(&str, SettingValue)>) -> Policy {
        let draft = PolicyDraft {
            profile: Profile::Antivirus,
            name: format!("Policy {id}"),
            description: String::new(),
            settings: settings.into_iter().map(|(sid, value)| ConfiguredSetting::new(sid, value)).collect(),
            assignments: Assignments::default(),
        };
        Policy { updated_at, ..Policy::first_version(id.to_owned(), draft, "admin", 0) }
    }

    fn choice(value: &str) -> SettingValue {
        SettingValue::Choice(value.to_owned())
    }

    fn list(items: &[&str]) -> SettingValue {
        SettingValue::StringList(items.iter().map(|s| (*s).to_owned()).collect())
    }

    fn refs(policies: &[Policy]) -> Vec<&Policy> {
        policies.iter().collect()
    }

    #[test]
    fn each_conflict_rule_decides_as_the_design_says() {
        struct Case {
            name: &'static str,
            setting: &'static str,
            /// (policy id, updated_at, value)
            policies: Vec<(&'static str, i64, SettingValue)>,
            effective: SettingValue,
            status: SettingStatus,
            decided_by: Option<DecidedBy>,
            winner: Option<&'static str>,
        }
        use DecidedBy::*;
        use SettingStatus::*;
        let cases = [
            Case {
                name: "one policy succeeds",
                setting: CLOUD,
                policies: vec![("a", 1, choice("2"))],
                effective: choice("2"),
                status: Succeeded,
                decided_by: None,
                winner: None,
            },
            Case {
                name: "equal values are no conflict",
                setting: UI,
                policies: vec![("a", 1, choice("0")), ("b", 5, choice("0")), ("c", 3, choice("0"))],
                effective: choice("0"),
                status: Succeeded,
                decided_by: None,
                winner: None,
            },
            Case {
                name: "different ranked values: most secure wins although older",
                setting: CLOUD,
                policies: vec![("a", 1, choice("6")), ("b", 9, choice("2")), ("c", 5, choice("0"))],
                effective: choice("6"),
                status: Conflict,
                decided_by: Some(MostSecure),
                winner: Some("a"),
            },
            Case {
                name: "ranked integers: higher timeout is more secure",
                setting: TIMEOUT,
                policies: vec![("a", 9, SettingValue::Integer(10)), ("b", 1, SettingValue::Integer(50))],
                effective: SettingValue::Integer(50),
                status: Conflict,
                decided_by: Some(MostSecure),
                winner: Some("b"),
            },
            Case {
                name: "the most secure value set by two policies: the newer of them is named",
                setting: CLOUD,
                policies: vec![("a", 1, choice("6")), ("b", 4, choice("6")), ("c", 9, choice("0"))],
                effective: choice("6"),
                status: Conflict,
                decided_by: Some(MostSecure),
                winner: Some("b"),
            },
            Case {
                name: "unranked choices: most recently modified wins",
                setting: UI,
                policies: vec![("a", 7, choice("0")), ("b", 3, choice("1"))],
                effective: choice("0"),
                status: Conflict,
                decided_by: Some(MostRecentlyModified),
                winner: Some("a"),
            },
            Case {
                name: "unranked integers: most recently modified wins",
                setting: CPU,
                policies: vec![("a", 2, SettingValue::Integer(30)), ("b", 3, SettingValue::Integer(70))],
                effective: SettingValue::Integer(70),
                status: Conflict,
                decided_by: Some(MostRecentlyModified),
                winner: Some("b"),
            },
            Case {
                name: "a value without rank makes the rank unusable: most recent wins",
                setting: CLOUD,
                policies: vec![("a", 1, choice("6")), ("b", 2, choice("9"))],
                effective: choice("9"),
                status: Conflict,
                decided_by: Some(MostRecentlyModified),
                winner: Some("b"),
            },
            Case {
                name: "same modification time: the id that sorts first wins",
                setting: UI,
                policies: vec![("b", 4, choice("1")), ("a", 4, choice("0"))],
                effective: choice("0"),
                status: Conflict,
                decided_by: Some(MostRecentlyModified),
                winner: Some("a"),
            },
            Case {
                name: "unknown setting: compared like an unranked one",
                setting: "no_such_setting",
                policies: vec![("a", 1, SettingValue::Integer(1)), ("b", 2, SettingValue::Integer(2))],
                effective: SettingValue::Integer(2),
                status: Conflict,
                decided_by: Some(MostRecentlyModified),
                winner: Some("b"),
            },
        ];
        for case in cases {
            let policies: Vec<Policy> = case
                .policies
                .iter()
                .map(|(id, at, value)| policy(id, *at, vec![(case.setting, value.clone())]))
                .collect();
            let resolution = resolve(&refs(&policies));
            assert_eq!(resolution.settings.len(), 1, "{}", case.name);
            let outcome = resolution.setting(case.setting).expect("configured");
            assert_eq!(outcome.effective, case.effective, "{}", case.name);
            assert_eq!(outcome.status, case.status, "{}", case.name);
            assert_eq!(outcome.decided_by, case.decided_by, "{}", case.name);
            assert_eq!(outcome.winning_policy_id.as_deref(), case.winner, "{}", case.name);
            let mut ids: Vec<&str> = case.policies.iter().map(|(id, _, _)| *id).collect();
            ids.sort_unstable();
            let source_ids: Vec<&str> = outcome.sources.iter().map(|s| s.policy_id.as_str()).collect();
            assert_eq!(source_ids, ids, "{}: every policy that sets it is recorded, in id order", case.name);
            assert!(outcome.contributions.is_empty(), "{}", case.name);
        }
    }

    #[test]
    fn a_tie_at_the_top_rank_goes_to_the_most_recent_of_the_top_values() {
        // The catalog's ranks are strict today, so two different values sharing the top rank is checked on the
        // decision function directly: only the top-ranked values compete on recency, the newer lower one does not.
        let a = policy("a", 1, vec![]);
        let b = policy("b", 5, vec![]);
        let c = policy("c", 9, vec![]);
        let (x, y, z) = (choice("x"), choice("y"), choice("z"));
        let candidates = [
            Candidate { policy: &a, value: &x, rank: Some(3) },
            Candidate { policy: &b, value: &y, rank: Some(3) },
            Candidate { policy: &c, value: &z, rank: Some(1) },
        ];
        assert_eq!(decide(&candidates), (1, DecidedBy::MostRecentlyModified));
        let strict =
            [Candidate { policy: &a, value: &x, rank: Some(3) }, Candidate { policy: &c, value: &z, rank: Some(1) }];
        assert_eq!(decide(&strict), (0, DecidedBy::MostSecure));
    }

    #[test]
    fn exclusion_lists_merge_case_insensitively_in_first_seen_order() {
        let policies = [
            policy("b", 1, vec![(PATHS, list(&["C:\\Temp", "D:\\Build"]))]),
            policy("a", 9, vec![(PATHS, list(&["c:\\temp", "E:\\Cache"]))]),
            policy("c", 5, vec![(PATHS, list(&["d:\\BUILD"]))]),
        ];
        let resolution = resolve(&refs(&policies));
        let outcome = resolution.setting(PATHS).expect("configured");
        assert_eq!(outcome.status, SettingStatus::Succeeded);
        assert_eq!(outcome.decided_by, None);
        assert_eq!(outcome.effective, list(&["c:\\temp", "E:\\Cache", "D:\\Build"]));
        let added: Vec<(&str, Vec<&str>)> = outcome
            .contributions
            .iter()
            .map(|c| (c.policy_id.as_str(), c.added.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(added, [("a", vec!["c:\\temp", "E:\\Cache"]), ("b", vec!["D:\\Build"]), ("c", vec![])]);
        assert_eq!(resolution.conflicts().count(), 0);
    }

    #[test]
    fn firewall_rules_of_every_policy_apply_side_by_side_even_with_the_same_name() {
        let allow = FirewallRule { action: Some(RuleAction::Allow), protocol: Some(6), ..FirewallRule::named("RDP") };
        let block = FirewallRule { action: Some(RuleAction::Block), ..FirewallRule::named("rdp") };
        let same_as_allow = allow.clone();
        let smb = FirewallRule { action: Some(RuleAction::Block), ..FirewallRule::named("SMB") };
        let policies = [
            policy("b", 9, vec![(RULES, SettingValue::FirewallRules(vec![block.clone(), smb.clone()]))]),
            policy("a", 1, vec![(RULES, SettingValue::FirewallRules(vec![allow.clone()]))]),
            policy("c", 5, vec![(RULES, SettingValue::FirewallRules(vec![same_as_allow.clone()]))]),
        ];
        let resolution = resolve(&refs(&policies));
        let outcome = resolution.setting(RULES).expect("configured");
        assert_eq!(outcome.status, SettingStatus::Succeeded);
        assert_eq!((outcome.decided_by, outcome.winning_policy_id.as_deref()), (None, None));
        // Each rule is its policy's: the same name with another definition, or even an identical rule, is kept.
        assert_eq!(outcome.effective, SettingValue::FirewallRules(vec![allow, block, smb, same_as_allow]));
        let added: Vec<(&str, Vec<&str>)> = outcome
            .contributions
            .iter()
            .map(|c| (c.policy_id.as_str(), c.added.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(added, [("a", vec!["RDP"]), ("b", vec!["rdp", "SMB"]), ("c", vec!["RDP"])]);
        assert_eq!(resolution.conflicts().count(), 0);
    }

    #[test]
    fn settings_are_sorted_by_id_and_the_order_of_policies_does_not_matter() {
        let policies = [
            policy("a", 3, vec![(UI, choice("1")), (CLOUD, choice("2"))]),
            policy("b", 3, vec![(UI, choice("0")), (PATHS, list(&["X"]))]),
        ];
        let forward = resolve(&refs(&policies));
        let backward = resolve(&[&policies[1], &policies[0]]);
        assert_eq!(forward, backward);
        let ids: Vec<&str> = forward.settings.iter().map(|s| s.setting_id.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted);
        assert_eq!(ids.len(), 3);
        assert_eq!(forward.setting(UI).expect("set").other_sources("a").count(), 1);
        assert_eq!(resolve(&[]), Resolution::default());
        let json = serde_json::to_value(&forward).expect("serializes");
        assert_eq!(serde_json::from_value::<Resolution>(json).expect("parses"), forward);
    }

    #[test]
    fn exclusion_wins_and_a_device_in_no_included_group_gets_nothing() {
        let assigned = |id: &str, include: &[&str], exclude: &[&str]| {
            let mut p = policy(id, 0, vec![]);
            p.draft.assignments = Assignments {
                include: include.iter().map(|g| AssignmentTarget::group(*g)).collect(),
                exclude: exclude.iter().map(|g| AssignmentTarget::group(*g)).collect(),
            };
            p
        };
        // The device is in groups g1 and g2 (and, like every device, in All devices).
        let in_group = |group: &str| group == "g1" || group == "g2";
        let cases: [(&str, Policy, bool); 7] = [
            ("included", assigned("p", &["g1"], &[]), true),
            ("one of several included", assigned("p", &["g9", "g2"], &[]), true),
            ("included and excluded: exclusion wins", assigned("p", &["g1"], &["g2"]), false),
            ("all devices but excluded", assigned("p", &[ALL_DEVICES], &["g1"]), false),
            ("all devices", assigned("p", &[ALL_DEVICES], &["g9"]), true),
            ("in no included group", assigned("p", &["g9"], &[]), false),
            ("not assigned at all", assigned("p", &[], &[]), false),
        ];
        for (name, policy, expected) in &cases {
            assert_eq!(applies_to(policy, in_group), *expected, "{name}");
        }
        let policies: Vec<Policy> = cases.iter().map(|(_, p, _)| p.clone()).collect();
        assert_eq!(applicable_policies(&policies, in_group).len(), 3);
        assert!(
            applicable_policies(&policies, |_| false).iter().all(|p| p
                .draft
                .assignments
                .included()
                .any(|g| g == ALL_DEVICES))
        );
    }

    /// A small deterministic pseudo-random generator (xorshift64*), so the property test needs no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())]
        }
    }

    fn random_value(rng: &mut Rng, setting: &str) -> SettingValue {
        match setting {
            CLOUD => choice(rng.pick(&["0", "2", "4", "6", "6", "9"])),
            UI => choice(rng.pick(&["0", "1"])),
            TIMEOUT => SettingValue::Integer(rng.pick(&[0, 10, 10, 50, 60])),
            CPU => SettingValue::Integer(rng.pick(&[5, 50, 90])),
            _ => {
                let pool = ["C:\\Temp", "c:\\temp", "D:\\Data", "C:\\Tools", "d:\\DATA"];
                let n = rng.below(4);
                SettingValue::StringList((0..n).map(|_| rng.pick(&pool).to_owned()).collect())
            }
        }
    }

    /// The design's rules written as plainly as possible, to check `resolve` against: per setting, the effective value
    /// and the rule that decided a conflict (`None` when there is none).
    fn reference(policies: &[Policy]) -> Vec<(String, SettingValue, Option<DecidedBy>)> {
        let mut ids: Vec<String> =
            policies.iter().flat_map(|p| p.draft.settings.iter().map(|s| s.id.clone())).collect();
        ids.sort();
        ids.dedup();
        let mut out = Vec::new();
        for id in ids {
            let mut setters: Vec<&Policy> =
                policies.iter().filter(|p| p.draft.settings.iter().any(|s| s.id == id)).collect();
            setters.sort_by(|a, b| a.id.cmp(&b.id));
            let value_of =
                |p: &Policy| p.draft.settings.iter().find(|s| s.id == id).map(|s| s.value.clone()).expect("set");
            let values: Vec<SettingValue> = setters.iter().map(|p| value_of(p)).collect();
            if values.iter().all(|v| *v == values[0]) {
                out.push((id, values[0].clone(), None));
                continue;
            }
            if id == PATHS {
                let mut merged: Vec<String> = Vec::new();
                for value in &values {
                    let SettingValue::StringList(items) = value else { panic!("a list") };
                    for item in items {
                        if !merged.iter().any(|m| m.to_lowercase() == item.to_lowercase()) {
                            merged.push(item.clone());
                        }
                    }
                }
                out.push((id, SettingValue::StringList(merged), None));
                continue;
            }
            let def = definition(&id).expect("known");
            let ranks: Vec<Option<u32>> = values.iter().map(|v| def.security_rank(v)).collect();
            let mut pool: Vec<usize> = (0..values.len()).collect();
            let mut decided_by = DecidedBy::MostRecentlyModified;
            if ranks.iter().all(Option::is_some) {
                let top = ranks.iter().flatten().max().copied();
                pool.retain(|&i| ranks[i] == top);
                if pool.iter().all(|&i| values[i] == values[pool[0]]) {
                    decided_by = DecidedBy::MostSecure;
                }
            }
            let mut best = pool[0];
            for &i in &pool {
                let (p, q) = (setters[i], setters[best]);
                if p.updated_at > q.updated_at || (p.updated_at == q.updated_at && p.id < q.id) {
                    best = i;
                }
            }
            out.push((id, values[best].clone(), Some(decided_by)));
        }
        out
    }

    #[test]
    fn resolve_agrees_with_a_simple_reference_on_random_policies() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let settings = [CLOUD, UI, TIMEOUT, CPU, PATHS];
        for round in 0..3000 {
            let n = 1 + rng.below(5);
            let mut policies: Vec<Policy> = (0..n)
                .map(|i| {
                    let mut chosen: Vec<(&str, SettingValue)> = Vec::new();
                    for setting in settings {
                        if rng.below(3) > 0 {
                            chosen.push((setting, random_value(&mut rng, setting)));
                        }
                    }
                    policy(&format!("p{i}"), rng.below(3) as i64, chosen)
                })
                .collect();
            // Shuffle, so that the order given must not matter.
            for i in (1..policies.len()).rev() {
                let j = rng.below(i + 1);
                policies.swap(i, j);
            }
            let resolution = resolve(&refs(&policies));
            let actual: Vec<(String, SettingValue, Option<DecidedBy>)> =
                resolution.settings.iter().map(|o| (o.setting_id.clone(), o.effective.clone(), o.decided_by)).collect();
            assert_eq!(actual, reference(&policies), "round {round}: {policies:#?}");
            for outcome in &resolution.settings {
                let one = resolve_one(&outcome.setting_id, &refs(&policies));
                assert_eq!(one.as_ref(), Some(outcome), "round {round}: one setting resolves as in the whole");
                assert_eq!(outcome.decided_by.is_some(), outcome.status == SettingStatus::Conflict, "round {round}");
                let winner = outcome.winning_policy_id.as_deref();
                if let Some(winner) = winner {
                    let source = outcome.sources.iter().find(|s| s.policy_id == winner).expect("a source wins");
                    assert_eq!(source.value, outcome.effective, "round {round}");
                }
            }
        }
    }
}
