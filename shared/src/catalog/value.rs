//! A configured setting: the id of a catalog definition and the value a policy gives it.
//!
//! JSON: `{"id": "device_vendor_msft_policy_config_defender_cloudblocklevel", "value": {"choice": "2"}}`.
//! Values are typed by shape only; whether a value fits its definition is for
//! [`validate_settings`](super::validate_settings) to say, with every problem and its path.

use serde::Serialize;
use shared_derive::CompactDeserialize;

use crate::device::OsProduct;

/// One setting configured by a policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ConfiguredSetting {
    /// The settingDefinitionId of the catalog definition.
    pub id: String,
    /// The value.
    pub value: SettingValue,
}

impl ConfiguredSetting {
    /// A configured setting.
    pub fn new(id: impl Into<String>, value: SettingValue) -> Self {
        Self { id: id.into(), value }
    }
}

/// The value of a configured setting; its shape must match the definition's [`SettingKind`](super::SettingKind).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SettingValue {
    /// One option, by its value (`"1"`, `"true"`, `"remove"`), not the full Graph itemId.
    Choice(String),
    /// Several options, by value.
    ChoiceList(Vec<String>),
    /// A whole number.
    Integer(i64),
    /// A text.
    String(String),
    /// A list of texts.
    StringList(Vec<String>),
    /// The members of a group that are configured.
    Group(Vec<ConfiguredSetting>),
    /// Firewall rules, each with a unique name.
    FirewallRules(Vec<FirewallRule>),
}

impl SettingValue {
    /// What kind of value this is, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Choice(_) => "a choice",
            Self::ChoiceList(_) => "a list of choices",
            Self::Integer(_) => "a whole number",
            Self::String(_) => "a text",
            Self::StringList(_) => "a list of texts",
            Self::Group(_) => "a group of settings",
            Self::FirewallRules(_) => "a list of firewall rules",
        }
    }
}

string_enum! {
    /// What a firewall rule does with matching traffic.
    pub enum RuleAction {
        Block = ("block", "Block"),
        Allow = ("allow", "Allow"),
    }
}

string_enum! {
    /// The traffic direction a firewall rule applies to.
    pub enum RuleDirection {
        In = ("in", "Inbound"),
        Out = ("out", "Outbound"),
    }
}

string_enum! {
    /// A network type (firewall profile) a rule applies to.
    pub enum NetworkType {
        Domain = ("domain", "Domain"),
        Private = ("private", "Private"),
        Public = ("public", "Public"),
        All = ("all", "All"),
        Current = ("current", "Current"),
    }
}

string_enum! {
    /// A network interface type a rule applies to.
    pub enum InterfaceType {
        RemoteAccess = ("remote_access", "Remote access"),
        Wireless = ("wireless", "Wireless"),
        Lan = ("lan", "LAN"),
        MobileBroadband = ("mobile_broadband", "Mobile broadband"),
        MobileBroadbandLegacy = ("mobile_broadband_legacy", "[Not supported] Mobile broadband (old option)"),
        All = ("all", "All"),
    }
}

impl RuleAction {
    /// The catalog option value (`_action_type`): `0` block, `1` allow.
    pub fn option_value(self) -> &'static str {
        match self {
            Self::Block => "0",
            Self::Allow => "1",
        }
    }
}

impl RuleDirection {
    /// The catalog option value (`_direction`).
    pub fn option_value(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

impl NetworkType {
    /// The catalog option value (`_profiles`), the CSP bit mask.
    pub fn option_value(self) -> &'static str {
        match self {
            Self::Domain => "1",
            Self::Private => "2",
            Self::Public => "4",
            Self::All => "2147483647",
            Self::Current => "-2147483648",
        }
    }
}

impl InterfaceType {
    /// The catalog option value (`_interfacetypes`).
    pub fn option_value(self) -> &'static str {
        match self {
            Self::RemoteAccess => "remoteaccess",
            Self::Wireless => "wireless",
            Self::Lan => "lan",
            Self::MobileBroadband => "mbb",
            Self::MobileBroadbandLegacy => "mobilebroadband",
            Self::All => "all",
        }
    }
}

/// One firewall rule. Unset fields take the device's default: enabled, allow, outbound, any protocol, all ports,
/// any address, all network and interface types, all users, no edge traversal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FirewallRule {
    /// The rule's name, unique within its policy: a rule is identified by its policy and its name, so two policies
    /// may each have a rule of the same name, and both apply.
    pub name: String,
    /// What the rule is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the rule is enforced (default: yes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Block or allow (default: allow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<RuleAction>,
    /// Inbound or outbound (default: outbound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<RuleDirection>,
    /// IP protocol number 0–255 (TCP 6, UDP 17, ICMP 1, ICMPv6 58); unset means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<i64>,
    /// Local ports and ranges (`443`, `1000-2000`); needs TCP or UDP; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_ports: Vec<String>,
    /// Remote ports and ranges; needs TCP or UDP; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_ports: Vec<String>,
    /// ICMP `type:code` pairs (`8:0`, `3:*`) or `*`; needs ICMP or ICMPv6.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub icmp_types_and_codes: Vec<String>,
    /// Local addresses, subnets and ranges, or `*`; empty means any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_addresses: Vec<String>,
    /// Remote addresses, subnets, ranges and keywords (`LocalSubnet`, `DNS`…), or `*`; empty means any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_addresses: Vec<String>,
    /// Ids (GUIDs) of reusable groups of remote addresses (dynamic keywords).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_address_dynamic_keywords: Vec<String>,
    /// The program the rule applies to, e.g. `%ProgramFiles%\App\app.exe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    /// The packaged (Store) app the rule applies to, by package family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_family_name: Option<String>,
    /// The Windows service the rule applies to, by short name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// The fully qualified binary name (publisher, product, file, version) of the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqbn: Option<String>,
    /// An application control (WDAC) tag; cannot be combined with a service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_app_id: Option<String>,
    /// The network types the rule applies to; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_types: Vec<NetworkType>,
    /// The interface types the rule applies to; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interface_types: Vec<InterfaceType>,
    /// Local users the rule is limited to; not allowed for service rules; empty means all users.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_user_authorized_list: Vec<String>,
    /// Whether inbound traffic may reach the app through NAT edge devices (default: no).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge_traversal: Option<bool>,
}

impl FirewallRule {
    /// The longest rule name accepted.
    pub const NAME_MAX: usize = 200;

    /// Each JSON field of a rule and the catalog definition that describes it (for help text and Graph mapping).
    pub const FIELD_DEFINITIONS: &'static [(&'static str, &'static str)] = &[
        ("name", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_name"),
        ("description", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_description"),
        ("enabled", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_enabled"),
        ("action", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_action_type"),
        ("direction", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_direction"),
        ("protocol", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_protocol"),
        ("local_ports", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_localportranges"),
        ("remote_ports", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_remoteportranges"),
        ("icmp_types_and_codes", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_icmptypesandcodes"),
        ("local_addresses", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_localaddressranges"),
        ("remote_addresses", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_remoteaddressranges"),
        (
            "remote_address_dynamic_keywords",
            "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_remoteaddressdynamickeywords",
        ),
        ("file_path", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_app_filepath"),
        ("package_family_name", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_app_packagefamilyname"),
        ("service_name", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_app_servicename"),
        ("fqbn", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_app_fqbn"),
        ("policy_app_id", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_policyappid"),
        ("network_types", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_profiles"),
        ("interface_types", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_interfacetypes"),
        (
            "local_user_authorized_list",
            "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_localuserauthorizedlist",
        ),
        ("edge_traversal", "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_edgetraversal"),
    ];

    /// Remote-address keywords that need Windows version 1809 or later.
    pub const KEYWORDS_SINCE_1809: &'static [&'static str] = &["Intranet", "RmtIntranet", "Internet", "Ply2Renders"];

    /// A rule with this name and every other field unset.
    pub fn named(name: impl Into<String>) -> Self {
        Self { name: name.into(), ..Self::default() }
    }

    /// Why a device running `os` cannot apply this rule, or `None` when it can. The remote-address keywords of
    /// [`Self::KEYWORDS_SINCE_1809`] need Windows version 1809 or later, which Windows Server 2012 R2 and 2016 predate.
    pub fn unsupported_reason(&self, os: OsProduct) -> Option<String> {
        if !matches!(os, OsProduct::WindowsServer2012R2 | OsProduct::WindowsServer2016) {
            return None;
        }
        let keyword = self
            .remote_addresses
            .iter()
            .find(|address| Self::KEYWORDS_SINCE_1809.iter().any(|keyword| keyword.eq_ignore_ascii_case(address)))?;
        Some(format!("The remote address keyword {keyword} needs Windows version 1809 or later, which {os} predates."))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::{Parent, definition};

    #[test]
    fn settings_serialize_with_the_value_kind_as_key() {
        let setting = ConfiguredSetting::new("x", SettingValue::Choice("1".into()));
        assert_eq!(serde_json::to_value(&setting).expect("serializes"), json!({"id": "x", "value": {"choice": "1"}}));
        let list = SettingValue::StringList(vec!["C:\\Temp".into()]);
        assert_eq!(serde_json::to_value(&list).expect("serializes"), json!({"string_list": ["C:\\Temp"]}));
    }

    #[test]
    fn rules_serialize_only_the_fields_that_are_set_and_round_trip() {
        let rule = FirewallRule {
            action: Some(RuleAction::Allow),
            direction: Some(RuleDirection::In),
            protocol: Some(6),
            local_ports: vec!["3389".into()],
            network_types: vec![NetworkType::Domain],
            ..FirewallRule::named("Allow RDP")
        };
        let json = serde_json::to_value(&rule).expect("serializes");
        assert_eq!(
            json,
            json!({"name": "Allow RDP", "action": "allow", "direction": "in", "protocol": 6,
                   "local_ports": ["3389"], "network_types": ["domain"]})
        );
        assert_eq!(serde_json::from_value::<FirewallRule>(json).expect("parses"), rule);
    }

    #[test]
    fn keywords_from_windows_1809_are_unsupported_on_server_2012_r2() {
        let rule =
            FirewallRule { remote_addresses: vec!["10.0.0.1".into(), "internet".into()], ..FirewallRule::named("r") };
        let reason = rule.unsupported_reason(OsProduct::WindowsServer2012R2).expect("unsupported");
        assert!(reason.contains("internet") && reason.contains("Windows Server 2012 R2"), "{reason}");
        assert_eq!(rule.unsupported_reason(OsProduct::WindowsServer2019), None);
        assert_eq!(rule.unsupported_reason(OsProduct::Windows11), None);
        let plain = FirewallRule { remote_addresses: vec!["LocalSubnet".into()], ..FirewallRule::named("r") };
        assert_eq!(plain.unsupported_reason(OsProduct::WindowsServer2012R2), None);
    }

    #[test]
    fn unknown_rule_fields_are_refused_instead_of_ignored() {
        let result = serde_json::from_value::<FirewallRule>(json!({"name": "x", "local_port": ["80"]}));
        assert!(result.is_err());
    }

    #[test]
    fn every_rule_field_maps_to_a_rule_member_definition_and_every_option_exists() {
        let collection = "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}";
        for (field, id) in FirewallRule::FIELD_DEFINITIONS {
            let definition = definition(id).unwrap_or_else(|| panic!("{field}: {id} is not in the catalog"));
            assert_eq!(definition.parent, Some(Parent::Member { id: collection }), "{field}");
        }
        let option_exists = |suffix: &str, value: &str| {
            definition(&format!("{collection}_{suffix}")).and_then(|d| d.option(value)).is_some()
        };
        for action in RuleAction::ALL {
            assert!(option_exists("action_type", action.option_value()));
        }
        for direction in RuleDirection::ALL {
            assert!(option_exists("direction", direction.option_value()));
        }
        for network in NetworkType::ALL {
            assert!(option_exists("profiles", network.option_value()));
        }
        for interface in InterfaceType::ALL {
            assert!(option_exists("interfacetypes", interface.option_value()));
        }
    }
}
