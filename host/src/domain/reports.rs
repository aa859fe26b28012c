//! Quarterly reports per organisation: live figures, narrative, and the approval workflow that
//! freezes them.
//!
//! Rules, and why:
//! - A report exists for every partner organisation (professional associations and NGOs; project
//!   management and ministries receive reports, they do not send them) and every quarter that
//!   has begun, even before anyone wrote a word: its page shows the live figures. The row in
//!   `reports` is created by the organisation admin's first edit of the narrative (`draft`).
//! - Workflow: draft → submitted (the organisation's admin) → approved or returned with a
//!   comment (managers and admins) → edited and resubmitted → … A submitted report is with the
//!   reviewers and cannot be edited until it is returned; an approved report never changes.
//!   Reviewers do not write partners' narratives, and partners do not approve their own
//!   reports, so the two sides of the review stay apart (admins review, they do not submit).
//! - Approval freezes the figures: their JSON and its SHA-256 are stored, and the approved
//!   report shows the stored figures, never live ones. When the live figures' hash no longer
//!   matches (late data entry, a correction, a catalogue change), the report says the data have
//!   changed since approval, without touching what was approved.
//! - Every transition writes its `report_events` row (the history shown with comments) and an
//!   audit entry in the same transaction; each is a conditional update on the revision and
//!   state read, so two reviewers acting at once cannot both succeed.
//! - Narrative edits carry the `revision` the editor started from (0 for a report not yet
//!   started); a stale revision is a 409 and nothing changes.
//! - Who reads: the organisation's own users (mentors included), managers and admins; another
//!   organisation's report is "not found".

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::authz::{Actor, Role};
use crate::db::{Db, Tx, is_unique_violation};
use crate::domain::audit;
use crate::domain::indicators::{self, Figure, IndicatorFigures, Scope};
use crate::domain::quarter::Quarter;
use crate::error::{AppError, AppResult, FieldError, Validator};

/// Every status a report can be in; `not_started` means nothing has been written yet.
pub const STATUSES: [&str; 5] = ["not_started", "draft", "submitted", "returned", "approved"];
/// The longest narrative section, in characters.
pub const MAX_NARRATIVE: usize = 10_000;
/// The longest reviewer's comment, in characters.
pub const MAX_COMMENT: usize = 2_000;
/// The narrative sections, as the form and the JSON name them.
pub const SECTIONS: [&str; 3] = ["achievements", "challenges", "next_quarter_plan"];

// ---------------------------------------------------------------------------------------------
// Inputs

/// The whole narrative as it should now read, and the revision it was edited from.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct NarrativeInput {
    /// The report's revision when the editor opened it; 0 for a report not yet started.
    pub revision: Option<i64>,
    pub achievements: Option<String>,
    pub challenges: Option<String>,
    pub next_quarter_plan: Option<String>,
}

/// Submitting, approving: optionally the revision the actor saw, so an action on a report that
/// changed meanwhile is refused (409).
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct TransitionInput {
    pub revision: Option<i64>,
    /// A note kept in the report's history (optional on approval).
    pub comment: Option<String>,
}

/// Returning a report to its organisation: the comment saying what to change is required.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct ReturnInput {
    pub revision: Option<i64>,
    pub comment: Option<String>,
}

/// Which reports to list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
pub struct ReportFilter {
    /// `2026Q3`. With a quarter, every partner the caller may see gets a row (`not_started`
    /// when nothing has been written); without one, only reports that exist are listed.
    pub quarter: Option<String>,
    pub organisation_id: Option<i64>,
    /// `not_started`, `draft`, `submitted`, `returned` or `approved`.
    pub status: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Outputs

/// A report's place in the workflow.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReportSummary {
    pub organisation_id: i64,
    pub organisation_code: String,
    pub organisation_name: String,
    pub quarter: String,
    /// `not_started`, `draft`, `submitted`, `returned` or `approved`.
    pub status: String,
    /// 0 before the report is started, then one more for every change.
    pub revision: i64,
    pub submitted_at: Option<String>,
    pub approved_at: Option<String>,
    pub updated_at: Option<String>,
}

/// One step of a report's history.
#[derive(Clone, Debug, Serialize, FromRow, ToSchema)]
pub struct ReportEvent {
    pub id: i64,
    /// `created`, `edited`, `submitted`, `returned` or `approved`.
    pub action: String,
    pub comment: Option<String>,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub at: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
pub struct Narrative {
    pub achievements: Option<String>,
    pub challenges: Option<String>,
    pub next_quarter_plan: Option<String>,
}

/// What the caller may do with the report now.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct ReportActions {
    pub edit: bool,
    pub submit: bool,
    pub approve: bool,
    #[serde(rename = "return")]
    pub return_: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Report {
    #[serde(flatten)]
    pub summary: ReportSummary,
    /// None until the report is started.
    pub id: Option<i64>,
    pub narrative: Narrative,
    pub submitted_by_name: Option<String>,
    pub approved_by_name: Option<String>,
    /// `approved` (the figures frozen at approval) or `live` (computed now).
    pub figures_source: String,
    pub figures: Vec<IndicatorFigures>,
    /// SHA-256 of the approved figures' JSON.
    pub approved_sha256: Option<String>,
    /// SHA-256 of the figures computed now.
    pub live_sha256: String,
    /// The report is approved and the live figures differ from the approved ones.
    pub changed_since_approval: bool,
    /// The latest comment of a return, while the report is returned.
    pub return_comment: Option<String>,
    pub events: Vec<ReportEvent>,
    pub actions: ReportActions,
}

/// One partner's column of the programme view.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProgrammeColumn {
    #[serde(flatten)]
    pub summary: ReportSummary,
    /// `approved` (frozen) or `live`.
    pub figures_source: String,
}

/// One indicator across partners.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProgrammeRow {
    pub code: String,
    pub name: String,
    pub unit: String,
    pub target: Option<f64>,
    /// One per column, in column order; None when the partner's figures lack the indicator
    /// (an approved report frozen before the indicator was added).
    pub values: Vec<Option<Figure>>,
    /// The programme as a whole, computed live over every organisation's data.
    pub total: Figure,
}

/// Every partner's figures of a quarter side by side.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProgrammeView {
    pub quarter: String,
    pub columns: Vec<ProgrammeColumn>,
    pub rows: Vec<ProgrammeRow>,
}

// ---------------------------------------------------------------------------------------------
// Who may

fn may_write(actor: &Actor, organisation_id: i64) -> bool {
    actor.role == Role::OrgAdmin && actor.organisation_id == organisation_id
}

fn may_review(actor: &Actor) -> bool {
    matches!(actor.role, Role::Manager | Role::Admin)
}

/// Whether the actor sees the programme-wide view and the status grid across partners.
pub fn sees_programme(actor: &Actor) -> bool {
    may_review(actor)
}

fn actions(actor: &Actor, organisation_id: i64, status: &str) -> ReportActions {
    let write = may_write(actor, organisation_id);
    let review = may_review(actor);
    ReportActions {
        edit: write && matches!(status, "not_started" | "draft" | "returned"),
        submit: write && matches!(status, "draft" | "returned"),
        approve: review && status == "submitted",
        return_: review && status == "submitted",
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Partner organisations send reports; project management and ministries do not.
macro_rules! partner_kinds {
    () => {
        "('professional_association', 'ngo')"
    };
}

#[derive(Clone, Debug, FromRow)]
struct Org {
    id: i64,
    code: String,
    name: String,
}

/// A partner organisation the actor may read; anything else is "not found".
async fn partner(db: &Db, actor: &Actor, organisation_id: i64) -> AppResult<Org> {
    let org: Option<Org> = sqlx::query_as(concat!(
        "SELECT id, code, name FROM organisations WHERE id = $1 AND kind IN ",
        partner_kinds!()
    ))
    .bind(organisation_id)
    .fetch_optional(db.pool())
    .await?;
    match org {
        Some(o) if actor.can_read_org(o.id) => Ok(o),
        _ => Err(AppError::NotFound),
    }
}

async fn partners(db: &Db, only: Option<i64>) -> AppResult<Vec<Org>> {
    Ok(sqlx::query_as(concat!(
        "SELECT id, code, name FROM organisations WHERE ($1 IS NULL OR id = $1) AND kind IN ",
        partner_kinds!(),
        " ORDER BY name, id"
    ))
    .bind(only)
    .fetch_all(db.pool())
    .await?)
}

/// A quarter named by the caller: well formed (422 `quarter`) and begun (422 `quarter`).
pub fn parse_quarter(value: &str) -> AppResult<Quarter> {
    let q = Quarter::parse_field("quarter", value)?;
    if !q.has_started() {
        return Err(AppError::field(
            "quarter",
            "quarter_not_started",
            format!("{q} has not started yet; reports cover quarters that have begun"),
        ));
    }
    Ok(q)
}

macro_rules! row_columns {
    () => {
        "r.id, r.organisation_id, r.quarter, r.status, r.achievements, r.challenges,
         r.next_quarter_plan, r.revision, r.submitted_at, r.approved_at, r.approved_figures,
         r.approved_sha256, r.updated_at,
         su.display_name AS submitted_by_name, au.display_name AS approved_by_name"
    };
}

macro_rules! row_from {
    () => {
        " FROM reports r LEFT JOIN users su ON su.id = r.submitted_by
          LEFT JOIN users au ON au.id = r.approved_by"
    };
}

#[derive(Clone, Debug, FromRow)]
struct Row {
    id: i64,
    organisation_id: i64,
    quarter: String,
    status: String,
    achievements: Option<String>,
    challenges: Option<String>,
    next_quarter_plan: Option<String>,
    revision: i64,
    submitted_at: Option<String>,
    approved_at: Option<String>,
    approved_figures: Option<String>,
    approved_sha256: Option<String>,
    updated_at: String,
    submitted_by_name: Option<String>,
    approved_by_name: Option<String>,
}

impl Row {
    fn narrative(&self) -> Narrative {
        Narrative {
            achievements: self.achievements.clone(),
            challenges: self.challenges.clone(),
            next_quarter_plan: self.next_quarter_plan.clone(),
        }
    }

    fn summary(&self, org: &Org) -> ReportSummary {
        ReportSummary {
            organisation_id: self.organisation_id,
            organisation_code: org.code.clone(),
            organisation_name: org.name.clone(),
            quarter: self.quarter.clone(),
            status: self.status.clone(),
            revision: self.revision,
            submitted_at: self.submitted_at.clone(),
            approved_at: self.approved_at.clone(),
            updated_at: Some(self.updated_at.clone()),
        }
    }
}

fn not_started(org: &Org, quarter: Quarter) -> ReportSummary {
    ReportSummary {
        organisation_id: org.id,
        organisation_code: org.code.clone(),
        organisation_name: org.name.clone(),
        quarter: quarter.to_string(),
        status: "not_started".into(),
        revision: 0,
        submitted_at: None,
        approved_at: None,
        updated_at: None,
    }
}

async fn row(db: &Db, organisation_id: i64, quarter: Quarter) -> AppResult<Option<Row>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        row_columns!(),
        row_from!(),
        " WHERE r.organisation_id = $1 AND r.quarter = $2"
    ))
    .bind(organisation_id)
    .bind(quarter.to_string())
    .fetch_optional(db.pool())
    .await?)
}

/// The same, read inside the writing transaction, so the checks and the write see one state.
async fn row_in(tx: &mut Tx, organisation_id: i64, quarter: Quarter) -> AppResult<Option<Row>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        row_columns!(),
        row_from!(),
        " WHERE r.organisation_id = $1 AND r.quarter = $2"
    ))
    .bind(organisation_id)
    .bind(quarter.to_string())
    .fetch_optional(&mut **tx)
    .await?)
}

async fn events(db: &Db, report_id: i64) -> AppResult<Vec<ReportEvent>> {
    Ok(sqlx::query_as(
        "SELECT e.id, e.action, e.comment, e.actor_id, u.display_name AS actor_name, e.at
         FROM report_events e LEFT JOIN users u ON u.id = e.actor_id
         WHERE e.report_id = $1 ORDER BY e.id",
    )
    .bind(report_id)
    .fetch_all(db.pool())
    .await?)
}

/// The canonical JSON of figures and its SHA-256 (hex). Struct fields serialise in declaration
/// order and maps are ordered, so equal figures always hash alike.
pub fn figures_json(figures: &[IndicatorFigures]) -> AppResult<(String, String)> {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_string(figures).map_err(|e| AppError::Internal(e.into()))?;
    let sha = Sha256::digest(json.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((json, sha))
}

fn stored_figures(json: &str) -> AppResult<Vec<IndicatorFigures>> {
    serde_json::from_str(json)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored approved figures: {e}")))
}

/// A report the actor may read: its figures (approved or live), narrative and history.
pub async fn get(db: &Db, actor: &Actor, organisation_id: i64, quarter: &str) -> AppResult<Report> {
    let org = partner(db, actor, organisation_id).await?;
    let quarter = parse_quarter(quarter)?;
    load(db, actor, &org, quarter).await
}

async fn load(db: &Db, actor: &Actor, org: &Org, quarter: Quarter) -> AppResult<Report> {
    let live = indicators::compute(db, Scope::Organisation(org.id), quarter).await?;
    let (_, live_sha256) = figures_json(&live)?;
    let Some(r) = row(db, org.id, quarter).await? else {
        let summary = not_started(org, quarter);
        return Ok(Report {
            actions: actions(actor, org.id, &summary.status),
            summary,
            id: None,
            narrative: Narrative::default(),
            submitted_by_name: None,
            approved_by_name: None,
            figures_source: "live".into(),
            figures: live,
            approved_sha256: None,
            live_sha256,
            changed_since_approval: false,
            return_comment: None,
            events: Vec::new(),
        });
    };
    let events = events(db, r.id).await?;
    let (figures_source, figures, changed) = match (&r.approved_figures, &r.approved_sha256) {
        (Some(json), Some(sha)) if r.status == "approved" => {
            ("approved", stored_figures(json)?, *sha != live_sha256)
        }
        _ => ("live", live, false),
    };
    let return_comment = if r.status == "returned" {
        events
            .iter()
            .rev()
            .find(|e| e.action == "returned")
            .and_then(|e| e.comment.clone())
    } else {
        None
    };
    Ok(Report {
        summary: r.summary(org),
        id: Some(r.id),
        narrative: r.narrative(),
        submitted_by_name: r.submitted_by_name.clone(),
        approved_by_name: r.approved_by_name.clone(),
        figures_source: figures_source.into(),
        figures,
        approved_sha256: r.approved_sha256.clone(),
        live_sha256,
        changed_since_approval: changed,
        return_comment,
        events,
        actions: actions(actor, org.id, &r.status),
    })
}

#[derive(Clone, Debug, FromRow)]
struct ListRow {
    organisation_id: i64,
    quarter: String,
    status: String,
    revision: i64,
    submitted_at: Option<String>,
    approved_at: Option<String>,
    updated_at: String,
}

async fn list_rows(
    db: &Db,
    organisation_id: Option<i64>,
    quarter: Option<Quarter>,
) -> AppResult<Vec<ListRow>> {
    Ok(sqlx::query_as(
        "SELECT organisation_id, quarter, status, revision, submitted_at, approved_at, updated_at
         FROM reports
         WHERE ($1 IS NULL OR organisation_id = $1) AND ($2 IS NULL OR quarter = $2)
         ORDER BY quarter DESC, organisation_id",
    )
    .bind(organisation_id)
    .bind(quarter.map(|q| q.to_string()))
    .fetch_all(db.pool())
    .await?)
}

fn summary_of(r: &ListRow, org: &Org) -> ReportSummary {
    ReportSummary {
        organisation_id: r.organisation_id,
        organisation_code: org.code.clone(),
        organisation_name: org.name.clone(),
        quarter: r.quarter.clone(),
        status: r.status.clone(),
        revision: r.revision,
        submitted_at: r.submitted_at.clone(),
        approved_at: r.approved_at.clone(),
        updated_at: Some(r.updated_at.clone()),
    }
}

/// The reports the actor may see. With a quarter, one row per visible partner (those with
/// nothing written yet as `not_started`), so reviewers see who has not submitted.
pub async fn list(db: &Db, actor: &Actor, filter: &ReportFilter) -> AppResult<Vec<ReportSummary>> {
    let mut v = Validator::new();
    let quarter = match filter.quarter.as_deref().map(str::trim) {
        Some(q) if !q.is_empty() => match parse_quarter(q) {
            Ok(q) => Some(q),
            Err(AppError::Validation(errs)) => {
                for e in errs {
                    v.add(&e.field, e.code, e.message);
                }
                None
            }
            Err(e) => return Err(e),
        },
        _ => None,
    };
    let status = filter
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(s) = status
        && !STATUSES.contains(&s)
    {
        v.add(
            "status",
            "invalid_choice",
            format!("must be one of {}", STATUSES.join(", ")),
        );
    }
    v.finish()?;
    let scope = match (actor.org_scope(), filter.organisation_id) {
        (Some(own), Some(asked)) if own != asked => return Ok(Vec::new()),
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    let orgs = partners(db, scope).await?;
    let by_id: HashMap<i64, &Org> = orgs.iter().map(|o| (o.id, o)).collect();
    let rows = list_rows(db, scope, quarter).await?;
    let mut out: Vec<ReportSummary> = match quarter {
        Some(q) => orgs
            .iter()
            .map(|o| {
                rows.iter()
                    .find(|r| r.organisation_id == o.id)
                    .map(|r| summary_of(r, o))
                    .unwrap_or_else(|| not_started(o, q))
            })
            .collect(),
        None => rows
            .iter()
            .filter_map(|r| by_id.get(&r.organisation_id).map(|o| summary_of(r, o)))
            .collect(),
    };
    if let Some(s) = status {
        out.retain(|r| r.status == s);
    }
    Ok(out)
}

/// One organisation's reports over the last `count` quarters that have begun (the current one
/// first), started or not, plus any older report that exists.
pub async fn organisation_quarters(
    db: &Db,
    actor: &Actor,
    organisation_id: i64,
    count: usize,
) -> AppResult<Vec<ReportSummary>> {
    let org = partner(db, actor, organisation_id).await?;
    let rows = list_rows(db, Some(org.id), None).await?;
    let mut quarters = Vec::with_capacity(count);
    let mut q = Quarter::current();
    for _ in 0..count {
        quarters.push(q);
        q = q.previous();
    }
    let mut out: Vec<ReportSummary> = quarters
        .iter()
        .map(|q| {
            let text = q.to_string();
            rows.iter()
                .find(|r| r.quarter == text)
                .map(|r| summary_of(r, &org))
                .unwrap_or_else(|| not_started(&org, *q))
        })
        .collect();
    for r in &rows {
        if !out.iter().any(|s| s.quarter == r.quarter) {
            out.push(summary_of(r, &org));
        }
    }
    out.sort_by(|a, b| b.quarter.cmp(&a.quarter));
    Ok(out)
}

/// Every partner's figures for a quarter side by side (approved reports show their frozen
/// figures), with the programme's total computed live. Managers and admins only.
pub async fn programme(db: &Db, actor: &Actor, quarter: &str) -> AppResult<ProgrammeView> {
    if !sees_programme(actor) {
        return Err(AppError::Forbidden);
    }
    let quarter = parse_quarter(quarter)?;
    let orgs = partners(db, None).await?;
    let mut stored = Vec::with_capacity(orgs.len());
    for o in &orgs {
        stored.push(row(db, o.id, quarter).await?);
    }
    fn frozen(r: &Option<Row>) -> Option<&str> {
        r.as_ref()
            .filter(|r| r.status == "approved")
            .and_then(|r| r.approved_figures.as_deref())
    }
    // Partners without approved figures get live ones, computed from the programme's rows.
    let live: Vec<i64> = orgs
        .iter()
        .zip(&stored)
        .filter(|(_, r)| frozen(r).is_none())
        .map(|(o, _)| o.id)
        .collect();
    let (total, live_figures) = indicators::compute_programme(db, quarter, &live).await?;
    let mut live_figures = live_figures.into_iter();
    let mut columns = Vec::with_capacity(orgs.len());
    let mut per_org: Vec<Vec<IndicatorFigures>> = Vec::with_capacity(orgs.len());
    for (o, stored) in orgs.iter().zip(&stored) {
        let summary = stored
            .as_ref()
            .map(|r| r.summary(o))
            .unwrap_or_else(|| not_started(o, quarter));
        let (source, figures) = match frozen(stored) {
            Some(json) => ("approved", stored_figures(json)?),
            None => (
                "live",
                live_figures.next().ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!("a live column was not computed"))
                })?,
            ),
        };
        columns.push(ProgrammeColumn {
            summary,
            figures_source: source.into(),
        });
        per_org.push(figures);
    }
    let rows = total
        .into_iter()
        .map(|t| ProgrammeRow {
            values: per_org
                .iter()
                .map(|figs| {
                    figs.iter()
                        .find(|f| f.code == t.code)
                        .map(|f| f.total.clone())
                })
                .collect(),
            code: t.code,
            name: t.name,
            unit: t.unit,
            target: t.target,
            total: t.total,
        })
        .collect();
    Ok(ProgrammeView {
        quarter: quarter.to_string(),
        columns,
        rows,
    })
}

// ---------------------------------------------------------------------------------------------
// Writing

/// A narrative section: multi-line text, trimmed; empty is "not written yet".
fn section(v: &mut Validator, field: &str, value: Option<&str>, max: usize) -> Option<String> {
    let value = value.map(str::trim).filter(|s| !s.is_empty())?;
    if value.chars().count() > max {
        v.add(
            field,
            "too_long",
            format!("must be at most {max} characters"),
        );
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

fn stale(expected: i64, found: i64) -> AppError {
    AppError::Conflict(format!(
        "the report has changed since you opened it (revision {found}, you edited {expected}); reload it and try again"
    ))
}

fn frozen() -> AppError {
    AppError::Conflict("the report is approved: approved reports cannot be changed".into())
}

async fn event(
    tx: &mut Tx,
    report_id: i64,
    action: &str,
    comment: Option<&str>,
    actor: &Actor,
    at: &str,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO report_events (report_id, action, comment, actor_id, at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(report_id)
    .bind(action)
    .bind(comment)
    .bind(actor.user_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What the audit log keeps of a report's state.
#[derive(Serialize)]
struct Snapshot<'a> {
    organisation_id: i64,
    quarter: &'a str,
    status: &'a str,
    revision: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    narrative: Option<&'a Narrative>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    approved_sha256: Option<&'a str>,
}

/// Writes (and creates on first edit) the narrative of a draft or returned report.
pub async fn save_narrative(
    db: &Db,
    actor: &Actor,
    organisation_id: i64,
    quarter: &str,
    input: &NarrativeInput,
) -> AppResult<Report> {
    let org = partner(db, actor, organisation_id).await?;
    let quarter = parse_quarter(quarter)?;
    if !may_write(actor, org.id) {
        return Err(AppError::Forbidden);
    }
    let mut v = Validator::new();
    let narrative = Narrative {
        achievements: section(
            &mut v,
            "achievements",
            input.achievements.as_deref(),
            MAX_NARRATIVE,
        ),
        challenges: section(
            &mut v,
            "challenges",
            input.challenges.as_deref(),
            MAX_NARRATIVE,
        ),
        next_quarter_plan: section(
            &mut v,
            "next_quarter_plan",
            input.next_quarter_plan.as_deref(),
            MAX_NARRATIVE,
        ),
    };
    let revision = match input.revision {
        Some(r) if r >= 0 => r,
        Some(_) => {
            v.add("revision", "invalid", "must be 0 or more");
            0
        }
        None => {
            v.add(
                "revision",
                "required",
                "is required: the revision you edited (0 for a report not yet started)",
            );
            0
        }
    };
    v.finish()?;

    let now = crate::time::now();
    let quarter_text = quarter.to_string();
    let mut tx = db.begin().await?;
    match row_in(&mut tx, org.id, quarter).await? {
        None => {
            if revision != 0 {
                return Err(stale(revision, 0));
            }
            let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
                "INSERT INTO reports (organisation_id, quarter, status, achievements, challenges,
                     next_quarter_plan, revision, created_at, updated_at)
                 VALUES ($1, $2, 'draft', $3, $4, $5, 1, $6, $6) RETURNING id",
            )
            .bind(org.id)
            .bind(&quarter_text)
            .bind(&narrative.achievements)
            .bind(&narrative.challenges)
            .bind(&narrative.next_quarter_plan)
            .bind(&now)
            .fetch_one(&mut *tx)
            .await;
            let id = match inserted {
                Ok(id) => id,
                // Someone started the same report a moment ago: the editor's revision 0 is stale.
                Err(e) if is_unique_violation(&e) => return Err(stale(0, 1)),
                Err(e) => return Err(e.into()),
            };
            event(&mut tx, id, "created", None, actor, &now).await?;
            audit::record(
                &mut tx,
                Some(actor),
                Some(org.id),
                "create",
                "report",
                id,
                None::<&()>,
                Some(&Snapshot {
                    organisation_id: org.id,
                    quarter: &quarter_text,
                    status: "draft",
                    revision: 1,
                    narrative: Some(&narrative),
                    comment: None,
                    approved_sha256: None,
                }),
            )
            .await?;
        }
        Some(r) => {
            match r.status.as_str() {
                "approved" => return Err(frozen()),
                "submitted" => {
                    return Err(AppError::Conflict(
                        "the report is submitted and awaits review; it can be edited again if it is returned"
                            .into(),
                    ));
                }
                _ => {}
            }
            if revision != r.revision {
                return Err(stale(revision, r.revision));
            }
            let done = sqlx::query(
                "UPDATE reports SET achievements = $1, challenges = $2, next_quarter_plan = $3,
                     revision = revision + 1, updated_at = $4
                 WHERE id = $5 AND revision = $6 AND status IN ('draft', 'returned')",
            )
            .bind(&narrative.achievements)
            .bind(&narrative.challenges)
            .bind(&narrative.next_quarter_plan)
            .bind(&now)
            .bind(r.id)
            .bind(r.revision)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done != 1 {
                return Err(stale(revision, r.revision + 1));
            }
            event(&mut tx, r.id, "edited", None, actor, &now).await?;
            let before = r.narrative();
            audit::record(
                &mut tx,
                Some(actor),
                Some(org.id),
                "edit",
                "report",
                r.id,
                Some(&Snapshot {
                    organisation_id: org.id,
                    quarter: &quarter_text,
                    status: &r.status,
                    revision: r.revision,
                    narrative: Some(&before),
                    comment: None,
                    approved_sha256: None,
                }),
                Some(&Snapshot {
                    organisation_id: org.id,
                    quarter: &quarter_text,
                    status: &r.status,
                    revision: r.revision + 1,
                    narrative: Some(&narrative),
                    comment: None,
                    approved_sha256: None,
                }),
            )
            .await?;
        }
    }
    tx.commit().await?;
    load(db, actor, &org, quarter).await
}

/// The row a transition applies to, checked against the revision the actor saw.
fn check_revision(r: &Row, expected: Option<i64>) -> AppResult<()> {
    match expected {
        Some(e) if e != r.revision => Err(stale(e, r.revision)),
        _ => Ok(()),
    }
}

/// Moves a report from one status to another with a conditional update, its event and its
/// audit entry; the caller has checked the transition is allowed.
#[allow(clippy::too_many_arguments)]
async fn transition(
    tx: &mut Tx,
    actor: &Actor,
    r: &Row,
    to: &str,
    event_action: &str,
    audit_action: &str,
    comment: Option<&str>,
    approved: Option<(&str, &str)>,
    now: &str,
) -> AppResult<()> {
    let done =
        match (to, approved) {
            ("submitted", _) => {
                sqlx::query(
                    "UPDATE reports SET status = 'submitted', submitted_at = $1, submitted_by = $2,
                     revision = revision + 1, updated_at = $1
                 WHERE id = $3 AND revision = $4 AND status = $5",
                )
                .bind(now)
                .bind(actor.user_id)
                .bind(r.id)
                .bind(r.revision)
                .bind(&r.status)
                .execute(&mut **tx)
                .await?
            }
            ("approved", Some((json, sha))) => {
                sqlx::query(
                    "UPDATE reports SET status = 'approved', approved_at = $1, approved_by = $2,
                     approved_figures = $3, approved_sha256 = $4,
                     revision = revision + 1, updated_at = $1
                 WHERE id = $5 AND revision = $6 AND status = $7",
                )
                .bind(now)
                .bind(actor.user_id)
                .bind(json)
                .bind(sha)
                .bind(r.id)
                .bind(r.revision)
                .bind(&r.status)
                .execute(&mut **tx)
                .await?
            }
            ("returned", _) => sqlx::query(
                "UPDATE reports SET status = 'returned', revision = revision + 1, updated_at = $1
                 WHERE id = $2 AND revision = $3 AND status = $4",
            )
            .bind(now)
            .bind(r.id)
            .bind(r.revision)
            .bind(&r.status)
            .execute(&mut **tx)
            .await?,
            _ => {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "no such report transition: {to}"
                )));
            }
        }
        .rows_affected();
    if done != 1 {
        return Err(stale(r.revision, r.revision + 1));
    }
    event(tx, r.id, event_action, comment, actor, now).await?;
    audit::record(
        tx,
        Some(actor),
        Some(r.organisation_id),
        audit_action,
        "report",
        r.id,
        Some(&Snapshot {
            organisation_id: r.organisation_id,
            quarter: &r.quarter,
            status: &r.status,
            revision: r.revision,
            narrative: None,
            comment: None,
            approved_sha256: None,
        }),
        Some(&Snapshot {
            organisation_id: r.organisation_id,
            quarter: &r.quarter,
            status: to,
            revision: r.revision + 1,
            narrative: None,
            comment,
            approved_sha256: approved.map(|(_, sha)| sha),
        }),
    )
    .await?;
    Ok(())
}

/// Sends a draft or returned report for review. Every narrative section must be written.
pub async fn submit(
    db: &Db,
    actor: &Actor,
    organisation_id: i64,
    quarter: &str,
    input: &TransitionInput,
) -> AppResult<Report> {
    let org = partner(db, actor, organisation_id).await?;
    let quarter = parse_quarter(quarter)?;
    if !may_write(actor, org.id) {
        return Err(AppError::Forbidden);
    }
    let mut tx = db.begin().await?;
    let r = row_in(&mut tx, org.id, quarter).await?;
    let Some(r) = r else {
        return Err(AppError::Validation(
            missing_sections(&Narrative::default()),
        ));
    };
    match r.status.as_str() {
        "approved" => return Err(frozen()),
        "submitted" => {
            return Err(AppError::Conflict("the report is already submitted".into()));
        }
        _ => {}
    }
    check_revision(&r, input.revision)?;
    let missing = missing_sections(&r.narrative());
    if !missing.is_empty() {
        return Err(AppError::Validation(missing));
    }
    let now = crate::time::now();
    transition(
        &mut tx,
        actor,
        &r,
        "submitted",
        "submitted",
        "submit",
        None,
        None,
        &now,
    )
    .await?;
    tx.commit().await?;
    load(db, actor, &org, quarter).await
}

/// The narrative sections still to be written before a report can be submitted.
fn missing_sections(n: &Narrative) -> Vec<FieldError> {
    SECTIONS
        .iter()
        .zip([&n.achievements, &n.challenges, &n.next_quarter_plan])
        .filter(|(_, value)| value.is_none())
        .map(|(field, _)| {
            FieldError::new(
                *field,
                "required",
                "must be written before the report is submitted",
            )
        })
        .collect()
}

fn not_submitted(r: Option<&Row>) -> AppError {
    AppError::Conflict(format!(
        "only a submitted report can be reviewed; this one is {}",
        r.map(|r| r.status.as_str()).unwrap_or("not started")
    ))
}

/// Approves a submitted report, freezing its figures as they are computed now.
pub async fn approve(
    db: &Db,
    actor: &Actor,
    organisation_id: i64,
    quarter: &str,
    input: &TransitionInput,
) -> AppResult<Report> {
    let org = partner(db, actor, organisation_id).await?;
    let quarter = parse_quarter(quarter)?;
    if !may_review(actor) {
        return Err(AppError::Forbidden);
    }
    let mut v = Validator::new();
    let comment = v.optional_text("comment", input.comment.as_deref(), MAX_COMMENT);
    v.finish()?;
    // Computed before the transaction opens, so a long computation never holds SQLite's writer.
    let figures = indicators::compute(db, Scope::Organisation(org.id), quarter).await?;
    let (json, sha) = figures_json(&figures)?;
    let mut tx = db.begin().await?;
    let r = row_in(&mut tx, org.id, quarter).await?;
    let r = match r {
        Some(r) if r.status == "submitted" => r,
        other => return Err(not_submitted(other.as_ref())),
    };
    check_revision(&r, input.revision)?;
    let now = crate::time::now();
    transition(
        &mut tx,
        actor,
        &r,
        "approved",
        "approved",
        "approve",
        comment.as_deref(),
        Some((&json, &sha)),
        &now,
    )
    .await?;
    tx.commit().await?;
    load(db, actor, &org, quarter).await
}

/// Returns a submitted report to its organisation with a comment saying what to change.
pub async fn return_report(
    db: &Db,
    actor: &Actor,
    organisation_id: i64,
    quarter: &str,
    input: &ReturnInput,
) -> AppResult<Report> {
    let org = partner(db, actor, organisation_id).await?;
    let quarter = parse_quarter(quarter)?;
    if !may_review(actor) {
        return Err(AppError::Forbidden);
    }
    let mut v = Validator::new();
    let comment = section(&mut v, "comment", input.comment.as_deref(), MAX_COMMENT);
    if comment.is_none() {
        v.add(
            "comment",
            "required",
            "is required: say what the organisation should change",
        );
    }
    v.finish()?;
    let mut tx = db.begin().await?;
    let r = row_in(&mut tx, org.id, quarter).await?;
    let r = match r {
        Some(r) if r.status == "submitted" => r,
        other => return Err(not_submitted(other.as_ref())),
    };
    check_revision(&r, input.revision)?;
    let now = crate::time::now();
    transition(
        &mut tx,
        actor,
        &r,
        "returned",
        "returned",
        "return",
        comment.as_deref(),
        None,
        &now,
    )
    .await?;
    tx.commit().await?;
    load(db, actor, &org, quarter).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, org: i64) -> Actor {
        Actor {
            user_id: 1,
            organisation_id: org,
            role,
            email: "a@example.org".into(),
            display_name: "A".into(),
            language: "en".into(),
        }
    }

    #[test]
    fn each_side_of_the_review_has_its_own_buttons() {
        let own = actor(Role::OrgAdmin, 7);
        assert!(actions(&own, 7, "draft").submit);
        assert!(actions(&own, 7, "returned").edit);
        assert!(!actions(&own, 7, "submitted").edit);
        assert!(!actions(&own, 7, "approved").edit);
        assert!(!actions(&own, 7, "submitted").approve);
        assert!(!actions(&own, 8, "draft").edit);
        let mentor = actor(Role::Mentor, 7);
        assert!(!actions(&mentor, 7, "draft").submit);
        let manager = actor(Role::Manager, 1);
        assert!(actions(&manager, 7, "submitted").approve);
        assert!(actions(&manager, 7, "submitted").return_);
        assert!(!actions(&manager, 7, "draft").approve);
        assert!(!actions(&manager, 7, "draft").edit);
    }

    #[test]
    fn equal_figures_hash_alike() {
        let (a, sha_a) = figures_json(&[]).unwrap();
        let (b, sha_b) = figures_json(&[]).unwrap();
        assert_eq!((a, sha_a.len()), (b, 64));
        assert_eq!(sha_a, sha_b);
    }
}
