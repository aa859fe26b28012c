//! `/api/v1/reports`: quarterly reports per partner organisation, their narrative and the
//! approval workflow (draft → submitted → approved | returned → …), and the programme-wide
//! view of a quarter.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ApiUser, ErrorBody};
use crate::config::AppState;
use crate::domain::reports::{
    self, NarrativeInput, ProgrammeView, Report, ReportFilter, ReportSummary, ReturnInput,
    TransitionInput,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(programme))
        .routes(routes!(get_one))
        .routes(routes!(narrative))
        .routes(routes!(submit))
        .routes(routes!(approve))
        .routes(routes!(return_report))
}

/// Reports the caller may see: their organisation's, every partner's for managers and admins.
/// With `quarter`, every visible partner has a row, `not_started` when nothing is written yet,
/// so reviewers see who has not submitted; without it, only reports that exist.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", security(("bearer" = [])), params(ReportFilter),
    responses((status = 200, body = Vec<ReportSummary>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(q): ApiQuery<ReportFilter>,
) -> ApiResult<Json<Vec<ReportSummary>>> {
    Ok(Json(reports::list(&state.db, &user.actor, &q).await?))
}

/// Every partner's figures of a quarter side by side (approved reports with their frozen
/// figures, the others live) and the programme's total. Managers and admins.
#[utoipa::path(get, path = "/api/v1/reports/programme/{quarter}", tag = "reports", security(("bearer" = [])),
    params(("quarter" = String, Path, description = "e.g. 2026Q3")),
    responses((status = 200, body = ProgrammeView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn programme(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(quarter): ApiPath<String>,
) -> ApiResult<Json<ProgrammeView>> {
    Ok(Json(
        reports::programme(&state.db, &user.actor, &quarter).await?,
    ))
}

/// One organisation's report of a quarter: the figures (frozen ones once approved, with
/// `changed_since_approval` when the live figures differ), narrative, status, history and what
/// the caller may do. Exists for every quarter that has begun; another organisation's is 404;
/// a malformed or future quarter is 422.
#[utoipa::path(get, path = "/api/v1/reports/{organisation_id}/{quarter}", tag = "reports", security(("bearer" = [])),
    params(("organisation_id" = i64, Path), ("quarter" = String, Path, description = "e.g. 2026Q3")),
    responses((status = 200, body = Report), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((organisation_id, quarter)): ApiPath<(i64, String)>,
) -> ApiResult<Json<Report>> {
    Ok(Json(
        reports::get(&state.db, &user.actor, organisation_id, &quarter).await?,
    ))
}

/// Writes the narrative (the whole of it) of a draft or returned report; the first write
/// starts the report as a draft. `revision` is the revision edited (0 before the report is
/// started): a stale one is 409. A submitted or approved report is 409. The organisation's
/// admin only.
#[utoipa::path(put, path = "/api/v1/reports/{organisation_id}/{quarter}/narrative", tag = "reports", security(("bearer" = [])),
    params(("organisation_id" = i64, Path), ("quarter" = String, Path)), request_body = NarrativeInput,
    responses((status = 200, body = Report), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn narrative(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((organisation_id, quarter)): ApiPath<(i64, String)>,
    ApiJson(input): ApiJson<NarrativeInput>,
) -> ApiResult<Json<Report>> {
    Ok(Json(
        reports::save_narrative(&state.db, &user.actor, organisation_id, &quarter, &input).await?,
    ))
}

/// Submits a draft or returned report for review; every narrative section must be written
/// (422 naming the missing ones). The organisation's admin only.
#[utoipa::path(post, path = "/api/v1/reports/{organisation_id}/{quarter}/submit", tag = "reports", security(("bearer" = [])),
    params(("organisation_id" = i64, Path), ("quarter" = String, Path)), request_body = TransitionInput,
    responses((status = 200, body = Report), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn submit(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((organisation_id, quarter)): ApiPath<(i64, String)>,
    ApiJson(input): ApiJson<TransitionInput>,
) -> ApiResult<Json<Report>> {
    Ok(Json(
        reports::submit(&state.db, &user.actor, organisation_id, &quarter, &input).await?,
    ))
}

/// Approves a submitted report (409 otherwise) and freezes its figures as computed now.
/// Managers and admins.
#[utoipa::path(post, path = "/api/v1/reports/{organisation_id}/{quarter}/approve", tag = "reports", security(("bearer" = [])),
    params(("organisation_id" = i64, Path), ("quarter" = String, Path)), request_body = TransitionInput,
    responses((status = 200, body = Report), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn approve(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((organisation_id, quarter)): ApiPath<(i64, String)>,
    ApiJson(input): ApiJson<TransitionInput>,
) -> ApiResult<Json<Report>> {
    Ok(Json(
        reports::approve(&state.db, &user.actor, organisation_id, &quarter, &input).await?,
    ))
}

/// Returns a submitted report to its organisation (409 otherwise) with a required `comment`
/// (422 without one). Managers and admins.
#[utoipa::path(post, path = "/api/v1/reports/{organisation_id}/{quarter}/return", tag = "reports", security(("bearer" = [])),
    params(("organisation_id" = i64, Path), ("quarter" = String, Path)), request_body = ReturnInput,
    responses((status = 200, body = Report), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn return_report(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((organisation_id, quarter)): ApiPath<(i64, String)>,
    ApiJson(input): ApiJson<ReturnInput>,
) -> ApiResult<Json<Report>> {
    Ok(Json(
        reports::return_report(&state.db, &user.actor, organisation_id, &quarter, &input).await?,
    ))
}
