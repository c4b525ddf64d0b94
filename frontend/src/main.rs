//! Entry point of the admin center: installs the panic hook and mounts the app on `<body>`.

mod api;
mod app;
mod components;
mod format;
mod pages;
mod session;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
