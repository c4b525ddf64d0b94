//! Rampart's domain, shared by the server, the agent and the browser (wasm32).
//!
//! This crate is pure: no I/O, no async runtime, no web framework, no database, no browser API.
//! It depends on serde and serde_json only, and builds for native and `wasm32-unknown-unknown`.
//! Everything that both sides must agree on lives here: the device facts and how they are parsed,
//! eligibility for security settings management, the API's data transfer objects, and the one JSON
//! error envelope.

/// Declares a fieldless enum with a stable snake_case code (JSON, URLs, database) and a label for people.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = ($code:literal, $label:literal) ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::shared_derive::CompactDeserialize)]
        #[cfg_attr(feature = "schema", derive(::schemars::JsonSchema))]
        pub enum $name { $( $(#[$vmeta])* #[serde(rename = $code)] $variant ),+ }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The stable code used in JSON, URLs and the database.
            pub fn code(self) -> &'static str { match self { $($name::$variant => $code),+ } }
            /// The name an admin reads.
            pub fn label(self) -> &'static str { match self { $($name::$variant => $label),+ } }
            /// Parses a stable code.
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
            /// "must be one of …", listing every code; for messages about bad input.
            pub fn expected() -> String {
                let codes: Vec<String> = Self::ALL.iter().map(|v| format!("\"{}\"", v.code())).collect();
                format!("must be one of {}", codes.join(", "))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.label()) }
        }

        impl $crate::Coded for $name {
            fn code(self) -> &'static str { $name::code(self) }
            fn from_code(code: &str) -> Option<Self> { $name::from_code(code) }
            fn expected() -> String { $name::expected() }
        }
    };
}

/// What every `string_enum!` has, for code generic over them (a query's filter and sort columns).
pub trait Coded: Copy + PartialEq + Sized {
    /// The stable code.
    fn code(self) -> &'static str;
    /// Parses a stable code.
    fn from_code(code: &str) -> Option<Self>;
    /// "must be one of …".
    fn expected() -> String;
}

pub mod access;
pub mod api;
pub mod audit;
pub mod catalog;
pub mod conflict;
pub mod device;
pub mod eligibility;
pub mod error;
pub mod graph;
pub mod groups;
pub mod policy;
pub mod preview;
pub mod query;
pub mod report;
pub mod sort;
pub mod tenant;

pub use error::{ErrorEnvelope, Violation};
