//! Whether a device can take security settings from Rampart, and if not, why.
//!
//! A device is eligible when both tenant switches are on, no MDM manages it, and its platform is supported:
//! Windows 10/11 Pro or Enterprise with the required update, Windows Server 2012 R2 and 2019 with the
//! down-level Defender agent, Windows Server 2022 with the required update.

use serde::Serialize;
use shared_derive::CompactDeserialize;

use crate::device::{DeviceFacts, Edition, ManagedBy, OsProduct};
use crate::tenant::TenantSwitches;

string_enum! {
    /// Eligibility for security settings management, with the reason when not applicable.
    pub enum EligibilityCode {
        Eligible = ("eligible", "Eligible"),
        ManagedByMdm = ("managed_by_mdm", "Managed by an MDM"),
        UnsupportedOs = ("unsupported_os", "Unsupported OS"),
        UnsupportedEdition = ("unsupported_edition", "Unsupported edition"),
        MissingRequiredUpdate = ("missing_required_update", "Required update missing"),
        MissingDownlevelAgent = ("missing_downlevel_agent", "Down-level agent missing"),
        TenantNotEnabled = ("tenant_not_enabled", "Tenant not enabled"),
    }
}

/// What the device's own facts say, before the tenant switches are considered. Servers store this, so that
/// lists sort and filter by it, and combine it with the switches through [`eligibility`].
pub fn device_support(facts: &DeviceFacts) -> EligibilityCode {
    use EligibilityCode as E;
    if facts.managed_by != ManagedBy::Mde {
        return E::ManagedByMdm;
    }
    match facts.os {
        OsProduct::Windows10 | OsProduct::Windows11 => {
            if !matches!(facts.edition, Edition::Pro | Edition::Enterprise) {
                E::UnsupportedEdition
            } else if !facts.required_update_installed {
                E::MissingRequiredUpdate
            } else {
                E::Eligible
            }
        }
        OsProduct::WindowsServer2012R2 | OsProduct::WindowsServer2019 => {
            if facts.downlevel_agent_installed {
                E::Eligible
            } else {
                E::MissingDownlevelAgent
            }
        }
        OsProduct::WindowsServer2022 => {
            if facts.required_update_installed {
                E::Eligible
            } else {
                E::MissingRequiredUpdate
            }
        }
        OsProduct::WindowsServer2016 | OsProduct::WindowsServer2025 => E::UnsupportedOs,
    }
}

/// Combines the device's own support with the tenant switches. A device-level reason wins over the switches,
/// because it is the one the admin would still have to fix after turning the switches on.
pub fn eligibility(support: EligibilityCode, switches: TenantSwitches) -> EligibilityCode {
    if support == EligibilityCode::Eligible && !switches.both_on() {
        EligibilityCode::TenantNotEnabled
    } else {
        support
    }
}

/// A device's eligibility as the admin center shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Eligibility {
    /// Eligible, or the reason it is not.
    pub code: EligibilityCode,
    /// One sentence for the admin; empty when eligible.
    pub reason: String,
}

impl Eligibility {
    /// Explains `code` for the device with `facts`.
    pub fn explain(code: EligibilityCode, facts: &DeviceFacts) -> Self {
        use EligibilityCode as E;
        let reason = match code {
            E::Eligible => String::new(),
            E::ManagedByMdm => {
                let manager = match facts.managed_by {
                    ManagedBy::CoManaged => "Co-managed by Intune and ConfigMgr",
                    ManagedBy::Intune => "Managed by Intune",
                    ManagedBy::ConfigMgr | ManagedBy::Mde => "Managed by ConfigMgr",
                };
                format!("{manager}: it takes security settings from its MDM, not from Rampart.")
            }
            E::UnsupportedOs => format!("{} is not a supported platform.", facts.os.label()),
            E::UnsupportedEdition => {
                format!(
                    "{} {} is not supported; Pro or Enterprise is required.",
                    facts.os.label(),
                    facts.edition.label()
                )
            }
            E::MissingRequiredUpdate => {
                format!("{} needs the required cumulative update, which is not installed.", facts.os.label())
            }
            E::MissingDownlevelAgent => {
                format!("{} needs Microsoft Defender for down-level devices, which is not installed.", facts.os.label())
            }
            E::TenantNotEnabled => {
                "Security settings management is not enabled for the tenant (Tenant administration).".to_owned()
            }
        };
        Self { code, reason }
    }

    /// Whether the device takes policies from Rampart.
    pub fn is_eligible(&self) -> bool {
        self.code == EligibilityCode::Eligible
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::DeviceFacts;

    fn facts(os: OsProduct, edition: Edition, update: bool, downlevel: bool, managed_by: ManagedBy) -> DeviceFacts {
        let mut value = crate::device::tests::facts_json();
        value["os"] = os.code().into();
        value["edition"] = edition.code().into();
        value["required_update_installed"] = update.into();
        value["downlevel_agent_installed"] = downlevel.into();
        value["managed_by"] = managed_by.code().into();
        DeviceFacts::parse(&value, "").expect("valid facts")
    }

    #[test]
    fn device_support_follows_the_supported_platform_list() {
        use Edition::*;
        use EligibilityCode as E;
        use OsProduct::*;
        let mde = ManagedBy::Mde;
        let table = [
            (Windows10, Pro, true, false, mde, E::Eligible),
            (Windows11, Enterprise, true, false, mde, E::Eligible),
            (Windows11, Enterprise, false, false, mde, E::MissingRequiredUpdate),
            (Windows11, Home, true, false, mde, E::UnsupportedEdition),
            (Windows10, Education, true, false, mde, E::UnsupportedEdition),
            (WindowsServer2012R2, Standard, false, true, mde, E::Eligible),
            (WindowsServer2012R2, Standard, true, false, mde, E::MissingDownlevelAgent),
            (WindowsServer2019, Datacenter, false, true, mde, E::Eligible),
            (WindowsServer2019, Datacenter, true, false, mde, E::MissingDownlevelAgent),
            (WindowsServer2022, Standard, true, false, mde, E::Eligible),
            (WindowsServer2022, Standard, false, true, mde, E::MissingRequiredUpdate),
            (WindowsServer2016, Standard, true, true, mde, E::UnsupportedOs),
            (WindowsServer2025, Standard, true, true, mde, E::UnsupportedOs),
            (Windows11, Enterprise, true, false, ManagedBy::Intune, E::ManagedByMdm),
            (Windows11, Enterprise, true, false, ManagedBy::ConfigMgr, E::ManagedByMdm),
            (Windows11, Enterprise, true, false, ManagedBy::CoManaged, E::ManagedByMdm),
        ];
        for (os, edition, update, downlevel, managed_by, expected) in table {
            let facts = facts(os, edition, update, downlevel, managed_by);
            assert_eq!(
                device_support(&facts),
                expected,
                "{os} {edition} update={update} downlevel={downlevel} {managed_by}"
            );
        }
    }

    #[test]
    fn supported_devices_wait_for_both_tenant_switches() {
        let on = TenantSwitches { security_settings_management: true, enforce_security_configuration: true };
        let half = TenantSwitches { security_settings_management: true, enforce_security_configuration: false };
        assert_eq!(eligibility(EligibilityCode::Eligible, on), EligibilityCode::Eligible);
        assert_eq!(eligibility(EligibilityCode::Eligible, half), EligibilityCode::TenantNotEnabled);
        assert_eq!(
            eligibility(EligibilityCode::Eligible, TenantSwitches::default()),
            EligibilityCode::TenantNotEnabled
        );
        assert_eq!(eligibility(EligibilityCode::ManagedByMdm, half), EligibilityCode::ManagedByMdm);
    }

    #[test]
    fn reasons_name_the_manager_and_the_platform() {
        let intune = facts(OsProduct::Windows11, Edition::Enterprise, true, false, ManagedBy::Intune);
        assert!(Eligibility::explain(EligibilityCode::ManagedByMdm, &intune).reason.contains("Intune"));
        let server = facts(OsProduct::WindowsServer2019, Edition::Standard, false, false, ManagedBy::Mde);
        let explained = Eligibility::explain(device_support(&server), &server);
        assert!(explained.reason.contains("Windows Server 2019") && explained.reason.contains("down-level"));
        assert!(Eligibility::explain(EligibilityCode::Eligible, &server).reason.is_empty());
    }
}
