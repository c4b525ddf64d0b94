//! The settings catalog of the two profiles Rampart manages, and the validation of configured settings.
//!
//! The catalog is static data: every setting of the *Microsoft Defender Antivirus* profile and of the *Windows
//! Firewall* profile (global settings, the Domain/Private/Public network profiles nested under "Enable Firewall",
//! and firewall rules), each with its Graph settingDefinitionId, CSP URI, allowed values, default, parent, merge
//! behaviour and, where one is obvious, how its values rank by security. It lives in `&'static` slices, so it costs
//! nothing at start-up, natively or in wasm.
//!
//! - [`types`]: what a [`SettingDefinition`] says.
//! - [`antivirus`], [`firewall`]: the data.
//! - [`value`]: a configured value ([`ConfiguredSetting`], [`SettingValue`], [`FirewallRule`]).
//! - [`format`](mod@format): the syntax of text values (exclusion paths, ports, addresses…).
//! - [`validate`]: [`validate_settings`] and [`validate_policy_text`], called by the browser and the server alike.

pub mod antivirus;
pub mod firewall;
pub mod format;
pub mod types;
pub mod validate;
pub mod value;

pub use format::TextFormat;
pub use types::{
    ChoiceOption, DefaultValue, IntegerRange, Merge, Parent, Safer, SettingDefinition, SettingKind, Unit, Unsupported,
};
pub use validate::{POLICY_DESCRIPTION_MAX, POLICY_NAME_MAX, validate_policy_text, validate_settings};
pub use value::{ConfiguredSetting, FirewallRule, InterfaceType, NetworkType, RuleAction, RuleDirection, SettingValue};

/// The platform both profiles target, as the admin center names it.
pub const PLATFORM: &str = "Windows 10, Windows 11, and Windows Server";

string_enum! {
    /// A settings-catalog profile: what kind of policy an admin creates.
    pub enum Profile {
        Antivirus = ("microsoft_defender_antivirus", "Microsoft Defender Antivirus"),
        Firewall = ("windows_firewall", "Windows Firewall"),
    }
}

string_enum! {
    /// A group of related settings within a profile, in the order the configuration page shows them.
    pub enum Category {
        RealTimeProtection = ("real_time_protection", "Real-time protection"),
        ScanScope = ("scan_scope", "Scan scope"),
        CloudProtection = ("cloud_protection", "Cloud protection"),
        ScheduledScans = ("scheduled_scans", "Scheduled scans and performance"),
        SecurityIntelligenceUpdates = ("security_intelligence_updates", "Security intelligence updates"),
        Remediation = ("remediation", "Remediation"),
        Exclusions = ("exclusions", "Exclusions"),
        NetworkProtection = ("network_protection", "Network protection"),
        UserInterface = ("user_interface", "User interface"),
        FirewallGlobal = ("firewall_global", "Global"),
        FirewallAuditing = ("firewall_auditing", "Auditing"),
        DomainProfile = ("domain_profile", "Domain network"),
        PrivateProfile = ("private_profile", "Private network"),
        PublicProfile = ("public_profile", "Public network"),
        FirewallRules = ("firewall_rules", "Firewall rules"),
    }
}

impl Profile {
    /// The policy type this profile belongs to, as the admin center lists it ("Antivirus", "Firewall").
    pub fn policy_type(self) -> &'static str {
        match self {
            Self::Antivirus => "Antivirus",
            Self::Firewall => "Firewall",
        }
    }

    /// The profile's categories, in display order.
    pub fn categories(self) -> &'static [Category] {
        use Category as C;
        match self {
            Self::Antivirus => &[
                C::RealTimeProtection,
                C::ScanScope,
                C::CloudProtection,
                C::ScheduledScans,
                C::SecurityIntelligenceUpdates,
                C::Remediation,
                C::Exclusions,
                C::NetworkProtection,
                C::UserInterface,
            ],
            Self::Firewall => &[
                C::FirewallGlobal,
                C::FirewallAuditing,
                C::DomainProfile,
                C::PrivateProfile,
                C::PublicProfile,
                C::FirewallRules,
            ],
        }
    }

    /// Every setting definition of the profile, category by category, parents before their children.
    pub fn settings(self) -> impl Iterator<Item = &'static SettingDefinition> + Clone {
        self.categories().iter().flat_map(|category| category.settings())
    }

    /// The definition with this id, if it belongs to this profile.
    pub fn definition(self, id: &str) -> Option<&'static SettingDefinition> {
        self.settings().find(|definition| definition.id == id)
    }
}

impl Category {
    /// The profile this category belongs to.
    pub fn profile(self) -> Profile {
        match self {
            Self::RealTimeProtection
            | Self::ScanScope
            | Self::CloudProtection
            | Self::ScheduledScans
            | Self::SecurityIntelligenceUpdates
            | Self::Remediation
            | Self::Exclusions
            | Self::NetworkProtection
            | Self::UserInterface => Profile::Antivirus,
            Self::FirewallGlobal
            | Self::FirewallAuditing
            | Self::DomainProfile
            | Self::PrivateProfile
            | Self::PublicProfile
            | Self::FirewallRules => Profile::Firewall,
        }
    }

    /// The definitions of this category, parents before their children.
    pub fn settings(self) -> &'static [SettingDefinition] {
        use antivirus as av;
        use firewall as fw;
        match self {
            Self::RealTimeProtection => av::REAL_TIME_PROTECTION,
            Self::ScanScope => av::SCAN_SCOPE,
            Self::CloudProtection => av::CLOUD_PROTECTION,
            Self::ScheduledScans => av::SCHEDULED_SCANS,
            Self::SecurityIntelligenceUpdates => av::SECURITY_INTELLIGENCE_UPDATES,
            Self::Remediation => av::REMEDIATION,
            Self::Exclusions => av::EXCLUSIONS,
            Self::NetworkProtection => av::NETWORK_PROTECTION,
            Self::UserInterface => av::USER_INTERFACE,
            Self::FirewallGlobal => fw::GLOBAL,
            Self::FirewallAuditing => fw::AUDITING,
            Self::DomainProfile => fw::DOMAIN_PROFILE,
            Self::PrivateProfile => fw::PRIVATE_PROFILE,
            Self::PublicProfile => fw::PUBLIC_PROFILE,
            Self::FirewallRules => fw::FIREWALL_RULES,
        }
    }
}

/// The definition with this id, in either profile.
pub fn definition(id: &str) -> Option<&'static SettingDefinition> {
    Profile::ALL.iter().find_map(|profile| profile.definition(id))
}

/// The definitions whose parent is `parent_id` (children of one of its options, or members of its value).
pub fn children_of(parent_id: &str) -> impl Iterator<Item = &'static SettingDefinition> {
    let parent_id = parent_id.to_owned();
    Profile::ALL
        .iter()
        .flat_map(|profile| profile.settings())
        .filter(move |definition| definition.parent.is_some_and(|parent| parent.id() == parent_id))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::device::OsProduct;

    fn count(profile: Profile) -> usize {
        profile.settings().count()
    }

    #[test]
    fn each_profile_has_the_expected_number_of_settings() {
        assert_eq!(count(Profile::Antivirus), 52);
        // 8 global + 2 auditing + 3 × 17 network-profile settings + the rule collection and its 22 fields.
        assert_eq!(count(Profile::Firewall), 84);
    }

    #[test]
    fn each_category_has_the_expected_number_of_settings() {
        use Category as C;
        let expected = [
            (C::RealTimeProtection, 6),
            (C::ScanScope, 7),
            (C::CloudProtection, 5),
            (C::ScheduledScans, 11),
            (C::SecurityIntelligenceUpdates, 4),
            (C::Remediation, 6),
            (C::Exclusions, 4),
            (C::NetworkProtection, 7),
            (C::UserInterface, 2),
            (C::FirewallGlobal, 8),
            (C::FirewallAuditing, 2),
            (C::DomainProfile, 17),
            (C::PrivateProfile, 17),
            (C::PublicProfile, 17),
            (C::FirewallRules, 23),
        ];
        assert_eq!(expected.len(), Category::ALL.len(), "every category is counted");
        for (category, n) in expected {
            assert_eq!(category.settings().len(), n, "{category}");
        }
    }

    #[test]
    fn categories_partition_the_profiles_in_order() {
        let listed: Vec<Category> = Profile::ALL.iter().flat_map(|p| p.categories().iter().copied()).collect();
        assert_eq!(listed, Category::ALL);
        for category in Category::ALL {
            assert!(category.profile().categories().contains(category));
            for definition in category.settings() {
                assert_eq!(definition.category, *category, "{}", definition.id);
            }
        }
    }

    #[test]
    fn every_id_is_unique_across_both_profiles() {
        let mut seen = HashSet::new();
        for definition in Profile::ALL.iter().flat_map(|p| p.settings()) {
            assert!(seen.insert(definition.id), "duplicate id {}", definition.id);
        }
    }

    #[test]
    fn lookups_find_definitions_by_id_and_profile() {
        let id = "device_vendor_msft_policy_config_defender_allowrealtimemonitoring";
        assert_eq!(definition(id).map(|d| d.display_name), Some("Allow Realtime Monitoring"));
        assert!(Profile::Antivirus.definition(id).is_some());
        assert!(Profile::Firewall.definition(id).is_none());
        assert!(definition("no_such_setting").is_none());
        let children: Vec<&str> = children_of("device_vendor_msft_policy_config_defender_threatseveritydefaultaction")
            .map(|d| d.id)
            .collect();
        assert_eq!(children.len(), 4);
    }

    #[test]
    fn every_parent_exists_in_the_same_profile_and_comes_first() {
        for profile in Profile::ALL {
            let order: Vec<&str> = profile.settings().map(|d| d.id).collect();
            for (position, definition) in profile.settings().enumerate() {
                let Some(parent) = definition.parent else { continue };
                let parent_definition = profile
                    .definition(parent.id())
                    .unwrap_or_else(|| panic!("{}: parent {} is missing", definition.id, parent.id()));
                let parent_position = order.iter().position(|id| *id == parent.id()).expect("listed");
                assert!(parent_position < position, "{} comes before its parent", definition.id);
                match parent {
                    Parent::Option { option, .. } => {
                        assert!(
                            parent_definition.option(option).is_some(),
                            "{}: parent {} has no option {option}",
                            definition.id,
                            parent.id()
                        );
                    }
                    Parent::Member { .. } => assert!(
                        matches!(parent_definition.kind, SettingKind::Group | SettingKind::FirewallRules),
                        "{}: members belong to a group or the rule collection",
                        definition.id
                    ),
                }
            }
        }
    }

    #[test]
    fn every_firewall_network_profile_setting_hangs_under_enable_firewall_true() {
        for (category, prefix) in [
            (Category::DomainProfile, "vendor_msft_firewall_mdmstore_domainprofile_"),
            (Category::PrivateProfile, "vendor_msft_firewall_mdmstore_privateprofile_"),
            (Category::PublicProfile, "vendor_msft_firewall_mdmstore_publicprofile_"),
        ] {
            let parent_id = format!("{prefix}enablefirewall");
            let (first, rest) = category.settings().split_first().expect("not empty");
            assert_eq!(first.id, parent_id);
            assert_eq!(first.parent, None);
            for definition in rest {
                assert!(definition.id.starts_with(prefix), "{}", definition.id);
                assert_eq!(
                    definition.parent,
                    Some(Parent::Option { id: first.id, option: "true" }),
                    "{}",
                    definition.id
                );
            }
        }
    }

    #[test]
    fn every_default_is_a_valid_value_of_its_own_definition() {
        for definition in Profile::ALL.iter().flat_map(|p| p.settings()) {
            let Some(default) = definition.default else { continue };
            let value = default.to_value();
            let violations = validate::validate_value(definition, &value, "default");
            assert!(violations.is_empty(), "{}: {violations:?}", definition.id);
        }
    }

    #[test]
    fn csp_uris_are_relative_and_learn_more_links_are_https() {
        for definition in Profile::ALL.iter().flat_map(|p| p.settings()) {
            assert!(definition.csp_uri.starts_with("./"), "{}", definition.id);
            let link = definition.learn_more();
            assert!(link.starts_with("https://learn.microsoft.com/windows/client-management/mdm/"), "{link}");
            assert!(link.contains('#'), "{}: links to the setting's own section: {link}", definition.id);
        }
    }

    #[test]
    fn ids_follow_from_the_csp_uri() {
        // The Graph id is the CSP URI in lower case with `/` as `_`; Defender CSP ids add `device_`, rule fields
        // name the `{0}` placeholder, and the threat-severity actions share their group's URI.
        for definition in Profile::ALL.iter().flat_map(|p| p.settings()) {
            let path = definition.csp_uri.trim_start_matches("./").replace("{0}", "{firewallrulename}");
            let mut expected = path.to_ascii_lowercase().replace('/', "_");
            if definition.csp_uri.starts_with("./Vendor/MSFT/Defender/") {
                expected = format!("device_{expected}");
            }
            let shares_parent_uri = definition
                .parent
                .and_then(|parent| super::definition(parent.id()))
                .is_some_and(|parent| parent.csp_uri == definition.csp_uri && definition.id.starts_with(parent.id));
            assert!(definition.id == expected || shares_parent_uri, "{} vs {expected}", definition.id);
        }
    }

    #[test]
    fn every_text_is_filled_in_and_options_are_unique() {
        for definition in Profile::ALL.iter().flat_map(|p| p.settings()) {
            assert!(!definition.display_name.is_empty(), "{}", definition.id);
            assert!(definition.description.len() >= 20, "{}: describe it", definition.id);
            assert!(definition.description.ends_with('.'), "{}: full sentences", definition.id);
            if let Some(options) = definition.kind.options() {
                let values: HashSet<&str> = options.iter().map(|o| o.value).collect();
                assert_eq!(values.len(), options.len(), "{}", definition.id);
                let ranked = options.iter().filter(|o| o.rank.is_some()).count();
                assert!(ranked == 0 || ranked == options.len(), "{}: rank all options or none", definition.id);
            }
            if let SettingKind::Integer(range) = definition.kind {
                assert!(range.min <= range.max, "{}", definition.id);
            }
        }
    }

    #[test]
    fn only_exclusions_and_firewall_rules_merge() {
        let merging: Vec<&str> = Profile::ALL
            .iter()
            .flat_map(|p| p.settings())
            .filter(|d| d.merge != Merge::Conflict)
            .map(|d| d.id)
            .collect();
        assert_eq!(
            merging,
            [
                "device_vendor_msft_policy_config_defender_excludedpaths",
                "device_vendor_msft_policy_config_defender_excludedextensions",
                "device_vendor_msft_policy_config_defender_excludedprocesses",
                "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}",
            ]
        );
    }

    #[test]
    fn security_ranks_order_the_obvious_cases() {
        let rank = |id: &str, value: SettingValue| definition(id).expect("known").security_rank(&value);
        let choice = |v: &str| SettingValue::Choice(v.to_owned());
        let rtm = "device_vendor_msft_policy_config_defender_allowrealtimemonitoring";
        assert!(rank(rtm, choice("1")) > rank(rtm, choice("0")));
        let cloud = "device_vendor_msft_policy_config_defender_cloudblocklevel";
        let cloud_ranks: Vec<Option<u32>> = ["0", "2", "4", "6"].iter().map(|v| rank(cloud, choice(v))).collect();
        assert!(cloud_ranks.windows(2).all(|pair| pair[0] < pair[1]), "{cloud_ranks:?}");
        let enable = "vendor_msft_firewall_mdmstore_publicprofile_enablefirewall";
        assert!(rank(enable, choice("true")) > rank(enable, choice("false")));
        let inbound = "vendor_msft_firewall_mdmstore_domainprofile_defaultinboundaction";
        assert!(rank(inbound, choice("1")) > rank(inbound, choice("0")));
        let timeout = "device_vendor_msft_policy_config_defender_cloudextendedtimeout";
        assert!(rank(timeout, SettingValue::Integer(50)) > rank(timeout, SettingValue::Integer(10)));
        // Unranked settings and values that are not options have no rank.
        assert_eq!(rank("device_vendor_msft_policy_config_defender_allowuseruiaccess", choice("1")), None);
        assert_eq!(rank(rtm, choice("7")), None);
        assert_eq!(rank(rtm, SettingValue::Integer(1)), None);
    }

    #[test]
    fn the_whole_catalog_serializes_for_clients_that_fetch_it() {
        let catalog: Vec<&SettingDefinition> = Profile::ALL.iter().flat_map(|p| p.settings()).collect();
        let json = serde_json::to_value(&catalog).expect("serializes");
        assert_eq!(json[0]["kind"]["type"], "choice");
        let timeout = definition("device_vendor_msft_policy_config_defender_cloudextendedtimeout").expect("known");
        assert_eq!(
            serde_json::to_value(timeout.kind).expect("serializes"),
            serde_json::json!({"type": "integer", "min": 0, "max": 50, "unit": "seconds", "safer": "higher"})
        );
    }

    #[test]
    fn settings_the_research_marks_unsupported_say_so() {
        let ips =
            definition("device_vendor_msft_policy_config_defender_allowintrusionpreventionsystem").expect("known");
        for os in OsProduct::ALL {
            assert!(ips.unsupported_reason(*os).is_some(), "{os}");
        }
        let rtm = definition("device_vendor_msft_policy_config_defender_allowrealtimemonitoring").expect("known");
        assert_eq!(rtm.unsupported_reason(OsProduct::WindowsServer2012R2), None);
    }
}
