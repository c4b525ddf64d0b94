//! The tenant's switches, declared licences, and the prerequisite checklist built from them.

use serde::Serialize;
use shared_derive::CompactDeserialize;

/// The two switches that must both be on before any device is managed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TenantSwitches {
    /// Defender side: "Security settings management" (MDE-attach) for the tenant.
    pub security_settings_management: bool,
    /// Admin-center side: "Allow Microsoft Defender for Endpoint to enforce Endpoint Security Configurations".
    pub enforce_security_configuration: bool,
}

impl TenantSwitches {
    /// Whether devices can be managed at all.
    pub fn both_on(self) -> bool {
        self.security_settings_management && self.enforce_security_configuration
    }
}

/// Licences the admin declares the tenant holds. Rampart cannot check them; it records the declaration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Licences {
    /// Microsoft Defender for Endpoint licences for the devices.
    pub defender_for_endpoint: bool,
    /// A directory premium (P1) licence.
    pub directory_premium_p1: bool,
}

/// Facts about the tenant that the prerequisite checklist is built from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TenantFacts {
    /// Declared licences.
    pub licences: Licences,
    /// The two switches.
    pub switches: TenantSwitches,
    /// Enabled admins holding the "Manage endpoint security settings" permission.
    pub n_security_managers: u64,
    /// Devices that checked in within [`REPORTING_WINDOW_SECS`].
    pub n_devices_reporting: u64,
    /// All onboarded devices.
    pub n_devices: u64,
}

/// A device counts as reporting when it checked in within this many seconds (two default check-in intervals).
pub const REPORTING_WINDOW_SECS: i64 = 3 * 60 * 60;

/// One line of the prerequisite checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Prerequisite {
    /// Stable id, for tests and links.
    pub id: String,
    /// What is required.
    pub label: String,
    /// Whether it is met.
    pub met: bool,
    /// The current state, in words.
    pub detail: String,
}

/// The checklist, in the order an admin works through it.
pub fn prerequisites(facts: TenantFacts) -> Vec<Prerequisite> {
    let on_off = |on: bool| if on { "On." } else { "Off." };
    let item = |id: &str, label: &str, met: bool, detail: String| Prerequisite {
        id: id.to_owned(),
        label: label.to_owned(),
        met,
        detail,
    };
    vec![
        item(
            "licence_mde",
            "Microsoft Defender for Endpoint licences",
            facts.licences.defender_for_endpoint,
            if facts.licences.defender_for_endpoint { "Declared." } else { "Not declared yet." }.to_owned(),
        ),
        item(
            "licence_p1",
            "Directory premium (P1) licence",
            facts.licences.directory_premium_p1,
            if facts.licences.directory_premium_p1 { "Declared." } else { "Not declared yet." }.to_owned(),
        ),
        item(
            "switch_security_settings_management",
            "Security settings management (Defender side)",
            facts.switches.security_settings_management,
            on_off(facts.switches.security_settings_management).to_owned(),
        ),
        item(
            "switch_enforce_security_configuration",
            "Allow Defender for Endpoint to enforce endpoint security configurations",
            facts.switches.enforce_security_configuration,
            on_off(facts.switches.enforce_security_configuration).to_owned(),
        ),
        item(
            "security_manager",
            "At least one admin with \"Manage endpoint security settings\"",
            facts.n_security_managers > 0,
            match facts.n_security_managers {
                0 => "No admin holds the permission.".to_owned(),
                1 => "1 admin holds the permission.".to_owned(),
                n => format!("{n} admins hold the permission."),
            },
        ),
        item(
            "devices_reporting",
            "Devices reporting in",
            facts.n_devices_reporting > 0,
            format!(
                "{} of {} onboarded devices checked in within the last 3 hours.",
                facts.n_devices_reporting, facts.n_devices
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_tenant_meets_no_prerequisite_but_nothing_else_is_missing() {
        let checklist = prerequisites(TenantFacts::default());
        assert_eq!(checklist.len(), 6);
        assert!(checklist.iter().all(|p| !p.met));
    }

    #[test]
    fn a_ready_tenant_meets_every_prerequisite() {
        let facts = TenantFacts {
            licences: Licences { defender_for_endpoint: true, directory_premium_p1: true },
            switches: TenantSwitches { security_settings_management: true, enforce_security_configuration: true },
            n_security_managers: 2,
            n_devices_reporting: 5,
            n_devices: 7,
        };
        let checklist = prerequisites(facts);
        assert!(checklist.iter().all(|p| p.met), "{checklist:?}");
        assert_eq!(checklist[5].detail, "5 of 7 onboarded devices checked in within the last 3 hours.");
    }
}
