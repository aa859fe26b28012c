//! Downloads under the browser session: a report's CSV, XLSX and DHIS2 files (linked from the
//! report page) and the session and training lists as CSV or XLSX (linked from the list
//! pages, with the filters the list shows). The same domain actions as the API build them,
//! so the two cannot differ; an error is an error page as anywhere else.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::SignedIn;
use crate::api::exports::{dhis2_download, download};
use crate::config::AppState;
use crate::domain::exports::dhis2::{self, Dhis2Params};
use crate::domain::exports::{Format, records, report};
use crate::domain::sessions::SessionFilter;
use crate::domain::trainings::TrainingFilter;
use crate::error::AppError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports/{org_id}/{quarter}/export.csv", get(report_csv))
        .route("/reports/{org_id}/{quarter}/export.xlsx", get(report_xlsx))
        .route("/reports/{org_id}/{quarter}/dhis2", get(report_dhis2))
        .route("/sessions/export.csv", get(sessions_csv))
        .route("/sessions/export.xlsx", get(sessions_xlsx))
        .route("/trainings/export.csv", get(trainings_csv))
        .route("/trainings/export.xlsx", get(trainings_xlsx))
}

fn org_id(text: &str) -> Result<i64, AppError> {
    text.parse().map_err(|_| AppError::NotFound)
}

async fn report_file(
    state: &AppState,
    SignedIn { actor, .. }: SignedIn,
    (org, quarter): (String, String),
    format: Format,
) -> Result<Response, AppError> {
    Ok(download(
        report::export(&state.db, &actor, org_id(&org)?, &quarter, format).await?,
    ))
}

async fn report_csv(
    State(state): State<AppState>,
    user: SignedIn,
    Path(p): Path<(String, String)>,
) -> Result<Response, AppError> {
    report_file(&state, user, p, Format::Csv).await
}

async fn report_xlsx(
    State(state): State<AppState>,
    user: SignedIn,
    Path(p): Path<(String, String)>,
) -> Result<Response, AppError> {
    report_file(&state, user, p, Format::Xlsx).await
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

/// The session list page's query (see `session_pages::ListQuery`): the same fields, so the
/// page's download links carry its filters unchanged.
#[derive(Deserialize, Default)]
struct SessionQuery {
    #[serde(default)]
    facility_id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// `<plugin_key>:<checklist_id>`
    #[serde(default)]
    checklist: String,
    #[serde(default)]
    status: String,
}

impl SessionQuery {
    fn filter(&self) -> SessionFilter {
        let (plugin_key, checklist_id) = match self.checklist.split_once(':') {
            Some((k, c)) => (Some(k.to_string()), Some(c.to_string())),
            None => (None, None),
        };
        SessionFilter {
            facility_id: self.facility_id.trim().parse().ok(),
            checklist_id,
            plugin_key,
            from: Some(self.from.clone()),
            to: Some(self.to.clone()),
            status: Some(self.status.clone()),
            ..Default::default()
        }
    }
}

async fn sessions_file(
    state: &AppState,
    actor: &crate::authz::Actor,
    q: &SessionQuery,
    format: Format,
) -> Result<Response, AppError> {
    Ok(download(
        records::sessions_export(&state.db, actor, &q.filter(), format).await?,
    ))
}

async fn sessions_csv(
    State(state): State<AppState>,
    SignedIn { actor, .. }: SignedIn,
    Query(q): Query<SessionQuery>,
) -> Result<Response, AppError> {
    sessions_file(&state, &actor, &q, Format::Csv).await
}

async fn sessions_xlsx(
    State(state): State<AppState>,
    SignedIn { actor, .. }: SignedIn,
    Query(q): Query<SessionQuery>,
) -> Result<Response, AppError> {
    sessions_file(&state, &actor, &q, Format::Xlsx).await
}

/// The training list page's query.
#[derive(Deserialize, Default)]
struct TrainingQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    status: String,
}

async fn trainings_file(
    state: &AppState,
    actor: &crate::authz::Actor,
    q: &TrainingQuery,
    format: Format,
) -> Result<Response, AppError> {
    let filter = TrainingFilter {
        from: Some(q.from.clone()),
        to: Some(q.to.clone()),
        status: Some(q.status.clone()),
        ..Default::default()
    };
    Ok(download(
        records::trainings_export(&state.db, actor, &filter, format).await?,
    ))
}

async fn trainings_csv(
    State(state): State<AppState>,
    SignedIn { actor, .. }: SignedIn,
    Query(q): Query<TrainingQuery>,
) -> Result<Response, AppError> {
    trainings_file(&state, &actor, &q, Format::Csv).await
}

async fn trainings_xlsx(
    State(state): State<AppState>,
    SignedIn { actor, .. }: SignedIn,
    Query(q): Query<TrainingQuery>,
) -> Result<Response, AppError> {
    trainings_file(&state, &actor, &q, Format::Xlsx).await
}
