//! A firewall rule as the Graph group of its fields: each field is a member setting of the rule collection
//! (`…_firewallrules_{firewallrulename}_name`, `…_action_type`, …) with the catalog value of that field.

use crate::catalog::{FirewallRule, InterfaceType, NetworkType, RuleAction, RuleDirection, SettingValue};

/// The rule's fields that are set, in the catalog's order, as (settingDefinitionId, value). The name is always there.
pub(crate) fn fields(rule: &FirewallRule) -> Vec<(&'static str, SettingValue)> {
    let text = |value: &Option<String>| value.clone().map(SettingValue::String);
    let list = |items: &Vec<String>| (!items.is_empty()).then(|| SettingValue::StringList(items.clone()));
    let toggle = |on: Option<bool>| on.map(|on| SettingValue::Choice(if on { "1" } else { "0" }.to_owned()));
    let choice = |value: Option<&str>| value.map(|v| SettingValue::Choice(v.to_owned()));
    let choices = |values: Vec<&str>| {
        (!values.is_empty()).then(|| SettingValue::ChoiceList(values.into_iter().map(str::to_owned).collect()))
    };
    FirewallRule::FIELD_DEFINITIONS
        .iter()
        .filter_map(|(field, id)| {
            let value = match *field {
                "name" => Some(SettingValue::String(rule.name.clone())),
                "description" => text(&rule.description),
                "enabled" => toggle(rule.enabled),
                "action" => choice(rule.action.map(RuleAction::option_value)),
                "direction" => choice(rule.direction.map(RuleDirection::option_value)),
                "protocol" => rule.protocol.map(SettingValue::Integer),
                "local_ports" => list(&rule.local_ports),
                "remote_ports" => list(&rule.remote_ports),
                "icmp_types_and_codes" => list(&rule.icmp_types_and_codes),
                "local_addresses" => list(&rule.local_addresses),
                "remote_addresses" => list(&rule.remote_addresses),
                "remote_address_dynamic_keywords" => list(&rule.remote_address_dynamic_keywords),
                "file_path" => text(&rule.file_path),
                "package_family_name" => text(&rule.package_family_name),
                "service_name" => text(&rule.service_name),
                "fqbn" => text(&rule.fqbn),
                "policy_app_id" => text(&rule.policy_app_id),
                "network_types" => choices(rule.network_types.iter().map(|t| t.option_value()).collect()),
                "interface_types" => choices(rule.interface_types.iter().map(|t| t.option_value()).collect()),
                "local_user_authorized_list" => list(&rule.local_user_authorized_list),
                "edge_traversal" => toggle(rule.edge_traversal),
                _ => None,
            };
            value.map(|value| (*id, value))
        })
        .collect()
}

/// The rule field (`"name"`, `"local_ports"`…) that a member settingDefinitionId stands for.
pub(crate) fn field_of(setting_id: &str) -> Option<&'static str> {
    FirewallRule::FIELD_DEFINITIONS.iter().find(|(_, id)| *id == setting_id).map(|(field, _)| *field)
}

/// Sets one field of `rule` from the value the catalog definition of that field read. The value has already been
/// checked against the definition's kind and options, so a mismatch here means the catalog and
/// [`FirewallRule::FIELD_DEFINITIONS`] disagree; it is reported rather than ignored.
pub(crate) fn set_field(rule: &mut FirewallRule, field: &str, value: SettingValue) -> Result<(), String> {
    fn option<T: Copy>(all: &[T], value: &str, code: impl Fn(T) -> &'static str) -> Result<T, String> {
        all.iter().copied().find(|item| code(*item) == value).ok_or_else(|| format!("{value:?} is not an option"))
    }
    fn options<T: Copy>(all: &[T], values: &[String], code: impl Fn(T) -> &'static str) -> Result<Vec<T>, String> {
        values.iter().map(|value| option(all, value, &code)).collect()
    }
    match (field, value) {
        ("name", SettingValue::String(text)) => rule.name = text,
        ("description", SettingValue::String(text)) => rule.description = Some(text),
        ("enabled", SettingValue::Choice(value)) => rule.enabled = Some(value == "1"),
        ("action", SettingValue::Choice(value)) => {
            rule.action = Some(option(RuleAction::ALL, &value, RuleAction::option_value)?);
        }
        ("direction", SettingValue::Choice(value)) => {
            rule.direction = Some(option(RuleDirection::ALL, &value, RuleDirection::option_value)?);
        }
        ("protocol", SettingValue::Integer(n)) => rule.protocol = Some(n),
        ("local_ports", SettingValue::StringList(items)) => rule.local_ports = items,
        ("remote_ports", SettingValue::StringList(items)) => rule.remote_ports = items,
        ("icmp_types_and_codes", SettingValue::StringList(items)) => rule.icmp_types_and_codes = items,
        ("local_addresses", SettingValue::StringList(items)) => rule.local_addresses = items,
        ("remote_addresses", SettingValue::StringList(items)) => rule.remote_addresses = items,
        ("remote_address_dynamic_keywords", SettingValue::StringList(items)) => {
            rule.remote_address_dynamic_keywords = items;
        }
        ("file_path", SettingValue::String(text)) => rule.file_path = Some(text),
        ("package_family_name", SettingValue::String(text)) => rule.package_family_name = Some(text),
        ("service_name", SettingValue::String(text)) => rule.service_name = Some(text),
        ("fqbn", SettingValue::String(text)) => rule.fqbn = Some(text),
        ("policy_app_id", SettingValue::String(text)) => rule.policy_app_id = Some(text),
        ("network_types", SettingValue::ChoiceList(values)) => {
            rule.network_types = options(NetworkType::ALL, &values, NetworkType::option_value)?;
        }
        ("interface_types", SettingValue::ChoiceList(values)) => {
            rule.interface_types = options(InterfaceType::ALL, &values, InterfaceType::option_value)?;
        }
        ("local_user_authorized_list", SettingValue::StringList(items)) => rule.local_user_authorized_list = items,
        ("edge_traversal", SettingValue::Choice(value)) => rule.edge_traversal = Some(value == "1"),
        (field, value) => return Err(format!("the rule field {field:?} cannot hold {}", value.kind_name())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_of_a_full_rule_goes_out_and_comes_back() {
        let rule = FirewallRule {
            description: Some("Remote desktop from the admin subnet".into()),
            enabled: Some(false),
            action: Some(RuleAction::Block),
            direction: Some(RuleDirection::In),
            protocol: Some(6),
            local_ports: vec!["3389".into()],
            remote_ports: vec!["1024-65535".into()],
            icmp_types_and_codes: vec!["8:0".into()],
            local_addresses: vec!["10.0.0.5".into()],
            remote_addresses: vec!["LocalSubnet".into()],
            remote_address_dynamic_keywords: vec!["3f2504e0-4f89-41d3-9a0c-0305e82c3301".into()],
            file_path: Some(r"%SystemRoot%\System32\svchost.exe".into()),
            package_family_name: Some("Microsoft.WindowsCalculator_8wekyb3d8bbwe".into()),
            service_name: Some("TermService".into()),
            fqbn: Some("O=CONTOSO*".into()),
            policy_app_id: Some("contoso:tag".into()),
            network_types: vec![NetworkType::Domain, NetworkType::Private],
            interface_types: vec![InterfaceType::Lan, InterfaceType::MobileBroadband],
            local_user_authorized_list: vec!["O:LSD:(A;;CC;;;S-1-5-21-1)".into()],
            edge_traversal: Some(true),
            ..FirewallRule::named("Allow RDP")
        };
        let fields = fields(&rule);
        assert_eq!(fields.len(), FirewallRule::FIELD_DEFINITIONS.len());
        let mut back = FirewallRule::default();
        for (id, value) in fields {
            set_field(&mut back, field_of(id).expect("a rule field"), value).expect("fits");
        }
        assert_eq!(back, rule);
    }

    #[test]
    fn an_unset_rule_has_only_its_name_and_mismatches_are_reported() {
        assert_eq!(fields(&FirewallRule::named("r")).len(), 1);
        let mut rule = FirewallRule::default();
        assert!(set_field(&mut rule, "protocol", SettingValue::String("6".into())).is_err());
        assert!(set_field(&mut rule, "action", SettingValue::Choice("2".into())).is_err());
    }
}
