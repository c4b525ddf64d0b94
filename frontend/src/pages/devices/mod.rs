//! The Devices list and a device's detail page.

mod detail;
mod list;

pub use detail::DeviceDetailPage;
pub use list::DevicesPage;
