//! `/api/v1/indicators`: the harmonised indicator catalogue, and a preview of an indicator's
//! figures for a quarter.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ApiUser, ErrorBody};
use crate::config::AppState;
use crate::domain::indicators::{self, Indicator, IndicatorFigures, IndicatorInput, Scope};
use crate::domain::quarter::Quarter;
use crate::error::AppError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
        .routes(routes!(figures))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Include deactivated indicators (default: only active ones).
    pub include_inactive: Option<bool>,
}

/// The catalogue in report order. Everyone signed in may read it.
#[utoipa::path(get, path = "/api/v1/indicators", tag = "indicators", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Vec<Indicator>), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _user: ApiUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<Indicator>>> {
    Ok(Json(
        indicators::list(&state.db, q.include_inactive.unwrap_or(false)).await?,
    ))
}

/// Adds an indicator (admins and managers). `numerator` and `denominator` are formulas, e.g.
/// `observed_providers where metric hbb.osce_b.pass = 1` over
/// `observed_providers where metric hbb.osce_b.pass`; a formula naming an unknown source,
/// condition, metric or checklist is a 422 on that field, saying where and what is known.
#[utoipa::path(post, path = "/api/v1/indicators", tag = "indicators", security(("bearer" = [])), request_body = IndicatorInput,
    responses((status = 201, body = Indicator), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<IndicatorInput>,
) -> ApiResult<(StatusCode, Json<Indicator>)> {
    Ok((
        StatusCode::CREATED,
        Json(indicators::create(&state.db, &user.actor, &input).await?),
    ))
}

/// One indicator.
#[utoipa::path(get, path = "/api/v1/indicators/{id}", tag = "indicators", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Indicator), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    _user: ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Indicator>> {
    Ok(Json(indicators::get(&state.db, id).await?))
}

/// Replaces an indicator's definition (admins and managers), including `active` to
/// deactivate it; indicators are never deleted. `revision` must be the one read: an edit
/// saved in between answers 409.
#[utoipa::path(put, path = "/api/v1/indicators/{id}", tag = "indicators", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = IndicatorInput,
    responses((status = 200, body = Indicator), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<IndicatorInput>,
) -> ApiResult<Json<Indicator>> {
    Ok(Json(
        indicators::update(&state.db, &user.actor, id, &input).await?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct FiguresQuery {
    /// The quarter, e.g. `2026Q3`.
    pub quarter: Option<String>,
    /// The organisation; absent means the caller's own organisation, or the whole programme
    /// for admins and managers.
    pub organisation_id: Option<i64>,
}

/// An indicator computed live for a quarter: total, previous quarter, by district, by
/// facility and its other disaggregations. Org admins and mentors see their own organisation
/// only (another one is 404); admins and managers any organisation or the programme.
#[utoipa::path(get, path = "/api/v1/indicators/{id}/figures", tag = "indicators", security(("bearer" = [])),
    params(("id" = i64, Path), FiguresQuery),
    responses((status = 200, body = IndicatorFigures), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn figures(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<FiguresQuery>,
) -> ApiResult<Json<IndicatorFigures>> {
    let quarter = match q.quarter.as_deref().map(str::trim) {
        None | Some("") => {
            return Err(
                AppError::field("quarter", "required", "give a quarter such as 2026Q3").into(),
            );
        }
        Some(text) => Quarter::parse_field("quarter", text)?,
    };
    let scope = match q.organisation_id {
        Some(org) => Scope::Organisation(org),
        None if user.actor.reads_all_organisations() => Scope::Programme,
        None => Scope::Organisation(user.actor.organisation_id),
    };
    Ok(Json(
        indicators::preview(&state.db, &user.actor, id, scope, quarter).await?,
    ))
}
