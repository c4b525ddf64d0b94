//! The *Microsoft Defender Antivirus* profile: every setting of the catalog's Antivirus template, category by
//! category (domain-research §1.2). Ids, CSP URIs, option values, ranges and defaults are Microsoft's; the help
//! text is ours.

use super::Category::{
    CloudProtection, Exclusions, NetworkProtection, RealTimeProtection, Remediation, ScanScope, ScheduledScans,
    SecurityIntelligenceUpdates, UserInterface,
};
use super::format::TextFormat;
use super::types::{
    ChoiceOption, IntegerRange, Merge, Safer, SettingDefinition as Def, SettingKind, Unit, Unsupported, choice, option,
    range, ranked, text_list,
};
use crate::device::OsProduct;

/// A Policy CSP node of the Defender area.
macro_rules! policy {
    ($name:literal) => {
        concat!("./Device/Vendor/MSFT/Policy/Config/Defender/", $name)
    };
}

/// A node of the Defender CSP's Configuration branch.
macro_rules! defender {
    ($name:literal) => {
        concat!("./Vendor/MSFT/Defender/Configuration/", $name)
    };
}

/// Allowed is more secure than not allowed.
const ALLOW: &[ChoiceOption] = &[ranked("0", "Not allowed", 0), ranked("1", "Allowed", 1)];
/// Enabled is more secure than disabled.
const ENABLE: &[ChoiceOption] = &[ranked("0", "Disabled", 0), ranked("1", "Enabled", 1)];
/// For "Disable … parsing": inspecting the traffic is more secure.
const PARSING: &[ChoiceOption] = &[ranked("0", "Inspected", 1), ranked("1", "Not inspected", 0)];
/// The remediation actions of the threat-severity group.
const THREAT_ACTIONS: &[ChoiceOption] = &[
    option("clean", "Clean: try to repair the file"),
    option("quarantine", "Quarantine: move the file to quarantine"),
    option("remove", "Remove: delete the file"),
    option("allow", "Allow: take no action"),
    option("userdefined", "User defined: the user decides"),
    option("block", "Block: stop the file from running"),
];

/// The threat-severity group whose members are the four remediation actions.
const THREAT_SEVERITY_GROUP: &str = "device_vendor_msft_policy_config_defender_threatseveritydefaultaction";

/// Real-time protection.
pub static REAL_TIME_PROTECTION: &[Def] = &[
    Def::new(
        "device_vendor_msft_policy_config_defender_allowrealtimemonitoring",
        "Allow Realtime Monitoring",
        policy!("AllowRealtimeMonitoring"),
        RealTimeProtection,
        choice(ALLOW),
        "Keeps the real-time protection service running, so files are checked the moment they are created, \
         opened or run. Without it the device is only protected by scheduled and manual scans.",
    )
    .default_choice("1"),
    Def::new(
        "device_vendor_msft_policy_config_defender_allowonaccessprotection",
        "Allow On Access Protection",
        policy!("AllowOnAccessProtection"),
        RealTimeProtection,
        choice(ALLOW),
        "Checks files and programs whenever they are accessed. A change of this setting can need a restart of the \
         device before it takes effect.",
    )
    .default_choice("1"),
    Def::new(
        "device_vendor_msft_policy_config_defender_realtimescandirection",
        "Real Time Scan Direction",
        policy!("RealTimeScanDirection"),
        RealTimeProtection,
        choice(&[
            ranked("0", "Monitor all files (incoming and outgoing)", 1),
            ranked("1", "Monitor incoming files only", 0),
            ranked("2", "Monitor outgoing files only", 0),
        ]),
        "Chooses which file traffic real-time protection watches: files arriving on the device, files leaving it, \
         or both. Watching one direction lightens the load on busy servers but checks less.",
    )
    .default_choice("0"),
    Def::new(
        "device_vendor_msft_policy_config_defender_allowbehaviormonitoring",
        "Allow Behavior Monitoring",
        policy!("AllowBehaviorMonitoring"),
        RealTimeProtection,
        choice(ALLOW),
        "Watches what running programs do and stops behaviour typical of malware, which also catches threats that \
         no signature knows yet.",
    )
    .default_choice("1"),
    Def::new(
        "device_vendor_msft_policy_config_defender_allowioavprotection",
        "Allow scanning of all downloaded files and attachments",
        policy!("AllowIOAVProtection"),
        RealTimeProtection,
        choice(ALLOW),
        "Scans files downloaded from the internet and email attachments as they arrive (IOAV protection).",
    )
    .default_choice("1"),
    Def::new(
        "device_vendor_msft_policy_config_defender_allowscriptscanning",
        "Allow Script Scanning",
        policy!("AllowScriptScanning"),
        RealTimeProtection,
        choice(ALLOW),
        "Scans scripts, for example PowerShell or JavaScript, before they run, including scripts that are \
         obfuscated or assembled in memory.",
    )
    .default_choice("1"),
];

/// What scans look at.
pub static SCAN_SCOPE: &[Def] = &[
    Def::new(
        "device_vendor_msft_policy_config_defender_allowarchivescanning",
        "Allow Archive Scanning",
        policy!("AllowArchiveScanning"),
        ScanScope,
        choice(ALLOW),
        "Looks inside archive files such as .zip and .cab when scanning.",
    )
    .default_choice("1"),
    Def::new(
        "device_vendor_msft_policy_config_defender_allowemailscanning",
        "Allow Email Scanning",
        policy!("AllowEmailScanning"),
        ScanScope,
        choice(ALLOW),
        "Includes mailbox and message files, such as Outlook data files, in scans.",
    )
    .default_choice("0"),
    Def::new(
        "device_vendor_msft_policy_config_defender_allowfullscanremovabledrivescanning",
        "Allow Full Scan Removable Drive Scanning",
        policy!("AllowFullScanRemovableDriveScanning"),
        ScanScope,
        choice(ALLOW),
        "Includes removable drives, such as USB sticks, in full scans.",
    )
    .default_choice("0"),
    Def::new(
        "device_vendor_msft_policy_config_defender_allowfullscanonmappednetworkdrives",
        "Allow Full Scan On Mapped Network Drives",
        policy!("AllowFullScanOnMappedNetworkDrives"),
        ScanScope,
        choice(ALLOW),
        "Includes mapped network drives in full scans. This adds load on the file servers behind those drives.",
    )
    .default_choice("0"),
    Def::new(
        "device_vendor_msft_policy_config_defender_allowscanningnetworkfiles",
        "Allow Scanning Network Files",
        policy!("AllowScanningNetworkFiles"),
        ScanScope,
        choice(ALLOW),
        "Scans files that are opened from network folders.",
    )
    .default_choice("1"),
    Def::new(
        "device_vendor_msft_defender_configuration_archivemaxdepth",
        "Archive Max Depth",
        defender!("ArchiveMaxDepth"),
        ScanScope,
        range(0, i32::MAX as i64, Unit::Number),
        "How many levels of archives inside archives are unpacked during a scan. 0 means no limit.",
    )
    .default_integer(0),
    Def::new(
        "device_vendor_msft_defender_configuration_archivemaxsize",
        "Archive Max Size",
        defender!("ArchiveMaxSize"),
        ScanScope,
        range(0, i32::MAX as i64, Unit::Kilobytes),
        "The largest archive, in kilobytes, that scans unpack. 0 means no limit.",
    )
    .default_integer(0),
];

/// Cloud protection, sample submission and potentially unwanted apps.
pub static CLOUD_PROTECTION: &[Def] = &[
    Def::new(
        "device_vendor_msft_policy_config_defender_allowcloudprotection",
        "Allow Cloud Protection",
        policy!("AllowCloudProtection"),
        CloudProtection,
        choice(ALLOW),
        "Lets Defender consult Microsoft's cloud protection service (MAPS) about suspicious files, which stops new \
         threats much sooner than waiting for the next update.",
    )
    .default_choice("1"),
    Def::new(
        "device_vendor_msft_policy_config_defender_cloudblocklevel",
        "Cloud Block Level",
        policy!("CloudBlockLevel"),
        CloudProtection,
        choice(&[
            ranked("0", "Default", 0),
            ranked("2", "High", 1),
            ranked("4", "High plus", 2),
            ranked("6", "Zero tolerance", 3),
        ]),
        "How readily the cloud service blocks files it is unsure about. Higher levels block more unknown files, and \
         now and then a legitimate one. Needs cloud protection.",
    )
    .default_choice("0"),
    Def::new(
        "device_vendor_msft_policy_config_defender_cloudextendedtimeout",
        "Cloud Extended Timeout",
        policy!("CloudExtendedTimeout"),
        CloudProtection,
        SettingKind::Integer(IntegerRange { min: 0, max: 50, unit: Unit::Seconds, safer: Safer::Higher }),
        "Extra seconds a suspicious file is held while the cloud service decides, on top of the usual 10 seconds \
         (60 seconds at most in total).",
    ),
    Def::new(
        "device_vendor_msft_policy_config_defender_submitsamplesconsent",
        "Submit Samples Consent",
        policy!("SubmitSamplesConsent"),
        CloudProtection,
        choice(&[
            ranked("0", "Always prompt", 1),
            ranked("1", "Send safe samples automatically", 2),
            ranked("2", "Never send", 0),
            ranked("3", "Send all samples automatically", 3),
        ]),
        "Whether files that need a closer look are sent to Microsoft for analysis, and whether the user is asked \
         first.",
    )
    .default_choice("1"),
    Def::new(
        "device_vendor_msft_policy_config_defender_puaprotection",
        "PUA Protection",
        policy!("PUAProtection"),
        CloudProtection,
        choice(&[ranked("0", "Off", 0), ranked("1", "On: block", 2), ranked("2", "Audit mode: report only", 1)]),
        "Detects potentially unwanted applications, such as adware and bundled installers. Audit mode only reports \
         them.",
    )
    .default_choice("0"),
];

/// Scheduled scans and how much they may load the device.
pub static SCHEDULED_SCANS: &[Def] = &[
    Def::new(
        "device_vendor_msft_policy_config_defender_scanparameter",
        "Scan Parameter",
        policy!("ScanParameter"),
        ScheduledScans,
        choice(&[ranked("1", "Quick scan", 0), ranked("2", "Full scan", 1)]),
        "The kind of scan that runs on the schedule: a quick scan of the places malware usually hides, or a full \
         scan of every file.",
    )
    .default_choice("1"),
    Def::new(
        "device_vendor_msft_policy_config_defender_schedulescanday",
        "Schedule Scan Day",
        policy!("ScheduleScanDay"),
        ScheduledScans,
        choice(&[
            ranked("0", "Every day", 2),
            ranked("1", "Sunday", 1),
            ranked("2", "Monday", 1),
            ranked("3", "Tuesday", 1),
            ranked("4", "Wednesday", 1),
            ranked("5", "Thursday", 1),
            ranked("6", "Friday", 1),
            ranked("7", "Saturday", 1),
            ranked("8", "No scheduled scan", 0),
        ]),
        "The day the scheduled scan runs, every day, or never.",
    )
    .default_choice("0"),
    Def::new(
        "device_vendor_msft_policy_config_defender_schedulescantime",
        "Schedule Scan Time",
        policy!("ScheduleScanTime"),
        ScheduledScans,
        range(0, 1380, Unit::MinutesAfterMidnight),
        "When the scheduled scan starts, in minutes after midnight: 0 is 12:00 AM, 60 is 1:00 AM and 1380 is \
         11:00 PM.",
    )
    .default_integer(120),
    Def::new(
        "device_vendor_msft_policy_config_defender_schedulequickscantime",
        "Schedule Quick Scan Time",
        policy!("ScheduleQuickScanTime"),
        ScheduledScans,
        range(0, 1380, Unit::MinutesAfterMidnight),
        "When the daily quick scan starts, in minutes after midnight: 0 is 12:00 AM and 120 is 2:00 AM.",
    )
    .default_integer(120),
    Def::new(
        "device_vendor_msft_policy_config_defender_disablecatchupfullscan",
        "Disable Catchup Full Scan",
        policy!("DisableCatchupFullScan"),
        ScheduledScans,
        choice(&[ranked("0", "Disabled: missed full scans catch up", 1), ranked("1", "Enabled: no catch-up", 0)]),
        "Whether a scheduled full scan that was missed, because the device was off or busy, runs at the next \
         opportunity.",
    )
    .default_choice("1"),
    Def::new(
        "device_vendor_msft_policy_config_defender_disablecatchupquickscan",
        "Disable Catchup Quick Scan",
        policy!("DisableCatchupQuickScan"),
        ScheduledScans,
        choice(&[ranked("0", "Disabled: missed quick scans catch up", 1), ranked("1", "Enabled: no catch-up", 0)]),
        "Whether a scheduled quick scan that was missed runs at the next opportunity.",
    )
    .default_choice("1"),
    Def::new(
        "device_vendor_msft_policy_config_defender_checkforsignaturesbeforerunningscan",
        "Check For Signatures Before Running Scan",
        policy!("CheckForSignaturesBeforeRunningScan"),
        ScheduledScans,
        choice(ENABLE),
        "Fetches the newest security intelligence before each scheduled scan, so the scan knows the latest threats.",
    )
    .default_choice("0"),
    Def::new(
        "device_vendor_msft_policy_config_defender_avgcpuloadfactor",
        "Avg CPU Load Factor",
        policy!("AvgCPULoadFactor"),
        ScheduledScans,
        range(0, 100, Unit::Percent),
        "The average share of processor time, in percent, that a scan aims not to exceed.",
    )
    .default_integer(50),
    Def::new(
        "device_vendor_msft_policy_config_defender_enablelowcpupriority",
        "Enable Low CPU Priority",
        policy!("EnableLowCPUPriority"),
        ScheduledScans,
        choice(&[option("0", "Disabled"), option("1", "Enabled")]),
        "Runs scheduled scans at low processor priority, so they disturb people less and take longer.",
    )
    .default_choice("0"),
    Def::new(
        "device_vendor_msft_defender_configuration_randomizescheduletasktimes",
        "Randomize Schedule Task Times",
        defender!("RandomizeScheduleTaskTimes"),
        ScheduledScans,
        choice(&[option("0", "Do not randomize"), option("1", "Randomize")]),
        "Spreads the start of scheduled scans and updates over a window of time, so that many devices do not start \
         at the same moment. The window is set by Scheduler Randomization Time.",
    )
    .default_choice("1"),
    Def::new(
        "device_vendor_msft_defender_configuration_schedulerrandomizationtime",
        "Scheduler Randomization Time",
        defender!("SchedulerRandomizationTime"),
        ScheduledScans,
        range(1, 23, Unit::Hours),
        "The width, in hours, of the window over which scheduled tasks are spread when randomizing is on.",
    ),
];

/// Security-intelligence (signature) updates.
pub static SECURITY_INTELLIGENCE_UPDATES: &[Def] = &[
    Def::new(
        "device_vendor_msft_policy_config_defender_signatureupdateinterval",
        "Signature Update Interval",
        policy!("SignatureUpdateInterval"),
        SecurityIntelligenceUpdates,
        range(0, 24, Unit::Hours),
        "How often, in hours, Defender looks for new security intelligence: 1 is every hour, 24 once a day, and 0 \
         turns the periodic check off.",
    )
    .default_integer(8),
    Def::new(
        "device_vendor_msft_policy_config_defender_signatureupdatefallbackorder",
        "Signature Update Fallback Order",
        policy!("SignatureUpdateFallbackOrder"),
        SecurityIntelligenceUpdates,
        text_list(TextFormat::UpdateSource),
        "The update sources Defender tries, in order, until one answers: InternalDefinitionUpdateServer, \
         MicrosoftUpdateServer, MMPC and FileShares. Each source may be listed once.",
    ),
    Def::new(
        "device_vendor_msft_policy_config_defender_signatureupdatefilesharessources",
        "Signature Update File Shares Sources",
        policy!("SignatureUpdateFileSharesSources"),
        SecurityIntelligenceUpdates,
        text_list(TextFormat::UncPath),
        "Network shares that hold security intelligence updates, such as \\\\server\\share. They are used when \
         FileShares is in the fallback order.",
    ),
    Def::new(
        "device_vendor_msft_defender_configuration_meteredconnectionupdates",
        "Metered Connection Updates",
        defender!("MeteredConnectionUpdates"),
        SecurityIntelligenceUpdates,
        choice(&[ranked("0", "Not allowed", 0), ranked("1", "Allowed", 1)]),
        "Whether updates may download over metered connections, such as mobile data. Data charges may apply.",
    )
    .default_choice("0"),
];

/// What happens to detected threats.
pub static REMEDIATION: &[Def] = &[
    Def::new(
        "device_vendor_msft_policy_config_defender_daystoretaincleanedmalware",
        "Days To Retain Cleaned Malware",
        policy!("DaysToRetainCleanedMalware"),
        Remediation,
        range(0, 90, Unit::Days),
        "How many days quarantined items are kept before they are deleted. 0 keeps them until someone removes them.",
    )
    .default_integer(0),
    Def::new(
        THREAT_SEVERITY_GROUP,
        "Threat Severity Default Action",
        policy!("ThreatSeverityDefaultAction"),
        Remediation,
        SettingKind::Group,
        "The action Defender takes on its own for threats of each severity level. Configure the levels you want to \
         decide; the others keep Defender's own choice.",
    ),
    Def::new(
        "device_vendor_msft_policy_config_defender_threatseveritydefaultaction_lowseveritythreats",
        "Remediation action for Low severity threats",
        policy!("ThreatSeverityDefaultAction"),
        Remediation,
        choice(THREAT_ACTIONS),
        "What to do with threats of low severity.",
    )
    .member_of(THREAT_SEVERITY_GROUP),
    Def::new(
        "device_vendor_msft_policy_config_defender_threatseveritydefaultaction_moderateseveritythreats",
        "Remediation action for Moderate severity threats",
        policy!("ThreatSeverityDefaultAction"),
        Remediation,
        choice(THREAT_ACTIONS),
        "What to do with threats of moderate severity.",
    )
    .member_of(THREAT_SEVERITY_GROUP),
    Def::new(
        "device_vendor_msft_policy_config_defender_threatseveritydefaultaction_highseveritythreats",
        "Remediation action for High severity threats",
        policy!("ThreatSeverityDefaultAction"),
        Remediation,
        choice(THREAT_ACTIONS),
        "What to do with threats of high severity.",
    )
    .member_of(THREAT_SEVERITY_GROUP),
    Def::new(
        "device_vendor_msft_policy_config_defender_threatseveritydefaultaction_severethreats",
        "Remediation action for Severe threats",
        policy!("ThreatSeverityDefaultAction"),
        Remediation,
        choice(THREAT_ACTIONS),
        "What to do with threats of severe severity, the most dangerous level.",
    )
    .member_of(THREAT_SEVERITY_GROUP),
];

/// Exclusions. The three lists merge across policies instead of conflicting.
pub static EXCLUSIONS: &[Def] = &[
    Def::new(
        "device_vendor_msft_policy_config_defender_excludedpaths",
        "Excluded Paths",
        policy!("ExcludedPaths"),
        Exclusions,
        text_list(TextFormat::ExclusionPath),
        "Files and folders that Defender does not scan, one full path per entry. Environment variables such as \
         %ProgramFiles% and the wildcards * and ? may be used. Each exclusion is a blind spot, so keep the list \
         short. Lists from several policies are combined.",
    )
    .merged(Merge::Union),
    Def::new(
        "device_vendor_msft_policy_config_defender_excludedextensions",
        "Excluded Extensions",
        policy!("ExcludedExtensions"),
        Exclusions,
        text_list(TextFormat::FileExtension),
        "File extensions that Defender does not scan, written without the dot, such as log. Lists from several \
         policies are combined.",
    )
    .merged(Merge::Union),
    Def::new(
        "device_vendor_msft_policy_config_defender_excludedprocesses",
        "Excluded Processes",
        policy!("ExcludedProcesses"),
        Exclusions,
        text_list(TextFormat::ProcessName),
        "Processes whose file activity Defender does not scan: files these programs open are skipped, while the \
         program itself is still scanned. Give a file name such as app.exe or a full path. Lists from several \
         policies are combined.",
    )
    .merged(Merge::Union),
    Def::new(
        "device_vendor_msft_defender_configuration_disablelocaladminmerge",
        "Disable Local Admin Merge",
        defender!("DisableLocalAdminMerge"),
        Exclusions,
        choice(&[
            ranked("0", "Enabled: local lists apply too", 0),
            ranked("1", "Disabled: only policy lists apply", 1),
        ]),
        "Whether exclusions and other lists that local administrators set on the device still apply next to the \
         policy's. When merging is off, only the policy counts. A change can need a restart of the device.",
    )
    .default_choice("0"),
];

/// Network protection and its network-inspection parsers.
pub static NETWORK_PROTECTION: &[Def] = &[
    Def::new(
        "device_vendor_msft_policy_config_defender_enablenetworkprotection",
        "Enable Network Protection",
        policy!("EnableNetworkProtection"),
        NetworkProtection,
        choice(&[
            ranked("0", "Disabled", 0),
            ranked("1", "Enabled: block mode", 2),
            ranked("2", "Enabled: audit mode", 1),
        ]),
        "Stops any app from reaching dangerous domains and addresses. Audit mode only records what would have been \
         blocked.",
    )
    .default_choice("0"),
    Def::new(
        "device_vendor_msft_defender_configuration_allownetworkprotectiondownlevel",
        "Allow Network Protection Down Level",
        defender!("AllowNetworkProtectionDownLevel"),
        NetworkProtection,
        choice(ENABLE),
        "Lets network protection run on older (down-level) versions of Windows.",
    )
    .default_choice("0"),
    Def::new(
        "device_vendor_msft_defender_configuration_allowdatagramprocessingonwinserver",
        "Allow Datagram Processing On Win Server",
        defender!("AllowDatagramProcessingOnWinServer"),
        NetworkProtection,
        choice(ENABLE),
        "Lets network protection inspect UDP traffic (datagrams) on Windows Server.",
    )
    .default_choice("0"),
    Def::new(
        "device_vendor_msft_defender_configuration_disablednsovertcpparsing",
        "Disable Dns Over Tcp Parsing",
        defender!("DisableDnsOverTcpParsing"),
        NetworkProtection,
        choice(PARSING),
        "Whether network protection stops inspecting DNS traffic that travels over TCP.",
    )
    .default_choice("0"),
    Def::new(
        "device_vendor_msft_defender_configuration_disablehttpparsing",
        "Disable Http Parsing",
        defender!("DisableHttpParsing"),
        NetworkProtection,
        choice(PARSING),
        "Whether network protection stops inspecting HTTP traffic.",
    )
    .default_choice("0"),
    Def::new(
        "device_vendor_msft_defender_configuration_disablesshparsing",
        "Disable Ssh Parsing",
        defender!("DisableSshParsing"),
        NetworkProtection,
        choice(PARSING),
        "Whether network protection stops inspecting SSH traffic.",
    )
    .default_choice("0"),
    Def::new(
        "device_vendor_msft_defender_configuration_disabletlsparsing",
        "Disable Tls Parsing",
        defender!("DisableTlsParsing"),
        NetworkProtection,
        choice(PARSING),
        "Whether network protection stops inspecting TLS traffic.",
    )
    .default_choice("0"),
];

/// The user interface, and the one deprecated setting.
pub static USER_INTERFACE: &[Def] = &[
    Def::new(
        "device_vendor_msft_policy_config_defender_allowuseruiaccess",
        "Allow User UI Access",
        policy!("AllowUserUIAccess"),
        UserInterface,
        choice(&[option("0", "Not allowed"), option("1", "Allowed")]),
        "Whether people using the device can open the Microsoft Defender Antivirus interface.",
    )
    .default_choice("1"),
    Def::new(
        "device_vendor_msft_policy_config_defender_allowintrusionpreventionsystem",
        "[Deprecated] Allow Intrusion Prevention System",
        policy!("AllowIntrusionPreventionSystem"),
        UserInterface,
        choice(&[option("0", "Not allowed"), option("1", "Allowed")]),
        "A retired setting, kept so that existing policies can be read. It no longer changes anything on the device.",
    )
    .default_choice("1")
    .unsupported_on(&[Unsupported {
        os: OsProduct::ALL,
        reason: "This setting is deprecated and not supported for devices managed through security settings \
                 management.",
    }]),
];
