//! `/api/v1/users` and mentors' facility assignments.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ApiUser, ErrorBody};
use crate::config::AppState;
use crate::domain::Page;
use crate::domain::assignments::{self, Assignment, NewAssignment};
use crate::domain::users::{self, NewUser, User, UserChanges, UserFilter};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
        .routes(routes!(list_assignments, add_assignment))
        .routes(routes!(remove_assignment))
}

/// Users the caller may see: all for admins and managers, their organisation's for org admins.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])), params(UserFilter),
    responses((status = 200, body = Page<User>), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(q): ApiQuery<UserFilter>,
) -> ApiResult<Json<Page<User>>> {
    Ok(Json(
        users::list(&state.db, &user.actor, &q, &q.paging()).await?,
    ))
}

/// Creates a user (admins; org admins in their own organisation, as org admin or mentor).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = NewUser,
    responses((status = 201, body = User), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    Ok((
        StatusCode::CREATED,
        Json(users::create(&state.db, Some(&user.actor), &input).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<User>> {
    Ok(Json(users::get(&state.db, &user.actor, id).await?))
}

/// Changes a user's name, role, language, active flag or password.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = UserChanges,
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(changes): ApiJson<UserChanges>,
) -> ApiResult<Json<User>> {
    Ok(Json(
        users::update(&state.db, &user.actor, id, &changes).await?,
    ))
}

/// A mentor's assigned facilities.
#[utoipa::path(get, path = "/api/v1/users/{id}/assignments", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Assignment>), (status = 404, body = ErrorBody)))]
async fn list_assignments(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Assignment>>> {
    Ok(Json(assignments::list(&state.db, &user.actor, id).await?))
}

/// Assigns a mentor to a facility (idempotent).
#[utoipa::path(post, path = "/api/v1/users/{id}/assignments", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = NewAssignment,
    responses((status = 200, body = Vec<Assignment>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_assignment(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<NewAssignment>,
) -> ApiResult<Json<Vec<Assignment>>> {
    assignments::add(&state.db, Some(&user.actor), id, input.facility_id).await?;
    Ok(Json(assignments::list(&state.db, &user.actor, id).await?))
}

/// Ends a mentor's assignment to a facility.
#[utoipa::path(delete, path = "/api/v1/users/{id}/assignments/{facility_id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path), ("facility_id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_assignment(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, facility_id)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    assignments::remove(&state.db, &user.actor, id, facility_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
