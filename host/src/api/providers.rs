//! `/api/v1/providers`

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ApiUser, ErrorBody};
use crate::config::AppState;
use crate::domain::Page;
use crate::domain::providers::{self, Provider, ProviderFilter, ProviderInput};
use crate::domain::timeline::{self, ProviderTimeline};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
        .routes(routes!(timeline))
}

/// Providers of the caller's organisation (every organisation's for admins and managers).
#[utoipa::path(get, path = "/api/v1/providers", tag = "providers", security(("bearer" = [])), params(ProviderFilter),
    responses((status = 200, body = Page<Provider>), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(q): ApiQuery<ProviderFilter>,
) -> ApiResult<Json<Page<Provider>>> {
    Ok(Json(
        providers::list(&state.db, &user.actor, &q, &q.paging()).await?,
    ))
}

/// Registers a provider. Mentors register only at their assigned facilities.
#[utoipa::path(post, path = "/api/v1/providers", tag = "providers", security(("bearer" = [])), request_body = ProviderInput,
    responses((status = 201, body = Provider), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<ProviderInput>,
) -> ApiResult<(StatusCode, Json<Provider>)> {
    Ok((
        StatusCode::CREATED,
        Json(providers::create(&state.db, &user.actor, &input).await?),
    ))
}

/// One provider; another partner's is 404.
#[utoipa::path(get, path = "/api/v1/providers/{id}", tag = "providers", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Provider), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Provider>> {
    Ok(Json(providers::get(&state.db, &user.actor, id).await?))
}

/// Replaces a provider's fields (absent optional fields are cleared; an absent code is kept).
#[utoipa::path(put, path = "/api/v1/providers/{id}", tag = "providers", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = ProviderInput,
    responses((status = 200, body = Provider), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ProviderInput>,
) -> ApiResult<Json<Provider>> {
    Ok(Json(
        providers::update(&state.db, &user.actor, id, &input).await?,
    ))
}

/// A provider's sessions and trainings (newest first, withdrawn ones left out), their scores
/// per checklist over time with the current result on each, and when the next LDHF session
/// is due (the last session's date plus the programme's interval). Another partner's
/// provider is 404.
#[utoipa::path(get, path = "/api/v1/providers/{id}/timeline", tag = "providers", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ProviderTimeline), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn timeline(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ProviderTimeline>> {
    Ok(Json(
        timeline::provider_timeline(&state.db, &user.actor, id, &state.config.programme).await?,
    ))
}
