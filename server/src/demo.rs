//! The demo tenant: both switches on, licences declared, and, on an empty data directory, a few groups and
//! overlapping Antivirus and Firewall policies to explore.

use std::collections::BTreeSet;

use shared::audit::AuditAction;
use shared::catalog::{ConfiguredSetting, FirewallRule, Profile, RuleAction, RuleDirection, SettingValue};
use shared::groups::{ALL_DEVICES, GroupKind, Rule};
use shared::policy::{AssignmentTarget, Assignments, Policy, PolicyDraft, validate_policy};
use shared::tenant::{Licences, TenantSwitches};

use crate::credentials::random_guid;
use crate::store::{Actor, GroupRecord, Store, StoreResult};

const DEFENDER: &str = "device_vendor_msft_policy_config_defender_";

fn setting(id: &str, value: SettingValue) -> ConfiguredSetting {
    ConfiguredSetting::new(id, value)
}

fn choice(suffix: &str, value: &str) -> ConfiguredSetting {
    setting(&format!("{DEFENDER}{suffix}"), SettingValue::Choice(value.to_owned()))
}

/// The name of the onboarding token the demo creates at every start.
pub const DEMO_TOKEN: &str = "Demo devices";

/// A fresh onboarding token for the demo's simulated devices, in its package; the demo's earlier ones are revoked.
pub async fn onboarding_package(store: &dyn Store, public_url: &str) -> anyhow::Result<shared::api::OnboardingPackage> {
    let actor = Actor::system(crate::now());
    for token in store.list_onboarding_tokens().await? {
        if token.name == DEMO_TOKEN && token.revoked_at.is_none() {
            store.revoke_onboarding_token(&token.id, &actor).await?;
        }
    }
    let request =
        shared::api::CreateOnboardingToken { name: DEMO_TOKEN.to_owned(), expires_in_days: None, max_uses: None };
    let created = crate::api::tenant::create_token(store, public_url, &request, &actor)
        .await
        .map_err(|error| anyhow::anyhow!("cannot create the demo's onboarding token: {error}"))?;
    Ok(created.package)
}

/// Turns the tenant on, and (with `sample_content`) seeds groups and policies when there are none yet.
pub async fn prepare(store: &dyn Store, actor: &str, sample_content: bool) -> anyhow::Result<()> {
    store
        .update_tenant(
            Some(TenantSwitches { security_settings_management: true, enforce_security_configuration: true }),
            Some(Licences { defender_for_endpoint: true, directory_premium_p1: true }),
            &Actor::system(crate::now()),
        )
        .await?;
    if sample_content && store.list_groups().await?.is_empty() && store.list_policies().await?.is_empty() {
        seed(store, actor).await?;
    }
    Ok(())
}

async fn group(store: &dyn Store, name: &str, description: &str, rule: Option<&str>) -> StoreResult<String> {
    let id = random_guid().to_string();
    let rule = rule.map(|text| Rule::parse(text, "rule").map(|rule| rule.text().to_owned()).unwrap_or_default());
    let record = GroupRecord {
        id: id.clone(),
        name: name.to_owned(),
        description: description.to_owned(),
        kind: if rule.is_some() { GroupKind::Dynamic } else { GroupKind::Static },
        rule,
        members: BTreeSet::new(),
        children: Vec::new(),
    };
    store.create_group(&record, &Actor::system(crate::now())).await?;
    Ok(id)
}

async fn seed(store: &dyn Store, actor: &str) -> anyhow::Result<()> {
    let workstations = group(
        store,
        "MDE workstations",
        "Windows 10 and 11 devices that no MDM manages",
        Some(r#"managed_by == "mde" and os in ("windows_10", "windows_11")"#),
    )
    .await?;
    let servers = group(store, "Servers", "Every Windows Server", Some(r#"name startswith "SRV""#)).await?;
    let pilot = group(store, "Pilot ring", "Devices that get changes first", None).await?;

    let include = |ids: &[&str]| ids.iter().map(|id| AssignmentTarget::group(*id)).collect::<Vec<_>>();
    let rules = vec![
        FirewallRule {
            protocol: Some(6),
            local_ports: vec!["3389".into()],
            remote_addresses: vec!["LocalSubnet".into()],
            direction: Some(RuleDirection::In),
            action: Some(RuleAction::Allow),
            ..FirewallRule::named("Allow RDP from the local subnet")
        },
        FirewallRule {
            protocol: Some(6),
            local_ports: vec!["23".into()],
            direction: Some(RuleDirection::In),
            action: Some(RuleAction::Block),
            ..FirewallRule::named("Block Telnet")
        },
    ];
    let server_rules = vec![
        FirewallRule {
            protocol: Some(6),
            local_ports: vec!["445".into()],
            remote_addresses: vec!["Intranet".into()],
            direction: Some(RuleDirection::In),
            action: Some(RuleAction::Allow),
            ..FirewallRule::named("Allow SMB from the intranet")
        },
        FirewallRule {
            protocol: Some(6),
            local_ports: vec!["23".into(), "992".into()],
            direction: Some(RuleDirection::In),
            action: Some(RuleAction::Block),
            ..FirewallRule::named("Block Telnet")
        },
    ];
    let drafts = [
        PolicyDraft {
            profile: Profile::Antivirus,
            name: "Workstation antivirus baseline".into(),
            description: "Real-time and cloud protection for every workstation.".into(),
            settings: vec![
                choice("allowrealtimemonitoring", "1"),
                choice("cloudblocklevel", "4"),
                setting(
                    &format!("{DEFENDER}excludedpaths"),
                    SettingValue::StringList(vec![r"%ProgramFiles%\Contoso\Cache".into()]),
                ),
            ],
            assignments: Assignments { include: include(&[&workstations]), exclude: include(&[&pilot]) },
        },
        PolicyDraft {
            profile: Profile::Antivirus,
            name: "Server antivirus".into(),
            description: "Lighter cloud blocking for servers.".into(),
            settings: vec![
                choice("allowrealtimemonitoring", "1"),
                choice("cloudblocklevel", "2"),
                setting(
                    &format!("{DEFENDER}excludedextensions"),
                    SettingValue::StringList(vec!["ldf".into(), "mdf".into()]),
                ),
            ],
            assignments: Assignments { include: include(&[&servers]), exclude: Vec::new() },
        },
        PolicyDraft {
            profile: Profile::Antivirus,
            name: "Strict cloud protection".into(),
            description: "Zero-tolerance cloud blocking and network protection for the whole fleet; it overlaps the \
                          two antivirus policies above on purpose."
                .into(),
            settings: vec![
                choice("allowrealtimemonitoring", "1"),
                choice("cloudblocklevel", "6"),
                choice("enablenetworkprotection", "1"),
                setting(&format!("{DEFENDER}excludedpaths"), SettingValue::StringList(vec![r"D:\Builds".into()])),
            ],
            assignments: Assignments { include: include(&[ALL_DEVICES]), exclude: Vec::new() },
        },
        PolicyDraft {
            profile: Profile::Firewall,
            name: "Server firewall".into(),
            description: "Servers accept inbound connections by default and allow SMB from the intranet.".into(),
            settings: vec![
                setting(
                    "vendor_msft_firewall_mdmstore_domainprofile_enablefirewall",
                    SettingValue::Choice("true".into()),
                ),
                setting(
                    "vendor_msft_firewall_mdmstore_domainprofile_defaultinboundaction",
                    SettingValue::Choice("0".into()),
                ),
                setting(shared::catalog::firewall::RULES_ID, SettingValue::FirewallRules(server_rules)),
            ],
            assignments: Assignments { include: include(&[&servers]), exclude: Vec::new() },
        },
        PolicyDraft {
            profile: Profile::Firewall,
            name: "Baseline firewall".into(),
            description: "Firewall on for the domain network, with two rules.".into(),
            settings: vec![
                setting(
                    "vendor_msft_firewall_mdmstore_domainprofile_enablefirewall",
                    SettingValue::Choice("true".into()),
                ),
                setting(
                    "vendor_msft_firewall_mdmstore_domainprofile_defaultinboundaction",
                    SettingValue::Choice("1".into()),
                ),
                setting(shared::catalog::firewall::RULES_ID, SettingValue::FirewallRules(rules)),
            ],
            assignments: Assignments { include: include(&[ALL_DEVICES]), exclude: Vec::new() },
        },
    ];
    let known = [workstations.as_str(), servers.as_str(), pilot.as_str(), ALL_DEVICES];
    for draft in drafts {
        let violations = validate_policy(&draft, |id| known.contains(&id));
        anyhow::ensure!(violations.is_empty(), "demo policy {:?} is invalid: {violations:?}", draft.name);
        let policy = Policy::first_version(random_guid().to_string(), draft, actor, crate::now());
        store.create_policy(&policy, AuditAction::PolicyCreate, &Actor::system(crate::now())).await?;
    }
    Ok(())
}
