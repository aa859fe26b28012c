//! `/api/v1/organisations`

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiJson, ApiPath, ApiResult, ApiUser, ErrorBody};
use crate::config::AppState;
use crate::domain::organisations::{self, NewOrganisation, Organisation};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one))
}

/// Organisations the caller may see: all for admins and managers, otherwise their own.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "organisations", security(("bearer" = [])),
    responses((status = 200, body = Vec<Organisation>), (status = 401, body = ErrorBody)))]
async fn list(State(state): State<AppState>, user: ApiUser) -> ApiResult<Json<Vec<Organisation>>> {
    Ok(Json(organisations::list(&state.db, &user.actor).await?))
}

/// Creates an organisation (admins only).
#[utoipa::path(post, path = "/api/v1/organisations", tag = "organisations", security(("bearer" = [])),
    request_body = NewOrganisation,
    responses((status = 201, body = Organisation), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<NewOrganisation>,
) -> ApiResult<(StatusCode, Json<Organisation>)> {
    let org = organisations::create(&state.db, Some(&user.actor), &input).await?;
    Ok((StatusCode::CREATED, Json(org)))
}

/// One organisation; another partner's is 404.
#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "organisations", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Organisation), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Organisation>> {
    Ok(Json(organisations::get(&state.db, &user.actor, id).await?))
}
