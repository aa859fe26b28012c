//! `/api/v1/audit`: the audit log, as far as the caller may read it.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiQuery, ApiResult, ApiUser, ErrorBody};
use crate::config::AppState;
use crate::domain::audit::{self, AuditEntry};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Deserialize, IntoParams)]
struct AuditQuery {
    /// With `entity_id`: the history of one record, e.g. `provider` and `42`.
    entity: Option<String>,
    entity_id: Option<String>,
    /// At most 500.
    limit: Option<i64>,
}

/// Recent changes, newest first, or the history of one record.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = Vec<AuditEntry>), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let entries = match (q.entity, q.entity_id) {
        (Some(entity), Some(id)) => {
            audit::for_entity(&state.db, &user.actor, &entity, &id, limit).await?
        }
        _ => audit::recent(&state.db, &user.actor, limit).await?,
    };
    Ok(Json(entries))
}
