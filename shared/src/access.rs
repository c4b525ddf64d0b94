//! Who may do what: the built-in roles, their permissions, and the user accounts of the admin center.
//!
//! The server enforces a permission on every route; the admin center asks the same table which actions to show.

use serde::Serialize;
use shared_derive::CompactDeserialize;

use crate::api::UnixSeconds;

string_enum! {
    /// A built-in role.
    pub enum Role {
        /// Everything: tenant switches, onboarding token, users and their roles, and all an Endpoint Security Manager
        /// may do.
        Administrator = ("administrator", "Administrator"),
        /// Groups, policies, assignments, reports and device sync ("Manage endpoint security settings").
        EndpointSecurityManager = ("endpoint_security_manager", "Endpoint Security Manager"),
        /// Reads everything, changes nothing.
        ReadOnlyOperator = ("read_only_operator", "Read Only Operator"),
    }
}

string_enum! {
    /// One thing a role allows.
    pub enum Permission {
        /// Read devices, groups, policies, reports and the audit log.
        Read = ("read", "Read devices, groups, policies and reports"),
        /// Read tenant administration: switches, licences, users (the onboarding token stays masked).
        ViewTenant = ("view_tenant", "View tenant administration"),
        /// Groups, policies, assignments, imports, and Policy sync on devices.
        ManageEndpointSecurity = ("manage_endpoint_security", "Manage endpoint security settings"),
        /// Tenant switches, licences and the onboarding token.
        ManageTenant = ("manage_tenant", "Manage the tenant"),
        /// Users and their roles.
        ManageUsers = ("manage_users", "Manage users and roles"),
    }
}

impl Role {
    /// What the role allows.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Administrator => &[Read, ViewTenant, ManageEndpointSecurity, ManageTenant, ManageUsers],
            Role::EndpointSecurityManager => &[Read, ManageEndpointSecurity],
            Role::ReadOnlyOperator => &[Read, ViewTenant],
        }
    }

    /// Whether the role allows `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

/// The signed-in user (`GET /api/v1/auth/me`, and the answer to a sign-in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Me {
    /// Account name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// What the role allows, so the admin center shows only those actions.
    pub permissions: Vec<Permission>,
    /// The account still has its one-time password and must choose its own before anything else.
    pub must_change_password: bool,
}

impl Me {
    /// Whether the user may do what `permission` covers.
    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

/// A user account (`GET /api/v1/users`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UserSummary {
    /// Account name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Disabled accounts cannot sign in; their sessions end.
    pub disabled: bool,
    /// The user has not replaced the one-time password yet.
    pub must_change_password: bool,
    /// When the account was created.
    pub created_at: UnixSeconds,
}

/// `POST /api/v1/users`: invite a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Account name: 1 to 64 characters of letters, digits, `.`, `_`, `-` and `@`.
    pub username: String,
    /// Role.
    pub role: Role,
}

/// The answer to an invitation: the account and its one-time password, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreatedUser {
    /// The account.
    pub user: UserSummary,
    /// The password to give the user; they must replace it at first sign-in.
    pub one_time_password: String,
}

/// `PATCH /api/v1/users/{username}`: what to change; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// A new role.
    #[serde(default)]
    pub role: Option<Role>,
    /// Disable or enable the account.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// `POST /api/v1/auth/password`: the signed-in user replaces their password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The password in use now (the one-time password at first sign-in).
    pub current_password: String,
    /// The new password: at least 12 characters.
    pub new_password: String,
}

/// The shortest password a user may choose.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Problems with a user name, empty when it is valid.
pub fn validate_username(username: &str) -> Vec<crate::Violation> {
    let valid_chars = username.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if username.is_empty() || username.chars().count() > 64 || !valid_chars {
        vec![crate::Violation::new("username", "must be 1 to 64 characters of letters, digits, '.', '_', '-' and '@'")]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_allows_exactly_its_permissions() {
        use Permission::*;
        let table = [
            (Role::Administrator, [true, true, true, true, true]),
            (Role::EndpointSecurityManager, [true, false, true, false, false]),
            (Role::ReadOnlyOperator, [true, true, false, false, false]),
        ];
        for (role, expected) in table {
            let actual = [Read, ViewTenant, ManageEndpointSecurity, ManageTenant, ManageUsers].map(|p| role.allows(p));
            assert_eq!(actual, expected, "{role}");
        }
        assert_eq!(Permission::ManageEndpointSecurity.label(), "Manage endpoint security settings");
    }

    #[test]
    fn user_names_are_checked() {
        assert!(validate_username("ana.lopez@contoso").is_empty());
        assert_eq!(validate_username("").len(), 1);
        assert_eq!(validate_username("ana lopez").len(), 1);
        assert_eq!(validate_username(&"a".repeat(65)).len(), 1);
    }
}
