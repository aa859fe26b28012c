//! The API's side of errors and input: one JSON error shape, and extractors whose rejections
//! use it (malformed JSON → 400, a well-formed body with bad fields → 422 naming the field).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::auth::tokens;
use crate::authz::Actor;
use crate::config::AppState;
use crate::error::{AppError, FieldError};

/// `{"error": {"code": "...", "message": "...", "fields": [...]}}`
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code: `not_found`, `unauthenticated`, `forbidden`, `validation_failed`,
    /// `bad_request`, `conflict`, `too_many_requests`, `unsupported_media_type`,
    /// `payload_too_large`, `internal`.
    pub code: String,
    pub message: String,
    /// One entry per invalid field; empty unless `code` is `validation_failed`.
    pub fields: Vec<FieldError>,
}

#[derive(Debug)]
pub struct ApiError {
    error: AppError,
    status_override: Option<(StatusCode, &'static str)>,
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        ApiError {
            error,
            status_override: None,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        AppError::from(e).into()
    }
}

impl ApiError {
    fn with_status(status: StatusCode, code: &'static str, message: String) -> ApiError {
        ApiError {
            error: AppError::BadRequest(message),
            status_override: Some((status, code)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.error.log();
        let (status, code) = self
            .status_override
            .unwrap_or((self.error.status(), self.error.code()));
        let fields = match &self.error {
            AppError::Validation(f) | AppError::ScoringFailed(f) => f.clone(),
            _ => Vec::new(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message: self.error.to_string(),
                fields,
            },
        };
        let mut response = (status, Json(body)).into_response();
        match self.error {
            AppError::Unauthenticated => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"mentortrack\""),
                );
            }
            AppError::TooManyRequests { retry_after_secs } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON body. Syntax errors are 400; type errors are 422 on the offending field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim();
                m.eq_ignore_ascii_case("application/json") || m.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::with_status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::with_status(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body could not be read: {e}"),
            )
        })?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::from(AppError::BadRequest(format!("malformed JSON: {e}"))))?;
        if !value.is_object() {
            return Err(AppError::BadRequest("the body must be a JSON object".into()).into());
        }
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|e| {
                let field = e.path().to_string();
                let message = e.inner().to_string();
                AppError::Validation(vec![FieldError::new(field, "invalid_type", message)]).into()
            })
    }
}

/// A path parameter; one that does not parse (an id that is not a number) names nothing
/// that exists, so it is a 404 like any unknown id.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|_: PathRejection| AppError::NotFound.into())
    }
}

/// Query parameters; a malformed one is a 400 naming it.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| AppError::BadRequest(e.body_text()).into())
    }
}

/// The caller, from `Authorization: Bearer <token>`. Cookies are not accepted here, so the
/// API needs no CSRF protection.
pub struct ApiUser {
    pub actor: Actor,
    pub token_id: i64,
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or(AppError::Unauthenticated)?;
        let (actor, token_id) = tokens::authenticate(&state.db, token).await?;
        Ok(ApiUser { actor, token_id })
    }
}
