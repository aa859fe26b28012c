//! Checklist responses, as forms and the API send them, checked against the checklist its
//! plugin declared and then scored by that plugin. Sessions (observations of mentees) and
//! trainings (pre- and post-tests) both go through here, so a checklist means the same thing
//! wherever it is filled.
//!
//! The host checks the responses itself before any plugin runs: a plugin's own validation is
//! a second opinion, not the only guard, and the host's errors name fields the way forms do.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::{DbKind, Tx};
use crate::error::{AppError, AppResult, FieldError, Validator};
use crate::plugins::model::{
    Answer, Checklist, ChecklistKind, Localized, Response, ResponseKind, ScoreCard, ScoreContext,
    ScoreRefusal,
};
use crate::plugins::registry::{ChecklistRef, Registry, ScoreFailure, ScoreRequest, Scored};

/// At most this many responses per checklist: no real checklist has more items.
pub const MAX_RESPONSES: usize = 500;

/// One filled checklist in a request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChecklistInput {
    /// The plugin version providing the checklist, as `GET /api/v1/checklists` lists it.
    pub plugin_version_id: Option<i64>,
    pub checklist_id: Option<String>,
    #[serde(default)]
    pub responses: Vec<Response>,
}

/// A checklist resolved and its responses checked: ready to score.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The field prefix errors are reported under, e.g. `observations[2]`.
    pub field: String,
    pub checklist: ChecklistRef,
    pub responses: Vec<Response>,
}

/// Which plugin version scores a checked checklist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// The version named in the request, which must be active.
    Active,
    /// The version stored with the record being corrected, active or not.
    Pinned,
}

/// A scored checklist, as stored.
#[derive(Clone, Debug)]
pub struct ScoredChecklist {
    pub checked: Checked,
    pub scored: Scored,
    pub card: ScoreCard,
}

/// Resolves a usable checklist for `organisation_id` and checks the responses against it.
/// Problems are added to `v` under `field` (e.g. `observations[0].checklist_id`,
/// `observations[0].responses.osce-a-3`).
pub async fn check(
    registry: &Registry,
    organisation_id: i64,
    field: &str,
    input: &ChecklistInput,
    kinds: &[ChecklistKind],
    v: &mut Validator,
) -> AppResult<Option<Checked>> {
    let Some(version_id) = input.plugin_version_id else {
        v.add(
            &format!("{field}.plugin_version_id"),
            "required",
            "is required",
        );
        return Ok(None);
    };
    let Some(checklist_id) = input.checklist_id.as_deref().filter(|c| !c.is_empty()) else {
        v.add(&format!("{field}.checklist_id"), "required", "is required");
        return Ok(None);
    };
    let Some(found) = registry
        .usable_checklist(organisation_id, version_id, checklist_id)
        .await?
    else {
        v.add(
            &format!("{field}.checklist_id"),
            "unknown_checklist",
            "no such active checklist that your organisation may use",
        );
        return Ok(None);
    };
    if !kinds.is_empty() && !kinds.contains(&found.checklist.kind) {
        v.add(
            &format!("{field}.checklist_id"),
            "wrong_checklist_kind",
            "this checklist is not of a kind that can be used here",
        );
        return Ok(None);
    }
    let before = v.len();
    check_responses(&found.checklist, &input.responses, field, v);
    if v.len() > before {
        return Ok(None);
    }
    Ok(Some(Checked {
        field: field.to_string(),
        checklist: found,
        responses: input.responses.clone(),
    }))
}

/// Like [`check`], for a checklist of the stored version a record was scored with, active or
/// not: a correction that keeps the pinned version.
pub async fn check_stored(
    registry: &Registry,
    field: &str,
    input: &ChecklistInput,
    v: &mut Validator,
) -> AppResult<Option<Checked>> {
    let (Some(version_id), Some(checklist_id)) =
        (input.plugin_version_id, input.checklist_id.as_deref())
    else {
        v.add(&format!("{field}.checklist_id"), "required", "is required");
        return Ok(None);
    };
    let Some(found) = registry.stored_ref(version_id, checklist_id).await? else {
        v.add(
            &format!("{field}.checklist_id"),
            "unknown_checklist",
            "this checklist's plugin version is no longer available",
        );
        return Ok(None);
    };
    let before = v.len();
    check_responses(&found.checklist, &input.responses, field, v);
    if v.len() > before {
        return Ok(None);
    }
    Ok(Some(Checked {
        field: field.to_string(),
        checklist: found,
        responses: input.responses.clone(),
    }))
}

/// The host's own check of responses against a checklist's items: unknown or repeated items,
/// required items left out, answers of the wrong kind or outside the item's range.
pub fn check_responses(
    checklist: &Checklist,
    responses: &[Response],
    field: &str,
    v: &mut Validator,
) {
    if responses.len() > MAX_RESPONSES {
        v.add(
            &format!("{field}.responses"),
            "too_many",
            format!("at most {MAX_RESPONSES} responses"),
        );
        return;
    }
    let mut seen = std::collections::HashSet::new();
    for r in responses {
        // Named only for an error: most responses are fine, and this runs for every one.
        let item_field = || format!("{field}.responses.{}", clip(&r.item_id));
        let Some(item) = checklist.items().find(|i| i.id == r.item_id) else {
            v.add(
                &item_field(),
                "unknown_item",
                "this checklist has no such item",
            );
            continue;
        };
        if !seen.insert(r.item_id.as_str()) {
            v.add(&item_field(), "duplicate_item", "answered more than once");
            continue;
        }
        if let Err((code, message)) = check_answer(&item.kind, &r.answer) {
            v.add(&item_field(), code, message);
        }
    }
    for item in checklist.items() {
        if item.required && !seen.contains(item.id.as_str()) {
            v.add(
                &format!("{field}.responses.{}", item.id),
                "required",
                "this item must be answered",
            );
        }
    }
}

fn clip(s: &str) -> String {
    s.chars().take(100).collect()
}

fn check_answer(kind: &ResponseKind, answer: &Answer) -> Result<(), (&'static str, String)> {
    use Answer as A;
    let wrong = |expected: &str| Err(("wrong_kind", format!("expected {expected}")));
    match (kind, answer) {
        (ResponseKind::YesNo, A::Yes | A::No) => Ok(()),
        (ResponseKind::YesNo, _) => wrong("yes or no"),
        (ResponseKind::YesNoNa, A::Yes | A::No | A::NotApplicable) => Ok(()),
        (ResponseKind::YesNoNa, _) => wrong("yes, no or not applicable"),
        (ResponseKind::DonePartlyNotDone, A::Done | A::Partly | A::NotDone) => Ok(()),
        (ResponseKind::DonePartlyNotDone, _) => wrong("done, partly or not done"),
        (ResponseKind::IntegerScore { min, max }, A::Integer(n)) => {
            if (*min..=*max).contains(n) {
                Ok(())
            } else {
                Err((
                    "out_of_range",
                    format!("must be a whole number from {min} to {max}"),
                ))
            }
        }
        (ResponseKind::IntegerScore { min, max }, _) => {
            wrong(&format!("a whole number from {min} to {max}"))
        }
        (ResponseKind::Number { min, max }, A::Number(_) | A::Integer(_)) => {
            let x = match answer {
                A::Number(x) => *x,
                A::Integer(n) => *n as f64,
                _ => f64::NAN,
            };
            let outside =
                !x.is_finite() || min.is_some_and(|m| x < m) || max.is_some_and(|m| x > m);
            if outside {
                let range = match (min, max) {
                    (Some(a), Some(b)) => format!("from {a} to {b}"),
                    (Some(a), None) => format!("at least {a}"),
                    (None, Some(b)) => format!("at most {b}"),
                    (None, None) => "finite".to_string(),
                };
                Err(("out_of_range", format!("must be a number {range}")))
            } else {
                Ok(())
            }
        }
        (ResponseKind::Number { .. }, _) => wrong("a number"),
        (ResponseKind::SingleChoice { options }, A::Choice(c)) => {
            if options.iter().any(|o| &o.value == c) {
                Ok(())
            } else {
                Err(("invalid_choice", "is not one of the item's choices".into()))
            }
        }
        (ResponseKind::SingleChoice { .. }, _) => wrong("one choice"),
        (ResponseKind::MultipleChoice { options }, A::Choices(cs)) => {
            for (n, c) in cs.iter().enumerate() {
                if !options.iter().any(|o| &o.value == c) {
                    return Err(("invalid_choice", "is not one of the item's choices".into()));
                }
                if cs[..n].contains(c) {
                    return Err(("invalid_choice", "a choice is given twice".into()));
                }
            }
            Ok(())
        }
        (ResponseKind::MultipleChoice { .. }, _) => wrong("a list of choices"),
        (ResponseKind::Text { max_length }, A::Text(t)) => {
            if t.chars().count() > *max_length as usize {
                Err((
                    "too_long",
                    format!("must be at most {max_length} characters"),
                ))
            } else if t
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
            {
                Err((
                    "invalid_characters",
                    "must not contain control characters".into(),
                ))
            } else {
                Ok(())
            }
        }
        (ResponseKind::Text { .. }, _) => wrong("text"),
    }
}

/// Scores every checked checklist with its plugin, all or nothing: nothing is stored unless
/// every one scored. A plugin's refusal of the responses is a 422 naming the item; a plugin
/// that fails or exceeds its limits is a 503 naming the checklist, so the client keeps what
/// was typed and may try again.
pub async fn score_all(
    registry: &Registry,
    items: Vec<(Checked, ScoreContext, Version)>,
) -> AppResult<Vec<ScoredChecklist>> {
    // All in one trip to the blocking pool, one after another there: a session has a
    // handful of checklists at most.
    let (checked, requests): (Vec<Checked>, Vec<ScoreRequest>) = items
        .into_iter()
        .map(|(checked, context, version)| {
            let request = ScoreRequest {
                version_id: checked.checklist.plugin_version_id,
                pinned: matches!(version, Version::Pinned),
                checklist_id: checked.checklist.checklist.id.clone(),
                responses: checked.responses.clone(),
                context,
            };
            (checked, request)
        })
        .unzip();
    let results = checked.into_iter().zip(registry.score_many(requests).await);
    let mut refused = Vec::new();
    let mut failed = Vec::new();
    let mut out = Vec::new();
    for (checked, result) in results {
        let title = checked.checklist.checklist.title.default.clone();
        match result {
            Ok(scored) => match scored.outcome.clone() {
                Ok(card) => out.push(ScoredChecklist {
                    checked,
                    scored,
                    card,
                }),
                Err(ScoreRefusal::InvalidResponses { errors }) => {
                    for e in errors {
                        let field = match &e.item_id {
                            Some(item) => format!("{}.responses.{}", checked.field, clip(item)),
                            None => format!("{}.responses", checked.field),
                        };
                        refused.push(FieldError::new(field, "refused_by_plugin", e.message));
                    }
                }
                Err(ScoreRefusal::UnknownChecklist { .. }) => refused.push(FieldError::new(
                    format!("{}.checklist_id", checked.field),
                    "unknown_checklist",
                    "the plugin does not know this checklist",
                )),
                Err(ScoreRefusal::Internal { message }) => failed.push(FieldError::new(
                    format!("{}.checklist_id", checked.field),
                    "scoring_failed",
                    format!("{title}: the plugin could not score it: {message}"),
                )),
            },
            Err(ScoreFailure::NotAvailable) => refused.push(FieldError::new(
                format!("{}.checklist_id", checked.field),
                "unknown_checklist",
                "this checklist's plugin is no longer available on this server",
            )),
            Err(ScoreFailure::Plugin(e)) => failed.push(FieldError::new(
                format!("{}.checklist_id", checked.field),
                "scoring_failed",
                format!("{title}: scoring failed: {e}"),
            )),
            Err(ScoreFailure::Host(e)) => return Err(e),
        }
    }
    if !refused.is_empty() {
        return Err(AppError::Validation(refused));
    }
    if !failed.is_empty() {
        return Err(AppError::ScoringFailed(failed));
    }
    Ok(out)
}

/// Where a stored observation belongs.
#[derive(Clone, Copy, Debug)]
pub enum Owner<'a> {
    Session(&'a str),
    Training { id: &'a str, phase: &'a str },
}

/// One scored checklist as the `observations` table stores it, every column serialised in
/// advance: the write that stores it then holds SQLite's single writer for the statement
/// alone. Serialises (for [`crate::domain::sessions::insert_rows`]'s one-statement insert)
/// to the columns by name, `metrics` as one object of name → value.
#[derive(Clone, Debug, Serialize)]
pub struct NewObservation {
    pub position: i64,
    pub provider_id: i64,
    pub plugin_version_id: i64,
    pub plugin_key: String,
    pub plugin_version: String,
    pub plugin_sha256: String,
    pub checklist_id: String,
    pub checklist_version: String,
    pub checklist_kind: String,
    /// JSON, as `checklist_title` is stored.
    pub checklist_title: String,
    pub responses_json: String,
    pub percentage: Option<f64>,
    pub outcome_code: String,
    pub outcome_level: String,
    pub card_json: String,
    /// Finite values only, each name once.
    pub metrics: serde_json::Map<String, serde_json::Value>,
}

impl NewObservation {
    pub fn of(position: i64, provider_id: i64, s: &ScoredChecklist) -> AppResult<NewObservation> {
        let c = &s.checked.checklist;
        Ok(NewObservation {
            position,
            provider_id,
            plugin_version_id: s.scored.plugin_version_id,
            plugin_key: s.scored.plugin_key.clone(),
            plugin_version: s.scored.plugin_version.clone(),
            plugin_sha256: s.scored.sha256.clone(),
            checklist_id: c.checklist.id.clone(),
            checklist_version: c.checklist.version.clone(),
            checklist_kind: kind_str(c.checklist.kind).to_string(),
            checklist_title: json(&c.checklist.title)?,
            responses_json: json(&s.checked.responses)?,
            percentage: s.card.percentage,
            outcome_code: s.card.outcome.code.clone(),
            outcome_level: s.card.outcome.level.as_str().to_string(),
            card_json: json(&s.card)?,
            metrics: metrics_of(&s.card),
        })
    }
}

/// A card's metrics as stored: finite values, each name once (the SDK rejects duplicate
/// names; a hand-written plugin might not), the first one winning.
fn metrics_of(card: &ScoreCard) -> serde_json::Map<String, serde_json::Value> {
    let mut metrics = serde_json::Map::new();
    for m in &card.metrics {
        if m.value.is_finite() && !metrics.contains_key(&m.name) {
            metrics.insert(m.name.clone(), serde_json::Value::from(m.value));
        }
    }
    metrics
}

/// Stores one scored checklist and its metrics; returns the observation's id and the time
/// it records as scored.
pub async fn insert(
    tx: &mut Tx,
    owner: Owner<'_>,
    position: i64,
    provider_id: i64,
    observed_on: &str,
    s: &ScoredChecklist,
) -> AppResult<(i64, String)> {
    let scored_at = crate::time::now();
    let row = NewObservation::of(position, provider_id, s)?;
    let id = insert_row(tx, owner, observed_on, &scored_at, &row).await?;
    Ok((id, scored_at))
}

/// Stores one observation row and its metrics, one statement each; returns its id.
pub async fn insert_row(
    tx: &mut Tx,
    owner: Owner<'_>,
    observed_on: &str,
    scored_at: &str,
    row: &NewObservation,
) -> Result<i64, sqlx::Error> {
    let (session_id, training_id, phase) = match owner {
        Owner::Session(id) => (Some(id), None, None),
        Owner::Training { id, phase } => (None, Some(id), Some(phase)),
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO observations (session_id, training_id, phase, position, provider_id, observed_on,
            plugin_version_id, plugin_key, plugin_version, plugin_sha256, checklist_id, checklist_version,
            checklist_kind, checklist_title, responses_json, percentage, outcome_code, outcome_level,
            card_json, scored_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
         RETURNING id",
    )
    .bind(session_id)
    .bind(training_id)
    .bind(phase)
    .bind(row.position)
    .bind(row.provider_id)
    .bind(observed_on)
    .bind(row.plugin_version_id)
    .bind(&row.plugin_key)
    .bind(&row.plugin_version)
    .bind(&row.plugin_sha256)
    .bind(&row.checklist_id)
    .bind(&row.checklist_version)
    .bind(&row.checklist_kind)
    .bind(&row.checklist_title)
    .bind(&row.responses_json)
    .bind(row.percentage)
    .bind(&row.outcome_code)
    .bind(&row.outcome_level)
    .bind(&row.card_json)
    .bind(scored_at)
    .fetch_one(&mut **tx)
    .await?;
    // The metrics as one JSON object, inserted by one statement: every statement in a write
    // transaction is a round trip that holds SQLite's single writer.
    if !row.metrics.is_empty() {
        sqlx::query(insert_metrics_sql(tx.kind()))
            .bind(id)
            .bind(serde_json::to_string(&row.metrics).map_err(|e| sqlx::Error::Encode(e.into()))?)
            .execute(&mut **tx)
            .await?;
    }
    Ok(id)
}

/// Inserts an observation's metrics (`$1`) from one JSON object of name → value (`$2`).
pub fn insert_metrics_sql(kind: DbKind) -> &'static str {
    match kind {
        DbKind::Sqlite => {
            "INSERT INTO observation_metrics (observation_id, name, value)
             SELECT $1, j.key, j.value FROM json_each($2) j"
        }
        DbKind::Postgres => {
            "INSERT INTO observation_metrics (observation_id, name, value)
             SELECT $1, j.key, CAST(j.value AS DOUBLE PRECISION) FROM jsonb_each_text(CAST($2 AS JSONB)) j"
        }
    }
}

/// The observation [`insert`] stored, as [`load`] would read it back: for answering a write
/// without reading it back.
pub fn stored_observation(
    id: i64,
    scored_at: String,
    provider_id: i64,
    provider_name: String,
    observed_on: &str,
    phase: Option<&str>,
    s: ScoredChecklist,
) -> Observation {
    let c = &s.checked.checklist;
    Observation {
        id,
        provider_id,
        provider_name,
        observed_on: observed_on.to_string(),
        phase: phase.map(str::to_string),
        plugin_version_id: s.scored.plugin_version_id,
        checklist_id: c.checklist.id.clone(),
        checklist_version: c.checklist.version.clone(),
        checklist_kind: kind_str(c.checklist.kind).to_string(),
        checklist_title: c.checklist.title.clone(),
        plugin_key: s.scored.plugin_key,
        plugin_version: s.scored.plugin_version,
        plugin_sha256: s.scored.sha256,
        responses: s.checked.responses,
        card: s.card,
        scored_at,
    }
}

pub fn json<T: Serialize + ?Sized>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(|e| AppError::Internal(e.into()))
}

pub fn kind_str(kind: ChecklistKind) -> &'static str {
    match kind {
        ChecklistKind::MentorshipSkills => "mentorship_skills",
        ChecklistKind::ClinicalObservation => "clinical_observation",
        ChecklistKind::TrainingTest => "training_test",
        ChecklistKind::FacilityAssessment => "facility_assessment",
        ChecklistKind::TeamAssessment => "team_assessment",
    }
}

/// A stored observation, as pages and the API show it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Observation {
    pub id: i64,
    pub provider_id: i64,
    pub provider_name: String,
    pub observed_on: String,
    /// `pre` or `post` for a training test; absent for a session's observation.
    pub phase: Option<String>,
    /// What scored it: the plugin version's id, key, version and content hash.
    pub plugin_version_id: i64,
    pub plugin_key: String,
    pub plugin_version: String,
    pub plugin_sha256: String,
    pub checklist_id: String,
    pub checklist_version: String,
    pub checklist_kind: String,
    pub checklist_title: Localized,
    pub responses: Vec<Response>,
    pub card: ScoreCard,
    pub scored_at: String,
}

#[derive(sqlx::FromRow)]
struct ObservationRow {
    id: i64,
    provider_id: i64,
    provider_name: String,
    observed_on: String,
    phase: Option<String>,
    plugin_version_id: i64,
    plugin_key: String,
    plugin_version: String,
    plugin_sha256: String,
    checklist_id: String,
    checklist_version: String,
    checklist_kind: String,
    checklist_title: String,
    responses_json: String,
    card_json: String,
    scored_at: String,
}

macro_rules! observation_select {
    () => {
        "SELECT ob.id, ob.provider_id, p.name AS provider_name, ob.observed_on, ob.phase,
                ob.plugin_version_id, ob.plugin_key, ob.plugin_version, ob.plugin_sha256,
                ob.checklist_id, ob.checklist_version, ob.checklist_kind, ob.checklist_title,
                ob.responses_json, ob.card_json, ob.scored_at
         FROM observations ob JOIN providers p ON p.id = ob.provider_id"
    };
}

/// Observations of one session or training, in the order they were entered.
pub async fn load(db: &crate::db::Db, owner: Owner<'_>) -> AppResult<Vec<Observation>> {
    let query = match owner {
        Owner::Session(id) => sqlx::query_as(concat!(
            observation_select!(),
            " WHERE ob.session_id = $1 ORDER BY ob.position, ob.id"
        ))
        .bind(id),
        Owner::Training { id, .. } => sqlx::query_as(concat!(
            observation_select!(),
            " WHERE ob.training_id = $1 ORDER BY ob.position, ob.id"
        ))
        .bind(id),
    };
    let rows: Vec<ObservationRow> = query.fetch_all(db.pool()).await?;
    rows.into_iter().map(Observation::try_from).collect()
}

impl TryFrom<ObservationRow> for Observation {
    type Error = AppError;

    fn try_from(r: ObservationRow) -> AppResult<Observation> {
        let parse = |e: serde_json::Error| AppError::Internal(e.into());
        Ok(Observation {
            id: r.id,
            provider_id: r.provider_id,
            provider_name: r.provider_name,
            observed_on: r.observed_on,
            phase: r.phase,
            plugin_version_id: r.plugin_version_id,
            plugin_key: r.plugin_key,
            plugin_version: r.plugin_version,
            plugin_sha256: r.plugin_sha256,
            checklist_id: r.checklist_id,
            checklist_version: r.checklist_version,
            checklist_kind: r.checklist_kind,
            checklist_title: serde_json::from_str(&r.checklist_title).map_err(parse)?,
            responses: serde_json::from_str(&r.responses_json).map_err(parse)?,
            card: serde_json::from_str(&r.card_json).map_err(parse)?,
            scored_at: r.scored_at,
        })
    }
}

/// Deletes the observations of a record being corrected (they are re-scored and re-inserted
/// in the same transaction; the audit log keeps the old ones).
pub async fn delete(tx: &mut Tx, owner: Owner<'_>) -> AppResult<()> {
    let (metrics, observations, id) = match owner {
        Owner::Session(id) => (
            "DELETE FROM observation_metrics WHERE observation_id IN (SELECT id FROM observations WHERE session_id = $1)",
            "DELETE FROM observations WHERE session_id = $1",
            id,
        ),
        Owner::Training { id, .. } => (
            "DELETE FROM observation_metrics WHERE observation_id IN (SELECT id FROM observations WHERE training_id = $1)",
            "DELETE FROM observations WHERE training_id = $1",
            id,
        ),
    };
    sqlx::query(metrics).bind(id).execute(&mut **tx).await?;
    sqlx::query(observations)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The hash of a parsed request body, for telling an identical re-send from a different
/// body: the typed body re-serialised (fields in declaration order, no whitespace), so two
/// requests that mean the same thing hash the same whatever their layout or key order.
/// Streamed into the hasher: this runs on every submission.
pub fn body_sha256<T: Serialize>(body: &T) -> AppResult<String> {
    use sha2::{Digest, Sha256};
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(Sha256::new());
    serde_json::to_writer(&mut hashing, body).map_err(|e| AppError::Internal(e.into()))?;
    let mut hashed = String::with_capacity(BODY_HASH_V2.len() + 64);
    hashed.push_str(BODY_HASH_V2);
    push_hex(&mut hashed, &hashing.0.finalize());
    Ok(hashed)
}

const BODY_HASH_V2: &str = "v2:";

/// Whether a correction changes nothing: `normalised` (carrying the record's id) against the
/// stored content hash. Records stored before the `v2:` hash hashed their content without the
/// id; `without_id` clears it for that comparison.
pub fn same_content<T: Serialize + Clone>(
    stored: &str,
    normalised: &T,
    without_id: fn(&mut T),
) -> AppResult<bool> {
    if stored.starts_with(BODY_HASH_V2) {
        return same_body(stored, normalised);
    }
    let mut content = normalised.clone();
    without_id(&mut content);
    same_body(stored, &content)
}

/// Whether `body` is the body whose hash was stored. Records stored before the hash gained
/// its `v2:` prefix carry the hash of the body's JSON with sorted keys; those are compared
/// that way, so a phone re-sending an old submission is still recognised.
pub fn same_body<T: Serialize>(stored: &str, body: &T) -> AppResult<bool> {
    if stored.starts_with(BODY_HASH_V2) {
        return Ok(stored == body_sha256(body)?);
    }
    use sha2::{Digest, Sha256};
    let value = serde_json::to_value(body).map_err(|e| AppError::Internal(e.into()))?;
    let text = serde_json::to_string(&value).map_err(|e| AppError::Internal(e.into()))?;
    let digest = Sha256::digest(text.as_bytes());
    let mut legacy = String::with_capacity(64);
    push_hex(&mut legacy, &digest);
    Ok(stored == legacy)
}

/// Appends `bytes` in lower-case hex: hashes and ids are made on every submission, and a
/// `format!` per byte was a measurable part of that.
fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// A client-generated id: a UUID, normalised to lower case. Phones make these offline.
pub fn parse_uuid(v: &mut Validator, field: &str, value: Option<&str>) -> String {
    let s = value.unwrap_or("").trim().to_ascii_lowercase();
    let groups: Vec<&str> = s.split('-').collect();
    let shape_ok = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if s.is_empty() {
        v.add(
            field,
            "required",
            "is required (a UUID the client generates)",
        );
    } else if !shape_ok {
        v.add(
            field,
            "invalid_uuid",
            "must be a UUID like 3f2b8c1e-9d4a-4c6b-8e2f-1a2b3c4d5e6f",
        );
    }
    s
}

/// A new time-ordered (version 7) UUID, for forms the server renders: 48 bits of Unix
/// milliseconds, then 74 random bits. Records are keyed by these ids in several indexes;
/// ids that grow with time land on the last page of each, where random ones would dirty a
/// different page of every index for every record written (BENCHMARKS.md, sessions).
pub fn new_uuid() -> AppResult<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| AppError::Internal(anyhow::anyhow!("random: {e}")))?;
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("clock before 1970: {e}")))?
        .as_millis();
    Ok(uuid_v7(millis, b))
}

/// A version 7 UUID from a Unix time in milliseconds (its low 48 bits) and random bytes (all
/// but the first six used).
pub fn uuid_v7(unix_millis: u128, mut b: [u8; 16]) -> String {
    b[..6].copy_from_slice(&unix_millis.to_be_bytes()[10..]);
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(b)
}

/// Sixteen bytes as a version 4 UUID: the version and variant bits are set, so any source of
/// bytes (random, a digest, a seeded generator) gives an id `parse_uuid` accepts.
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(b)
}

fn format_uuid(b: [u8; 16]) -> String {
    let mut h = String::with_capacity(32);
    push_hex(&mut h, &b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::model::{ChoiceOption, Importance, Item, Section};

    fn loc(s: &str) -> Localized {
        Localized {
            default: s.into(),
            translations: vec![],
        }
    }

    fn item(id: &str, kind: ResponseKind, required: bool) -> Item {
        Item {
            id: id.into(),
            prompt: loc(id),
            help: None,
            kind,
            importance: Importance::Normal,
            weight: 1.0,
            required,
            group: None,
        }
    }

    fn checklist() -> Checklist {
        Checklist {
            id: "c".into(),
            title: loc("C"),
            version: "1".into(),
            kind: ChecklistKind::ClinicalObservation,
            description: None,
            sections: vec![Section {
                id: "s".into(),
                title: loc("S"),
                groups: vec![],
                items: vec![
                    item("yn", ResponseKind::YesNo, true),
                    item(
                        "score",
                        ResponseKind::IntegerScore { min: 0, max: 5 },
                        false,
                    ),
                    item(
                        "pick",
                        ResponseKind::SingleChoice {
                            options: vec![ChoiceOption {
                                value: "a".into(),
                                label: loc("A"),
                            }],
                        },
                        false,
                    ),
                    item("note", ResponseKind::Text { max_length: 5 }, false),
                ],
            }],
        }
    }

    fn r(id: &str, answer: Answer) -> Response {
        Response {
            item_id: id.into(),
            answer,
        }
    }

    fn errors(responses: &[Response]) -> Vec<(String, &'static str)> {
        let mut v = Validator::new();
        check_responses(&checklist(), responses, "observations[0]", &mut v);
        match v.finish() {
            Ok(()) => vec![],
            Err(AppError::Validation(f)) => f.into_iter().map(|e| (e.field, e.code)).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn valid_responses_pass() {
        assert!(errors(&[r("yn", Answer::Yes), r("score", Answer::Integer(5))]).is_empty());
    }

    #[test]
    fn every_problem_is_named_by_item() {
        let e = errors(&[
            r("ghost", Answer::Yes),
            r("score", Answer::Integer(6)),
            r("score", Answer::Integer(1)),
            r("pick", Answer::Choice("z".into())),
            r("note", Answer::Text("toolong".into())),
        ]);
        assert_eq!(
            e,
            vec![
                (
                    "observations[0].responses.ghost".to_string(),
                    "unknown_item"
                ),
                (
                    "observations[0].responses.score".to_string(),
                    "out_of_range"
                ),
                (
                    "observations[0].responses.score".to_string(),
                    "duplicate_item"
                ),
                (
                    "observations[0].responses.pick".to_string(),
                    "invalid_choice"
                ),
                ("observations[0].responses.note".to_string(), "too_long"),
                ("observations[0].responses.yn".to_string(), "required"),
            ]
        );
    }

    #[test]
    fn answers_of_the_wrong_kind_are_refused() {
        let e = errors(&[r("yn", Answer::Done)]);
        assert_eq!(
            e,
            vec![("observations[0].responses.yn".to_string(), "wrong_kind")]
        );
    }

    #[test]
    fn uuids_are_checked_and_normalised() {
        let mut v = Validator::new();
        let id = parse_uuid(&mut v, "id", Some("3F2B8C1E-9D4A-4C6B-8E2F-1A2B3C4D5E6F"));
        assert_eq!(id, "3f2b8c1e-9d4a-4c6b-8e2f-1a2b3c4d5e6f");
        assert!(v.finish().is_ok());
        for bad in [
            "",
            "3f2b8c1e9d4a4c6b8e2f1a2b3c4d5e6f",
            "3f2b8c1e-9d4a-4c6b-8e2f-1a2b3c4d5e6g",
        ] {
            let mut v = Validator::new();
            parse_uuid(&mut v, "id", Some(bad));
            assert!(v.finish().is_err(), "{bad:?} accepted");
        }
        let mut v = Validator::new();
        let fresh = new_uuid().unwrap();
        assert_eq!(parse_uuid(&mut v, "id", Some(&fresh)), fresh);
        assert!(v.finish().is_ok());
        assert_ne!(fresh, new_uuid().unwrap());
    }

    #[test]
    fn new_ids_are_version_7_and_ordered_by_time() {
        // RFC 9562's example: 2022-02-22 19:22:22 UTC is 0x017F22E279B0 ms.
        let id = uuid_v7(0x017F_22E2_79B0, [0xff; 16]);
        assert_eq!(id, "017f22e2-79b0-7fff-bfff-ffffffffffff");
        let earlier = uuid_v7(0x017F_22E2_79AF, [0xff; 16]);
        let later = uuid_v7(0x017F_22E2_79B1, [0x00; 16]);
        assert!(earlier < id && id < later, "{earlier} {id} {later}");
        let fresh = new_uuid().unwrap();
        assert_eq!(&fresh[14..15], "7", "{fresh}");
        assert!(matches!(&fresh[19..20], "8" | "9" | "a" | "b"), "{fresh}");
        // Milliseconds since 1970 are now about 1.8e12: the first 48 bits are that clock.
        let millis = u64::from_str_radix(&fresh[..8], 16).unwrap() << 16
            | u64::from_str_radix(&fresh[9..13], 16).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(now.abs_diff(millis) < 60_000, "{fresh} {millis} {now}");
    }

    #[derive(serde::Deserialize, Serialize)]
    struct Body {
        a: i64,
        b: Vec<i64>,
    }

    #[test]
    fn the_body_hash_ignores_layout_but_not_content() {
        let parse = |text: &str| serde_json::from_str::<Body>(text).unwrap();
        let a = parse(r#"{"a": 1, "b": [1, 2]}"#);
        let b = parse(
            r#"{"b":[1,2],
                          "a":1}"#,
        );
        let c = parse(r#"{"b":[2,1],"a":1}"#);
        assert_eq!(body_sha256(&a).unwrap(), body_sha256(&b).unwrap());
        assert_ne!(body_sha256(&a).unwrap(), body_sha256(&c).unwrap());
        assert!(same_body(&body_sha256(&a).unwrap(), &b).unwrap());
        assert!(!same_body(&body_sha256(&a).unwrap(), &c).unwrap());
        // The exact text stored with every session: it must never change, or re-sends of
        // stored sessions would stop matching (sha256 of `{"a":1,"b":[1,2]}`).
        assert_eq!(
            body_sha256(&a).unwrap(),
            "v2:8baa73198470c7bb4c3ce142a8fd651affc0310d878bb9bd159e37a573fb4874"
        );
    }

    /// Records stored before the `v2:` hash keep matching their re-sends.
    #[test]
    fn bodies_stored_with_the_sorted_keys_hash_still_match() {
        use sha2::{Digest, Sha256};
        let a = Body {
            a: 1,
            b: vec![1, 2],
        };
        let legacy: String = Sha256::digest(br#"{"a":1,"b":[1,2]}"#)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect();
        assert!(same_body(&legacy, &a).unwrap());
        assert!(
            !same_body(
                &legacy,
                &Body {
                    a: 2,
                    b: vec![1, 2]
                }
            )
            .unwrap()
        );
    }
}
