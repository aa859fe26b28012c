//! Downloads: a report's figures and narrative (`export.csv`, `export.xlsx`), an approved
//! report as a DHIS2 `dataValueSets` document (`dhis2`) and what that document leaves out
//! (`dhis2/gaps`), and the raw session and training records the caller may see
//! (`/api/v1/sessions/export.csv` … with the list's filters).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiPath, ApiQuery, ApiResult, ApiUser, ErrorBody};
use crate::config::AppState;
use crate::domain::exports::dhis2::{self, DataValueSet, Dhis2Gaps, Dhis2Params};
use crate::domain::exports::{Download, Format, records, report};
use crate::domain::sessions::SessionFilter;
use crate::domain::trainings::TrainingFilter;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report_csv))
        .routes(routes!(report_xlsx))
        .routes(routes!(report_dhis2))
        .routes(routes!(report_dhis2_gaps))
        .routes(routes!(sessions_csv))
        .routes(routes!(sessions_xlsx))
        .routes(routes!(trainings_csv))
        .routes(routes!(trainings_xlsx))
}

/// A file as an attachment named after its organisation and quarter (or date).
pub fn attachment(content_type: &'static str, filename: &str, body: Vec<u8>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // File names are built from codes reduced to letters, digits, `-` and `_`.
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub fn download(d: Download) -> Response {
    attachment(d.content_type, &d.filename, d.bytes)
}

/// The DHIS2 document as a JSON attachment.
pub fn dhis2_download(doc: &DataValueSet, filename: &str) -> Response {
    match serde_json::to_vec_pretty(doc) {
        Ok(bytes) => attachment("application/json", filename, bytes),
        Err(e) => {
            super::error::ApiError::from(crate::error::AppError::Internal(e.into())).into_response()
        }
    }
}

/// A report's figures as CSV: one row per indicator and breakdown (`total`, each district,
/// each facility, then the indicator's other disaggregations), with the unit, numerator,
/// denominator, value, the previous quarter's value and the target on total rows, and the
/// report's status and approval on every row. Approved reports give their frozen figures.
/// Readers of the report only; another organisation's is 404.
#[utoipa::path(get, path = "/api/v1/reports/{organisation_id}/{quarter}/export.csv", tag = "exports", security(("bearer" = [])),
    params(("organisation_id" = i64, Path), ("quarter" = String, Path, description = "e.g. 2026Q3")),
    responses((status = 200, body = String, content_type = "text/csv", description = "Attachment `ORG-QUARTER-report.csv`"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report_csv(
    state: State<AppState>,
    user: ApiUser,
    path: ApiPath<(i64, String)>,
) -> ApiResult<Response> {
    report_file(state, user, path, Format::Csv).await
}

/// A report as an XLSX workbook: a `Figures` sheet (the CSV's rows) and a `Narrative` sheet
/// (status, approval, narrative and the latest return comment).
#[utoipa::path(get, path = "/api/v1/reports/{organisation_id}/{quarter}/export.xlsx", tag = "exports", security(("bearer" = [])),
    params(("organisation_id" = i64, Path), ("quarter" = String, Path, description = "e.g. 2026Q3")),
    responses((status = 200, body = [u8], content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            description = "Attachment `ORG-QUARTER-report.xlsx`"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report_xlsx(
    state: State<AppState>,
    user: ApiUser,
    path: ApiPath<(i64, String)>,
) -> ApiResult<Response> {
    report_file(state, user, path, Format::Xlsx).await
}

async fn report_file(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((organisation_id, quarter)): ApiPath<(i64, String)>,
    format: Format,
) -> ApiResult<Response> {
    let file = report::export(&state.db, &user.actor, organisation_id, &quarter, format).await?;
    Ok(download(file))
}

/// An approved report as a DHIS2 `dataValueSets` document, importable as it is (`POST
/// /api/dataValueSets` on DHIS2): one value per mapped indicator and mapped facility, from the
/// figures frozen at approval. What it leaves out is listed by `…/dhis2/gaps`. A report that
/// is not approved is 409; a malformed `data_set` UID is 422.
#[utoipa::path(get, path = "/api/v1/reports/{organisation_id}/{quarter}/dhis2", tag = "exports", security(("bearer" = [])),
    params(("organisation_id" = i64, Path), ("quarter" = String, Path, description = "e.g. 2026Q3"), Dhis2Params),
    responses((status = 200, body = DataValueSet, description = "Attachment `ORG-QUARTER-dhis2.json`"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report_dhis2(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((organisation_id, quarter)): ApiPath<(i64, String)>,
    ApiQuery(params): ApiQuery<Dhis2Params>,
) -> ApiResult<Response> {
    let (doc, name) =
        dhis2::data_value_set(&state.db, &user.actor, organisation_id, &quarter, &params).await?;
    Ok(dhis2_download(&doc, &name))
}

/// What the report's DHIS2 export holds and leaves out: indicators without a data element,
/// facilities with figures but without a DHIS2 org unit, and facility figures without a value.
/// Available before approval too (on the live figures), so the mapping can be completed in
/// time; `exportable` says whether the document can be downloaded now.
#[utoipa::path(get, path = "/api/v1/reports/{organisation_id}/{quarter}/dhis2/gaps", tag = "exports", security(("bearer" = [])),
    params(("organisation_id" = i64, Path), ("quarter" = String, Path, description = "e.g. 2026Q3")),
    responses((status = 200, body = Dhis2Gaps), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report_dhis2_gaps(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((organisation_id, quarter)): ApiPath<(i64, String)>,
) -> ApiResult<Json<Dhis2Gaps>> {
    Ok(Json(
        dhis2::gaps(&state.db, &user.actor, organisation_id, &quarter).await?,
    ))
}

/// The sessions the caller may see, with the list's filters (paging ignored), as CSV: one row
/// per mentee and observation (checklist, plugin version, score, outcome) with the session's
/// fields. More than 20 000 sessions is 422: narrow the filters.
#[utoipa::path(get, path = "/api/v1/sessions/export.csv", tag = "exports", security(("bearer" = [])), params(SessionFilter),
    responses((status = 200, body = String, content_type = "text/csv", description = "Attachment `ORG-sessions-DATE.csv`"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn sessions_csv(
    state: State<AppState>,
    user: ApiUser,
    query: ApiQuery<SessionFilter>,
) -> ApiResult<Response> {
    sessions_file(state, user, query, Format::Csv).await
}

/// The same as an XLSX workbook with one `Sessions` sheet.
#[utoipa::path(get, path = "/api/v1/sessions/export.xlsx", tag = "exports", security(("bearer" = [])), params(SessionFilter),
    responses((status = 200, body = [u8], content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            description = "Attachment `ORG-sessions-DATE.xlsx`"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn sessions_xlsx(
    state: State<AppState>,
    user: ApiUser,
    query: ApiQuery<SessionFilter>,
) -> ApiResult<Response> {
    sessions_file(state, user, query, Format::Xlsx).await
}

async fn sessions_file(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(q): ApiQuery<SessionFilter>,
    format: Format,
) -> ApiResult<Response> {
    let file = records::sessions_export(&state.db, &user.actor, &q, format).await?;
    Ok(download(file))
}

/// The trainings the caller may see, with the list's filters (paging ignored), as CSV: one row
/// per participant with attendance, pre- and post-test scores, gain and verdict.
#[utoipa::path(get, path = "/api/v1/trainings/export.csv", tag = "exports", security(("bearer" = [])), params(TrainingFilter),
    responses((status = 200, body = String, content_type = "text/csv", description = "Attachment `ORG-trainings-DATE.csv`"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn trainings_csv(
    state: State<AppState>,
    user: ApiUser,
    query: ApiQuery<TrainingFilter>,
) -> ApiResult<Response> {
    trainings_file(state, user, query, Format::Csv).await
}

/// The same as an XLSX workbook with one `Trainings` sheet.
#[utoipa::path(get, path = "/api/v1/trainings/export.xlsx", tag = "exports", security(("bearer" = [])), params(TrainingFilter),
    responses((status = 200, body = [u8], content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            description = "Attachment `ORG-trainings-DATE.xlsx`"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn trainings_xlsx(
    state: State<AppState>,
    user: ApiUser,
    query: ApiQuery<TrainingFilter>,
) -> ApiResult<Response> {
    trainings_file(state, user, query, Format::Xlsx).await
}

async fn trainings_file(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(q): ApiQuery<TrainingFilter>,
    format: Format,
) -> ApiResult<Response> {
    let file = records::trainings_export(&state.db, &user.actor, &q, format).await?;
    Ok(download(file))
}
