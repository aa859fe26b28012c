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
use serde::de::{DeserializeOwned, IgnoredAny};
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
        parse_body(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body straight into `T`, in one pass (a session is several KB, and an
/// intermediate `serde_json::Value` tree cost every submission its allocations twice).
/// Malformed JSON is a 400; well-formed JSON of the wrong shape a 422 naming the field.
fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let malformed =
        |e: serde_json::Error| ApiError::from(AppError::BadRequest(format!("malformed JSON: {e}")));
    // Serde would also fill a struct from an array, field by field.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return match serde_json::from_slice::<IgnoredAny>(bytes) {
            Err(e) => Err(malformed(e)),
            Ok(_) => Err(AppError::BadRequest("the body must be a JSON object".into()).into()),
        };
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => {
            de.end().map_err(malformed)?;
            Ok(value)
        }
        // A type error met before a syntax error further on is still malformed JSON.
        Err(e) if e.inner().is_data() && serde_json::from_slice::<IgnoredAny>(bytes).is_ok() => {
            let field = e.path().to_string();
            // The field is named; where it sits in the text is noise in a field error.
            let message = e.inner().to_string();
            let message = match (e.inner().line(), message.rfind(" at line ")) {
                (line, Some(at)) if line > 0 => message[..at].to_string(),
                _ => message,
            };
            Err(AppError::Validation(vec![FieldError::new(field, "invalid_type", message)]).into())
        }
        Err(e) => Err(malformed(
            serde_json::from_slice::<IgnoredAny>(bytes)
                .err()
                .unwrap_or_else(|| e.into_inner()),
        )),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[allow(dead_code)]
        facility_id: Option<i64>,
        #[serde(default)]
        #[allow(dead_code)]
        observations: Vec<Observation>,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Observation {
        #[allow(dead_code)]
        provider_id: Option<i64>,
    }

    fn outcome(body: &str) -> Result<Body, AppError> {
        parse_body::<Body>(body.as_bytes()).map_err(|e| e.error)
    }

    #[test]
    fn a_well_formed_body_parses_in_one_pass() {
        let body = outcome(r#" {"facility_id": 3, "observations": [{"provider_id": 4}]} "#);
        assert!(body.is_ok(), "{body:?}");
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        for bad in [
            r#"{"facility_id": 3"#,
            r#"{"facility_id": 3} trailing"#,
            // The type error comes first, the syntax error after it: still malformed.
            r#"{"facility_id": "three", "observations": [}"#,
            "",
        ] {
            match outcome(bad) {
                Err(AppError::BadRequest(m)) => assert!(m.starts_with("malformed JSON"), "{m}"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn only_an_object_is_a_body() {
        for bad in ["[3, []]", "3", "\"text\""] {
            match outcome(bad) {
                Err(AppError::BadRequest(m)) => assert_eq!(m, "the body must be a JSON object"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn a_wrong_type_names_its_field_without_text_positions() {
        match outcome(r#"{"facility_id": 3, "observations": [{"provider_id": "four"}]}"#) {
            Err(AppError::Validation(errors)) => {
                assert_eq!(errors.len(), 1);
                assert_eq!(errors[0].field, "observations[0].provider_id");
                assert_eq!(errors[0].code, "invalid_type");
                assert_eq!(
                    errors[0].message,
                    "invalid type: string \"four\", expected i64"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
