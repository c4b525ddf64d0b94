//! How times read in the admin center: "42 s ago", "5 min ago", "3 h ago", or a date.

use shared::api::UnixSeconds;

/// Seconds since the Unix epoch, from the browser's clock.
pub fn now() -> UnixSeconds {
    (js_sys::Date::now() / 1000.0) as UnixSeconds
}

/// `then` relative to `now`, short.
pub fn ago(then: UnixSeconds, now: UnixSeconds) -> String {
    let seconds = (now - then).max(0);
    match seconds {
        0..=4 => "just now".to_owned(),
        5..=59 => format!("{seconds} s ago"),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        _ => date_time(then),
    }
}

/// A date and time in the browser's locale.
pub fn date_time(at: UnixSeconds) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64 * 1000.0));
    String::from(date.to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED))
}
