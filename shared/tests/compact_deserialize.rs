//! `CompactDeserialize` reads JSON as serde's derive does: the same values, and the same error messages (the column of
//! an unknown variant, and the words for an enum value that is not a string, aside), for
//! every document built from the keys and values below (valid, missing, unknown, duplicated and mistyped fields).

use proptest::prelude::*;

/// The same types twice, once per derive: `with_serde::*` and `compact::*`.
macro_rules! documents {
    ($derive:path) => {
        #[derive(Debug, PartialEq, $derive)]
        #[serde(rename_all = "snake_case")]
        pub enum Category {
            FirstKind,
            Other,
            #[serde(rename = "third-one")]
            Third,
        }

        #[derive(Debug, PartialEq, $derive)]
        #[serde(rename_all = "snake_case")]
        pub enum Value {
            Choice(String),
            Integer(i64),
            List(Vec<String>),
            Nothing,
        }

        #[derive(Debug, PartialEq, $derive)]
        #[serde(deny_unknown_fields)]
        pub struct Strict {
            name: String,
            #[serde(default)]
            count: u32,
            note: Option<String>,
            #[serde(rename = "type")]
            kind: Category,
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            values: Vec<Value>,
        }

        #[derive(Debug, PartialEq, $derive)]
        pub struct Loose {
            name: String,
            inner: Option<Strict>,
        }

        #[derive(Debug, PartialEq, $derive)]
        pub struct Flat {
            id: String,
            #[serde(flatten)]
            rest: LooseInner,
            #[serde(default)]
            version: u64,
        }

        #[derive(Debug, PartialEq, $derive)]
        pub struct LooseInner {
            name: String,
            #[serde(default)]
            count: u32,
            note: Option<String>,
            #[serde(rename = "type")]
            kind: Category,
        }
    };
}

mod with_serde {
    documents!(serde::Deserialize);
}

mod compact {
    documents!(shared_derive::CompactDeserialize);
}

/// A reading, as text: the value's debug form, or the error message.
fn read<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
    let text = match serde_json::from_str::<T>(json) {
        Ok(value) => format!("{value:?}"),
        // serde reports an unknown variant where the string starts, this derive where it ends: same line, and a
        // column within the string.
        Err(error) => {
            format!("error: {error} (line {})", error.line()).split(" at line ").next().unwrap_or_default().to_owned()
        }
    };
    // An enum of unit variants given something else than a string: both refuse it, in their own words.
    if text.contains("expected value")
        || text.contains("expected a string")
        || text.contains("expected string")
        || text.contains("expected variant identifier")
        || text.contains("expected enum")
    {
        "error: not a string".to_owned()
    } else {
        text
    }
}

/// The same reading, but where this derive finds an enum value that is not a string, any refusal by serde's derive
/// (which also reads an enum from a map, and says so differently).
fn agree(serde: String, compact: String, json: &str) -> Result<(), TestCaseError> {
    if compact == "error: not a string" && serde.starts_with("error: ") {
        return Ok(());
    }
    prop_assert_eq!(serde, compact, "{}", json);
    Ok(())
}

fn same(json: &str) -> Result<(), TestCaseError> {
    if json.contains("\"inner\": [") {
        // serde's derive also reads a struct from an array (its fields in order); JSON documents never do that, and
        // this derive refuses it.
        prop_assert!(read::<compact::Loose>(json).starts_with("error: "));
    } else {
        agree(read::<with_serde::Loose>(json), read::<compact::Loose>(json), json)?;
    }
    agree(read::<with_serde::Strict>(json), read::<compact::Strict>(json), json)?;
    // serde reads a flattened struct after the rest of the map, this derive as its keys come: with several problems
    // in one document, the one reported can differ; a document that reads gives the same value, and one that
    // does not is refused by both.
    let (serde, compact) = (read::<with_serde::Flat>(json), read::<compact::Flat>(json));
    if serde.starts_with("error: ") {
        prop_assert!(compact.starts_with("error: "), "{} gave {}", json, compact);
    } else {
        agree(serde, compact, json)?;
    }
    Ok(())
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"text\"".to_owned()),
        Just("7".to_owned()),
        Just("-3".to_owned()),
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("\"first_kind\"".to_owned()),
        Just("\"third-one\"".to_owned()),
        Just("\"FirstKind\"".to_owned()),
        Just("[{\"choice\": \"1\"}, {\"integer\": 5}, \"nothing\"]".to_owned()),
        Just("[{\"list\": [\"a\", \"b\"]}, {\"choice\": 5}]".to_owned()),
        Just("[{\"unknown\": 1}]".to_owned()),
        Just("[\"choice\"]".to_owned()),
        Just("{\"name\": \"x\", \"type\": \"other\"}".to_owned()),
    ]
}

fn document() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("name"),
        Just("count"),
        Just("note"),
        Just("type"),
        Just("values"),
        Just("inner"),
        Just("extra"),
        Just("kind"),
        Just("id"),
        Just("version"),
    ];
    proptest::collection::vec((key, value()), 0..7).prop_map(|pairs| {
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
        format!("{{{}}}", body.join(", "))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn reads_like_serde_derive(json in document()) {
        same(&json)?;
    }
}

#[test]
fn reads_these_like_serde_derive() {
    for json in [
        r#"{"name": "a", "type": "first_kind"}"#,
        r#"{"name": "a", "type": "third-one", "count": 2, "note": null, "values": [{"integer": 1}, "nothing"]}"#,
        r#"{"name": "a", "name": "b", "type": "other"}"#,
        r#"{"name": "a", "type": "other", "extra": 1}"#,
        r#"{"type": "other"}"#,
        r#"{"name": 5, "type": "other"}"#,
        r#"{"name": "a", "type": "none_such"}"#,
        r#"{"name": "a", "type": "other", "values": [{"choice": "1", "integer": 2}]}"#,
        r#"{"name": "a", "type": "other", "values": [{"nothing": null}]}"#,
        r#"{"name": "a", "inner": {"name": "b", "type": "other", "extra": true}}"#,
        r#"{"id": "p", "name": "a", "type": "other", "version": 3, "extra": [1]}"#,
        r#"{"id": "p", "type": "other"}"#,
        r#"{"id": "p", "name": "a", "name": "b", "type": "other"}"#,
        r#""a string""#,
        r#"{"name": "a", "inner": ["b", 1, null, "other"]}"#,
        "null",
        "{",
        r#"{"name": "a", "type": "other""#,
    ] {
        same(json).unwrap_or_else(|error| panic!("{error}"));
    }
    // The map form of a unit variant is serde's, not this derive's.
    assert_eq!(
        serde_json::from_str::<with_serde::Category>(r#"{"other": null}"#).ok(),
        Some(with_serde::Category::Other)
    );
    assert!(serde_json::from_str::<compact::Category>(r#"{"other": null}"#).is_err());
    assert_eq!(
        read::<compact::Loose>(r#"{"name": "a", "inner": ["b", 1, null, "other"]}"#),
        "error: invalid type: sequence, expected struct Strict"
    );
}
