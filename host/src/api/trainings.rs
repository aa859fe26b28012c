//! `/api/v1/trainings`: training events with pre- and post-tests, under the same offline-safe
//! submission contract as sessions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ApiUser, ErrorBody};
use crate::config::AppState;
use crate::domain::Page;
use crate::domain::trainings::{
    self, Created, Training, TrainingCorrectionInput, TrainingFilter, TrainingInput,
    TrainingSummary, WithdrawInput,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, correct))
        .routes(routes!(withdraw))
}

/// Trainings the caller may see (their organisation's; every organisation's for admins and
/// managers), latest first. `from`/`to` select trainings whose dates overlap the range;
/// withdrawn trainings only with `status=withdrawn` or `all`.
#[utoipa::path(get, path = "/api/v1/trainings", tag = "trainings", security(("bearer" = [])), params(TrainingFilter),
    responses((status = 200, body = Page<TrainingSummary>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(q): ApiQuery<TrainingFilter>,
) -> ApiResult<Json<Page<TrainingSummary>>> {
    Ok(Json(
        trainings::list(&state.db, &user.actor, &q, &q.paging()).await?,
    ))
}

/// Records a training: participants from the organisation's provider registry, attendance
/// per day, and pre-/post-tests scored by `training_test` checklists.
///
/// `id` is a UUID the client generates once and keeps (a time-ordered version 7 UUID is
/// cheapest to store; any version is accepted): re-sending the identical body answers
/// 200 with the stored training; a different body under the same id answers 409 and changes
/// nothing. A plugin that fails while scoring answers 503 naming the test; nothing is stored
/// and the request may be sent again. Org admins and mentors record trainings; managers only
/// read them.
#[utoipa::path(post, path = "/api/v1/trainings", tag = "trainings", security(("bearer" = [])), request_body = TrainingInput,
    responses((status = 201, body = Training, description = "Stored"), (status = 200, body = Training, description = "Already stored under this id"),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<TrainingInput>,
) -> ApiResult<(StatusCode, Json<Training>)> {
    Ok(
        match trainings::create(&state.db, &state.plugins, &user.actor, &input).await? {
            Created::New(t) => (StatusCode::CREATED, Json(t)),
            Created::Existing(t) => (StatusCode::OK, Json(t)),
        },
    )
}

/// One training with its participants, attendance, scored tests, each participant's gain and
/// pass/fail, and the event's summary; another partner's is 404.
#[utoipa::path(get, path = "/api/v1/trainings/{id}", tag = "trainings", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Training), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Training>> {
    Ok(Json(trainings::get(&state.db, &user.actor, &id).await?))
}

/// Corrects a training: the whole training as it should read. Whoever recorded it may correct
/// it within the programme's correction window after its last day, org admins at any time.
/// Tests are re-scored with the plugin version they were scored with unless `rescore` is
/// `current`.
#[utoipa::path(put, path = "/api/v1/trainings/{id}", tag = "trainings", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = TrainingCorrectionInput,
    responses((status = 200, body = Training), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn correct(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<TrainingCorrectionInput>,
) -> ApiResult<Json<Training>> {
    Ok(Json(
        trainings::correct(
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

/// Withdraws a training with a reason. It stays on record, marked withdrawn.
#[utoipa::path(post, path = "/api/v1/trainings/{id}/withdraw", tag = "trainings", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = WithdrawInput,
    responses((status = 200, body = Training), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn withdraw(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<WithdrawInput>,
) -> ApiResult<Json<Training>> {
    Ok(Json(
        trainings::withdraw(&state.db, &state.config.programme, &user.actor, &id, &input).await?,
    ))
}
