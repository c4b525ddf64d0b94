//! The syntax of text values: Defender exclusion paths, extensions and processes, file and UNC paths, update
//! sources, and the fields of firewall rules (ports, addresses, ICMP types, package names…).
//!
//! [`TextFormat::check`] judges one entry and explains a refusal in words an admin understands; list-level rules
//! (duplicates, `*` standing alone) are applied by [`validate`](super::validate).

use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

/// The syntax a text value (or each entry of a text list) must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TextFormat {
    /// Free text of at most [`TextFormat::TEXT_MAX`] characters, without control characters other than line breaks.
    Text,
    /// A local file path: `C:\…`, `\\server\share\…` or starting with an environment variable such as `%SystemRoot%`;
    /// no wildcards.
    FilePath,
    /// A Defender exclusion path: like a file path, and `*` and `?` wildcards are allowed.
    ExclusionPath,
    /// A file extension without the leading dot, such as `log`.
    FileExtension,
    /// A process: a file name such as `app.exe` (wildcards allowed), or a full exclusion path.
    ProcessName,
    /// A UNC path to a file share: `\\server\share`.
    UncPath,
    /// A security-intelligence update source: `InternalDefinitionUpdateServer`, `MicrosoftUpdateServer`, `MMPC`
    /// or `FileShares`.
    UpdateSource,
    /// A port (1–65535) or a range such as `1000-2000`.
    PortRange,
    /// An IPv4 or IPv6 address, subnet, range, or `*`.
    LocalAddress,
    /// Like a local address, and the keywords of [`TextFormat::REMOTE_ADDRESS_KEYWORDS`].
    RemoteAddress,
    /// An ICMP `type:code` pair (`8:0`, `3:*`), or `*` for all.
    IcmpTypeCode,
    /// A GUID.
    Guid,
    /// A package family name such as `Microsoft.WindowsCalculator_8wekyb3d8bbwe`.
    PackageFamilyName,
    /// A Windows service short name such as `TermService`.
    ServiceName,
    /// An application control (WDAC) tag: letters, digits, `:`, `/`, `.` and `_`.
    PolicyAppId,
}

/// A problem with one text, as a message.
type Checked = Result<(), String>;

impl TextFormat {
    /// The longest free text accepted.
    pub const TEXT_MAX: usize = 1024;
    /// The longest path accepted (the classic Windows path limit).
    pub const PATH_MAX: usize = 260;
    /// The longest extension accepted.
    pub const EXTENSION_MAX: usize = 64;
    /// The longest service name Windows allows.
    pub const SERVICE_NAME_MAX: usize = 256;
    /// The update sources, in the order Defender documents them.
    pub const UPDATE_SOURCES: &'static [&'static str] =
        &["InternalDefinitionUpdateServer", "MicrosoftUpdateServer", "MMPC", "FileShares"];
    /// Keywords a remote address may be instead of an address (matched without regard to case).
    pub const REMOTE_ADDRESS_KEYWORDS: &'static [&'static str] =
        &["DefaultGateway", "DHCP", "DNS", "WINS", "Intranet", "RmtIntranet", "Internet", "Ply2Renders", "LocalSubnet"];

    /// Whether `*` ("any") is an allowed entry that must then stand alone in its list.
    pub fn has_any_token(self) -> bool {
        matches!(self, Self::LocalAddress | Self::RemoteAddress | Self::IcmpTypeCode)
    }

    /// Whether two entries that differ only in case are the same (Windows paths, names and keywords are).
    pub fn ignores_case(self) -> bool {
        !matches!(self, Self::Text)
    }

    /// An example entry, for messages and placeholders.
    pub fn example(self) -> &'static str {
        match self {
            Self::Text => "Any text",
            Self::FilePath => r"%SystemRoot%\System32\LogFiles\Firewall\pfirewall.log",
            Self::ExclusionPath => r"C:\Program Files\App\*.tmp",
            Self::FileExtension => "log",
            Self::ProcessName => "app.exe",
            Self::UncPath => r"\\server\share",
            Self::UpdateSource => "MicrosoftUpdateServer",
            Self::PortRange => "443",
            Self::LocalAddress => "10.0.0.0/8",
            Self::RemoteAddress => "LocalSubnet",
            Self::IcmpTypeCode => "8:0",
            Self::Guid => "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
            Self::PackageFamilyName => "Microsoft.WindowsCalculator_8wekyb3d8bbwe",
            Self::ServiceName => "TermService",
            Self::PolicyAppId => "contoso:app/tag.v1",
        }
    }

    /// Checks one text (or one list entry); the error says what is wrong and what is expected.
    pub fn check(self, text: &str) -> Checked {
        if text.is_empty() {
            return Err("must not be empty".into());
        }
        match self {
            Self::Text => check_text(text),
            Self::FilePath => check_path(text, false),
            Self::ExclusionPath => check_path(text, true),
            Self::FileExtension => check_extension(text),
            Self::ProcessName => check_process(text),
            Self::UncPath => check_unc_path(text),
            Self::UpdateSource => check_update_source(text),
            Self::PortRange => check_port_range(text),
            Self::LocalAddress => check_address(text, false),
            Self::RemoteAddress => check_address(text, true),
            Self::IcmpTypeCode => check_icmp(text),
            Self::Guid => check_guid(text),
            Self::PackageFamilyName => check_package_family_name(text),
            Self::ServiceName => check_service_name(text),
            Self::PolicyAppId => check_policy_app_id(text),
        }
    }
}

fn check_text(text: &str) -> Checked {
    check_length(text, TextFormat::TEXT_MAX)?;
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

fn check_length(text: &str, max: usize) -> Checked {
    let n = text.chars().count();
    if n > max { Err(format!("must be at most {max} characters (it has {n})")) } else { Ok(()) }
}

fn check_no_outer_spaces(text: &str) -> Checked {
    if text.trim() != text { Err("must not start or end with spaces".into()) } else { Ok(()) }
}

/// Characters Windows never allows in a path or file name. `|` also separates entries on the device.
fn check_forbidden_path_characters(text: &str) -> Checked {
    if text.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if let Some(bad) = text.chars().find(|c| matches!(c, '"' | '<' | '>' | '|')) {
        return Err(format!("must not contain '{bad}': Windows does not allow it in paths"));
    }
    if text.contains('/') {
        return Err(r"must use backslashes (\) between folders, not forward slashes (/)".into());
    }
    Ok(())
}

/// An absolute path: drive (`C:\`), UNC (`\\server\share`) or environment variable (`%ProgramFiles%\…`) first.
fn check_path(text: &str, wildcards: bool) -> Checked {
    const EXPECTED: &str = r"must be a full path such as C:\Temp\file.txt, \\server\share\folder or %ProgramFiles%\App";
    check_no_outer_spaces(text)?;
    check_length(text, TextFormat::PATH_MAX)?;
    check_forbidden_path_characters(text)?;
    if !wildcards && text.contains(['*', '?']) {
        return Err("must not contain wildcards (* or ?)".into());
    }
    let bytes = text.as_bytes();
    let after_root = if let Some(unc) = text.strip_prefix(r"\\") {
        let mut parts = unc.split('\\');
        let (server, share) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if server.is_empty() || share.is_empty() {
            return Err(r"a network path must name a server and a share, such as \\server\share".into());
        }
        unc
    } else if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        if bytes.get(2) != Some(&b'\\') {
            return Err(format!(r"must have a backslash after the drive, such as {}:\Folder", &text[..1]));
        }
        &text[2..]
    } else if text.starts_with('%') {
        text
    } else {
        return Err(EXPECTED.into());
    };
    if after_root.contains(':') {
        return Err("may contain \":\" only after the drive letter".into());
    }
    check_environment_variables(text)?;
    if after_root.split('\\').any(|segment| segment == "..") {
        return Err(r"must not contain \..\ (write the folder's full path instead)".into());
    }
    Ok(())
}

/// `%NAME%` pairs are closed and name a variable; a path starting with one continues with `\` or ends.
fn check_environment_variables(text: &str) -> Checked {
    let pieces: Vec<&str> = text.split('%').collect();
    if pieces.len().is_multiple_of(2) {
        return Err("has a % without its closing % (environment variables look like %ProgramFiles%)".into());
    }
    for name in pieces.iter().skip(1).step_by(2) {
        let valid = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '(' | ')' | '-' | '.'));
        if !valid {
            return Err(format!("%{name}% is not an environment variable name such as %ProgramFiles%"));
        }
    }
    if text.starts_with('%') && !pieces[2].is_empty() && !pieces[2].starts_with('\\') {
        return Err(r"needs a backslash after the environment variable, such as %ProgramFiles%\App".into());
    }
    Ok(())
}

fn check_extension(text: &str) -> Checked {
    if text.starts_with('.') {
        return Err(format!("write the extension without the leading dot: {:?}", text.trim_start_matches('.')));
    }
    check_no_outer_spaces(text)?;
    check_length(text, TextFormat::EXTENSION_MAX)?;
    if let Some(bad) = text.chars().find(|c| c.is_whitespace() || c.is_control() || r#"\/:*?"<>|"#.contains(*c)) {
        return Err(format!("must be an extension such as \"log\" or \"tmp\"; '{bad}' is not allowed"));
    }
    if text.ends_with('.') {
        return Err("must not end with a dot".into());
    }
    Ok(())
}

fn check_process(text: &str) -> Checked {
    if text.contains('\\') || text.starts_with('%') || text.as_bytes().get(1) == Some(&b':') {
        return check_path(text, true);
    }
    check_no_outer_spaces(text)?;
    check_length(text, TextFormat::PATH_MAX)?;
    check_forbidden_path_characters(text)?;
    if text.contains(':') {
        return Err("must be a file name such as app.exe, or a full path".into());
    }
    Ok(())
}

fn check_unc_path(text: &str) -> Checked {
    if !text.starts_with(r"\\") {
        return Err(r"must be a network share such as \\server\share".into());
    }
    check_path(text, false)
}

fn check_update_source(text: &str) -> Checked {
    if TextFormat::UPDATE_SOURCES.iter().any(|source| source.eq_ignore_ascii_case(text)) {
        Ok(())
    } else {
        Err(format!("must be one of {}, not {text:?}", TextFormat::UPDATE_SOURCES.join(", ")))
    }
}

fn parse_port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(port) if port >= 1 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(port),
        _ => Err(format!("{text:?} is not a port number from 1 to 65535")),
    }
}

fn check_port_range(text: &str) -> Checked {
    if text.contains(',') {
        return Err("must be one port or range; put each one in its own entry".into());
    }
    if text.contains(char::is_whitespace) {
        return Err("must not contain spaces (write a range as 1000-2000)".into());
    }
    match text.split_once('-') {
        Some((first, last)) => {
            let (first, last) = (parse_port(first)?, parse_port(last)?);
            if first >= last {
                return Err(format!("the range must start below its end ({first} is not below {last})"));
            }
            Ok(())
        }
        None => parse_port(text).map(|_| ()),
    }
}

fn check_address(text: &str, remote: bool) -> Checked {
    if text == "*" {
        return Ok(());
    }
    if TextFormat::REMOTE_ADDRESS_KEYWORDS.iter().any(|keyword| keyword.eq_ignore_ascii_case(text)) {
        return if remote {
            Ok(())
        } else {
            Err(format!("{text} is a keyword for remote addresses only; give a local address, subnet or range"))
        };
    }
    if text.contains(',') {
        return Err("must be one address, subnet or range; put each one in its own entry".into());
    }
    let expected = || {
        let keywords = if remote { ", a keyword such as LocalSubnet or DNS," } else { "" };
        format!(
            "{text:?} is not an IPv4 or IPv6 address, a subnet (10.0.0.0/8 or 10.0.0.0/255.0.0.0), \
             a range (10.0.0.1-10.0.0.99){keywords} or * for any"
        )
    };
    if let Some((first_text, last_text)) = text.split_once('-') {
        let (first, last) = match (first_text.parse::<IpAddr>(), last_text.parse::<IpAddr>()) {
            (Ok(first), Ok(last)) => (first, last),
            _ => return Err(expected()),
        };
        if first.is_ipv4() != last.is_ipv4() {
            return Err("a range must not mix IPv4 and IPv6 addresses".into());
        }
        if first > last {
            // As the admin wrote them.
            return Err(format!("the range must start at or below its end ({first_text} is above {last_text})"));
        }
        return Ok(());
    }
    if let Some((address, mask)) = text.split_once('/') {
        let address: IpAddr = address.parse().map_err(|_| expected())?;
        let max_prefix = if address.is_ipv4() { 32 } else { 128 };
        if !mask.is_empty() && mask.bytes().all(|b| b.is_ascii_digit()) {
            return match mask.parse::<u8>() {
                Ok(prefix) if prefix <= max_prefix => Ok(()),
                _ => Err(format!("the prefix length after / must be 0 to {max_prefix}")),
            };
        }
        return match (address, mask.parse::<Ipv4Addr>()) {
            (IpAddr::V4(_), Ok(mask)) if is_contiguous_mask(mask) => Ok(()),
            (IpAddr::V4(_), Ok(_)) => Err(format!("{mask} is not a subnet mask such as 255.255.255.0")),
            _ => Err(expected()),
        };
    }
    text.parse::<IpAddr>().map(|_| ()).map_err(|_| expected())
}

fn is_contiguous_mask(mask: Ipv4Addr) -> bool {
    let bits = u32::from(mask);
    bits.leading_ones() + bits.trailing_zeros() == 32
}

fn check_icmp(text: &str) -> Checked {
    if text == "*" {
        return Ok(());
    }
    let Some((kind, code)) = text.split_once(':') else {
        return Err(format!("{text:?} must be type:code such as 8:0 or 3:*, or * for all ICMP types"));
    };
    let number = |part: &str| part.parse::<u8>().ok().filter(|_| part.bytes().all(|b| b.is_ascii_digit()));
    if kind == "*" {
        return Err("the ICMP type must be a number; * is allowed only as the code (3:*) or alone".into());
    }
    if number(kind).is_none() {
        return Err(format!("the ICMP type {kind:?} must be a number from 0 to 255"));
    }
    if code != "*" && number(code).is_none() {
        return Err(format!("the ICMP code {code:?} must be a number from 0 to 255, or *"));
    }
    Ok(())
}

fn check_guid(text: &str) -> Checked {
    let bare = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(text);
    let groups: Vec<&str> = bare.split('-').collect();
    let valid = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    if valid { Ok(()) } else { Err(format!("must be a GUID such as {}, not {text:?}", TextFormat::Guid.example())) }
}

fn check_package_family_name(text: &str) -> Checked {
    let expected = || format!("must be a package family name such as {}", TextFormat::PackageFamilyName.example());
    let Some((name, publisher)) = text.rsplit_once('_') else { return Err(expected()) };
    let name_ok =
        (3..=50).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let publisher_ok = publisher.len() == 13 && publisher.bytes().all(|b| b.is_ascii_alphanumeric());
    if name_ok && publisher_ok { Ok(()) } else { Err(expected()) }
}

fn check_service_name(text: &str) -> Checked {
    check_no_outer_spaces(text)?;
    check_length(text, TextFormat::SERVICE_NAME_MAX)?;
    if text.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
        return Err("must be a service's short name such as TermService (no slashes)".into());
    }
    Ok(())
}

fn check_policy_app_id(text: &str) -> Checked {
    check_length(text, TextFormat::SERVICE_NAME_MAX)?;
    match text.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.' | '_'))) {
        Some(bad) => Err(format!("may contain only letters, digits, ':', '/', '.' and '_', not '{bad}'")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_formats(format: TextFormat, good: &[&str], bad: &[&str]) {
        for text in good {
            assert_eq!(format.check(text), Ok(()), "{format:?} should accept {text:?}");
        }
        for text in bad {
            assert!(format.check(text).is_err(), "{format:?} should refuse {text:?}");
        }
    }

    #[test]
    fn exclusion_paths_are_absolute_with_environment_variables_and_wildcards() {
        assert_formats(
            TextFormat::ExclusionPath,
            &[
                r"C:\Temp",
                r"c:\temp\",
                r"D:\Data\*.tmp",
                r"C:\Users\*\AppData\Local\Temp\file?.log",
                r"\\fileserver\share\folder",
                r"%ProgramFiles%\Contoso",
                r"%ProgramFiles(x86)%\Contoso\app.exe",
                r"%SystemDrive%\Temp\%USERNAME%",
                "%windir%",
            ],
            &[
                "",
                r"Temp\folder",
                r"..\Temp",
                r"C:Temp",
                "C:/Temp",
                r"C:\Temp|D:\Data",
                r"C:\Te<mp",
                r" C:\Temp",
                r"C:\Temp\..\Windows",
                r"%ProgramFiles\App",
                r"%Program Files%\App",
                r"%ProgramFiles%App",
                r"\\server",
                r"C:\Temp\a:b",
                &format!(r"C:\{}", "x".repeat(300)),
            ],
        );
    }

    #[test]
    fn file_paths_refuse_wildcards() {
        assert_formats(
            TextFormat::FilePath,
            &[r"%SystemRoot%\System32\logfiles\firewall\domainfw.log", r"C:\Program Files\App\app.exe"],
            &[r"C:\Logs\*.log", r"C:\Logs\fw?.log", "pfirewall.log"],
        );
    }

    #[test]
    fn extensions_are_bare_without_dots_or_separators() {
        assert_formats(
            TextFormat::FileExtension,
            &["log", "tmp", "tar.gz", "7z", "obj"],
            &["", ".log", "log.", "*.log", "lo g", r"a\b", "a/b", "lib|obj", &"x".repeat(65)],
        );
        assert_eq!(
            TextFormat::FileExtension.check(".log"),
            Err("write the extension without the leading dot: \"log\"".into())
        );
    }

    #[test]
    fn processes_are_file_names_or_full_paths() {
        assert_formats(
            TextFormat::ProcessName,
            &["app.exe", "My App.exe", "backup*.exe", r"C:\Program Files\App\app.exe", r"%ProgramFiles%\App\*.exe"],
            &["", r"app\", "a|b.exe", "a/b.exe", r"Program Files\app.exe", " app.exe", "C:app.exe"],
        );
    }

    #[test]
    fn unc_paths_name_a_server_and_a_share() {
        assert_formats(
            TextFormat::UncPath,
            &[r"\\server\share", r"\\10.0.0.5\updates\defender"],
            &[r"C:\Updates", r"\\server", r"\\server\", r"\\server\share\*"],
        );
    }

    #[test]
    fn update_sources_are_the_four_documented_tokens() {
        assert_formats(
            TextFormat::UpdateSource,
            &["InternalDefinitionUpdateServer", "MicrosoftUpdateServer", "MMPC", "FileShares", "mmpc"],
            &["WSUS", "Microsoft Update", ""],
        );
    }

    #[test]
    fn ports_are_numbers_or_ranges_from_1_to_65535() {
        assert_formats(
            TextFormat::PortRange,
            &["80", "443", "1", "65535", "1000-2000", "49152-65535"],
            &["", "0", "65536", "80,443", "80 ", "1000 - 2000", "2000-1000", "80-80", "http", "-5", "1-", "+80", "08a"],
        );
    }

    #[test]
    fn addresses_are_ips_subnets_ranges_and_remote_keywords() {
        let common_good = [
            "*",
            "10.0.0.1",
            "10.0.0.0/8",
            "192.168.1.0/255.255.255.0",
            "10.0.0.1-10.0.0.99",
            "fe80::1",
            "2001:db8::/32",
            "2001:db8::1-2001:db8::ff",
        ];
        let common_bad = [
            "",
            "10.0.0.256",
            "10.0.0.0/33",
            "10.0.0.0/255.0.255.0",
            "10.0.0.9-10.0.0.1",
            "10.0.0.1-fe80::1",
            "10.0.0.1,10.0.0.2",
            "any",
            "2001:db8::/129",
            "fe80::1/255.255.0.0",
        ];
        assert_formats(TextFormat::LocalAddress, &common_good, &common_bad);
        assert_formats(TextFormat::RemoteAddress, &common_good, &common_bad);
        assert_formats(
            TextFormat::RemoteAddress,
            &[
                "LocalSubnet",
                "localsubnet",
                "DNS",
                "DHCP",
                "WINS",
                "DefaultGateway",
                "Intranet",
                "RmtIntranet",
                "Internet",
                "Ply2Renders",
            ],
            &["Subnet"],
        );
        assert_formats(TextFormat::LocalAddress, &[], &["LocalSubnet", "DNS"]);
    }

    #[test]
    fn icmp_entries_are_type_code_pairs_or_a_lone_star() {
        assert_formats(
            TextFormat::IcmpTypeCode,
            &["*", "8:0", "3:*", "0:0", "255:255"],
            &["", "8", "*:4", "*:*", "256:0", "8:256", "a:b", "8:0:1"],
        );
    }

    #[test]
    fn guids_package_names_services_and_app_ids_follow_their_shapes() {
        assert_formats(
            TextFormat::Guid,
            &["3f2504e0-4f89-41d3-9a0c-0305e82c3301", "{3F2504E0-4F89-41D3-9A0C-0305E82C3301}"],
            &["3f2504e0", "3f2504e0-4f89-41d3-9a0c-0305e82c330z"],
        );
        assert_formats(
            TextFormat::PackageFamilyName,
            &["Microsoft.WindowsCalculator_8wekyb3d8bbwe", "Contoso.App-Preview_abcdefghjkmnp"],
            &["Microsoft.WindowsCalculator", "Microsoft.WindowsCalculator_8wek", "Bad Name_8wekyb3d8bbwe"],
        );
        assert_formats(
            TextFormat::ServiceName,
            &["TermService", "wuauserv", "MSSQL$SQLEXPRESS"],
            &[r"a\b", "a/b", " x"],
        );
        assert_formats(TextFormat::PolicyAppId, &["contoso:app/tag.v1", "Tag_1"], &["tag with space", "tag;1"]);
    }

    #[test]
    fn free_text_refuses_control_characters_and_overlong_text() {
        assert_formats(
            TextFormat::Text,
            &["Allow RDP from the jump hosts.\nTicket 42."],
            &["a\u{7}b", &"x".repeat(1025)],
        );
    }
}
