//! Entry point of the admin center: installs the panic hook and mounts the app on `<body>`.

mod api;
mod app;
mod components;
mod format;
mod help;
mod load;
mod pages;
mod router;
mod session;

fn main() {
    console_error_panic_hook::set_once();
    // The app-shell service worker lets the admin center open when the server cannot be reached.
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().service_worker().register("/sw.js");
    }
    leptos::mount::mount_to_body(app::App);
}
