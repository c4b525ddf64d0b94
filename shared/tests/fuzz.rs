//! Fuzzing (proptest) of every parser that takes input from outside: Graph policy import, policy validation, device
//! facts, dynamic group rules and the audit/device query strings. Each must answer every input with a value or a
//! list of violations — never a panic — and what it accepts must hold up (an imported policy validates without
//! panicking and exports again). Bounded for CI: `PROPTEST_CASES` (default below) cases per target.

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(400)
}

/// Any JSON value, a few levels deep, with strings that look like the ones the parsers look for.
fn json() -> impl Strategy<Value = Value> {
    let words = prop::sample::select(vec![
        "",
        "id",
        "settingInstance",
        "settingDefinitionId",
        "choiceSettingValue",
        "value",
        "children",
        "simpleSettingValue",
        "groupSettingCollectionValue",
        "@odata.type",
        "templateReference",
        "name",
        "settings",
        "device_vendor_msft_policy_config_defender_allowrealtimemonitoring",
        "_1",
        "true",
        "\u{0}",
        "é",
        "💥",
        "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        words.clone().prop_map(|w| Value::String(w.to_owned())),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((words.clone(), inner), 0..8).prop_map(|pairs| Value::Object(
                pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>()
            )),
        ]
    })
}

/// The real Intune exports beside the repository, and our own samples.
fn seeds() -> Vec<Value> {
    let mut seeds = Vec::new();
    for folder in [
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/intune-exports"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/samples"),
    ] {
        let Ok(entries) = std::fs::read_dir(Path::new(folder)) else { continue };
        for entry in entries.flatten() {
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            if let Ok(text) = shared::graph::decode_text(&bytes)
                && let Ok(value) = serde_json::from_str::<Value>(&text)
            {
                seeds.push(value);
            }
        }
    }
    assert!(!seeds.is_empty(), "seeds found");
    seeds
}

/// Replaces the `n`-th node (depth first) of `value` with `replacement`.
fn replace_nth(value: &mut Value, n: &mut usize, replacement: &Value) -> bool {
    if *n == 0 {
        *value = replacement.clone();
        return true;
    }
    *n -= 1;
    match value {
        Value::Array(items) => items.iter_mut().any(|item| replace_nth(item, n, replacement)),
        Value::Object(map) => map.values_mut().any(|item| replace_nth(item, n, replacement)),
        _ => false,
    }
}

fn check_import(bytes: &[u8]) {
    if let Ok(imported) = shared::graph::import_policy(bytes) {
        let problems = shared::catalog::validate_settings(imported.profile, &imported.settings);
        assert!(problems.is_empty(), "imported settings validate: {problems:?}");
        let exported =
            shared::graph::export_policy(imported.profile, &imported.name, &imported.description, &imported.settings);
        let again = shared::graph::import_policy(exported.to_string().as_bytes()).expect("an exported policy imports");
        assert_eq!(again.settings, imported.settings, "export and import round trip");
    }
}

proptest! {
    #![proptest_config(Config { cases: cases(), failure_persistence: None, ..Config::default() })]

    #[test]
    fn graph_import_survives_mutated_real_exports(seed in 0usize..64, node in 0usize..400, replacement in json()) {
        let seeds = seeds();
        let mut value = seeds[seed % seeds.len()].clone();
        let mut n = node;
        replace_nth(&mut value, &mut n, &replacement);
        check_import(value.to_string().as_bytes());
    }

    #[test]
    fn graph_import_survives_arbitrary_json_and_bytes(value in json(), bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check_import(value.to_string().as_bytes());
        check_import(&bytes);
    }

    #[test]
    fn graph_import_survives_truncated_real_exports(seed in 0usize..64, cut in 0usize..20_000) {
        let seeds = seeds();
        let text = seeds[seed % seeds.len()].to_string();
        let cut = cut.min(text.len());
        check_import(&text.as_bytes()[..cut]);
    }

    #[test]
    fn policy_validation_answers_any_draft_with_violations(value in json(), settings in prop::collection::vec(json(), 0..6)) {
        let mut draft = serde_json::json!({"profile": "microsoft_defender_antivirus", "name": "x", "settings": settings});
        if let Value::Object(extra) = value {
            draft.as_object_mut().expect("object").extend(extra);
        }
        if let Ok(draft) = serde_json::from_value::<shared::policy::PolicyDraft>(draft) {
            for violation in shared::policy::validate_policy(&draft, |_| false) {
                prop_assert!(!violation.message.is_empty());
            }
        }
    }

    #[test]
    fn device_facts_and_rules_and_queries_never_panic(value in json(), text in ".{0,80}", pairs in prop::collection::vec(("[a-z_]{0,12}", ".{0,12}"), 0..6)) {
        let _ = shared::device::DeviceFacts::parse(&value, "facts");
        let _ = shared::groups::Rule::parse(&text, "rule");
        let _ = shared::audit::AuditQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let _ = shared::query::DeviceQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
}
