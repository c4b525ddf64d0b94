//! The one JSON error envelope of the API, and the `Violation` that names one problem with an input.

use serde::Serialize;
use shared_derive::CompactDeserialize;

/// One problem with an input: where it is (`facts.hostname`, `sort`) and what is wrong, in words an admin understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Violation {
    /// Path to the offending field, dotted, with `[i]` for list items; empty for the input as a whole.
    pub path: String,
    /// What is wrong and, where it helps, what is expected.
    pub message: String,
}

impl Violation {
    /// A violation at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

/// Machine-readable error codes. The HTTP status follows from the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The input was malformed or broke a rule; `violations` lists every problem.
    InvalidInput,
    /// No valid session or device credentials.
    Unauthenticated,
    /// Authenticated, but not allowed to do this.
    Forbidden,
    /// The addressed object does not exist.
    NotFound,
    /// The route exists, but not with this HTTP method.
    MethodNotAllowed,
    /// The change conflicts with the current state.
    Conflict,
    /// The object changed since the caller read it (`If-Match` no longer matches).
    PreconditionFailed,
    /// The write needs `If-Match` with the version the caller read.
    PreconditionRequired,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// Too many attempts; try again later.
    RateLimited,
    /// Something failed on the server; details are in its log, not here.
    Internal,
}

impl ErrorCode {
    /// The HTTP status code that goes with this error code.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidInput => 400,
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict => 409,
            Self::PreconditionFailed => 412,
            Self::PreconditionRequired => 428,
            Self::PayloadTooLarge => 413,
            Self::RateLimited => 429,
            Self::Internal => 500,
        }
    }
}

/// The body of every error response: `{"error": {"code": …, "message": …, "violations": […]}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorEnvelope {
    /// The error itself.
    pub error: ErrorBody,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorBody {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// One sentence for a person.
    pub message: String,
    /// Every problem with the input, when the input was at fault.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
}

impl ErrorEnvelope {
    /// An envelope without violations.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { error: ErrorBody { code, message: message.into(), violations: Vec::new() } }
    }

    /// An `invalid_input` envelope listing every violation.
    pub fn invalid(violations: Vec<Violation>) -> Self {
        let message = match violations.len() {
            1 => "The input has 1 problem.".to_owned(),
            n => format!("The input has {n} problems."),
        };
        Self { error: ErrorBody { code: ErrorCode::InvalidInput, message, violations } }
    }
}

impl std::fmt::Display for ErrorEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error.message)?;
        for violation in &self.error.violations {
            if violation.path.is_empty() {
                write!(f, " {}", violation.message)?;
            } else {
                write!(f, " {}: {}", violation.path, violation.message)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_serializes_with_code_message_and_violations() {
        let envelope = ErrorEnvelope::invalid(vec![Violation::new("facts.hostname", "must not be empty")]);
        let json = serde_json::to_value(&envelope).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "invalid_input", "message": "The input has 1 problem.",
                "violations": [{"path": "facts.hostname", "message": "must not be empty"}]}})
        );
    }

    #[test]
    fn envelope_without_violations_omits_the_list() {
        let json =
            serde_json::to_string(&ErrorEnvelope::new(ErrorCode::NotFound, "No such device.")).expect("serializes");
        assert_eq!(json, r#"{"error":{"code":"not_found","message":"No such device."}}"#);
    }

    #[test]
    fn every_code_maps_to_a_client_or_server_error_status() {
        for code in [
            ErrorCode::InvalidInput,
            ErrorCode::Unauthenticated,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::Conflict,
            ErrorCode::PreconditionFailed,
            ErrorCode::PreconditionRequired,
            ErrorCode::PayloadTooLarge,
            ErrorCode::RateLimited,
            ErrorCode::Internal,
        ] {
            assert!((400..600).contains(&code.http_status()));
        }
    }
}
