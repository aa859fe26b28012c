//! Quality-improvement projects with their PDSA cycles, and action items agreed in sessions.
//!
//! Rules, and why:
//! - Access follows sessions: the organisation's org admins and mentors write (a mentor only
//!   at the facilities assigned to them, or on records they created themselves, so a mentor
//!   moved elsewhere can still close what they opened); admins and managers read every
//!   organisation's records and managers change none. Another organisation's record is "not
//!   found" and never listed.
//! - A project's `started_on` is a fact, so never in the future; `ended_on` belongs to a
//!   closed project (completed or stopped) and is then required, on or after `started_on`
//!   and not in the future. Indicators count projects running in a quarter from these dates.
//! - Cycles are numbered in the order they were added; a cycle cannot start before its
//!   project, and its decision (adopt, adapt, abandon) needs the result it was drawn from.
//!   Every cycle change counts as a change of the project: it bumps the project's
//!   `revision`, so an edit based on an older page is refused (409) rather than silently
//!   overwriting what someone else recorded meanwhile.
//! - Action items have a due date (planned, so it may lie ahead) and a status; `done_on`
//!   records when one was done (indicators count items due in a quarter that were done).
//!   Items agreed in a session take the session's organisation and facility.
//! - Every change is one transaction with its audit entry (before and after).

use chrono::{Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::authz::{Actor, Role};
use crate::db::{Db, Tx};
use crate::domain::sessions::latest_allowed_date;
use crate::domain::{Page, PageParams, assignments, audit, org_units};
use crate::error::{AppError, AppResult, Validator};

pub const STATUSES: [&str; 4] = ["planned", "active", "completed", "stopped"];
pub const DECISIONS: [&str; 3] = ["adopt", "adapt", "abandon"];
pub const ACTION_STATUSES: [&str; 3] = ["open", "done", "dropped"];
/// How far ahead an action item may be due, in days.
pub const MAX_DUE_AHEAD: i64 = 730;
pub const MAX_CYCLES: i64 = 200;

// ---------------------------------------------------------------------------------------------
// Inputs

/// A QI project as the client sends it. Every field is optional here so that a missing one is
/// a 422 naming it, not a deserialisation error.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProjectInput {
    /// A facility the organisation works at (for a mentor: one assigned to them).
    pub facility_id: Option<i64>,
    pub title: Option<String>,
    /// The problem, with the baseline figure if known.
    pub problem: Option<String>,
    /// The SMART aim: what, by how much, by when.
    pub aim: Option<String>,
    /// An indicator of the catalogue the project moves (optional).
    pub indicator_id: Option<i64>,
    /// The change ideas to test, one a line.
    pub change_ideas: Option<String>,
    /// `planned`, `active`, `completed` or `stopped`.
    pub status: Option<String>,
    /// `YYYY-MM-DD`, not in the future.
    pub started_on: Option<String>,
    /// `YYYY-MM-DD`; required when `completed` or `stopped`, never before `started_on`.
    pub ended_on: Option<String>,
    /// For an edit: the revision the edit is based on (required); a newer one answers 409.
    pub revision: Option<i64>,
}

/// One PDSA cycle: plan, do and study (`result`), act (`decision`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CycleInput {
    /// The change idea this cycle tests.
    pub change_idea: Option<String>,
    /// Plan: what will be done, by whom, where, and what will be measured.
    pub plan: Option<String>,
    /// `YYYY-MM-DD`, not in the future and not before the project started.
    pub started_on: Option<String>,
    /// `YYYY-MM-DD`, optional while the cycle runs.
    pub ended_on: Option<String>,
    /// Do and study: what happened and what the data showed.
    pub result: Option<String>,
    /// `adopt`, `adapt` or `abandon`; needs a result.
    pub decision: Option<String>,
    /// The project's revision the change is based on: required to edit a cycle, optional to
    /// add one; a newer one answers 409.
    pub revision: Option<i64>,
}

/// An action item. On an update every field is optional and an absent one keeps its value,
/// so `{"status": "done"}` marks an item done today.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActionInput {
    /// The facility it concerns; taken from the session when `session_id` is given.
    pub facility_id: Option<i64>,
    /// The session in which it was agreed (create only).
    pub session_id: Option<String>,
    pub description: Option<String>,
    /// Who at the facility does it (a name or a role).
    pub owner: Option<String>,
    /// `YYYY-MM-DD`; may lie ahead.
    pub due_on: Option<String>,
    /// `open` (the default), `done` or `dropped`.
    pub status: Option<String>,
    /// When it was done, `YYYY-MM-DD`; only with `done`, today if not given.
    pub done_on: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Outputs

#[derive(Clone, Debug, Serialize, FromRow, ToSchema)]
pub struct Project {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub facility_id: i64,
    pub facility_name: String,
    pub title: String,
    pub problem: String,
    pub aim: String,
    pub indicator_id: Option<i64>,
    pub indicator_code: Option<String>,
    pub indicator_name: Option<String>,
    pub change_ideas: Option<String>,
    pub status: String,
    pub started_on: String,
    pub ended_on: Option<String>,
    /// 1 when created, one more for every change (its cycles' included).
    pub revision: i64,
    /// How many PDSA cycles it has.
    pub cycles: i64,
    pub created_by: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, Serialize, FromRow, ToSchema, PartialEq)]
pub struct Cycle {
    pub id: i64,
    pub project_id: i64,
    /// 1 for the first cycle, in the order they were added.
    pub position: i64,
    pub change_idea: String,
    pub plan: String,
    pub started_on: String,
    pub ended_on: Option<String>,
    pub result: Option<String>,
    pub decision: Option<String>,
    pub updated_at: String,
}

/// A project with its cycles, first to last.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProjectDetail {
    #[serde(flatten)]
    pub project: Project,
    pub cycle_list: Vec<Cycle>,
}

#[derive(Clone, Debug, Serialize, FromRow, ToSchema)]
pub struct ActionItem {
    pub id: i64,
    pub organisation_id: i64,
    pub facility_id: i64,
    pub facility_name: String,
    pub session_id: Option<String>,
    pub session_date: Option<String>,
    pub session_topic: Option<String>,
    pub description: String,
    pub owner: String,
    pub due_on: String,
    /// `open`, `done` or `dropped`.
    pub status: String,
    pub done_on: Option<String>,
    /// Open and due before today.
    #[sqlx(skip)]
    pub overdue: bool,
    pub created_by: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

// ---------------------------------------------------------------------------------------------
// Shared rules

/// Today as action items count it (UTC), for "overdue" and a default `done_on`.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn day_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn earliest() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// A date field: `None` (with a "required" error if `required`) when empty or malformed.
fn date(v: &mut Validator, field: &str, value: Option<&str>, required: bool) -> Option<NaiveDate> {
    let value = value.map(str::trim).unwrap_or("");
    if value.is_empty() {
        if required {
            v.add(field, "required", "is required");
        }
        return None;
    }
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(d) if d < earliest() => {
            v.add(field, "invalid_date", "must be in 2000 or later");
            None
        }
        Ok(d) => Some(d),
        Err(_) => {
            v.add(field, "invalid_date", "must be a date written YYYY-MM-DD");
            None
        }
    }
}

/// A date that records something that happened: not after today somewhere on Earth.
fn past_date(
    v: &mut Validator,
    field: &str,
    value: Option<&str>,
    required: bool,
) -> Option<NaiveDate> {
    let d = date(v, field, value, required)?;
    if d > latest_allowed_date() {
        v.add(field, "future_date", "must not be in the future");
        return None;
    }
    Some(d)
}

fn choice(v: &mut Validator, field: &str, value: Option<&str>, allowed: &[&str]) -> String {
    let value = value.map(str::trim).unwrap_or("");
    if value.is_empty() {
        v.add(field, "required", "is required");
    } else if !allowed.contains(&value) {
        v.add(
            field,
            "invalid_choice",
            format!("must be one of {}", allowed.join(", ")),
        );
    }
    value.to_string()
}

/// Whether the actor may write records of `organisation_id` at `facility_id`: not found for
/// another organisation's, forbidden for readers only and for mentors elsewhere.
async fn may_write(
    db: &Db,
    actor: &Actor,
    organisation_id: i64,
    facility_id: i64,
    created_by: Option<i64>,
) -> AppResult<()> {
    if !actor.can_read_org(organisation_id) {
        return Err(AppError::NotFound);
    }
    if !actor.can_write_org_records(organisation_id) {
        return Err(AppError::Forbidden);
    }
    if actor.role == Role::Mentor
        && created_by != Some(actor.user_id)
        && !assignments::is_assigned(db, actor.user_id, facility_id).await?
    {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// The organisation the actor creates records for.
fn writing_org(actor: &Actor) -> AppResult<i64> {
    if !actor.can_write_org_records(actor.organisation_id) {
        return Err(AppError::Forbidden);
    }
    Ok(actor.organisation_id)
}

/// Checks a facility the actor works at: any facility for org admins and admins, an assigned
/// one for mentors; `keep` is the record's current facility, which an edit may keep.
async fn check_facility(
    db: &Db,
    actor: &Actor,
    v: &mut Validator,
    id: Option<i64>,
    keep: Option<i64>,
) -> AppResult<i64> {
    let Some(id) = id else {
        v.add("facility_id", "required", "is required");
        return Ok(0);
    };
    match org_units::find(db, id).await? {
        Some(u) if u.level == "facility" => {
            if actor.role == Role::Mentor
                && keep != Some(id)
                && !assignments::is_assigned(db, actor.user_id, id).await?
            {
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
    Ok(id)
}

/// Facilities the actor may choose for a new record: a mentor's assigned ones, every facility
/// for org admins and admins. Labelled "District › Facility".
pub async fn facility_choices(db: &Db, actor: &Actor) -> AppResult<Vec<(i64, String)>> {
    if actor.role == Role::Mentor {
        let ids = assignments::facility_ids(db, actor.user_id).await?;
        org_units::facility_choices(db, Some(&ids)).await
    } else {
        org_units::facility_choices(db, None).await
    }
}

/// Facilities for list filters: where the actor's organisation(s) have QI projects or action
/// items, plus a mentor's assigned ones.
pub async fn filter_facilities(db: &Db, actor: &Actor) -> AppResult<Vec<(i64, String)>> {
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "SELECT facility_id FROM qi_projects WHERE ($1 IS NULL OR organisation_id = $1)
         UNION SELECT facility_id FROM action_items WHERE ($1 IS NULL OR organisation_id = $1)",
    )
    .bind(actor.org_scope())
    .fetch_all(db.pool())
    .await?;
    if actor.role == Role::Mentor {
        ids.extend(assignments::facility_ids(db, actor.user_id).await?);
    }
    org_units::facility_choices(db, Some(&ids)).await
}

/// Active indicators of the catalogue, in catalogue order, labelled "CODE · name".
pub async fn indicator_choices(db: &Db) -> AppResult<Vec<(i64, String)>> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, code, name FROM indicators WHERE active = 1 ORDER BY position, code",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, code, name)| (id, format!("{code} · {name}")))
        .collect())
}

async fn check_indicator(
    db: &Db,
    v: &mut Validator,
    id: Option<i64>,
    keep: Option<i64>,
) -> AppResult<()> {
    let Some(id) = id else { return Ok(()) };
    let active: Option<i64> = sqlx::query_scalar("SELECT active FROM indicators WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    match active {
        None => v.add("indicator_id", "unknown", "no such indicator"),
        // A project keeps an indicator retired since it was linked.
        Some(0) if keep != Some(id) => {
            v.add("indicator_id", "inactive", "this indicator is not active")
        }
        Some(_) => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Projects: reading

macro_rules! project_columns {
    () => {
        "p.id, p.organisation_id, o.name AS organisation_name, p.facility_id,
         f.name AS facility_name, p.title, p.problem, p.aim, p.indicator_id,
         i.code AS indicator_code, i.name AS indicator_name, p.change_ideas, p.status,
         p.started_on, p.ended_on, p.revision,
         (SELECT COUNT(*) FROM pdsa_cycles c WHERE c.project_id = p.id) AS cycles,
         p.created_by, p.created_at, p.updated_at"
    };
}

macro_rules! project_from {
    () => {
        " FROM qi_projects p JOIN organisations o ON o.id = p.organisation_id
          JOIN org_units f ON f.id = p.facility_id LEFT JOIN indicators i ON i.id = p.indicator_id"
    };
}

macro_rules! project_conditions {
    () => {
        " WHERE ($1 IS NULL OR p.organisation_id = $1)
            AND ($2 IS NULL OR p.facility_id = $2)
            AND ($3 IS NULL OR p.status = $3)"
    };
}

macro_rules! cycle_columns {
    () => {
        "id, project_id, position, change_idea, plan, started_on, ended_on, result, decision,
         updated_at"
    };
}

async fn fetch_project(tx: &mut Tx, id: i64) -> AppResult<Option<Project>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        project_columns!(),
        project_from!(),
        " WHERE p.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?)
}

async fn find_project(db: &Db, id: i64) -> AppResult<Option<Project>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        project_columns!(),
        project_from!(),
        " WHERE p.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?)
}

async fn cycles_of(db: &Db, project_id: i64) -> AppResult<Vec<Cycle>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        cycle_columns!(),
        " FROM pdsa_cycles WHERE project_id = $1 ORDER BY position"
    ))
    .bind(project_id)
    .fetch_all(db.pool())
    .await?)
}

/// A project the actor may read; another organisation's is "not found".
async fn readable_project(db: &Db, actor: &Actor, id: i64) -> AppResult<Project> {
    match find_project(db, id).await? {
        Some(p) if actor.can_read_org(p.organisation_id) => Ok(p),
        _ => Err(AppError::NotFound),
    }
}

pub async fn get_project(db: &Db, actor: &Actor, id: i64) -> AppResult<ProjectDetail> {
    let project = readable_project(db, actor, id).await?;
    let cycle_list = cycles_of(db, id).await?;
    Ok(ProjectDetail {
        project,
        cycle_list,
    })
}

/// Whether the actor may change this project (pages use it to show the forms).
pub async fn can_change_project(db: &Db, actor: &Actor, p: &Project) -> AppResult<bool> {
    Ok(
        may_write(db, actor, p.organisation_id, p.facility_id, p.created_by)
            .await
            .is_ok(),
    )
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
pub struct ProjectFilter {
    pub organisation_id: Option<i64>,
    pub facility_id: Option<i64>,
    /// `planned`, `active`, `completed` or `stopped`.
    pub status: Option<String>,
    /// 1-based page number.
    pub page: Option<i64>,
    /// Items per page, at most 200.
    pub per_page: Option<i64>,
}

impl ProjectFilter {
    pub fn paging(&self) -> PageParams {
        PageParams {
            page: self.page,
            per_page: self.per_page,
        }
    }
}

fn empty<T>(page: i64, per_page: i64) -> Page<T> {
    Page {
        items: vec![],
        total: 0,
        page,
        per_page,
    }
}

/// The organisation a list is restricted to, or `Err(())` when the actor asked for one they
/// may not see (the list is then empty).
fn list_scope(actor: &Actor, asked: Option<i64>) -> Result<Option<i64>, ()> {
    match (actor.org_scope(), asked) {
        (Some(own), Some(asked)) if own != asked => Err(()),
        (Some(own), _) => Ok(Some(own)),
        (None, asked) => Ok(asked),
    }
}

fn status_filter(v: &mut Validator, value: Option<&str>, allowed: &[&str]) -> Option<String> {
    let value = value.map(str::trim).filter(|s| !s.is_empty())?;
    if allowed.contains(&value) {
        Some(value.to_string())
    } else {
        v.add(
            "status",
            "invalid_choice",
            format!("must be one of {}", allowed.join(", ")),
        );
        None
    }
}

/// Projects the actor may see, latest started first.
pub async fn list_projects(
    db: &Db,
    actor: &Actor,
    filter: &ProjectFilter,
    page: &PageParams,
) -> AppResult<Page<Project>> {
    let (page, per_page, offset) = page.resolve(25);
    let mut v = Validator::new();
    let status = status_filter(&mut v, filter.status.as_deref(), &STATUSES);
    v.finish()?;
    let Ok(scope) = list_scope(actor, filter.organisation_id) else {
        return Ok(empty(page, per_page));
    };
    let items = sqlx::query_as(concat!(
        "SELECT ",
        project_columns!(),
        project_from!(),
        project_conditions!(),
        " ORDER BY p.started_on DESC, p.id DESC LIMIT $4 OFFSET $5"
    ))
    .bind(scope)
    .bind(filter.facility_id)
    .bind(&status)
    .bind(per_page)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    let total = sqlx::query_scalar(concat!(
        "SELECT COUNT(*)",
        project_from!(),
        project_conditions!()
    ))
    .bind(scope)
    .bind(filter.facility_id)
    .bind(&status)
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
// Projects: writing

#[derive(Clone, Debug)]
struct ValidProject {
    facility_id: i64,
    title: String,
    problem: String,
    aim: String,
    indicator_id: Option<i64>,
    change_ideas: Option<String>,
    status: String,
    started_on: String,
    ended_on: Option<String>,
}

/// Checks a project; `current` is the project being edited.
async fn validate_project(
    db: &Db,
    actor: &Actor,
    input: &ProjectInput,
    current: Option<&Project>,
    v: &mut Validator,
) -> AppResult<ValidProject> {
    let facility_id = check_facility(
        db,
        actor,
        v,
        input.facility_id,
        current.map(|p| p.facility_id),
    )
    .await?;
    let title = v.required_text("title", input.title.as_deref(), 200);
    let problem = required_multiline(v, "problem", input.problem.as_deref(), 4000);
    let aim = required_multiline(v, "aim", input.aim.as_deref(), 2000);
    check_indicator(
        db,
        v,
        input.indicator_id,
        current.and_then(|p| p.indicator_id),
    )
    .await?;
    let change_ideas = multiline(v, "change_ideas", input.change_ideas.as_deref(), 4000);
    let status = choice(v, "status", input.status.as_deref(), &STATUSES);
    let started = past_date(v, "started_on", input.started_on.as_deref(), true);
    let closed = matches!(status.as_str(), "completed" | "stopped");
    let ended = past_date(v, "ended_on", input.ended_on.as_deref(), closed);
    if let Some(e) = ended {
        if !closed && STATUSES.contains(&status.as_str()) {
            v.add(
                "ended_on",
                "end_needs_closed_status",
                "only a completed or stopped project has an end date",
            );
        } else if started.is_some_and(|s| e < s) {
            v.add(
                "ended_on",
                "before_start",
                "must not be before the start date",
            );
        }
    }
    if let (Some(s), Some(p)) = (started, current) {
        let first: Option<String> =
            sqlx::query_scalar("SELECT MIN(started_on) FROM pdsa_cycles WHERE project_id = $1")
                .bind(p.id)
                .fetch_one(db.pool())
                .await?;
        if first.is_some_and(|f| f < day_text(s)) {
            v.add(
                "started_on",
                "after_first_cycle",
                "must not be after the first PDSA cycle began",
            );
        }
    }
    Ok(ValidProject {
        facility_id,
        title,
        problem,
        aim,
        indicator_id: input.indicator_id,
        change_ideas,
        status,
        started_on: started.map(day_text).unwrap_or_default(),
        ended_on: ended.map(day_text),
    })
}

/// An optional long text where line breaks are allowed (the shared check refuses control
/// characters, and a newline is one).
fn multiline(v: &mut Validator, field: &str, value: Option<&str>, max: usize) -> Option<String> {
    let text = value.map(str::trim).filter(|s| !s.is_empty())?;
    let flat: String = text
        .chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .collect();
    v.optional_text(field, Some(&flat), max)?;
    Some(text.replace("\r\n", "\n"))
}

/// A required long text where line breaks are allowed.
fn required_multiline(v: &mut Validator, field: &str, value: Option<&str>, max: usize) -> String {
    match multiline(v, field, value, max) {
        Some(t) => t,
        None => {
            if !v.has(field) {
                v.add(field, "required", "is required");
            }
            String::new()
        }
    }
}

pub async fn create_project(
    db: &Db,
    actor: &Actor,
    input: &ProjectInput,
) -> AppResult<ProjectDetail> {
    let organisation_id = writing_org(actor)?;
    let mut v = Validator::new();
    let valid = validate_project(db, actor, input, None, &mut v).await?;
    v.finish()?;
    let id = insert_project(db, Some(actor), organisation_id, actor.user_id, &valid).await?;
    get_project(db, actor, id).await
}

async fn insert_project(
    db: &Db,
    actor: Option<&Actor>,
    organisation_id: i64,
    created_by: i64,
    valid: &ValidProject,
) -> AppResult<i64> {
    let now = crate::time::now();
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO qi_projects (organisation_id, facility_id, title, problem, aim, indicator_id,
            change_ideas, status, started_on, ended_on, revision, created_by, created_at,
            updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $12) RETURNING id",
    )
    .bind(organisation_id)
    .bind(valid.facility_id)
    .bind(&valid.title)
    .bind(&valid.problem)
    .bind(&valid.aim)
    .bind(valid.indicator_id)
    .bind(&valid.change_ideas)
    .bind(&valid.status)
    .bind(&valid.started_on)
    .bind(&valid.ended_on)
    .bind(created_by)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?;
    let after = fetch_project(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor,
        Some(organisation_id),
        "create",
        "qi_project",
        id,
        None::<&()>,
        after.as_ref(),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

fn changed_meanwhile() -> AppError {
    AppError::Conflict(
        "this QI project was changed by someone else meanwhile; reload it and try again".into(),
    )
}

fn required_revision(v: &mut Validator, revision: Option<i64>) -> i64 {
    match revision {
        Some(r) => r,
        None => {
            v.add("revision", "required", "is required");
            0
        }
    }
}

/// Replaces a project's fields. `revision` must be the one the edit was based on.
pub async fn update_project(
    db: &Db,
    actor: &Actor,
    id: i64,
    input: &ProjectInput,
) -> AppResult<ProjectDetail> {
    let current = readable_project(db, actor, id).await?;
    may_write(
        db,
        actor,
        current.organisation_id,
        current.facility_id,
        current.created_by,
    )
    .await?;
    let mut v = Validator::new();
    let revision = required_revision(&mut v, input.revision);
    let valid = validate_project(db, actor, input, Some(&current), &mut v).await?;
    v.finish()?;
    if revision != current.revision {
        return Err(changed_meanwhile());
    }
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "UPDATE qi_projects SET facility_id = $1, title = $2, problem = $3, aim = $4,
            indicator_id = $5, change_ideas = $6, status = $7, started_on = $8, ended_on = $9,
            revision = revision + 1, updated_at = $10
         WHERE id = $11 AND revision = $12",
    )
    .bind(valid.facility_id)
    .bind(&valid.title)
    .bind(&valid.problem)
    .bind(&valid.aim)
    .bind(valid.indicator_id)
    .bind(&valid.change_ideas)
    .bind(&valid.status)
    .bind(&valid.started_on)
    .bind(&valid.ended_on)
    .bind(crate::time::now())
    .bind(id)
    .bind(revision)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(changed_meanwhile());
    }
    let after = fetch_project(&mut tx, id).await?;
    audit::record(
        &mut tx,
        Some(actor),
        Some(current.organisation_id),
        "update",
        "qi_project",
        id,
        Some(&current),
        after.as_ref(),
    )
    .await?;
    tx.commit().await?;
    get_project(db, actor, id).await
}

// ---------------------------------------------------------------------------------------------
// Cycles

#[derive(Clone, Debug)]
struct ValidCycle {
    change_idea: String,
    plan: String,
    started_on: String,
    ended_on: Option<String>,
    result: Option<String>,
    decision: Option<String>,
}

fn validate_cycle(v: &mut Validator, project: &Project, input: &CycleInput) -> ValidCycle {
    let change_idea = v.required_text("change_idea", input.change_idea.as_deref(), 500);
    let plan = required_multiline(v, "plan", input.plan.as_deref(), 4000);
    let started = past_date(v, "started_on", input.started_on.as_deref(), true);
    if let Some(s) = started
        && day_text(s) < project.started_on
    {
        v.add(
            "started_on",
            "before_project_start",
            "must not be before the project started",
        );
    }
    let ended = past_date(v, "ended_on", input.ended_on.as_deref(), false);
    if let (Some(s), Some(e)) = (started, ended)
        && e < s
    {
        v.add(
            "ended_on",
            "before_start",
            "must not be before the start date",
        );
    }
    let result = multiline(v, "result", input.result.as_deref(), 4000);
    let decision = input
        .decision
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|d| {
            if !DECISIONS.contains(&d) {
                v.add(
                    "decision",
                    "invalid_choice",
                    "must be adopt, adapt or abandon",
                );
            } else if result.is_none() && !v.has("result") {
                v.add(
                    "decision",
                    "decision_needs_result",
                    "record the result the decision is drawn from",
                );
            }
            d.to_string()
        });
    ValidCycle {
        change_idea,
        plan,
        started_on: started.map(day_text).unwrap_or_default(),
        ended_on: ended.map(day_text),
        result,
        decision,
    }
}

/// Counts a cycle change as a change of its project; a conflict if the project moved on.
async fn bump_project(tx: &mut Tx, id: i64, revision: i64) -> AppResult<()> {
    let n = sqlx::query(
        "UPDATE qi_projects SET revision = revision + 1, updated_at = $1
         WHERE id = $2 AND revision = $3",
    )
    .bind(crate::time::now())
    .bind(id)
    .bind(revision)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(changed_meanwhile());
    }
    Ok(())
}

async fn fetch_cycle(tx: &mut Tx, id: i64) -> AppResult<Option<Cycle>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        cycle_columns!(),
        " FROM pdsa_cycles WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Adds the project's next PDSA cycle.
pub async fn add_cycle(
    db: &Db,
    actor: &Actor,
    project_id: i64,
    input: &CycleInput,
) -> AppResult<Cycle> {
    let project = readable_project(db, actor, project_id).await?;
    may_write(
        db,
        actor,
        project.organisation_id,
        project.facility_id,
        project.created_by,
    )
    .await?;
    let mut v = Validator::new();
    let valid = validate_cycle(&mut v, &project, input);
    if project.cycles >= MAX_CYCLES {
        v.add(
            "change_idea",
            "too_many",
            format!("at most {MAX_CYCLES} cycles"),
        );
    }
    v.finish()?;
    if input.revision.is_some_and(|r| r != project.revision) {
        return Err(changed_meanwhile());
    }
    insert_cycle(db, Some(actor), &project, &valid).await
}

async fn insert_cycle(
    db: &Db,
    actor: Option<&Actor>,
    project: &Project,
    valid: &ValidCycle,
) -> AppResult<Cycle> {
    let mut tx = db.begin().await?;
    // The revision check also serialises two cycles added at once, so positions stay unique.
    bump_project(&mut tx, project.id, project.revision).await?;
    let position: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(position), 0) + 1 FROM pdsa_cycles WHERE project_id = $1",
    )
    .bind(project.id)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO pdsa_cycles (project_id, position, change_idea, plan, started_on, ended_on,
            result, decision, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(project.id)
    .bind(position)
    .bind(&valid.change_idea)
    .bind(&valid.plan)
    .bind(&valid.started_on)
    .bind(&valid.ended_on)
    .bind(&valid.result)
    .bind(&valid.decision)
    .bind(crate::time::now())
    .fetch_one(&mut *tx)
    .await?;
    let after = fetch_cycle(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("cycle {id} vanished")))?;
    audit::record(
        &mut tx,
        actor,
        Some(project.organisation_id),
        "create",
        "pdsa_cycle",
        id,
        None::<&()>,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Replaces a cycle's fields; `revision` (the project's) must be the one the edit was based on.
pub async fn update_cycle(
    db: &Db,
    actor: &Actor,
    project_id: i64,
    cycle_id: i64,
    input: &CycleInput,
) -> AppResult<Cycle> {
    let project = readable_project(db, actor, project_id).await?;
    let before = cycles_of(db, project_id)
        .await?
        .into_iter()
        .find(|c| c.id == cycle_id)
        .ok_or(AppError::NotFound)?;
    may_write(
        db,
        actor,
        project.organisation_id,
        project.facility_id,
        project.created_by,
    )
    .await?;
    let mut v = Validator::new();
    let revision = required_revision(&mut v, input.revision);
    let valid = validate_cycle(&mut v, &project, input);
    v.finish()?;
    if revision != project.revision {
        return Err(changed_meanwhile());
    }
    let mut tx = db.begin().await?;
    bump_project(&mut tx, project_id, revision).await?;
    sqlx::query(
        "UPDATE pdsa_cycles SET change_idea = $1, plan = $2, started_on = $3, ended_on = $4,
            result = $5, decision = $6, updated_at = $7
         WHERE id = $8 AND project_id = $9",
    )
    .bind(&valid.change_idea)
    .bind(&valid.plan)
    .bind(&valid.started_on)
    .bind(&valid.ended_on)
    .bind(&valid.result)
    .bind(&valid.decision)
    .bind(crate::time::now())
    .bind(cycle_id)
    .bind(project_id)
    .execute(&mut *tx)
    .await?;
    let after = fetch_cycle(&mut tx, cycle_id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::record(
        &mut tx,
        Some(actor),
        Some(project.organisation_id),
        "update",
        "pdsa_cycle",
        cycle_id,
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

// ---------------------------------------------------------------------------------------------
// Action items: reading

macro_rules! action_columns {
    () => {
        "a.id, a.organisation_id, a.facility_id, f.name AS facility_name, a.session_id,
         s.session_date, s.topic AS session_topic, a.description, a.owner, a.due_on, a.status,
         a.done_on, a.created_by, a.created_at, a.updated_at"
    };
}

macro_rules! action_from {
    () => {
        " FROM action_items a JOIN org_units f ON f.id = a.facility_id
          LEFT JOIN sessions s ON s.id = a.session_id"
    };
}

macro_rules! action_conditions {
    () => {
        " WHERE ($1 IS NULL OR a.organisation_id = $1)
            AND ($2 IS NULL OR a.facility_id = $2)
            AND ($3 IS NULL OR a.session_id = $3)
            AND ($4 IS NULL OR a.status = $4)
            AND ($5 IS NULL OR (a.status = 'open' AND a.due_on < $5))"
    };
}

fn mark_overdue(mut item: ActionItem, today: &str) -> ActionItem {
    item.overdue = item.status == "open" && item.due_on.as_str() < today;
    item
}

async fn fetch_action(tx: &mut Tx, id: i64) -> AppResult<Option<ActionItem>> {
    let item: Option<ActionItem> = sqlx::query_as(concat!(
        "SELECT ",
        action_columns!(),
        action_from!(),
        " WHERE a.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let today = day_text(today());
    Ok(item.map(|i| mark_overdue(i, &today)))
}

async fn find_action(db: &Db, id: i64) -> AppResult<Option<ActionItem>> {
    let item: Option<ActionItem> = sqlx::query_as(concat!(
        "SELECT ",
        action_columns!(),
        action_from!(),
        " WHERE a.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let today = day_text(today());
    Ok(item.map(|i| mark_overdue(i, &today)))
}

/// An action item the actor may read; another organisation's is "not found".
pub async fn get_action(db: &Db, actor: &Actor, id: i64) -> AppResult<ActionItem> {
    match find_action(db, id).await? {
        Some(a) if actor.can_read_org(a.organisation_id) => Ok(a),
        _ => Err(AppError::NotFound),
    }
}

/// Whether the actor may change this action item (pages use it to show the buttons).
pub async fn can_change_action(db: &Db, actor: &Actor, a: &ActionItem) -> AppResult<bool> {
    Ok(
        may_write(db, actor, a.organisation_id, a.facility_id, a.created_by)
            .await
            .is_ok(),
    )
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
pub struct ActionFilter {
    pub organisation_id: Option<i64>,
    pub facility_id: Option<i64>,
    /// Items agreed in this session.
    pub session_id: Option<String>,
    /// `open`, `done` or `dropped`.
    pub status: Option<String>,
    /// Only open items due before today.
    pub overdue: Option<bool>,
    /// 1-based page number.
    pub page: Option<i64>,
    /// Items per page, at most 200.
    pub per_page: Option<i64>,
}

impl ActionFilter {
    pub fn paging(&self) -> PageParams {
        PageParams {
            page: self.page,
            per_page: self.per_page,
        }
    }
}

/// Action items the actor may see, soonest due first (open ones before closed ones).
pub async fn list_actions(
    db: &Db,
    actor: &Actor,
    filter: &ActionFilter,
    page: &PageParams,
) -> AppResult<Page<ActionItem>> {
    let (page, per_page, offset) = page.resolve(50);
    let mut v = Validator::new();
    let status = status_filter(&mut v, filter.status.as_deref(), &ACTION_STATUSES);
    v.finish()?;
    let Ok(scope) = list_scope(actor, filter.organisation_id) else {
        return Ok(empty(page, per_page));
    };
    let today = day_text(today());
    let overdue_before = filter.overdue.unwrap_or(false).then(|| today.clone());
    let session = filter
        .session_id
        .as_deref()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty());
    let items: Vec<ActionItem> = sqlx::query_as(concat!(
        "SELECT ",
        action_columns!(),
        action_from!(),
        action_conditions!(),
        " ORDER BY CASE WHEN a.status = 'open' THEN 0 ELSE 1 END, a.due_on, a.id
          LIMIT $6 OFFSET $7"
    ))
    .bind(scope)
    .bind(filter.facility_id)
    .bind(&session)
    .bind(&status)
    .bind(&overdue_before)
    .bind(per_page)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    let total = sqlx::query_scalar(concat!(
        "SELECT COUNT(*)",
        action_from!(),
        action_conditions!()
    ))
    .bind(scope)
    .bind(filter.facility_id)
    .bind(&session)
    .bind(&status)
    .bind(&overdue_before)
    .fetch_one(db.pool())
    .await?;
    Ok(Page {
        items: items.into_iter().map(|i| mark_overdue(i, &today)).collect(),
        total,
        page,
        per_page,
    })
}

/// The session an action item is agreed in, as far as action items need it.
#[derive(Clone, Debug, FromRow)]
pub struct SessionRef {
    pub id: String,
    pub organisation_id: i64,
    pub facility_id: i64,
    pub facility_name: String,
    pub mentor_id: i64,
    pub session_date: String,
    pub topic: String,
    pub status: String,
}

/// A session the actor may read, for its action items; another organisation's is "not found".
pub async fn session_ref(db: &Db, actor: &Actor, id: &str) -> AppResult<SessionRef> {
    let id = id.trim().to_ascii_lowercase();
    let s: Option<SessionRef> = sqlx::query_as(
        "SELECT s.id, s.organisation_id, s.facility_id, f.name AS facility_name, s.mentor_id,
                s.session_date, s.topic, s.status
         FROM sessions s JOIN org_units f ON f.id = s.facility_id WHERE s.id = $1",
    )
    .bind(&id)
    .fetch_optional(db.pool())
    .await?;
    match s {
        Some(s) if actor.can_read_org(s.organisation_id) => Ok(s),
        _ => Err(AppError::NotFound),
    }
}

/// Whether the actor may add action items to this session: the organisation's writers (a
/// mentor where assigned, or the session's own mentor), and only while it is recorded.
pub async fn can_add_to_session(db: &Db, actor: &Actor, s: &SessionRef) -> AppResult<bool> {
    Ok(s.status == "recorded"
        && may_write(
            db,
            actor,
            s.organisation_id,
            s.facility_id,
            Some(s.mentor_id),
        )
        .await
        .is_ok())
}

// ---------------------------------------------------------------------------------------------
// Action items: writing

#[derive(Clone, Debug)]
struct ValidAction {
    description: String,
    owner: String,
    due_on: String,
    status: String,
    done_on: Option<String>,
}

/// Checks an action item's own fields; absent ones fall back to `current` (an update).
fn validate_action(
    v: &mut Validator,
    input: &ActionInput,
    current: Option<&ActionItem>,
) -> ValidAction {
    let pick = |given: &Option<String>, kept: Option<&String>| -> Option<String> {
        given.clone().or_else(|| kept.cloned())
    };
    let description = pick(&input.description, current.map(|c| &c.description));
    let description = v.required_text("description", description.as_deref(), 1000);
    let owner = pick(&input.owner, current.map(|c| &c.owner));
    let owner = v.required_text("owner", owner.as_deref(), 200);
    let due = pick(&input.due_on, current.map(|c| &c.due_on));
    let due_on = date(v, "due_on", due.as_deref(), true);
    if let Some(d) = due_on
        && d > today() + Duration::days(MAX_DUE_AHEAD)
    {
        v.add(
            "due_on",
            "too_far_ahead",
            format!("must be at most {MAX_DUE_AHEAD} days ahead"),
        );
    }
    let status = match (&input.status, current) {
        (Some(s), _) => s.clone(),
        (None, Some(c)) => c.status.clone(),
        (None, None) => "open".to_string(),
    };
    let status = choice(v, "status", Some(&status), &ACTION_STATUSES);
    let given_done = input
        .done_on
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let done_on = if status == "done" {
        match given_done {
            Some(d) => past_date(v, "done_on", Some(d), true).map(day_text),
            // Kept when it was already done; today when it is being marked done now.
            None => Some(
                current
                    .filter(|c| c.status == "done")
                    .and_then(|c| c.done_on.clone())
                    .unwrap_or_else(|| day_text(today())),
            ),
        }
    } else {
        if given_done.is_some() {
            v.add(
                "done_on",
                "done_on_needs_done",
                "only an item marked done has a done date",
            );
        }
        None
    };
    ValidAction {
        description,
        owner,
        due_on: due_on.map(day_text).unwrap_or_default(),
        status,
        done_on,
    }
}

/// Records an action item, agreed in a session (`session_id`: the session's organisation and
/// facility) or at a facility of the actor's organisation.
pub async fn create_action(db: &Db, actor: &Actor, input: &ActionInput) -> AppResult<ActionItem> {
    let session_id = input
        .session_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let mut v = Validator::new();
    let (organisation_id, facility_id, session) = match session_id {
        Some(sid) => {
            let s = match session_ref(db, actor, sid).await {
                Ok(s) => s,
                Err(AppError::NotFound) => {
                    v.add("session_id", "unknown", "no such session");
                    v.finish()?;
                    return Err(AppError::NotFound);
                }
                Err(e) => return Err(e),
            };
            may_write(
                db,
                actor,
                s.organisation_id,
                s.facility_id,
                Some(s.mentor_id),
            )
            .await?;
            if s.status != "recorded" {
                return Err(AppError::Conflict(
                    "this session was withdrawn; no action items can be added to it".into(),
                ));
            }
            if input.facility_id.is_some_and(|f| f != s.facility_id) {
                v.add(
                    "facility_id",
                    "mismatch",
                    "must be the session's facility (or left out)",
                );
            }
            (s.organisation_id, s.facility_id, Some(s.id))
        }
        None => {
            let org = writing_org(actor)?;
            let facility = check_facility(db, actor, &mut v, input.facility_id, None).await?;
            (org, facility, None)
        }
    };
    let valid = validate_action(&mut v, input, None);
    v.finish()?;
    insert_action(
        db,
        Some(actor),
        organisation_id,
        facility_id,
        session.as_deref(),
        actor.user_id,
        &valid,
    )
    .await
}

async fn insert_action(
    db: &Db,
    actor: Option<&Actor>,
    organisation_id: i64,
    facility_id: i64,
    session_id: Option<&str>,
    created_by: i64,
    valid: &ValidAction,
) -> AppResult<ActionItem> {
    let now = crate::time::now();
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO action_items (organisation_id, facility_id, session_id, description, owner,
            due_on, status, done_on, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(organisation_id)
    .bind(facility_id)
    .bind(session_id)
    .bind(&valid.description)
    .bind(&valid.owner)
    .bind(&valid.due_on)
    .bind(&valid.status)
    .bind(&valid.done_on)
    .bind(created_by)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?;
    let after = fetch_action(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("action item {id} vanished")))?;
    audit::record(
        &mut tx,
        actor,
        Some(organisation_id),
        "create",
        "action_item",
        id,
        None::<&()>,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Changes an action item: its status (done records `done_on`) or its text, owner, due date.
/// An update that changes nothing writes nothing.
pub async fn update_action(
    db: &Db,
    actor: &Actor,
    id: i64,
    input: &ActionInput,
) -> AppResult<ActionItem> {
    let current = get_action(db, actor, id).await?;
    may_write(
        db,
        actor,
        current.organisation_id,
        current.facility_id,
        current.created_by,
    )
    .await?;
    let mut v = Validator::new();
    if input
        .session_id
        .as_deref()
        .is_some_and(|s| Some(s.trim().to_ascii_lowercase()) != current.session_id)
    {
        v.add("session_id", "mismatch", "an item stays with its session");
    }
    if input.facility_id.is_some_and(|f| f != current.facility_id) {
        v.add("facility_id", "mismatch", "an item stays at its facility");
    }
    let valid = validate_action(&mut v, input, Some(&current));
    v.finish()?;
    if valid.description == current.description
        && valid.owner == current.owner
        && valid.due_on == current.due_on
        && valid.status == current.status
        && valid.done_on == current.done_on
    {
        return Ok(current);
    }
    let mut tx = db.begin().await?;
    // Guarded by the state read above, so of two people changing it at once the second is told
    // rather than silently overwriting the first.
    let n = sqlx::query(
        "UPDATE action_items SET description = $1, owner = $2, due_on = $3, status = $4,
            done_on = $5, updated_at = $6
         WHERE id = $7 AND updated_at = $8",
    )
    .bind(&valid.description)
    .bind(&valid.owner)
    .bind(&valid.due_on)
    .bind(&valid.status)
    .bind(&valid.done_on)
    .bind(crate::time::now())
    .bind(id)
    .bind(&current.updated_at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::Conflict(
            "this action item was changed by someone else meanwhile; reload it and try again"
                .into(),
        ));
    }
    let after = fetch_action(&mut tx, id).await?;
    audit::record(
        &mut tx,
        Some(actor),
        Some(current.organisation_id),
        "update",
        "action_item",
        id,
        Some(&current),
        after.as_ref(),
    )
    .await?;
    tx.commit().await?;
    get_action(db, actor, id).await
}

// ---------------------------------------------------------------------------------------------
// For the demo loader: the same rules and audit entries, without an actor.

/// Demo and import path: a project for `organisation_id` by user `created_by`, with its cycles.
pub async fn seed_project(
    db: &Db,
    organisation_id: i64,
    created_by: i64,
    input: &ProjectInput,
    cycles: &[CycleInput],
) -> AppResult<i64> {
    let system = system_actor(organisation_id, created_by);
    let mut v = Validator::new();
    let valid = validate_project(db, &system, input, None, &mut v).await?;
    v.finish()?;
    let id = insert_project(db, None, organisation_id, created_by, &valid).await?;
    for c in cycles {
        let project = find_project(db, id).await?.ok_or(AppError::NotFound)?;
        let mut v = Validator::new();
        let valid = validate_cycle(&mut v, &project, c);
        v.finish()?;
        insert_cycle(db, None, &project, &valid).await?;
    }
    Ok(id)
}

/// Demo and import path: an action item at `facility_id`, optionally in a session.
pub async fn seed_action(
    db: &Db,
    organisation_id: i64,
    facility_id: i64,
    session_id: Option<&str>,
    created_by: i64,
    input: &ActionInput,
) -> AppResult<i64> {
    let mut v = Validator::new();
    let valid = validate_action(&mut v, input, None);
    v.finish()?;
    Ok(insert_action(
        db,
        None,
        organisation_id,
        facility_id,
        session_id,
        created_by,
        &valid,
    )
    .await?
    .id)
}

/// Validation needs an actor for the facility rule; the loader writes as an org admin would.
fn system_actor(organisation_id: i64, user_id: i64) -> Actor {
    Actor {
        user_id,
        organisation_id,
        role: Role::OrgAdmin,
        email: String::new(),
        display_name: String::new(),
        language: "en".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_needs_done_status() {
        let mut v = Validator::new();
        let input = ActionInput {
            description: Some("Restock oxytocin".into()),
            owner: Some("In-charge".into()),
            due_on: Some("2026-01-10".into()),
            status: Some("open".into()),
            done_on: Some("2026-01-09".into()),
            ..Default::default()
        };
        validate_action(&mut v, &input, None);
        assert!(v.has("done_on"));
    }

    #[test]
    fn marking_done_defaults_to_today() {
        let mut v = Validator::new();
        let input = ActionInput {
            description: Some("Restock oxytocin".into()),
            owner: Some("In-charge".into()),
            due_on: Some("2026-01-10".into()),
            status: Some("done".into()),
            ..Default::default()
        };
        let valid = validate_action(&mut v, &input, None);
        assert!(v.is_empty());
        assert_eq!(valid.done_on, Some(day_text(today())));
    }

    #[test]
    fn multiline_keeps_line_breaks_but_refuses_other_controls() {
        let mut v = Validator::new();
        assert_eq!(
            multiline(&mut v, "x", Some(" a\r\nb "), 100).as_deref(),
            Some("a\nb")
        );
        assert!(v.is_empty());
        multiline(&mut v, "y", Some("a\u{7}b"), 100);
        assert!(v.has("y"));
    }
}
