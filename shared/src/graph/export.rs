//! Configured settings → the Graph JSON body of a settings-catalog policy (what `POST
//! /beta/deviceManagement/configurationPolicies` takes and what Intune exports), which imports back to an equal policy.

use serde_json::{Value, json};

use super::{PLATFORMS, TECHNOLOGIES, Template, odata, rules};
use crate::catalog::{self, ConfiguredSetting, Parent, Profile, SettingValue};

/// The Graph JSON of a policy: `name`, `description`, `platforms` `"windows10"`, `technologies`
/// `"mdm,microsoftSense"`, the `templateReference` of [`Template::for_policy`], and `settings`, each instance with
/// its `@odata.type`, settingDefinitionId and, for choices, the option's item id `<settingDefinitionId>_<option>`.
///
/// A setting that depends on an option of another configured setting is nested in that setting's `children`, as
/// Intune nests them; top-level instances carry their `settingInstanceTemplateReference` where one is known. The
/// settings are written as given: validate them first ([`validate_settings`](crate::catalog::validate_settings)).
/// Importing the result gives back the same profile, name, description and settings, with each nested setting right
/// after its parent (the order [`import_policy`](super::import_policy) produces).
pub fn export_policy(profile: Profile, name: &str, description: &str, settings: &[ConfiguredSetting]) -> Value {
    let template = Template::for_policy(profile, settings);
    let parent_of: Vec<Option<usize>> = settings
        .iter()
        .enumerate()
        .map(|(i, setting)| {
            let Some(Parent::Option { id: parent, .. }) = catalog::definition(&setting.id)?.parent else {
                return None;
            };
            let j = settings.iter().position(|other| other.id == parent)?;
            (j != i && matches!(settings[j].value, SettingValue::Choice(_))).then_some(j)
        })
        .collect();
    let items: Vec<Value> = (0..settings.len())
        .filter(|i| parent_of[*i].is_none())
        .enumerate()
        .map(|(k, i)| {
            json!({
                "@odata.type": odata::SETTING,
                "id": k.to_string(),
                "settingInstance": nested_instance(i, settings, &parent_of, Some(template)),
            })
        })
        .collect();
    json!({
        "name": name,
        "description": description,
        "platforms": PLATFORMS,
        "technologies": TECHNOLOGIES,
        "templateReference": { "templateId": template.id },
        "settings": items,
    })
}

/// The instance of `settings[i]` with the settings that depend on its options nested in its `children`.
fn nested_instance(
    i: usize,
    settings: &[ConfiguredSetting],
    parent_of: &[Option<usize>],
    template: Option<&Template>,
) -> Value {
    let children: Vec<Value> = (0..settings.len())
        .filter(|j| parent_of[*j] == Some(i))
        .map(|j| nested_instance(j, settings, parent_of, None))
        .collect();
    instance(&settings[i], children, template)
}

/// One setting instance; `template` is given for top-level instances, which carry their instance template reference.
fn instance(setting: &ConfiguredSetting, children: Vec<Value>, template: Option<&Template>) -> Value {
    let id = setting.id.as_str();
    let choice = |option: &str, children: Vec<Value>| json!({ "@odata.type": odata::CHOICE_VALUE, "value": format!("{id}_{option}"), "children": children });
    let text = |text: &str| json!({ "@odata.type": odata::STRING_VALUE, "value": text });
    let group = |members: Vec<Value>| json!({ "@odata.type": odata::GROUP_VALUE, "children": members });
    let (instance_type, property, value) = match &setting.value {
        SettingValue::Choice(option) => (odata::CHOICE_INSTANCE, "choiceSettingValue", choice(option, children)),
        SettingValue::ChoiceList(options) => (
            odata::CHOICE_COLLECTION_INSTANCE,
            "choiceSettingCollectionValue",
            options.iter().map(|option| choice(option, Vec::new())).collect(),
        ),
        SettingValue::Integer(n) => {
            (odata::SIMPLE_INSTANCE, "simpleSettingValue", json!({ "@odata.type": odata::INTEGER_VALUE, "value": n }))
        }
        SettingValue::String(value) => (odata::SIMPLE_INSTANCE, "simpleSettingValue", text(value)),
        SettingValue::StringList(items) => (
            odata::SIMPLE_COLLECTION_INSTANCE,
            "simpleSettingCollectionValue",
            items.iter().map(|item| text(item)).collect(),
        ),
        SettingValue::Group(members) => (
            odata::GROUP_COLLECTION_INSTANCE,
            "groupSettingCollectionValue",
            json!([group(members.iter().map(|member| instance(member, Vec::new(), None)).collect())]),
        ),
        SettingValue::FirewallRules(rules) => (
            odata::GROUP_COLLECTION_INSTANCE,
            "groupSettingCollectionValue",
            rules
                .iter()
                .map(|rule| {
                    group(
                        rules::fields(rule)
                            .into_iter()
                            .map(|(id, value)| instance(&ConfiguredSetting::new(id, value), Vec::new(), None))
                            .collect(),
                    )
                })
                .collect(),
        ),
    };
    let mut instance = json!({ "@odata.type": instance_type, "settingDefinitionId": id, property: value });
    if let Some(template_id) = template.and_then(|template| template.setting_instance_template_id(id)) {
        instance["settingInstanceTemplateReference"] = json!({ "settingInstanceTemplateId": template_id });
    }
    instance
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_are_written_with_item_ids_and_children_under_their_parent() {
        let on = "vendor_msft_firewall_mdmstore_publicprofile_enablefirewall";
        let shielded = "vendor_msft_firewall_mdmstore_publicprofile_shielded";
        let settings = [
            ConfiguredSetting::new(shielded, SettingValue::Choice("true".into())),
            ConfiguredSetting::new(on, SettingValue::Choice("true".into())),
        ];
        let json = export_policy(Profile::Firewall, "Lockdown", "", &settings);
        assert_eq!(json["templateReference"], json!({"templateId": "6078910e-d808-4a9f-a51d-1b8a7bacb7c0_1"}));
        let top = json["settings"].as_array().expect("a list");
        assert_eq!(top.len(), 1);
        let instance = &top[0]["settingInstance"];
        assert_eq!(instance["settingDefinitionId"], on);
        assert_eq!(
            instance["settingInstanceTemplateReference"]["settingInstanceTemplateId"],
            "e2714734-708e-4286-8ae9-d56821e306a3"
        );
        assert_eq!(instance["choiceSettingValue"]["value"], format!("{on}_true"));
        let child = &instance["choiceSettingValue"]["children"][0];
        assert_eq!(child["settingDefinitionId"], shielded);
        assert_eq!(child["choiceSettingValue"]["value"], format!("{shielded}_true"));
        assert!(child.get("settingInstanceTemplateReference").is_none());
    }

    #[test]
    fn a_child_without_its_parent_stays_at_the_top() {
        let inbound = "vendor_msft_firewall_mdmstore_domainprofile_defaultinboundaction";
        let json = export_policy(
            Profile::Firewall,
            "x",
            "",
            &[ConfiguredSetting::new(inbound, SettingValue::Choice("1".into()))],
        );
        assert_eq!(json["settings"][0]["settingInstance"]["settingDefinitionId"], inbound);
    }
}
