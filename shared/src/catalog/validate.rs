//! Validation of a policy's configured settings against the catalog, and of its name and description.
//!
//! One function, [`validate_settings`], answers for the browser (instant feedback, in wasm) and for the server
//! (before anything is stored). It returns every problem, each with a path into the input:
//!
//! - `settings[3].id`: the setting as a whole (unknown, repeated, or its parent is missing or says otherwise);
//! - `settings[3].value`: its value (wrong kind, not an option, out of range, bad text);
//! - `settings[3].value[2]`: one entry of a list, or one member of a group (then `….value[2].value`);
//! - `settings[5].rules`: the list of firewall rules as a whole;
//! - `settings[5].rules["Allow RDP"].local_ports[0]`: a field of a firewall rule, addressed by the rule's name
//!   (by position, `rules[4]`, when the name is empty or repeated).

use std::collections::HashMap;

use super::format::TextFormat;
use super::types::{ChoiceOption, Parent, SettingDefinition, SettingKind};
use super::value::{ConfiguredSetting, FirewallRule, InterfaceType, NetworkType, SettingValue};
use super::{Profile, children_of, definition};
use crate::error::Violation;

/// The longest policy name accepted.
pub const POLICY_NAME_MAX: usize = 200;
/// The longest policy description accepted.
pub const POLICY_DESCRIPTION_MAX: usize = 1024;

/// The protocol numbers that have ports.
const TCP: i64 = 6;
const UDP: i64 = 17;
/// The protocol numbers that have ICMP types.
const ICMP: i64 = 1;
const ICMPV6: i64 = 58;

/// Checks a policy's name and description; paths are `name` and `description`.
pub fn validate_policy_text(name: &str, description: &str) -> Vec<Violation> {
    let mut violations = Vec::new();
    let name_problem = if name.trim().is_empty() {
        Some("is required".to_owned())
    } else if name.trim() != name {
        Some("must not start or end with spaces".to_owned())
    } else if name.chars().count() > POLICY_NAME_MAX {
        Some(format!("must be at most {POLICY_NAME_MAX} characters (it has {})", name.chars().count()))
    } else if name.chars().any(char::is_control) {
        Some("must be one line without control characters".to_owned())
    } else {
        None
    };
    violations.extend(name_problem.map(|message| Violation::new("name", message)));
    if description.chars().count() > POLICY_DESCRIPTION_MAX {
        let n = description.chars().count();
        violations.push(Violation::new(
            "description",
            format!("must be at most {POLICY_DESCRIPTION_MAX} characters (it has {n})"),
        ));
    } else if description.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        violations.push(Violation::new("description", "must not contain control characters"));
    }
    violations
}

/// Checks the configured settings of a policy of `profile`: known ids, no setting twice, each value of the right
/// kind and allowed by its definition, and every child configured only when its parent has the enabling option.
/// Returns every problem; an empty list means the settings are valid.
pub fn validate_settings(profile: Profile, settings: &[ConfiguredSetting]) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut first_index: HashMap<&str, usize> = HashMap::new();
    for (i, setting) in settings.iter().enumerate() {
        first_index.entry(setting.id.as_str()).or_insert(i);
    }
    for (i, setting) in settings.iter().enumerate() {
        let base = format!("settings[{i}]");
        let id_path = format!("{base}.id");
        let Some(definition) = top_level_definition(profile, &setting.id, &id_path, &mut violations) else {
            continue;
        };
        if let Some(&first) = first_index.get(setting.id.as_str())
            && first != i
        {
            let message = format!(
                "{:?} is already configured in settings[{first}]; configure each setting once",
                definition.display_name
            );
            violations.push(Violation::new(id_path, message));
            continue;
        }
        if let Some(Parent::Option { id: parent_id, option }) = definition.parent {
            check_parent(definition, parent_id, option, settings, &first_index, &id_path, &mut violations);
        }
        check_value(definition, &setting.value, &base, &mut violations);
    }
    violations
}

/// The definition of a setting that may be configured on its own in a policy of `profile`, or a violation.
fn top_level_definition(
    profile: Profile,
    id: &str,
    path: &str,
    violations: &mut Vec<Violation>,
) -> Option<&'static SettingDefinition> {
    let message = match profile.definition(id) {
        Some(found) if found.is_top_level() => return Some(found),
        Some(found) => {
            let container = found.parent.and_then(|parent| definition(parent.id())).map_or("", |d| d.display_name);
            format!("{:?} is part of {container:?}; configure it inside that setting", found.display_name)
        }
        None if id.is_empty() => "is required".to_owned(),
        None => match definition(id) {
            Some(other) => format!(
                "{:?} belongs to the {} profile, not to {}",
                other.display_name,
                other.profile().label(),
                profile.label()
            ),
            None => format!("{id:?} is not a setting of the {} profile", profile.label()),
        },
    };
    violations.push(Violation::new(path, message));
    None
}

fn check_parent(
    child: &SettingDefinition,
    parent_id: &str,
    option: &str,
    settings: &[ConfiguredSetting],
    first_index: &HashMap<&str, usize>,
    path: &str,
    violations: &mut Vec<Violation>,
) {
    let Some(parent) = definition(parent_id) else { return };
    let option_label = parent.option(option).map_or(option, |o| o.label);
    let condition =
        format!("{:?} applies only when {:?} is set to {option_label:?}", child.display_name, parent.display_name);
    match first_index.get(parent_id).map(|&j| (j, &settings[j].value)) {
        None => violations.push(Violation::new(path, format!("{condition}; configure that setting as well"))),
        Some((_, SettingValue::Choice(value))) if value == option => {}
        Some((j, value)) => {
            let current = match value {
                SettingValue::Choice(value) => parent.option(value).map_or(value.as_str(), |o| o.label),
                _ => "another value",
            };
            violations.push(Violation::new(path, format!("{condition}, but settings[{j}] sets it to {current:?}")));
        }
    }
}

/// Checks a value against its definition; `base` is the path of the setting (`settings[3]`), and problems are
/// reported at `base.value…` (or `base.rules…` for firewall rules).
#[cfg(test)]
pub(crate) fn validate_value(definition: &SettingDefinition, value: &SettingValue, base: &str) -> Vec<Violation> {
    let mut violations = Vec::new();
    check_value(definition, value, base, &mut violations);
    violations
}

fn check_value(definition: &SettingDefinition, value: &SettingValue, base: &str, violations: &mut Vec<Violation>) {
    let path = format!("{base}.value");
    match (definition.kind, value) {
        (SettingKind::Choice { options }, SettingValue::Choice(choice)) => {
            if let Err(message) = check_option(definition, options, choice) {
                violations.push(Violation::new(path, message));
            }
        }
        (SettingKind::ChoiceList { options, exclusive }, SettingValue::ChoiceList(choices)) => {
            check_choice_list(definition, options, exclusive, choices, &path, violations);
        }
        (SettingKind::Integer(range), SettingValue::Integer(n)) => {
            if !(range.min..=range.max).contains(n) {
                let unit = match range.unit.label() {
                    "" => String::new(),
                    "%" => "%".to_owned(),
                    label => format!(" {label}"),
                };
                let message = format!("must be from {} to {}{unit}, not {n}", range.min, range.max);
                violations.push(Violation::new(path, message));
            }
        }
        (SettingKind::Text { format }, SettingValue::String(text)) => {
            if let Err(message) = format.check(text) {
                violations.push(Violation::new(path, message));
            }
        }
        (SettingKind::TextList { format }, SettingValue::StringList(items)) => {
            check_text_list(format, items, &path, false, violations);
        }
        (SettingKind::Group, SettingValue::Group(members)) => check_group(definition, members, &path, violations),
        (SettingKind::FirewallRules, SettingValue::FirewallRules(rules)) => {
            check_rules(rules, &format!("{base}.rules"), violations);
        }
        (kind, value) => {
            violations.push(Violation::new(path, format!("must be {}, not {}", kind.expected(), value.kind_name())));
        }
    }
}

fn check_option(definition: &SettingDefinition, options: &[ChoiceOption], value: &str) -> Result<(), String> {
    if options.iter().any(|option| option.value == value) {
        return Ok(());
    }
    if let Some(suffix) = value.strip_prefix(definition.id).and_then(|rest| rest.strip_prefix('_'))
        && options.iter().any(|option| option.value == suffix)
    {
        return Err(format!("give the option's value {suffix:?}, not the full item id"));
    }
    let listed: Vec<String> = options.iter().map(|o| format!("{:?} ({})", o.value, o.label)).collect();
    Err(format!("must be one of {}; {value:?} is not an option", listed.join(", ")))
}

fn check_choice_list(
    definition: &SettingDefinition,
    options: &[ChoiceOption],
    exclusive: &[&str],
    choices: &[String],
    path: &str,
    violations: &mut Vec<Violation>,
) {
    if choices.is_empty() {
        violations
            .push(Violation::new(path, "must contain at least one choice; leave the setting unconfigured instead"));
        return;
    }
    for (k, choice) in choices.iter().enumerate() {
        if let Err(message) = check_option(definition, options, choice) {
            violations.push(Violation::new(format!("{path}[{k}]"), message));
        } else if choices[..k].contains(choice) {
            violations.push(Violation::new(format!("{path}[{k}]"), "is chosen more than once"));
        }
    }
    if choices.len() > 1
        && let Some(alone) =
            options.iter().find(|o| exclusive.contains(&o.value) && choices.iter().any(|c| c == o.value))
    {
        violations.push(Violation::new(path, format!("{:?} must be chosen alone", alone.label)));
    }
}

fn check_text_list(
    format: TextFormat,
    items: &[String],
    path: &str,
    allow_empty: bool,
    violations: &mut Vec<Violation>,
) {
    if items.is_empty() && !allow_empty {
        violations
            .push(Violation::new(path, "must contain at least one entry; leave the setting unconfigured instead"));
        return;
    }
    let key = |item: &str| if format.ignores_case() { item.to_lowercase() } else { item.to_owned() };
    let mut seen = std::collections::HashSet::new();
    for (k, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{k}]");
        if let Err(message) = format.check(item) {
            violations.push(Violation::new(item_path, message));
        } else if !seen.insert(key(item)) {
            violations.push(Violation::new(item_path, "is listed more than once"));
        }
    }
    if format.has_any_token() && items.len() > 1 && items.iter().any(|item| item == "*") {
        violations.push(Violation::new(path, "* (any) must be the only entry"));
    }
}

fn check_group(group: &SettingDefinition, members: &[ConfiguredSetting], path: &str, violations: &mut Vec<Violation>) {
    let allowed: Vec<&'static SettingDefinition> = children_of(group.id).collect();
    if members.is_empty() {
        let names: Vec<&str> = allowed.iter().map(|d| d.display_name).collect();
        let message = format!("must configure at least one of: {}", names.join("; "));
        violations.push(Violation::new(path, message));
        return;
    }
    for (k, member) in members.iter().enumerate() {
        let member_base = format!("{path}[{k}]");
        let Some(member_definition) = allowed.iter().find(|d| d.id == member.id) else {
            let message = format!("{:?} is not part of {:?}", member.id, group.display_name);
            violations.push(Violation::new(format!("{member_base}.id"), message));
            continue;
        };
        if members[..k].iter().any(|earlier| earlier.id == member.id) {
            let message = format!("{:?} is configured more than once", member_definition.display_name);
            violations.push(Violation::new(format!("{member_base}.id"), message));
            continue;
        }
        check_value(member_definition, &member.value, &member_base, violations);
    }
}

/// A rule's path: by name, or by position when the name cannot identify it.
fn rule_path(rules_path: &str, index: usize, rule: &FirewallRule, name_taken: bool) -> String {
    if rule.name.trim().is_empty() || name_taken {
        format!("{rules_path}[{index}]")
    } else {
        format!("{rules_path}[{}]", serde_json::Value::String(rule.name.clone()))
    }
}

fn check_rules(rules: &[FirewallRule], path: &str, violations: &mut Vec<Violation>) {
    if rules.is_empty() {
        violations.push(Violation::new(path, "must contain at least one rule; leave the setting unconfigured instead"));
        return;
    }
    let mut names: HashMap<String, usize> = HashMap::new();
    for (index, rule) in rules.iter().enumerate() {
        let first_with_name = names.get(&rule.name.to_lowercase()).copied();
        let path = rule_path(path, index, rule, first_with_name.is_some());
        match first_with_name {
            Some(first) => {
                let message = format!(
                    "another rule ({}) is already named {:?}; rule names must be unique, whatever their case",
                    rules[first].name, rule.name
                );
                violations.push(Violation::new(format!("{path}.name"), message));
            }
            None => {
                names.insert(rule.name.to_lowercase(), index);
            }
        }
        check_rule(rule, &path, violations);
    }
}

fn check_rule_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("is required".into());
    }
    if name.trim() != name {
        return Err("must not start or end with spaces".into());
    }
    let n = name.chars().count();
    if n > FirewallRule::NAME_MAX {
        return Err(format!("must be at most {} characters (it has {n})", FirewallRule::NAME_MAX));
    }
    if name.contains('/') {
        return Err("must not contain a forward slash (/): the name identifies the rule on the device".into());
    }
    if name.chars().any(char::is_control) {
        return Err("must be one line without control characters".into());
    }
    Ok(())
}

fn check_rule(rule: &FirewallRule, path: &str, violations: &mut Vec<Violation>) {
    let mut problem =
        |field: &str, message: String| violations.push(Violation::new(format!("{path}.{field}"), message));
    if let Err(message) = check_rule_name(&rule.name) {
        problem("name", message);
    }
    let texts = [
        ("description", &rule.description, TextFormat::Text),
        ("file_path", &rule.file_path, TextFormat::FilePath),
        ("package_family_name", &rule.package_family_name, TextFormat::PackageFamilyName),
        ("service_name", &rule.service_name, TextFormat::ServiceName),
        ("fqbn", &rule.fqbn, TextFormat::Text),
        ("policy_app_id", &rule.policy_app_id, TextFormat::PolicyAppId),
    ];
    for (field, text, format) in texts {
        if let Some(Err(message)) = text.as_deref().map(|text| format.check(text)) {
            problem(field, message);
        }
    }
    if let Some(protocol) = rule.protocol
        && !(0..=255).contains(&protocol)
    {
        problem(
            "protocol",
            format!("must be a protocol number from 0 to 255 (TCP 6, UDP 17, ICMP 1, ICMPv6 58), not {protocol}"),
        );
    }
    let protocol_name = |protocol: Option<i64>| match protocol {
        None => "any protocol".to_owned(),
        Some(p) => format!("protocol {p}"),
    };
    for (field, ports) in [("local_ports", &rule.local_ports), ("remote_ports", &rule.remote_ports)] {
        if !ports.is_empty() && !matches!(rule.protocol, Some(TCP | UDP)) {
            let message =
                format!("ports need the protocol TCP (6) or UDP (17); this rule has {}", protocol_name(rule.protocol));
            problem(field, message);
        }
    }
    if !rule.icmp_types_and_codes.is_empty() && !matches!(rule.protocol, Some(ICMP | ICMPV6)) {
        let message = format!(
            "ICMP types need the protocol ICMP (1) or ICMPv6 (58); this rule has {}",
            protocol_name(rule.protocol)
        );
        problem("icmp_types_and_codes", message);
    }
    if rule.policy_app_id.is_some() && rule.service_name.is_some() {
        problem(
            "policy_app_id",
            "cannot be combined with a service name: a rule targets either a service or an application control tag"
                .into(),
        );
    }
    if !rule.local_user_authorized_list.is_empty() && rule.service_name.is_some() {
        problem("local_user_authorized_list", "cannot be used in a rule for a service".into());
    }
    check_network_types(&rule.network_types, &mut problem);
    check_interface_types(&rule.interface_types, &mut problem);
    let lists = [
        ("local_ports", &rule.local_ports, TextFormat::PortRange),
        ("remote_ports", &rule.remote_ports, TextFormat::PortRange),
        ("icmp_types_and_codes", &rule.icmp_types_and_codes, TextFormat::IcmpTypeCode),
        ("local_addresses", &rule.local_addresses, TextFormat::LocalAddress),
        ("remote_addresses", &rule.remote_addresses, TextFormat::RemoteAddress),
        ("remote_address_dynamic_keywords", &rule.remote_address_dynamic_keywords, TextFormat::Guid),
        ("local_user_authorized_list", &rule.local_user_authorized_list, TextFormat::Text),
    ];
    for (field, items, format) in lists {
        check_text_list(format, items, &format!("{path}.{field}"), true, violations);
    }
}

fn check_network_types(types: &[NetworkType], problem: &mut impl FnMut(&str, String)) {
    if types.contains(&NetworkType::Current) {
        problem("network_types", "\"Current\" cannot be used in a rule; choose Domain, Private, Public or All".into());
    } else if types.len() > 1 && types.contains(&NetworkType::All) {
        problem("network_types", "\"All\" must be chosen alone".into());
    }
    if types.iter().enumerate().any(|(k, t)| types[..k].contains(t)) {
        problem("network_types", "lists a network type more than once".into());
    }
}

fn check_interface_types(types: &[InterfaceType], problem: &mut impl FnMut(&str, String)) {
    if types.contains(&InterfaceType::MobileBroadbandLegacy) {
        problem(
            "interface_types",
            "\"mobile_broadband_legacy\" is no longer supported; choose \"mobile_broadband\" instead".into(),
        );
    }
    if types.len() > 1 && types.contains(&InterfaceType::All) {
        problem("interface_types", "\"All\" must be chosen alone".into());
    }
    if types.iter().enumerate().any(|(k, t)| types[..k].contains(t)) {
        problem("interface_types", "lists an interface type more than once".into());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::value::{RuleAction, RuleDirection};

    const RTM: &str = "device_vendor_msft_policy_config_defender_allowrealtimemonitoring";
    const CLOUD_LEVEL: &str = "device_vendor_msft_policy_config_defender_cloudblocklevel";
    const TIMEOUT: &str = "device_vendor_msft_policy_config_defender_cloudextendedtimeout";
    const PATHS: &str = "device_vendor_msft_policy_config_defender_excludedpaths";
    const EXTENSIONS: &str = "device_vendor_msft_policy_config_defender_excludedextensions";
    const PROCESSES: &str = "device_vendor_msft_policy_config_defender_excludedprocesses";
    const FALLBACK: &str = "device_vendor_msft_policy_config_defender_signatureupdatefallbackorder";
    const THREATS: &str = "device_vendor_msft_policy_config_defender_threatseveritydefaultaction";
    const SEVERE: &str = "device_vendor_msft_policy_config_defender_threatseveritydefaultaction_severethreats";
    const LOW: &str = "device_vendor_msft_policy_config_defender_threatseveritydefaultaction_lowseveritythreats";
    const DOMAIN_ON: &str = "vendor_msft_firewall_mdmstore_domainprofile_enablefirewall";
    const DOMAIN_INBOUND: &str = "vendor_msft_firewall_mdmstore_domainprofile_defaultinboundaction";
    const DOMAIN_LOG: &str = "vendor_msft_firewall_mdmstore_domainprofile_logfilepath";
    const PACKET_QUEUE: &str = "vendor_msft_firewall_mdmstore_global_enablepacketqueue";
    const RULES: &str = "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}";

    fn choice(id: &str, value: &str) -> ConfiguredSetting {
        ConfiguredSetting::new(id, SettingValue::Choice(value.into()))
    }

    fn strings(id: &str, items: &[&str]) -> ConfiguredSetting {
        ConfiguredSetting::new(id, SettingValue::StringList(items.iter().map(|s| (*s).to_owned()).collect()))
    }

    fn rules(rules: Vec<FirewallRule>) -> ConfiguredSetting {
        ConfiguredSetting::new(RULES, SettingValue::FirewallRules(rules))
    }

    fn paths(violations: &[Violation]) -> Vec<&str> {
        violations.iter().map(|v| v.path.as_str()).collect()
    }

    /// Validates `settings` and asserts the paths of the violations, in order.
    fn assert_paths(profile: Profile, settings: Vec<ConfiguredSetting>, expected: &[&str]) -> Vec<Violation> {
        let violations = validate_settings(profile, &settings);
        assert_eq!(paths(&violations), expected, "{violations:#?}");
        violations
    }

    fn rdp() -> FirewallRule {
        FirewallRule {
            action: Some(RuleAction::Allow),
            direction: Some(RuleDirection::In),
            protocol: Some(TCP),
            local_ports: vec!["3389".into()],
            remote_addresses: vec!["10.0.0.0/8".into(), "LocalSubnet".into()],
            ..FirewallRule::named("Allow RDP")
        }
    }

    #[test]
    fn a_realistic_antivirus_policy_is_valid() {
        let settings = vec![
            choice(RTM, "1"),
            choice(CLOUD_LEVEL, "2"),
            ConfiguredSetting::new(TIMEOUT, SettingValue::Integer(50)),
            strings(PATHS, &[r"C:\Temp", r"%ProgramFiles%\Contoso\*.tmp"]),
            strings(EXTENSIONS, &["log", "tmp"]),
            strings(PROCESSES, &["backup.exe", r"C:\Tools\scanner.exe"]),
            strings(FALLBACK, &["MicrosoftUpdateServer", "MMPC"]),
            ConfiguredSetting::new(
                THREATS,
                SettingValue::Group(vec![choice(SEVERE, "remove"), choice(LOW, "quarantine")]),
            ),
        ];
        assert_paths(Profile::Antivirus, settings, &[]);
    }

    #[test]
    fn a_realistic_firewall_policy_is_valid() {
        let settings = vec![
            choice(DOMAIN_ON, "true"),
            choice(DOMAIN_INBOUND, "1"),
            ConfiguredSetting::new(
                DOMAIN_LOG,
                SettingValue::String(r"%SystemRoot%\System32\logfiles\firewall\domainfw.log".into()),
            ),
            ConfiguredSetting::new(PACKET_QUEUE, SettingValue::ChoiceList(vec!["1".into(), "2".into()])),
            rules(vec![
                rdp(),
                FirewallRule {
                    protocol: Some(ICMP),
                    icmp_types_and_codes: vec!["8:0".into()],
                    network_types: vec![NetworkType::Domain, NetworkType::Private],
                    ..FirewallRule::named("Allow ping")
                },
                FirewallRule {
                    action: Some(RuleAction::Block),
                    direction: Some(RuleDirection::Out),
                    file_path: Some(r"C:\Program Files\Google\Chrome\Application\chrome.exe".into()),
                    protocol: Some(TCP),
                    remote_ports: vec!["80".into(), "443".into()],
                    interface_types: vec![InterfaceType::All],
                    ..FirewallRule::named("Block Chrome Internet")
                },
            ]),
        ];
        assert_paths(Profile::Firewall, settings, &[]);
    }

    #[test]
    fn unknown_misplaced_and_repeated_ids_are_reported_on_the_id() {
        let violations = assert_paths(
            Profile::Antivirus,
            vec![
                choice("device_vendor_msft_policy_config_defender_nosuchthing", "1"),
                choice(DOMAIN_ON, "true"),
                choice(SEVERE, "remove"),
                choice(RTM, "1"),
                choice(RTM, "0"),
                choice("", "1"),
            ],
            &["settings[0].id", "settings[1].id", "settings[2].id", "settings[4].id", "settings[5].id"],
        );
        assert!(violations[0].message.contains("not a setting of the Microsoft Defender Antivirus profile"));
        assert!(violations[1].message.contains("belongs to the Windows Firewall profile"), "{}", violations[1].message);
        assert!(violations[2].message.contains("inside that setting"), "{}", violations[2].message);
        assert!(violations[3].message.contains("already configured in settings[3]"), "{}", violations[3].message);
        assert_eq!(violations[4].message, "is required");
    }

    #[test]
    fn values_of_the_wrong_kind_are_refused_with_what_is_expected() {
        let violations = assert_paths(
            Profile::Antivirus,
            vec![
                ConfiguredSetting::new(RTM, SettingValue::Integer(1)),
                ConfiguredSetting::new(TIMEOUT, SettingValue::String("50".into())),
                ConfiguredSetting::new(PATHS, SettingValue::String(r"C:\Temp".into())),
            ],
            &["settings[0].value", "settings[1].value", "settings[2].value"],
        );
        assert_eq!(violations[0].message, "must be a choice (\"choice\"), not a whole number");
        assert_eq!(violations[2].message, "must be a list of texts (\"string_list\"), not a text");
    }

    #[test]
    fn choices_must_be_options_of_the_setting() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            (CLOUD_LEVEL, "6", None),
            (CLOUD_LEVEL, "0", None),
            (
                CLOUD_LEVEL,
                "3",
                Some("must be one of \"0\" (Default), \"2\" (High), \"4\" (High plus), \"6\" (Zero tolerance)"),
            ),
            (CLOUD_LEVEL, "device_vendor_msft_policy_config_defender_cloudblocklevel_4", Some("not the full item id")),
            (RTM, "true", Some("\"true\" is not an option")),
        ];
        for (id, value, expected) in cases {
            let violations = validate_settings(Profile::Antivirus, &[choice(id, value)]);
            match expected {
                None => assert!(violations.is_empty(), "{value}: {violations:?}"),
                Some(fragment) => {
                    assert_eq!(paths(&violations), ["settings[0].value"], "{value}");
                    assert!(violations[0].message.contains(fragment), "{value}: {}", violations[0].message);
                }
            }
        }
    }

    #[test]
    fn integers_must_be_in_range() {
        let cases = [(TIMEOUT, 0, true), (TIMEOUT, 50, true), (TIMEOUT, 51, false), (TIMEOUT, -1, false)];
        for (id, n, valid) in cases {
            let violations =
                validate_settings(Profile::Antivirus, &[ConfiguredSetting::new(id, SettingValue::Integer(n))]);
            assert_eq!(violations.is_empty(), valid, "{n}: {violations:?}");
        }
        let violations =
            validate_settings(Profile::Antivirus, &[ConfiguredSetting::new(TIMEOUT, SettingValue::Integer(90))]);
        assert_eq!(violations[0].message, "must be from 0 to 50 seconds, not 90");
        let cpu = "device_vendor_msft_policy_config_defender_avgcpuloadfactor";
        let violations =
            validate_settings(Profile::Antivirus, &[ConfiguredSetting::new(cpu, SettingValue::Integer(101))]);
        assert_eq!(violations[0].message, "must be from 0 to 100%, not 101");
    }

    #[test]
    fn exclusion_lists_check_every_entry_and_repeats() {
        let violations = assert_paths(
            Profile::Antivirus,
            vec![
                strings(PATHS, &[r"C:\Temp", "relative\\path", r"c:\temp", "C:/Temp"]),
                strings(EXTENSIONS, &[".log", "tmp", "TMP", "a/b"]),
                strings(PROCESSES, &["app.exe", r"Tools\app.exe", "APP.EXE"]),
                strings(PATHS, &[]),
            ],
            &[
                "settings[0].value[1]",
                "settings[0].value[2]",
                "settings[0].value[3]",
                "settings[1].value[0]",
                "settings[1].value[2]",
                "settings[1].value[3]",
                "settings[2].value[1]",
                "settings[2].value[2]",
                "settings[3].id",
            ],
        );
        assert_eq!(violations[1].message, "is listed more than once");
        assert_eq!(violations[3].message, "write the extension without the leading dot: \"log\"");
    }

    #[test]
    fn empty_lists_are_refused_in_favour_of_leaving_the_setting_unconfigured() {
        let violations = assert_paths(
            Profile::Antivirus,
            vec![strings(EXTENSIONS, &[]), ConfiguredSetting::new(THREATS, SettingValue::Group(vec![]))],
            &["settings[0].value", "settings[1].value"],
        );
        assert!(violations[0].message.contains("leave the setting unconfigured"));
        assert!(violations[1].message.contains("Remediation action for Low severity threats"));
    }

    #[test]
    fn update_sources_are_known_tokens_listed_once() {
        assert_paths(
            Profile::Antivirus,
            vec![strings(FALLBACK, &["MMPC", "WSUS", "mmpc"])],
            &["settings[0].value[1]", "settings[0].value[2]"],
        );
    }

    #[test]
    fn group_members_are_validated_inside_the_group() {
        let violations = assert_paths(
            Profile::Antivirus,
            vec![ConfiguredSetting::new(
                THREATS,
                SettingValue::Group(vec![
                    choice(SEVERE, "remove"),
                    choice(LOW, "delete"),
                    choice(SEVERE, "block"),
                    choice(RTM, "1"),
                ]),
            )],
            &["settings[0].value[1].value", "settings[0].value[2].id", "settings[0].value[3].id"],
        );
        assert!(violations[0].message.contains("\"quarantine\""), "{}", violations[0].message);
    }

    #[test]
    fn network_profile_settings_need_their_firewall_enabled() {
        let cases: &[(Vec<ConfiguredSetting>, &[&str])] = &[
            (vec![choice(DOMAIN_ON, "true"), choice(DOMAIN_INBOUND, "1")], &[]),
            (vec![choice(DOMAIN_INBOUND, "1"), choice(DOMAIN_ON, "true")], &[]),
            (vec![choice(DOMAIN_ON, "false")], &[]),
            (vec![choice(DOMAIN_INBOUND, "1")], &["settings[0].id"]),
            (vec![choice(DOMAIN_ON, "false"), choice(DOMAIN_INBOUND, "1")], &["settings[1].id"]),
            (
                vec![
                    choice("vendor_msft_firewall_mdmstore_publicprofile_enablefirewall", "true"),
                    choice(DOMAIN_INBOUND, "1"),
                ],
                &["settings[1].id"],
            ),
        ];
        for (settings, expected) in cases {
            assert_paths(Profile::Firewall, settings.clone(), expected);
        }
        let violations =
            validate_settings(Profile::Firewall, &[choice(DOMAIN_ON, "false"), choice(DOMAIN_INBOUND, "1")]);
        assert_eq!(
            violations[0].message,
            "\"Default Inbound Action for Domain Profile\" applies only when \"Enable Domain Network Firewall\" is set \
             to \"Yes\", but settings[0] sets it to \"No\""
        );
    }

    #[test]
    fn choice_lists_refuse_unknown_repeated_and_non_exclusive_choices() {
        let list = |values: &[&str]| {
            vec![ConfiguredSetting::new(
                PACKET_QUEUE,
                SettingValue::ChoiceList(values.iter().map(|v| (*v).into()).collect()),
            )]
        };
        assert_paths(Profile::Firewall, list(&["0"]), &[]);
        assert_paths(Profile::Firewall, list(&["1", "2"]), &[]);
        assert_paths(Profile::Firewall, list(&["0", "1"]), &["settings[0].value"]);
        assert_paths(Profile::Firewall, list(&["1", "1"]), &["settings[0].value[1]"]);
        assert_paths(Profile::Firewall, list(&["3"]), &["settings[0].value[0]"]);
        assert_paths(Profile::Firewall, list(&[]), &["settings[0].value"]);
    }

    #[test]
    fn rule_fields_are_reported_by_rule_name() {
        let bad_ports = FirewallRule { local_ports: vec!["3389".into(), "70000".into()], ..rdp() };
        let violations = assert_paths(
            Profile::Firewall,
            vec![rules(vec![bad_ports])],
            &["settings[0].rules[\"Allow RDP\"].local_ports[1]"],
        );
        assert_eq!(violations[0].message, "\"70000\" is not a port number from 1 to 65535");
    }

    #[test]
    fn rule_names_are_required_unique_and_without_slashes() {
        let violations = assert_paths(
            Profile::Firewall,
            vec![rules(vec![
                rdp(),
                FirewallRule::named("allow rdp"),
                FirewallRule::named(""),
                FirewallRule::named("In/Out"),
                FirewallRule::named("x".repeat(201)),
            ])],
            &[
                "settings[0].rules[1].name",
                "settings[0].rules[2].name",
                "settings[0].rules[\"In/Out\"].name",
                &format!("settings[0].rules[\"{}\"].name", "x".repeat(201)),
            ],
        );
        assert!(violations[0].message.contains("must be unique"), "{}", violations[0].message);
        assert_eq!(violations[1].message, "is required");
        assert_paths(Profile::Firewall, vec![rules(vec![])], &["settings[0].rules"]);
    }

    #[test]
    fn ports_need_tcp_or_udp_and_icmp_types_need_icmp() {
        let rule = |protocol: Option<i64>, ports: &[&str], icmp: &[&str]| FirewallRule {
            protocol,
            remote_ports: ports.iter().map(|p| (*p).into()).collect(),
            icmp_types_and_codes: icmp.iter().map(|p| (*p).into()).collect(),
            ..FirewallRule::named("r")
        };
        let cases: &[(FirewallRule, &[&str])] = &[
            (rule(Some(TCP), &["80", "443", "1000-2000"], &[]), &[]),
            (rule(Some(UDP), &["53"], &[]), &[]),
            (rule(None, &["80"], &[]), &["settings[0].rules[\"r\"].remote_ports"]),
            (rule(Some(ICMP), &["80"], &[]), &["settings[0].rules[\"r\"].remote_ports"]),
            (rule(Some(ICMP), &[], &["8:0", "3:*"]), &[]),
            (rule(Some(ICMPV6), &[], &["*"]), &[]),
            (rule(Some(TCP), &[], &["8:0"]), &["settings[0].rules[\"r\"].icmp_types_and_codes"]),
            (rule(Some(ICMP), &[], &["*", "8:0"]), &["settings[0].rules[\"r\"].icmp_types_and_codes"]),
            (rule(Some(ICMP), &[], &["*:4"]), &["settings[0].rules[\"r\"].icmp_types_and_codes[0]"]),
            (rule(Some(256), &[], &[]), &["settings[0].rules[\"r\"].protocol"]),
            (rule(Some(-1), &[], &[]), &["settings[0].rules[\"r\"].protocol"]),
        ];
        for (rule, expected) in cases {
            assert_paths(Profile::Firewall, vec![rules(vec![rule.clone()])], expected);
        }
    }

    #[test]
    fn addresses_accept_ips_subnets_ranges_and_remote_keywords_only_where_allowed() {
        let rule = |local: &[&str], remote: &[&str]| FirewallRule {
            local_addresses: local.iter().map(|a| (*a).into()).collect(),
            remote_addresses: remote.iter().map(|a| (*a).into()).collect(),
            ..FirewallRule::named("r")
        };
        let cases: &[(FirewallRule, &[&str])] = &[
            (rule(&["10.0.0.5", "fe80::/64"], &["LocalSubnet", "dns", "192.168.0.1-192.168.0.50"]), &[]),
            (rule(&["*"], &["*"]), &[]),
            (rule(&["LocalSubnet"], &[]), &["settings[0].rules[\"r\"].local_addresses[0]"]),
            (rule(&[], &["*", "DNS"]), &["settings[0].rules[\"r\"].remote_addresses"]),
            (rule(&[], &["10.0.0.300"]), &["settings[0].rules[\"r\"].remote_addresses[0]"]),
            (rule(&[], &["10.0.0.1", "10.0.0.1"]), &["settings[0].rules[\"r\"].remote_addresses[1]"]),
        ];
        for (rule, expected) in cases {
            assert_paths(Profile::Firewall, vec![rules(vec![rule.clone()])], expected);
        }
    }

    #[test]
    fn app_conditions_follow_the_csp_combinations() {
        let base = FirewallRule::named("r");
        let cases: &[(FirewallRule, &[&str])] = &[
            (
                FirewallRule {
                    file_path: Some(r"%ProgramFiles%\App\app.exe".into()),
                    service_name: Some("AppSvc".into()),
                    ..base.clone()
                },
                &[],
            ),
            (
                FirewallRule {
                    package_family_name: Some("Microsoft.WindowsCalculator_8wekyb3d8bbwe".into()),
                    ..base.clone()
                },
                &[],
            ),
            (
                FirewallRule {
                    policy_app_id: Some("contoso:tag".into()),
                    file_path: Some(r"C:\App\a.exe".into()),
                    ..base.clone()
                },
                &[],
            ),
            (
                FirewallRule {
                    policy_app_id: Some("contoso:tag".into()),
                    service_name: Some("AppSvc".into()),
                    ..base.clone()
                },
                &["settings[0].rules[\"r\"].policy_app_id"],
            ),
            (
                FirewallRule {
                    service_name: Some("AppSvc".into()),
                    local_user_authorized_list: vec!["O:LSD:(A;;CC;;;S-1-5-21-1)".into()],
                    ..base.clone()
                },
                &["settings[0].rules[\"r\"].local_user_authorized_list"],
            ),
            (
                FirewallRule { file_path: Some("app.exe".into()), ..base.clone() },
                &["settings[0].rules[\"r\"].file_path"],
            ),
            (
                FirewallRule { file_path: Some(r"C:\Apps\*.exe".into()), ..base.clone() },
                &["settings[0].rules[\"r\"].file_path"],
            ),
            (
                FirewallRule { package_family_name: Some("Calculator".into()), ..base.clone() },
                &["settings[0].rules[\"r\"].package_family_name"],
            ),
            (
                FirewallRule { service_name: Some(r"svc\x".into()), ..base.clone() },
                &["settings[0].rules[\"r\"].service_name"],
            ),
            (
                FirewallRule { remote_address_dynamic_keywords: vec!["not-a-guid".into()], ..base.clone() },
                &["settings[0].rules[\"r\"].remote_address_dynamic_keywords[0]"],
            ),
        ];
        for (rule, expected) in cases {
            assert_paths(Profile::Firewall, vec![rules(vec![rule.clone()])], expected);
        }
    }

    #[test]
    fn network_and_interface_types_refuse_unusable_combinations() {
        let base = FirewallRule::named("r");
        let cases: &[(FirewallRule, &[&str])] = &[
            (FirewallRule { network_types: vec![NetworkType::Domain, NetworkType::Public], ..base.clone() }, &[]),
            (
                FirewallRule { network_types: vec![NetworkType::All, NetworkType::Public], ..base.clone() },
                &["settings[0].rules[\"r\"].network_types"],
            ),
            (
                FirewallRule { network_types: vec![NetworkType::Current], ..base.clone() },
                &["settings[0].rules[\"r\"].network_types"],
            ),
            (
                FirewallRule { network_types: vec![NetworkType::Private, NetworkType::Private], ..base.clone() },
                &["settings[0].rules[\"r\"].network_types"],
            ),
            (FirewallRule { interface_types: vec![InterfaceType::Lan, InterfaceType::Wireless], ..base.clone() }, &[]),
            (
                FirewallRule { interface_types: vec![InterfaceType::All, InterfaceType::Lan], ..base.clone() },
                &["settings[0].rules[\"r\"].interface_types"],
            ),
            (
                FirewallRule { interface_types: vec![InterfaceType::MobileBroadbandLegacy], ..base.clone() },
                &["settings[0].rules[\"r\"].interface_types"],
            ),
        ];
        for (rule, expected) in cases {
            assert_paths(Profile::Firewall, vec![rules(vec![rule.clone()])], expected);
        }
    }

    #[test]
    fn every_problem_of_a_bad_policy_is_reported_at_once() {
        let settings: Vec<ConfiguredSetting> = serde_json::from_value(json!([
            {"id": DOMAIN_INBOUND, "value": {"choice": "2"}},
            {"id": TIMEOUT, "value": {"integer": 99}},
            {"id": RULES, "value": {"firewall_rules": [
                {"name": "Web", "protocol": 6, "remote_ports": ["80", "http"], "remote_addresses": ["Internet"]},
                {"name": "Ping", "icmp_types_and_codes": ["8:0"]}
            ]}}
        ]))
        .expect("well-formed JSON");
        assert_paths(
            Profile::Firewall,
            settings,
            &[
                "settings[0].id",
                "settings[0].value",
                "settings[1].id",
                "settings[2].rules[\"Web\"].remote_ports[1]",
                "settings[2].rules[\"Ping\"].icmp_types_and_codes",
            ],
        );
    }

    #[test]
    fn policy_names_and_descriptions_have_limits() {
        let long_name = "n".repeat(POLICY_NAME_MAX + 1);
        let long_description = "d".repeat(POLICY_DESCRIPTION_MAX + 1);
        let cases: &[(&str, &str, &[&str])] = &[
            ("Workstations - AV baseline", "Applies to every workstation.\nOwner: SecOps.", &[]),
            ("", "", &["name"]),
            ("   ", "", &["name"]),
            (" padded", "", &["name"]),
            (&long_name, "", &["name"]),
            ("Line\nbreak", "", &["name"]),
            ("Fine", &long_description, &["description"]),
            ("Fine", "bell\u{7}", &["description"]),
            ("", &long_description, &["name", "description"]),
        ];
        for (name, description, expected) in cases {
            let violations = validate_policy_text(name, description);
            assert_eq!(paths(&violations), *expected, "{name:?}: {violations:?}");
        }
        assert_eq!(validate_policy_text("", "")[0].message, "is required");
    }
}
