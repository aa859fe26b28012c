//! Mentorship sessions: a mentor's visit or drill at one facility, its mentees, and a scored
//! checklist per observed mentee.
//!
//! Submissions are offline-safe. The client names each session with a UUID it generates; the
//! first body accepted under that id is kept, an identical re-send gets the stored session
//! back, and a different body under the same id is refused (409) without changing anything.
//! Plugins score every checklist before the transaction opens, so a plugin that fails leaves
//! nothing half-written, and the one transaction writes the session, its mentees, its scored
//! observations and the audit entry together.

use chrono::{Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, FromRow, Row};
use utoipa::{IntoParams, ToSchema};

use crate::authz::{Actor, Role};
use crate::config::Programme;
use crate::db::{Db, DbKind, Tx, is_unique_violation};
use crate::domain::scoring::{self, ChecklistInput, Observation, Owner, Version};
use crate::domain::{Page, PageParams, assignments, audit, org_units, reporting};
use crate::error::{AppError, AppResult, Validator};
use crate::plugins::Registry;
use crate::plugins::model::{Response, ScoreContext};

pub const SESSION_TYPES: [&str; 6] = [
    "skills_drill",
    "clinical_observation",
    "simulation",
    "case_review",
    "team_meeting",
    "facility_assessment",
];

pub const MAX_MENTEES: usize = 100;
pub const MAX_OBSERVATIONS: usize = 50;

/// A session as the client sends it. Every field is optional here so that a missing one is a
/// 422 naming it, not a deserialisation error.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionInput {
    /// A UUID the client generates once per session and keeps for every re-send.
    pub id: Option<String>,
    /// One of the mentor's assigned facilities.
    pub facility_id: Option<i64>,
    /// `YYYY-MM-DD`; not in the future.
    pub date: Option<String>,
    /// `skills_drill`, `clinical_observation`, `simulation`, `case_review`, `team_meeting` or
    /// `facility_assessment`.
    pub session_type: Option<String>,
    /// Topic or module, e.g. "PPH: active management of the third stage".
    pub topic: Option<String>,
    pub duration_minutes: Option<i64>,
    /// Providers at the facility who took part; observed providers are added if missing.
    #[serde(default)]
    pub mentee_ids: Vec<i64>,
    pub notes: Option<String>,
    pub action_points: Option<String>,
    /// One filled checklist per observed mentee.
    #[serde(default)]
    pub observations: Vec<ObservationInput>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ObservationInput {
    pub provider_id: Option<i64>,
    /// The plugin version providing the checklist, as `GET /api/v1/checklists` lists it.
    pub plugin_version_id: Option<i64>,
    pub checklist_id: Option<String>,
    #[serde(default)]
    pub responses: Vec<Response>,
}

/// Which plugin version re-scores the observations of a corrected session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rescore {
    /// The version each observation was first scored with (the default).
    #[default]
    Pinned,
    /// The plugin's currently active version.
    Current,
}

/// A correction: the whole session as it should now read.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct CorrectionInput {
    #[serde(flatten)]
    pub session: SessionInput,
    #[serde(default)]
    pub rescore: Rescore,
    /// Why it was corrected; kept in the audit log.
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct WithdrawInput {
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Serialize, FromRow, ToSchema)]
pub struct SessionSummary {
    pub id: String,
    pub organisation_id: i64,
    pub mentor_id: i64,
    pub mentor_name: String,
    pub facility_id: i64,
    pub facility_name: String,
    pub date: String,
    pub session_type: String,
    pub topic: String,
    pub duration_minutes: i64,
    /// `recorded` or `withdrawn`.
    pub status: String,
    /// 1 when logged, one more for every correction.
    pub revision: i64,
    pub mentees: i64,
    pub observations: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Mentee {
    pub provider_id: i64,
    pub name: String,
    pub cadre: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Session {
    #[serde(flatten)]
    pub summary: SessionSummary,
    pub notes: Option<String>,
    pub action_points: Option<String>,
    pub withdrawn_reason: Option<String>,
    pub withdrawn_at: Option<String>,
    pub mentee_list: Vec<Mentee>,
    pub observation_list: Vec<Observation>,
}

#[derive(Clone, Debug, FromRow)]
struct Stored {
    organisation_id: i64,
    mentor_id: i64,
    facility_id: i64,
    create_sha256: String,
    content_sha256: String,
    status: String,
    revision: i64,
    created_at: String,
    withdrawn_reason: Option<String>,
}

/// What a create did: stored a new session, or found the identical one already stored.
#[derive(Debug)]
pub enum Created {
    New(Session),
    Existing(Session),
}

macro_rules! summary_columns {
    () => {
        "s.id, s.organisation_id, s.mentor_id, u.display_name AS mentor_name, s.facility_id,
         f.name AS facility_name, s.session_date AS date, s.session_type, s.topic, s.duration_minutes,
         s.status, s.revision,
         (SELECT COUNT(*) FROM session_mentees m WHERE m.session_id = s.id) AS mentees,
         (SELECT COUNT(*) FROM observations ob WHERE ob.session_id = s.id) AS observations,
         s.created_at, s.updated_at"
    };
}

macro_rules! summary_from {
    () => {
        " FROM sessions s JOIN users u ON u.id = s.mentor_id JOIN org_units f ON f.id = s.facility_id"
    };
}

macro_rules! list_conditions {
    () => {
        "
         WHERE ($1 IS NULL OR s.organisation_id = $1)
           AND ($2 IS NULL OR s.facility_id = $2)
           AND ($3 IS NULL OR f.path LIKE $3)
           AND ($4 IS NULL OR s.mentor_id = $4)
           AND ($5 IS NULL OR EXISTS (SELECT 1 FROM session_mentees m WHERE m.session_id = s.id AND m.provider_id = $5))
           AND ($6 IS NULL OR EXISTS (SELECT 1 FROM observations ob WHERE ob.session_id = s.id AND ob.checklist_id = $6
                                      AND ($7 IS NULL OR ob.plugin_key = $7)))
           AND ($8 IS NULL OR s.session_date >= $8)
           AND ($9 IS NULL OR s.session_date <= $9)
           AND ($10 IS NULL OR s.status = $10)"
    };
}

// ---------------------------------------------------------------------------------------------
// Reading

async fn stored(db: &Db, id: &str) -> AppResult<Option<Stored>> {
    Ok(sqlx::query_as(
        "SELECT organisation_id, mentor_id, facility_id, create_sha256, content_sha256, status,
                revision, created_at, withdrawn_reason
         FROM sessions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?)
}

/// A session the actor may read; another organisation's is "not found".
pub async fn get(db: &Db, actor: &Actor, id: &str) -> AppResult<Session> {
    let id = id.trim().to_ascii_lowercase();
    match stored(db, &id).await? {
        Some(s) if actor.can_read_org(s.organisation_id) => load(db, &id).await,
        _ => Err(AppError::NotFound),
    }
}

async fn load(db: &Db, id: &str) -> AppResult<Session> {
    let summary: SessionSummary = sqlx::query_as(concat!(
        "SELECT ",
        summary_columns!(),
        summary_from!(),
        " WHERE s.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(AppError::NotFound)?;
    let (notes, action_points, withdrawn_reason, withdrawn_at): (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT notes, action_points, withdrawn_reason, withdrawn_at FROM sessions WHERE id = $1",
    )
    .bind(id)
    .fetch_one(db.pool())
    .await?;
    let mut mentee_list: Vec<Mentee> = sqlx::query_as::<_, (i64, String, String)>(
        "SELECT p.id, p.name, p.cadre FROM session_mentees m JOIN providers p ON p.id = m.provider_id
         WHERE m.session_id = $1",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .map(|(provider_id, name, cadre)| Mentee {
        provider_id,
        name,
        cadre,
    })
    .collect();
    // Sorted here rather than in SQL, whose text order depends on the database's collation,
    // so that `written` can produce the same order.
    sort_mentees(&mut mentee_list);
    let observation_list = scoring::load(db, Owner::Session(id)).await?;
    Ok(Session {
        summary,
        notes,
        action_points,
        withdrawn_reason,
        withdrawn_at,
        mentee_list,
        observation_list,
    })
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
pub struct SessionFilter {
    pub facility_id: Option<i64>,
    /// Sessions at facilities anywhere below this org unit (a district, a province).
    pub within: Option<i64>,
    pub mentor_id: Option<i64>,
    /// Sessions this provider took part in.
    pub provider_id: Option<i64>,
    /// Sessions with an observation on this checklist.
    pub checklist_id: Option<String>,
    /// With `checklist_id`: the plugin (its key) providing it.
    pub plugin_key: Option<String>,
    /// First day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`.
    pub to: Option<String>,
    /// `recorded` (the default) , `withdrawn` or `all`.
    pub status: Option<String>,
    pub organisation_id: Option<i64>,
    /// 1-based page number.
    pub page: Option<i64>,
    /// Items per page, at most 200.
    pub per_page: Option<i64>,
}

impl SessionFilter {
    pub fn paging(&self) -> PageParams {
        PageParams {
            page: self.page,
            per_page: self.per_page,
        }
    }
}

/// Checks an optional date filter; a malformed one is a 422 naming the field.
pub fn date_filter(v: &mut Validator, field: &str, value: Option<&str>) -> Option<String> {
    let value = value.map(str::trim).filter(|s| !s.is_empty())?;
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(d) => Some(d.format("%Y-%m-%d").to_string()),
        Err(_) => {
            v.add(field, "invalid_date", "must be a date written YYYY-MM-DD");
            None
        }
    }
}

pub async fn list(
    db: &Db,
    actor: &Actor,
    filter: &SessionFilter,
    page: &PageParams,
) -> AppResult<Page<SessionSummary>> {
    let (page, per_page, offset) = page.resolve(25);
    let scope = match (actor.org_scope(), filter.organisation_id) {
        (Some(own), Some(asked)) if own != asked => {
            return Ok(Page {
                items: vec![],
                total: 0,
                page,
                per_page,
            });
        }
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    let mut v = Validator::new();
    let from = date_filter(&mut v, "from", filter.from.as_deref());
    let to = date_filter(&mut v, "to", filter.to.as_deref());
    let status = match filter.status.as_deref().map(str::trim) {
        None | Some("") | Some("recorded") => Some("recorded"),
        Some("withdrawn") => Some("withdrawn"),
        Some("all") => None,
        Some(_) => {
            v.add(
                "status",
                "invalid_choice",
                "must be recorded, withdrawn or all",
            );
            None
        }
    };
    v.finish()?;
    let within = match filter.within {
        Some(id) => Some(format!("{}%", org_units::get(db, id).await?.path)),
        None => None,
    };
    let checklist = filter.checklist_id.as_deref().filter(|c| !c.is_empty());
    let plugin_key = filter.plugin_key.as_deref().filter(|c| !c.is_empty());
    let items = sqlx::query_as(concat!(
        "SELECT ",
        summary_columns!(),
        summary_from!(),
        list_conditions!(),
        " ORDER BY s.session_date DESC, s.created_at DESC LIMIT $11 OFFSET $12"
    ))
    .bind(scope)
    .bind(filter.facility_id)
    .bind(&within)
    .bind(filter.mentor_id)
    .bind(filter.provider_id)
    .bind(checklist)
    .bind(plugin_key)
    .bind(&from)
    .bind(&to)
    .bind(status)
    .bind(per_page)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    let total = sqlx::query_scalar(concat!(
        "SELECT COUNT(*)",
        summary_from!(),
        list_conditions!()
    ))
    .bind(scope)
    .bind(filter.facility_id)
    .bind(&within)
    .bind(filter.mentor_id)
    .bind(filter.provider_id)
    .bind(checklist)
    .bind(plugin_key)
    .bind(&from)
    .bind(&to)
    .bind(status)
    .fetch_one(db.pool())
    .await?;
    Ok(Page {
        items,
        total,
        page,
        per_page,
    })
}

// ---------------------------------------------------------------------------------------------
// Validation

/// The session part of an input, checked; the observations are checked separately because
/// they need the plugins.
#[derive(Clone, Debug)]
struct Valid {
    facility_id: i64,
    date: String,
    session_type: String,
    topic: String,
    duration_minutes: i64,
    notes: Option<String>,
    action_points: Option<String>,
    /// Mentee ids with their cadres, in the order given, observed ones included.
    mentees: Vec<(i64, String)>,
    /// Names for the answer, read with the checks above.
    facility_name: String,
    mentee_names: Vec<(i64, String)>,
}

/// How many providers one validation query reads; a session's mentees are read in chunks
/// of this size (one query for almost every session).
const MENTEE_CHUNK: usize = 8;

/// The latest date a session may carry: today somewhere on Earth (UTC+14), so a mentor in
/// Phnom Penh or Kigali is never told their today is in the future.
pub fn latest_allowed_date() -> NaiveDate {
    (Utc::now() + Duration::hours(14)).date_naive()
}

pub fn check_date(v: &mut Validator, field: &str, value: Option<&str>) -> String {
    let value = value.map(str::trim).unwrap_or("");
    if value.is_empty() {
        v.add(field, "required", "is required");
        return String::new();
    }
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(d) if d > latest_allowed_date() => {
            v.add(field, "future_date", "must not be in the future");
        }
        Ok(d) if d < NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(NaiveDate::MIN) => {
            v.add(field, "invalid_date", "must be in 2000 or later");
        }
        Ok(_) => {}
        Err(_) => v.add(field, "invalid_date", "must be a date written YYYY-MM-DD"),
    }
    value.to_string()
}

/// The organisation whose records the actor writes sessions into, if any.
fn writing_org(actor: &Actor) -> AppResult<i64> {
    if !actor.can_write_org_records(actor.organisation_id) {
        return Err(AppError::Forbidden);
    }
    Ok(actor.organisation_id)
}

/// What a session body is checked for.
#[derive(Clone, Copy)]
enum Checking<'a> {
    /// A new session under this id, unless one is stored under it already.
    New { id: &'a str },
    /// The session part of a new session's draft, before it has been sent.
    Draft,
    /// A correction of a session now at this facility.
    Correction { current_facility: i64 },
}

/// The body was checked, or is a re-send of the session stored under its id (which is then
/// answered as such, whatever the body).
// Returned once per submission and unpacked at once: a box would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Checked {
    Checked(Valid),
    AlreadyStored,
}

/// Reads on `conn`, one connection for all of them: the pool pings a connection each time it
/// takes one back, a thread hop apiece on SQLite.
async fn validate(
    conn: &mut AnyConnection,
    actor: &Actor,
    organisation_id: i64,
    input: &SessionInput,
    checking: Checking<'_>,
    v: &mut Validator,
) -> AppResult<Checked> {
    let (new_id, current_facility) = match checking {
        Checking::New { id } => (Some(id), None),
        Checking::Draft => (None, None),
        Checking::Correction { current_facility } => (None, Some(current_facility)),
    };
    // The facility, the mentor's assignment to it and whether the session is stored already
    // in one query (one row, whatever is missing): this runs on every session a phone sends.
    let (level, name, assigned, stored): (Option<String>, Option<String>, i64, i64) =
        sqlx::query_as(
            "SELECT (SELECT u.level FROM org_units u WHERE u.id = $1),
                    (SELECT u.name FROM org_units u WHERE u.id = $1),
                    (SELECT COUNT(*) FROM mentor_assignments a
                      WHERE a.mentor_id = $2 AND a.facility_id = $1),
                    (SELECT COUNT(*) FROM sessions s WHERE s.id = $3)",
        )
        .bind(input.facility_id)
        .bind(actor.user_id)
        .bind(new_id)
        .fetch_one(&mut *conn)
        .await?;
    if stored > 0 {
        return Ok(Checked::AlreadyStored);
    }
    let mut facility_name = String::new();
    let facility_id = match input.facility_id {
        None => {
            v.add("facility_id", "required", "is required");
            0
        }
        Some(id) => {
            match level.zip(name) {
                Some((level, name)) if level == "facility" => {
                    facility_name = name;
                    // A mentor logs only where assigned; a correction may keep a facility the
                    // mentor has since been moved from.
                    if actor.role == Role::Mentor && current_facility != Some(id) && assigned == 0 {
                        v.add(
                            "facility_id",
                            "not_assigned",
                            "you are not assigned to this facility",
                        );
                    }
                }
                Some(_) => v.add(
                    "facility_id",
                    "not_a_facility",
                    "must be a facility, not a district or province",
                ),
                None => v.add("facility_id", "unknown", "no such facility"),
            }
            id
        }
    };
    let date = check_date(v, "date", input.date.as_deref());
    let session_type = input
        .session_type
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_string();
    if session_type.is_empty() {
        v.add("session_type", "required", "is required");
    } else if !SESSION_TYPES.contains(&session_type.as_str()) {
        v.add(
            "session_type",
            "invalid_choice",
            format!("must be one of {}", SESSION_TYPES.join(", ")),
        );
    }
    let topic = v.required_text("topic", input.topic.as_deref(), 200);
    let duration_minutes = match input.duration_minutes {
        None => {
            v.add("duration_minutes", "required", "is required");
            0
        }
        Some(d) if !(1..=1440).contains(&d) => {
            v.add(
                "duration_minutes",
                "out_of_range",
                "must be from 1 to 1440 minutes",
            );
            d
        }
        Some(d) => d,
    };
    let notes = long_text(v, "notes", input.notes.as_deref());
    let action_points = long_text(v, "action_points", input.action_points.as_deref());

    // Mentees: the listed ones, then any observed provider not listed.
    let mut wanted: Vec<(String, i64)> = Vec::new();
    for (n, id) in input.mentee_ids.iter().enumerate() {
        if wanted.iter().any(|(_, w)| w == id) {
            v.add(
                &format!("mentee_ids[{n}]"),
                "duplicate",
                "this provider is listed twice",
            );
            continue;
        }
        wanted.push((format!("mentee_ids[{n}]"), *id));
    }
    if input.observations.len() > MAX_OBSERVATIONS {
        v.add(
            "observations",
            "too_many",
            format!("at most {MAX_OBSERVATIONS} observations per session"),
        );
    }
    for (n, o) in input.observations.iter().enumerate() {
        match o.provider_id {
            None => v.add(
                &format!("observations[{n}].provider_id"),
                "required",
                "is required",
            ),
            Some(id) if !wanted.iter().any(|(_, w)| *w == id) => {
                wanted.push((format!("observations[{n}].provider_id"), id));
            }
            Some(_) => {}
        }
    }
    if wanted.is_empty() {
        v.add(
            "mentee_ids",
            "required",
            "a session needs at least one mentee",
        );
    } else if wanted.len() > MAX_MENTEES {
        v.add(
            "mentee_ids",
            "too_many",
            format!("at most {MAX_MENTEES} mentees per session"),
        );
    }
    let wanted = &wanted[..wanted.len().min(MAX_MENTEES)];
    let mut found: Vec<(i64, i64, i64, String, i64, String)> = Vec::with_capacity(wanted.len());
    for chunk in wanted.chunks(MENTEE_CHUNK) {
        let mut query = sqlx::query_as(
            "SELECT id, organisation_id, facility_id, cadre, active, name FROM providers
             WHERE id IN ($1, $2, $3, $4, $5, $6, $7, $8)",
        );
        // A short chunk repeats its first id; IN does not mind.
        for n in 0..MENTEE_CHUNK {
            query = query.bind(chunk.get(n).unwrap_or(&chunk[0]).1);
        }
        found.extend(query.fetch_all(&mut *conn).await?);
    }
    let mut mentees = Vec::new();
    let mut mentee_names = Vec::new();
    for (field, id) in wanted {
        match found.iter().find(|row| row.0 == *id) {
            // Another partner's provider is reported exactly like a missing one.
            Some((_, org, _, _, _, _)) if *org != organisation_id => {
                v.add(field, "unknown", "no such provider")
            }
            None => v.add(field, "unknown", "no such provider"),
            Some((_, _, facility, _, _, _)) if *facility != facility_id => v.add(
                field,
                "other_facility",
                "this provider works at another facility",
            ),
            Some((_, _, _, _, 0, _)) => {
                v.add(field, "inactive", "this provider is marked inactive")
            }
            Some((_, _, _, cadre, _, name)) => {
                mentees.push((*id, cadre.clone()));
                mentee_names.push((*id, name.clone()));
            }
        }
    }
    Ok(Checked::Checked(Valid {
        facility_id,
        date,
        session_type,
        topic,
        duration_minutes,
        notes,
        action_points,
        mentees,
        facility_name,
        mentee_names,
    }))
}

fn long_text(v: &mut Validator, field: &str, value: Option<&str>) -> Option<String> {
    let value = value.map(str::trim).filter(|s| !s.is_empty())?;
    if value.chars().count() > 5000 {
        v.add(field, "too_long", "must be at most 5000 characters");
    } else if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        v.add(
            field,
            "invalid_characters",
            "must not contain control characters",
        );
    }
    Some(value.to_string())
}

/// How the observations of an input are to be scored.
struct Plan {
    items: Vec<(scoring::Checked, ScoreContext, Version, i64)>,
}

/// Resolves each observation's checklist and checks its responses. For a correction,
/// `pinned` holds the versions the stored observations were scored with: an observation
/// naming one of them is re-scored with it even if it is no longer active.
async fn plan(
    registry: &Registry,
    organisation_id: i64,
    actor: &Actor,
    input: &SessionInput,
    valid: &Valid,
    rescore: Option<(Rescore, &[i64])>,
    v: &mut Validator,
) -> AppResult<Plan> {
    let mut items = Vec::new();
    for (n, o) in input.observations.iter().enumerate() {
        let field = format!("observations[{n}]");
        let Some(provider_id) = o.provider_id else {
            continue;
        };
        let Some(cadre) = valid
            .mentees
            .iter()
            .find(|(id, _)| *id == provider_id)
            .map(|(_, c)| c.clone())
        else {
            continue; // already reported as a mentee problem
        };
        let mut version_id = o.plugin_version_id;
        let mut version = Version::Active;
        if let (Some((how, stored)), Some(id)) = (rescore, o.plugin_version_id)
            && stored.contains(&id)
        {
            match how {
                Rescore::Pinned => version = Version::Pinned,
                Rescore::Current => {
                    version_id = registry.current_version_of(id).await?.or(Some(id));
                }
            }
        }
        let input = ChecklistInput {
            plugin_version_id: version_id,
            checklist_id: o.checklist_id.clone(),
            responses: o.responses.clone(),
        };
        let checked = match version {
            Version::Active => {
                scoring::check(registry, organisation_id, &field, &input, &[], v).await?
            }
            Version::Pinned => scoring::check_stored(registry, &field, &input, v).await?,
        };
        if let Some(checked) = checked {
            let context = ScoreContext {
                session_type: valid.session_type.clone(),
                mentee_cadre: cadre,
                date: valid.date.clone(),
                language: actor.language.clone(),
            };
            items.push((checked, context, version, provider_id));
        }
    }
    Ok(Plan { items })
}

/// Scores a plan; each scored checklist keeps its provider.
async fn score(registry: &Registry, plan: Plan) -> AppResult<Vec<(i64, scoring::ScoredChecklist)>> {
    let providers: Vec<i64> = plan.items.iter().map(|i| i.3).collect();
    let scored = scoring::score_all(
        registry,
        plan.items
            .into_iter()
            .map(|(checked, context, version, _)| (checked, context, version))
            .collect(),
    )
    .await?;
    Ok(providers.into_iter().zip(scored).collect())
}

/// The hash of a session's content. The input carries the record's own id, the same in every
/// revision, so it hashes like the rest.
fn content_sha256(normalised: &SessionInput) -> AppResult<String> {
    scoring::body_sha256(normalised)
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Logs a session, or returns the identical one already logged under the same id.
pub async fn create(
    db: &Db,
    registry: &Registry,
    actor: &Actor,
    input: &SessionInput,
) -> AppResult<Created> {
    let organisation_id = writing_org(actor)?;
    let mut id_check = Validator::new();
    let id = scoring::parse_uuid(&mut id_check, "id", input.id.as_deref());
    id_check.finish()?;
    let mut v = Validator::new();
    let mut normalised = input.clone();
    normalised.id = Some(id.clone());
    let create_sha256 = scoring::body_sha256(&normalised)?;
    // The re-send check and the validation's reads on one connection, given back before
    // scoring.
    let mut reads = db.pool().acquire().await?;
    let checked = validate(
        &mut reads,
        actor,
        organisation_id,
        input,
        Checking::New { id: &id },
        &mut v,
    )
    .await?;
    drop(reads);
    let valid = match checked {
        Checked::Checked(valid) => valid,
        Checked::AlreadyStored => {
            return match existing(db, actor, &id, &normalised).await? {
                Some(s) => Ok(Created::Existing(s)),
                None => Err(AppError::Internal(anyhow::anyhow!(
                    "session {id} vanished after it was found stored"
                ))),
            };
        }
    };
    let plan = plan(
        registry,
        organisation_id,
        actor,
        input,
        &valid,
        None,
        &mut v,
    )
    .await?;
    v.finish()?;
    let scored = score(registry, plan).await?;
    // Serialised before taking the writer: every microsecond spent holding it is one no
    // other session can use.
    let after = serde_json::to_string(&audit_snapshot(&id, &valid, &scored))
        .map_err(|e| AppError::Internal(e.into()))?;

    let now = crate::time::now();
    let rows = NewSession {
        id: id.clone(),
        organisation_id,
        mentor_id: actor.user_id,
        facility_id: valid.facility_id,
        date: valid.date.clone(),
        session_type: valid.session_type.clone(),
        topic: valid.topic.clone(),
        duration_minutes: valid.duration_minutes,
        notes: valid.notes.clone(),
        action_points: valid.action_points.clone(),
        create_sha256: create_sha256.clone(),
        now: now.clone(),
        mentee_ids: valid.mentees.iter().map(|(id, _)| *id).collect(),
        observations: scored
            .iter()
            .enumerate()
            .map(|(position, (provider_id, s))| {
                scoring::NewObservation::of(position as i64, *provider_id, s)
            })
            .collect::<AppResult<_>>()?,
    }
    .prepare()?;

    let mut tx = db.begin().await?;
    let audit = Audit {
        actor,
        snapshot: after,
    };
    let observation_ids = match insert_rows(&mut tx, &rows, Some(audit)).await {
        Ok(ids) => ids,
        Err(e) if is_unique_violation(&e) => {
            // A concurrent duplicate won the race: answer as if this were the re-send.
            // Settled first: the winner may still be waiting for its group's commit.
            tx.settle().await?;
            return match existing(db, actor, &id, &normalised).await? {
                Some(s) => Ok(Created::Existing(s)),
                None => Err(AppError::Internal(anyhow::anyhow!(
                    "session {id} vanished after a unique violation"
                ))),
            };
        }
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    // Answered from what was just written, not read back: the same record `get` returns
    // (a test holds the two equal), without five more queries on every submission.
    let stored = scored
        .into_iter()
        .zip(observation_ids)
        .map(|((provider_id, s), observation_id)| {
            scoring::stored_observation(
                observation_id,
                now.clone(),
                provider_id,
                mentee_name(&valid, provider_id),
                &valid.date,
                None,
                s,
            )
        })
        .collect();
    Ok(Created::New(written(
        id,
        organisation_id,
        actor,
        valid,
        stored,
        now,
    )))
}

fn sort_mentees(mentees: &mut [Mentee]) {
    mentees.sort_by(|a, b| a.name.cmp(&b.name).then(a.provider_id.cmp(&b.provider_id)));
}

/// The session `create` stored, as [`load`] reads it.
fn written(
    id: String,
    organisation_id: i64,
    mentor: &Actor,
    valid: Valid,
    observation_list: Vec<Observation>,
    now: String,
) -> Session {
    let mut mentee_list: Vec<Mentee> = valid
        .mentees
        .iter()
        .map(|(provider_id, cadre)| Mentee {
            provider_id: *provider_id,
            name: valid
                .mentee_names
                .iter()
                .find(|(id, _)| id == provider_id)
                .map(|(_, name)| name.clone())
                .unwrap_or_default(),
            cadre: cadre.clone(),
        })
        .collect();
    sort_mentees(&mut mentee_list);
    Session {
        summary: SessionSummary {
            id,
            organisation_id,
            mentor_id: mentor.user_id,
            mentor_name: mentor.display_name.clone(),
            facility_id: valid.facility_id,
            facility_name: valid.facility_name,
            date: valid.date,
            session_type: valid.session_type,
            topic: valid.topic,
            duration_minutes: valid.duration_minutes,
            status: "recorded".into(),
            revision: 1,
            mentees: mentee_list.len() as i64,
            observations: observation_list.len() as i64,
            created_at: now.clone(),
            updated_at: now,
        },
        notes: valid.notes,
        action_points: valid.action_points,
        withdrawn_reason: None,
        withdrawn_at: None,
        mentee_list,
        observation_list,
    }
}

/// The stored session under `id`: `Some` if the body is identical, a conflict if not.
async fn existing(
    db: &Db,
    actor: &Actor,
    id: &str,
    normalised: &SessionInput,
) -> AppResult<Option<Session>> {
    let Some(s) = stored(db, id).await? else {
        return Ok(None);
    };
    if scoring::same_body(&s.create_sha256, normalised)? && actor.can_read_org(s.organisation_id) {
        return Ok(Some(load(db, id).await?));
    }
    Err(AppError::Conflict(format!(
        "a different session was already submitted under id {id}; nothing was changed (use a new id for a new session, or PUT /api/v1/sessions/{id} to correct it)"
    )))
}

/// Inserts a session's mentees (`$1`) from one JSON array of provider ids (`$2`).
pub fn insert_mentees_sql(kind: DbKind) -> &'static str {
    match kind {
        DbKind::Sqlite => {
            "INSERT INTO session_mentees (session_id, provider_id)
             SELECT $1, j.value FROM json_each($2) j"
        }
        DbKind::Postgres => {
            "INSERT INTO session_mentees (session_id, provider_id)
             SELECT $1, CAST(j.value AS BIGINT) FROM jsonb_array_elements_text(CAST($2 AS JSONB)) j"
        }
    }
}

fn mentee_name(valid: &Valid, provider_id: i64) -> String {
    valid
        .mentee_names
        .iter()
        .find(|(id, _)| *id == provider_id)
        .map(|(_, name)| name.clone())
        .unwrap_or_default()
}

/// The rows of a new session, as [`create`] writes them once everything is checked and
/// scored. Public for the sessions load benchmark, whose bare baseline writes the same rows
/// through [`insert_rows`]: the comparison is then of the checks, not of the SQL.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub id: String,
    pub organisation_id: i64,
    pub mentor_id: i64,
    pub facility_id: i64,
    pub date: String,
    pub session_type: String,
    pub topic: String,
    pub duration_minutes: i64,
    pub notes: Option<String>,
    pub action_points: Option<String>,
    pub create_sha256: String,
    /// Created, updated and scored at.
    pub now: String,
    pub mentee_ids: Vec<i64>,
    /// In position order.
    pub observations: Vec<scoring::NewObservation>,
}

/// A [`NewSession`] with its lists serialised, done before the writer is taken.
#[derive(Debug)]
pub struct PreparedSession {
    session: NewSession,
    mentees_json: String,
    observations_json: String,
}

impl NewSession {
    pub fn prepare(self) -> AppResult<PreparedSession> {
        Ok(PreparedSession {
            mentees_json: scoring::json(&self.mentee_ids)?,
            observations_json: scoring::json(&self.observations)?,
            session: self,
        })
    }
}

/// The session row, `$1`–`$12` as [`bind_session`] binds them. A new record's content is the
/// body it was created with.
const INSERT_SESSION: &str = "INSERT INTO sessions (id, organisation_id, mentor_id, facility_id,
        session_date, session_type, topic, duration_minutes, notes, action_points, create_sha256,
        content_sha256, status, revision, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 'recorded', 1, $12, $12)";

/// `sql` with the session's columns bound as `$1`–`$12`.
fn bind_session<'q>(
    sql: &'static str,
    s: &'q NewSession,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(sql)
        .bind(&s.id)
        .bind(s.organisation_id)
        .bind(s.mentor_id)
        .bind(s.facility_id)
        .bind(&s.date)
        .bind(&s.session_type)
        .bind(&s.topic)
        .bind(s.duration_minutes)
        .bind(&s.notes)
        .bind(&s.action_points)
        .bind(&s.create_sha256)
        .bind(&s.now)
}

/// The session, its mentees, its observations with their metrics and its reporting copies as
/// one batch of statements on SQLite (`$1`–`$12` the session's columns, `$13` the mentees'
/// ids, `$14` the observations, [`scoring::NewObservation`]s in position order): one round
/// trip to the single writer instead of a dozen, and on a 2-core machine each round trip is
/// two thread wake-ups while the writer is held (BENCHMARKS.md, "Sessions under load").
static SQLITE_INSERT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut batch = vec![
        INSERT_SESSION,
        "INSERT INTO session_mentees (session_id, provider_id)
         SELECT $1, j.value FROM json_each($13) j",
        "INSERT INTO observations (session_id, position, provider_id, observed_on,
            plugin_version_id, plugin_key, plugin_version, plugin_sha256, checklist_id,
            checklist_version, checklist_kind, checklist_title, responses_json, percentage,
            outcome_code, outcome_level, card_json, scored_at)
         SELECT $1, o.value ->> 'position', o.value ->> 'provider_id', $5,
            o.value ->> 'plugin_version_id', o.value ->> 'plugin_key', o.value ->> 'plugin_version',
            o.value ->> 'plugin_sha256', o.value ->> 'checklist_id', o.value ->> 'checklist_version',
            o.value ->> 'checklist_kind', o.value ->> 'checklist_title',
            o.value ->> 'responses_json', o.value ->> 'percentage', o.value ->> 'outcome_code',
            o.value ->> 'outcome_level', o.value ->> 'card_json', $12
         FROM json_each($14) o
         RETURNING position, id",
        "INSERT INTO observation_metrics (observation_id, name, value)
         SELECT s.id, m.key, m.value
         FROM json_each($14) o
             JOIN observations s ON s.session_id = $1 AND s.position = o.value ->> 'position'
             JOIN json_each(o.value, '$.metrics') m",
    ];
    batch.extend(reporting::RECORD_SESSION);
    batch.join(";\n")
});

/// [`SQLITE_INSERT`] and the action's audit entry (`$15` the actor, `$16` the snapshot), as
/// `audit::record_json` writes it.
static SQLITE_INSERT_AUDITED: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{};\nINSERT INTO audit_log (at, actor_id, organisation_id, action, entity, entity_id,
            before_json, after_json)
         VALUES ($12, $15, $2, 'create', 'session', $1, NULL, $16)",
        *SQLITE_INSERT
    )
});

/// Who creates a session, and the audit log's snapshot of it.
#[derive(Debug)]
pub struct Audit<'a> {
    pub actor: &'a Actor,
    pub snapshot: String,
}

/// Writes a new session's rows: the session, its mentees, its scored observations with their
/// metrics, its reporting copies and, given one, the audit entry of its creation. Returns the
/// observations' ids in position order. A session already stored under the same id fails
/// with a unique violation and writes nothing that outlives the transaction.
pub async fn insert_rows(
    tx: &mut Tx,
    rows: &PreparedSession,
    audit: Option<Audit<'_>>,
) -> Result<Vec<i64>, sqlx::Error> {
    let s = &rows.session;
    match tx.kind() {
        DbKind::Sqlite => {
            let batch = match audit {
                Some(_) => SQLITE_INSERT_AUDITED.as_str(),
                None => SQLITE_INSERT.as_str(),
            };
            let mut query = bind_session(batch, s)
                .bind(&rows.mentees_json)
                .bind(&rows.observations_json);
            if let Some(audit) = audit {
                query = query.bind(audit.actor.user_id).bind(audit.snapshot);
            }
            let returned = query.fetch_all(&mut **tx).await?;
            // RETURNING's order is SQLite's to choose: placed by position.
            let mut ids = vec![None; s.observations.len()];
            for row in returned {
                let position: i64 = row.try_get(0)?;
                let id: i64 = row.try_get(1)?;
                if let Some(slot) = usize::try_from(position).ok().and_then(|p| ids.get_mut(p)) {
                    *slot = Some(id);
                }
            }
            ids.into_iter()
                .enumerate()
                .map(|(position, id)| {
                    id.ok_or_else(|| {
                        sqlx::Error::Protocol(format!(
                            "observation {position} of session {} was not stored",
                            s.id
                        ))
                    })
                })
                .collect()
        }
        // No batches of statements with parameters in PostgreSQL's protocol: one statement
        // at a time, each a round trip to a server where writers do not queue for one
        // connection.
        DbKind::Postgres => {
            bind_session(INSERT_SESSION, s).execute(&mut **tx).await?;
            sqlx::query(insert_mentees_sql(DbKind::Postgres))
                .bind(&s.id)
                .bind(&rows.mentees_json)
                .execute(&mut **tx)
                .await?;
            let mut ids = Vec::with_capacity(s.observations.len());
            for row in &s.observations {
                ids.push(
                    scoring::insert_row(tx, Owner::Session(&s.id), &s.date, &s.now, row).await?,
                );
            }
            reporting::record_session(tx, &s.id)
                .await
                .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
            if let Some(audit) = audit {
                audit::record_json(
                    tx,
                    Some(audit.actor),
                    Some(s.organisation_id),
                    "create",
                    "session",
                    &s.id,
                    None,
                    Some(audit.snapshot),
                )
                .await
                .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
            }
            Ok(ids)
        }
    }
}

/// Writes the mentees and the scored observations; returns the observations as stored.
async fn write_children(
    tx: &mut Tx,
    id: &str,
    valid: &Valid,
    scored: &[(i64, scoring::ScoredChecklist)],
) -> AppResult<Vec<Observation>> {
    // All mentees in one statement (see `scoring::insert`).
    let ids: Vec<i64> = valid.mentees.iter().map(|(id, _)| *id).collect();
    sqlx::query(insert_mentees_sql(tx.kind()))
        .bind(id)
        .bind(serde_json::to_string(&ids).map_err(|e| AppError::Internal(e.into()))?)
        .execute(&mut **tx)
        .await?;
    let mut stored = Vec::with_capacity(scored.len());
    for (position, (provider_id, s)) in scored.iter().enumerate() {
        let (observation_id, scored_at) = scoring::insert(
            tx,
            Owner::Session(id),
            position as i64,
            *provider_id,
            &valid.date,
            s,
        )
        .await?;
        stored.push(scoring::stored_observation(
            observation_id,
            scored_at,
            *provider_id,
            mentee_name(valid, *provider_id),
            &valid.date,
            None,
            s.clone(),
        ));
    }
    Ok(stored)
}

/// What the audit log keeps of a session as written: serialised straight from the written
/// data (no intermediate JSON value), as it is on every submission.
#[derive(Serialize)]
struct SessionSnapshot<'a> {
    id: &'a str,
    facility_id: i64,
    date: &'a str,
    session_type: &'a str,
    topic: &'a str,
    duration_minutes: i64,
    notes: Option<&'a str>,
    action_points: Option<&'a str>,
    mentee_ids: Vec<i64>,
    observations: Vec<ObservationSnapshot<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rescore: Option<Rescore>,
}

#[derive(Serialize)]
struct ObservationSnapshot<'a> {
    provider_id: i64,
    plugin_version_id: i64,
    plugin_key: &'a str,
    plugin_version: &'a str,
    plugin_sha256: &'a str,
    checklist_id: &'a str,
    responses: &'a [Response],
    percentage: Option<f64>,
    outcome: &'a str,
}

fn audit_snapshot<'a>(
    id: &'a str,
    valid: &'a Valid,
    scored: &'a [(i64, scoring::ScoredChecklist)],
) -> SessionSnapshot<'a> {
    SessionSnapshot {
        id,
        facility_id: valid.facility_id,
        date: &valid.date,
        session_type: &valid.session_type,
        topic: &valid.topic,
        duration_minutes: valid.duration_minutes,
        notes: valid.notes.as_deref(),
        action_points: valid.action_points.as_deref(),
        mentee_ids: valid.mentees.iter().map(|(id, _)| *id).collect(),
        observations: scored
            .iter()
            .map(|(provider_id, s)| ObservationSnapshot {
                provider_id: *provider_id,
                plugin_version_id: s.scored.plugin_version_id,
                plugin_key: &s.scored.plugin_key,
                plugin_version: &s.scored.plugin_version,
                plugin_sha256: &s.scored.sha256,
                checklist_id: &s.checked.checklist.checklist.id,
                responses: &s.checked.responses,
                percentage: s.card.percentage,
                outcome: &s.card.outcome.code,
            })
            .collect(),
        reason: None,
        rescore: None,
    }
}

/// Whether the actor may correct or withdraw this session now.
fn may_change(actor: &Actor, s: &Stored, programme: &Programme) -> AppResult<()> {
    if !actor.can_read_org(s.organisation_id) {
        return Err(AppError::NotFound);
    }
    match actor.role {
        Role::Admin => Ok(()),
        Role::OrgAdmin if actor.organisation_id == s.organisation_id => Ok(()),
        Role::Mentor
            if actor.organisation_id == s.organisation_id && actor.user_id == s.mentor_id =>
        {
            let window = Duration::days(programme.correction_window_days);
            let created = chrono::DateTime::parse_from_rfc3339(&s.created_at)
                .map_err(|e| AppError::Internal(e.into()))?;
            if Utc::now() - created.with_timezone(&Utc) <= window {
                Ok(())
            } else {
                Err(AppError::Conflict(format!(
                    "sessions can be corrected by their mentor for {} days after they are logged; ask your organisation's admin",
                    programme.correction_window_days
                )))
            }
        }
        _ => Err(AppError::Forbidden),
    }
}

/// Whether the actor may correct this session now (pages use it to show the edit link).
pub async fn can_change(
    db: &Db,
    actor: &Actor,
    id: &str,
    programme: &Programme,
) -> AppResult<bool> {
    match stored(db, id).await? {
        Some(s) if s.status == "recorded" => Ok(may_change(actor, &s, programme).is_ok()),
        _ => Ok(false),
    }
}

/// Replaces a session's content, re-scoring its checklists. A body identical to the current
/// content changes nothing (so a re-sent correction is harmless).
pub async fn correct(
    db: &Db,
    registry: &Registry,
    programme: &Programme,
    actor: &Actor,
    id: &str,
    input: &CorrectionInput,
) -> AppResult<Session> {
    let id = id.trim().to_ascii_lowercase();
    let current = stored(db, &id).await?.ok_or(AppError::NotFound)?;
    may_change(actor, &current, programme)?;
    if current.status != "recorded" {
        return Err(AppError::Conflict(
            "this session was withdrawn and can no longer be corrected".into(),
        ));
    }
    let mut v = Validator::new();
    if let Some(body_id) = input.session.id.as_deref().filter(|s| !s.trim().is_empty())
        && body_id.trim().to_ascii_lowercase() != id
    {
        v.add("id", "mismatch", "must match the session being corrected");
    }
    let reason = v.optional_text("reason", input.reason.as_deref(), 500);
    let mut normalised = input.session.clone();
    normalised.id = Some(id.clone());
    let content = content_sha256(&normalised)?;
    if scoring::same_content(
        &current.content_sha256,
        &normalised,
        |c: &mut SessionInput| c.id = None,
    )? && input.rescore == Rescore::Pinned
        && v.is_empty()
    {
        return load(db, &id).await;
    }
    let before = load(db, &id).await?;
    let pinned: Vec<i64> = before
        .observation_list
        .iter()
        .map(|o| o.plugin_version_id)
        .collect();
    let checked = validate(
        &mut *db.pool().acquire().await?,
        actor,
        current.organisation_id,
        &input.session,
        Checking::Correction {
            current_facility: current.facility_id,
        },
        &mut v,
    )
    .await?;
    let Checked::Checked(valid) = checked else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "a correction was taken for a re-send"
        )));
    };
    let plan = plan(
        registry,
        current.organisation_id,
        actor,
        &input.session,
        &valid,
        Some((input.rescore, &pinned)),
        &mut v,
    )
    .await?;
    v.finish()?;
    let scored = score(registry, plan).await?;

    let mut tx = db.begin().await?;
    // Before the date and the observations change: the rows are found by them.
    reporting::forget_session(&mut tx, &id).await?;
    let n = sqlx::query(
        "UPDATE sessions SET facility_id = $1, session_date = $2, session_type = $3, topic = $4,
            duration_minutes = $5, notes = $6, action_points = $7, content_sha256 = $8,
            revision = revision + 1, updated_at = $9
         WHERE id = $10 AND revision = $11 AND status = 'recorded'",
    )
    .bind(valid.facility_id)
    .bind(&valid.date)
    .bind(&valid.session_type)
    .bind(&valid.topic)
    .bind(valid.duration_minutes)
    .bind(&valid.notes)
    .bind(&valid.action_points)
    .bind(&content)
    .bind(crate::time::now())
    .bind(&id)
    .bind(current.revision)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::Conflict(
            "this session was changed by someone else meanwhile; reload it and try again".into(),
        ));
    }
    sqlx::query("DELETE FROM session_mentees WHERE session_id = $1")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    scoring::delete(&mut tx, Owner::Session(&id)).await?;
    write_children(&mut tx, &id, &valid, &scored).await?;
    reporting::record_session(&mut tx, &id).await?;
    let mut after = audit_snapshot(&id, &valid, &scored);
    after.reason = Some(reason.clone());
    after.rescore = Some(input.rescore);
    audit::record(
        &mut tx,
        Some(actor),
        Some(current.organisation_id),
        "correct",
        "session",
        &id,
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    load(db, &id).await
}

/// Withdraws a session: it stays on record, marked withdrawn with the reason, and leaves the
/// timelines and indicators. Withdrawing again with the same reason changes nothing.
pub async fn withdraw(
    db: &Db,
    programme: &Programme,
    actor: &Actor,
    id: &str,
    input: &WithdrawInput,
) -> AppResult<Session> {
    let id = id.trim().to_ascii_lowercase();
    let current = stored(db, &id).await?.ok_or(AppError::NotFound)?;
    if !actor.can_read_org(current.organisation_id) {
        return Err(AppError::NotFound);
    }
    let mut v = Validator::new();
    let reason = v.required_text("reason", input.reason.as_deref(), 500);
    v.finish()?;
    if current.status == "withdrawn" {
        if current.withdrawn_reason.as_deref() == Some(reason.as_str()) {
            return load(db, &id).await;
        }
        return Err(AppError::Conflict(
            "this session is already withdrawn".into(),
        ));
    }
    may_change(actor, &current, programme)?;
    let before = load(db, &id).await?;
    let now = crate::time::now();
    let mut tx = db.begin().await?;
    reporting::forget_session(&mut tx, &id).await?;
    let n = sqlx::query(
        "UPDATE sessions SET status = 'withdrawn', withdrawn_reason = $1, withdrawn_at = $2,
            withdrawn_by = $3, revision = revision + 1, updated_at = $2
         WHERE id = $4 AND revision = $5 AND status = 'recorded'",
    )
    .bind(&reason)
    .bind(&now)
    .bind(actor.user_id)
    .bind(&id)
    .bind(current.revision)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::Conflict(
            "this session was changed by someone else meanwhile; reload it and try again".into(),
        ));
    }
    audit::record(
        &mut tx,
        Some(actor),
        Some(current.organisation_id),
        "withdraw",
        "session",
        &id,
        Some(&before.summary),
        Some(&serde_json::json!({"status": "withdrawn", "reason": reason})),
    )
    .await?;
    tx.commit().await?;
    load(db, &id).await
}

// ---------------------------------------------------------------------------------------------
// For the pages' two-step form. These add nothing to the rules: they apply the ones `create`
// and `correct` apply, early, so the first step can report them before checklists are filled.

/// Facilities where the actor may log a session: a mentor's assigned ones; for org admins
/// (and admins) the facilities where their organisation has active providers. Labelled
/// "District › Facility".
pub async fn logging_facilities(db: &Db, actor: &Actor) -> AppResult<Vec<(i64, String)>> {
    let organisation_id = writing_org(actor)?;
    let ids: Vec<i64> = if actor.role == Role::Mentor {
        assignments::facility_ids(db, actor.user_id).await?
    } else {
        sqlx::query_scalar(
            "SELECT DISTINCT facility_id FROM providers WHERE organisation_id = $1 AND active = 1",
        )
        .bind(organisation_id)
        .fetch_all(db.pool())
        .await?
    };
    org_units::facility_choices(db, Some(&ids)).await
}

/// Checks the session part of a draft (facility, date, type, topic, duration, mentees) the
/// way `create` does, or `correct` does when `correcting` names the session; observations are
/// ignored. A 422 names the fields, as `create` would.
pub async fn check_draft(
    db: &Db,
    actor: &Actor,
    input: &SessionInput,
    correcting: Option<&str>,
) -> AppResult<()> {
    let (organisation_id, checking) = match correcting {
        None => (writing_org(actor)?, Checking::Draft),
        Some(id) => {
            let id = id.trim().to_ascii_lowercase();
            // Who may correct, and until when, is checked when the correction is saved.
            let current = stored(db, &id)
                .await?
                .filter(|s| actor.can_read_org(s.organisation_id))
                .ok_or(AppError::NotFound)?;
            (
                current.organisation_id,
                Checking::Correction {
                    current_facility: current.facility_id,
                },
            )
        }
    };
    let mut draft = input.clone();
    draft.observations.clear();
    let mut v = Validator::new();
    validate(
        &mut *db.pool().acquire().await?,
        actor,
        organisation_id,
        &draft,
        checking,
        &mut v,
    )
    .await?;
    v.finish()
}
