//! `/api/v1/org-units`: the facility hierarchy.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ApiUser, ErrorBody};
use crate::config::AppState;
use crate::domain::Page;
use crate::domain::org_units::{self, NewOrgUnit, OrgUnit, OrgUnitFilter};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one))
}

/// Searches and browses org units.
#[utoipa::path(get, path = "/api/v1/org-units", tag = "org-units", security(("bearer" = [])), params(OrgUnitFilter),
    responses((status = 200, body = Page<OrgUnit>), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _user: ApiUser,
    ApiQuery(q): ApiQuery<OrgUnitFilter>,
) -> ApiResult<Json<Page<OrgUnit>>> {
    Ok(Json(org_units::list(&state.db, &q, &q.paging()).await?))
}

/// Adds an org unit (admins only).
#[utoipa::path(post, path = "/api/v1/org-units", tag = "org-units", security(("bearer" = [])), request_body = NewOrgUnit,
    responses((status = 201, body = OrgUnit), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<NewOrgUnit>,
) -> ApiResult<(StatusCode, Json<OrgUnit>)> {
    Ok((
        StatusCode::CREATED,
        Json(org_units::create(&state.db, Some(&user.actor), &input).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/org-units/{id}", tag = "org-units", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = OrgUnit), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    _user: ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<OrgUnit>> {
    Ok(Json(org_units::get(&state.db, id).await?))
}
