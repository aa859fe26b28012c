//! Downloads under the browser session: a report's CSV, XLSX and DHIS2 files (linked from the
//! report page) and the session and training lists as CSV or XLSX (linked from the list
//! pages, with the filters the list shows). The same domain actions as the API build them,
//! so the two cannot differ; an error is an error page as anywhere else.

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;

use super::reports::org_id;
use super::{SignedIn, session_pages, trainings};
use crate::api::exports::{dhis2_download, download};
use crate::config::AppState;
use crate::domain::exports::dhis2::{self, Dhis2Params};
use crate::domain::exports::{Format, records, report};
use crate::error::AppError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports/{org_id}/{quarter}/export.csv", get(report_file))
        .route("/reports/{org_id}/{quarter}/export.xlsx", get(report_file))
        .route("/reports/{org_id}/{quarter}/dhis2", get(report_dhis2))
        .route("/sessions/export.csv", get(sessions_file))
        .route("/sessions/export.xlsx", get(sessions_file))
        .route("/trainings/export.csv", get(trainings_file))
        .route("/trainings/export.xlsx", get(trainings_file))
}

/// The format a download's route names by its extension, so one handler serves a download's
/// CSV and XLSX routes alike.
struct Extension(Format);

impl<S: Send + Sync> FromRequestParts<S> for Extension {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        match parts.uri.path().rsplit_once('.') {
            Some((_, "csv")) => Ok(Extension(Format::Csv)),
            Some((_, "xlsx")) => Ok(Extension(Format::Xlsx)),
            _ => Err(AppError::NotFound),
        }
    }
}

async fn report_file(
    State(state): State<AppState>,
    SignedIn { actor, .. }: SignedIn,
    Path((org, quarter)): Path<(String, String)>,
    Extension(format): Extension,
) -> Result<Response, AppError> {
    let file = report::export(&state.db, &actor, org_id(&org)?, &quarter, format).await?;
    Ok(download(file))
}

async fn report_dhis2(
    State(state): State<AppState>,
    SignedIn { actor, .. }: SignedIn,
    Path((org, quarter)): Path<(String, String)>,
    Query(params): Query<Dhis2Params>,
) -> Result<Response, AppError> {
    let (doc, name) =
        dhis2::data_value_set(&state.db, &actor, org_id(&org)?, &quarter, &params).await?;
    Ok(dhis2_download(&doc, &name))
}

async fn sessions_file(
    State(state): State<AppState>,
    SignedIn { actor, .. }: SignedIn,
    Query(q): Query<session_pages::ListQuery>,
    Extension(format): Extension,
) -> Result<Response, AppError> {
    let file = records::sessions_export(&state.db, &actor, &q.filter(), format).await?;
    Ok(download(file))
}

async fn trainings_file(
    State(state): State<AppState>,
    SignedIn { actor, .. }: SignedIn,
    Query(q): Query<trainings::ListQuery>,
    Extension(format): Extension,
) -> Result<Response, AppError> {
    let file = records::trainings_export(&state.db, &actor, &q.filter(), format).await?;
    Ok(download(file))
}
