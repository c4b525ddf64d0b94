//! `ApiError`: every way a request can fail, turned into a status code and the shared JSON envelope in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shared::Violation;
use shared::error::{ErrorCode, ErrorEnvelope};

/// A failed request. Internal errors are logged and answered with a generic message.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The input broke one or more rules.
    #[error("invalid input: {0:?}")]
    Invalid(Vec<Violation>),
    /// No valid session or device credentials.
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),
    /// Signed in, but the role does not allow it (or a write did not come from the admin center).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The addressed object does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The route does not take this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The object changed since the caller read it.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// The write needs `If-Match`.
    #[error("precondition required")]
    PreconditionRequired(&'static str),
    /// The change conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Too many attempts.
    #[error("rate limited")]
    RateLimited(String),
    /// The body is too large.
    #[error("payload too large")]
    PayloadTooLarge,
    /// Anything else; the message is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// One violation of the input as a whole or of one field.
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![Violation::new(path, message)])
    }

    fn envelope(&self) -> ErrorEnvelope {
        match self {
            Self::Invalid(violations) => ErrorEnvelope::invalid(violations.clone()),
            Self::Unauthenticated(message) => ErrorEnvelope::new(ErrorCode::Unauthenticated, *message),
            Self::Forbidden(message) => ErrorEnvelope::new(ErrorCode::Forbidden, message.clone()),
            Self::NotFound(message) => ErrorEnvelope::new(ErrorCode::NotFound, message.clone()),
            Self::MethodNotAllowed => {
                ErrorEnvelope::new(ErrorCode::MethodNotAllowed, "This API route does not take this HTTP method.")
            }
            Self::PreconditionFailed(message) => ErrorEnvelope::new(ErrorCode::PreconditionFailed, message.clone()),
            Self::PreconditionRequired(message) => ErrorEnvelope::new(ErrorCode::PreconditionRequired, *message),
            Self::Conflict(message) => ErrorEnvelope::new(ErrorCode::Conflict, message.clone()),
            Self::RateLimited(message) => ErrorEnvelope::new(ErrorCode::RateLimited, message.clone()),
            Self::PayloadTooLarge => ErrorEnvelope::new(ErrorCode::PayloadTooLarge, "The request body is too large."),
            Self::Internal(_) => ErrorEnvelope::new(
                ErrorCode::Internal,
                "Something went wrong on the server; the details are in its log.",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let envelope = self.envelope();
        let status =
            StatusCode::from_u16(envelope.error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(envelope)).into_response()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        Self::Internal(error.to_string())
    }
}
