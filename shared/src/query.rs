//! The queries of long lists — the Devices list and a policy's devices in its report: filter, sort and page, parsed
//! from a query string into types.
//!
//! The same type builds the admin center's URL (so the list's state lives in the URL) and the API call, and the
//! server parses the API's query string with [`DeviceQuery::parse`], which names every bad parameter.

use crate::device::{ManagedBy, OsProduct};
use crate::error::Violation;

string_enum! {
    /// A column the Devices list sorts by.
    pub enum DeviceSort {
        Hostname = ("hostname", "Name"),
        Os = ("os", "OS"),
        ManagedBy = ("managed_by", "Managed by"),
        JoinType = ("join_type", "Registration"),
        Eligibility = ("eligibility", "Security settings management"),
        LastCheckIn = ("last_check_in", "Last check-in"),
    }
}

string_enum! {
    /// Sort direction.
    pub enum SortDir {
        Asc = ("asc", "Ascending"),
        Desc = ("desc", "Descending"),
    }
}

string_enum! {
    /// Eligibility filter of the Devices list.
    pub enum EligibilityFilter {
        Eligible = ("eligible", "Eligible"),
        NotApplicable = ("not_applicable", "Not applicable"),
    }
}

/// Takes `key` when it is a parameter every list query has (`q`, `dir`, `page`, `per_page`): `None` when it is not,
/// else whether `value` was good.
fn take_common(
    key: &str,
    value: &str,
    search: &mut String,
    dir: &mut SortDir,
    page: &mut u32,
    per_page: &mut u32,
) -> Option<Result<(), String>> {
    Some(match key {
        "q" if value.chars().count() > DeviceQuery::MAX_SEARCH_LEN => {
            Err(format!("must be at most {} characters", DeviceQuery::MAX_SEARCH_LEN))
        }
        "q" => {
            *search = value.trim().to_owned();
            Ok(())
        }
        "dir" => code(value, SortDir::from_code, SortDir::expected).map(|v| *dir = v),
        "page" => match value.parse::<u32>() {
            Ok(n) if n >= 1 => {
                *page = n;
                Ok(())
            }
            _ => Err(format!("must be a whole number from 1, not {value:?}")),
        },
        "per_page" => match value.parse::<u32>() {
            Ok(n) if (1..=DeviceQuery::MAX_PER_PAGE).contains(&n) => {
                *per_page = n;
                Ok(())
            }
            _ => Err(format!("must be a whole number from 1 to {}, not {value:?}", DeviceQuery::MAX_PER_PAGE)),
        },
        _ => return None,
    })
}

/// A stable code parsed with `parse`, or the message listing the `expected` ones.
fn code<T>(value: &str, parse: fn(&str) -> Option<T>, expected: fn() -> String) -> Result<T, String> {
    parse(value).ok_or_else(|| format!("{}, not {value:?}", expected()))
}

/// The shared parameters that differ from the defaults, in their stable places: the search first, the rest last.
fn common_pairs(
    search: &str,
    dir: SortDir,
    page: u32,
    per_page: u32,
    between: Vec<(&'static str, String)>,
) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    if !search.is_empty() {
        pairs.push(("q", search.to_owned()));
    }
    pairs.extend(between);
    if dir != SortDir::Asc {
        pairs.push(("dir", dir.code().to_owned()));
    }
    if page != 1 {
        pairs.push(("page", page.to_string()));
    }
    if per_page != DeviceQuery::DEFAULT_PER_PAGE {
        pairs.push(("per_page", per_page.to_string()));
    }
    pairs
}

/// `key=value&…`, percent-encoded.
fn query_string(pairs: &[(&'static str, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect::<Vec<_>>().join("&")
}

/// The direction after a click on a column header: the sorted column flips, another starts ascending, or descending
/// when it holds times (the most recent first).
fn next_dir(same_column: bool, current: SortDir, times: bool) -> SortDir {
    match (same_column, current, times) {
        (true, SortDir::Asc, _) | (false, _, true) => SortDir::Desc,
        _ => SortDir::Asc,
    }
}

/// Runs `take` on each pair, collecting every problem; repeated keys are refused.
fn parse_pairs<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    mut take: impl FnMut(&str, &str) -> Result<(), String>,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in pairs {
        if seen.contains(&key) {
            violations.push(Violation::new(key, "is given more than once"));
            continue;
        }
        seen.push(key);
        if let Err(message) = take(key, value) {
            violations.push(Violation::new(key, message));
        }
    }
    violations
}

/// Filter, sort and page of the Devices list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceQuery {
    /// Case-insensitive substring of the host name.
    pub search: String,
    /// Only devices managed by this.
    pub managed_by: Option<ManagedBy>,
    /// Only devices with this OS.
    pub os: Option<OsProduct>,
    /// Only eligible, or only not applicable, devices.
    pub eligibility: Option<EligibilityFilter>,
    /// Sort column.
    pub sort: DeviceSort,
    /// Sort direction.
    pub dir: SortDir,
    /// 1-based page number.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
}

impl Default for DeviceQuery {
    fn default() -> Self {
        Self {
            search: String::new(),
            managed_by: None,
            os: None,
            eligibility: None,
            sort: DeviceSort::Hostname,
            dir: SortDir::Asc,
            page: 1,
            per_page: Self::DEFAULT_PER_PAGE,
        }
    }
}

impl DeviceQuery {
    /// Rows per page unless asked otherwise.
    pub const DEFAULT_PER_PAGE: u32 = 50;
    /// The largest page served.
    pub const MAX_PER_PAGE: u32 = 500;
    /// The longest search text accepted.
    pub const MAX_SEARCH_LEN: usize = 100;

    /// Parses decoded query-string pairs; unknown, repeated or invalid parameters are each reported.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, Vec<Violation>> {
        let mut q = Self::default();
        let violations = parse_pairs(pairs, |key, value| {
            if let Some(taken) = take_common(key, value, &mut q.search, &mut q.dir, &mut q.page, &mut q.per_page) {
                return taken;
            }
            match key {
                "managed_by" => q.managed_by = Some(code(value, ManagedBy::from_code, ManagedBy::expected)?),
                "os" => q.os = Some(code(value, OsProduct::from_code, OsProduct::expected)?),
                "eligibility" => {
                    q.eligibility = Some(code(value, EligibilityFilter::from_code, EligibilityFilter::expected)?);
                }
                "sort" => q.sort = code(value, DeviceSort::from_code, DeviceSort::expected)?,
                _ => {
                    return Err(
                        "is not a known parameter; known are q, managed_by, os, eligibility, sort, dir, page, per_page"
                            .into(),
                    );
                }
            }
            Ok(())
        });
        if violations.is_empty() { Ok(q) } else { Err(violations) }
    }

    /// The parameters that differ from the defaults, as pairs in a stable order (for URLs and API calls).
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut own = Vec::new();
        if let Some(v) = self.managed_by {
            own.push(("managed_by", v.code().to_owned()));
        }
        if let Some(v) = self.os {
            own.push(("os", v.code().to_owned()));
        }
        if let Some(v) = self.eligibility {
            own.push(("eligibility", v.code().to_owned()));
        }
        if self.sort != DeviceSort::Hostname {
            own.push(("sort", self.sort.code().to_owned()));
        }
        common_pairs(&self.search, self.dir, self.page, self.per_page, own)
    }

    /// The query string (without `?`), percent-encoded.
    pub fn to_query_string(&self) -> String {
        query_string(&self.to_pairs())
    }

    /// Sorting by `column`: a click on the current column flips the direction, a new column starts ascending
    /// (last check-in starts with the most recent). Returns to the first page.
    pub fn sorted_by(&self, column: DeviceSort) -> Self {
        let dir = next_dir(self.sort == column, self.dir, column == DeviceSort::LastCheckIn);
        Self { sort: column, dir, page: 1, ..self.clone() }
    }

    /// Index of the first row of the page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }
}

string_enum! {
    /// A column a policy's device report sorts by.
    pub enum ReportSort {
        Device = ("device", "Device"),
        Status = ("status", "Status"),
        Reported = ("reported", "Last report"),
        CheckIn = ("check_in", "Last check-in"),
    }
}

/// A sort column of a report table ([`StateQuery`]).
pub trait SortColumn: crate::Coded {
    /// The column sorted by unless asked otherwise (the device name).
    const DEFAULT: Self;
    /// Whether it holds times (a first click sorts those most recent first).
    fn holds_times(self) -> bool;
}

impl SortColumn for ReportSort {
    const DEFAULT: Self = Self::Device;
    fn holds_times(self) -> bool {
        matches!(self, Self::Reported | Self::CheckIn)
    }
}

impl SortColumn for SettingSort {
    const DEFAULT: Self = Self::Device;
    fn holds_times(self) -> bool {
        false
    }
}

/// Filter, sort and page of a report table of devices: a search in the device name, one state, a sort column and
/// direction, a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateQuery<State, Sort> {
    /// Case-insensitive substring of the device name.
    pub search: String,
    /// Only devices in this state.
    pub state: Option<State>,
    /// Sort column.
    pub sort: Sort,
    /// Sort direction.
    pub dir: SortDir,
    /// 1-based page number.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
}

/// A policy's devices in *View report* (`GET /api/v1/policies/{id}/report?…`, and its CSV without the page).
pub type ReportQuery = StateQuery<crate::report::PolicyState, ReportSort>;

/// One setting's devices (`GET /api/v1/policies/{id}/report/settings/{setting_id}?…`, and its CSV without the page):
/// the devices whose report of the policy's current version gave the setting a result.
pub type SettingQuery = StateQuery<crate::report::SettingState, SettingSort>;

impl<State, Sort: SortColumn> Default for StateQuery<State, Sort> {
    fn default() -> Self {
        Self {
            search: String::new(),
            state: None,
            sort: Sort::DEFAULT,
            dir: SortDir::Asc,
            page: 1,
            per_page: DeviceQuery::DEFAULT_PER_PAGE,
        }
    }
}

impl<State: crate::Coded, Sort: SortColumn> StateQuery<State, Sort> {
    /// Parses decoded query-string pairs; unknown, repeated or invalid parameters are each reported.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, Vec<Violation>> {
        let mut q = Self::default();
        let violations = parse_pairs(pairs, |key, value| {
            if let Some(taken) = take_common(key, value, &mut q.search, &mut q.dir, &mut q.page, &mut q.per_page) {
                return taken;
            }
            match key {
                "state" => q.state = Some(code(value, State::from_code, State::expected)?),
                "sort" => q.sort = code(value, Sort::from_code, Sort::expected)?,
                _ => return Err("is not a known parameter; known are q, state, sort, dir, page, per_page".into()),
            }
            Ok(())
        });
        if violations.is_empty() { Ok(q) } else { Err(violations) }
    }

    /// The parameters that differ from the defaults, as pairs in a stable order (for URLs and API calls).
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut own = Vec::new();
        if let Some(v) = self.state {
            own.push(("state", v.code().to_owned()));
        }
        if self.sort != Sort::DEFAULT {
            own.push(("sort", self.sort.code().to_owned()));
        }
        common_pairs(&self.search, self.dir, self.page, self.per_page, own)
    }

    /// The query string (without `?`), percent-encoded.
    pub fn to_query_string(&self) -> String {
        query_string(&self.to_pairs())
    }

    /// Sorting by `column`: a click on the current column flips the direction, a new column starts ascending (the
    /// times start with the most recent). Returns to the first page.
    pub fn sorted_by(&self, column: Sort) -> Self {
        let dir = next_dir(self.sort == column, self.dir, column.holds_times());
        Self { sort: column, dir, page: 1, ..self.clone() }
    }

    /// Index of the first row of the page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }

    /// The rows in the filter's state whose name contains the search (case-insensitive), sorted by `key`, then name
    /// and id, in the query's direction. `of` gives a row's state, device name and device id.
    fn select_by<R>(
        &self,
        rows: Vec<R>,
        of: impl Fn(&R) -> (State, &String, &String),
        key: impl Fn(&R, &R) -> std::cmp::Ordering,
    ) -> Vec<R> {
        let needle = self.search.to_lowercase();
        let mut rows: Vec<R> = rows
            .into_iter()
            .filter(|row| {
                let (state, name, _) = of(row);
                self.state.is_none_or(|wanted| state == wanted)
                    && (needle.is_empty() || name.to_lowercase().contains(&needle))
            })
            .collect();
        let dir = self.dir;
        crate::sort::sort_by(&mut rows, |a, b| {
            let ((_, a_name, a_id), (_, b_name, b_id)) = (of(a), of(b));
            let order =
                key(a, b).then_with(|| a_name.to_lowercase().cmp(&b_name.to_lowercase())).then_with(|| a_id.cmp(b_id));
            if dir == SortDir::Asc { order } else { order.reverse() }
        });
        rows
    }
}

impl ReportQuery {
    /// The rows that match the filter, sorted (ties by device name, then id), all of them.
    pub fn select(&self, rows: Vec<crate::api::PolicyDeviceRow>) -> Vec<crate::api::PolicyDeviceRow> {
        let sort = self.sort;
        self.select_by(
            rows,
            |row| (row.state, &row.device_name, &row.device_id),
            |a, b| match sort {
                ReportSort::Device => std::cmp::Ordering::Equal,
                ReportSort::Status => a.state.label().cmp(b.state.label()),
                ReportSort::Reported => a.reported_at.cmp(&b.reported_at),
                ReportSort::CheckIn => a.last_check_in.cmp(&b.last_check_in),
            },
        )
    }

    /// This page of `rows` (already selected) and how many there are in all.
    pub fn page_of(&self, rows: Vec<crate::api::PolicyDeviceRow>) -> (Vec<crate::api::PolicyDeviceRow>, u64) {
        let total = rows.len() as u64;
        let skip = usize::try_from(self.offset()).unwrap_or(usize::MAX);
        (rows.into_iter().skip(skip).take(self.per_page as usize).collect(), total)
    }
}

string_enum! {
    /// A column a setting's devices sort by (not the last report: sorting by it joins every one of the policy's rows to
    /// its report before a page is chosen).
    pub enum SettingSort {
        Device = ("device", "Device"),
        Status = ("status", "Status"),
    }
}

impl SettingQuery {
    /// The rows that match the filter, sorted (ties by device name, then id), all of them: the reference order.
    pub fn select(&self, rows: Vec<crate::api::SettingDeviceRow>) -> Vec<crate::api::SettingDeviceRow> {
        let sort = self.sort;
        self.select_by(
            rows,
            |row| (row.state, &row.device_name, &row.device_id),
            |a, b| match sort {
                SettingSort::Device => std::cmp::Ordering::Equal,
                SettingSort::Status => a.state.code().cmp(b.state.code()),
            },
        )
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_query_gives_the_defaults() {
        assert_eq!(DeviceQuery::parse([]), Ok(DeviceQuery::default()));
    }

    #[test]
    fn a_full_query_round_trips_through_its_query_string() {
        let query = DeviceQuery {
            search: "ws 01&x".into(),
            managed_by: Some(ManagedBy::CoManaged),
            os: Some(OsProduct::WindowsServer2019),
            eligibility: Some(EligibilityFilter::NotApplicable),
            sort: DeviceSort::ManagedBy,
            dir: SortDir::Desc,
            page: 3,
            per_page: 25,
        };
        let qs = query.to_query_string();
        assert_eq!(
            qs,
            "q=ws%2001%26x&managed_by=co_managed&os=windows_server_2019&eligibility=not_applicable&sort=managed_by&dir=desc&page=3&per_page=25"
        );
        let pairs = query.to_pairs();
        let parsed = DeviceQuery::parse(pairs.iter().map(|(k, v)| (*k, v.as_str())));
        assert_eq!(parsed, Ok(query));
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let violations =
            DeviceQuery::parse([("sort", "colour"), ("page", "0"), ("per_page", "9999"), ("zzz", "1"), ("dir", "up")])
                .expect_err("invalid");
        let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths, ["sort", "page", "per_page", "zzz", "dir"]);
    }

    #[test]
    fn a_repeated_parameter_is_refused() {
        let violations = DeviceQuery::parse([("page", "1"), ("page", "2")]).expect_err("invalid");
        assert_eq!(violations, [Violation::new("page", "is given more than once")]);
    }

    fn row(name: &str, state: crate::report::PolicyState, check_in: Option<i64>) -> crate::api::PolicyDeviceRow {
        crate::api::PolicyDeviceRow {
            device_id: name.to_lowercase(),
            device_name: name.to_owned(),
            os: "Windows 11 Enterprise".to_owned(),
            state,
            reported_version: None,
            reported_at: None,
            last_check_in: check_in,
        }
    }

    #[test]
    fn a_report_query_round_trips_filters_sorts_and_pages_rows() {
        use crate::report::PolicyState::{Error, Succeeded};
        let query = ReportQuery {
            search: "lap".into(),
            state: Some(Succeeded),
            sort: ReportSort::CheckIn,
            dir: SortDir::Desc,
            page: 2,
            per_page: 1,
        };
        let qs = query.to_query_string();
        assert_eq!(qs, "q=lap&state=succeeded&sort=check_in&dir=desc&page=2&per_page=1");
        let pairs = query.to_pairs();
        assert_eq!(ReportQuery::parse(pairs.iter().map(|(k, v)| (*k, v.as_str()))), Ok(query.clone()));
        let rows = vec![
            row("LAP-2", Succeeded, Some(20)),
            row("lap-1", Succeeded, Some(30)),
            row("LAP-3", Error, Some(40)),
            row("WS-1", Succeeded, Some(50)),
        ];
        let selected = query.select(rows);
        let names: Vec<&str> = selected.iter().map(|r| r.device_name.as_str()).collect();
        assert_eq!(names, ["lap-1", "LAP-2"], "filtered, newest check-in first");
        let (page, total) = query.page_of(selected);
        assert_eq!((page.len(), page[0].device_name.as_str(), total), (1, "LAP-2", 2));
        let bad = ReportQuery::parse([("state", "fine"), ("sort", "os"), ("per_page", "0")]).expect_err("bad");
        assert_eq!(bad.iter().map(|v| v.path.as_str()).collect::<Vec<_>>(), ["state", "sort", "per_page"]);
        assert_eq!(ReportQuery::default().sorted_by(ReportSort::Reported).dir, SortDir::Desc);
    }

    #[test]
    fn a_setting_query_takes_setting_states_and_its_own_columns() {
        use crate::report::SettingState;
        let query =
            SettingQuery { state: Some(SettingState::Error), sort: SettingSort::Status, ..SettingQuery::default() };
        assert_eq!(query.to_query_string(), "state=error&sort=status");
        let pairs = query.to_pairs();
        assert_eq!(SettingQuery::parse(pairs.iter().map(|(k, v)| (*k, v.as_str()))), Ok(query));
        let bad = SettingQuery::parse([("state", "pending"), ("sort", "check_in")]).expect_err("bad");
        assert_eq!(bad.iter().map(|v| v.path.as_str()).collect::<Vec<_>>(), ["state", "sort"]);
        assert_eq!(SettingQuery::default().sorted_by(SettingSort::Status).dir, SortDir::Asc);
    }

    #[test]
    fn clicking_a_column_sorts_by_it_then_flips_direction() {
        let query = DeviceQuery { page: 4, ..DeviceQuery::default() };
        let by_managed_by = query.sorted_by(DeviceSort::ManagedBy);
        assert_eq!(
            (by_managed_by.sort, by_managed_by.dir, by_managed_by.page),
            (DeviceSort::ManagedBy, SortDir::Asc, 1)
        );
        assert_eq!(by_managed_by.sorted_by(DeviceSort::ManagedBy).dir, SortDir::Desc);
        assert_eq!(query.sorted_by(DeviceSort::LastCheckIn).dir, SortDir::Desc);
    }
}
