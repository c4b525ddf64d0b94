//! Device groups: static (explicit members), dynamic (a rule over device properties), nested (a group may contain
//! groups, never itself through any path), and the virtual group *All devices*.
//!
//! The rule language is small on purpose:
//!
//! ```text
//! managed_by == "mde" and os in ("windows_11", "windows_10") and not name startswith "LAB-"
//! (join_type == "workgroup" or edition != "home")
//! ```
//!
//! Properties: `managed_by`, `os`, `edition`, `join_type` (compared by their codes) and `name` (the host name,
//! compared without regard to case). Operators: `==`, `!=`, `in (…)`, and `startswith` (for `name`). Conditions
//! combine with `and`, `or`, `not` and parentheses; `and` binds tighter than `or`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::device::{DeviceFacts, Edition, JoinType, ManagedBy, OsProduct};
use crate::error::Violation;

/// The id of the virtual group that holds every device.
pub const ALL_DEVICES: &str = "all-devices";

/// The longest group name accepted.
pub const MAX_NAME_LEN: usize = 128;
/// The longest group description accepted.
pub const MAX_DESCRIPTION_LEN: usize = 1024;
/// The longest rule accepted.
pub const MAX_RULE_LEN: usize = 2048;

string_enum! {
    /// A device property a dynamic rule can test.
    pub enum Property {
        ManagedBy = ("managed_by", "Managed by"),
        Os = ("os", "OS"),
        Edition = ("edition", "Edition"),
        JoinType = ("join_type", "Join type"),
        Name = ("name", "Name"),
    }
}

/// One test of a device property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The property equals one of the values (`==` is `in` with one value).
    In(Property, Vec<String>),
    /// The host name starts with the prefix, ignoring case.
    NameStartsWith(String),
}

/// A parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A single condition.
    Condition(Condition),
    /// Negation.
    Not(Box<Expr>),
    /// Every part holds.
    And(Vec<Expr>),
    /// Some part holds.
    Or(Vec<Expr>),
}

impl Expr {
    /// Whether a device with these facts matches.
    pub fn matches(&self, facts: &DeviceFacts) -> bool {
        match self {
            Self::Condition(Condition::In(property, values)) => {
                let actual = match property {
                    Property::ManagedBy => facts.managed_by.code(),
                    Property::Os => facts.os.code(),
                    Property::Edition => facts.edition.code(),
                    Property::JoinType => facts.join_type.code(),
                    Property::Name => return values.iter().any(|v| v.eq_ignore_ascii_case(facts.hostname.as_str())),
                };
                values.iter().any(|v| v == actual)
            }
            Self::Condition(Condition::NameStartsWith(prefix)) => {
                let name = facts.hostname.as_str();
                name.len() >= prefix.len() && name[..prefix.len()].eq_ignore_ascii_case(prefix)
            }
            Self::Not(inner) => !inner.matches(facts),
            Self::And(parts) => parts.iter().all(|part| part.matches(facts)),
            Self::Or(parts) => parts.iter().any(|part| part.matches(facts)),
        }
    }
}

/// A dynamic group's rule: the text the admin wrote and what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Rule {
    text: String,
    expr: Expr,
}

impl Rule {
    /// Parses a rule; every problem is reported at `path`, with the character position where it was found.
    pub fn parse(text: &str, path: &str) -> Result<Self, Vec<Violation>> {
        if text.trim().is_empty() {
            return Err(vec![Violation::new(path, "must not be empty; e.g. managed_by == \"mde\"")]);
        }
        if text.len() > MAX_RULE_LEN {
            return Err(vec![Violation::new(path, format!("must be at most {MAX_RULE_LEN} characters"))]);
        }
        let tokens = tokenize(text).map_err(|e| vec![Violation::new(path, e)])?;
        let mut parser = Parser { tokens, position: 0, violations: Vec::new() };
        let expr = parser.expr();
        if parser.violations.is_empty()
            && let Some((at, token)) = parser.tokens.get(parser.position)
        {
            parser.violations.push(format!("at character {}: unexpected {}", at + 1, token.describe()));
        }
        match expr {
            Some(expr) if parser.violations.is_empty() => Ok(Self { text: text.trim().to_owned(), expr }),
            _ => Err(parser.violations.into_iter().map(|message| Violation::new(path, message)).collect()),
        }
    }

    /// The rule as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether a device with these facts matches.
    pub fn matches(&self, facts: &DeviceFacts) -> bool {
        self.expr.matches(facts)
    }
}

impl TryFrom<String> for Rule {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text, "rule")
            .map_err(|violations| violations.into_iter().map(|v| v.message).collect::<Vec<_>>().join("; "))
    }
}

impl From<Rule> for String {
    fn from(rule: Rule) -> String {
        rule.text
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Text(String),
    Eq,
    Ne,
    Open,
    Close,
    Comma,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Self::Word(word) => format!("{word:?}"),
            Self::Text(text) => format!("the value \"{text}\""),
            Self::Eq => "\"==\"".into(),
            Self::Ne => "\"!=\"".into(),
            Self::Open => "\"(\"".into(),
            Self::Close => "\")\"".into(),
            Self::Comma => "\",\"".into(),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | ',' => {
                let token = match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                };
                tokens.push((at, token));
                i += 1;
            }
            '=' | '!' if chars.get(i + 1).map(|(_, c)| *c) == Some('=') => {
                tokens.push((at, if c == '=' { Token::Eq } else { Token::Ne }));
                i += 2;
            }
            '"' => {
                let start = i + 1;
                let end = (start..chars.len()).find(|j| chars[*j].1 == '"');
                let Some(end) = end else {
                    return Err(format!("at character {}: the value in quotes is not closed", at + 1));
                };
                tokens.push((at, Token::Text(chars[start..end].iter().map(|(_, c)| c).collect())));
                i = end + 1;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].1.is_ascii_alphanumeric() || chars[i].1 == '_') {
                    i += 1;
                }
                tokens.push((at, Token::Word(chars[start..i].iter().map(|(_, c)| c).collect())));
            }
            other => return Err(format!("at character {}: unexpected {other:?}", at + 1)),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    position: usize,
    violations: Vec<String>,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position).map(|(_, token)| token)
    }

    fn at(&self) -> String {
        match self.tokens.get(self.position) {
            Some((at, _)) => format!("at character {}", at + 1),
            None => "at the end".to_owned(),
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word)) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn fail<T>(&mut self, expected: &str) -> Option<T> {
        let found = self.peek().map_or_else(|| "the end of the rule".to_owned(), Token::describe);
        self.violations.push(format!("{}: expected {expected}, found {found}", self.at()));
        None
    }

    fn expr(&mut self) -> Option<Expr> {
        let mut parts = vec![self.term()?];
        while self.keyword("or") {
            parts.push(self.term()?);
        }
        Some(if parts.len() == 1 { parts.remove(0) } else { Expr::Or(parts) })
    }

    fn term(&mut self) -> Option<Expr> {
        let mut parts = vec![self.factor()?];
        while self.keyword("and") {
            parts.push(self.factor()?);
        }
        Some(if parts.len() == 1 { parts.remove(0) } else { Expr::And(parts) })
    }

    fn factor(&mut self) -> Option<Expr> {
        if self.keyword("not") {
            return Some(Expr::Not(Box::new(self.factor()?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.position += 1;
            let inner = self.expr()?;
            if self.peek() != Some(&Token::Close) {
                return self.fail("\")\"");
            }
            self.position += 1;
            return Some(inner);
        }
        self.condition()
    }

    fn condition(&mut self) -> Option<Expr> {
        let property = match self.peek() {
            Some(Token::Word(word)) => match Property::from_code(&word.to_ascii_lowercase()) {
                Some(property) => property,
                None => return self.fail("a property (managed_by, os, edition, join_type or name)"),
            },
            _ => return self.fail("a property (managed_by, os, edition, join_type or name)"),
        };
        self.position += 1;
        let values = match self.peek() {
            Some(Token::Eq) => {
                self.position += 1;
                vec![self.value(property)?]
            }
            Some(Token::Ne) => {
                self.position += 1;
                let value = self.value(property)?;
                return Some(Expr::Not(Box::new(Expr::Condition(Condition::In(property, vec![value])))));
            }
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("in") => {
                self.position += 1;
                self.value_list(property)?
            }
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("startswith") => {
                self.position += 1;
                if property != Property::Name {
                    self.violations.push(format!("{}: startswith works only with name", self.at()));
                    return None;
                }
                return Some(Expr::Condition(Condition::NameStartsWith(self.value(property)?)));
            }
            _ => return self.fail("==, !=, in or startswith"),
        };
        Some(Expr::Condition(Condition::In(property, values)))
    }

    fn value_list(&mut self, property: Property) -> Option<Vec<String>> {
        if self.peek() != Some(&Token::Open) {
            return self.fail("\"(\" and a list of values");
        }
        self.position += 1;
        let mut values = vec![self.value(property)?];
        while self.peek() == Some(&Token::Comma) {
            self.position += 1;
            values.push(self.value(property)?);
        }
        if self.peek() != Some(&Token::Close) {
            return self.fail("\",\" or \")\"");
        }
        self.position += 1;
        Some(values)
    }

    fn value(&mut self, property: Property) -> Option<String> {
        let Some(Token::Text(text)) = self.peek().cloned() else {
            return self.fail("a value in double quotes");
        };
        let known: Option<Vec<&str>> = match property {
            Property::ManagedBy => Some(ManagedBy::ALL.iter().map(|v| v.code()).collect()),
            Property::Os => Some(OsProduct::ALL.iter().map(|v| v.code()).collect()),
            Property::Edition => Some(Edition::ALL.iter().map(|v| v.code()).collect()),
            Property::JoinType => Some(JoinType::ALL.iter().map(|v| v.code()).collect()),
            Property::Name => None,
        };
        if let Some(known) = known
            && !known.contains(&text.as_str())
        {
            self.violations.push(format!(
                "{}: {} is not a value of {}; use one of {}",
                self.at(),
                text,
                property.code(),
                known.join(", ")
            ));
            return None;
        }
        if property == Property::Name && text.is_empty() {
            self.violations.push(format!("{}: the name must not be empty", self.at()));
            return None;
        }
        self.position += 1;
        Some(text)
    }
}

string_enum! {
    /// How a group gets its devices.
    pub enum GroupKind {
        Static = ("static", "Static"),
        Dynamic = ("dynamic", "Dynamic"),
    }
}

/// What a group is made of, as membership resolution needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// Explicit device ids.
    Static(BTreeSet<String>),
    /// Every device matching the rule.
    Dynamic(Rule),
}

/// A group as membership resolution needs it: its own membership and the groups nested in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDefinition {
    /// Own members.
    pub membership: Membership,
    /// Ids of groups nested in this one; their members are members too.
    pub children: Vec<String>,
}

/// The devices in `group_id`, through nested groups, as ids. Unknown groups have no members; a cycle (which the
/// API never stores) cannot loop, because every group is visited once.
pub fn resolve_members<'a>(
    group_id: &str,
    groups: &BTreeMap<String, GroupDefinition>,
    devices: impl IntoIterator<Item = (&'a str, &'a DeviceFacts)> + Clone,
) -> BTreeSet<String> {
    let mut members = BTreeSet::new();
    if group_id == ALL_DEVICES {
        members.extend(devices.into_iter().map(|(id, _)| id.to_owned()));
        return members;
    }
    let mut visited = BTreeSet::new();
    let mut pending = vec![group_id.to_owned()];
    while let Some(id) = pending.pop() {
        if !visited.insert(id.clone()) {
            continue;
        }
        let Some(group) = groups.get(&id) else { continue };
        match &group.membership {
            Membership::Static(ids) => members.extend(ids.iter().cloned()),
            Membership::Dynamic(rule) => members.extend(
                devices.clone().into_iter().filter(|(_, facts)| rule.matches(facts)).map(|(id, _)| id.to_owned()),
            ),
        }
        pending.extend(group.children.iter().cloned());
    }
    members
}

/// Whether one device is in `group_id`, through nested groups: the same answer as [`resolve_members`] gives, for
/// one device, without looking at any other device (a check-in evaluates only the device checking in).
pub fn is_member(
    group_id: &str,
    groups: &BTreeMap<String, GroupDefinition>,
    device_id: &str,
    facts: &DeviceFacts,
) -> bool {
    if group_id == ALL_DEVICES {
        return true;
    }
    let mut visited = BTreeSet::new();
    let mut pending = vec![group_id];
    while let Some(id) = pending.pop() {
        if !visited.insert(id) {
            continue;
        }
        let Some(group) = groups.get(id) else { continue };
        let direct = match &group.membership {
            Membership::Static(ids) => ids.contains(device_id),
            Membership::Dynamic(rule) => rule.matches(facts),
        };
        if direct {
            return true;
        }
        pending.extend(group.children.iter().map(String::as_str));
    }
    false
}

/// How a device is in a group, from the group down: each step is a group id, the last one holds the device
/// directly (as a static member) or by its rule. `None` when the device is not in the group. *All devices* holds
/// every device: `[ALL_DEVICES]`.
pub fn membership_path(
    group_id: &str,
    groups: &BTreeMap<String, GroupDefinition>,
    device_id: &str,
    facts: &DeviceFacts,
) -> Option<Vec<String>> {
    fn walk(
        id: &str,
        groups: &BTreeMap<String, GroupDefinition>,
        device_id: &str,
        facts: &DeviceFacts,
        path: &mut Vec<String>,
    ) -> bool {
        if path.iter().any(|seen| seen == id) {
            return false;
        }
        let Some(group) = groups.get(id) else { return false };
        path.push(id.to_owned());
        let direct = match &group.membership {
            Membership::Static(ids) => ids.contains(device_id),
            Membership::Dynamic(rule) => rule.matches(facts),
        };
        if direct || group.children.iter().any(|child| walk(child, groups, device_id, facts, path)) {
            return true;
        }
        path.pop();
        false
    }
    if group_id == ALL_DEVICES {
        return Some(vec![ALL_DEVICES.to_owned()]);
    }
    let mut path = Vec::new();
    walk(group_id, groups, device_id, facts, &mut path).then_some(path)
}

/// If nesting `child` in `parent` would make a group contain itself, the chain of groups that closes the loop
/// (`[child, …, parent]`); `children_of` gives the groups already nested in a group.
pub fn nesting_cycle(parent: &str, child: &str, children_of: impl Fn(&str) -> Vec<String>) -> Option<Vec<String>> {
    if parent == child {
        return Some(vec![child.to_owned()]);
    }
    // Depth-first search from the child for the parent, remembering how each group was reached.
    let mut reached_from: BTreeMap<String, String> = BTreeMap::new();
    let mut pending = vec![child.to_owned()];
    let mut visited = BTreeSet::from([child.to_owned()]);
    while let Some(id) = pending.pop() {
        for next in children_of(&id) {
            if !visited.insert(next.clone()) {
                continue;
            }
            reached_from.insert(next.clone(), id.clone());
            if next == parent {
                let mut chain = vec![parent.to_owned()];
                let mut at = parent.to_owned();
                while let Some(previous) = reached_from.get(&at) {
                    chain.push(previous.clone());
                    at = previous.clone();
                }
                chain.reverse();
                return Some(chain);
            }
            pending.push(next);
        }
    }
    None
}

/// Checks a group's name and description; returns every problem.
pub fn validate_group_text(name: &str, description: &str) -> Vec<Violation> {
    let mut violations = Vec::new();
    let trimmed = name.trim();
    if trimmed.is_empty() {
        violations.push(Violation::new("name", "must not be empty"));
    } else if trimmed.chars().count() > MAX_NAME_LEN {
        violations.push(Violation::new("name", format!("must be at most {MAX_NAME_LEN} characters")));
    } else if trimmed.eq_ignore_ascii_case("All devices") {
        violations.push(Violation::new("name", "\"All devices\" is the built-in group; choose another name"));
    }
    if description.chars().count() > MAX_DESCRIPTION_LEN {
        violations.push(Violation::new("description", format!("must be at most {MAX_DESCRIPTION_LEN} characters")));
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(hostname: &str, os: &str, edition: &str, managed_by: &str, join_type: &str) -> DeviceFacts {
        let mut value = crate::device::tests::facts_json();
        value["hostname"] = hostname.into();
        value["os"] = os.into();
        value["edition"] = edition.into();
        value["managed_by"] = managed_by.into();
        value["join_type"] = join_type.into();
        DeviceFacts::parse(&value, "").expect("valid facts")
    }

    fn rule(text: &str) -> Rule {
        Rule::parse(text, "rule").unwrap_or_else(|v| panic!("{text}: {v:?}"))
    }

    #[test]
    fn rules_match_as_written() {
        let laptop = device("LAP-001", "windows_11", "enterprise", "mde", "directory_joined");
        let server = device("SRV-DB-01", "windows_server_2022", "standard", "intune", "domain_joined");
        let table = [
            ("managed_by == \"mde\"", true, false),
            ("managed_by != \"mde\"", false, true),
            ("os in (\"windows_10\", \"windows_11\")", true, false),
            ("name startswith \"lap-\"", true, false),
            ("name == \"srv-db-01\"", false, true),
            ("managed_by == \"mde\" and edition == \"enterprise\"", true, false),
            ("managed_by == \"mde\" or join_type == \"domain_joined\"", true, true),
            ("not (managed_by == \"mde\" or join_type == \"domain_joined\")", false, false),
            ("edition == \"standard\" and not name startswith \"LAP\" or os == \"windows_11\"", true, true),
            ("NAME STARTSWITH \"SRV\" AND OS == \"windows_server_2022\"", false, true),
        ];
        for (text, on_laptop, on_server) in table {
            let rule = rule(text);
            assert_eq!(rule.matches(&laptop), on_laptop, "{text} on the laptop");
            assert_eq!(rule.matches(&server), on_server, "{text} on the server");
        }
    }

    #[test]
    fn bad_rules_say_where_and_what() {
        let table = [
            ("", "must not be empty"),
            ("managed_by == mde", "at character 15: expected a value in double quotes, found \"mde\""),
            ("colour == \"red\"", "at character 1: expected a property"),
            ("os == \"windows_xp\"", "windows_xp is not a value of os"),
            ("edition startswith \"Pro\"", "startswith works only with name"),
            ("managed_by == \"mde\" and", "at the end: expected a property"),
            ("(managed_by == \"mde\"", "at the end: expected \")\""),
            ("name == \"LAP", "the value in quotes is not closed"),
            ("managed_by == \"mde\" \"x\"", "at character 21: unexpected the value \"x\""),
            ("os in \"windows_11\"", "expected \"(\" and a list of values"),
            ("managed_by = \"mde\"", "unexpected '='"),
        ];
        for (text, expected) in table {
            let violations = Rule::parse(text, "rule").expect_err(text);
            assert_eq!(violations[0].path, "rule");
            assert!(violations[0].message.contains(expected), "{text}: {:?} lacks {expected:?}", violations[0].message);
        }
    }

    #[test]
    fn a_rule_round_trips_through_serde_as_its_text() {
        let rule = rule("managed_by == \"mde\"");
        let json = serde_json::to_string(&rule).expect("serializes");
        assert_eq!(json, "\"managed_by == \\\"mde\\\"\"");
        assert_eq!(serde_json::from_str::<Rule>(&json).expect("parses"), rule);
        assert!(serde_json::from_str::<Rule>("\"os == 1\"").is_err());
    }

    #[test]
    fn members_are_resolved_through_nested_static_and_dynamic_groups() {
        let a = device("LAP-1", "windows_11", "enterprise", "mde", "directory_joined");
        let b = device("SRV-1", "windows_server_2022", "standard", "mde", "domain_joined");
        let c = device("LAP-2", "windows_10", "pro", "intune", "workgroup");
        let devices = [("a", &a), ("b", &b), ("c", &c)];
        let groups = BTreeMap::from([
            (
                "laptops".to_owned(),
                GroupDefinition { membership: Membership::Dynamic(rule("name startswith \"LAP\"")), children: vec![] },
            ),
            (
                "servers".to_owned(),
                GroupDefinition { membership: Membership::Static(BTreeSet::from(["b".to_owned()])), children: vec![] },
            ),
            (
                "everything".to_owned(),
                GroupDefinition {
                    membership: Membership::Static(BTreeSet::new()),
                    children: vec!["laptops".into(), "servers".into()],
                },
            ),
        ]);
        let members = |id: &str| resolve_members(id, &groups, devices.iter().map(|(id, f)| (*id, *f)));
        assert_eq!(members("laptops"), BTreeSet::from(["a".to_owned(), "c".to_owned()]));
        assert_eq!(members("everything"), BTreeSet::from(["a".to_owned(), "b".to_owned(), "c".to_owned()]));
        assert_eq!(members(ALL_DEVICES).len(), 3);
        assert!(members("unknown").is_empty());
        for group in ["laptops", "servers", "everything", ALL_DEVICES, "unknown"] {
            for (id, facts) in devices {
                assert_eq!(is_member(group, &groups, id, facts), members(group).contains(id), "{id} in {group}");
                let path = membership_path(group, &groups, id, facts);
                assert_eq!(
                    path.is_some(),
                    members(group).contains(id),
                    "a path exactly when a member: {id} in {group}"
                );
            }
        }
        assert_eq!(membership_path("everything", &groups, "b", &b), Some(vec!["everything".into(), "servers".into()]));
        assert_eq!(membership_path("everything", &groups, "a", &a), Some(vec!["everything".into(), "laptops".into()]));
        assert_eq!(membership_path(ALL_DEVICES, &groups, "c", &c), Some(vec![ALL_DEVICES.into()]));
    }

    #[test]
    fn nesting_that_would_close_a_loop_is_found_with_its_chain() {
        let children = |id: &str| -> Vec<String> {
            match id {
                "a" => vec!["b".into()],
                "b" => vec!["c".into()],
                _ => vec![],
            }
        };
        assert_eq!(nesting_cycle("c", "a", children), Some(vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(nesting_cycle("a", "a", children), Some(vec!["a".into()]));
        assert_eq!(nesting_cycle("a", "c", children), None);
    }

    #[test]
    fn group_names_are_required_bounded_and_not_the_built_in_one() {
        assert!(validate_group_text("Finance laptops", "").is_empty());
        assert_eq!(validate_group_text(" ", "")[0].path, "name");
        assert_eq!(validate_group_text("all devices", "").len(), 1);
        assert_eq!(validate_group_text(&"x".repeat(129), &"y".repeat(1025)).len(), 2);
    }
}
