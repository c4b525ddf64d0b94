//! Policy states as badges, and device counts by state as a stacked bar with a legend.

use leptos::prelude::*;
use shared::report::{PolicyState, SettingState, StatusCounts};

/// The CSS modifier of a policy state: one colour per state, used by badges, bar segments and legend marks.
pub fn state_class(state: PolicyState) -> &'static str {
    match state {
        PolicyState::Succeeded => "succeeded",
        PolicyState::Error => "error",
        PolicyState::Conflict => "conflict",
        PolicyState::NotApplicable => "not-applicable",
        PolicyState::Pending => "pending",
    }
}

/// The same colours for a setting's state.
pub fn setting_class(state: Option<SettingState>) -> &'static str {
    match state {
        Some(SettingState::Succeeded) => "succeeded",
        Some(SettingState::Error) => "error",
        Some(SettingState::Conflict) => "conflict",
        Some(SettingState::NotApplicable) => "not-applicable",
        None => "pending",
    }
}

/// A policy's state on a device.
#[component]
pub fn StateBadge(state: PolicyState) -> impl IntoView {
    view! { <span class=format!("badge state {}", state_class(state))>{state.label()}</span> }
}

/// A setting's state on a device; `None` is Pending.
#[component]
pub fn SettingBadge(state: Option<SettingState>) -> impl IntoView {
    view! { <span class=format!("badge state {}", setting_class(state))>{state.map_or("Pending", |s| s.label())}</span> }
}

/// "3 succeeded, 1 conflict, 2 pending".
pub fn describe(counts: &StatusCounts) -> String {
    let parts: Vec<String> = PolicyState::ALL
        .iter()
        .filter(|state| counts.get(**state) > 0)
        .map(|state| format!("{} {}", counts.get(*state), state.label().to_lowercase()))
        .collect();
    if parts.is_empty() { "No devices".to_owned() } else { parts.join(", ") }
}

/// Device counts by state as one stacked horizontal bar (an SVG scaled to its container's width).
#[component]
pub fn StatusBar(counts: StatusCounts, #[prop(optional)] large: bool) -> impl IntoView {
    let total = counts.total();
    // Positions in thousandths of a percent, written with three decimals (integer arithmetic: the bundle carries no
    // float formatting).
    let percent = |thousandths: u64| format!("{}.{:03}", thousandths / 1000, thousandths % 1000);
    let mut x = 0;
    let segments: Vec<_> = PolicyState::ALL
        .iter()
        .filter(|state| counts.get(**state) > 0)
        .map(|state| {
            let width = counts.get(*state) * 100_000 / total.max(1);
            let segment = view! {
                <rect x=percent(x) y="0" width=percent(width) height="10" class=format!("segment {}", state_class(*state))>
                    <title>{format!("{}: {}", state.label(), counts.get(*state))}</title>
                </rect>
            };
            x += width;
            segment
        })
        .collect();
    view! {
        <svg class=if large { "status-bar large" } else { "status-bar" } viewBox="0 0 100 10" preserveAspectRatio="none"
            role="img" aria-label=describe(&counts)>
            <rect x="0" y="0" width="100" height="10" class="segment empty"/>
            {segments}
        </svg>
    }
}

/// The chart of a policy's report: the stacked bar and a legend with each state's count and share.
#[component]
pub fn StatusChart(counts: StatusCounts) -> impl IntoView {
    let total = counts.total();
    view! {
        <div class="status-chart" data-testid="status-chart">
            <StatusBar counts large=true/>
            <ul class="legend">
                {PolicyState::ALL.iter().map(|state| {
                    let n = counts.get(*state);
                    let share = (n * 100 + total / 2).checked_div(total).unwrap_or(0);
                    view! {
                        <li data-testid=format!("count-{}", state.code())>
                            <span class=format!("mark {}", state_class(*state))></span>
                            <span class="legend-label">{state.label()}</span>
                            <strong>{n}</strong>
                            <span class="muted">{format!("{share} %")}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}
