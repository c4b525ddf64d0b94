//! What a setting definition says: its ids, help text, value type and allowed values, default, parent, how
//! several policies combine it, how its values rank by security, and where it does not apply.
//!
//! Definitions are `&'static` data built with the `const fn` builders at the bottom of this file.

use serde::Serialize;

use super::format::TextFormat;
use super::value::SettingValue;
use super::{Category, Profile};
use crate::device::OsProduct;

/// One setting of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SettingDefinition {
    /// The Graph settingDefinitionId, e.g. `device_vendor_msft_policy_config_defender_allowrealtimemonitoring`.
    pub id: &'static str,
    /// The name the admin center shows.
    pub display_name: &'static str,
    /// What the setting does, in plain words (our own help text). Empty without the `help` feature: the admin center
    /// reads the texts from an asset of its build instead of carrying them in its wasm bundle.
    pub description: &'static str,
    /// The OMA-URI of the CSP node the device writes, e.g. `./Vendor/MSFT/Firewall/MdmStore/Global/CRLcheck`.
    pub csp_uri: &'static str,
    /// The category it is listed under.
    pub category: Category,
    /// The type of value and what is allowed.
    pub kind: SettingKind,
    /// The value the device assumes when the setting is not configured, where the catalog states one.
    pub default: Option<DefaultValue>,
    /// The setting it depends on, if any.
    pub parent: Option<Parent>,
    /// How values from several policies combine on one device.
    pub merge: Merge,
    /// Operating systems on which the device cannot apply the setting, with the reason.
    pub unsupported: &'static [Unsupported],
}

/// The type of a setting's value, with what is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum SettingKind {
    /// Exactly one of the options.
    Choice {
        /// The allowed options.
        options: &'static [ChoiceOption],
    },
    /// One or more of the options (flags).
    ChoiceList {
        /// The allowed options.
        options: &'static [ChoiceOption],
        /// Option values that must be chosen alone (e.g. "Disabled", "All").
        exclusive: &'static [&'static str],
    },
    /// A whole number in a range.
    Integer(IntegerRange),
    /// One text value in a format.
    Text {
        /// The syntax the text must follow.
        format: TextFormat,
    },
    /// A list of text values, each in a format.
    TextList {
        /// The syntax each entry must follow.
        format: TextFormat,
    },
    /// A group whose value holds some of its member settings (the definitions with `Parent::Member` of it).
    Group,
    /// The collection of firewall rules, keyed by rule name; its members describe the fields of one rule.
    FirewallRules,
}

/// One allowed value of a choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChoiceOption {
    /// The value stored in a configured setting and sent to the device (`"1"`, `"true"`, `"remove"`); the Graph
    /// itemId is the setting id, `_`, and this value.
    pub value: &'static str,
    /// What choosing it means, in a few words.
    pub label: &'static str,
    /// Its position in the setting's security order (higher is more secure), when the setting has one.
    pub rank: Option<u8>,
}

/// The range, unit and security order of an integer setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IntegerRange {
    /// The smallest allowed value.
    pub min: i64,
    /// The largest allowed value.
    pub max: i64,
    /// What the number counts.
    pub unit: Unit,
    /// Which direction is more secure, if one is.
    pub safer: Safer,
}

string_enum! {
    /// What an integer setting counts.
    pub enum Unit {
        Number = ("number", ""),
        Percent = ("percent", "%"),
        Seconds = ("seconds", "seconds"),
        MinutesAfterMidnight = ("minutes_after_midnight", "minutes after midnight"),
        Hours = ("hours", "hours"),
        Days = ("days", "days"),
        Kilobytes = ("kilobytes", "KB"),
    }
}

string_enum! {
    /// Which direction of an integer setting is more secure.
    pub enum Safer {
        Unranked = ("unranked", "No security order"),
        Higher = ("higher", "Higher is more secure"),
        Lower = ("lower", "Lower is more secure"),
    }
}

/// What a setting depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Parent {
    /// Configured beside its parent, and only when the parent is configured with this option (e.g. the
    /// per-network-profile firewall settings under "Enable Firewall" = `true`).
    Option {
        /// The parent's id.
        id: &'static str,
        /// The parent option that enables this setting.
        option: &'static str,
    },
    /// Part of the parent's value: a member of a group, or a field of a firewall rule. Never configured alone.
    Member {
        /// The parent's id.
        id: &'static str,
    },
}

impl Parent {
    /// The parent's id.
    pub fn id(self) -> &'static str {
        match self {
            Self::Option { id, .. } | Self::Member { id } => id,
        }
    }
}

string_enum! {
    /// How values of one setting from several policies combine on a device (see DESIGN.md "Conflicts").
    pub enum Merge {
        Conflict = ("conflict", "Different values conflict"),
        Union = ("union", "Lists are merged"),
        PerPolicy = ("per_policy", "Every policy's rules apply side by side"),
    }
}

/// A catalog default, as static data; [`DefaultValue::to_value`] turns it into a [`SettingValue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DefaultValue {
    /// One option value.
    Choice(&'static str),
    /// Several option values.
    ChoiceList(&'static [&'static str]),
    /// A number.
    Integer(i64),
}

impl DefaultValue {
    /// The default as a configured value.
    pub fn to_value(self) -> SettingValue {
        match self {
            Self::Choice(value) => SettingValue::Choice(value.to_owned()),
            Self::ChoiceList(values) => SettingValue::ChoiceList(values.iter().map(|v| (*v).to_owned()).collect()),
            Self::Integer(value) => SettingValue::Integer(value),
        }
    }
}

/// Operating systems on which a device cannot apply a setting, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Unsupported {
    /// The operating systems concerned.
    pub os: &'static [OsProduct],
    /// Why, in one sentence for the admin.
    pub reason: &'static str,
}

impl SettingKind {
    /// The options of a choice or choice list.
    pub fn options(self) -> Option<&'static [ChoiceOption]> {
        match self {
            Self::Choice { options } | Self::ChoiceList { options, .. } => Some(options),
            _ => None,
        }
    }

    /// What kind of value is expected, for messages: "a choice", "a list of texts"…
    pub fn expected(self) -> &'static str {
        match self {
            Self::Choice { .. } => "a choice (\"choice\")",
            Self::ChoiceList { .. } => "a list of choices (\"choice_list\")",
            Self::Integer(_) => "a whole number (\"integer\")",
            Self::Text { .. } => "a text (\"string\")",
            Self::TextList { .. } => "a list of texts (\"string_list\")",
            Self::Group => "a group of settings (\"group\")",
            Self::FirewallRules => "a list of firewall rules (\"firewall_rules\")",
        }
    }
}

impl SettingDefinition {
    /// The profile the setting belongs to.
    pub fn profile(&self) -> Profile {
        self.category.profile()
    }

    /// The option with this value, for choices and choice lists.
    pub fn option(&self, value: &str) -> Option<&'static ChoiceOption> {
        self.kind.options()?.iter().find(|option| option.value == value)
    }

    /// The Graph itemId of one of its options: `<id>_<value>`.
    pub fn item_id(&self, option_value: &str) -> String {
        format!("{}_{option_value}", self.id)
    }

    /// Whether it is configured on its own in a policy's settings (not as part of a group or a rule).
    pub fn is_top_level(&self) -> bool {
        !matches!(self.parent, Some(Parent::Member { .. }))
    }

    /// Where `value` stands in the setting's security order: higher is more secure. `None` when the setting has no
    /// obvious order, or the value is not one of its options or outside its range. Conflict resolution lets the
    /// highest rank win and falls back to the most recently modified policy when there is none or a tie.
    pub fn security_rank(&self, value: &SettingValue) -> Option<u32> {
        match (self.kind, value) {
            (SettingKind::Choice { .. }, SettingValue::Choice(choice)) => self.option(choice)?.rank.map(u32::from),
            (SettingKind::Integer(range), SettingValue::Integer(n)) if (range.min..=range.max).contains(n) => {
                let above_min = u32::try_from(n - range.min).ok()?;
                let below_max = u32::try_from(range.max - n).ok()?;
                match range.safer {
                    Safer::Higher => Some(above_min),
                    Safer::Lower => Some(below_max),
                    Safer::Unranked => None,
                }
            }
            _ => None,
        }
    }

    /// Why the setting cannot be applied on `os`, or `None` when it can.
    pub fn unsupported_reason(&self, os: OsProduct) -> Option<&'static str> {
        self.unsupported.iter().find(|unsupported| unsupported.os.contains(&os)).map(|unsupported| unsupported.reason)
    }

    /// The "Learn more" link: the setting's section of the CSP documentation on Microsoft Learn.
    pub fn learn_more(&self) -> String {
        const MDM_DOCS: &str = "https://learn.microsoft.com/windows/client-management/mdm/";
        let anchor = |path: &str| path.replace("{0}", "FirewallRuleName").replace(['/', '{', '}'], "").to_lowercase();
        let uri = self.csp_uri;
        if let Some((area, name)) =
            uri.strip_prefix("./Device/Vendor/MSFT/Policy/Config/").and_then(|rest| rest.split_once('/'))
        {
            format!("{MDM_DOCS}policy-csp-{}#{}", area.to_lowercase(), anchor(name))
        } else if let Some(path) = uri.strip_prefix("./Vendor/MSFT/Defender/") {
            format!("{MDM_DOCS}defender-csp#{}", anchor(path))
        } else if let Some(path) = uri.strip_prefix("./Vendor/MSFT/Firewall/") {
            format!("{MDM_DOCS}firewall-csp#{}", anchor(path))
        } else {
            format!("{MDM_DOCS}configuration-service-provider-reference")
        }
    }

    // Builders for the static data. Each returns a changed copy, so definitions read as one expression.

    /// A definition without default, parent, merge or OS restriction.
    pub(crate) const fn new(
        id: &'static str,
        display_name: &'static str,
        csp_uri: &'static str,
        category: Category,
        kind: SettingKind,
        description: &'static str,
    ) -> Self {
        Self {
            id,
            display_name,
            description: if cfg!(feature = "help") { description } else { "" },
            csp_uri,
            category,
            kind,
            default: None,
            parent: None,
            merge: Merge::Conflict,
            unsupported: &[],
        }
    }

    /// Sets a default option.
    pub(crate) const fn default_choice(mut self, value: &'static str) -> Self {
        self.default = Some(DefaultValue::Choice(value));
        self
    }

    /// Sets default options of a choice list.
    pub(crate) const fn default_choices(mut self, values: &'static [&'static str]) -> Self {
        self.default = Some(DefaultValue::ChoiceList(values));
        self
    }

    /// Sets a default number.
    pub(crate) const fn default_integer(mut self, value: i64) -> Self {
        self.default = Some(DefaultValue::Integer(value));
        self
    }

    /// Makes it a child of `parent`'s `option`.
    pub(crate) const fn child_of(mut self, parent: &'static str, option: &'static str) -> Self {
        self.parent = Some(Parent::Option { id: parent, option });
        self
    }

    /// Makes it a member of the group or rule collection `parent`.
    pub(crate) const fn member_of(mut self, parent: &'static str) -> Self {
        self.parent = Some(Parent::Member { id: parent });
        self
    }

    /// Sets how several policies' values combine.
    pub(crate) const fn merged(mut self, merge: Merge) -> Self {
        self.merge = merge;
        self
    }

    /// Records where the setting does not apply.
    pub(crate) const fn unsupported_on(mut self, unsupported: &'static [Unsupported]) -> Self {
        self.unsupported = unsupported;
        self
    }
}

/// An option without a security rank.
pub(crate) const fn option(value: &'static str, label: &'static str) -> ChoiceOption {
    ChoiceOption { value, label, rank: None }
}

/// An option with its security rank (higher is more secure).
pub(crate) const fn ranked(value: &'static str, label: &'static str, rank: u8) -> ChoiceOption {
    ChoiceOption { value, label, rank: Some(rank) }
}

/// An integer range without a security order.
pub(crate) const fn range(min: i64, max: i64, unit: Unit) -> SettingKind {
    SettingKind::Integer(IntegerRange { min, max, unit, safer: Safer::Unranked })
}

/// A choice.
pub(crate) const fn choice(options: &'static [ChoiceOption]) -> SettingKind {
    SettingKind::Choice { options }
}

/// A text in a format.
pub(crate) const fn text(format: TextFormat) -> SettingKind {
    SettingKind::Text { format }
}

/// A list of texts in a format.
pub(crate) const fn text_list(format: TextFormat) -> SettingKind {
    SettingKind::TextList { format }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOGGLE: &[ChoiceOption] = &[ranked("0", "Off", 0), ranked("1", "On", 1)];

    fn sample(kind: SettingKind) -> SettingDefinition {
        SettingDefinition::new(
            "device_vendor_msft_policy_config_defender_sample",
            "Sample",
            "./Device/Vendor/MSFT/Policy/Config/Defender/Sample",
            Category::RealTimeProtection,
            kind,
            "A setting for tests.",
        )
    }

    #[test]
    fn item_ids_join_the_setting_id_and_the_option_value() {
        assert_eq!(sample(choice(TOGGLE)).item_id("1"), "device_vendor_msft_policy_config_defender_sample_1");
    }

    #[test]
    fn integer_ranks_follow_the_safer_direction_within_the_range() {
        let higher = SettingKind::Integer(IntegerRange { min: 0, max: 50, unit: Unit::Seconds, safer: Safer::Higher });
        let lower = SettingKind::Integer(IntegerRange { min: 1, max: 24, unit: Unit::Hours, safer: Safer::Lower });
        let rank = |kind, n| sample(kind).security_rank(&SettingValue::Integer(n));
        assert_eq!(rank(higher, 50), Some(50));
        assert_eq!(rank(higher, 0), Some(0));
        assert_eq!(rank(higher, 51), None);
        assert_eq!(rank(lower, 1), Some(23));
        assert_eq!(rank(lower, 24), Some(0));
        assert_eq!(rank(range(0, 9, Unit::Number), 3), None);
    }

    #[test]
    fn learn_more_links_point_at_the_setting_in_its_csp_page() {
        let cases = [
            (
                "./Device/Vendor/MSFT/Policy/Config/Defender/AllowArchiveScanning",
                "https://learn.microsoft.com/windows/client-management/mdm/policy-csp-defender#allowarchivescanning",
            ),
            (
                "./Vendor/MSFT/Defender/Configuration/ArchiveMaxDepth",
                "https://learn.microsoft.com/windows/client-management/mdm/defender-csp#configurationarchivemaxdepth",
            ),
            (
                "./Vendor/MSFT/Firewall/MdmStore/Global/CRLcheck",
                "https://learn.microsoft.com/windows/client-management/mdm/firewall-csp#mdmstoreglobalcrlcheck",
            ),
            (
                "./Vendor/MSFT/Firewall/MdmStore/FirewallRules/{0}/Action/Type",
                "https://learn.microsoft.com/windows/client-management/mdm/firewall-csp#mdmstorefirewallrulesfirewallrulenameactiontype",
            ),
            (
                "./Device/Vendor/MSFT/Policy/Config/Audit/ObjectAccess_AuditFilteringPlatformConnection",
                "https://learn.microsoft.com/windows/client-management/mdm/policy-csp-audit#objectaccess_auditfilteringplatformconnection",
            ),
        ];
        for (uri, link) in cases {
            let mut definition = sample(choice(TOGGLE));
            definition.csp_uri = uri;
            assert_eq!(definition.learn_more(), link);
        }
    }

    #[test]
    fn only_group_members_and_rule_fields_are_not_top_level() {
        assert!(sample(choice(TOGGLE)).is_top_level());
        assert!(sample(choice(TOGGLE)).child_of("parent", "true").is_top_level());
        assert!(!sample(choice(TOGGLE)).member_of("parent").is_top_level());
    }
}
