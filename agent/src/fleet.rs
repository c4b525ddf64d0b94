//! A realistic, reproducible fleet: Windows 10/11 Home/Pro/Enterprise, Server 2012 R2/2016/2019/2022, with and
//! without the required update or the down-level agent, managed by MDE, Intune, ConfigMgr or co-managed,
//! directory-joined, hybrid, domain-joined or in a workgroup.

use shared::device::{DeviceFacts, DirectoryDeviceId, Edition, Hostname, JoinType, ManagedBy, OsBuild, OsProduct};

/// SplitMix64: tiny, fast, and the same sequence on every platform for a given seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// True with the given percentage.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// Picks from `(weight, value)` pairs.
    fn weighted<T: Copy>(&mut self, choices: &[(u64, T)]) -> T {
        let total: u64 = choices.iter().map(|(w, _)| w).sum();
        let mut roll = self.next() % total;
        for (weight, value) in choices {
            if roll < *weight {
                return *value;
            }
            roll -= weight;
        }
        choices[choices.len() - 1].1
    }
}

/// The facts of `n` devices for `seed`.
pub fn generate(seed: u64, n: u32) -> Vec<DeviceFacts> {
    (0..n).map(|index| device(seed, index)).collect()
}

fn device(seed: u64, index: u32) -> DeviceFacts {
    let mut rng = Rng(seed.wrapping_mul(0x1000_0000_01b3) ^ u64::from(index).wrapping_mul(0x9e37_79b9));
    use OsProduct::*;
    let os = rng.weighted(&[
        (34, Windows11),
        (30, Windows10),
        (12, WindowsServer2022),
        (10, WindowsServer2019),
        (8, WindowsServer2012R2),
        (6, WindowsServer2016),
    ]);
    let edition = if os.is_server() {
        rng.weighted(&[(70, Edition::Standard), (30, Edition::Datacenter)])
    } else {
        rng.weighted(&[(55, Edition::Enterprise), (33, Edition::Pro), (12, Edition::Home)])
    };
    let os_build = match os {
        Windows11 => format!("10.0.{}.{}", rng.weighted(&[(60, 22631), (40, 26100)]), 4000 + rng.next() % 900),
        Windows10 => format!("10.0.19045.{}", 4000 + rng.next() % 900),
        WindowsServer2022 => format!("10.0.20348.{}", 2000 + rng.next() % 900),
        WindowsServer2019 => format!("10.0.17763.{}", 5000 + rng.next() % 900),
        WindowsServer2016 => format!("10.0.14393.{}", 6000 + rng.next() % 900),
        WindowsServer2012R2 | WindowsServer2025 => format!("6.3.9600.{}", 20000 + rng.next() % 900),
    };
    let needs_update = matches!(os, Windows10 | Windows11 | WindowsServer2022);
    let needs_downlevel = matches!(os, WindowsServer2012R2 | WindowsServer2019);
    let required_update_installed = needs_update && rng.chance(85);
    let downlevel_agent_installed = needs_downlevel && rng.chance(80);
    let managed_by = rng.weighted(&[
        (60, ManagedBy::Mde),
        (18, ManagedBy::Intune),
        (12, ManagedBy::ConfigMgr),
        (10, ManagedBy::CoManaged),
    ]);
    let join_type = if os.is_server() {
        rng.weighted(&[(45, JoinType::DomainJoined), (35, JoinType::HybridJoined), (20, JoinType::Workgroup)])
    } else {
        rng.weighted(&[
            (45, JoinType::DirectoryJoined),
            (30, JoinType::HybridJoined),
            (10, JoinType::DomainJoined),
            (15, JoinType::Workgroup),
        ])
    };
    // Directory-joined and hybrid devices already have a registration; the others get one at onboarding.
    let directory_device_id = matches!(join_type, JoinType::DirectoryJoined | JoinType::HybridJoined).then(|| {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&rng.next().to_le_bytes());
        bytes[8..].copy_from_slice(&rng.next().to_le_bytes());
        DirectoryDeviceId::from_random_bytes(bytes)
    });
    let prefix = if os.is_server() {
        ["SRV-DB", "SRV-WEB", "SRV-FS", "SRV-APP", "SRV-RDS"][(rng.next() % 5) as usize]
    } else if rng.chance(60) {
        "LAP"
    } else {
        "WKS"
    };
    let hostname = Hostname::try_from(format!("{prefix}-{index:05}")).expect("generated host names are valid");
    DeviceFacts {
        hostname,
        os,
        edition,
        os_build: OsBuild::try_from(os_build).expect("generated builds are valid"),
        required_update_installed,
        downlevel_agent_installed,
        join_type,
        directory_device_id,
        managed_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::eligibility::{EligibilityCode, device_support};

    #[test]
    fn the_same_seed_gives_the_same_fleet() {
        assert_eq!(generate(7, 50), generate(7, 50));
        assert_ne!(generate(7, 50), generate(8, 50));
    }

    #[test]
    fn a_fleet_of_a_few_hundred_covers_every_manager_registration_and_eligibility_reason() {
        let fleet = generate(1, 400);
        for managed_by in ManagedBy::ALL {
            assert!(fleet.iter().any(|d| d.managed_by == *managed_by), "{managed_by}");
        }
        for join_type in JoinType::ALL {
            assert!(fleet.iter().any(|d| d.join_type == *join_type), "{join_type}");
        }
        let reasons: Vec<EligibilityCode> = fleet.iter().map(device_support).collect();
        for code in EligibilityCode::ALL.iter().filter(|c| **c != EligibilityCode::TenantNotEnabled) {
            assert!(reasons.contains(code), "{code}");
        }
        assert!(fleet.iter().any(|d| d.directory_device_id.is_none()));
    }
}
