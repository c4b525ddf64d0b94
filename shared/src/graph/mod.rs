//! Import and export of policies in the Microsoft Graph (beta) settings-catalog JSON format, so that policies move
//! between Intune and Rampart (domain-research §3).
//!
//! - [`decode_text`]: the bytes of a file as text (UTF-8 with or without a byte order mark, UTF-16 with one).
//! - [`import_policy`], [`import_policy_str`], [`import_many`]: a Graph `deviceManagementConfigurationPolicy`
//!   (as Intune exports it, with or without the `@odata.*` annotations) → an [`ImportedPolicy`]. Every setting that
//!   cannot be mapped onto the catalog is listed in [`ImportedPolicy::unmapped`] with the reason, never dropped
//!   silently; the mapped settings have passed [`validate_settings`](crate::catalog::validate_settings).
//! - [`export_policy`]: a profile, name, description and configured settings → the Graph JSON body that Intune
//!   accepts and that imports back to an equal policy.
//!
//! The two shapes differ in one place: Graph nests a setting that depends on an option of another (the
//! per-network-profile firewall settings under "Enable Firewall" = `true`) inside that option's `children`, while the
//! catalog lists it beside its parent ([`Parent::Option`](crate::catalog::Parent)). Import flattens, export nests.
//! Groups (the threat-severity actions) and firewall rules are one `groupSettingCollectionValue` in both.

mod decode;
mod export;
mod import;
mod rules;

use serde::Serialize;
use shared_derive::CompactDeserialize;

pub use decode::decode_text;
pub use export::export_policy;
pub use import::{import_policy, import_policy_str};

use crate::catalog::{ConfiguredSetting, Profile};
use crate::error::Violation;

/// The Graph `platforms` of every policy Rampart manages.
pub const PLATFORMS: &str = "windows10";
/// The Graph `technologies` of endpoint-security policies that reach devices managed by Defender for Endpoint.
pub const TECHNOLOGIES: &str = "mdm,microsoftSense";

/// A policy read from a Graph export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImportedPolicy {
    /// The profile, from the file's template (or, without one, from its settings).
    pub profile: Profile,
    /// The policy's name.
    pub name: String,
    /// The policy's description (empty when the file has none).
    pub description: String,
    /// The settings that map onto the catalog; they pass `validate_settings` for `profile`. Settings that depend on
    /// an option of another follow their parent.
    pub settings: Vec<ConfiguredSetting>,
    /// Every setting of the file that could not be mapped, with the reason.
    pub unmapped: Vec<UnmappedSetting>,
}

/// A setting of an imported file that Rampart could not map onto its catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UnmappedSetting {
    /// Where the setting is in the file: `settings[4]` for a top-level setting, a JSON path below it
    /// (`settings[3].settingInstance.choiceSettingValue.children[2]`) for a nested one.
    pub path: String,
    /// Its settingDefinitionId (empty when the file gives none).
    pub setting_definition_id: String,
    /// Why it was not imported, in words an admin understands.
    pub reason: String,
}

/// An Intune endpoint-security template whose policies Rampart imports and exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    /// The Graph templateId, e.g. `804339ad-1553-4478-a742-138fb5807418_1`.
    pub id: &'static str,
    /// The name Intune shows (`templateDisplayName`).
    pub display_name: &'static str,
    /// The Graph `templateFamily`.
    pub family: &'static str,
    /// The Rampart profile its policies become.
    pub profile: Profile,
    /// The only settings the template holds, when it holds a part of the profile; empty for the whole profile.
    only: &'static [&'static str],
    /// `settingInstanceTemplateId`s of top-level settings, as seen in real exports (domain-research §1.2, §2.1, §3).
    instance_templates: &'static [(&'static str, &'static str)],
}

const EXCLUDED_PATHS: &str = "device_vendor_msft_policy_config_defender_excludedpaths";
const EXCLUDED_EXTENSIONS: &str = "device_vendor_msft_policy_config_defender_excludedextensions";
const EXCLUDED_PROCESSES: &str = "device_vendor_msft_policy_config_defender_excludedprocesses";

/// The four templates Rampart imports; the first of each profile is the one it exports to.
pub static TEMPLATES: &[Template] = &[
    Template {
        id: "804339ad-1553-4478-a742-138fb5807418_1",
        display_name: "Microsoft Defender Antivirus",
        family: "endpointSecurityAntivirus",
        profile: Profile::Antivirus,
        only: &[],
        // [OIB-AV]. The exclusion lists' ids in this template were not confirmed by a real export, so they are left out.
        instance_templates: &[
            ("device_vendor_msft_policy_config_defender_allowarchivescanning", "7c5c9cde-f74d-4d11-904f-de4c27f72d89"),
            (
                "device_vendor_msft_policy_config_defender_allowbehaviormonitoring",
                "8eef615a-1aa0-46f4-a25a-12cbe65de5ab",
            ),
            ("device_vendor_msft_policy_config_defender_allowcloudprotection", "7da139f1-9b7e-407d-853a-c2e5037cdc70"),
            ("device_vendor_msft_policy_config_defender_allowemailscanning", "b0d9ee81-de6a-4750-86d7-9397961c9852"),
            (
                "device_vendor_msft_policy_config_defender_allowfullscanremovabledrivescanning",
                "fb36e70b-5bc9-488a-a949-8ea3ac1634d5",
            ),
            ("device_vendor_msft_policy_config_defender_allowioavprotection", "fa06231d-aed4-4601-b631-3a37e85b62a0"),
            (
                "device_vendor_msft_policy_config_defender_allowonaccessprotection",
                "afbc322b-083c-4281-8242-ebbb91398b41",
            ),
            (
                "device_vendor_msft_policy_config_defender_allowrealtimemonitoring",
                "f0790e28-9231-4d37-8f44-84bb47ca1b3e",
            ),
            (
                "device_vendor_msft_policy_config_defender_allowscanningnetworkfiles",
                "f8f28442-0a6b-4b52-b42c-d31d9687c1cf",
            ),
            ("device_vendor_msft_policy_config_defender_allowscriptscanning", "000cf176-949c-4c08-a5d4-90ed43718db7"),
            ("device_vendor_msft_policy_config_defender_allowuseruiaccess", "0170a900-b0bc-4ccc-b7ce-dda9be49189b"),
            ("device_vendor_msft_policy_config_defender_avgcpuloadfactor", "816cc03e-8f96-4cba-b14f-2658d031a79a"),
            (
                "device_vendor_msft_policy_config_defender_checkforsignaturesbeforerunningscan",
                "4fea56e3-7bb6-4ad3-88c6-e364dd2f97b9",
            ),
            ("device_vendor_msft_policy_config_defender_cloudblocklevel", "c7a37009-c16e-4145-84c8-89a8c121fb15"),
            ("device_vendor_msft_policy_config_defender_cloudextendedtimeout", "f61c2788-14e4-4e80-a5a7-bf2ff5052f63"),
            (
                "device_vendor_msft_policy_config_defender_disablecatchupfullscan",
                "f881b08c-f047-40d2-b7d9-3dde7ce9ef64",
            ),
            (
                "device_vendor_msft_policy_config_defender_disablecatchupquickscan",
                "dabf6781-9d5d-42da-822a-d4327aa2bdd1",
            ),
            ("device_vendor_msft_policy_config_defender_enablelowcpupriority", "cdeb96cf-18f5-4477-a710-0ea9ecc618af"),
            (
                "device_vendor_msft_policy_config_defender_enablenetworkprotection",
                "f53ab20e-8af6-48f5-9fa1-46863e1e517e",
            ),
            ("device_vendor_msft_policy_config_defender_puaprotection", "c0135c2a-f802-44f4-9b71-b0b976411b8c"),
            ("device_vendor_msft_policy_config_defender_realtimescandirection", "f5ff00a4-e5c7-44cf-a650-9c7619ff1561"),
            ("device_vendor_msft_policy_config_defender_schedulequickscantime", "784a4af1-33fa-45f2-b945-138b7ff3bcb6"),
            (
                "device_vendor_msft_policy_config_defender_signatureupdateinterval",
                "89879f27-6b7d-44d4-a08e-0a0de3e9663d",
            ),
            ("device_vendor_msft_policy_config_defender_submitsamplesconsent", "bc47ce7d-a251-4cae-a8a2-6e8384904ab7"),
            (
                "device_vendor_msft_policy_config_defender_threatseveritydefaultaction",
                "f6394bc5-6486-4728-b510-555f5c161f2b",
            ),
            (
                "device_vendor_msft_defender_configuration_disablelocaladminmerge",
                "5f9a9c65-dea7-4987-a5f5-b28cfd9762ba",
            ),
            (
                "device_vendor_msft_defender_configuration_meteredconnectionupdates",
                "7e3aaffb-309f-46de-8cd7-25c1a3b19e5b",
            ),
        ],
    },
    Template {
        id: "6078910e-d808-4a9f-a51d-1b8a7bacb7c0_1",
        display_name: "Windows Firewall",
        family: "endpointSecurityFirewall",
        profile: Profile::Firewall,
        only: &[],
        // [OIB-FW].
        instance_templates: &[
            (
                "device_vendor_msft_policy_config_audit_objectaccess_auditfilteringplatformconnection",
                "be9453a7-6348-4112-a49e-ad029d5d3548",
            ),
            (
                "device_vendor_msft_policy_config_audit_objectaccess_auditfilteringplatformpacketdrop",
                "43f5366a-7e27-47a9-be51-d14189d02a17",
            ),
            ("vendor_msft_firewall_mdmstore_global_disablestatefulftp", "38329af6-2670-4a71-972d-482010ca97fc"),
            ("vendor_msft_firewall_mdmstore_domainprofile_enablefirewall", "7714c373-a19a-4b64-ba6d-2e9db04a7684"),
            ("vendor_msft_firewall_mdmstore_privateprofile_enablefirewall", "1c14f914-69bb-49f8-af5b-e29173a6ee95"),
            ("vendor_msft_firewall_mdmstore_publicprofile_enablefirewall", "e2714734-708e-4286-8ae9-d56821e306a3"),
        ],
    },
    Template {
        id: "45fea5e9-280d-4da1-9792-fb5736da0ca9_1",
        display_name: "Microsoft Defender Antivirus exclusions",
        family: "endpointSecurityAntivirus",
        profile: Profile::Antivirus,
        only: &[EXCLUDED_PATHS, EXCLUDED_EXTENSIONS, EXCLUDED_PROCESSES],
        // [TFP], two of them confirmed by [OIB] exports.
        instance_templates: &[
            (EXCLUDED_PATHS, "aaf04adc-c639-464f-b4a7-152e784092e8"),
            (EXCLUDED_EXTENSIONS, "c203725b-17dc-427b-9470-673a2ce9cd5e"),
            (EXCLUDED_PROCESSES, "96b046ed-f138-4250-9ae0-b0772a93d16f"),
        ],
    },
    Template {
        id: "19c8aa67-f286-4861-9aa0-f23541d31680_1",
        display_name: "Microsoft Defender Firewall Rules",
        family: "endpointSecurityFirewall",
        profile: Profile::Firewall,
        only: &[crate::catalog::firewall::RULES_ID],
        // [FW-MIG], [FW-RULE-PS].
        instance_templates: &[(crate::catalog::firewall::RULES_ID, "76c7a8be-67d2-44bf-81a5-38c94926b1a1")],
    },
];

/// Templates of the same platform that Rampart knows but does not manage, with the reason, for clearer refusals
/// when a file does not carry the template's name (domain-research §1.1, §2.1).
const OTHER_TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "e3f74c5a-a6de-411d-aef6-eb15628f3a0a_1",
        "Defender Update controls",
        "it sets Defender's update channels, which Rampart does not manage",
    ),
    (
        "d948ff9b-99cb-4ee0-8012-1fbc09685377_1",
        "Windows Security Experience",
        "it applies only to devices enrolled in Intune, not to devices managed through security settings management",
    ),
    (
        "a5481c22-7a2a-4f59-a33e-6eee30d02f94_1",
        "Windows Hyper-V Firewall Rules",
        "it applies only to devices enrolled in Intune, not to devices managed through security settings management",
    ),
];

impl Template {
    /// The template with this templateId (compared without regard to case).
    pub fn find(id: &str) -> Option<&'static Template> {
        TEMPLATES.iter().find(|template| template.id.eq_ignore_ascii_case(id))
    }

    /// The template a policy of `profile` with these settings is exported to: the narrow exclusions or firewall
    /// rules template when the policy holds nothing else (as Intune itself would have it), else the profile's own.
    pub fn for_policy(profile: Profile, settings: &[ConfiguredSetting]) -> &'static Template {
        let fits = |template: &Template| {
            template.profile == profile
                && (template.only.is_empty()
                    || (!settings.is_empty() && settings.iter().all(|s| template.only.contains(&s.id.as_str()))))
        };
        let narrow = TEMPLATES.iter().find(|template| !template.only.is_empty() && fits(template));
        narrow.unwrap_or_else(|| Self::of_profile(profile))
    }

    /// The profile's own template (Microsoft Defender Antivirus, Windows Firewall).
    pub fn of_profile(profile: Profile) -> &'static Template {
        match profile {
            Profile::Antivirus => &TEMPLATES[0],
            Profile::Firewall => &TEMPLATES[1],
        }
    }

    /// The `settingInstanceTemplateId` of a top-level setting in this template, where a real export showed it.
    pub fn setting_instance_template_id(&self, setting_id: &str) -> Option<&'static str> {
        self.instance_templates.iter().find(|(id, _)| *id == setting_id).map(|(_, template_id)| *template_id)
    }
}

/// Imports several files, each on its own: one bad file does not stop the others. Results keep the files' order
/// and names.
pub fn import_many(files: &[(String, Vec<u8>)]) -> Vec<(String, Result<ImportedPolicy, Vec<Violation>>)> {
    files.iter().map(|(name, bytes)| (name.clone(), import_policy(bytes))).collect()
}

/// The `@odata.type`s of the Graph objects Rampart reads and writes.
pub(crate) mod odata {
    pub const SETTING: &str = "#microsoft.graph.deviceManagementConfigurationSetting";
    pub const CHOICE_INSTANCE: &str = "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance";
    pub const CHOICE_COLLECTION_INSTANCE: &str =
        "#microsoft.graph.deviceManagementConfigurationChoiceSettingCollectionInstance";
    pub const SIMPLE_INSTANCE: &str = "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance";
    pub const SIMPLE_COLLECTION_INSTANCE: &str =
        "#microsoft.graph.deviceManagementConfigurationSimpleSettingCollectionInstance";
    pub const GROUP_COLLECTION_INSTANCE: &str =
        "#microsoft.graph.deviceManagementConfigurationGroupSettingCollectionInstance";
    pub const CHOICE_VALUE: &str = "#microsoft.graph.deviceManagementConfigurationChoiceSettingValue";
    pub const INTEGER_VALUE: &str = "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue";
    pub const STRING_VALUE: &str = "#microsoft.graph.deviceManagementConfigurationStringSettingValue";
    pub const GROUP_VALUE: &str = "#microsoft.graph.deviceManagementConfigurationGroupSettingValue";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Parent, SettingValue, definition};

    #[test]
    fn every_template_setting_is_a_top_level_setting_of_the_templates_profile() {
        for template in TEMPLATES {
            for id in template.only.iter().chain(template.instance_templates.iter().map(|(id, _)| id)) {
                let found = definition(id).unwrap_or_else(|| panic!("{}: {id} is not in the catalog", template.id));
                assert_eq!(found.profile(), template.profile, "{id}");
                assert!(found.parent.is_none() || matches!(found.parent, Some(Parent::Option { .. })), "{id}");
            }
        }
    }

    #[test]
    fn exports_use_the_narrow_template_only_when_the_policy_holds_nothing_else() {
        let paths = ConfiguredSetting::new(EXCLUDED_PATHS, SettingValue::StringList(vec![r"C:\Temp".into()]));
        let rtm = ConfiguredSetting::new(
            "device_vendor_msft_policy_config_defender_allowrealtimemonitoring",
            SettingValue::Choice("1".into()),
        );
        let rules = ConfiguredSetting::new(crate::catalog::firewall::RULES_ID, SettingValue::FirewallRules(vec![]));
        let id = |profile, settings: &[ConfiguredSetting]| Template::for_policy(profile, settings).id;
        assert_eq!(id(Profile::Antivirus, std::slice::from_ref(&paths)), "45fea5e9-280d-4da1-9792-fb5736da0ca9_1");
        assert_eq!(id(Profile::Antivirus, &[paths, rtm]), "804339ad-1553-4478-a742-138fb5807418_1");
        assert_eq!(id(Profile::Antivirus, &[]), "804339ad-1553-4478-a742-138fb5807418_1");
        assert_eq!(id(Profile::Firewall, &[rules]), "19c8aa67-f286-4861-9aa0-f23541d31680_1");
        assert_eq!(id(Profile::Firewall, &[]), "6078910e-d808-4a9f-a51d-1b8a7bacb7c0_1");
    }

    #[test]
    fn templates_are_found_by_id_whatever_the_case() {
        assert_eq!(
            Template::find("6078910E-D808-4A9F-A51D-1B8A7BACB7C0_1").map(|t| t.profile),
            Some(Profile::Firewall)
        );
        assert!(Template::find("e3f74c5a-a6de-411d-aef6-eb15628f3a0a_1").is_none());
        for profile in Profile::ALL {
            assert_eq!(Template::of_profile(*profile).profile, *profile);
            assert!(Template::of_profile(*profile).only.is_empty());
        }
    }
}
