//! The firewall rules editor: one card per rule. Rules are keyed locally by a counter, not by name, so that
//! renaming a rule while typing does not rebuild the cards.

use leptos::prelude::*;
use shared::catalog::{FirewallRule, NetworkType, RuleAction, RuleDirection, SettingValue};
use shared::policy::{PolicyDraft, set_setting};

/// Protocols offered by name; any other number can be typed.
const PROTOCOLS: &[(&str, &str)] = &[("", "Any"), ("6", "TCP"), ("17", "UDP"), ("1", "ICMPv4"), ("58", "ICMPv6")];

fn list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Edits the rules of setting `id`.
#[component]
pub fn RulesEditor(id: &'static str, draft: RwSignal<PolicyDraft>) -> impl IntoView {
    let initial: Vec<FirewallRule> = draft.with_untracked(|d| {
        d.settings
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| match &s.value {
                SettingValue::FirewallRules(rules) => Some(rules.clone()),
                _ => None,
            })
            .unwrap_or_default()
    });
    let next_key = StoredValue::new(initial.len() as u32);
    let rules = RwSignal::new(initial.into_iter().enumerate().map(|(i, r)| (i as u32, r)).collect::<Vec<_>>());
    let sync = move || {
        let list: Vec<FirewallRule> = rules.with_untracked(|rules| rules.iter().map(|(_, r)| r.clone()).collect());
        draft.update(|d| set_setting(d, id, (!list.is_empty()).then_some(SettingValue::FirewallRules(list))));
    };
    let add = move |_| {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        let n = rules.with_untracked(Vec::len) + 1;
        let mut rule = FirewallRule::named(format!("New rule {n}"));
        rule.direction = Some(RuleDirection::In);
        rule.action = Some(RuleAction::Allow);
        rules.update(|rules| rules.push((key, rule)));
        sync();
    };
    // The cards are built again only when a rule is added or removed, never while one is edited.
    let keys = Memo::new(move |_| rules.with(|rules| rules.iter().map(|(key, _)| *key).collect::<Vec<u32>>()));
    let cards = move || {
        keys.get()
            .into_iter()
            .filter_map(|key| {
                let rule =
                    rules.with_untracked(|rules| rules.iter().find(|(k, _)| *k == key).map(|(_, r)| r.clone()))?;
                Some(view! { <RuleCard key rule rules sync/> })
            })
            .collect_view()
    };
    view! {
        <div class="rules">
            {cards}
            <button class="button subtle" type="button" on:click=add>"Add rule"</button>
        </div>
    }
}

#[component]
fn RuleCard(
    key: u32,
    rule: FirewallRule,
    rules: RwSignal<Vec<(u32, FirewallRule)>>,
    sync: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let edit = move |change: Box<dyn FnOnce(&mut FirewallRule)>| {
        rules.update(|rules| {
            if let Some((_, rule)) = rules.iter_mut().find(|(k, _)| *k == key) {
                change(rule);
            }
        });
        sync();
    };
    let remove = move |_| {
        rules.update(|rules| rules.retain(|(k, _)| *k != key));
        sync();
    };
    let text_field = move |label: &'static str, value: String, apply: fn(&mut FirewallRule, &str)| {
        view! {
            <label class="rule-field">
                <span>{label}</span>
                <input type="text" value=value on:input=move |ev| {
                    let text = event_target_value(&ev);
                    edit(Box::new(move |rule| apply(rule, &text)));
                }/>
            </label>
        }
    };
    let protocol = rule.protocol.map(|p| p.to_string()).unwrap_or_default();
    let network_types = rule.network_types.clone();
    view! {
        <fieldset class="rule" data-testid="firewall-rule">
            <legend>{format!("Rule {}", key + 1)}</legend>
            <div class="rule-grid">
                {text_field("Name", rule.name.clone(), |r, t| r.name = t.trim().to_owned())}
                <label class="rule-field">
                    <span>"Direction"</span>
                    <select on:change=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |r| r.direction = RuleDirection::from_code(&v))); }>
                        {RuleDirection::ALL.iter().map(|d| view! { <option value=d.code() selected=rule.direction == Some(*d)>{d.label()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="rule-field">
                    <span>"Action"</span>
                    <select on:change=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |r| r.action = RuleAction::from_code(&v))); }>
                        {RuleAction::ALL.iter().map(|a| view! { <option value=a.code() selected=rule.action == Some(*a)>{a.label()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="rule-field">
                    <span>"Protocol"</span>
                    <select on:change=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |r| r.protocol = v.parse().ok())); }>
                        {PROTOCOLS.iter().map(|(value, label)| view! { <option value=*value selected=protocol == *value>{*label}</option> }).collect_view()}
                    </select>
                </label>
                {text_field("Local ports", rule.local_ports.join(", "), |r, t| r.local_ports = list(t))}
                {text_field("Remote ports", rule.remote_ports.join(", "), |r, t| r.remote_ports = list(t))}
                {text_field("Remote addresses", rule.remote_addresses.join(", "), |r, t| r.remote_addresses = list(t))}
                {text_field("Local addresses", rule.local_addresses.join(", "), |r, t| r.local_addresses = list(t))}
                {text_field("ICMP types and codes", rule.icmp_types_and_codes.join(", "), |r, t| r.icmp_types_and_codes = list(t))}
                {text_field("Program path", rule.file_path.clone().unwrap_or_default(), |r, t| r.file_path = optional(t))}
                {text_field("Service name", rule.service_name.clone().unwrap_or_default(), |r, t| r.service_name = optional(t))}
                {text_field("Package family name", rule.package_family_name.clone().unwrap_or_default(), |r, t| r.package_family_name = optional(t))}
            </div>
            <div class="rule-flags">
                <span class="muted">"Network types (none ticked: all): "</span>
                {[NetworkType::Domain, NetworkType::Private, NetworkType::Public].into_iter().map(|network| view! {
                    <label class="check">
                        <input type="checkbox" checked=network_types.contains(&network) on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            edit(Box::new(move |r| {
                                r.network_types.retain(|n| *n != network);
                                if on { r.network_types.push(network); }
                            }));
                        }/>
                        {network.label()}
                    </label>
                }).collect_view()}
                <label class="check">
                    <input type="checkbox" checked=rule.enabled != Some(false) on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        edit(Box::new(move |r| r.enabled = Some(on)));
                    }/>
                    "Enabled"
                </label>
                <span class="spacer"></span>
                <button class="button danger small" type="button" on:click=remove>"Remove rule"</button>
            </div>
        </fieldset>
    }
}
