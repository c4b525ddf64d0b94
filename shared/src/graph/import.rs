//! Graph settings-catalog JSON → [`ImportedPolicy`].
//!
//! The file's template names the profile; without one, the settings do, when they all belong to one profile. Each
//! setting instance is read against its catalog definition: a choice's item id must be `<settingDefinitionId>_<option>`
//! with a known option, numbers and texts must be of the definition's kind, nested children must be the ones the
//! catalog hangs under that setting. What does not fit is listed in `unmapped` with the reason and its path in the
//! file; what fits is flattened into the catalog's shape and validated with
//! [`validate_settings`](crate::catalog::validate_settings), whose violations come back with paths into the file.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::{
    ImportedPolicy, OTHER_TEMPLATES, PLATFORMS, TEMPLATES, Template, UnmappedSetting, decode_text, odata, rules,
};
use crate::catalog::firewall::RULES_ID;
use crate::catalog::{
    self, ConfiguredSetting, FirewallRule, Parent, Profile, SettingDefinition, SettingKind, SettingValue,
    validate_policy_text, validate_settings,
};
use crate::error::Violation;

/// Imports one exported policy file: decodes its text ([`decode_text`]) and reads it ([`import_policy_str`]).
pub fn import_policy(bytes: &[u8]) -> Result<ImportedPolicy, Vec<Violation>> {
    let text = decode_text(bytes).map_err(|violation| vec![violation])?;
    import_policy_str(&text)
}

/// Imports one exported policy from its JSON text (a leading byte order mark is ignored).
///
/// Refuses, with every problem found: text that is not one JSON policy object, a template Rampart does not manage
/// (naming it), a file without template whose settings do not tell the profile, a platform other than Windows, a
/// name or description Rampart does not accept, and mapped settings that fail the catalog's validation. Settings
/// that cannot be mapped do not refuse the file: they are listed in [`ImportedPolicy::unmapped`].
pub fn import_policy_str(text: &str) -> Result<ImportedPolicy, Vec<Violation>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(vec![Violation::new("", "The file is empty; it should hold one policy exported from Intune.")]);
    }
    let root: Value = serde_json::from_str(text)
        .map_err(|error| vec![Violation::new("", format!("The file is not valid JSON: {error}."))])?;
    let Some(policy) = root.as_object() else {
        return Err(vec![Violation::new("", "The file must hold one policy: a JSON object with a name and settings.")]);
    };
    if let (None, None, Some(Value::Array(list))) = (policy.get("name"), policy.get("settings"), policy.get("value")) {
        let message = format!(
            "The file holds a list of {} policies (a Graph collection response); export each policy to a file of \
             its own.",
            list.len()
        );
        return Err(vec![Violation::new("value", message)]);
    }

    let mut violations = Vec::new();
    let items = setting_items(policy, &mut violations);
    let profile = profile_of(policy, &items).map_err(|violation| vec![violation])?;
    let (name, description) = policy_text(policy, &mut violations);
    check_platforms(policy, &mut violations);

    let mut mapper = Mapper { profile, mapped: Vec::new(), unmapped: Vec::new() };
    for item in items {
        match item {
            Ok(instance) => mapper.place(instance, None),
            Err((path, reason)) => {
                mapper.unmapped.push(UnmappedSetting { path, setting_definition_id: String::new(), reason });
            }
        }
    }
    let (sources, settings) = parents_first(mapper.mapped);
    violations.extend(validate_settings(profile, &settings).into_iter().map(|violation| Violation {
        path: with_file_paths(&violation.path, &sources),
        message: with_file_paths(&violation.message, &sources),
    }));
    if !violations.is_empty() {
        return Err(violations);
    }
    Ok(ImportedPolicy { profile, name, description, settings, unmapped: mapper.unmapped })
}

/// A setting instance in the file.
struct Instance<'a> {
    /// Where it is reported: `settings[4]`, or the JSON path of a nested instance.
    path: String,
    /// The JSON path of the instance object, below which its value's parts are.
    base: String,
    json: &'a Value,
}

impl<'a> Instance<'a> {
    fn nested(path: String, json: &'a Value) -> Self {
        Self { base: path.clone(), path, json }
    }

    fn id(&self) -> &'a str {
        self.json.get("settingDefinitionId").and_then(Value::as_str).unwrap_or("")
    }
}

/// A top-level entry of `settings`: an instance, or why it is not one (path, reason).
type Item<'a> = Result<Instance<'a>, (String, String)>;

fn setting_items<'a>(policy: &'a Map<String, Value>, violations: &mut Vec<Violation>) -> Vec<Item<'a>> {
    let list = match policy.get("settings") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(list)) => list,
        Some(_) => {
            violations.push(Violation::new("settings", "must be a list of settings"));
            return Vec::new();
        }
    };
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let path = format!("settings[{i}]");
            match item.get("settingInstance") {
                Some(instance @ Value::Object(_)) => {
                    Ok(Instance { base: format!("{path}.settingInstance"), path, json: instance })
                }
                // Some tools write the instances themselves, without the `settingInstance` wrapper.
                _ if item.get("settingDefinitionId").is_some() => Ok(Instance { base: path.clone(), path, json: item }),
                _ => Err((path, "is not a setting: it has no settingInstance".to_owned())),
            }
        })
        .collect()
}

/// The profile named by the file's template, or told by its settings when it has none.
fn profile_of(policy: &Map<String, Value>, items: &[Item<'_>]) -> Result<Profile, Violation> {
    let reference = policy.get("templateReference").filter(|reference| !reference.is_null());
    if reference.is_some_and(|reference| !reference.is_object()) {
        return Err(Violation::new("templateReference", "must be an object with a templateId"));
    }
    let property = |key: &str| {
        reference.and_then(|r| r.get(key)).and_then(Value::as_str).map(str::trim).filter(|text| !text.is_empty())
    };
    match property("templateId") {
        Some(id) => Template::find(id).map(|template| template.profile).ok_or_else(|| {
            Violation::new("templateReference.templateId", unknown_template(id, property("templateDisplayName")))
        }),
        None => profile_from_settings(items),
    }
}

fn unknown_template(id: &str, display_name: Option<&str>) -> String {
    let known = OTHER_TEMPLATES.iter().find(|(other, ..)| other.eq_ignore_ascii_case(id));
    let named = match display_name.or(known.map(|(_, name, _)| *name)) {
        Some(name) => format!("{name:?} ({id})"),
        None => id.to_owned(),
    };
    let why = known.map_or_else(String::new, |(_, _, why)| format!(": {why}"));
    let mut managed: Vec<String> = TEMPLATES.iter().map(|template| format!("{:?}", template.display_name)).collect();
    let last = managed.pop().unwrap_or_default();
    format!(
        "The policy uses the template {named}, which Rampart does not import{why}. Rampart imports policies of the \
         templates {} and {last}.",
        managed.join(", ")
    )
}

fn profile_from_settings(items: &[Item<'_>]) -> Result<Profile, Violation> {
    let instances: Vec<&Instance<'_>> = items.iter().flatten().collect();
    let count = |profile: Profile| {
        let belongs =
            |instance: &&&Instance<'_>| catalog::definition(instance.id()).is_some_and(|d| d.profile() == profile);
        instances.iter().filter(belongs).count()
    };
    let found: Vec<(Profile, usize)> = Profile::ALL.iter().map(|p| (*p, count(*p))).filter(|(_, n)| *n > 0).collect();
    match found.as_slice() {
        [(profile, _)] => Ok(*profile),
        [] => Err(Violation::new(
            "templateReference",
            format!(
                "The policy has no template, and none of its {} settings is in Rampart's catalog, so it is neither a \
                 {} nor a {} policy.",
                instances.len(),
                Profile::Antivirus.label(),
                Profile::Firewall.label()
            ),
        )),
        several => {
            let counts: Vec<String> = several.iter().map(|(p, n)| format!("{n} of {}", p.label())).collect();
            Err(Violation::new(
                "templateReference",
                format!(
                    "The policy has no template and mixes settings of both profiles ({}), so Rampart cannot tell \
                     which profile it is; split it into one policy per profile.",
                    counts.join(", ")
                ),
            ))
        }
    }
}

/// The policy's name and description, checked as Rampart checks them.
fn policy_text(policy: &Map<String, Value>, violations: &mut Vec<Violation>) -> (String, String) {
    let mut read = |key: &str, required: bool| match policy.get(key) {
        Some(Value::String(text)) => Some(text.clone()),
        None | Some(Value::Null) if required => {
            violations.push(Violation::new(key, "is required"));
            None
        }
        None | Some(Value::Null) => Some(String::new()),
        Some(_) => {
            violations.push(Violation::new(key, "must be a text"));
            None
        }
    };
    let (name, description) = (read("name", true), read("description", false));
    for violation in validate_policy_text(name.as_deref().unwrap_or("-"), description.as_deref().unwrap_or("")) {
        let checked = if violation.path == "name" { name.is_some() } else { description.is_some() };
        if checked {
            violations.push(violation);
        }
    }
    (name.unwrap_or_default(), description.unwrap_or_default())
}

fn check_platforms(policy: &Map<String, Value>, violations: &mut Vec<Violation>) {
    match policy.get("platforms") {
        None | Some(Value::Null) => {}
        Some(Value::String(platforms)) if platforms.split(',').any(|p| p.trim().eq_ignore_ascii_case(PLATFORMS)) => {}
        Some(other) => violations.push(Violation::new(
            "platforms",
            format!("is {other}; Rampart manages policies of the platform {PLATFORMS:?} only"),
        )),
    }
}

/// How a setting instance carries its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Choice,
    ChoiceCollection,
    Simple,
    SimpleCollection,
    GroupCollection,
}

impl Shape {
    const ALL: [Shape; 5] =
        [Self::Choice, Self::ChoiceCollection, Self::Simple, Self::SimpleCollection, Self::GroupCollection];

    fn property(self) -> &'static str {
        match self {
            Self::Choice => "choiceSettingValue",
            Self::ChoiceCollection => "choiceSettingCollectionValue",
            Self::Simple => "simpleSettingValue",
            Self::SimpleCollection => "simpleSettingCollectionValue",
            Self::GroupCollection => "groupSettingCollectionValue",
        }
    }

    fn instance_type(self) -> &'static str {
        match self {
            Self::Choice => odata::CHOICE_INSTANCE,
            Self::ChoiceCollection => odata::CHOICE_COLLECTION_INSTANCE,
            Self::Simple => odata::SIMPLE_INSTANCE,
            Self::SimpleCollection => odata::SIMPLE_COLLECTION_INSTANCE,
            Self::GroupCollection => odata::GROUP_COLLECTION_INSTANCE,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Choice => "a choice (choiceSettingValue)",
            Self::ChoiceCollection => "a list of choices (choiceSettingCollectionValue)",
            Self::Simple => "a single value (simpleSettingValue)",
            Self::SimpleCollection => "a list of values (simpleSettingCollectionValue)",
            Self::GroupCollection => "a collection of groups (groupSettingCollectionValue)",
        }
    }

    fn for_kind(kind: SettingKind) -> Self {
        match kind {
            SettingKind::Choice { .. } => Self::Choice,
            SettingKind::ChoiceList { .. } => Self::ChoiceCollection,
            SettingKind::Integer(_) | SettingKind::Text { .. } => Self::Simple,
            SettingKind::TextList { .. } => Self::SimpleCollection,
            SettingKind::Group | SettingKind::FirewallRules => Self::GroupCollection,
        }
    }

    /// The shape of an instance: by its `@odata.type` when it has one, else by the value property it carries.
    fn of(instance: &Value) -> Result<Self, String> {
        match instance.get("@odata.type").and_then(Value::as_str) {
            Some(declared) => {
                let shape = Self::ALL
                    .into_iter()
                    .find(|shape| same_type(shape.instance_type(), declared))
                    .ok_or_else(|| format!("has the instance type {declared:?}, which Rampart does not read"))?;
                if instance.get(shape.property()).is_none_or(Value::is_null) {
                    return Err(format!("is a {declared} without its {}", shape.property()));
                }
                Ok(shape)
            }
            None => Self::ALL
                .into_iter()
                .find(|shape| instance.get(shape.property()).is_some_and(|v| !v.is_null()))
                .ok_or_else(|| {
                    let properties: Vec<&str> = Self::ALL.iter().map(|shape| shape.property()).collect();
                    format!("has no value: none of {}", properties.join(", "))
                }),
        }
    }
}

/// Whether two `@odata.type`s name the same type, with or without `#microsoft.graph.`.
fn same_type(a: &str, b: &str) -> bool {
    let bare = |t: &str| t.trim_start_matches('#').trim_start_matches("microsoft.graph.").to_ascii_lowercase();
    bare(a) == bare(b)
}

/// The display name of a catalog setting, or its id.
fn display(id: &str) -> &str {
    catalog::definition(id).map_or(id, |definition| definition.display_name)
}

/// Reads the instances of a file into configured settings, noting what it cannot map.
struct Mapper {
    profile: Profile,
    /// Mapped settings, each with its path in the file, in the order they were read (parents before children).
    mapped: Vec<(String, ConfiguredSetting)>,
    unmapped: Vec<UnmappedSetting>,
}

impl Mapper {
    fn unmapped(&mut self, instance: &Instance<'_>, reason: impl Into<String>) {
        self.unmapped.push(UnmappedSetting {
            path: instance.path.clone(),
            setting_definition_id: instance.id().to_owned(),
            reason: reason.into(),
        });
    }

    /// Notes an instance as unmapped, and with it the settings nested under its options, which cannot apply without it.
    fn abandon(&mut self, instance: &Instance<'_>, reason: impl Into<String>) {
        self.unmapped(instance, reason);
        let parent = display(instance.id()).to_owned();
        for child in option_children(instance) {
            self.abandon(&child, format!("is nested under {parent:?}, which could not be imported"));
        }
    }

    /// Reads a setting that the catalog lists on its own: a top-level one, or one nested under an option of `parent`.
    fn place(&mut self, instance: Instance<'_>, parent: Option<&'static SettingDefinition>) {
        let definition = match self.placed_definition(&instance, parent) {
            Ok(definition) => definition,
            Err(reason) => return self.abandon(&instance, reason),
        };
        match self.read(definition, &instance) {
            Ok((value, children)) => {
                self.mapped.push((instance.path.clone(), ConfiguredSetting::new(definition.id, value)));
                for child in children {
                    self.place(child, Some(definition));
                }
            }
            Err(reason) => self.abandon(&instance, reason),
        }
    }

    fn placed_definition(
        &self,
        instance: &Instance<'_>,
        parent: Option<&'static SettingDefinition>,
    ) -> Result<&'static SettingDefinition, String> {
        let id = instance.id();
        if id.is_empty() {
            return Err("has no settingDefinitionId".to_owned());
        }
        let Some(definition) = self.profile.definition(id) else {
            return Err(match catalog::definition(id) {
                Some(other) => format!(
                    "{:?} belongs to the {} profile, not to {}",
                    other.display_name,
                    other.profile().label(),
                    self.profile.label()
                ),
                None => format!("is not a setting of Rampart's {} catalog", self.profile.label()),
            });
        };
        match (definition.parent, parent) {
            (Some(Parent::Member { id: container }), _) => Err(format!(
                "{:?} is part of {:?}, but the file gives it on its own",
                definition.display_name,
                display(container)
            )),
            (Some(Parent::Option { id: expected, .. }), Some(parent)) if expected != parent.id => Err(format!(
                "{:?} depends on {:?}, but the file nests it under {:?}",
                definition.display_name,
                display(expected),
                parent.display_name
            )),
            (None, Some(parent)) => Err(format!(
                "{:?} is a setting of its own, but the file nests it under {:?}",
                definition.display_name, parent.display_name
            )),
            _ => Ok(definition),
        }
    }

    /// Reads an instance's value for `definition`; also returns the instances nested under a chosen option.
    fn read<'a>(
        &mut self,
        definition: &'static SettingDefinition,
        instance: &Instance<'a>,
    ) -> Result<(SettingValue, Vec<Instance<'a>>), String> {
        let shape = Shape::of(instance.json)?;
        let wanted = Shape::for_kind(definition.kind);
        if shape != wanted {
            return Err(format!(
                "the file gives {}, but {:?} takes {}",
                shape.describe(),
                definition.display_name,
                definition.kind.expected()
            ));
        }
        let json: &'a Value = &instance.json[shape.property()];
        let at = format!("{}.{}", instance.base, shape.property());
        let value = match definition.kind {
            SettingKind::Choice { .. } => {
                let option = option_of(definition, json.get("value"))?;
                return Ok((SettingValue::Choice(option), value_children(json, &at)));
            }
            SettingKind::ChoiceList { .. } => {
                let items = entries(definition, json)?;
                let options: Vec<Result<String, String>> =
                    items.iter().map(|item| option_of(definition, item.get("value"))).collect();
                let problems: Vec<String> = options.iter().filter_map(|o| o.as_ref().err().cloned()).collect();
                if !problems.is_empty() {
                    return Err(problems.join("; "));
                }
                let children = items
                    .iter()
                    .enumerate()
                    .flat_map(|(k, item)| value_children(item, &format!("{at}[{k}]")))
                    .collect();
                return Ok((SettingValue::ChoiceList(options.into_iter().flatten().collect()), children));
            }
            SettingKind::Integer(_) => {
                simple_type(definition, json, odata::INTEGER_VALUE)?;
                match json.get("value").and_then(Value::as_i64) {
                    Some(n) => SettingValue::Integer(n),
                    None => return Err(format!("the value must be a whole number, not {}", shown(json.get("value")))),
                }
            }
            SettingKind::Text { .. } => {
                simple_type(definition, json, odata::STRING_VALUE)?;
                match json.get("value") {
                    Some(Value::String(text)) => SettingValue::String(text.clone()),
                    other => return Err(format!("the value must be a text, not {}", shown(other))),
                }
            }
            SettingKind::TextList { .. } => {
                let texts: Vec<Option<&str>> =
                    entries(definition, json)?.iter().map(|item| item.get("value").and_then(Value::as_str)).collect();
                if let Some(k) = texts.iter().position(Option::is_none) {
                    return Err(format!("entry {k} of the list is not a text"));
                }
                SettingValue::StringList(texts.into_iter().flatten().map(str::to_owned).collect())
            }
            SettingKind::Group => self.group(definition, json, &at)?,
            SettingKind::FirewallRules => self.rules(definition, json, &at)?,
        };
        Ok((value, Vec::new()))
    }

    /// The one group of a group setting (the threat-severity actions): each member maps on its own.
    fn group(&mut self, group: &'static SettingDefinition, json: &Value, at: &str) -> Result<SettingValue, String> {
        let items = entries(group, json)?;
        let [item] = items else {
            return Err(format!("has {} groups of values; {:?} takes one", items.len(), group.display_name));
        };
        let children = item
            .get("children")
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| format!("its group is empty; Rampart leaves {:?} unconfigured", group.display_name))?;
        let mut members = Vec::new();
        for (k, child) in children.iter().enumerate() {
            let instance = Instance::nested(format!("{at}[0].children[{k}]"), child);
            match self.member(group, &instance) {
                Ok(member) => members.push(member),
                Err(reason) => self.abandon(&instance, reason),
            }
        }
        if members.is_empty() {
            return Err(format!("none of its {} settings could be imported", children.len()));
        }
        Ok(SettingValue::Group(members))
    }

    fn member(
        &mut self,
        group: &'static SettingDefinition,
        instance: &Instance<'_>,
    ) -> Result<ConfiguredSetting, String> {
        let definition = catalog::definition(instance.id())
            .filter(|definition| definition.parent == Some(Parent::Member { id: group.id }))
            .ok_or_else(|| format!("is not part of {:?} in Rampart's catalog", group.display_name))?;
        let (value, children) = self.read(definition, instance)?;
        for child in children {
            let reason = format!("is nested under {:?}, which has no nested settings", definition.display_name);
            self.abandon(&child, reason);
        }
        Ok(ConfiguredSetting::new(definition.id, value))
    }

    /// Firewall rules: one group per rule. A rule with a field that cannot be mapped is left out whole, since
    /// dropping a condition would make it match other traffic.
    fn rules(
        &mut self,
        collection: &'static SettingDefinition,
        json: &Value,
        at: &str,
    ) -> Result<SettingValue, String> {
        let items = entries(collection, json)?;
        let rules: Vec<FirewallRule> =
            items.iter().enumerate().filter_map(|(r, item)| self.rule(&format!("{at}[{r}]"), r, item)).collect();
        if rules.is_empty() {
            return Err(format!("none of its {} rules could be imported", items.len()));
        }
        Ok(SettingValue::FirewallRules(rules))
    }

    fn rule(&mut self, at: &str, index: usize, item: &Value) -> Option<FirewallRule> {
        // The rule's key on the device (`{firewallrulename}`). Rampart keys rules by name, so a key equal to the name
        // loses nothing; another key is reported as not kept.
        let key_id = format!("{RULES_ID}_firewallrulename");
        let mut rule = FirewallRule::default();
        let mut seen = HashSet::new();
        let mut problems: Vec<(Instance<'_>, String)> = Vec::new();
        let mut key: Option<(Instance<'_>, String)> = None;
        let children = item.get("children").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        for (k, child) in children.iter().enumerate() {
            let instance = Instance::nested(format!("{at}.children[{k}]"), child);
            let id = instance.id();
            if !seen.insert(id) {
                problems.push((instance, "is given twice in the rule".to_owned()));
                continue;
            }
            let field = rules::field_of(id);
            let definition = catalog::definition(id).filter(|d| d.parent == Some(Parent::Member { id: RULES_ID }));
            let Some(definition) = definition.filter(|_| field.is_some() || id == key_id) else {
                problems.push((instance, "is not a field of a firewall rule in Rampart's catalog".to_owned()));
                continue;
            };
            let read = self.read(definition, &instance).and_then(|(value, nested)| {
                for child in nested {
                    let reason = format!("is nested under {:?}, which has no nested settings", definition.display_name);
                    self.abandon(&child, reason);
                }
                match (field, value) {
                    (Some(field), value) => rules::set_field(&mut rule, field, value),
                    (None, SettingValue::String(text)) => {
                        key = Some((Instance::nested(instance.path.clone(), child), text));
                        Ok(())
                    }
                    (None, value) => Err(format!("the rule key must be a text, not {}", value.kind_name())),
                }
            });
            if let Err(reason) = read {
                problems.push((instance, reason));
            }
        }
        let label = if rule.name.trim().is_empty() {
            format!("rule {} of the list", index + 1)
        } else {
            format!("the rule {:?}", rule.name)
        };
        if children.is_empty() {
            self.unmapped.push(UnmappedSetting {
                path: at.to_owned(),
                setting_definition_id: RULES_ID.to_owned(),
                reason: format!("{label} has no fields"),
            });
            return None;
        }
        if let Some((instance, key)) = key.filter(|(_, key)| *key != rule.name) {
            let reason = format!(
                "is the key of {label} on the device ({key:?}); Rampart identifies rules by their name and does not \
                 keep a separate key"
            );
            self.unmapped(&instance, reason);
        }
        if problems.is_empty() {
            return Some(rule);
        }
        for (instance, reason) in problems {
            let reason = format!(
                "{reason}; {label} is not imported, because leaving out one of its fields would change the traffic \
                 it matches"
            );
            self.unmapped(&instance, reason);
        }
        None
    }
}

/// The instances nested under a choice value (`children`), with their paths.
fn value_children<'a>(value: &'a Value, at: &str) -> Vec<Instance<'a>> {
    let children = value.get("children").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    children.iter().enumerate().map(|(k, child)| Instance::nested(format!("{at}.children[{k}]"), child)).collect()
}

/// The instances nested under the options of a choice or choice-list instance.
fn option_children<'a>(instance: &Instance<'a>) -> Vec<Instance<'a>> {
    let base = &instance.base;
    let mut children = match instance.json.get("choiceSettingValue") {
        Some(value) => value_children(value, &format!("{base}.choiceSettingValue")),
        None => Vec::new(),
    };
    if let Some(Value::Array(items)) = instance.json.get("choiceSettingCollectionValue") {
        for (k, item) in items.iter().enumerate() {
            children.extend(value_children(item, &format!("{base}.choiceSettingCollectionValue[{k}]")));
        }
    }
    children
}

/// The option a choice item id (`<settingDefinitionId>_<option>`) stands for.
fn option_of(definition: &SettingDefinition, item_id: Option<&Value>) -> Result<String, String> {
    let Some(item_id) = item_id.and_then(Value::as_str) else {
        return Err(format!("the choice has no option, where {:?} needs one", definition.display_name));
    };
    let prefix = format!("{}_", definition.id);
    let option = item_id.strip_prefix(&prefix).filter(|option| definition.option(option).is_some());
    option.map(str::to_owned).ok_or_else(|| {
        let known: Vec<String> = definition
            .kind
            .options()
            .unwrap_or_default()
            .iter()
            .map(|option| format!("{:?} ({})", option.value, option.label))
            .collect();
        format!(
            "the option {item_id:?} is not one Rampart knows for {:?}, whose options are {}",
            definition.display_name,
            known.join(", ")
        )
    })
}

/// The entries of a collection value, refusing an empty one: Rampart leaves such a setting unconfigured.
fn entries<'a>(definition: &SettingDefinition, json: &'a Value) -> Result<&'a [Value], String> {
    match json.as_array() {
        Some(items) if !items.is_empty() => Ok(items),
        Some(_) => {
            Err(format!("is empty; Rampart leaves {:?} unconfigured rather than empty", definition.display_name))
        }
        None => Err("the value must be a list".to_owned()),
    }
}

/// Checks the `@odata.type` of a simple value, when it has one.
fn simple_type(definition: &SettingDefinition, json: &Value, wanted: &str) -> Result<(), String> {
    match json.get("@odata.type").and_then(Value::as_str) {
        Some(declared) if !same_type(declared, wanted) => Err(format!(
            "the file gives a value of the type {declared:?}, but {:?} takes {}",
            definition.display_name,
            definition.kind.expected()
        )),
        _ => Ok(()),
    }
}

fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "nothing".to_owned(), Value::to_string)
}

/// Orders mapped settings so that each follows the setting whose option it depends on (as export nests them), and
/// returns their paths in the file alongside.
fn parents_first(mapped: Vec<(String, ConfiguredSetting)>) -> (Vec<String>, Vec<ConfiguredSetting>) {
    let parent_index: Vec<Option<usize>> = mapped
        .iter()
        .enumerate()
        .map(|(i, (_, setting))| {
            let parent = match catalog::definition(&setting.id)?.parent? {
                Parent::Option { id, .. } => id,
                Parent::Member { .. } => return None,
            };
            mapped.iter().position(|(_, other)| other.id == parent).filter(|j| *j != i)
        })
        .collect();
    let mut order = Vec::with_capacity(mapped.len());
    let mut placed = vec![false; mapped.len()];
    fn visit(i: usize, parent_index: &[Option<usize>], placed: &mut [bool], order: &mut Vec<usize>) {
        if std::mem::replace(&mut placed[i], true) {
            return;
        }
        order.push(i);
        for j in 0..parent_index.len() {
            if parent_index[j] == Some(i) {
                visit(j, parent_index, placed, order);
            }
        }
    }
    for i in 0..mapped.len() {
        if parent_index[i].is_none() {
            visit(i, &parent_index, &mut placed, &mut order);
        }
    }
    // Every setting has been placed unless parents formed a cycle, which the catalog rules out; keep them anyway.
    for i in 0..mapped.len() {
        visit(i, &parent_index, &mut placed, &mut order);
    }
    let mut slots: Vec<Option<(String, ConfiguredSetting)>> = mapped.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).unzip()
}

/// Replaces `settings[i]` (an index into the mapped settings) with the path of that setting in the file.
fn with_file_paths(text: &str, sources: &[String]) -> String {
    const MARK: &str = "settings[";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let after = &rest[at + MARK.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let source = after[..digits].parse::<usize>().ok().and_then(|i| sources.get(i));
        match source {
            Some(source) if after[digits..].starts_with(']') => {
                out.push_str(source);
                rest = &after[digits + 1..];
            }
            _ => {
                out.push_str(MARK);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_indices_in_paths_and_messages_become_paths_in_the_file() {
        let sources =
            vec!["settings[0]".to_owned(), "settings[3].settingInstance.choiceSettingValue.children[1]".into()];
        assert_eq!(
            with_file_paths("settings[1].value", &sources),
            "settings[3].settingInstance.choiceSettingValue.children[1].value"
        );
        assert_eq!(with_file_paths("but settings[0] sets it", &sources), "but settings[0] sets it");
        assert_eq!(with_file_paths("settings[7].id and settings[x]", &sources), "settings[7].id and settings[x]");
        assert_eq!(with_file_paths("name", &sources), "name");
    }

    #[test]
    fn children_follow_their_parent_whatever_the_file_order() {
        let choice = |id: &str, v: &str| ConfiguredSetting::new(id, SettingValue::Choice(v.into()));
        let on = "vendor_msft_firewall_mdmstore_domainprofile_enablefirewall";
        let inbound = "vendor_msft_firewall_mdmstore_domainprofile_defaultinboundaction";
        let ftp = "vendor_msft_firewall_mdmstore_global_disablestatefulftp";
        let mapped = vec![
            ("a".to_owned(), choice(inbound, "1")),
            ("b".to_owned(), choice(ftp, "true")),
            ("c".to_owned(), choice(on, "true")),
        ];
        let (sources, settings) = parents_first(mapped);
        assert_eq!(sources, ["b", "c", "a"]);
        assert_eq!(settings.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [ftp, on, inbound]);
    }

    #[test]
    fn shapes_are_told_by_type_or_by_value_property() {
        let typed = serde_json::json!({"@odata.type": odata::SIMPLE_INSTANCE, "simpleSettingValue": {"value": 1}});
        assert_eq!(Shape::of(&typed), Ok(Shape::Simple));
        let bare = serde_json::json!({"choiceSettingCollectionValue": []});
        assert_eq!(Shape::of(&bare), Ok(Shape::ChoiceCollection));
        let short = serde_json::json!({"@odata.type": "deviceManagementConfigurationChoiceSettingInstance",
                                       "choiceSettingValue": {"value": "x"}});
        assert_eq!(Shape::of(&short), Ok(Shape::Choice));
        let missing = serde_json::json!({"@odata.type": odata::CHOICE_INSTANCE});
        assert!(Shape::of(&missing).expect_err("no value").contains("without its choiceSettingValue"));
        let other =
            serde_json::json!({"@odata.type": "#microsoft.graph.deviceManagementConfigurationGroupSettingInstance"});
        assert!(Shape::of(&other).expect_err("unread type").contains("does not read"));
        assert!(Shape::of(&serde_json::json!({})).expect_err("nothing").contains("has no value"));
    }
}
