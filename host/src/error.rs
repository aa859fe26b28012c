//! The one error type of every user action. Pages render it as an HTML page in the user's
//! language (see `web::context`); the API renders its JSON twin (see `api::error`).

use serde::Serialize;
use utoipa::ToSchema;

/// A problem with one field of a form or API body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's name as the form or JSON body spells it.
    pub field: String,
    /// Stable code of the problem, also the translation key `error.<code>` on pages.
    #[serde(skip)]
    pub code: &'static str,
    /// English message for API clients.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("authentication required")]
    Unauthenticated,
    #[error("you do not have permission to do this")]
    Forbidden,
    #[error(
        "the form could not be submitted because of a security check (CSRF); reload the page and try again"
    )]
    Csrf,
    #[error("some fields are invalid")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    /// A plugin failed or ran out of its limits while scoring: nothing was stored, and the
    /// same request may succeed later. Each entry names the checklist.
    #[error("a checklist could not be scored; nothing was saved")]
    ScoringFailed(Vec<FieldError>),
    #[error("too many failed attempts; try again in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode as S;
        match self {
            AppError::NotFound => S::NOT_FOUND,
            AppError::Unauthenticated => S::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => S::FORBIDDEN,
            AppError::Validation(_) => S::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => S::BAD_REQUEST,
            AppError::Conflict(_) => S::CONFLICT,
            AppError::ScoringFailed(_) => S::SERVICE_UNAVAILABLE,
            AppError::TooManyRequests { .. } => S::TOO_MANY_REQUESTS,
            AppError::Internal(_) => S::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound => "not_found",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::Csrf => "csrf_failed",
            AppError::Validation(_) => "validation_failed",
            AppError::BadRequest(_) => "bad_request",
            AppError::Conflict(_) => "conflict",
            AppError::ScoringFailed(_) => "scoring_failed",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Internal(_) => "internal",
        }
    }

    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> AppError {
        AppError::Validation(vec![FieldError::new(field, code, message)])
    }

    /// Logs an internal error once, where it is turned into a response.
    pub fn log(&self) {
        if let AppError::Internal(e) = self {
            tracing::error!(error = format!("{e:#}"), "internal error");
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Internal(e)
    }
}

/// Collects field errors so a form reports every problem at once, not the first only.
#[derive(Default, Debug)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, code, message));
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn has(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    /// A trimmed, required text of at most `max` characters.
    pub fn required_text(&mut self, field: &str, value: Option<&str>, max: usize) -> String {
        let v = value.map(str::trim).unwrap_or("");
        if v.is_empty() {
            self.add(field, "required", "is required");
        } else if v.chars().count() > max {
            self.add(
                field,
                "too_long",
                format!("must be at most {max} characters"),
            );
        } else if v.chars().any(char::is_control) {
            self.add(
                field,
                "invalid_characters",
                "must not contain control characters",
            );
        }
        v.to_string()
    }

    /// A trimmed optional text; empty becomes `None`.
    pub fn optional_text(
        &mut self,
        field: &str,
        value: Option<&str>,
        max: usize,
    ) -> Option<String> {
        let v = value.map(str::trim).unwrap_or("");
        if v.is_empty() {
            return None;
        }
        if v.chars().count() > max {
            self.add(
                field,
                "too_long",
                format!("must be at most {max} characters"),
            );
        } else if v.chars().any(char::is_control) {
            self.add(
                field,
                "invalid_characters",
                "must not contain control characters",
            );
        }
        Some(v.to_string())
    }

    pub fn finish(self) -> AppResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.errors))
        }
    }
}
