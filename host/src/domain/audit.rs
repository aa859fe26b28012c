//! The audit log: who changed which record, when, from what to what. Entries are written in
//! the transaction of the change itself, so a change without its entry cannot exist.

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use crate::authz::Actor;
use crate::db::{Db, Tx};
use crate::error::{AppError, AppResult};

#[derive(Debug, Serialize, FromRow, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor_id: Option<i64>,
    pub organisation_id: Option<i64>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    /// The record before the change, as JSON text; absent for creations.
    pub before_json: Option<String>,
    /// The record after the change, as JSON text; absent for deletions.
    pub after_json: Option<String>,
}

/// Records a change. `actor` is `None` for changes made by the command line or the demo loader.
#[allow(clippy::too_many_arguments)]
pub async fn record<B: Serialize, A: Serialize>(
    tx: &mut Tx,
    actor: Option<&Actor>,
    organisation_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: impl ToString,
    before: Option<&B>,
    after: Option<&A>,
) -> AppResult<()> {
    let before = before.map(serde_json::to_string).transpose();
    let after = after.map(serde_json::to_string).transpose();
    let (before, after) = (
        before.map_err(|e| AppError::Internal(e.into()))?,
        after.map_err(|e| AppError::Internal(e.into()))?,
    );
    record_json(
        tx,
        actor,
        organisation_id,
        action,
        entity,
        entity_id,
        before,
        after,
    )
    .await
}

/// [`record`] with the record already serialised: for a hot write path that serialises
/// before it takes the writer rather than while holding it.
#[allow(clippy::too_many_arguments)]
pub async fn record_json(
    tx: &mut Tx,
    actor: Option<&Actor>,
    organisation_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: impl ToString,
    before: Option<String>,
    after: Option<String>,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, organisation_id, action, entity, entity_id, before_json, after_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(crate::time::now())
    .bind(actor.map(|a| a.user_id))
    .bind(organisation_id)
    .bind(action)
    .bind(entity)
    .bind(entity_id.to_string())
    .bind(before)
    .bind(after)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The entries about one record, newest first, if the actor may read them.
pub async fn for_entity(
    db: &Db,
    actor: &Actor,
    entity: &str,
    entity_id: &str,
    limit: i64,
) -> AppResult<Vec<AuditEntry>> {
    let rows: Vec<AuditEntry> = sqlx::query_as(
        "SELECT id, at, actor_id, organisation_id, action, entity, entity_id, before_json, after_json
         FROM audit_log WHERE entity = $1 AND entity_id = $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(entity)
    .bind(entity_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    if rows
        .iter()
        .any(|r| !actor.can_read_audit(r.organisation_id))
    {
        return Err(AppError::NotFound);
    }
    Ok(rows)
}

/// The most recent entries the actor may read.
pub async fn recent(db: &Db, actor: &Actor, limit: i64) -> AppResult<Vec<AuditEntry>> {
    if !actor.can_read_audit(Some(actor.organisation_id)) {
        return Err(AppError::Forbidden);
    }
    let scope = if actor.reads_all_organisations() {
        None
    } else {
        Some(actor.organisation_id)
    };
    let rows = sqlx::query_as(
        "SELECT id, at, actor_id, organisation_id, action, entity, entity_id, before_json, after_json
         FROM audit_log WHERE ($1 IS NULL OR organisation_id = $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(scope)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows)
}
