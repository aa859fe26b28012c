//! `/api/v1/dhis2`: the mapping from indicators to DHIS2 data elements and from org units to
//! DHIS2 org units that the DHIS2 export of approved reports uses. Admins and managers read
//! it; admins change it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ApiUser, ErrorBody};
use crate::config::AppState;
use crate::domain::exports::dhis2::{
    self, DataElementInput, DataElementMapping, OrgUnitInput, OrgUnitMapping, OrgUnitMappingFilter,
};
use crate::domain::{Page, PageParams};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(data_elements))
        .routes(routes!(set_data_element, clear_data_element))
        .routes(routes!(org_units))
        .routes(routes!(set_org_unit, clear_org_unit))
}

/// Every indicator of the catalogue (active or not) with the DHIS2 data element and category
/// option combo it feeds, if mapped. Admins and managers.
#[utoipa::path(get, path = "/api/v1/dhis2/data-elements", tag = "dhis2", security(("bearer" = [])),
    responses((status = 200, body = Vec<DataElementMapping>), (status = 403, body = ErrorBody)))]
async fn data_elements(
    State(state): State<AppState>,
    user: ApiUser,
) -> ApiResult<Json<Vec<DataElementMapping>>> {
    Ok(Json(dhis2::data_elements(&state.db, &user.actor).await?))
}

/// Maps an indicator to a DHIS2 data element (and optionally a category option combo),
/// replacing any mapping. UIDs are 11 letters and digits starting with a letter (422
/// otherwise); a data element and combo already fed by another indicator is 422. Admins.
#[utoipa::path(put, path = "/api/v1/dhis2/data-elements/{indicator_id}", tag = "dhis2", security(("bearer" = [])),
    params(("indicator_id" = i64, Path)), request_body = DataElementInput,
    responses((status = 200, body = DataElementMapping), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn set_data_element(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(indicator_id): ApiPath<i64>,
    ApiJson(input): ApiJson<DataElementInput>,
) -> ApiResult<Json<DataElementMapping>> {
    Ok(Json(
        dhis2::set_data_element(&state.db, &user.actor, indicator_id, &input).await?,
    ))
}

/// Removes an indicator's mapping (nothing changes if it had none). Admins.
#[utoipa::path(delete, path = "/api/v1/dhis2/data-elements/{indicator_id}", tag = "dhis2", security(("bearer" = [])),
    params(("indicator_id" = i64, Path)),
    responses((status = 204, description = "Unmapped"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn clear_data_element(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(indicator_id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    dhis2::clear_data_element(&state.db, &user.actor, indicator_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Org units with the DHIS2 org unit each is, if mapped; searchable, by level, mapped or not.
/// Admins and managers.
#[utoipa::path(get, path = "/api/v1/dhis2/org-units", tag = "dhis2", security(("bearer" = [])), params(OrgUnitMappingFilter, PageParams),
    responses((status = 200, body = Page<OrgUnitMapping>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn org_units(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(q): ApiQuery<OrgUnitMappingFilter>,
    ApiQuery(paging): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<OrgUnitMapping>>> {
    Ok(Json(
        dhis2::org_unit_mappings(&state.db, &user.actor, &q, &paging).await?,
    ))
}

/// Maps an org unit to a DHIS2 org unit UID, replacing any mapping. A malformed UID, or one
/// already mapped to another org unit, is 422. Admins.
#[utoipa::path(put, path = "/api/v1/dhis2/org-units/{org_unit_id}", tag = "dhis2", security(("bearer" = [])),
    params(("org_unit_id" = i64, Path)), request_body = OrgUnitInput,
    responses((status = 200, body = OrgUnitMapping), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn set_org_unit(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(org_unit_id): ApiPath<i64>,
    ApiJson(input): ApiJson<OrgUnitInput>,
) -> ApiResult<Json<OrgUnitMapping>> {
    Ok(Json(
        dhis2::set_org_unit(&state.db, &user.actor, org_unit_id, &input).await?,
    ))
}

/// Removes an org unit's mapping (nothing changes if it had none). Admins.
#[utoipa::path(delete, path = "/api/v1/dhis2/org-units/{org_unit_id}", tag = "dhis2", security(("bearer" = [])),
    params(("org_unit_id" = i64, Path)),
    responses((status = 204, description = "Unmapped"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn clear_org_unit(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(org_unit_id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    dhis2::clear_org_unit(&state.db, &user.actor, org_unit_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
