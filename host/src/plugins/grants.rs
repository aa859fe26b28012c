//! Which partners may use another partner's plugin. A publisher's org admin grants the use of
//! a plugin (by its key, so every later version follows) to another organisation: the
//! midwives' association's mentors can then score Helping Babies Breathe with the paediatric
//! association's own checklists. A grant shares checklists and scoring rules only: the
//! sessions scored with them stay the records of the organisation that logged them.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use super::lifecycle;
use super::registry::PluginVersion;
use crate::authz::{Actor, Role};
use crate::db::{Db, is_unique_violation};
use crate::domain::{audit, organisations};
use crate::error::{AppError, AppResult};

#[derive(Clone, Debug, Serialize, FromRow, ToSchema)]
pub struct Grant {
    pub publisher_organisation_id: i64,
    pub plugin_key: String,
    pub grantee_organisation_id: i64,
    pub grantee_code: String,
    pub grantee_name: String,
    pub granted_at: String,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct GrantInput {
    /// The organisation that may use the plugin.
    pub organisation_id: Option<i64>,
}

macro_rules! grant_select {
    () => {
        "SELECT g.publisher_organisation_id, g.plugin_key, g.grantee_organisation_id,
                o.code AS grantee_code, o.name AS grantee_name, g.granted_at
         FROM plugin_grants g JOIN organisations o ON o.id = g.grantee_organisation_id"
    };
}

/// The version's plugin, if the actor may read it.
async fn plugin_of(db: &Db, actor: &Actor, version_id: i64) -> AppResult<PluginVersion> {
    lifecycle::find(db, version_id)
        .await?
        .filter(|v| actor.can_read_org(v.organisation_id))
        .ok_or(AppError::NotFound)
}

fn may_grant(actor: &Actor, v: &PluginVersion) -> AppResult<()> {
    match actor.role {
        Role::Admin => Ok(()),
        Role::OrgAdmin if actor.organisation_id == v.organisation_id => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// Organisations granted the use of this version's plugin.
pub async fn list(db: &Db, actor: &Actor, version_id: i64) -> AppResult<Vec<Grant>> {
    let v = plugin_of(db, actor, version_id).await?;
    Ok(sqlx::query_as(concat!(
        grant_select!(),
        " WHERE g.publisher_organisation_id = $1 AND g.plugin_key = $2 ORDER BY o.code"
    ))
    .bind(v.organisation_id)
    .bind(&v.plugin_key)
    .fetch_all(db.pool())
    .await?)
}

async fn find(db: &Db, v: &PluginVersion, grantee: i64) -> AppResult<Option<Grant>> {
    Ok(sqlx::query_as(concat!(
        grant_select!(),
        " WHERE g.publisher_organisation_id = $1 AND g.plugin_key = $2 AND g.grantee_organisation_id = $3"
    ))
    .bind(v.organisation_id)
    .bind(&v.plugin_key)
    .bind(grantee)
    .fetch_optional(db.pool())
    .await?)
}

/// Grants the use of the plugin; granting what is already granted changes nothing.
pub async fn add(
    db: &Db,
    actor: Option<&Actor>,
    version_id: i64,
    input: &GrantInput,
) -> AppResult<(Grant, bool)> {
    let v = match actor {
        Some(a) => {
            let v = plugin_of(db, a, version_id).await?;
            may_grant(a, &v)?;
            v
        }
        None => lifecycle::find(db, version_id)
            .await?
            .ok_or(AppError::NotFound)?,
    };
    let Some(grantee) = input.organisation_id else {
        return Err(AppError::field(
            "organisation_id",
            "required",
            "is required",
        ));
    };
    if grantee == v.organisation_id {
        return Err(AppError::field(
            "organisation_id",
            "own_organisation",
            "the publisher uses its own plugins already",
        ));
    }
    if organisations::find(db, grantee).await?.is_none() {
        return Err(AppError::field(
            "organisation_id",
            "unknown",
            "no such organisation",
        ));
    }
    if let Some(g) = find(db, &v, grantee).await? {
        return Ok((g, false));
    }
    let mut tx = db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO plugin_grants (publisher_organisation_id, plugin_key, grantee_organisation_id, granted_by, granted_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(v.organisation_id)
    .bind(&v.plugin_key)
    .bind(grantee)
    .bind(actor.map(|a| a.user_id))
    .bind(crate::time::now())
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => {
            drop(tx);
            let g = find(db, &v, grantee).await?.ok_or(AppError::NotFound)?;
            return Ok((g, false));
        }
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    audit::record(
        &mut tx,
        actor,
        Some(v.organisation_id),
        "grant",
        "plugin",
        format!("{}/{}", v.organisation_code, v.plugin_key),
        None::<&()>,
        Some(&serde_json::json!({"grantee_organisation_id": grantee})),
    )
    .await?;
    tx.commit().await?;
    let g = find(db, &v, grantee).await?.ok_or(AppError::NotFound)?;
    Ok((g, true))
}

/// Withdraws a grant. Sessions already scored with the plugin keep their scores.
pub async fn remove(db: &Db, actor: &Actor, version_id: i64, grantee: i64) -> AppResult<()> {
    let v = plugin_of(db, actor, version_id).await?;
    may_grant(actor, &v)?;
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "DELETE FROM plugin_grants
         WHERE publisher_organisation_id = $1 AND plugin_key = $2 AND grantee_organisation_id = $3",
    )
    .bind(v.organisation_id)
    .bind(&v.plugin_key)
    .bind(grantee)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        Some(actor),
        Some(v.organisation_id),
        "revoke",
        "plugin",
        format!("{}/{}", v.organisation_code, v.plugin_key),
        Some(&serde_json::json!({"grantee_organisation_id": grantee})),
        None::<&()>,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
