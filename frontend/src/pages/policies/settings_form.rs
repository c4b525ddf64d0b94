//! The "Configuration settings" step: every setting of the profile, grouped by category, each with its help text and
//! Learn-more link. Only settings the admin touches are configured. Children appear under their parent when the
//! parent has the value that enables them. The whole list renders once; values and visibility update in place, so
//! typing never loses focus.

use std::collections::BTreeMap;

use leptos::prelude::*;
use shared::catalog::{ConfiguredSetting, Parent, SettingDefinition, SettingKind, SettingValue, children_of};
use shared::policy::{PolicyDraft, set_setting};

use super::rules_editor::RulesEditor;

/// The value of setting `id` in the draft.
fn value_of(draft: &PolicyDraft, id: &str) -> Option<SettingValue> {
    draft.settings.iter().find(|s| s.id == id).map(|s| s.value.clone())
}

/// The configuration step.
#[component]
pub fn SettingsStep(
    draft: RwSignal<PolicyDraft>,
    errors: Memo<BTreeMap<String, Vec<String>>>,
    local_errors: RwSignal<BTreeMap<String, String>>,
) -> impl IntoView {
    let search = RwSignal::new(String::new());
    let profile = draft.get_untracked().profile;
    let n_configured = move || draft.with(|d| d.settings.len());
    view! {
        <div class="settings-head">
            <label class="field">
                <span>"Search settings"</span>
                <input type="search" placeholder="Name or description" aria-label="Search settings"
                    on:input=move |ev| search.set(event_target_value(&ev).to_lowercase())/>
            </label>
            <span class="muted" data-testid="configured-count">{move || format!("{} configured", n_configured())}</span>
        </div>
        {profile.categories().iter().map(|category| {
            let category = *category;
            let top: Vec<&'static SettingDefinition> =
                category.settings().iter().filter(|d| d.parent.is_none()).collect();
            let matches_search = move || {
                let needle = search.get();
                needle.is_empty() || category.settings().iter().any(|d| matches(d, &needle))
            };
            view! {
                <section class="card category" class:hidden=move || !matches_search()>
                    <h2>{category.label()}</h2>
                    {top.into_iter().map(|definition| view! { <SettingRow definition draft errors local_errors search depth=0/> }).collect_view()}
                </section>
            }
        }).collect_view()}
    }
}

fn matches(definition: &SettingDefinition, needle: &str) -> bool {
    definition.display_name.to_lowercase().contains(needle)
        || crate::help::of(definition.id).to_lowercase().contains(needle)
}

/// One setting with its control, its errors, and (recursively) its children.
#[component]
fn SettingRow(
    definition: &'static SettingDefinition,
    draft: RwSignal<PolicyDraft>,
    errors: Memo<BTreeMap<String, Vec<String>>>,
    local_errors: RwSignal<BTreeMap<String, String>>,
    search: RwSignal<String>,
    depth: usize,
) -> impl IntoView {
    let id = definition.id;
    let configured = move || draft.with(|d| d.settings.iter().any(|s| s.id == id));
    let visible = move || {
        let needle = search.get();
        let enabled = match definition.parent {
            Some(Parent::Option { id: parent, option }) => {
                draft.with(|d| matches!(value_of(d, parent), Some(SettingValue::Choice(ref c)) if c == option))
            }
            _ => true,
        };
        enabled && (needle.is_empty() || matches(definition, &needle) || depth > 0)
    };
    let messages = move || {
        let mut all = errors.with(|e| e.get(id).cloned().unwrap_or_default());
        if let Some(local) = local_errors.with(|l| l.get(id).cloned()) {
            all.insert(0, local);
        }
        all
    };
    let children: Vec<&'static SettingDefinition> =
        children_of(id).filter(|child| matches!(child.parent, Some(Parent::Option { .. }))).collect();
    let control_id = format!("setting-{id}");
    view! {
        <div class="setting" class:hidden=move || !visible() class:configured=configured class:nested={depth > 0}
            data-setting=id>
            <div class="setting-label">
                <label for=control_id.clone()>{definition.display_name}</label>
                <p class="help">{move || crate::help::of(id)} " "
                    <a href=definition.learn_more() target="_blank" rel="noopener noreferrer">"Learn more"</a>
                </p>
            </div>
            <div class="setting-control">
                <Control definition draft local_errors control_id/>
                {move || {
                    let messages = messages();
                    (!messages.is_empty()).then(|| view! {
                        <ul class="field-errors" role="alert">{messages.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}</ul>
                    })
                }}
            </div>
        </div>
        {children.into_iter().map(|child| view! { <SettingRow definition=child draft errors local_errors search depth={depth + 1}/> }.into_any()).collect_view()}
    }
}

/// The input for one setting's kind.
#[component]
fn Control(
    definition: &'static SettingDefinition,
    draft: RwSignal<PolicyDraft>,
    local_errors: RwSignal<BTreeMap<String, String>>,
    control_id: String,
) -> impl IntoView {
    let id = definition.id;
    let set = move |value: Option<SettingValue>| draft.update(|d| set_setting(d, id, value));
    let local = move |problem: Option<String>| {
        local_errors.update(|l| {
            match problem {
                Some(p) => l.insert(id.to_owned(), p),
                None => l.remove(id),
            };
        })
    };
    let initial = value_of(&draft.get_untracked(), id);
    match definition.kind {
        SettingKind::Choice { options } => {
            let current = move || match draft.with(|d| value_of(d, id)) {
                Some(SettingValue::Choice(value)) => value,
                _ => String::new(),
            };
            view! {
                <select id=control_id prop:value=current on:change=move |ev| {
                    let value = event_target_value(&ev);
                    set((!value.is_empty()).then_some(SettingValue::Choice(value)));
                }>
                    <option value="">"Not configured"</option>
                    {options.iter().map(|o| view! { <option value=o.value>{o.label}</option> }).collect_view()}
                </select>
            }
            .into_any()
        }
        SettingKind::ChoiceList { options, .. } => {
            let chosen = move |value: &'static str| move || matches!(draft.with(|d| value_of(d, id)), Some(SettingValue::ChoiceList(ref v)) if v.iter().any(|c| c == value));
            view! {
                <fieldset class="choice-list" id=control_id>
                    {options.iter().map(|o| {
                        let value = o.value;
                        view! {
                            <label class="check">
                                <input type="checkbox" prop:checked=chosen(value) on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    let mut list = match draft.with_untracked(|d| value_of(d, id)) {
                                        Some(SettingValue::ChoiceList(list)) => list,
                                        _ => Vec::new(),
                                    };
                                    list.retain(|v| v != value);
                                    if on { list.push(value.to_owned()); }
                                    set((!list.is_empty()).then_some(SettingValue::ChoiceList(list)));
                                }/>
                                {o.label}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
            }
            .into_any()
        }
        SettingKind::Integer(range) => {
            let text = match initial {
                Some(SettingValue::Integer(n)) => n.to_string(),
                _ => String::new(),
            };
            let unit = range.unit.label();
            view! {
                <input id=control_id type="text" inputmode="numeric" class="number" value=text
                    placeholder="Not configured" on:input=move |ev| {
                        let text = event_target_value(&ev);
                        let text = text.trim();
                        if text.is_empty() {
                            local(None);
                            set(None);
                        } else if let Ok(n) = text.parse::<i64>() {
                            local(None);
                            set(Some(SettingValue::Integer(n)));
                        } else {
                            local(Some(format!("must be a whole number from {} to {}", range.min, range.max)));
                        }
                    }/>
                <span class="muted">{format!(" {unit} ({}–{})", range.min, range.max)}</span>
            }
            .into_any()
        }
        SettingKind::Text { .. } => {
            let text = match initial {
                Some(SettingValue::String(s)) => s,
                _ => String::new(),
            };
            view! {
                <input id=control_id type="text" value=text placeholder="Not configured" on:input=move |ev| {
                    let text = event_target_value(&ev);
                    set((!text.trim().is_empty()).then(|| SettingValue::String(text.trim().to_owned())));
                }/>
            }
            .into_any()
        }
        SettingKind::TextList { .. } => {
            let text = match initial {
                Some(SettingValue::StringList(list)) => list.join("\n"),
                _ => String::new(),
            };
            view! {
                <textarea id=control_id rows="3" placeholder="Not configured; one entry per line" on:input=move |ev| {
                    let list: Vec<String> = event_target_value(&ev).lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
                    set((!list.is_empty()).then_some(SettingValue::StringList(list)));
                }>{text}</textarea>
            }
            .into_any()
        }
        SettingKind::Group => {
            let members: Vec<&'static SettingDefinition> = children_of(id).collect();
            view! {
                <div class="group-members" id=control_id>
                    {members.into_iter().map(|member| {
                        let options = member.kind.options().unwrap_or_default();
                        let member_id = member.id;
                        let current = move || match draft.with(|d| value_of(d, id)) {
                            Some(SettingValue::Group(list)) => list.iter().find(|s| s.id == member_id).and_then(|s| match &s.value {
                                SettingValue::Choice(c) => Some(c.clone()),
                                _ => None,
                            }).unwrap_or_default(),
                            _ => String::new(),
                        };
                        view! {
                            <label class="member">
                                <span>{member.display_name}</span>
                                <select prop:value=current on:change=move |ev| {
                                    let value = event_target_value(&ev);
                                    let mut list = match draft.with_untracked(|d| value_of(d, id)) {
                                        Some(SettingValue::Group(list)) => list,
                                        _ => Vec::new(),
                                    };
                                    list.retain(|s| s.id != member_id);
                                    if !value.is_empty() { list.push(ConfiguredSetting::new(member_id, SettingValue::Choice(value))); }
                                    set((!list.is_empty()).then_some(SettingValue::Group(list)));
                                }>
                                    <option value="">"Not configured"</option>
                                    {options.iter().map(|o| view! { <option value=o.value>{o.label}</option> }).collect_view()}
                                </select>
                            </label>
                        }
                    }).collect_view()}
                </div>
            }
            .into_any()
        }
        SettingKind::FirewallRules => view! { <RulesEditor id draft/> }.into_any(),
    }
}
