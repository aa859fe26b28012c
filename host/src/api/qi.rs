//! `/api/v1/qi-projects` and `/api/v1/action-items`: facilities' quality-improvement projects
//! with their PDSA cycles, and the action items agreed in mentorship sessions, followed to done.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ApiUser, ErrorBody};
use crate::config::AppState;
use crate::domain::Page;
use crate::domain::qi::{
    self, ActionFilter, ActionInput, ActionItem, Cycle, CycleInput, Project, ProjectDetail,
    ProjectFilter, ProjectInput,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project, update_project))
        .routes(routes!(add_cycle))
        .routes(routes!(update_cycle))
        .routes(routes!(list_actions, create_action))
        .routes(routes!(update_action))
}

/// QI projects the caller may see (their organisation's; every organisation's for admins and
/// managers), latest started first.
#[utoipa::path(get, path = "/api/v1/qi-projects", tag = "qi", security(("bearer" = [])), params(ProjectFilter),
    responses((status = 200, body = Page<Project>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_projects(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(q): ApiQuery<ProjectFilter>,
) -> ApiResult<Json<Page<Project>>> {
    Ok(Json(
        qi::list_projects(&state.db, &user.actor, &q, &q.paging()).await?,
    ))
}

/// Starts a QI project at a facility of the caller's organisation (a mentor: an assigned
/// facility). `ended_on` is required for a completed or stopped project. Org admins and
/// mentors create projects; managers only read them.
#[utoipa::path(post, path = "/api/v1/qi-projects", tag = "qi", security(("bearer" = [])), request_body = ProjectInput,
    responses((status = 201, body = ProjectDetail), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_project(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<ProjectInput>,
) -> ApiResult<(StatusCode, Json<ProjectDetail>)> {
    Ok((
        StatusCode::CREATED,
        Json(qi::create_project(&state.db, &user.actor, &input).await?),
    ))
}

/// One project with its PDSA cycles in order; another partner's is 404.
#[utoipa::path(get, path = "/api/v1/qi-projects/{id}", tag = "qi", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ProjectDetail), (status = 404, body = ErrorBody)))]
async fn get_project(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ProjectDetail>> {
    Ok(Json(qi::get_project(&state.db, &user.actor, id).await?))
}

/// Edits a project: the whole project as it should read, with the `revision` the edit is
/// based on; a project changed meanwhile (its cycles included) answers 409.
#[utoipa::path(put, path = "/api/v1/qi-projects/{id}", tag = "qi", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = ProjectInput,
    responses((status = 200, body = ProjectDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_project(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ProjectInput>,
) -> ApiResult<Json<ProjectDetail>> {
    Ok(Json(
        qi::update_project(&state.db, &user.actor, id, &input).await?,
    ))
}

/// Adds the project's next PDSA cycle. With `revision`, a project changed meanwhile answers
/// 409.
#[utoipa::path(post, path = "/api/v1/qi-projects/{id}/cycles", tag = "qi", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = CycleInput,
    responses((status = 201, body = Cycle), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_cycle(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CycleInput>,
) -> ApiResult<(StatusCode, Json<Cycle>)> {
    Ok((
        StatusCode::CREATED,
        Json(qi::add_cycle(&state.db, &user.actor, id, &input).await?),
    ))
}

/// Edits a PDSA cycle (its result and decision once studied), with the project's `revision`
/// the edit is based on; a project changed meanwhile answers 409.
#[utoipa::path(put, path = "/api/v1/qi-projects/{id}/cycles/{cycle_id}", tag = "qi", security(("bearer" = [])),
    params(("id" = i64, Path), ("cycle_id" = i64, Path)), request_body = CycleInput,
    responses((status = 200, body = Cycle), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_cycle(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, cycle_id)): ApiPath<(i64, i64)>,
    ApiJson(input): ApiJson<CycleInput>,
) -> ApiResult<Json<Cycle>> {
    Ok(Json(
        qi::update_cycle(&state.db, &user.actor, id, cycle_id, &input).await?,
    ))
}

/// Action items the caller may see, open ones first by due date. `overdue=true` keeps the
/// open items due before today.
#[utoipa::path(get, path = "/api/v1/action-items", tag = "qi", security(("bearer" = [])), params(ActionFilter),
    responses((status = 200, body = Page<ActionItem>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_actions(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(q): ApiQuery<ActionFilter>,
) -> ApiResult<Json<Page<ActionItem>>> {
    Ok(Json(
        qi::list_actions(&state.db, &user.actor, &q, &q.paging()).await?,
    ))
}

/// Records an action item: agreed in a session (`session_id`; the session's organisation and
/// facility are used) or at a facility of the caller's organisation.
#[utoipa::path(post, path = "/api/v1/action-items", tag = "qi", security(("bearer" = [])), request_body = ActionInput,
    responses((status = 201, body = ActionItem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_action(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<ActionInput>,
) -> ApiResult<(StatusCode, Json<ActionItem>)> {
    Ok((
        StatusCode::CREATED,
        Json(qi::create_action(&state.db, &user.actor, &input).await?),
    ))
}

/// Changes an action item: absent fields keep their value, so `{"status": "done"}` marks it
/// done today (`done_on` may say when); `open` or `dropped` clears `done_on`.
#[utoipa::path(put, path = "/api/v1/action-items/{id}", tag = "qi", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = ActionInput,
    responses((status = 200, body = ActionItem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_action(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ActionInput>,
) -> ApiResult<Json<ActionItem>> {
    Ok(Json(
        qi::update_action(&state.db, &user.actor, id, &input).await?,
    ))
}
