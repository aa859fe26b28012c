//! `/api/v1/sessions`: the offline-safe submission contract phones rely on.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ApiUser, ErrorBody};
use crate::config::AppState;
use crate::domain::Page;
use crate::domain::sessions::{
    self, CorrectionInput, Created, Session, SessionFilter, SessionInput, SessionSummary,
    WithdrawInput,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, correct))
        .routes(routes!(withdraw))
}

/// Sessions the caller may see (their organisation's; every organisation's for admins and
/// managers), newest first. Withdrawn sessions only with `status=withdrawn` or `all`.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions", security(("bearer" = [])), params(SessionFilter),
    responses((status = 200, body = Page<SessionSummary>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(q): ApiQuery<SessionFilter>,
) -> ApiResult<Json<Page<SessionSummary>>> {
    Ok(Json(
        sessions::list(&state.db, &user.actor, &q, &q.paging()).await?,
    ))
}

/// Logs a session and scores every observation with its checklist's plugin.
///
/// `id` is a UUID the client generates once and keeps (a time-ordered version 7 UUID is
/// cheapest to store; any version is accepted): re-sending the identical body answers
/// 200 with the stored session; a different body under the same id answers 409 and changes
/// nothing. A plugin that fails while scoring answers 503 naming the checklist; nothing is
/// stored and the request may be sent again.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", security(("bearer" = [])), request_body = SessionInput,
    responses((status = 201, body = Session, description = "Stored"), (status = 200, body = Session, description = "Already stored under this id"),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<SessionInput>,
) -> ApiResult<(StatusCode, Json<Session>)> {
    Ok(
        match sessions::create(&state.db, &state.plugins, &user.actor, &input).await? {
            Created::New(s) => (StatusCode::CREATED, Json(s)),
            Created::Existing(s) => (StatusCode::OK, Json(s)),
        },
    )
}

/// One session with its mentees and scored observations; another partner's is 404.
#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "sessions", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Session), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Session>> {
    Ok(Json(sessions::get(&state.db, &user.actor, &id).await?))
}

/// Corrects a session: the whole session as it should read. Its mentor may correct it within
/// the programme's correction window, org admins at any time. Observations are re-scored with
/// the plugin version they were scored with unless `rescore` is `current`.
#[utoipa::path(put, path = "/api/v1/sessions/{id}", tag = "sessions", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = CorrectionInput,
    responses((status = 200, body = Session), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn correct(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<CorrectionInput>,
) -> ApiResult<Json<Session>> {
    Ok(Json(
        sessions::correct(
            &state.db,
            &state.plugins,
            &state.config.programme,
            &user.actor,
            &id,
            &input,
        )
        .await?,
    ))
}

/// Withdraws a session with a reason. It stays on record, marked withdrawn.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/withdraw", tag = "sessions", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = WithdrawInput,
    responses((status = 200, body = Session), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn withdraw(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<WithdrawInput>,
) -> ApiResult<Json<Session>> {
    Ok(Json(
        sessions::withdraw(&state.db, &state.config.programme, &user.actor, &id, &input).await?,
    ))
}
