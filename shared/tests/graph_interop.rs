//! Import and export of Graph settings-catalog JSON: our own samples (`tests/samples/`), every encoding a real
//! export comes in, round trips, and the real Intune exports of `../shared/fixtures/intune-exports/` when that folder
//! is there.

use std::path::Path;

use serde_json::{Value, json};
use shared::Violation;
use shared::catalog::{
    ConfiguredSetting, FirewallRule, InterfaceType, NetworkType, Profile, RuleAction, RuleDirection, SettingValue,
};
use shared::graph::{ImportedPolicy, Template, export_policy, import_many, import_policy, import_policy_str};

const ANTIVIRUS: &str = include_str!("samples/antivirus.json");
const FIREWALL: &str = include_str!("samples/firewall.json");
const UNKNOWN_TEMPLATE: &str = include_str!("samples/unknown_template.json");
const UNKNOWN_SETTING: &str = include_str!("samples/unknown_setting.json");

const RULES: &str = "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}";

fn import(text: &str) -> ImportedPolicy {
    import_policy_str(text).unwrap_or_else(|violations| panic!("imports: {violations:#?}"))
}

fn refusal(text: &str) -> Vec<Violation> {
    import_policy_str(text).expect_err("refused")
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("a sample is JSON")
}

fn export(policy: &ImportedPolicy) -> Value {
    export_policy(policy.profile, &policy.name, &policy.description, &policy.settings)
}

/// Exports an imported policy and imports the export again.
fn round_trip(policy: &ImportedPolicy) -> ImportedPolicy {
    import(&export(policy).to_string())
}

fn choice(id: &str, option: &str) -> ConfiguredSetting {
    ConfiguredSetting::new(id, SettingValue::Choice(option.into()))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

fn ids(policy: &ImportedPolicy) -> Vec<&str> {
    policy.settings.iter().map(|setting| setting.id.as_str()).collect()
}

fn value<'a>(policy: &'a ImportedPolicy, id: &str) -> &'a SettingValue {
    &policy.settings.iter().find(|setting| setting.id == id).unwrap_or_else(|| panic!("{id} is mapped")).value
}

/// The JSON without any `@odata.*` annotation (`@odata.type`, `children@odata.type`, …).
fn without_annotations(json: &Value) -> Value {
    match json {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| !key.contains("@odata"))
                .map(|(k, v)| (k.clone(), without_annotations(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_annotations).collect()),
        other => other.clone(),
    }
}

fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    let mut bytes = if little_endian { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] };
    for unit in text.encode_utf16() {
        bytes.extend(if little_endian { unit.to_le_bytes() } else { unit.to_be_bytes() });
    }
    bytes
}

#[test]
fn an_antivirus_export_imports_choices_numbers_lists_and_the_threat_severity_group() {
    let policy = import(ANTIVIRUS);
    assert_eq!(policy.profile, Profile::Antivirus);
    assert_eq!(policy.name, "Workstations - Antivirus baseline");
    assert_eq!(policy.description, "Real-time, cloud and PUA protection for workstations.\nOwner: SecOps.");
    assert_eq!(policy.unmapped, []);
    assert_eq!(policy.settings.len(), 12);
    let av = |name: &str| format!("device_vendor_msft_policy_config_defender_{name}");
    assert_eq!(value(&policy, &av("allowrealtimemonitoring")), &SettingValue::Choice("1".into()));
    assert_eq!(value(&policy, &av("cloudblocklevel")), &SettingValue::Choice("4".into()));
    assert_eq!(value(&policy, &av("puaprotection")), &SettingValue::Choice("2".into()));
    assert_eq!(value(&policy, &av("cloudextendedtimeout")), &SettingValue::Integer(50));
    assert_eq!(value(&policy, &av("schedulequickscantime")), &SettingValue::Integer(720));
    assert_eq!(
        value(&policy, &av("excludedpaths")),
        &SettingValue::StringList(strings(&[r"C:\Temp\*.tmp", r"%ProgramData%\Contoso\Cache\"]))
    );
    assert_eq!(value(&policy, &av("excludedextensions")), &SettingValue::StringList(strings(&["log", "bak"])));
    assert_eq!(
        value(&policy, &av("excludedprocesses")),
        &SettingValue::StringList(strings(&["backup.exe", r"%ProgramFiles%\Contoso\agent.exe"]))
    );
    let threats = av("threatseveritydefaultaction");
    assert_eq!(
        value(&policy, &threats),
        &SettingValue::Group(vec![
            choice(&format!("{threats}_severethreats"), "remove"),
            choice(&format!("{threats}_highseveritythreats"), "remove"),
            choice(&format!("{threats}_moderateseveritythreats"), "quarantine"),
            choice(&format!("{threats}_lowseveritythreats"), "quarantine"),
        ])
    );
    assert_eq!(
        value(&policy, "device_vendor_msft_defender_configuration_disablelocaladminmerge"),
        &SettingValue::Choice("1".into())
    );
}

#[test]
fn odata_annotations_are_optional() {
    let bare = without_annotations(&parse(ANTIVIRUS)).to_string();
    assert!(!bare.contains("@odata"));
    assert_eq!(import(&bare), import(ANTIVIRUS));
    assert!(!FIREWALL.contains("@odata"), "the firewall sample has none to begin with");
}

#[test]
fn a_firewall_export_flattens_network_profile_children_and_reads_its_rules() {
    let policy = import(FIREWALL);
    assert_eq!(policy.profile, Profile::Firewall);
    assert_eq!(policy.unmapped, []);
    let fw = |name: &str| format!("vendor_msft_firewall_mdmstore_{name}");
    assert_eq!(
        ids(&policy),
        [
            fw("global_disablestatefulftp"),
            fw("global_enablepacketqueue"),
            "device_vendor_msft_policy_config_audit_objectaccess_auditfilteringplatformpacketdrop".into(),
            fw("domainprofile_enablefirewall"),
            fw("domainprofile_defaultinboundaction"),
            fw("domainprofile_defaultoutboundaction"),
            fw("domainprofile_logfilepath"),
            fw("domainprofile_logmaxfilesize"),
            fw("domainprofile_enablelogdroppedpackets"),
            fw("privateprofile_enablefirewall"),
            fw("publicprofile_enablefirewall"),
            fw("publicprofile_shielded"),
            fw("publicprofile_allowlocalpolicymerge"),
            RULES.into(),
        ]
    );
    assert_eq!(value(&policy, &fw("global_enablepacketqueue")), &SettingValue::ChoiceList(strings(&["1", "2"])));
    assert_eq!(value(&policy, &fw("privateprofile_enablefirewall")), &SettingValue::Choice("false".into()));
    assert_eq!(value(&policy, &fw("domainprofile_logmaxfilesize")), &SettingValue::Integer(16384));
    assert_eq!(
        value(&policy, &fw("domainprofile_logfilepath")),
        &SettingValue::String(r"%SystemRoot%\System32\LogFiles\Firewall\domainfw.log".into())
    );
    let rdp = FirewallRule {
        description: Some("Remote desktop for administrators only.".into()),
        enabled: Some(true),
        action: Some(RuleAction::Allow),
        direction: Some(RuleDirection::In),
        protocol: Some(6),
        local_ports: strings(&["3389"]),
        remote_addresses: strings(&["10.20.0.0/16"]),
        network_types: vec![NetworkType::Domain, NetworkType::Private],
        interface_types: vec![InterfaceType::Lan],
        ..FirewallRule::named("Allow RDP from the admin subnet")
    };
    let chrome = FirewallRule {
        action: Some(RuleAction::Block),
        direction: Some(RuleDirection::Out),
        protocol: Some(6),
        remote_ports: strings(&["80", "443"]),
        file_path: Some(r"C:\Program Files\Google\Chrome\Application\chrome.exe".into()),
        interface_types: vec![InterfaceType::All],
        ..FirewallRule::named("Block Chrome Internet")
    };
    assert_eq!(value(&policy, RULES), &SettingValue::FirewallRules(vec![rdp, chrome]));
}

#[test]
fn every_encoding_of_a_real_export_imports_the_same() {
    let expected = import(ANTIVIRUS);
    let variants = [
        ("UTF-8", ANTIVIRUS.as_bytes().to_vec()),
        ("UTF-8 with BOM", [&[0xEF, 0xBB, 0xBF], ANTIVIRUS.as_bytes()].concat()),
        ("UTF-16 LE with BOM", utf16(ANTIVIRUS, true)),
        ("UTF-16 BE with BOM", utf16(ANTIVIRUS, false)),
    ];
    for (encoding, bytes) in variants {
        assert_eq!(import_policy(&bytes).as_ref(), Ok(&expected), "{encoding}");
    }
    let without_bom = utf16(ANTIVIRUS, true).split_off(2);
    let violations = import_policy(&without_bom).expect_err("no byte order mark");
    assert_eq!(violations.len(), 1);
    assert!(violations[0].message.contains("UTF-16"), "{}", violations[0].message);
}

#[test]
fn a_template_rampart_does_not_manage_is_refused_by_name() {
    let violations = refusal(UNKNOWN_TEMPLATE);
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].path, "templateReference.templateId");
    let message = &violations[0].message;
    assert!(message.contains("\"Windows Security Experience\" (d948ff9b-99cb-4ee0-8012-1fbc09685377_1)"), "{message}");
    assert!(message.contains("enrolled in Intune"), "{message}");
    assert!(message.contains("\"Microsoft Defender Antivirus\""), "names what Rampart does import: {message}");

    // Without the display name in the file, a template Rampart knows of is still named; an unknown one by its id.
    let mut json = parse(UNKNOWN_TEMPLATE);
    json["templateReference"] = json!({"templateId": "e3f74c5a-a6de-411d-aef6-eb15628f3a0a_1"});
    assert!(refusal(&json.to_string())[0].message.contains("\"Defender Update controls\""));
    json["templateReference"] = json!({"templateId": "0f2b5d70-d4e9-4156-8c16-1397eb6c54a5_1"});
    let message = &refusal(&json.to_string())[0].message;
    assert!(message.starts_with("The policy uses the template 0f2b5d70-d4e9-4156-8c16-1397eb6c54a5_1,"), "{message}");
}

#[test]
fn every_setting_that_cannot_be_mapped_is_listed_with_its_reason() {
    let policy = import(UNKNOWN_SETTING);
    let threats = "device_vendor_msft_policy_config_defender_threatseveritydefaultaction";
    assert_eq!(
        policy.settings,
        [
            choice("device_vendor_msft_policy_config_defender_allowrealtimemonitoring", "1"),
            ConfiguredSetting::new(
                threats,
                SettingValue::Group(vec![choice(&format!("{threats}_severethreats"), "remove")])
            ),
        ]
    );
    let unmapped: Vec<(&str, &str)> =
        policy.unmapped.iter().map(|u| (u.path.as_str(), u.setting_definition_id.as_str())).collect();
    assert_eq!(
        unmapped,
        [
            ("settings[1]", "device_vendor_msft_defender_configuration_passiveremediation"),
            ("settings[2]", "device_vendor_msft_policy_config_defender_cloudblocklevel"),
            ("settings[3]", "device_vendor_msft_policy_config_defender_avgcpuloadfactor"),
            ("settings[4]", "vendor_msft_firewall_mdmstore_global_disablestatefulftp"),
            (
                "settings[5].settingInstance.groupSettingCollectionValue[0].children[1]",
                "device_vendor_msft_policy_config_defender_threatseveritydefaultaction_criticalthreats"
            ),
            ("settings[6]", "vendor_msft_defender_configuration_tamperprotection_options"),
            (
                "settings[6].settingInstance.choiceSettingValue.children[0]",
                "vendor_msft_defender_configuration_tamperprotection_blob"
            ),
        ]
    );
    let reason = |i: usize| policy.unmapped[i].reason.as_str();
    assert_eq!(reason(0), "is not a setting of Rampart's Microsoft Defender Antivirus catalog");
    assert!(reason(1).contains("\"device_vendor_msft_policy_config_defender_cloudblocklevel_5\""), "{}", reason(1));
    assert!(reason(1).contains("\"6\" (Zero tolerance)"), "lists the known options: {}", reason(1));
    assert_eq!(
        reason(2),
        "the file gives a choice (choiceSettingValue), but \"Avg CPU Load Factor\" takes a whole number (\"integer\")"
    );
    assert_eq!(
        reason(3),
        "\"Disable Stateful Ftp\" belongs to the Windows Firewall profile, not to Microsoft Defender Antivirus"
    );
    assert!(reason(4).contains("is not part of \"Threat Severity Default Action\""), "{}", reason(4));
    assert!(reason(6).contains("which could not be imported"), "{}", reason(6));
}

#[test]
fn a_rule_with_a_field_rampart_cannot_map_is_left_out_whole() {
    let mut json = parse(FIREWALL);
    let chrome = &mut json["settings"][6]["settingInstance"]["groupSettingCollectionValue"][1]["children"];
    chrome.as_array_mut().expect("fields").push(json!({
        "settingDefinitionId": format!("{RULES}_app_fancycondition"),
        "simpleSettingValue": {"value": "x"}
    }));
    let policy = import(&json.to_string());
    let SettingValue::FirewallRules(rules) = value(&policy, RULES) else { panic!("rules") };
    assert_eq!(rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["Allow RDP from the admin subnet"]);
    assert_eq!(policy.unmapped.len(), 1);
    assert_eq!(policy.unmapped[0].path, "settings[6].settingInstance.groupSettingCollectionValue[1].children[7]");
    assert!(policy.unmapped[0].reason.contains("the rule \"Block Chrome Internet\" is not imported"));
}

#[test]
fn a_rule_key_other_than_the_rule_name_is_reported_as_not_kept() {
    let with_key = |key: &str| {
        let mut json = parse(FIREWALL);
        let rdp = &mut json["settings"][6]["settingInstance"]["groupSettingCollectionValue"][0]["children"];
        rdp.as_array_mut().expect("fields").push(json!({
            "settingDefinitionId": format!("{RULES}_firewallrulename"),
            "simpleSettingValue": {"value": key}
        }));
        import(&json.to_string())
    };
    let same = with_key("Allow RDP from the admin subnet");
    assert_eq!((same.settings, same.unmapped), (import(FIREWALL).settings, vec![]));
    let other = with_key("rdp-admins");
    assert_eq!(other.settings, import(FIREWALL).settings, "the rule itself is kept");
    assert_eq!(other.unmapped.len(), 1);
    assert_eq!(other.unmapped[0].path, "settings[6].settingInstance.groupSettingCollectionValue[0].children[10]");
    assert!(other.unmapped[0].reason.contains("\"rdp-admins\""), "{}", other.unmapped[0].reason);
}

#[test]
fn mapped_settings_must_pass_the_catalog_with_paths_into_the_file() {
    let mut json = parse(FIREWALL);
    let domain = &mut json["settings"][3]["settingInstance"]["choiceSettingValue"];
    domain["children"][3]["simpleSettingValue"]["value"] = json!(99999);
    domain["value"] = json!("vendor_msft_firewall_mdmstore_domainprofile_enablefirewall_false");
    json["name"] = json!(" padded");
    let violations = refusal(&json.to_string());
    let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
    let child = |k: usize| format!("settings[3].settingInstance.choiceSettingValue.children[{k}]");
    let mut expected = vec!["name".to_owned()];
    for k in 0..5 {
        expected.push(format!("{}.id", child(k)));
        if k == 3 {
            expected.push(format!("{}.value", child(k)));
        }
    }
    assert_eq!(paths, expected);
    assert!(violations[1].message.ends_with("but settings[3] sets it to \"No\""), "{}", violations[1].message);
}

#[test]
fn without_a_template_the_settings_tell_the_profile_if_they_agree() {
    let mut json = parse(ANTIVIRUS);
    json["templateReference"] = json!({"templateId": "", "templateFamily": "none"});
    assert_eq!(import(&json.to_string()), import(ANTIVIRUS));
    json.as_object_mut().expect("object").remove("templateReference");
    assert_eq!(import(&json.to_string()).profile, Profile::Antivirus);

    let mut mixed = parse(UNKNOWN_SETTING);
    mixed.as_object_mut().expect("object").remove("templateReference");
    let violations = refusal(&mixed.to_string());
    assert_eq!(violations[0].path, "templateReference");
    assert!(violations[0].message.contains("4 of Microsoft Defender Antivirus, 1 of Windows Firewall"));

    let mut foreign = parse(UNKNOWN_TEMPLATE);
    foreign["templateReference"] = Value::Null;
    assert!(refusal(&foreign.to_string())[0].message.contains("none of its 1 settings is in Rampart's catalog"));
}

#[test]
fn files_that_are_not_one_windows_policy_are_refused_clearly() {
    let message = |text: &str| refusal(text)[0].message.clone();
    assert!(message("").contains("empty"));
    assert!(message("{\"name\": ").contains("not valid JSON"));
    assert!(message("[1, 2]").contains("one policy"));
    assert!(message(r#"{"value": [{}, {}]}"#).contains("a list of 2 policies"));
    let mut mac = parse(FIREWALL);
    mac["platforms"] = json!("macOS");
    let violations = refusal(&mac.to_string());
    assert_eq!(violations[0].path, "platforms");
    let mut nameless = parse(FIREWALL);
    nameless.as_object_mut().expect("object").remove("name");
    assert_eq!(refusal(&nameless.to_string())[0], Violation::new("name", "is required"));
}

#[test]
fn exports_carry_the_graph_shape_intune_expects() {
    let json = export(&import(ANTIVIRUS));
    assert_eq!(json["name"], "Workstations - Antivirus baseline");
    assert_eq!(json["platforms"], "windows10");
    assert_eq!(json["technologies"], "mdm,microsoftSense");
    assert_eq!(json["templateReference"]["templateId"], "804339ad-1553-4478-a742-138fb5807418_1");
    let first = &json["settings"][0];
    assert_eq!(first["@odata.type"], "#microsoft.graph.deviceManagementConfigurationSetting");
    assert_eq!(
        first["settingInstance"],
        json!({
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
            "settingDefinitionId": "device_vendor_msft_policy_config_defender_allowrealtimemonitoring",
            "settingInstanceTemplateReference": {"settingInstanceTemplateId": "f0790e28-9231-4d37-8f44-84bb47ca1b3e"},
            "choiceSettingValue": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingValue",
                "value": "device_vendor_msft_policy_config_defender_allowrealtimemonitoring_1",
                "children": []
            }
        })
    );
    let quick_scan = &json["settings"][5]["settingInstance"];
    assert_eq!(
        quick_scan["simpleSettingValue"]["@odata.type"],
        "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue"
    );
    assert_eq!(quick_scan["simpleSettingValue"]["value"], 720);
    let group = &json["settings"][10]["settingInstance"];
    assert_eq!(group["@odata.type"], "#microsoft.graph.deviceManagementConfigurationGroupSettingCollectionInstance");
    assert_eq!(group["groupSettingCollectionValue"][0]["children"].as_array().map(Vec::len), Some(4));

    let firewall = export(&import(FIREWALL));
    assert_eq!(firewall["settings"].as_array().map(Vec::len), Some(7), "children are nested, not listed");
    let public = &firewall["settings"][5]["settingInstance"]["choiceSettingValue"];
    assert_eq!(public["children"].as_array().map(Vec::len), Some(2));
    let rules = &firewall["settings"][6]["settingInstance"]["groupSettingCollectionValue"];
    assert_eq!(rules[1]["children"][1]["choiceSettingValue"]["value"], format!("{RULES}_action_type_0"));
}

#[test]
fn import_export_import_gives_back_the_same_policy() {
    for sample in [ANTIVIRUS, FIREWALL, UNKNOWN_SETTING] {
        let first = import(sample);
        let again = round_trip(&first);
        assert_eq!(
            (&again.profile, &again.name, &again.description, &again.settings),
            (&first.profile, &first.name, &first.description, &first.settings)
        );
        assert_eq!(again.unmapped, [], "what was not mapped is not exported");
        assert_eq!(round_trip(&again), again);
    }
}

#[test]
fn exclusion_only_and_rule_only_policies_round_trip_through_their_own_templates() {
    let antivirus = import(ANTIVIRUS);
    let exclusions: Vec<ConfiguredSetting> =
        antivirus.settings.iter().filter(|s| s.id.contains("_defender_excluded")).cloned().collect();
    let json = export_policy(Profile::Antivirus, "Exclusions", "", &exclusions);
    assert_eq!(json["templateReference"]["templateId"], "45fea5e9-280d-4da1-9792-fb5736da0ca9_1");
    assert_eq!(
        json["settings"][0]["settingInstance"]["settingInstanceTemplateReference"]["settingInstanceTemplateId"],
        "aaf04adc-c639-464f-b4a7-152e784092e8"
    );
    assert_eq!(import(&json.to_string()).settings, exclusions);

    let firewall = import(FIREWALL);
    let rules: Vec<ConfiguredSetting> = firewall.settings.iter().filter(|s| s.id == RULES).cloned().collect();
    let json = export_policy(Profile::Firewall, "Rules", "", &rules);
    assert_eq!(json["templateReference"]["templateId"], "19c8aa67-f286-4861-9aa0-f23541d31680_1");
    let policy = import(&json.to_string());
    assert_eq!((policy.profile, policy.settings), (Profile::Firewall, rules));
}

#[test]
fn a_batch_import_reports_each_file_on_its_own() {
    let files = vec![
        ("antivirus.json".to_owned(), ANTIVIRUS.as_bytes().to_vec()),
        ("update-controls.json".to_owned(), UNKNOWN_TEMPLATE.as_bytes().to_vec()),
        ("latin1.json".to_owned(), b"{\"name\": \"caf\xE9\"}".to_vec()),
        ("firewall.json".to_owned(), utf16(FIREWALL, true)),
    ];
    let results = import_many(&files);
    let names: Vec<&str> = results.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["antivirus.json", "update-controls.json", "latin1.json", "firewall.json"]);
    assert!(results[0].1.is_ok());
    assert_eq!(results[1].1.as_ref().expect_err("template")[0].path, "templateReference.templateId");
    assert!(results[2].1.as_ref().expect_err("encoding")[0].message.contains("not UTF-8"));
    assert_eq!(results[3].1.as_ref().map(|p| p.profile), Ok(Profile::Firewall));
}

/// The real exports of `shared/fixtures/intune-exports` (beside the repository, as in CI).
#[test]
fn real_intune_exports_import_losslessly_or_are_refused_by_template() {
    let folder = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/intune-exports"));
    let Ok(entries) = std::fs::read_dir(folder) else {
        println!("note: {} is not there; the real Intune exports were not checked", folder.display());
        return;
    };
    let mut files: Vec<_> = entries
        .map(|entry| entry.expect("a readable folder").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no exports", folder.display());
    for path in files {
        let file = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let bytes = std::fs::read(&path).expect("readable");
        let raw: Value = serde_json::from_str(&shared::graph::decode_text(&bytes).expect("text")).expect("JSON");
        let template_id = raw["templateReference"]["templateId"].as_str().unwrap_or_default().to_owned();
        println!("{file}\n  template {template_id} ({})", raw["templateReference"]["templateDisplayName"]);
        match Template::find(&template_id) {
            Some(template) => check_real_export(&raw, &bytes, template),
            None => {
                let violations = import_policy(&bytes).expect_err("a template Rampart does not manage is refused");
                println!("  refused: {violations:?}");
                assert_eq!(violations.len(), 1);
                assert_eq!(violations[0].path, "templateReference.templateId");
                assert!(violations[0].message.contains(&template_id), "{}", violations[0].message);
                if let Some(name) = raw["templateReference"]["templateDisplayName"].as_str() {
                    assert!(violations[0].message.contains(name), "{}", violations[0].message);
                }
            }
        }
    }
}

fn check_real_export(raw: &Value, bytes: &[u8], template: &Template) {
    let policy = import_policy(bytes).unwrap_or_else(|violations| panic!("imports: {violations:#?}"));
    let top_level = raw["settings"].as_array().map_or(0, Vec::len);
    let nested: usize = raw["settings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["settingInstance"]["choiceSettingValue"]["children"].as_array().map_or(0, Vec::len))
        .sum();
    println!(
        "  imported as {}: {} mapped settings ({top_level} in the file, {nested} of them nested), {} unmapped",
        policy.profile.label(),
        policy.settings.len(),
        policy.unmapped.len()
    );
    for unmapped in &policy.unmapped {
        println!("    unmapped {} {}: {}", unmapped.path, unmapped.setting_definition_id, unmapped.reason);
    }
    assert_eq!(policy.profile, template.profile);
    assert_eq!(raw["settingCount"].as_u64(), Some(top_level as u64), "settingCount counts the top-level settings");
    assert_eq!(policy.unmapped, [], "every setting of a real export maps");
    assert_eq!(policy.settings.len(), top_level + nested);
    assert_eq!(round_trip(&policy), policy, "export → import is lossless");

    // The exported instance template references agree with Intune's own.
    let export = export(&policy);
    assert_eq!(export["templateReference"]["templateId"], template.id);
    for setting in raw["settings"].as_array().into_iter().flatten() {
        let instance = &setting["settingInstance"];
        let id = instance["settingDefinitionId"].as_str().unwrap_or_default();
        let theirs = &instance["settingInstanceTemplateReference"]["settingInstanceTemplateId"];
        if let Some(ours) = template.setting_instance_template_id(id) {
            assert_eq!(theirs, ours, "{id}");
        }
    }
    println!("  round trip: export → import gives back the same policy");
}
