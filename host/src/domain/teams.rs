//! Community and facility teams, their quarterly targets, and the plugin-scored quarterly
//! assessment that yields the team's incentive award (the CARE LEAD model: one team per
//! village, a midwife with Village Health Support Group members and traditional birth
//! attendants, assessed each quarter with the operational district against its targets).
//!
//! Rules, and why:
//! - A team belongs to one organisation and works with one health facility; its members come
//!   from that organisation's provider registry, in the cadres a village team has
//!   ([`MEMBER_CADRES`]). A provider marked inactive can no longer be added, but stays on a
//!   team they are already on.
//! - Targets are set per team, quarter and measure ([`MEASURES`]); a measure without a target
//!   row has no target that quarter. Once a quarter is assessed its targets are what the
//!   assessment scored, so they can no longer change.
//! - The assessment is a checklist of the `team_assessment` kind from a plugin the
//!   organisation may use. The server fills each item `<measure>-target` (measure written
//!   with `-` for `_`) from the quarter's targets (0 when none); the assessor answers the
//!   rest, including each `<measure>-achieved` count, which is also recorded on the target
//!   row. The award is the card's metric ending in `.award` (0 without one).
//! - One assessment per team and quarter; assessing again replaces it under optimistic
//!   concurrency (the client sends the revision it saw) and the audit log keeps the old one.
//! - Who may: org admins and mentors write their organisation's teams; admins any; managers
//!   read every organisation's; another organisation's team is "not found".
//!
//! Every plugin scores before the write transaction opens; one transaction writes the change
//! and its audit entry.

use std::collections::{BTreeMap, HashSet};

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::authz::{Actor, Role};
use crate::db::{Db, Tx, is_unique_violation};
use crate::domain::quarter::Quarter;
use crate::domain::scoring::{self, ChecklistInput, Version};
use crate::domain::sessions::latest_allowed_date;
use crate::domain::{Page, PageParams, audit};
use crate::error::{AppError, AppResult, Validator};
use crate::plugins::Registry;
use crate::plugins::model::{Answer, ChecklistKind, Response, ScoreCard, ScoreContext};

/// The measures a team sets targets for, in display order.
pub const MEASURES: [&str; 5] = [
    "households_mapped",
    "education_sessions",
    "home_visits",
    "referrals",
    "escorts",
];
/// The provider cadres a team is made of.
pub const MEMBER_CADRES: [&str; 6] = [
    "midwife",
    "nurse",
    "village_health_support_group",
    "traditional_birth_attendant",
    "village_health_volunteer",
    "community_health_worker",
];
pub const MAX_MEMBERS: usize = 50;
/// The largest target a measure may have in a quarter.
pub const MAX_TARGET: i64 = 10_000;
/// What plugins are told the "session type" of a team assessment is.
pub const SCORE_CONTEXT_TYPE: &str = "team-assessment";

/// The checklist item the server fills with a measure's target.
pub fn target_item(measure: &str) -> String {
    format!("{}-target", measure.replace('_', "-"))
}

/// The checklist item the assessor answers with a measure's achieved count.
pub fn achieved_item(measure: &str) -> String {
    format!("{}-achieved", measure.replace('_', "-"))
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// A team as the client sends it. Every field is optional here so that a missing one is a
/// 422 naming it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TeamInput {
    /// The team's organisation: admins name it; everyone else's team is their own
    /// organisation's.
    pub organisation_id: Option<i64>,
    pub name: Option<String>,
    pub village: Option<String>,
    /// The health facility (health centre) the team works with.
    pub facility_id: Option<i64>,
    /// Provider ids from the organisation's registry.
    #[serde(default)]
    pub members: Vec<i64>,
    /// Defaults to true.
    pub active: Option<bool>,
    /// On a change: the revision the change is based on (409 if someone changed it since).
    pub revision: Option<i64>,
}

/// A quarter's targets: measure → target. A measure left out has no target that quarter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TargetsInput {
    #[serde(default)]
    pub targets: BTreeMap<String, i64>,
}

/// A quarterly assessment as the client sends it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AssessmentInput {
    /// A `team_assessment` checklist and the assessor's answers. Leave out the
    /// `<measure>-target` items: the server fills them from the quarter's targets.
    pub assessment: Option<ChecklistInput>,
    /// `YYYY-MM-DD`, within or after the quarter and not in the future; defaults to today.
    pub assessed_on: Option<String>,
    /// To replace an existing assessment: its revision.
    pub revision: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
pub struct TeamFilter {
    pub organisation_id: Option<i64>,
    /// The quarter whose targets and award the list shows, e.g. `2026Q3`; defaults to the
    /// current quarter.
    pub quarter: Option<String>,
    /// `true` (the default), `false` or `all`.
    pub active: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl TeamFilter {
    pub fn paging(&self) -> PageParams {
        PageParams {
            page: self.page,
            per_page: self.per_page,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Outputs

/// A team in a list, with one quarter's targets and award.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct TeamSummary {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation_code: String,
    pub name: String,
    pub village: Option<String>,
    pub facility_id: i64,
    pub facility_name: String,
    pub active: bool,
    pub revision: i64,
    pub members: i64,
    /// The quarter the figures below are for.
    pub quarter: String,
    pub targets_set: i64,
    /// Targets whose achieved count reached the target.
    pub targets_met: i64,
    /// The assessment's result; absent until the quarter is assessed.
    pub percentage: Option<f64>,
    pub outcome_code: Option<String>,
    pub outcome_level: Option<String>,
    pub award: Option<f64>,
}

#[derive(FromRow)]
struct SummaryRow {
    id: i64,
    organisation_id: i64,
    organisation_code: String,
    name: String,
    village: Option<String>,
    facility_id: i64,
    facility_name: String,
    active: i64,
    revision: i64,
    members: i64,
    targets_set: i64,
    targets_met: i64,
    percentage: Option<f64>,
    outcome_code: Option<String>,
    outcome_level: Option<String>,
    award_amount: Option<f64>,
}

impl SummaryRow {
    fn into_summary(self, quarter: Quarter) -> TeamSummary {
        TeamSummary {
            id: self.id,
            organisation_id: self.organisation_id,
            organisation_code: self.organisation_code,
            name: self.name,
            village: self.village,
            facility_id: self.facility_id,
            facility_name: self.facility_name,
            active: self.active != 0,
            revision: self.revision,
            members: self.members,
            quarter: quarter.to_string(),
            targets_set: self.targets_set,
            targets_met: self.targets_met,
            percentage: self.percentage,
            outcome_code: self.outcome_code,
            outcome_level: self.outcome_level,
            award: self.award_amount,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, FromRow)]
pub struct Member {
    pub provider_id: i64,
    pub name: String,
    pub cadre: String,
    pub facility_name: String,
}

/// One measure's target and achievement in a quarter.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct Target {
    pub measure: String,
    pub target: i64,
    /// Recorded at the assessment.
    pub achieved: Option<i64>,
    pub met: Option<bool>,
}

/// A quarter's targets.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct QuarterTargets {
    pub quarter: String,
    pub targets: Vec<Target>,
    pub targets_met: i64,
    pub assessed: bool,
}

impl QuarterTargets {
    pub fn target(&self, measure: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.measure == measure)
    }
}

/// A stored quarterly assessment.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Assessment {
    pub id: i64,
    pub team_id: i64,
    pub quarter: String,
    pub assessed_on: String,
    /// What scored it: the plugin version's id, key, version and content hash.
    pub plugin_version_id: i64,
    pub plugin_key: String,
    pub plugin_version: String,
    pub plugin_sha256: String,
    pub checklist_id: String,
    /// Every response scored, the targets the server filled in included.
    pub responses: Vec<Response>,
    pub percentage: Option<f64>,
    pub outcome_code: String,
    pub outcome_level: String,
    pub card: ScoreCard,
    /// The incentive awarded, in the programme's currency units.
    pub award_amount: f64,
    pub assessed_by: Option<i64>,
    pub assessed_by_name: Option<String>,
    pub revision: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(FromRow)]
struct AssessmentRow {
    id: i64,
    team_id: i64,
    quarter: String,
    assessed_on: String,
    plugin_version_id: i64,
    plugin_key: String,
    plugin_version: String,
    plugin_sha256: String,
    checklist_id: String,
    responses_json: String,
    percentage: Option<f64>,
    outcome_code: String,
    outcome_level: String,
    card_json: String,
    award_amount: f64,
    assessed_by: Option<i64>,
    assessed_by_name: Option<String>,
    revision: i64,
    created_at: String,
    updated_at: String,
}

impl TryFrom<AssessmentRow> for Assessment {
    type Error = AppError;

    fn try_from(r: AssessmentRow) -> AppResult<Assessment> {
        let parse = |e: serde_json::Error| AppError::Internal(e.into());
        Ok(Assessment {
            id: r.id,
            team_id: r.team_id,
            quarter: r.quarter,
            assessed_on: r.assessed_on,
            plugin_version_id: r.plugin_version_id,
            plugin_key: r.plugin_key,
            plugin_version: r.plugin_version,
            plugin_sha256: r.plugin_sha256,
            checklist_id: r.checklist_id,
            responses: serde_json::from_str(&r.responses_json).map_err(parse)?,
            percentage: r.percentage,
            outcome_code: r.outcome_code,
            outcome_level: r.outcome_level,
            card: serde_json::from_str(&r.card_json).map_err(parse)?,
            award_amount: r.award_amount,
            assessed_by: r.assessed_by,
            assessed_by_name: r.assessed_by_name,
            revision: r.revision,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// A team with its members, targets by quarter (latest first) and assessments.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Team {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation_code: String,
    pub name: String,
    pub village: Option<String>,
    pub facility_id: i64,
    pub facility_name: String,
    pub active: bool,
    pub revision: i64,
    pub created_at: String,
    pub updated_at: String,
    pub member_list: Vec<Member>,
    pub targets: Vec<QuarterTargets>,
    pub assessments: Vec<Assessment>,
}

impl Team {
    pub fn targets_for(&self, quarter: &str) -> Option<&QuarterTargets> {
        self.targets.iter().find(|t| t.quarter == quarter)
    }

    pub fn assessment_for(&self, quarter: &str) -> Option<&Assessment> {
        self.assessments.iter().find(|a| a.quarter == quarter)
    }

    /// The team as an input that would store it as it is (pre-fills the edit form).
    pub fn to_input(&self) -> TeamInput {
        TeamInput {
            organisation_id: Some(self.organisation_id),
            name: Some(self.name.clone()),
            village: self.village.clone(),
            facility_id: Some(self.facility_id),
            members: self.member_list.iter().map(|m| m.provider_id).collect(),
            active: Some(self.active),
            revision: Some(self.revision),
        }
    }
}

/// The awards of one quarter across the teams the actor may see.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AwardSummary {
    pub quarter: String,
    /// Teams with targets or an assessment in the quarter.
    pub teams: Vec<TeamSummary>,
    pub assessed: i64,
    pub not_assessed: i64,
    /// Assessments by outcome code, e.g. `full-award` → 3.
    pub by_outcome: BTreeMap<String, i64>,
    pub total_award: f64,
}

// ---------------------------------------------------------------------------------------------
// Reading

#[derive(Clone, Debug, FromRow)]
struct Stored {
    organisation_id: i64,
    name: String,
    village: Option<String>,
    facility_id: i64,
    active: i64,
}

async fn stored(db: &Db, id: i64) -> AppResult<Option<Stored>> {
    Ok(sqlx::query_as(
        "SELECT organisation_id, name, village, facility_id, active FROM teams WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?)
}

/// The stored team if the actor may read it; another organisation's is "not found".
async fn readable(db: &Db, actor: &Actor, id: i64) -> AppResult<Stored> {
    match stored(db, id).await? {
        Some(s) if actor.can_read_org(s.organisation_id) => Ok(s),
        _ => Err(AppError::NotFound),
    }
}

/// The stored team if the actor may change it: "not found" when they may not even read it.
async fn writable(db: &Db, actor: &Actor, id: i64) -> AppResult<Stored> {
    let s = readable(db, actor, id).await?;
    if !actor.can_write_org_records(s.organisation_id) {
        return Err(AppError::Forbidden);
    }
    Ok(s)
}

/// Whether the actor may change teams of this organisation (pages show the edit links).
pub fn can_write(actor: &Actor, organisation_id: i64) -> bool {
    actor.can_write_org_records(organisation_id)
}

/// Whether the actor may create teams at all.
pub fn can_create(actor: &Actor) -> bool {
    matches!(actor.role, Role::Admin | Role::OrgAdmin | Role::Mentor)
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> AppResult<Team> {
    readable(db, actor, id).await?;
    load(db, id).await
}

macro_rules! assessment_select {
    () => {
        "SELECT a.id, a.team_id, a.quarter, a.assessed_on, a.plugin_version_id, a.plugin_key,
                a.plugin_version, a.plugin_sha256, a.checklist_id, a.responses_json, a.percentage,
                a.outcome_code, a.outcome_level, a.card_json, a.award_amount, a.assessed_by,
                u.display_name AS assessed_by_name, a.revision, a.created_at, a.updated_at
         FROM team_assessments a LEFT JOIN users u ON u.id = a.assessed_by"
    };
}

async fn load_assessments(db: &Db, team_id: i64) -> AppResult<Vec<Assessment>> {
    let rows: Vec<AssessmentRow> = sqlx::query_as(concat!(
        assessment_select!(),
        " WHERE a.team_id = $1 ORDER BY a.quarter DESC"
    ))
    .bind(team_id)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(Assessment::try_from).collect()
}

async fn load_assessment(db: &Db, team_id: i64, quarter: &str) -> AppResult<Assessment> {
    let row: AssessmentRow = sqlx::query_as(concat!(
        assessment_select!(),
        " WHERE a.team_id = $1 AND a.quarter = $2"
    ))
    .bind(team_id)
    .bind(quarter)
    .fetch_optional(db.pool())
    .await?
    .ok_or(AppError::NotFound)?;
    row.try_into()
}

async fn load(db: &Db, id: i64) -> AppResult<Team> {
    #[derive(FromRow)]
    struct Row {
        id: i64,
        organisation_id: i64,
        organisation_code: String,
        name: String,
        village: Option<String>,
        facility_id: i64,
        facility_name: String,
        active: i64,
        revision: i64,
        created_at: String,
        updated_at: String,
    }
    let r: Row = sqlx::query_as(
        "SELECT t.id, t.organisation_id, o.code AS organisation_code, t.name, t.village,
                t.facility_id, f.name AS facility_name, t.active, t.revision, t.created_at, t.updated_at
         FROM teams t JOIN organisations o ON o.id = t.organisation_id
           JOIN org_units f ON f.id = t.facility_id
         WHERE t.id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(AppError::NotFound)?;
    let member_list: Vec<Member> = sqlx::query_as(
        "SELECT p.id AS provider_id, p.name, p.cadre, f.name AS facility_name
         FROM team_members m JOIN providers p ON p.id = m.provider_id
           JOIN org_units f ON f.id = p.facility_id
         WHERE m.team_id = $1 ORDER BY p.name, p.id",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let assessments = load_assessments(db, id).await?;
    let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT quarter, measure, target, achieved FROM team_targets WHERE team_id = $1
         ORDER BY quarter DESC",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let mut by_quarter: BTreeMap<String, Vec<Target>> = BTreeMap::new();
    for (quarter, measure, target, achieved) in rows {
        by_quarter.entry(quarter).or_default().push(Target {
            met: achieved.map(|a| a >= target),
            measure,
            target,
            achieved,
        });
    }
    let mut targets: Vec<QuarterTargets> = by_quarter
        .into_iter()
        .rev()
        .map(|(quarter, mut targets)| {
            targets.sort_by_key(|t| measure_position(&t.measure));
            QuarterTargets {
                assessed: assessments.iter().any(|a| a.quarter == quarter),
                targets_met: targets.iter().filter(|t| t.met == Some(true)).count() as i64,
                quarter,
                targets,
            }
        })
        .collect();
    // An assessed quarter without targets still shows in the list of quarters.
    for a in &assessments {
        if !targets.iter().any(|t| t.quarter == a.quarter) {
            targets.push(QuarterTargets {
                quarter: a.quarter.clone(),
                targets: vec![],
                targets_met: 0,
                assessed: true,
            });
        }
    }
    targets.sort_by(|a, b| b.quarter.cmp(&a.quarter));
    Ok(Team {
        id: r.id,
        organisation_id: r.organisation_id,
        organisation_code: r.organisation_code,
        name: r.name,
        village: r.village,
        facility_id: r.facility_id,
        facility_name: r.facility_name,
        active: r.active != 0,
        revision: r.revision,
        created_at: r.created_at,
        updated_at: r.updated_at,
        member_list,
        targets,
        assessments,
    })
}

fn measure_position(measure: &str) -> usize {
    MEASURES
        .iter()
        .position(|m| *m == measure)
        .unwrap_or(MEASURES.len())
}

macro_rules! summary_select {
    () => {
        "SELECT t.id, t.organisation_id, o.code AS organisation_code, t.name, t.village,
                t.facility_id, f.name AS facility_name, t.active, t.revision,
                (SELECT COUNT(*) FROM team_members m WHERE m.team_id = t.id) AS members,
                (SELECT COUNT(*) FROM team_targets x WHERE x.team_id = t.id AND x.quarter = $3) AS targets_set,
                (SELECT COUNT(*) FROM team_targets x WHERE x.team_id = t.id AND x.quarter = $3
                    AND x.achieved IS NOT NULL AND x.achieved >= x.target) AS targets_met,
                a.percentage, a.outcome_code, a.outcome_level, a.award_amount
         FROM teams t JOIN organisations o ON o.id = t.organisation_id
           JOIN org_units f ON f.id = t.facility_id
           LEFT JOIN team_assessments a ON a.team_id = t.id AND a.quarter = $3
         WHERE ($1 IS NULL OR t.organisation_id = $1) AND ($2 IS NULL OR t.active = $2)"
    };
}

/// The quarter a list or summary is for: the one asked, else the current one.
pub fn quarter_or_current(value: Option<&str>) -> AppResult<Quarter> {
    match value.map(str::trim).filter(|s| !s.is_empty()) {
        Some(q) => Quarter::parse_field("quarter", q),
        None => Ok(Quarter::current()),
    }
}

/// The organisation a list is limited to: the actor's own unless they read every one.
fn list_scope(actor: &Actor, asked: Option<i64>) -> Result<Option<i64>, ()> {
    match (actor.org_scope(), asked) {
        (Some(own), Some(asked)) if own != asked => Err(()),
        (Some(own), _) => Ok(Some(own)),
        (None, asked) => Ok(asked),
    }
}

/// Teams the actor may see, by organisation and name, with one quarter's figures.
pub async fn list(
    db: &Db,
    actor: &Actor,
    filter: &TeamFilter,
    page: &PageParams,
) -> AppResult<Page<TeamSummary>> {
    let (page, per_page, offset) = page.resolve(50);
    let quarter = quarter_or_current(filter.quarter.as_deref())?;
    let active: Option<i64> = match filter.active.as_deref().map(str::trim) {
        None | Some("") | Some("true") => Some(1),
        Some("false") => Some(0),
        Some("all") => None,
        Some(_) => {
            return Err(AppError::field(
                "active",
                "invalid_choice",
                "must be true, false or all",
            ));
        }
    };
    let Ok(scope) = list_scope(actor, filter.organisation_id) else {
        return Ok(Page {
            items: vec![],
            total: 0,
            page,
            per_page,
        });
    };
    let q = quarter.to_string();
    let rows: Vec<SummaryRow> = sqlx::query_as(concat!(
        summary_select!(),
        " ORDER BY o.code, t.name, t.id LIMIT $4 OFFSET $5"
    ))
    .bind(scope)
    .bind(active)
    .bind(&q)
    .bind(per_page)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM teams t
         WHERE ($1 IS NULL OR t.organisation_id = $1) AND ($2 IS NULL OR t.active = $2)",
    )
    .bind(scope)
    .bind(active)
    .fetch_one(db.pool())
    .await?;
    Ok(Page {
        items: rows.into_iter().map(|r| r.into_summary(quarter)).collect(),
        total,
        page,
        per_page,
    })
}

/// The quarter's awards: every team (active or not) with targets or an assessment in it.
pub async fn awards(
    db: &Db,
    actor: &Actor,
    organisation_id: Option<i64>,
    quarter: Quarter,
) -> AppResult<AwardSummary> {
    let mut summary = AwardSummary {
        quarter: quarter.to_string(),
        teams: vec![],
        assessed: 0,
        not_assessed: 0,
        by_outcome: BTreeMap::new(),
        total_award: 0.0,
    };
    let Ok(scope) = list_scope(actor, organisation_id) else {
        return Ok(summary);
    };
    let rows: Vec<SummaryRow> =
        sqlx::query_as(concat!(summary_select!(), " ORDER BY o.code, t.name, t.id"))
            .bind(scope)
            .bind(None::<i64>)
            .bind(quarter.to_string())
            .fetch_all(db.pool())
            .await?;
    for row in rows {
        let t = row.into_summary(quarter);
        if t.targets_set == 0 && t.outcome_code.is_none() {
            continue;
        }
        match (&t.outcome_code, t.award) {
            (Some(code), award) => {
                summary.assessed += 1;
                *summary.by_outcome.entry(code.clone()).or_default() += 1;
                summary.total_award += award.unwrap_or(0.0);
            }
            (None, _) => summary.not_assessed += 1,
        }
        summary.teams.push(t);
    }
    Ok(summary)
}

/// A team's assessments, latest quarter first.
pub async fn assessments(db: &Db, actor: &Actor, team_id: i64) -> AppResult<Vec<Assessment>> {
    readable(db, actor, team_id).await?;
    load_assessments(db, team_id).await
}

/// Providers of the organisation who may join its teams (active, in a team cadre).
pub async fn candidates(db: &Db, organisation_id: i64) -> AppResult<Vec<Member>> {
    let rows: Vec<Member> = sqlx::query_as(
        "SELECT p.id AS provider_id, p.name, p.cadre, f.name AS facility_name
         FROM providers p JOIN org_units f ON f.id = p.facility_id
         WHERE p.organisation_id = $1 AND p.active = 1
         ORDER BY f.name, p.name, p.id",
    )
    .bind(organisation_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter(|m| MEMBER_CADRES.contains(&m.cadre.as_str()))
        .collect())
}

/// Facilities a team of the organisation may work with: where its providers work or its
/// mentors are assigned.
pub async fn facility_choices(db: &Db, organisation_id: i64) -> AppResult<Vec<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT f.id, f.name FROM org_units f
         WHERE f.level = 'facility'
           AND (f.id IN (SELECT p.facility_id FROM providers p WHERE p.organisation_id = $1)
             OR f.id IN (SELECT a.facility_id FROM mentor_assignments a JOIN users u ON u.id = a.mentor_id
                         WHERE u.organisation_id = $1))
         ORDER BY f.name, f.id",
    )
    .bind(organisation_id)
    .fetch_all(db.pool())
    .await?)
}

// ---------------------------------------------------------------------------------------------
// Writing teams

/// A team input checked and normalised.
#[derive(Clone, Debug, Serialize, PartialEq)]
struct ValidTeam {
    organisation_id: i64,
    name: String,
    village: Option<String>,
    facility_id: i64,
    members: Vec<i64>,
    active: bool,
}

async fn validate_team(
    db: &Db,
    organisation_id: i64,
    input: &TeamInput,
    current_members: &[i64],
) -> AppResult<ValidTeam> {
    let mut v = Validator::new();
    let name = v.required_text("name", input.name.as_deref(), 120);
    let village = v.optional_text("village", input.village.as_deref(), 120);
    match input.facility_id {
        None => v.add("facility_id", "required", "is required"),
        Some(id) => {
            let level: Option<String> =
                sqlx::query_scalar("SELECT level FROM org_units WHERE id = $1")
                    .bind(id)
                    .fetch_optional(db.pool())
                    .await?;
            match level.as_deref() {
                None => v.add("facility_id", "unknown_facility", "no such facility"),
                Some("facility") => {}
                Some(_) => v.add(
                    "facility_id",
                    "not_a_facility",
                    "must be a health facility, not a district or province",
                ),
            }
        }
    }
    if input.members.len() > MAX_MEMBERS {
        v.add(
            "members",
            "too_many",
            format!("at most {MAX_MEMBERS} members"),
        );
    } else {
        let mut seen = HashSet::new();
        for (n, id) in input.members.iter().enumerate() {
            let field = format!("members[{n}]");
            if !seen.insert(*id) {
                v.add(&field, "duplicate", "is listed twice");
                continue;
            }
            let found: Option<(i64, i64, String)> = sqlx::query_as(
                "SELECT organisation_id, active, cadre FROM providers WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
            match found {
                Some((org, _, _)) if org != organisation_id => v.add(
                    &field,
                    "unknown_provider",
                    "no such provider in the organisation's registry",
                ),
                None => v.add(
                    &field,
                    "unknown_provider",
                    "no such provider in the organisation's registry",
                ),
                Some((_, active, _)) if active == 0 && !current_members.contains(id) => v.add(
                    &field,
                    "inactive_provider",
                    "this provider is marked inactive",
                ),
                Some((_, _, cadre)) if !MEMBER_CADRES.contains(&cadre.as_str()) => v.add(
                    &field,
                    "wrong_cadre",
                    format!(
                        "a team is made of {}; this provider is a {cadre}",
                        MEMBER_CADRES.join(", ")
                    ),
                ),
                Some(_) => {}
            }
        }
    }
    v.finish()?;
    Ok(ValidTeam {
        organisation_id,
        name,
        village,
        facility_id: input.facility_id.unwrap_or_default(),
        members: input.members.clone(),
        active: input.active.unwrap_or(true),
    })
}

fn name_taken() -> AppError {
    AppError::field(
        "name",
        "taken",
        "the organisation already has a team with this name",
    )
}

async fn name_in_use(db: &Db, organisation_id: i64, name: &str, except: i64) -> AppResult<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM teams WHERE organisation_id = $1 AND name = $2 AND id <> $3",
    )
    .bind(organisation_id)
    .bind(name)
    .bind(except)
    .fetch_one(db.pool())
    .await?;
    Ok(n > 0)
}

async fn write_members(tx: &mut Tx, team_id: i64, members: &[i64]) -> AppResult<()> {
    sqlx::query("DELETE FROM team_members WHERE team_id = $1")
        .bind(team_id)
        .execute(&mut **tx)
        .await?;
    for provider_id in members {
        sqlx::query("INSERT INTO team_members (team_id, provider_id) VALUES ($1, $2)")
            .bind(team_id)
            .bind(provider_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Creates a team.
pub async fn create(db: &Db, actor: &Actor, input: &TeamInput) -> AppResult<Team> {
    let organisation_id = match (actor.role, input.organisation_id) {
        (Role::Admin, Some(id)) => {
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT id FROM organisations WHERE id = $1")
                    .bind(id)
                    .fetch_optional(db.pool())
                    .await?;
            exists.ok_or_else(|| {
                AppError::field(
                    "organisation_id",
                    "unknown_organisation",
                    "no such organisation",
                )
            })?
        }
        _ => actor.organisation_id,
    };
    if !actor.can_write_org_records(organisation_id) {
        return Err(AppError::Forbidden);
    }
    let valid = validate_team(db, organisation_id, input, &[]).await?;
    if name_in_use(db, organisation_id, &valid.name, 0).await? {
        return Err(name_taken());
    }
    let now = crate::time::now();
    let mut tx = db.begin().await?;
    let inserted = sqlx::query_scalar(
        "INSERT INTO teams (organisation_id, facility_id, name, village, active, revision, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING id",
    )
    .bind(organisation_id)
    .bind(valid.facility_id)
    .bind(&valid.name)
    .bind(&valid.village)
    .bind(i64::from(valid.active))
    .bind(&now)
    .fetch_one(&mut *tx)
    .await;
    let id: i64 = match inserted {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => return Err(name_taken()),
        Err(e) => return Err(e.into()),
    };
    write_members(&mut tx, id, &valid.members).await?;
    audit::record(
        &mut tx,
        Some(actor),
        Some(organisation_id),
        "create",
        "team",
        id,
        None::<&()>,
        Some(&valid),
    )
    .await?;
    tx.commit().await?;
    load(db, id).await
}

/// Changes a team: the whole team as it should read, with the revision it is based on.
pub async fn update(db: &Db, actor: &Actor, id: i64, input: &TeamInput) -> AppResult<Team> {
    let current = writable(db, actor, id).await?;
    let Some(revision) = input.revision else {
        return Err(AppError::field(
            "revision",
            "required",
            "is required: the revision of the team you changed",
        ));
    };
    let current_members: Vec<i64> =
        sqlx::query_scalar("SELECT provider_id FROM team_members WHERE team_id = $1")
            .bind(id)
            .fetch_all(db.pool())
            .await?;
    let valid = validate_team(db, current.organisation_id, input, &current_members).await?;
    if name_in_use(db, current.organisation_id, &valid.name, id).await? {
        return Err(name_taken());
    }
    let before = ValidTeam {
        organisation_id: current.organisation_id,
        name: current.name.clone(),
        village: current.village.clone(),
        facility_id: current.facility_id,
        members: current_members,
        active: current.active != 0,
    };
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE teams SET name = $1, village = $2, facility_id = $3, active = $4,
            revision = revision + 1, updated_at = $5
         WHERE id = $6 AND revision = $7",
    )
    .bind(&valid.name)
    .bind(&valid.village)
    .bind(valid.facility_id)
    .bind(i64::from(valid.active))
    .bind(crate::time::now())
    .bind(id)
    .bind(revision)
    .execute(&mut *tx)
    .await;
    match updated {
        Ok(r) if r.rows_affected() == 0 => return Err(changed_meanwhile("team")),
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(name_taken()),
        Err(e) => return Err(e.into()),
    }
    write_members(&mut tx, id, &valid.members).await?;
    audit::record(
        &mut tx,
        Some(actor),
        Some(current.organisation_id),
        "update",
        "team",
        id,
        Some(&before),
        Some(&valid),
    )
    .await?;
    tx.commit().await?;
    load(db, id).await
}

fn changed_meanwhile(what: &str) -> AppError {
    AppError::Conflict(format!(
        "this {what} was changed by someone else meanwhile; reload it and try again"
    ))
}

// ---------------------------------------------------------------------------------------------
// Targets

#[derive(Clone, Debug, Serialize, PartialEq)]
struct TargetsSnapshot {
    quarter: String,
    targets: BTreeMap<String, i64>,
}

/// Sets a quarter's targets: the measures given, each 0 to [`MAX_TARGET`]; measures left out
/// have no target. Refused once the quarter is assessed.
pub async fn set_targets(
    db: &Db,
    actor: &Actor,
    team_id: i64,
    quarter: &str,
    input: &TargetsInput,
) -> AppResult<Team> {
    let quarter = Quarter::parse_field("quarter", quarter)?;
    let team = writable(db, actor, team_id).await?;
    let mut v = Validator::new();
    // Targets are planned ahead, but not further than a year: a later quarter is a typo.
    let horizon = Quarter::current().next().next().next().next();
    if quarter > horizon {
        v.add(
            "quarter",
            "too_far_ahead",
            format!("targets may be set up to {horizon}"),
        );
    }
    for (measure, target) in &input.targets {
        let field = format!("targets.{}", measure.chars().take(40).collect::<String>());
        if !MEASURES.contains(&measure.as_str()) {
            v.add(
                &field,
                "unknown_measure",
                format!("must be one of {}", MEASURES.join(", ")),
            );
        } else if !(0..=MAX_TARGET).contains(target) {
            v.add(
                &field,
                "out_of_range",
                format!("must be a whole number from 0 to {MAX_TARGET}"),
            );
        }
    }
    v.finish()?;
    let q = quarter.to_string();
    let mut tx = db.begin().await?;
    let assessed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM team_assessments WHERE team_id = $1 AND quarter = $2",
    )
    .bind(team_id)
    .bind(&q)
    .fetch_one(&mut *tx)
    .await?;
    if assessed > 0 {
        return Err(AppError::Conflict(format!(
            "{q} is already assessed: its targets are what the assessment scored and can no longer change"
        )));
    }
    let old: Vec<(String, i64)> = sqlx::query_as(
        "SELECT measure, target FROM team_targets WHERE team_id = $1 AND quarter = $2",
    )
    .bind(team_id)
    .bind(&q)
    .fetch_all(&mut *tx)
    .await?;
    let now = crate::time::now();
    for (measure, _) in &old {
        if !input.targets.contains_key(measure) {
            sqlx::query(
                "DELETE FROM team_targets WHERE team_id = $1 AND quarter = $2 AND measure = $3",
            )
            .bind(team_id)
            .bind(&q)
            .bind(measure)
            .execute(&mut *tx)
            .await?;
        }
    }
    for (measure, target) in &input.targets {
        let n = sqlx::query(
            "UPDATE team_targets SET target = $1, updated_at = $2
             WHERE team_id = $3 AND quarter = $4 AND measure = $5",
        )
        .bind(target)
        .bind(&now)
        .bind(team_id)
        .bind(&q)
        .bind(measure)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            sqlx::query(
                "INSERT INTO team_targets (team_id, quarter, measure, target, achieved, updated_at)
                 VALUES ($1, $2, $3, $4, NULL, $5)",
            )
            .bind(team_id)
            .bind(&q)
            .bind(measure)
            .bind(target)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
    }
    let before = TargetsSnapshot {
        quarter: q.clone(),
        targets: old.into_iter().collect(),
    };
    let after = TargetsSnapshot {
        quarter: q,
        targets: input.targets.clone(),
    };
    audit::record(
        &mut tx,
        Some(actor),
        Some(team.organisation_id),
        "set_targets",
        "team",
        team_id,
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    load(db, team_id).await
}

// ---------------------------------------------------------------------------------------------
// Assessment

#[derive(Clone, Debug, Serialize)]
struct AssessmentSnapshot {
    team_id: i64,
    quarter: String,
    assessed_on: String,
    plugin_version_id: i64,
    plugin_version: String,
    checklist_id: String,
    responses: Vec<Response>,
    percentage: Option<f64>,
    outcome_code: String,
    award_amount: f64,
}

impl From<&Assessment> for AssessmentSnapshot {
    fn from(a: &Assessment) -> Self {
        AssessmentSnapshot {
            team_id: a.team_id,
            quarter: a.quarter.clone(),
            assessed_on: a.assessed_on.clone(),
            plugin_version_id: a.plugin_version_id,
            plugin_version: a.plugin_version.clone(),
            checklist_id: a.checklist_id.clone(),
            responses: a.responses.clone(),
            percentage: a.percentage,
            outcome_code: a.outcome_code.clone(),
            award_amount: a.award_amount,
        }
    }
}

/// The award a card states: its metric named `<plugin>.<checklist>.award`, else any metric
/// ending in `.award`; never negative, 0 without one.
pub fn award_of(card: &ScoreCard, plugin_key: &str, checklist_id: &str) -> f64 {
    let exact = format!(
        "{}.{}.award",
        plugin_key.replace('-', "_"),
        checklist_id.replace('-', "_")
    );
    card.metrics
        .iter()
        .find(|m| m.name == exact)
        .or_else(|| card.metrics.iter().find(|m| m.name.ends_with(".award")))
        .map(|m| m.value)
        .filter(|v| v.is_finite() && *v > 0.0)
        .unwrap_or(0.0)
}

fn assessed_on(v: &mut Validator, value: Option<&str>, quarter: Quarter) -> String {
    let today = Utc::now().date_naive();
    let day = match value.map(str::trim).filter(|s| !s.is_empty()) {
        None => today,
        Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) => d,
            Err(_) => {
                v.add(
                    "assessed_on",
                    "invalid_date",
                    "must be a date written YYYY-MM-DD",
                );
                return String::new();
            }
        },
    };
    if day > latest_allowed_date() {
        v.add("assessed_on", "future_date", "must not be in the future");
    } else if day < quarter.first_day() {
        v.add(
            "assessed_on",
            "before_quarter",
            format!("must be on or after {}", quarter.first_day()),
        );
    }
    day.format("%Y-%m-%d").to_string()
}

/// Assesses a team for a quarter with a team-assessment checklist, or replaces the quarter's
/// assessment (send its `revision`). Nothing is stored unless the plugin scored it.
pub async fn assess(
    db: &Db,
    registry: &Registry,
    actor: &Actor,
    team_id: i64,
    quarter: &str,
    input: &AssessmentInput,
) -> AppResult<Assessment> {
    let quarter = Quarter::parse_field("quarter", quarter)?;
    let team = writable(db, actor, team_id).await?;
    let q = quarter.to_string();
    let mut v = Validator::new();
    if !quarter.has_started() {
        v.add(
            "quarter",
            "not_started",
            "a quarter can be assessed once it has begun",
        );
    }
    let day = assessed_on(&mut v, input.assessed_on.as_deref(), quarter);
    let targets: Vec<(String, i64)> = sqlx::query_as(
        "SELECT measure, target FROM team_targets WHERE team_id = $1 AND quarter = $2",
    )
    .bind(team_id)
    .bind(&q)
    .fetch_all(db.pool())
    .await?;
    if targets.is_empty() {
        v.add(
            "quarter",
            "no_targets",
            "set the team's targets for this quarter before assessing it",
        );
    }
    if input.assessment.is_none() {
        v.add("assessment", "required", "is required");
    }
    // The targets are the server's to fill: an answer to one would be ignored or disagree.
    for r in input.assessment.iter().flat_map(|c| &c.responses) {
        if MEASURES.iter().any(|m| target_item(m) == r.item_id) {
            v.add(
                &format!("assessment.responses.{}", r.item_id),
                "filled_from_targets",
                "is filled in from the team's targets; leave it out",
            );
        }
    }
    v.finish()?;
    let mut v = Validator::new();
    let checklist = input
        .assessment
        .as_ref()
        .ok_or_else(|| AppError::field("assessment", "required", "is required"))?;
    let mut filled = checklist.clone();
    if let Some(found) = match (
        checklist.plugin_version_id,
        checklist.checklist_id.as_deref(),
    ) {
        (Some(id), Some(c)) => {
            registry
                .usable_checklist(team.organisation_id, id, c)
                .await?
        }
        _ => None,
    } {
        for m in MEASURES {
            let item = target_item(m);
            if found.checklist.items().any(|i| i.id == item) {
                let target = targets
                    .iter()
                    .find(|(measure, _)| measure == m)
                    .map_or(0, |(_, t)| *t);
                filled.responses.push(Response {
                    item_id: item,
                    answer: Answer::Integer(target),
                });
            }
        }
    }
    let checked = scoring::check(
        registry,
        team.organisation_id,
        "assessment",
        &filled,
        &[ChecklistKind::TeamAssessment],
        &mut v,
    )
    .await?;
    v.finish()?;
    let Some(checked) = checked else {
        return Err(AppError::field(
            "assessment.checklist_id",
            "unknown_checklist",
            "no such active checklist that your organisation may use",
        ));
    };
    let context = ScoreContext {
        session_type: SCORE_CONTEXT_TYPE.to_string(),
        mentee_cadre: String::new(),
        date: day.clone(),
        language: actor.language.clone(),
    };
    let mut scored =
        scoring::score_all(registry, vec![(checked, context, Version::Active)]).await?;
    let Some(s) = scored.pop() else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "scoring returned nothing"
        )));
    };
    let award = award_of(
        &s.card,
        &s.scored.plugin_key,
        &s.checked.checklist.checklist.id,
    );
    let achieved: Vec<(&str, i64)> = MEASURES
        .iter()
        .filter_map(|m| {
            let item = achieved_item(m);
            s.checked
                .responses
                .iter()
                .find(|r| r.item_id == item)
                .and_then(|r| match r.answer {
                    Answer::Integer(n) => Some((*m, n)),
                    _ => None,
                })
        })
        .collect();

    let now = crate::time::now();
    let responses_json = scoring::json(&s.checked.responses)?;
    let card_json = scoring::json(&s.card)?;
    let mut tx = db.begin().await?;
    let existing: Option<(i64, i64)> = sqlx::query_as(
        "SELECT id, revision FROM team_assessments WHERE team_id = $1 AND quarter = $2",
    )
    .bind(team_id)
    .bind(&q)
    .fetch_optional(&mut *tx)
    .await?;
    let before = match existing {
        Some(_) => Some(AssessmentSnapshot::from(
            &load_assessment(db, team_id, &q).await?,
        )),
        None => None,
    };
    match existing {
        Some((id, revision)) => {
            if input.revision != Some(revision) {
                return Err(AppError::Conflict(format!(
                    "{q} is already assessed (revision {revision}); send that revision to replace the assessment"
                )));
            }
            let n = sqlx::query(
                "UPDATE team_assessments SET assessed_on = $1, plugin_version_id = $2, plugin_key = $3,
                    plugin_version = $4, plugin_sha256 = $5, checklist_id = $6, responses_json = $7,
                    percentage = $8, outcome_code = $9, outcome_level = $10, card_json = $11,
                    award_amount = $12, assessed_by = $13, revision = revision + 1, updated_at = $14
                 WHERE id = $15 AND revision = $16",
            )
            .bind(&day)
            .bind(s.scored.plugin_version_id)
            .bind(&s.scored.plugin_key)
            .bind(&s.scored.plugin_version)
            .bind(&s.scored.sha256)
            .bind(&s.checked.checklist.checklist.id)
            .bind(&responses_json)
            .bind(s.card.percentage)
            .bind(&s.card.outcome.code)
            .bind(s.card.outcome.level.as_str())
            .bind(&card_json)
            .bind(award)
            .bind(actor.user_id)
            .bind(&now)
            .bind(id)
            .bind(revision)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(changed_meanwhile("assessment"));
            }
        }
        None => {
            let inserted = sqlx::query(
                "INSERT INTO team_assessments (team_id, quarter, assessed_on, plugin_version_id, plugin_key,
                    plugin_version, plugin_sha256, checklist_id, responses_json, percentage, outcome_code,
                    outcome_level, card_json, award_amount, assessed_by, revision, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16, $16)",
            )
            .bind(team_id)
            .bind(&q)
            .bind(&day)
            .bind(s.scored.plugin_version_id)
            .bind(&s.scored.plugin_key)
            .bind(&s.scored.plugin_version)
            .bind(&s.scored.sha256)
            .bind(&s.checked.checklist.checklist.id)
            .bind(&responses_json)
            .bind(s.card.percentage)
            .bind(&s.card.outcome.code)
            .bind(s.card.outcome.level.as_str())
            .bind(&card_json)
            .bind(award)
            .bind(actor.user_id)
            .bind(&now)
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => return Err(changed_meanwhile("assessment")),
                Err(e) => return Err(e.into()),
            }
        }
    }
    for (measure, n) in &achieved {
        sqlx::query(
            "UPDATE team_targets SET achieved = $1, updated_at = $2
             WHERE team_id = $3 AND quarter = $4 AND measure = $5",
        )
        .bind(n)
        .bind(&now)
        .bind(team_id)
        .bind(&q)
        .bind(*measure)
        .execute(&mut *tx)
        .await?;
    }
    let after = AssessmentSnapshot {
        team_id,
        quarter: q.clone(),
        assessed_on: day,
        plugin_version_id: s.scored.plugin_version_id,
        plugin_version: s.scored.plugin_version.clone(),
        checklist_id: s.checked.checklist.checklist.id.clone(),
        responses: s.checked.responses.clone(),
        percentage: s.card.percentage,
        outcome_code: s.card.outcome.code.clone(),
        award_amount: award,
    };
    audit::record(
        &mut tx,
        Some(actor),
        Some(team.organisation_id),
        if before.is_some() {
            "reassess"
        } else {
            "assess"
        },
        "team_assessment",
        format!("{team_id}/{q}"),
        before.as_ref(),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    load_assessment(db, team_id, &q).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::model::{Localized, Metric, Outcome, Signal};

    fn card(metrics: &[(&str, f64)]) -> ScoreCard {
        ScoreCard {
            percentage: None,
            outcome: Outcome {
                code: "x".into(),
                label: Localized {
                    default: "X".into(),
                    translations: vec![],
                },
                level: Signal::Neutral,
            },
            sections: vec![],
            feedback: vec![],
            metrics: metrics
                .iter()
                .map(|(n, v)| Metric {
                    name: (*n).into(),
                    value: *v,
                })
                .collect(),
        }
    }

    #[test]
    fn the_award_is_the_checklists_own_metric_and_never_negative() {
        let c = card(&[
            ("care_lead.other.award", 5.0),
            ("care_lead.team_quarterly.award", 40.0),
        ]);
        assert_eq!(award_of(&c, "care-lead", "team-quarterly"), 40.0);
        assert_eq!(award_of(&card(&[("x.y.award", 7.0)]), "p", "c"), 7.0);
        assert_eq!(award_of(&card(&[("p.c.award", -3.0)]), "p", "c"), 0.0);
        assert_eq!(award_of(&card(&[("p.c.award", f64::NAN)]), "p", "c"), 0.0);
        assert_eq!(award_of(&card(&[]), "p", "c"), 0.0);
    }

    #[test]
    fn measure_items_follow_the_plugin_naming() {
        assert_eq!(target_item("households_mapped"), "households-mapped-target");
        assert_eq!(achieved_item("home_visits"), "home-visits-achieved");
    }
}
