//! The audit log: every change an admin makes, who made it, when, from where, and the values before and after.

use serde::Serialize;
use shared_derive::CompactDeserialize;

use crate::Violation;
use crate::api::UnixSeconds;

string_enum! {
    /// What was done.
    pub enum AuditAction {
        SignIn = ("sign_in", "Signed in"),
        SignInFailed = ("sign_in_failed", "Failed sign-in"),
        PasswordChange = ("password_change", "Changed password"),
        TenantUpdate = ("tenant_update", "Changed tenant settings"),
        PasswordReset = ("password_reset", "Reset a password from the server's command line"),
        TokenRotate = ("token_rotate", "Rotated the onboarding token"),
        TokenCreate = ("token_create", "Created an onboarding token"),
        TokenRevoke = ("token_revoke", "Revoked an onboarding token"),
        UserCreate = ("user_create", "Invited a user"),
        UserUpdate = ("user_update", "Changed a user"),
        GroupCreate = ("group_create", "Created a group"),
        GroupUpdate = ("group_update", "Changed a group"),
        GroupDelete = ("group_delete", "Deleted a group"),
        GroupMembers = ("group_members", "Changed group members"),
        GroupNesting = ("group_nesting", "Changed group nesting"),
        PolicyCreate = ("policy_create", "Created a policy"),
        PolicyImport = ("policy_import", "Imported a policy"),
        PolicyUpdate = ("policy_update", "Changed a policy"),
        PolicyDelete = ("policy_delete", "Deleted a policy"),
        DeviceSync = ("device_sync", "Requested a policy sync"),
        DeviceOnboard = ("device_onboard", "Onboarded a device"),
        DeviceDelete = ("device_delete", "Deleted a device"),
    }
}

string_enum! {
    /// What kind of object an entry is about.
    pub enum ObjectType {
        Tenant = ("tenant", "Tenant"),
        User = ("user", "User"),
        Group = ("group", "Group"),
        Policy = ("policy", "Policy"),
        Device = ("device", "Device"),
    }
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuditEntry {
    /// Sequence number.
    pub id: i64,
    /// When.
    pub at: UnixSeconds,
    /// Who: the account name; for a failed sign-in, the account tried when it exists (an unknown name is never kept:
    /// it is often a password typed into the wrong field); for an onboarding, the token's name.
    pub actor: String,
    /// From which address.
    pub address: String,
    /// What.
    pub action: AuditAction,
    /// On what kind of object.
    pub object_type: ObjectType,
    /// The object's id.
    pub object_id: String,
    /// The object's name at the time.
    pub object_name: String,
    /// What changed, in a line (which values, or what was created or deleted).
    pub summary: String,
    /// The values before, `None` for a creation — and in the list, which carries summaries only
    /// (`GET /api/v1/audit/{id}` has the whole entry).
    pub before: Option<serde_json::Value>,
    /// The values after, `None` for a deletion (and in the list).
    pub after: Option<serde_json::Value>,
}

/// The name a failed sign-in is recorded under when the account does not exist.
pub const UNKNOWN_ACCOUNT: &str = "(unknown account)";
/// What Read Only Operators see instead of the account of a failed sign-in.
pub const HIDDEN_ACCOUNT: &str = "(hidden)";

/// What changed between two snapshots of an object, in a line: the top-level values that differ.
pub fn summarize<'a>(before: Option<&'a serde_json::Value>, after: Option<&'a serde_json::Value>) -> String {
    match (before, after) {
        (None, None) => String::new(),
        (None, Some(_)) => "Created".to_owned(),
        (Some(_), None) => "Deleted".to_owned(),
        (Some(before), Some(after)) => {
            let (Some(before), Some(after)) = (before.as_object(), after.as_object()) else {
                return if before == after { "No change".to_owned() } else { "Changed".to_owned() };
            };
            // Keys whose values differ; where both values are objects (a policy in its snapshot), the keys inside.
            let differing = |before: &'a serde_json::Map<String, serde_json::Value>,
                             after: &'a serde_json::Map<String, serde_json::Value>| {
                before
                    .iter()
                    .filter(move |(key, value)| after.get(*key) != Some(value))
                    .map(|(key, value)| (key, Some(value)))
                    .chain(after.keys().filter(move |key| !before.contains_key(*key)).map(|key| (key, None)))
            };
            let mut changed: Vec<&str> = Vec::new();
            for (key, value) in differing(before, after) {
                match (value.and_then(serde_json::Value::as_object), after.get(key).and_then(|v| v.as_object())) {
                    (Some(inner_before), Some(inner_after)) => {
                        changed.extend(differing(inner_before, inner_after).map(|(inner, _)| inner.as_str()));
                    }
                    _ => changed.push(key.as_str()),
                }
            }
            changed.dedup();
            match changed.len() {
                0 => "No change".to_owned(),
                1..=5 => format!("Changed {}", changed.join(", ").replace('_', " ")),
                n => format!("Changed {} and {} more", changed[..4].join(", ").replace('_', " "), n - 4),
            }
        }
    }
}

/// One page of the audit log, newest first (`GET /api/v1/audit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuditPage {
    /// The entries.
    pub items: Vec<AuditEntry>,
    /// Entries matching the filter.
    pub total: u64,
    /// Page number, from 1.
    pub page: u32,
    /// Entries per page.
    pub per_page: u32,
}

/// The most entries a page of the audit log holds.
pub const MAX_AUDIT_PER_PAGE: u32 = 100;

/// The audit log's filter and page, parsed from a query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Exact account name.
    pub actor: Option<String>,
    /// Kind of object.
    pub object_type: Option<ObjectType>,
    /// Exact object id.
    pub object_id: Option<String>,
    /// What was done.
    pub action: Option<AuditAction>,
    /// From this time (inclusive).
    pub since: Option<UnixSeconds>,
    /// Until this time (exclusive).
    pub until: Option<UnixSeconds>,
    /// Page, from 1.
    pub page: u32,
    /// Entries per page, 1 to [`MAX_AUDIT_PER_PAGE`].
    pub per_page: u32,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self {
            actor: None,
            object_type: None,
            object_id: None,
            action: None,
            since: None,
            until: None,
            page: 1,
            per_page: 50,
        }
    }
}

impl AuditQuery {
    /// Parses `key=value` pairs, naming every bad or unknown parameter.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, Vec<Violation>> {
        let mut query = Self::default();
        let mut violations = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (key, value) in pairs {
            if !seen.insert(key) {
                violations.push(Violation::new(key, "is given more than once"));
                continue;
            }
            let time = |violations: &mut Vec<Violation>| match value.parse::<UnixSeconds>() {
                Ok(at) if at >= 0 => Some(at),
                _ => {
                    violations.push(Violation::new(key, "must be a Unix time in seconds"));
                    None
                }
            };
            match key {
                "actor" if !value.is_empty() && value.len() <= 64 => query.actor = Some(value.to_owned()),
                "actor" => violations.push(Violation::new(key, "must be 1 to 64 characters")),
                "object_id" if !value.is_empty() && value.len() <= 200 => query.object_id = Some(value.to_owned()),
                "object_id" => violations.push(Violation::new(key, "must be 1 to 200 characters")),
                "object_type" => match ObjectType::from_code(value) {
                    Some(kind) => query.object_type = Some(kind),
                    None => violations.push(Violation::new(key, ObjectType::expected())),
                },
                "action" => match AuditAction::from_code(value) {
                    Some(action) => query.action = Some(action),
                    None => violations.push(Violation::new(key, AuditAction::expected())),
                },
                "since" => query.since = time(&mut violations),
                "until" => query.until = time(&mut violations),
                "page" => match value.parse::<u32>() {
                    Ok(page) if page >= 1 => query.page = page,
                    _ => violations.push(Violation::new(key, "must be a whole number from 1")),
                },
                "per_page" => match value.parse::<u32>() {
                    Ok(n) if (1..=MAX_AUDIT_PER_PAGE).contains(&n) => query.per_page = n,
                    _ => violations
                        .push(Violation::new(key, format!("must be a whole number from 1 to {MAX_AUDIT_PER_PAGE}"))),
                },
                _ => violations.push(Violation::new(
                    key,
                    "is not a known parameter; use actor, object_type, object_id, action, since, until, page, per_page",
                )),
            }
        }
        if violations.is_empty() { Ok(query) } else { Err(violations) }
    }

    /// Entries to skip.
    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_names_what_changed_one_level_into_snapshots() {
        let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).expect("json");
        let before = json(r#"{"version": 1, "policy": {"name": "A", "settings": [1]}}"#);
        let after = json(r#"{"version": 2, "policy": {"name": "A", "settings": [2], "description": "x"}}"#);
        assert_eq!(summarize(Some(&before), Some(&after)), "Changed settings, description, version");
        assert_eq!(summarize(None, Some(&after)), "Created");
        assert_eq!(summarize(Some(&before), None), "Deleted");
        assert_eq!(summarize(Some(&before), Some(&before)), "No change");
        let wide = json(r#"{"a_b": 1, "c": 1, "d": 1, "e": 1, "f": 1, "g": 1}"#);
        assert_eq!(summarize(Some(&wide), Some(&json("{}"))), "Changed a b, c, d, e and 2 more");
    }

    #[test]
    fn the_filter_parses_and_names_every_bad_parameter() {
        let query = AuditQuery::parse([("actor", "ana"), ("object_type", "policy"), ("since", "100"), ("page", "2")])
            .expect("valid");
        assert_eq!(
            (query.actor.as_deref(), query.object_type, query.since, query.offset()),
            (Some("ana"), Some(ObjectType::Policy), Some(100), 50)
        );
        let problems =
            AuditQuery::parse([("object_type", "car"), ("since", "yesterday"), ("per_page", "0"), ("x", "1")])
                .expect_err("invalid");
        let paths: Vec<&str> = problems.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths, ["object_type", "since", "per_page", "x"]);
        assert_eq!(AuditQuery::parse([("page", "1"), ("page", "2")]).expect_err("repeated")[0].path, "page");
    }
}
