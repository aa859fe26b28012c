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
    /// Shared with the registry's parsed copy: a submission reads it, never copies it.
    #[schema(value_type = Checklist)]
    pub checklist: Arc<Checklist>,
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

/// One checklist to score, for [`Registry::score_many`].
#[derive(Debug)]
pub struct ScoreRequest {
    pub version_id: i64,
    /// Score with this version even if it is no longer active (as [`Registry::score_pinned`]).
    pub pinned: bool,
    pub checklist_id: String,
    pub responses: Vec<Response>,
    pub context: ScoreContext,
}

struct Ready {
    version: PluginVersion,
    loaded: Arc<Loaded>,
    /// What the version declared at upload, parsed once: forms and validation read it on
    /// every submission.
    checklists: Arc<Vec<Arc<Checklist>>>,
}

pub struct Registry {
    db: Db,
    runtime: Runtime,
    ready: RwLock<HashMap<i64, Ready>>,
    /// Versions no longer active that stored sessions are pinned to, loaded when a correction
    /// re-scores with them.
    pinned: RwLock<HashMap<i64, Ready>>,
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
            pinned: RwLock::new(HashMap::new()),
            generation: RwLock::new(-1),
            failures: std::sync::Mutex::new(HashMap::new()),
            permits,
        });
        registry.refresh().await?;
        match super::lifecycle::backfill_metrics(&registry.db, &registry).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                versions = n,
                "recorded the metrics of older plugin versions"
            ),
            // Only indicator editing depends on these rows: serve anyway.
            Err(e) => tracing::warn!(error = %e, "recording the metrics of older plugin versions"),
        }
        Ok(registry)
    }

    /// A compiled active version and its checklists, if this process has it.
    pub async fn ready_definitions(
        &self,
        version_id: i64,
    ) -> Option<(Arc<Loaded>, Arc<Vec<Arc<Checklist>>>)> {
        let ready = self.ready.read().await;
        ready
            .get(&version_id)
            .map(|r| (r.loaded.clone(), r.checklists.clone()))
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
                            checklists: r.checklists.clone(),
                        },
                    );
                    continue;
                }
                match self.compile(v.id).await {
                    Ok((loaded, checklists)) => {
                        next.insert(
                            v.id,
                            Ready {
                                version: v,
                                loaded,
                                checklists,
                            },
                        );
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

    async fn compile(&self, id: i64) -> anyhow::Result<(Arc<Loaded>, Arc<Vec<Arc<Checklist>>>)> {
        let (bytes, checklists_json): (Vec<u8>, String) =
            sqlx::query_as("SELECT component, checklists_json FROM plugin_versions WHERE id = $1")
                .bind(id)
                .fetch_one(self.db.pool())
                .await?;
        let checklists: Vec<Arc<Checklist>> = serde_json::from_str(&checklists_json)?;
        let runtime = self.runtime.clone();
        let loaded = tokio::task::spawn_blocking(move || runtime.load(&bytes)).await??;
        Ok((Arc::new(loaded), Arc::new(checklists)))
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
        self.score_one(ScoreRequest {
            version_id,
            pinned: false,
            checklist_id: checklist_id.to_string(),
            responses,
            context,
        })
        .await
    }

    /// Scores with a version whether or not it is still active (never a quarantined one): a
    /// correction re-scores with the version its session was first scored with.
    pub async fn score_pinned(
        &self,
        version_id: i64,
        checklist_id: &str,
        responses: Vec<Response>,
        context: ScoreContext,
    ) -> Result<Scored, ScoreFailure> {
        self.score_one(ScoreRequest {
            version_id,
            pinned: true,
            checklist_id: checklist_id.to_string(),
            responses,
            context,
        })
        .await
    }

    async fn score_one(&self, request: ScoreRequest) -> Result<Scored, ScoreFailure> {
        self.score_many(vec![request])
            .await
            .pop()
            .unwrap_or(Err(ScoreFailure::NotAvailable))
    }

    /// Scores several checklists, each as [`Registry::score`] (or [`Registry::score_pinned`])
    /// would, in one trip to the blocking pool: a session's checklists are scored together,
    /// and on a busy machine every trip is two thread wake-ups. Each call still gets a fresh
    /// instance and limits of its own, and one plugin's failure is that request's alone.
    /// The results are in the order of the requests.
    pub async fn score_many(
        &self,
        requests: Vec<ScoreRequest>,
    ) -> Vec<Result<Scored, ScoreFailure>> {
        let mut results = Vec::with_capacity(requests.len());
        let mut calls = Vec::with_capacity(requests.len());
        for request in requests {
            let found = if request.pinned {
                match self.ready_version(request.version_id).await {
                    Ok(found) => Ok(found),
                    Err(_) => self.pinned_version(request.version_id).await,
                }
            } else {
                self.ready_version(request.version_id).await
            };
            match found {
                Ok((version, loaded)) => {
                    results.push(Ok(version));
                    calls.push((
                        loaded,
                        request.checklist_id,
                        request.responses,
                        request.context,
                    ));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        let outcomes = if calls.is_empty() {
            Vec::new()
        } else {
            match self
                .run(move |rt| {
                    calls
                        .iter()
                        .map(|(loaded, checklist_id, responses, context)| {
                            rt.score(loaded, checklist_id, responses, context)
                        })
                        .collect::<Vec<_>>()
                })
                .await
            {
                Ok(outcomes) => outcomes,
                Err(e) => {
                    // The blocking pool itself failed: every request that got this far
                    // fails alike.
                    let why = e.to_string();
                    return results
                        .into_iter()
                        .map(|found| match found {
                            Ok(_) => Err(ScoreFailure::Host(AppError::Internal(anyhow::anyhow!(
                                "{why}"
                            )))),
                            Err(e) => Err(e),
                        })
                        .collect();
                }
            }
        };
        let mut outcomes = outcomes.into_iter();
        let mut scored = Vec::with_capacity(results.len());
        for found in results {
            let version = match found {
                Ok(version) => version,
                Err(e) => {
                    scored.push(Err(e));
                    continue;
                }
            };
            let Some((result, stats)) = outcomes.next() else {
                scored.push(Err(ScoreFailure::NotAvailable));
                continue;
            };
            scored.push(match result {
                Ok(outcome) => {
                    self.failures.lock().map(|mut f| f.remove(&version.id)).ok();
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
            });
        }
        scored
    }

    async fn ready_version(
        &self,
        version_id: i64,
    ) -> Result<(PluginVersion, Arc<Loaded>), ScoreFailure> {
        let ready = self.ready.read().await;
        let r = ready.get(&version_id).ok_or(ScoreFailure::NotAvailable)?;
        Ok((r.version.clone(), r.loaded.clone()))
    }

    async fn pinned_version(
        &self,
        version_id: i64,
    ) -> Result<(PluginVersion, Arc<Loaded>), ScoreFailure> {
        if let Some(r) = self.pinned.read().await.get(&version_id) {
            return Ok((r.version.clone(), r.loaded.clone()));
        }
        let version: Option<PluginVersion> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM plugin_versions v JOIN organisations o ON o.id = v.organisation_id
             WHERE v.id = $1 AND v.quarantined_at IS NULL"
        ))
        .bind(version_id)
        .fetch_optional(self.db.pool())
        .await
        .map_err(|e| ScoreFailure::Host(e.into()))?;
        let version = version.ok_or(ScoreFailure::NotAvailable)?;
        let (loaded, checklists) = self
            .compile(version_id)
            .await
            .map_err(|e| ScoreFailure::Host(AppError::Internal(e)))?;
        self.pinned.write().await.insert(
            version_id,
            Ready {
                version: version.clone(),
                loaded: loaded.clone(),
                checklists,
            },
        );
        Ok((version, loaded))
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

    /// An active checklist that organisation `organisation_id` may use (its own plugin's, or
    /// one another partner granted it), from the versions this process has loaded.
    pub async fn usable_checklist(
        &self,
        organisation_id: i64,
        version_id: i64,
        checklist_id: &str,
    ) -> AppResult<Option<ChecklistRef>> {
        let found = {
            let ready = self.ready.read().await;
            ready.get(&version_id).and_then(|r| {
                let checklist = r.checklists.iter().find(|c| c.id == checklist_id)?;
                Some((r.version.clone(), checklist.clone()))
            })
        };
        let Some((version, checklist)) = found else {
            return Ok(None);
        };
        if version.organisation_id != organisation_id
            && !granted(
                &self.db,
                version.organisation_id,
                &version.plugin_key,
                organisation_id,
            )
            .await?
        {
            return Ok(None);
        }
        Ok(Some(ChecklistRef {
            plugin_version_id: version.id,
            plugin_key: version.plugin_key,
            plugin_version: version.version,
            sha256: version.sha256,
            organisation_id: version.organisation_id,
            organisation_code: version.organisation_code,
            checklist,
        }))
    }

    /// A checklist of any stored version (active or not), for showing and correcting what
    /// was scored with it.
    pub async fn stored_checklist(
        &self,
        version_id: i64,
        checklist_id: &str,
    ) -> AppResult<Option<Checklist>> {
        if let Some(r) = self.ready.read().await.get(&version_id) {
            return Ok(r
                .checklists
                .iter()
                .find(|c| c.id == checklist_id)
                .map(|c| Checklist::clone(c)));
        }
        let json: Option<String> =
            sqlx::query_scalar("SELECT checklists_json FROM plugin_versions WHERE id = $1")
                .bind(version_id)
                .fetch_optional(self.db.pool())
                .await?;
        let Some(json) = json else {
            return Ok(None);
        };
        let lists: Vec<Checklist> =
            serde_json::from_str(&json).map_err(|e| AppError::Internal(e.into()))?;
        Ok(lists.into_iter().find(|c| c.id == checklist_id))
    }

    /// A checklist of a stored version whether or not it is active (never a quarantined one),
    /// with what provides it: corrections re-score with the version a record was scored with.
    pub async fn stored_ref(
        &self,
        version_id: i64,
        checklist_id: &str,
    ) -> AppResult<Option<ChecklistRef>> {
        let version: Option<PluginVersion> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM plugin_versions v JOIN organisations o ON o.id = v.organisation_id
             WHERE v.id = $1 AND v.quarantined_at IS NULL"
        ))
        .bind(version_id)
        .fetch_optional(self.db.pool())
        .await?;
        let Some(version) = version else {
            return Ok(None);
        };
        let Some(checklist) = self.stored_checklist(version_id, checklist_id).await? else {
            return Ok(None);
        };
        Ok(Some(ChecklistRef {
            plugin_version_id: version.id,
            plugin_key: version.plugin_key,
            plugin_version: version.version,
            sha256: version.sha256,
            organisation_id: version.organisation_id,
            organisation_code: version.organisation_code,
            checklist: Arc::new(checklist),
        }))
    }

    /// The active version of the same plugin (same publisher and key) as `version_id`.
    pub async fn current_version_of(&self, version_id: i64) -> AppResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT a.id FROM plugin_versions a JOIN plugin_versions v
               ON v.organisation_id = a.organisation_id AND v.plugin_key = a.plugin_key
             WHERE v.id = $1 AND a.status = 'active' AND a.quarantined_at IS NULL
             ORDER BY a.id DESC LIMIT 1",
        )
        .bind(version_id)
        .fetch_optional(self.db.pool())
        .await?)
    }

    /// Active checklists, with their plugin versions, that organisation `scope` may use: its
    /// own plugins and those another partner granted it (`None`: every active checklist).
    pub async fn checklists(&self, scope: Option<i64>) -> AppResult<Vec<ChecklistRef>> {
        let rows: Vec<(i64, String, String, String, i64, String, String)> = sqlx::query_as(
            "SELECT v.id, v.plugin_key, v.version, v.sha256, v.organisation_id, o.code, v.checklists_json
             FROM plugin_versions v JOIN organisations o ON o.id = v.organisation_id
             WHERE v.status = 'active' AND v.quarantined_at IS NULL
               AND ($1 IS NULL OR v.organisation_id = $1 OR EXISTS (
                    SELECT 1 FROM plugin_grants g
                    WHERE g.publisher_organisation_id = v.organisation_id
                      AND g.plugin_key = v.plugin_key AND g.grantee_organisation_id = $1))
             ORDER BY o.code, v.plugin_key, v.id",
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
                    checklist: Arc::new(checklist),
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

/// Whether the publisher granted organisation `grantee` the use of its plugin `plugin_key`.
pub async fn granted(db: &Db, publisher: i64, plugin_key: &str, grantee: i64) -> AppResult<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM plugin_grants
         WHERE publisher_organisation_id = $1 AND plugin_key = $2 AND grantee_organisation_id = $3",
    )
    .bind(publisher)
    .bind(plugin_key)
    .bind(grantee)
    .fetch_one(db.pool())
    .await?;
    Ok(n > 0)
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
