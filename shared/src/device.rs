//! What a device tells us about itself when it onboards, parsed into types.
//!
//! `DeviceFacts::parse` takes the raw JSON a device sent and returns either the facts or every problem
//! with them, each with the path of the field, so a bad onboarding request is answered with one complete list.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared_derive::CompactDeserialize;

use crate::error::Violation;

string_enum! {
    /// The operating system product.
    pub enum OsProduct {
        Windows10 = ("windows_10", "Windows 10"),
        Windows11 = ("windows_11", "Windows 11"),
        WindowsServer2012R2 = ("windows_server_2012_r2", "Windows Server 2012 R2"),
        WindowsServer2016 = ("windows_server_2016", "Windows Server 2016"),
        WindowsServer2019 = ("windows_server_2019", "Windows Server 2019"),
        WindowsServer2022 = ("windows_server_2022", "Windows Server 2022"),
        WindowsServer2025 = ("windows_server_2025", "Windows Server 2025"),
    }
}

string_enum! {
    /// The edition of the operating system.
    pub enum Edition {
        Home = ("home", "Home"),
        Pro = ("pro", "Pro"),
        Education = ("education", "Education"),
        Enterprise = ("enterprise", "Enterprise"),
        Standard = ("standard", "Standard"),
        Datacenter = ("datacenter", "Datacenter"),
    }
}

string_enum! {
    /// How the device relates to a directory.
    pub enum JoinType {
        DirectoryJoined = ("directory_joined", "Directory joined"),
        HybridJoined = ("hybrid_joined", "Hybrid joined"),
        DomainJoined = ("domain_joined", "Domain joined"),
        Workgroup = ("workgroup", "Workgroup"),
    }
}

string_enum! {
    /// Who manages the device's configuration. `Mde` means no MDM does: only such devices take policies from Rampart.
    pub enum ManagedBy {
        Mde = ("mde", "MDE"),
        Intune = ("intune", "Intune"),
        ConfigMgr = ("configmgr", "ConfigMgr"),
        CoManaged = ("co_managed", "Co-managed"),
    }
}

impl OsProduct {
    /// Whether this is a server operating system.
    pub fn is_server(self) -> bool {
        !matches!(self, Self::Windows10 | Self::Windows11)
    }
}

impl Edition {
    /// Whether this edition exists for server operating systems (else it is a client edition).
    pub fn is_server_edition(self) -> bool {
        matches!(self, Self::Standard | Self::Datacenter)
    }
}

/// A device's host name: 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen, not all digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Hostname(String);

impl Hostname {
    /// The longest host name accepted (one DNS label).
    pub const MAX_LEN: usize = 63;

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Hostname {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        if name.is_empty() {
            return Err("must not be empty".into());
        }
        if name.len() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters (it has {})", Self::MAX_LEN, name.chars().count()));
        }
        if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
            return Err(format!("may contain only letters, digits and hyphens, not {bad:?}"));
        }
        if name.starts_with('-') || name.ends_with('-') {
            return Err("must not start or end with a hyphen".into());
        }
        if name.chars().all(|c| c.is_ascii_digit()) {
            return Err("must not consist of digits only".into());
        }
        Ok(Self(name))
    }
}

impl From<Hostname> for String {
    fn from(name: Hostname) -> String {
        name.0
    }
}

impl std::fmt::Display for Hostname {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An OS build number such as `10.0.22631.4460`: three or four dot-separated numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct OsBuild(String);

impl OsBuild {
    /// The build as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OsBuild {
    type Error = String;
    fn try_from(build: String) -> Result<Self, String> {
        let parts: Vec<&str> = build.split('.').collect();
        let numeric = parts.iter().all(|p| !p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit()));
        if !(3..=4).contains(&parts.len()) || !numeric {
            return Err(format!(
                "must look like 10.0.22631.4460 (three or four numbers separated by dots), not {build:?}"
            ));
        }
        Ok(Self(build))
    }
}

impl From<OsBuild> for String {
    fn from(build: OsBuild) -> String {
        build.0
    }
}

/// The id of a device registration in the directory: a GUID, kept in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct DirectoryDeviceId(String);

impl DirectoryDeviceId {
    /// Builds an id from 16 random bytes (a version 4 GUID).
    pub fn from_random_bytes(mut bytes: [u8; 16]) -> Self {
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self(format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]))
    }

    /// The id in its canonical lower-case form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DirectoryDeviceId {
    type Error = String;
    fn try_from(id: String) -> Result<Self, String> {
        let lower = id.trim_start_matches('{').trim_end_matches('}').to_ascii_lowercase();
        let groups: Vec<&str> = lower.split('-').collect();
        let lengths_ok = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]);
        if !lengths_ok || !groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(format!("must be a GUID such as 3f2504e0-4f89-41d3-9a0c-0305e82c3301, not {id:?}"));
        }
        Ok(Self(lower))
    }
}

impl From<DirectoryDeviceId> for String {
    fn from(id: DirectoryDeviceId) -> String {
        id.0
    }
}

impl std::fmt::Display for DirectoryDeviceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything a device reports about itself at onboarding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeviceFacts {
    /// Host name.
    pub hostname: Hostname,
    /// Operating system product.
    pub os: OsProduct,
    /// Edition.
    pub edition: Edition,
    /// Build number.
    pub os_build: OsBuild,
    /// Whether the cumulative update that brings security settings management is installed (clients and Server 2022).
    pub required_update_installed: bool,
    /// Whether the down-level Defender agent is installed (Server 2012 R2 and 2019).
    pub downlevel_agent_installed: bool,
    /// Relationship to a directory.
    pub join_type: JoinType,
    /// The device's existing directory registration, if it has one.
    pub directory_device_id: Option<DirectoryDeviceId>,
    /// Who manages the device's configuration.
    pub managed_by: ManagedBy,
}

impl DeviceFacts {
    /// Parses the facts a device sent, returning every problem (paths start with `prefix`, e.g. `facts`).
    pub fn parse(value: &Value, prefix: &str) -> Result<Self, Vec<Violation>> {
        let mut fields = Fields::new(value, prefix);
        let hostname = fields.string("hostname").and_then(|s| fields.check("hostname", Hostname::try_from(s)));
        let os = fields.code("os", OsProduct::from_code, OsProduct::expected);
        let edition = fields.code("edition", Edition::from_code, Edition::expected);
        let os_build = fields.string("os_build").and_then(|s| fields.check("os_build", OsBuild::try_from(s)));
        let required_update_installed = fields.bool("required_update_installed");
        let downlevel_agent_installed = fields.bool("downlevel_agent_installed");
        let join_type = fields.code("join_type", JoinType::from_code, JoinType::expected);
        let directory_device_id = fields
            .optional_string("directory_device_id")
            .map(|id| id.and_then(|s| fields.check("directory_device_id", DirectoryDeviceId::try_from(s))));
        let managed_by = fields.code("managed_by", ManagedBy::from_code, ManagedBy::expected);

        if let (Some(os), Some(edition)) = (os, edition)
            && os.is_server() != edition.is_server_edition()
        {
            let kind = if os.is_server() { "a server edition (standard, datacenter)" } else { "a client edition" };
            fields.violation("edition", format!("{} is not an edition of {os}; expected {kind}", edition.label()));
        }
        fields.reject_unknown(&[
            "hostname",
            "os",
            "edition",
            "os_build",
            "required_update_installed",
            "downlevel_agent_installed",
            "join_type",
            "directory_device_id",
            "managed_by",
        ]);

        match (
            hostname,
            os,
            edition,
            os_build,
            required_update_installed,
            downlevel_agent_installed,
            join_type,
            directory_device_id,
            managed_by,
        ) {
            (
                Some(hostname),
                Some(os),
                Some(edition),
                Some(os_build),
                Some(required_update_installed),
                Some(downlevel_agent_installed),
                Some(join_type),
                Some(directory_device_id),
                Some(managed_by),
            ) if fields.violations.is_empty() => Ok(Self {
                hostname,
                os,
                edition,
                os_build,
                required_update_installed,
                downlevel_agent_installed,
                join_type,
                directory_device_id,
                managed_by,
            }),
            _ => Err(fields.violations),
        }
    }
}

/// Walks the fields of one JSON object, collecting a violation for every missing, mistyped or invalid one.
pub(crate) struct Fields<'a> {
    object: Option<&'a serde_json::Map<String, Value>>,
    prefix: String,
    pub(crate) violations: Vec<Violation>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(value: &'a Value, prefix: &str) -> Self {
        let mut violations = Vec::new();
        let object = value.as_object();
        if object.is_none() {
            violations.push(Violation::new(prefix, "must be a JSON object"));
        }
        Self { object, prefix: prefix.to_owned(), violations }
    }

    fn path(&self, field: &str) -> String {
        if self.prefix.is_empty() { field.to_owned() } else { format!("{}.{field}", self.prefix) }
    }

    pub(crate) fn violation(&mut self, field: &str, message: impl Into<String>) {
        let path = self.path(field);
        self.violations.push(Violation::new(path, message));
    }

    fn get(&mut self, field: &str) -> Option<&'a Value> {
        let object = self.object?;
        match object.get(field) {
            None | Some(Value::Null) => {
                self.violation(field, "is required");
                None
            }
            Some(value) => Some(value),
        }
    }

    pub(crate) fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.violation(field, message)).ok()
    }

    pub(crate) fn string(&mut self, field: &str) -> Option<String> {
        match self.get(field)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.violation(field, "must be a string");
                None
            }
        }
    }

    /// `Some(None)` when absent or null, `None` when present but not a string.
    pub(crate) fn optional_string(&mut self, field: &str) -> Option<Option<String>> {
        match self.object?.get(field) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(_) => {
                self.violation(field, "must be a string or null");
                None
            }
        }
    }

    pub(crate) fn bool(&mut self, field: &str) -> Option<bool> {
        match self.get(field)? {
            Value::Bool(b) => Some(*b),
            _ => {
                self.violation(field, "must be true or false");
                None
            }
        }
    }

    pub(crate) fn code<T>(&mut self, field: &str, parse: fn(&str) -> Option<T>, expected: fn() -> String) -> Option<T> {
        let code = self.string(field)?;
        let parsed = parse(&code);
        if parsed.is_none() {
            self.violation(field, format!("{}, not {code:?}", expected()));
        }
        parsed
    }

    pub(crate) fn reject_unknown(&mut self, known: &[&str]) {
        let Some(object) = self.object else { return };
        for key in object.keys().filter(|k| !known.contains(&k.as_str())) {
            self.violations.push(Violation::new(self.path(key), "is not a known field"));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn facts_json() -> Value {
        json!({
            "hostname": "WS-0042",
            "os": "windows_11",
            "edition": "enterprise",
            "os_build": "10.0.22631.4460",
            "required_update_installed": true,
            "downlevel_agent_installed": false,
            "join_type": "hybrid_joined",
            "directory_device_id": "3F2504E0-4F89-41D3-9A0C-0305E82C3301",
            "managed_by": "mde"
        })
    }

    #[test]
    fn valid_facts_parse_and_the_directory_id_is_normalized() {
        let facts = DeviceFacts::parse(&facts_json(), "facts").expect("valid");
        assert_eq!(facts.hostname.as_str(), "WS-0042");
        assert_eq!(facts.os, OsProduct::Windows11);
        assert_eq!(facts.managed_by, ManagedBy::Mde);
        assert_eq!(facts.directory_device_id.expect("present").as_str(), "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let bad = json!({
            "hostname": "bad name!",
            "os": "windows_xp",
            "edition": "pro",
            "os_build": "ten",
            "required_update_installed": "yes",
            "join_type": "workgroup",
            "directory_device_id": "not-a-guid",
            "managed_by": "mde",
            "colour": "blue"
        });
        let violations = DeviceFacts::parse(&bad, "facts").expect_err("invalid");
        let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "facts.hostname",
                "facts.os",
                "facts.os_build",
                "facts.required_update_installed",
                "facts.downlevel_agent_installed",
                "facts.directory_device_id",
                "facts.colour"
            ]
        );
        assert!(
            violations[1].message.contains("\"windows_11\""),
            "lists the allowed values: {}",
            violations[1].message
        );
        assert_eq!(violations[4].message, "is required");
    }

    #[test]
    fn a_client_edition_on_a_server_os_is_refused() {
        let mut value = facts_json();
        value["os"] = json!("windows_server_2022");
        let violations = DeviceFacts::parse(&value, "facts").expect_err("invalid");
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].path, "facts.edition");
    }

    #[test]
    fn a_non_object_is_refused_as_a_whole() {
        let violations = DeviceFacts::parse(&json!([1, 2]), "facts").expect_err("invalid");
        assert_eq!(violations, [Violation::new("facts", "must be a JSON object")]);
    }

    #[test]
    fn hostnames_follow_dns_label_rules() {
        for good in ["a", "WS-01", "srv2019-db", &"x".repeat(63)] {
            assert!(Hostname::try_from(good.to_owned()).is_ok(), "{good}");
        }
        for bad in ["", "-lead", "trail-", "1234", "has space", "dot.ted", &"x".repeat(64)] {
            assert!(Hostname::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn random_directory_ids_are_version_4_guids() {
        let id = DirectoryDeviceId::from_random_bytes([0xff; 16]);
        assert_eq!(id.as_str(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert!(DirectoryDeviceId::try_from(id.as_str().to_owned()).is_ok());
    }

    #[test]
    fn codes_round_trip_for_every_enum_value() {
        for os in OsProduct::ALL {
            assert_eq!(OsProduct::from_code(os.code()), Some(*os));
        }
        for managed_by in ManagedBy::ALL {
            assert_eq!(ManagedBy::from_code(managed_by.code()), Some(*managed_by));
        }
    }
}
