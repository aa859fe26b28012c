//! Stored plugin versions and the compiled ones this process keeps ready. The database is the
//! truth (so every host process sharing it sees the same plugins); each process compiles the
//! active versions, and reloads when the shared generation counter moves.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sqlx::FromRow;
use tokio::sync::{RwLock, Semaphore};
use utoipa::ToSchema;

use super::model::{Checklist, Manifest, Response, ScoreCard, ScoreContext, ScoreRefusal};
use super::runtime::{CallStats, Loaded, PluginError, Runtime};
use crate::db::Db;
use crate::error::{AppError, AppResult};

/// Consecutive failed calls after which a version is quarantined.
pub const QUARANTINE_AFTER: u32 = 5;

macro_rules! columns {
    () => {
        "v.id, v.organisation_id, o.code AS organisation_code, v.plugin_key, v.version, v.name, v.contract_version, v.sha256, v.size_bytes, v.status, v.uploaded_by, v.uploaded_at, v.status_changed_at, v.quarantined_at, v.quarantine_reason"
    };
}
pub(crate) use columns;

/// A stored plugin version, without its bytes.
#[derive(Clone, Debug, Serialize, FromRow, ToSchema)]
pub struct PluginVersion {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation_code: String,
    /// The manifest's id, e.g. `hbb`.
    pub plugin_key: String,
    pub version: String,
    pub name: String,
    /// The contract version the plugin was built against.
    pub contract_version: String,
    pub sha256: String,
    pub size_bytes: i64,
    /// `inactive`, `active` or `retired`.
    pub status: String,
    pub uploaded_by: Option<i64>,
    pub uploaded_at: String,
    pub status_changed_at: String,
    /// Set when the version kept failing and was taken out of use.
    pub quarantined_at: Option<String>,
    pub quarantine_reason: Option<String>,
}

/// A checklist as users choose it: which plugin version provides it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ChecklistRef {
    pub plugin_version_id: i64,
    pub plugin_key: String,
    pub plugin_version: String,
    pub sha256: String,
    pub organisation_id: i64,
    pub organisation_code: String,
    pub checklist: Checklist,
}

/// A successful score, with what produced it.
#[derive(Clone, Debug, Serialize)]
pub struct Scored {
    pub plugin_version_id: i64,
    pub plugin_key: String,
    pub plugin_version: String,
    pub sha256: String,
    pub outcome: Result<ScoreCard, ScoreRefusal>,
    pub stats: CallStats,
}

struct Ready {
    version: PluginVersion,
    loaded: Arc<Loaded>,
}

pub struct Registry {
    db: Db,
    runtime: Runtime,
    ready: RwLock<HashMap<i64, Ready>>,
    generation: RwLock<i64>,
    failures: std::sync::Mutex<HashMap<i64, u32>>,
    permits: Semaphore,
}

impl Registry {
    /// Loads every active version; a version that no longer loads is reported and skipped.
    pub async fn start(db: Db, runtime: Runtime) -> anyhow::Result<Arc<Registry>> {
        let permits = Semaphore::new(runtime.limits().concurrency.max(1));
        let registry = Arc::new(Registry {
            db,
            runtime,
            ready: RwLock::new(HashMap::new()),
            generation: RwLock::new(-1),
            failures: std::sync::Mutex::new(HashMap::new()),
            permits,
        });
        registry.refresh().await?;
        Ok(registry)
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Follows changes made by other processes: checks the generation every `every`.
    pub fn watch(self: &Arc<Self>, every: Duration) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let Some(registry) = weak.upgrade() else {
                    return;
                };
                if let Err(e) = registry.refresh().await {
                    tracing::error!(error = format!("{e:#}"), "reloading plugins");
                }
            }
        });
    }

    async fn current_generation(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT generation FROM plugin_state WHERE id = 1")
            .fetch_one(self.db.pool())
            .await
    }

    /// Brings the compiled set in line with the database, if anything changed.
    pub async fn refresh(&self) -> anyhow::Result<()> {
        let generation = self.current_generation().await?;
        if *self.generation.read().await == generation {
            return Ok(());
        }
        let wanted: Vec<PluginVersion> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM plugin_versions v JOIN organisations o ON o.id = v.organisation_id
             WHERE v.status = 'active' AND v.quarantined_at IS NULL"
        ))
        .fetch_all(self.db.pool())
        .await?;
        let mut next = HashMap::new();
        {
            let current = self.ready.read().await;
            for v in wanted {
                if let Some(r) = current.get(&v.id) {
                    next.insert(
                        v.id,
                        Ready {
                            version: v,
                            loaded: r.loaded.clone(),
                        },
                    );
                    continue;
                }
                match self.compile(v.id).await {
                    Ok(loaded) => {
                        next.insert(v.id, Ready { version: v, loaded });
                    }
                    Err(e) => {
                        tracing::error!(plugin = %v.plugin_key, version = %v.version, error = %e, "an active plugin version does not load")
                    }
                }
            }
        }
        *self.ready.write().await = next;
        *self.generation.write().await = generation;
        Ok(())
    }

    async fn compile(&self, id: i64) -> anyhow::Result<Arc<Loaded>> {
        let bytes: Vec<u8> =
            sqlx::query_scalar("SELECT component FROM plugin_versions WHERE id = $1")
                .bind(id)
                .fetch_one(self.db.pool())
                .await?;
        let runtime = self.runtime.clone();
        let loaded = tokio::task::spawn_blocking(move || runtime.load(&bytes)).await??;
        Ok(Arc::new(loaded))
    }

    /// Loads a component off the async workers (compiling can take a second).
    pub async fn load_bytes(&self, bytes: Vec<u8>) -> Result<Loaded, AppError> {
        let runtime = self.runtime.clone();
        tokio::task::spawn_blocking(move || runtime.load(&bytes))
            .await
            .map_err(|e| AppError::Internal(e.into()))?
            .map_err(|e| AppError::field("component", "plugin_refused", e.to_string()))
    }

    /// Runs a plugin call on the blocking pool, at most `concurrency` at once.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Runtime) -> R + Send + 'static,
    ) -> AppResult<R> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        let runtime = self.runtime.clone();
        tokio::task::spawn_blocking(move || f(&runtime))
            .await
            .map_err(|e| AppError::Internal(e.into()))
    }

    pub async fn is_ready(&self, version_id: i64) -> bool {
        self.ready.read().await.contains_key(&version_id)
    }

    /// Scores with an active version. A plugin failure counts towards quarantine.
    pub async fn score(
        &self,
        version_id: i64,
        checklist_id: &str,
        responses: Vec<Response>,
        context: ScoreContext,
    ) -> Result<Scored, ScoreFailure> {
        let (version, loaded) = {
            let ready = self.ready.read().await;
            let r = ready.get(&version_id).ok_or(ScoreFailure::NotAvailable)?;
            (r.version.clone(), r.loaded.clone())
        };
        let checklist_id = checklist_id.to_string();
        let (result, stats) = self
            .run(move |rt| rt.score(&loaded, &checklist_id, &responses, &context))
            .await
            .map_err(ScoreFailure::Host)?;
        match result {
            Ok(outcome) => {
                self.failures.lock().map(|mut f| f.remove(&version_id)).ok();
                Ok(Scored {
                    plugin_version_id: version.id,
                    plugin_key: version.plugin_key,
                    plugin_version: version.version,
                    sha256: version.sha256,
                    outcome,
                    stats,
                })
            }
            Err(e) => {
                self.record_failure(&version, &e).await;
                Err(ScoreFailure::Plugin(e))
            }
        }
    }

    async fn record_failure(&self, version: &PluginVersion, e: &PluginError) {
        let count = self
            .failures
            .lock()
            .map(|mut f| {
                let n = f.entry(version.id).or_insert(0);
                *n += 1;
                *n
            })
            .unwrap_or(0);
        tracing::warn!(plugin = %version.plugin_key, version = %version.version, failures = count, error = %e, "plugin call failed");
        if count >= QUARANTINE_AFTER
            && let Err(err) = quarantine(
                &self.db,
                version.id,
                &format!("{count} calls in a row failed; the last: {e}"),
            )
            .await
        {
            tracing::error!(error = %err, "quarantining a plugin version");
        }
    }

    /// Active checklists, with their plugin versions, for organisations `scope` (`None`: all).
    pub async fn checklists(&self, scope: Option<i64>) -> AppResult<Vec<ChecklistRef>> {
        let rows: Vec<(i64, String, String, String, i64, String, String)> = sqlx::query_as(
            "SELECT v.id, v.plugin_key, v.version, v.sha256, v.organisation_id, o.code, v.checklists_json
             FROM plugin_versions v JOIN organisations o ON o.id = v.organisation_id
             WHERE v.status = 'active' AND v.quarantined_at IS NULL AND ($1 IS NULL OR v.organisation_id = $1)
             ORDER BY o.code, v.plugin_key",
        )
        .bind(scope)
        .fetch_all(self.db.pool())
        .await?;
        let mut out = Vec::new();
        for (id, key, version, sha256, org, code, json) in rows {
            let lists: Vec<Checklist> =
                serde_json::from_str(&json).map_err(|e| AppError::Internal(e.into()))?;
            for checklist in lists {
                out.push(ChecklistRef {
                    plugin_version_id: id,
                    plugin_key: key.clone(),
                    plugin_version: version.clone(),
                    sha256: sha256.clone(),
                    organisation_id: org,
                    organisation_code: code.clone(),
                    checklist,
                });
            }
        }
        Ok(out)
    }

    /// Describes and lists checklists of a loaded component under the limits.
    pub async fn inspect(
        &self,
        loaded: Arc<Loaded>,
    ) -> AppResult<(
        Result<Manifest, PluginError>,
        Result<Vec<Checklist>, PluginError>,
    )> {
        self.run(move |rt| (rt.describe(&loaded).0, rt.checklists(&loaded).0))
            .await
    }
}

/// Why a score could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ScoreFailure {
    #[error("this checklist's plugin is not active on this server")]
    NotAvailable,
    #[error("{0}")]
    Plugin(PluginError),
    #[error("{0}")]
    Host(AppError),
}

/// Takes a version out of use after repeated failures; visible on its page until released.
pub async fn quarantine(db: &Db, id: i64, reason: &str) -> AppResult<()> {
    let mut tx = db.begin().await?;
    let n = sqlx::query("UPDATE plugin_versions SET quarantined_at = $1, quarantine_reason = $2 WHERE id = $3 AND quarantined_at IS NULL")
        .bind(crate::time::now())
        .bind(reason)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n > 0 {
        let org: i64 =
            sqlx::query_scalar("SELECT organisation_id FROM plugin_versions WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        crate::domain::audit::record(
            &mut tx,
            None,
            Some(org),
            "quarantine",
            "plugin_version",
            id,
            None::<&()>,
            Some(&serde_json::json!({"reason": reason})),
        )
        .await?;
        bump_generation(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn bump_generation(tx: &mut crate::db::Tx) -> AppResult<()> {
    sqlx::query("UPDATE plugin_state SET generation = generation + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    Ok(())
}
