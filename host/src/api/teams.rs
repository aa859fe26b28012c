//! `/api/v1/teams`: village and facility teams, their quarterly targets, and the quarterly
//! assessment scored by a partner's team-assessment checklist, which yields the award.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ApiUser, ErrorBody};
use crate::config::AppState;
use crate::domain::Page;
use crate::domain::teams::{
    self, Assessment, AssessmentInput, TargetsInput, Team, TeamFilter, TeamInput, TeamSummary,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
        .routes(routes!(set_targets))
        .routes(routes!(assess))
        .routes(routes!(list_assessments))
}

/// Teams the caller may see (their organisation's; every organisation's for admins and
/// managers), with one quarter's targets set, targets met and award (`quarter`, default the
/// current one). Inactive teams only with `active=false` or `all`.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", security(("bearer" = [])), params(TeamFilter),
    responses((status = 200, body = Page<TeamSummary>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(q): ApiQuery<TeamFilter>,
) -> ApiResult<Json<Page<TeamSummary>>> {
    Ok(Json(
        teams::list(&state.db, &user.actor, &q, &q.paging()).await?,
    ))
}

/// Creates a team: a name (unique in the organisation), a village, the health facility it
/// works with, and members from the organisation's provider registry (midwives, Village Health
/// Support Group members, traditional birth attendants…). Org admins and mentors create their
/// organisation's teams; admins name the organisation; managers only read.
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", security(("bearer" = [])), request_body = TeamInput,
    responses((status = 201, body = Team), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<TeamInput>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    Ok((
        StatusCode::CREATED,
        Json(teams::create(&state.db, &user.actor, &input).await?),
    ))
}

/// One team with its members, targets per quarter and assessments (score cards included);
/// another partner's is 404.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Team), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Team>> {
    Ok(Json(teams::get(&state.db, &user.actor, id).await?))
}

/// Changes a team: the whole team as it should read, with the `revision` it is based on
/// (409 if someone changed it meanwhile). Members replace the current list.
#[utoipa::path(put, path = "/api/v1/teams/{id}", tag = "teams", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = TeamInput,
    responses((status = 200, body = Team), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TeamInput>,
) -> ApiResult<Json<Team>> {
    Ok(Json(
        teams::update(&state.db, &user.actor, id, &input).await?,
    ))
}

/// Sets a quarter's targets (`2026Q3`): measure → target, for `households_mapped`,
/// `education_sessions`, `home_visits`, `referrals`, `escorts` (0 to 10000); measures left
/// out have no target. A malformed quarter is 422 naming `quarter`; an assessed quarter's
/// targets can no longer change (409).
#[utoipa::path(put, path = "/api/v1/teams/{id}/targets/{quarter}", tag = "teams", security(("bearer" = [])),
    params(("id" = i64, Path), ("quarter" = String, Path, description = "e.g. 2026Q3")),
    request_body = TargetsInput,
    responses((status = 200, body = Team), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_targets(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, quarter)): ApiPath<(i64, String)>,
    ApiJson(input): ApiJson<TargetsInput>,
) -> ApiResult<Json<Team>> {
    Ok(Json(
        teams::set_targets(&state.db, &user.actor, id, &quarter, &input).await?,
    ))
}

/// Assesses the team for a quarter with a `team_assessment` checklist the organisation may
/// use. The server fills each `<measure>-target` item from the quarter's targets; the
/// assessor answers the rest (the `<measure>-achieved` counts are also recorded on the
/// targets). The award is the card's `.award` metric. Assessing an assessed quarter again
/// replaces it when `revision` is the stored one (409 otherwise). A plugin that fails answers
/// 503 naming the checklist and nothing is stored; a plugin's refusal is 422 naming the item.
#[utoipa::path(post, path = "/api/v1/teams/{id}/assessments/{quarter}", tag = "teams", security(("bearer" = [])),
    params(("id" = i64, Path), ("quarter" = String, Path, description = "e.g. 2026Q3")),
    request_body = AssessmentInput,
    responses((status = 200, body = Assessment), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn assess(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, quarter)): ApiPath<(i64, String)>,
    ApiJson(input): ApiJson<AssessmentInput>,
) -> ApiResult<Json<Assessment>> {
    Ok(Json(
        teams::assess(&state.db, &state.plugins, &user.actor, id, &quarter, &input).await?,
    ))
}

/// The team's assessments, latest quarter first, with their score cards and awards.
#[utoipa::path(get, path = "/api/v1/teams/{id}/assessments", tag = "teams", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Assessment>), (status = 404, body = ErrorBody)))]
async fn list_assessments(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Assessment>>> {
    Ok(Json(teams::assessments(&state.db, &user.actor, id).await?))
}
