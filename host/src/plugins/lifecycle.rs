//! Installing plugin versions and changing their status. An upload is checked from end to end
//! (size, component, contract version, imports, publisher, definitions, a dry run of every
//! checklist under production limits) before anything is stored, and stored in one
//! transaction with its audit entry.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use super::checks;
use super::model::{Checklist, Manifest, ScoreContext};
use super::registry::{PluginVersion, Registry, bump_generation, columns};
use super::runtime::Loaded;
use crate::authz::{Actor, Role};
use crate::db::Db;
use crate::domain::{audit, organisations};
use crate::error::{AppError, AppResult, FieldError};

/// A stored version with what it declares.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginDetail {
    #[serde(flatten)]
    pub version: PluginVersion,
    pub manifest: Manifest,
    pub checklists: Vec<Checklist>,
}

/// The result of an upload: the version, and whether it was new.
#[derive(Debug)]
pub struct Installed {
    pub version: PluginVersion,
    pub created: bool,
}

fn refuse(message: impl Into<String>) -> AppError {
    AppError::Validation(vec![FieldError::new(
        "component",
        "plugin_refused",
        message,
    )])
}

fn refuse_all(problems: Vec<String>) -> AppError {
    AppError::Validation(
        problems
            .into_iter()
            .map(|m| FieldError::new("component", "plugin_refused", m))
            .collect(),
    )
}

/// Checks and stores a plugin version. `actor` is `None` for the command line and the demo,
/// which may install for any existing publisher.
pub async fn install(
    db: &Db,
    registry: &Registry,
    actor: Option<&Actor>,
    bytes: Vec<u8>,
) -> AppResult<Installed> {
    if let Some(a) = actor
        && !matches!(a.role, Role::Admin | Role::OrgAdmin)
    {
        return Err(AppError::Forbidden);
    }
    let sha256 = super::runtime::sha256_hex(&bytes);
    let size = bytes.len();
    let loaded = Arc::new(registry.load_bytes(bytes.clone()).await?);
    let (manifest, checklists) = registry.inspect(loaded.clone()).await?;
    let manifest = manifest.map_err(|e| refuse(format!("describing itself failed: {e}")))?;
    let checklists =
        checklists.map_err(|e| refuse(format!("listing its checklists failed: {e}")))?;
    let mut problems = checks::manifest_problems(&manifest);
    problems.extend(checks::checklist_problems(&checklists));
    if !problems.is_empty() {
        return Err(refuse_all(problems));
    }
    let publisher = organisations::find_by_code(db, &manifest.publisher)
        .await?
        .ok_or_else(|| {
            refuse(format!(
                "its publisher {:?} is not an organisation on this server",
                manifest.publisher
            ))
        })?;
    if let Some(a) = actor
        && a.role != Role::Admin
        && publisher.id != a.organisation_id
    {
        return Err(refuse(format!(
            "it is published by {}, not by your organisation; only its publisher may install it",
            manifest.publisher
        )));
    }
    // The metric names the dry run emits are kept, so an indicator formula naming a metric
    // that no plugin produces can be refused.
    let emitted = dry_run(registry, &loaded, &checklists).await?;

    let manifest_json =
        serde_json::to_string(&manifest).map_err(|e| AppError::Internal(e.into()))?;
    let checklists_json =
        serde_json::to_string(&checklists).map_err(|e| AppError::Internal(e.into()))?;
    let now = crate::time::now();
    let mut tx = db.begin().await?;
    let existing: Option<(i64, String)> = sqlx::query_as(
        "SELECT id, sha256 FROM plugin_versions WHERE organisation_id = $1 AND plugin_key = $2 AND version = $3",
    )
    .bind(publisher.id)
    .bind(&manifest.id)
    .bind(&manifest.version)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((id, existing_sha)) = existing {
        drop(tx);
        if existing_sha == sha256 {
            return Ok(Installed {
                version: find(db, id).await?.ok_or(AppError::NotFound)?,
                created: false,
            });
        }
        return Err(AppError::Conflict(format!(
            "version {} of plugin {} is already installed with different content; versions never change, so give this build a new version number",
            manifest.version, manifest.id
        )));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO plugin_versions (organisation_id, plugin_key, version, name, contract_version, sha256, size_bytes,
            component, manifest_json, checklists_json, status, uploaded_by, uploaded_at, status_changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'inactive', $11, $12, $12) RETURNING id",
    )
    .bind(publisher.id)
    .bind(&manifest.id)
    .bind(&manifest.version)
    .bind(&manifest.name.default)
    .bind(&loaded.contract)
    .bind(&sha256)
    .bind(size as i64)
    .bind(bytes)
    .bind(&manifest_json)
    .bind(&checklists_json)
    .bind(actor.map(|a| a.user_id))
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?;
    for (checklist_id, name) in &emitted {
        sqlx::query(INSERT_METRIC)
            .bind(id)
            .bind(checklist_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
    }
    let summary = serde_json::json!({
        "plugin": manifest.id, "version": manifest.version, "sha256": sha256, "size_bytes": size,
        "contract": loaded.contract, "checklists": checklists.iter().map(|c| &c.id).collect::<Vec<_>>(),
    });
    audit::record(
        &mut tx,
        actor,
        Some(publisher.id),
        "install",
        "plugin_version",
        id,
        None::<&()>,
        Some(&summary),
    )
    .await?;
    bump_generation(&mut tx).await?;
    tx.commit().await?;
    Ok(Installed {
        version: find(db, id).await?.ok_or(AppError::NotFound)?,
        created: true,
    })
}

/// The dry run: every checklist, best and worst answers, under production limits. Returns the
/// (checklist, metric name) pairs the score cards emitted.
async fn dry_run(
    registry: &Registry,
    loaded: &Arc<Loaded>,
    checklists: &[impl std::borrow::Borrow<Checklist>],
) -> AppResult<BTreeSet<(String, String)>> {
    let mut emitted = BTreeSet::new();
    for c in checklists {
        let c: &Checklist = c.borrow();
        for responses in checks::dry_run_responses(c) {
            let id = c.id.clone();
            let l = loaded.clone();
            let context = ScoreContext {
                session_type: "skills_drill".into(),
                mentee_cadre: "midwife".into(),
                date: "2026-01-15".into(),
                language: "en".into(),
            };
            let (result, _) = registry
                .run(move |rt| rt.score(&l, &id, &responses, &context))
                .await?;
            match result {
                Ok(Ok(card)) => {
                    emitted.extend(card.metrics.into_iter().map(|m| (c.id.clone(), m.name)));
                }
                Ok(Err(refusal)) => {
                    return Err(refuse(format!(
                        "scoring a complete set of answers to checklist {:?} was refused by the plugin itself: {}",
                        c.id,
                        serde_json::to_string(&refusal).unwrap_or_default()
                    )));
                }
                Err(e) => {
                    return Err(refuse(format!(
                        "the dry run of checklist {:?} failed: {e}",
                        c.id
                    )));
                }
            }
        }
    }
    Ok(emitted)
}

const INSERT_METRIC: &str =
    "INSERT INTO plugin_metrics (plugin_version_id, checklist_id, name) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING";

/// Records the metrics of active versions installed before the server kept them (migration
/// 0004), so that indicator formulas may name those metrics before any observation carries
/// them. A version's dry run is deterministic, so running it again gives what its upload
/// would have stored; processes starting together may both write the same rows, which the
/// key absorbs. Returns how many versions were filled in.
pub async fn backfill_metrics(db: &Db, registry: &Registry) -> AppResult<usize> {
    let missing: Vec<i64> = sqlx::query_scalar(
        "SELECT v.id FROM plugin_versions v
         WHERE v.status = 'active' AND v.quarantined_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM plugin_metrics m WHERE m.plugin_version_id = v.id)
         ORDER BY v.id",
    )
    .fetch_all(db.pool())
    .await?;
    let mut filled = 0;
    for id in missing {
        // Not compiled here (it failed to load, or was retired meanwhile): nothing to run.
        let Some((loaded, checklists)) = registry.ready_definitions(id).await else {
            continue;
        };
        let emitted = match dry_run(registry, &loaded, &checklists).await {
            Ok(emitted) => emitted,
            Err(e) => {
                tracing::warn!(plugin_version = id, error = %e, "recording the metrics of an older plugin version");
                continue;
            }
        };
        if emitted.is_empty() {
            continue;
        }
        let mut tx = db.begin().await?;
        for (checklist_id, name) in &emitted {
            sqlx::query(INSERT_METRIC)
                .bind(id)
                .bind(checklist_id)
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        filled += 1;
    }
    Ok(filled)
}

pub async fn find(db: &Db, id: i64) -> AppResult<Option<PluginVersion>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM plugin_versions v JOIN organisations o ON o.id = v.organisation_id WHERE v.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?)
}

pub async fn list(db: &Db, actor: &Actor) -> AppResult<Vec<PluginVersion>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM plugin_versions v JOIN organisations o ON o.id = v.organisation_id
         WHERE ($1 IS NULL OR v.organisation_id = $1) ORDER BY o.code, v.plugin_key, v.id DESC"
    ))
    .bind(actor.org_scope())
    .fetch_all(db.pool())
    .await?)
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> AppResult<PluginDetail> {
    let version = find(db, id)
        .await?
        .filter(|v| actor.can_read_org(v.organisation_id))
        .ok_or(AppError::NotFound)?;
    let (manifest, checklists): (String, String) =
        sqlx::query_as("SELECT manifest_json, checklists_json FROM plugin_versions WHERE id = $1")
            .bind(id)
            .fetch_one(db.pool())
            .await?;
    Ok(PluginDetail {
        version,
        manifest: serde_json::from_str(&manifest).map_err(|e| AppError::Internal(e.into()))?,
        checklists: serde_json::from_str(&checklists).map_err(|e| AppError::Internal(e.into()))?,
    })
}

/// The status changes an org admin makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Puts the version in use; the plugin's previously active version steps back.
    Activate,
    /// Takes it out of use for good (it stays stored, as scores may name it).
    Retire,
    /// Lifts a quarantine after the publisher has looked into it.
    Release,
}

pub async fn change(
    db: &Db,
    registry: &Registry,
    actor: Option<&Actor>,
    id: i64,
    change: Change,
) -> AppResult<PluginVersion> {
    let before = find(db, id).await?.ok_or(AppError::NotFound)?;
    if let Some(a) = actor {
        if !a.can_read_org(before.organisation_id) {
            return Err(AppError::NotFound);
        }
        let may = a.role == Role::Admin
            || (a.role == Role::OrgAdmin && a.organisation_id == before.organisation_id);
        if !may {
            return Err(AppError::Forbidden);
        }
    }
    if change == Change::Activate {
        if before.status == "retired" {
            return Err(AppError::Conflict(
                "a retired version cannot be activated again; install a new version".into(),
            ));
        }
        if before.quarantined_at.is_some() {
            return Err(AppError::Conflict(
                "this version is quarantined; release it first".into(),
            ));
        }
    }
    let now = crate::time::now();
    let mut tx = db.begin().await?;
    match change {
        Change::Activate => {
            sqlx::query(
                "UPDATE plugin_versions SET status = 'inactive', status_changed_at = $1
                 WHERE organisation_id = $2 AND plugin_key = $3 AND status = 'active' AND id <> $4",
            )
            .bind(&now)
            .bind(before.organisation_id)
            .bind(&before.plugin_key)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE plugin_versions SET status = 'active', status_changed_at = $1 WHERE id = $2")
                .bind(&now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        Change::Retire => {
            sqlx::query("UPDATE plugin_versions SET status = 'retired', status_changed_at = $1 WHERE id = $2")
                .bind(&now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        Change::Release => {
            sqlx::query("UPDATE plugin_versions SET quarantined_at = NULL, quarantine_reason = NULL WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
    }
    let action = match change {
        Change::Activate => "activate",
        Change::Retire => "retire",
        Change::Release => "release",
    };
    let snapshot = |status: &str, q: Option<&String>| serde_json::json!({"status": status, "quarantined_at": q});
    let after_status = match change {
        Change::Activate => "active",
        Change::Retire => "retired",
        Change::Release => before.status.as_str(),
    };
    let after_q = if change == Change::Release {
        None
    } else {
        before.quarantined_at.as_ref()
    };
    audit::record(
        &mut tx,
        actor,
        Some(before.organisation_id),
        action,
        "plugin_version",
        id,
        Some(&snapshot(&before.status, before.quarantined_at.as_ref())),
        Some(&snapshot(after_status, after_q)),
    )
    .await?;
    bump_generation(&mut tx).await?;
    tx.commit().await?;
    // This process sees its own change at once; the others at their next check.
    registry.refresh().await.map_err(AppError::Internal)?;
    find(db, id).await?.ok_or(AppError::NotFound)
}
