//! The dynamic-group rule editor: checks the rule in the browser as the admin types (the same parser the server
//! uses, from `shared`), then asks the server how many devices it matches.

use std::time::Duration;

use leptos::prelude::*;
use shared::api::RulePreview;
use shared::groups::Rule;

use crate::api;

/// How long typing must pause before the server is asked for a count.
const PREVIEW_DELAY: Duration = Duration::from_millis(300);

/// A rule text area with inline errors and a live "matches N devices" line.
#[component]
pub fn RuleEditor(rule: RwSignal<String>) -> impl IntoView {
    let problems = Memo::new(move |_| match Rule::parse(&rule.get(), "rule") {
        Ok(_) => Vec::new(),
        Err(violations) => violations.into_iter().map(|v| v.message).collect(),
    });
    let preview = RwSignal::new(None::<Result<RulePreview, api::ApiFailure>>);
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let text = rule.get();
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        if !problems.get().is_empty() {
            preview.set(None);
            return;
        }
        set_timeout(
            move || {
                if generation.get_value() != mine {
                    return;
                }
                leptos::task::spawn_local(async move {
                    let result = api::preview_rule(text).await;
                    if generation.get_value() == mine {
                        preview.set(Some(result));
                    }
                });
            },
            PREVIEW_DELAY,
        );
    });
    view! {
        <label for="rule">"Rule"</label>
        <textarea id="rule" rows="3" spellcheck="false" aria-describedby="rule-help rule-status"
            placeholder="managed_by == \"mde\" and os in (\"windows_10\", \"windows_11\")"
            prop:value=move || rule.get() on:input=move |ev| rule.set(event_target_value(&ev))></textarea>
        <p id="rule-help" class="help">
            "Properties: " <code>"managed_by"</code> ", " <code>"os"</code> ", " <code>"edition"</code> ", "
            <code>"join_type"</code> ", " <code>"name"</code> ". Operators: " <code>"=="</code> ", " <code>"!="</code>
            ", " <code>"in (…)"</code> ", " <code>"name startswith \"…\""</code> "; combine with "
            <code>"and"</code> ", " <code>"or"</code> ", " <code>"not"</code> " and parentheses."
        </p>
        <div id="rule-status" aria-live="polite" data-testid="rule-status">
            {move || {
                let problems = problems.get();
                if !problems.is_empty() {
                    return view! { <p class="field-error">{problems.join("; ")}</p> }.into_any();
                }
                match preview.get() {
                    None => view! { <p class="muted">"Counting matching devices…"</p> }.into_any(),
                    Some(Ok(preview)) => {
                        let sample = if preview.sample.is_empty() { String::new() } else { format!(": {}{}", preview.sample.join(", "), if preview.n_matching > preview.sample.len() as u64 { ", …" } else { "" }) };
                        view! { <p class="ok-text">{format!("Matches {} devices{sample}", preview.n_matching)}</p> }.into_any()
                    }
                    Some(Err(failure)) => view! { <p class="field-error">{failure.to_string()}</p> }.into_any(),
                }
            }}
        </div>
    }
}
