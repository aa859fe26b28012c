//! API tokens: `POST /api/v1/auth/token` trades an e-mail and password for a bearer token.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiJson, ApiResult, ApiUser, ErrorBody};
use crate::auth::{self, tokens};
use crate::authz::Actor;
use crate::config::AppState;
use crate::error::Validator;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(issue_token, revoke_token))
        .routes(routes!(me))
}

#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    email: Option<String>,
    password: Option<String>,
    /// A label for the token, e.g. the device it is for.
    name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`. Shown once; only its digest is stored.
    token: String,
    token_type: &'static str,
    user: Actor,
}

/// Issues an API token for an e-mail and password.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = TokenRequest,
    responses(
        (status = 201, body = TokenResponse),
        (status = 401, description = "Wrong e-mail or password", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, description = "Too many failed attempts", body = ErrorBody)))]
async fn issue_token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<TokenRequest>,
) -> ApiResult<(StatusCode, Json<TokenResponse>)> {
    let mut v = Validator::new();
    let email = v.required_text("email", req.email.as_deref(), 254);
    if req.password.as_deref().unwrap_or("").is_empty() {
        v.add("password", "required", "is required");
    }
    let name = v
        .optional_text("name", req.name.as_deref(), 100)
        .unwrap_or_else(|| "API".into());
    v.finish()?;
    let ip = crate::web::client_ip(&state, &headers, Some(peer));
    let password = req.password.unwrap_or_default();
    let user_id = auth::authenticate(
        &state.db,
        &state.config.login_limits,
        &email,
        &password,
        &ip,
    )
    .await?;
    let (_, token) = tokens::issue(&state.db, user_id, &name).await?;
    let user = crate::domain::users::actor(&state.db, user_id)
        .await?
        .ok_or(crate::error::AppError::Unauthenticated)?;
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse {
            token,
            token_type: "Bearer",
            user,
        }),
    ))
}

/// Revokes the token this request was made with.
#[utoipa::path(delete, path = "/api/v1/auth/token", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn revoke_token(State(state): State<AppState>, user: ApiUser) -> ApiResult<StatusCode> {
    tokens::revoke(&state.db, &user.actor, user.token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Actor), (status = 401, body = ErrorBody)))]
async fn me(user: ApiUser) -> Json<Actor> {
    Json(user.actor)
}
