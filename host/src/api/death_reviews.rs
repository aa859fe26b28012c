//! `/api/v1/death-reviews`: maternal and perinatal death reviews (MPDSR) and their
//! recommendations. Sensitive: only the reviewing organisation and project management read
//! them; another organisation's review is 404 and never listed.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ApiUser, ErrorBody};
use crate::config::AppState;
use crate::domain::Page;
use crate::domain::death_reviews::{
    self, DeathReview, DeathReviewFilter, DeathReviewInput, DeathReviewSummary, RecommendationInput,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
        .routes(routes!(add_recommendation))
        .routes(routes!(update_recommendation))
}

/// Death reviews the caller may read: their organisation's (org admins and mentors), every
/// partner's (managers and admins); latest notification first. Each carries
/// `awaiting_review` (notified, not reviewed yet) and `overdue_recommendations`, so
/// supervisors can follow up: `status=awaiting_review` and `overdue=true` select those.
#[utoipa::path(get, path = "/api/v1/death-reviews", tag = "death-reviews", security(("bearer" = [])), params(DeathReviewFilter),
    responses((status = 200, body = Page<DeathReviewSummary>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(q): ApiQuery<DeathReviewFilter>,
) -> ApiResult<Json<Page<DeathReviewSummary>>> {
    Ok(Json(
        death_reviews::list(&state.db, &user.actor, &q, &q.paging()).await?,
    ))
}

/// Records a death notification for the caller's organisation, with the review's findings if
/// the review has already been held (`reviewed_on`, then `committee`, `cause_group` and
/// `avoidable` are required). Org admins and mentors (at their assigned facilities) record;
/// managers and admins only read.
#[utoipa::path(post, path = "/api/v1/death-reviews", tag = "death-reviews", security(("bearer" = [])), request_body = DeathReviewInput,
    responses((status = 201, body = DeathReview), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<DeathReviewInput>,
) -> ApiResult<(StatusCode, Json<DeathReview>)> {
    Ok((
        StatusCode::CREATED,
        Json(death_reviews::create(&state.db, &user.actor, &input).await?),
    ))
}

/// One death review with every field and its recommendations; another partner's is 404.
#[utoipa::path(get, path = "/api/v1/death-reviews/{id}", tag = "death-reviews", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = DeathReview), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<DeathReview>> {
    Ok(Json(death_reviews::get(&state.db, &user.actor, id).await?))
}

/// Replaces a review's fields (the whole record as it should read, e.g. adding the review's
/// findings to a notification). `revision` must be the one read: a change made meanwhile is
/// 409 and nothing is stored.
#[utoipa::path(put, path = "/api/v1/death-reviews/{id}", tag = "death-reviews", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = DeathReviewInput,
    responses((status = 200, body = DeathReview), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<DeathReviewInput>,
) -> ApiResult<Json<DeathReview>> {
    Ok(Json(
        death_reviews::update(&state.db, &user.actor, id, &input).await?,
    ))
}

/// Adds a recommendation (description, owner, deadline, status) to a reviewed death; answers
/// the review with its recommendations.
#[utoipa::path(post, path = "/api/v1/death-reviews/{id}/recommendations", tag = "death-reviews", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = RecommendationInput,
    responses((status = 201, body = DeathReview), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn add_recommendation(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<RecommendationInput>,
) -> ApiResult<(StatusCode, Json<DeathReview>)> {
    Ok((
        StatusCode::CREATED,
        Json(death_reviews::add_recommendation(&state.db, &user.actor, id, &input).await?),
    ))
}

/// Changes a recommendation's status (`done` records `done_on`, today by default) and, when
/// given, its description, owner and deadline.
#[utoipa::path(put, path = "/api/v1/death-reviews/{id}/recommendations/{rec_id}", tag = "death-reviews", security(("bearer" = [])),
    params(("id" = i64, Path), ("rec_id" = i64, Path)), request_body = RecommendationInput,
    responses((status = 200, body = DeathReview), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_recommendation(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, rec_id)): ApiPath<(i64, i64)>,
    ApiJson(input): ApiJson<RecommendationInput>,
) -> ApiResult<Json<DeathReview>> {
    Ok(Json(
        death_reviews::update_recommendation(&state.db, &user.actor, id, rec_id, &input).await?,
    ))
}
