//! The *Windows Firewall* profile: global settings, the two filtering-platform audit settings of the template, the
//! Domain/Private/Public network profiles (every setting a child of "Enable … Network Firewall" = `true`, as the
//! catalog nests them), and firewall rules (domain-research §2.2–§2.4). Ids, CSP URIs, option values, ranges and
//! defaults are Microsoft's; the help text is ours.

use super::Category::{DomainProfile, FirewallAuditing, FirewallGlobal, FirewallRules, PrivateProfile, PublicProfile};
use super::format::TextFormat;
use super::types::{
    ChoiceOption, Merge, SettingDefinition as Def, SettingKind, Unit, Unsupported, choice, option, range, ranked, text,
    text_list,
};
use crate::device::OsProduct;

/// A node of the Firewall CSP's MdmStore.
macro_rules! mdm_store {
    ($($part:tt)+) => {
        concat!("./Vendor/MSFT/Firewall/MdmStore/", $($part)+)
    };
}

const NO_YES: &[ChoiceOption] = &[option("false", "No"), option("true", "Yes")];
/// "Yes" is the more secure answer.
const NO_YES_SAFER_YES: &[ChoiceOption] = &[ranked("false", "No", 0), ranked("true", "Yes", 1)];
/// "No" is the more secure answer.
const NO_YES_SAFER_NO: &[ChoiceOption] = &[ranked("false", "No", 1), ranked("true", "Yes", 0)];
/// Blocking by default is more secure than allowing.
const ALLOW_BLOCK: &[ChoiceOption] = &[ranked("0", "Allow", 0), ranked("1", "Block", 1)];
const AUDIT_EVENTS: &[ChoiceOption] = &[
    ranked("0", "Off", 0),
    ranked("1", "Success", 1),
    ranked("2", "Failure", 1),
    ranked("3", "Success and failure", 2),
];
const DISABLED_ENABLED: &[ChoiceOption] = &[option("0", "Disabled"), option("1", "Enabled")];

/// Settings that apply to the whole firewall, whatever the network.
pub static GLOBAL: &[Def] = &[
    Def::new(
        "vendor_msft_firewall_mdmstore_global_crlcheck",
        "Certificate revocation list verification",
        mdm_store!("Global/CRLcheck"),
        FirewallGlobal,
        choice(&[
            ranked("0", "None: no revocation check", 0),
            ranked("1", "Attempt: fail only if revoked", 1),
            ranked("2", "Require: fail on any check error", 2),
        ]),
        "How strictly IPsec checks certificates against revocation lists: not at all, refusing only certificates \
         known to be revoked, or refusing whenever the check cannot be completed.",
    ),
    Def::new(
        "vendor_msft_firewall_mdmstore_global_disablestatefulftp",
        "Disable Stateful Ftp",
        mdm_store!("Global/DisableStatefulFtp"),
        FirewallGlobal,
        choice(&[
            option("false", "No: stateful FTP inspection on"),
            option("true", "Yes: stateful FTP inspection off"),
        ]),
        "Turns off stateful FTP inspection, with which the firewall follows FTP sessions to let their separate data \
         connections through.",
    )
    .default_choice("false"),
    Def::new(
        "vendor_msft_firewall_mdmstore_global_enablepacketqueue",
        "Enable Packet Queue",
        mdm_store!("Global/EnablePacketQueue"),
        FirewallGlobal,
        SettingKind::ChoiceList {
            options: &[option("0", "Disabled"), option("1", "Queue inbound"), option("2", "Queue outbound")],
            exclusive: &["0"],
        },
        "Lets an IPsec tunnel gateway spread packet processing over several processors while keeping packets in \
         order: queue encrypted packets as they arrive, queue packets for forwarding after decryption, or both.",
    )
    .default_choices(&["0"]),
    Def::new(
        "vendor_msft_firewall_mdmstore_global_ipsecexempt",
        "IPsec Exceptions",
        mdm_store!("Global/IPsecExempt"),
        FirewallGlobal,
        SettingKind::ChoiceList {
            options: &[
                option("0", "No exceptions"),
                option("1", "Neighbor discovery (IPv6 ICMP)"),
                option("2", "ICMP"),
                option("4", "Router discovery (IPv6 ICMP)"),
                option("8", "DHCP (IPv4 and IPv6)"),
            ],
            exclusive: &["0"],
        },
        "Kinds of traffic that are let through without IPsec protection, even where IPsec is otherwise required.",
    )
    .default_choices(&["0"]),
    Def::new(
        "vendor_msft_firewall_mdmstore_global_opportunisticallymatchauthsetperkm",
        "Opportunistically Match Auth Set Per KM",
        mdm_store!("Global/OpportunisticallyMatchAuthSetPerKM"),
        FirewallGlobal,
        choice(NO_YES),
        "When on, IPsec keying modules skip only the authentication methods they do not support. When off, they \
         ignore a whole authentication set as soon as it contains one method they do not support.",
    ),
    Def::new(
        "vendor_msft_firewall_mdmstore_global_presharedkeyencoding",
        "Preshared Key Encoding",
        mdm_store!("Global/PresharedKeyEncoding"),
        FirewallGlobal,
        choice(&[option("0", "None"), option("1", "UTF-8")]),
        "How IPsec preshared keys are encoded.",
    )
    .default_choice("1"),
    Def::new(
        "vendor_msft_firewall_mdmstore_global_saidletime",
        "Security association idle time",
        mdm_store!("Global/SaIdleTime"),
        FirewallGlobal,
        range(300, 3600, Unit::Seconds),
        "How long, in seconds, an IPsec security association may go without traffic before it is deleted.",
    ),
    Def::new(
        "vendor_msft_firewall_mdmstore_global_enableauditmode",
        "Enable Audit Mode",
        mdm_store!("Global/EnableAuditMode"),
        FirewallGlobal,
        choice(&[option("false", "No: audit mode off"), option("true", "Yes: audit mode on")]),
        "Puts the device's firewall in audit mode.",
    )
    .default_choice("false")
    .unsupported_on(&[Unsupported {
        os: OsProduct::ALL,
        reason: "This setting reaches only devices enrolled in an MDM; devices managed through security settings \
                 management do not receive it.",
    }]),
];

/// Audit settings that the catalog's Firewall template carries (Policy CSP, Audit area).
pub static AUDITING: &[Def] = &[
    Def::new(
        "device_vendor_msft_policy_config_audit_objectaccess_auditfilteringplatformconnection",
        "Object Access Audit Filtering Platform Connection",
        "./Device/Vendor/MSFT/Policy/Config/Audit/ObjectAccess_AuditFilteringPlatformConnection",
        FirewallAuditing,
        choice(AUDIT_EVENTS),
        "Records an event in the security log when the Windows Filtering Platform, on which the firewall is built, \
         allows or blocks a connection: for allowed ones, blocked ones, both or neither.",
    ),
    Def::new(
        "device_vendor_msft_policy_config_audit_objectaccess_auditfilteringplatformpacketdrop",
        "Object Access Audit Filtering Platform Packet Drop",
        "./Device/Vendor/MSFT/Policy/Config/Audit/ObjectAccess_AuditFilteringPlatformPacketDrop",
        FirewallAuditing,
        choice(AUDIT_EVENTS),
        "Records an event in the security log when the Windows Filtering Platform drops packets.",
    ),
];

/// The 17 settings of one network profile: "Enable … Network Firewall" and its 16 children.
macro_rules! network_profile {
    ($p:literal, $P:literal, $label:literal, $category:expr) => {
        &[
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"),
                concat!("Enable ", $label, " Network Firewall"),
                mdm_store!($P, "/EnableFirewall"),
                $category,
                choice(NO_YES_SAFER_YES),
                concat!(
                    "Turns Windows Firewall on or off while the device is connected to a ",
                    $label,
                    " network. When it is off, no traffic is filtered, whatever the other settings say. \
                     The other settings of this network apply only when this one is Yes."
                ),
            )
            .default_choice("true"),
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_defaultinboundaction"),
                concat!("Default Inbound Action for ", $label, " Profile"),
                mdm_store!($P, "/DefaultInboundAction"),
                $category,
                choice(ALLOW_BLOCK),
                "What happens to incoming connections that no firewall rule allows or blocks.",
            )
            .default_choice("1")
            .child_of(concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"), "true"),
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_defaultoutboundaction"),
                "Default Outbound Action",
                mdm_store!($P, "/DefaultOutboundAction"),
                $category,
                choice(ALLOW_BLOCK),
                "What happens to outgoing connections that no firewall rule allows or blocks.",
            )
            .default_choice("0")
            .child_of(concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"), "true"),
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_disableinboundnotifications"),
                "Disable Inbound Notifications",
                mdm_store!($P, "/DisableInboundNotifications"),
                $category,
                choice(NO_YES),
                "Stops the notification that tells the user an app was blocked from accepting incoming connections.",
            )
            .default_choice("false")
            .child_of(concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"), "true"),
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_allowlocalpolicymerge"),
                "Allow Local Policy Merge",
                mdm_store!($P, "/AllowLocalPolicyMerge"),
                $category,
                choice(NO_YES_SAFER_NO),
                "Whether firewall rules that local administrators create on the device are enforced next to the \
                 managed ones. No means only managed rules count.",
            )
            .default_choice("true")
            .child_of(concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"), "true"),
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_allowlocalipsecpolicymerge"),
                "Allow Local Ipsec Policy Merge",
                mdm_store!($P, "/AllowLocalIpsecPolicyMerge"),
                $category,
                choice(NO_YES_SAFER_NO),
                "Whether IPsec connection security rules created locally on the device are enforced next to the \
                 managed ones.",
            )
            .default_choice("true")
            .child_of(concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"), "true"),
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_authappsallowuserprefmerge"),
                "Auth Apps Allow User Pref Merge",
                mdm_store!($P, "/AuthAppsAllowUserPrefMerge"),
                $category,
                choice(NO_YES_SAFER_NO),
                "Whether rules for authorized applications that were set up locally are enforced.",
            )
            .default_choice("true")
            .child_of(concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"), "true"),
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_globalportsallowuserprefmerge"),
                "Global Ports Allow User Pref Merge",
                mdm_store!($P, "/GlobalPortsAllowUserPrefMerge"),
                $category,
                choice(NO_YES_SAFER_NO),
                "Whether rules that open ports for every program, set up locally, are enforced.",
            )
            .default_choice("true")
            .child_of(concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"), "true"),
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_shielded"),
                "Shielded",
                mdm_store!($P, "/Shielded"),
                $category,
                choice(NO_YES_SAFER_YES),
                "Blocks all incoming traffic, even traffic that rules allow. Useful as an emergency lockdown.",
            )
            .default_choice("false")
            .child_of(concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"), "true"),
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_disablestealthmode"),
                "Disable Stealth Mode",
                mdm_store!($P, "/DisableStealthMode"),
                $category,
                choice(NO_YES_SAFER_NO),
                "Turns off stealth mode, in which the device does not answer unsolicited traffic, so that port scans \
                 learn less about it.",
            )
            .default_choice("false")
            .child_of(concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"), "true"),
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_disablestealthmodeipsecsecuredpacketexemption"),
                "Disable Stealth Mode Ipsec Secured Packet Exemption",
                mdm_store!($P, "/DisableStealthModeIpsecSecuredPacketExemption"),
                $category,
                choice(NO_YES),
                "Controls whether stealth mode also covers unsolicited traffic that IPsec protects, or lets the device \
                 answer it. Ignored when stealth mode is off.",
            )
            .default_choice("true")
            .child_of(concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"), "true"),
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_disableunicastresponsestomulticastbroadcast"),
                "Disable Unicast Responses To Multicast Broadcast",
                mdm_store!($P, "/DisableUnicastResponsesToMulticastBroadcast"),
                $category,
                choice(NO_YES_SAFER_YES),
                "Blocks direct replies to multicast and broadcast messages the device sent.",
            )
            .default_choice("false")
            .child_of(concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"), "true"),
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_enablelogdroppedpackets"),
                "Enable Log Dropped Packets",
                mdm_store!($P, "/EnableLogDroppedPackets"),
                $category,
                choice(NO_YES_SAFER_YES),
                "Writes every packet the firewall drops to the firewall log.",
            )
            .default_choice("false")
            .child_of(concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"), "true"),
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_enablelogsuccessconnections"),
                "Enable Log Success Connections",
                mdm_store!($P, "/EnableLogSuccessConnections"),
                $category,
                choice(NO_YES_SAFER_YES),
                "Writes every successful incoming connection to the firewall log.",
            )
            .default_choice("false")
            .child_of(concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"), "true"),
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_enablelogignoredrules"),
                "Enable Log Ignored Rules",
                mdm_store!($P, "/EnableLogIgnoredRules"),
                $category,
                choice(NO_YES_SAFER_YES),
                "Logs an event when a firewall rule is not enforced for any reason.",
            )
            .default_choice("false")
            .child_of(concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"), "true"),
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_logfilepath"),
                "Log File Path",
                mdm_store!($P, "/LogFilePath"),
                $category,
                text(TextFormat::FilePath),
                "Where the firewall log is written, for example %SystemRoot%\\System32\\LogFiles\\Firewall\\pfirewall.log.",
            )
            .child_of(concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"), "true"),
            Def::new(
                concat!("vendor_msft_firewall_mdmstore_", $p, "_logmaxfilesize"),
                "Log Max File Size",
                mdm_store!($P, "/LogMaxFileSize"),
                $category,
                range(1, 32767, Unit::Kilobytes),
                "The largest size, in kilobytes, the firewall log may reach.",
            )
            .child_of(concat!("vendor_msft_firewall_mdmstore_", $p, "_enablefirewall"), "true"),
        ]
    };
}

/// The Domain network profile: networks where the device can reach its domain controller.
pub static DOMAIN_PROFILE: &[Def] = network_profile!("domainprofile", "DomainProfile", "Domain", DomainProfile);
/// The Private network profile: home and office networks marked as trusted.
pub static PRIVATE_PROFILE: &[Def] = network_profile!("privateprofile", "PrivateProfile", "Private", PrivateProfile);
/// The Public network profile: untrusted networks such as those in airports and cafés.
pub static PUBLIC_PROFILE: &[Def] = network_profile!("publicprofile", "PublicProfile", "Public", PublicProfile);

/// The id of the firewall rule collection.
pub const RULES_ID: &str = "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}";

/// One field of a firewall rule: a member of the rule collection.
macro_rules! rule_field {
    ($suffix:literal, $name:literal, $path:literal, $kind:expr, $description:literal) => {
        Def::new(
            concat!("vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_", $suffix),
            $name,
            mdm_store!("FirewallRules/{0}/", $path),
            FirewallRules,
            $kind,
            $description,
        )
        .member_of(RULES_ID)
    };
}

/// Firewall rules: the collection, then the fields of one rule.
pub static FIREWALL_RULES: &[Def] = &[
    Def::new(
        RULES_ID,
        "Firewall Rules",
        mdm_store!("FirewallRules/{0}"),
        FirewallRules,
        SettingKind::FirewallRules,
        "Rules that allow or block specific traffic. Each rule needs a name unique within its policy; a device \
         targeted by several policies gets every policy's rules, even two of the same name.",
    )
    .merged(Merge::PerPolicy),
    rule_field!(
        "name",
        "Name",
        "Name",
        text(TextFormat::Text),
        "The rule's name, as Windows Firewall shows it. Required, and unique within the policy."
    ),
    rule_field!(
        "firewallrulename",
        "Firewall Rule Name",
        "FirewallRuleName",
        text(TextFormat::Text),
        "The key that identifies the rule on the device. It must be unique and must not contain a forward slash (/)."
    ),
    rule_field!("description", "Description", "Description", text(TextFormat::Text), "What the rule is for."),
    rule_field!(
        "enabled",
        "Enabled",
        "Enabled",
        choice(DISABLED_ENABLED),
        "Whether the rule is enforced. A new rule is enabled unless it says otherwise."
    )
    .default_choice("1"),
    rule_field!(
        "action_type",
        "Action",
        "Action/Type",
        choice(&[option("0", "Block"), option("1", "Allow")]),
        "Whether matching traffic is blocked or allowed."
    )
    .default_choice("1"),
    rule_field!(
        "direction",
        "Direction",
        "Direction",
        choice(&[option("in", "Inbound"), option("out", "Outbound")]),
        "Whether the rule applies to incoming or outgoing traffic."
    )
    .default_choice("out"),
    rule_field!(
        "protocol",
        "Protocol",
        "Protocol",
        range(0, 255, Unit::Number),
        "The IP protocol number: 6 for TCP, 17 for UDP, 1 for ICMP, 58 for ICMPv6, or another number up to 255. \
         Leave it unset for any protocol."
    ),
    rule_field!(
        "localportranges",
        "Local Port Ranges",
        "LocalPortRanges",
        text_list(TextFormat::PortRange),
        "Ports on this device, one port (443) or range (1000-2000) per entry. Needs the protocol TCP (6) or \
         UDP (17). Empty means all ports."
    ),
    rule_field!(
        "remoteportranges",
        "Remote Port Ranges",
        "RemotePortRanges",
        text_list(TextFormat::PortRange),
        "Ports on the other side of the connection, one port or range per entry. Needs the protocol TCP (6) or \
         UDP (17). Empty means all ports."
    ),
    rule_field!(
        "icmptypesandcodes",
        "ICMP Types And Codes",
        "IcmpTypesAndCodes",
        text_list(TextFormat::IcmpTypeCode),
        "ICMP messages as type:code, such as 8:0 for echo requests or 3:* for every code of type 3, or * alone for \
         all. Needs the protocol ICMP (1) or ICMPv6 (58)."
    ),
    rule_field!(
        "localaddressranges",
        "Local Address Ranges",
        "LocalAddressRanges",
        text_list(TextFormat::LocalAddress),
        "Addresses of this device the rule covers: IPv4 or IPv6 addresses, subnets (10.0.0.0/8) or ranges \
         (10.0.0.1-10.0.0.99), or * alone for any. Empty means any."
    ),
    rule_field!(
        "remoteaddressranges",
        "Remote Address Ranges",
        "RemoteAddressRanges",
        text_list(TextFormat::RemoteAddress),
        "Addresses of the other side: like local addresses, plus the keywords LocalSubnet, DNS, DHCP, WINS, \
         DefaultGateway, Intranet, RmtIntranet, Internet and Ply2Renders. Empty means any."
    ),
    rule_field!(
        "remoteaddressdynamickeywords",
        "Reusable groups",
        "RemoteAddressDynamicKeywords",
        text_list(TextFormat::Guid),
        "Reusable groups of remote addresses (dynamic keywords), by their GUID."
    ),
    rule_field!(
        "app_filepath",
        "File Path",
        "App/FilePath",
        text(TextFormat::FilePath),
        "The program the rule applies to, by its full path, such as %ProgramFiles%\\App\\app.exe. All app \
         conditions of a rule must match together."
    ),
    rule_field!(
        "app_packagefamilyname",
        "Package Family Name",
        "App/PackageFamilyName",
        text(TextFormat::PackageFamilyName),
        "The packaged (Store) app the rule applies to, by package family name; PowerShell's Get-AppxPackage shows it."
    ),
    rule_field!(
        "app_servicename",
        "Service Name",
        "App/ServiceName",
        text(TextFormat::ServiceName),
        "The Windows service the rule applies to, by short name; PowerShell's Get-Service shows it."
    ),
    rule_field!(
        "app_fqbn",
        "Fully Qualified Binary Name",
        "App/Fqbn",
        text(TextFormat::Text),
        "The app the rule applies to, identified by its signature: publisher, product, file name and version."
    ),
    rule_field!(
        "policyappid",
        "Policy App Id",
        "PolicyAppId",
        text(TextFormat::PolicyAppId),
        "An application control (WDAC) tag; the rule then applies to the apps carrying that tag. It cannot be \
         combined with a service name."
    ),
    rule_field!(
        "profiles",
        "Network Types",
        "Profiles",
        SettingKind::ChoiceList {
            options: &[
                option("1", "Domain"),
                option("2", "Private"),
                option("4", "Public"),
                option("2147483647", "All"),
                option("-2147483648", "Current"),
            ],
            exclusive: &["2147483647", "-2147483648"],
        },
        "The network types on which the rule applies. All is the default."
    )
    .default_choices(&["2147483647"]),
    rule_field!(
        "interfacetypes",
        "Interface Types",
        "InterfaceTypes",
        SettingKind::ChoiceList {
            options: &[
                option("remoteaccess", "Remote access"),
                option("wireless", "Wireless"),
                option("lan", "LAN"),
                option("mbb", "Mobile broadband"),
                option("mobilebroadband", "[Not supported] Mobile broadband"),
                option("all", "All"),
            ],
            exclusive: &["all"],
        },
        "The kinds of network connection on which the rule applies. All is the default."
    )
    .default_choices(&["all"]),
    rule_field!(
        "localuserauthorizedlist",
        "Local User Authorized List",
        "LocalUserAuthorizedList",
        text_list(TextFormat::Text),
        "Local users the rule is limited to. Not allowed in rules for a service. Empty means all users."
    ),
    rule_field!(
        "edgetraversal",
        "Edge Traversal",
        "EdgeTraversal",
        choice(DISABLED_ENABLED),
        "Lets incoming traffic reach the app through NAT routers and other edge devices, using Teredo IPv6 \
         tunnelling. Off unless turned on."
    )
    .default_choice("0"),
];
