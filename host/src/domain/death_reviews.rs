//! Maternal and perinatal death reviews (MPDSR) and their recommendations.
//!
//! Rules, and why:
//! - A death is notified before it is reviewed: a record starts with the notification (date,
//!   facility, maternal or perinatal, date of death) and the review's findings (date,
//!   committee, ICD-MM cause group, delays, avoidability) are added when the committee has met.
//!   Findings without a review date, or a review date without the findings the indicators
//!   need (committee, cause group, avoidability), are refused so "reviewed in the quarter"
//!   always means a complete review.
//! - Dates: nothing in the future (today somewhere on Earth, as for sessions); the death comes
//!   no later than its notification, the review no earlier than the death.
//! - Place: a facility the organisation works at: for a mentor one they are assigned to (a
//!   facility already on the record stays acceptable after the assignment ends), for an org
//!   admin any facility.
//! - Who: these records are sensitive. Only the reviewing organisation (its org admins and
//!   mentors) and project management (managers, admins) read them; another organisation's
//!   review is "not found" and never listed. Only the organisation's org admins and mentors
//!   record and change them; project management reads only.
//! - Recommendations come out of a review, so they can be added once the review is recorded.
//!   "done" keeps the day it was done (`done_on`), which the indicators read; any other status
//!   clears it. A recommendation is overdue when its deadline has passed and it is not done.
//!
//! Each action is one transaction with its audit entry (before and after).

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::authz::{Actor, Role};
use crate::db::{Db, Tx};
use crate::domain::quarter::Quarter;
use crate::domain::sessions::latest_allowed_date;
use crate::domain::{Page, PageParams, assignments, audit, org_units};
use crate::error::{AppError, AppResult, Validator};

pub const DEATH_TYPES: [&str; 2] = ["maternal", "perinatal"];
pub const AVOIDABLE: [&str; 3] = ["yes", "no", "undetermined"];
pub const RECOMMENDATION_STATUSES: [&str; 4] = ["open", "in_progress", "done", "not_done"];
/// The ICD-MM groups of underlying cause, by number; the code names the translation key
/// `death_review.cause.<code>`.
pub const CAUSE_GROUPS: [(i64, &str, &str); 8] = [
    (1, "abortive_outcome", "Pregnancy with abortive outcome"),
    (2, "hypertensive", "Hypertensive disorders"),
    (3, "haemorrhage", "Obstetric haemorrhage"),
    (4, "infection", "Pregnancy-related infection"),
    (5, "other_obstetric", "Other obstetric complications"),
    (6, "management", "Unanticipated complications of management"),
    (7, "non_obstetric", "Non-obstetric complications"),
    (8, "unknown", "Unknown / undetermined"),
];
pub const MAX_RECOMMENDATIONS: i64 = 50;

/// The code of a cause group (`haemorrhage`), if it is one.
pub fn cause_code(group: i64) -> Option<&'static str> {
    CAUSE_GROUPS
        .iter()
        .find(|(n, _, _)| *n == group)
        .map(|(_, c, _)| *c)
}

fn cause_name(group: i64) -> Option<&'static str> {
    CAUSE_GROUPS
        .iter()
        .find(|(n, _, _)| *n == group)
        .map(|(_, _, name)| *name)
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// A death review as the client sends it: the notification, and the review's findings once
/// the committee has met. Every field is optional here so that a missing one is a 422 naming
/// it. An edit sends the whole record as it should read, with the `revision` it is based on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeathReviewInput {
    /// Where the death happened: a facility the organisation works at.
    pub facility_id: Option<i64>,
    /// `maternal` or `perinatal`.
    pub death_type: Option<String>,
    /// When the death was notified, `YYYY-MM-DD`; not in the future.
    pub notified_on: Option<String>,
    /// Date of death, `YYYY-MM-DD`; not after `notified_on`.
    pub died_on: Option<String>,
    /// When the committee reviewed it, `YYYY-MM-DD`; not before `died_on`, not in the future.
    /// Leave empty until the review is held; once given, `committee`, `cause_group` and
    /// `avoidable` are required.
    pub reviewed_on: Option<String>,
    /// Who reviewed it (the facility's MPDSR committee, the district's).
    pub committee: Option<String>,
    /// ICD-MM group of the underlying cause: 1 abortive outcome, 2 hypertensive disorders,
    /// 3 obstetric haemorrhage, 4 pregnancy-related infection, 5 other obstetric complications,
    /// 6 unanticipated complications of management, 7 non-obstetric complications, 8 unknown.
    pub cause_group: Option<i64>,
    /// The underlying cause in words.
    pub underlying_cause: Option<String>,
    pub contributing_conditions: Option<String>,
    /// Delay 1: in deciding to seek care.
    pub delay_seeking: Option<bool>,
    /// Delay 2: in reaching care.
    pub delay_reaching: Option<bool>,
    /// Delay 3: in receiving adequate care.
    pub delay_receiving: Option<bool>,
    /// `yes`, `no` or `undetermined`.
    pub avoidable: Option<String>,
    pub notes: Option<String>,
    /// For an edit (PUT): the revision the change is based on; another change since is a 409.
    pub revision: Option<i64>,
}

/// A recommendation of a review. On an update, absent description, owner and deadline keep
/// their current values.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecommendationInput {
    pub description: Option<String>,
    /// Who is responsible (a person or a unit).
    pub owner: Option<String>,
    /// `YYYY-MM-DD`; not before the review.
    pub deadline: Option<String>,
    /// `open` (the default when adding), `in_progress`, `done` or `not_done`.
    pub status: Option<String>,
    /// With `done`: the day it was done, `YYYY-MM-DD` (default today); ignored otherwise.
    pub done_on: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Outputs

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Recommendation {
    pub id: i64,
    pub review_id: i64,
    pub position: i64,
    pub description: String,
    pub owner: String,
    pub deadline: String,
    pub status: String,
    pub done_on: Option<String>,
    /// The deadline has passed and it is not done.
    pub overdue: bool,
    pub updated_at: String,
}

#[derive(Clone, Debug, FromRow)]
struct RecommendationRow {
    id: i64,
    review_id: i64,
    position: i64,
    description: String,
    owner: String,
    deadline: String,
    status: String,
    done_on: Option<String>,
    updated_at: String,
}

fn today_text() -> String {
    Utc::now().date_naive().format("%Y-%m-%d").to_string()
}

impl RecommendationRow {
    fn into_recommendation(self, today: &str) -> Recommendation {
        Recommendation {
            overdue: self.status != "done" && self.deadline.as_str() < today,
            id: self.id,
            review_id: self.review_id,
            position: self.position,
            description: self.description,
            owner: self.owner,
            deadline: self.deadline,
            status: self.status,
            done_on: self.done_on,
            updated_at: self.updated_at,
        }
    }
}

/// A review as lists show it.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct DeathReviewSummary {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub facility_id: i64,
    pub facility_name: String,
    pub district_name: String,
    pub death_type: String,
    pub notified_on: String,
    pub died_on: String,
    pub reviewed_on: Option<String>,
    pub cause_group: Option<i64>,
    pub avoidable: Option<String>,
    /// Notified and not yet reviewed: what supervisors must follow up.
    pub awaiting_review: bool,
    pub recommendations: i64,
    /// Recommendations whose deadline has passed and that are not done.
    pub overdue_recommendations: i64,
    pub revision: i64,
    pub updated_at: String,
}

#[derive(Clone, Debug, FromRow)]
struct SummaryRow {
    id: i64,
    organisation_id: i64,
    organisation_name: String,
    facility_id: i64,
    facility_name: String,
    district_name: String,
    death_type: String,
    notified_on: String,
    died_on: String,
    reviewed_on: Option<String>,
    cause_group: Option<i64>,
    avoidable: Option<String>,
    recommendations: i64,
    overdue_recommendations: i64,
    revision: i64,
    updated_at: String,
}

impl From<SummaryRow> for DeathReviewSummary {
    fn from(r: SummaryRow) -> Self {
        DeathReviewSummary {
            awaiting_review: r.reviewed_on.is_none(),
            id: r.id,
            organisation_id: r.organisation_id,
            organisation_name: r.organisation_name,
            facility_id: r.facility_id,
            facility_name: r.facility_name,
            district_name: r.district_name,
            death_type: r.death_type,
            notified_on: r.notified_on,
            died_on: r.died_on,
            reviewed_on: r.reviewed_on,
            cause_group: r.cause_group,
            avoidable: r.avoidable,
            recommendations: r.recommendations,
            overdue_recommendations: r.overdue_recommendations,
            revision: r.revision,
            updated_at: r.updated_at,
        }
    }
}

/// One review with every field and its recommendations.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct DeathReview {
    #[serde(flatten)]
    pub summary: DeathReviewSummary,
    pub committee: Option<String>,
    /// The cause group's name in English (pages translate it).
    pub cause_group_name: Option<String>,
    pub underlying_cause: Option<String>,
    pub contributing_conditions: Option<String>,
    pub delay_seeking: bool,
    pub delay_reaching: bool,
    pub delay_receiving: bool,
    pub notes: Option<String>,
    pub created_by: Option<i64>,
    pub created_by_name: Option<String>,
    pub created_at: String,
    pub recommendation_list: Vec<Recommendation>,
}

impl DeathReview {
    /// The record as an input that would store it as it is (what the edit form pre-fills).
    pub fn to_input(&self) -> DeathReviewInput {
        let s = &self.summary;
        DeathReviewInput {
            facility_id: Some(s.facility_id),
            death_type: Some(s.death_type.clone()),
            notified_on: Some(s.notified_on.clone()),
            died_on: Some(s.died_on.clone()),
            reviewed_on: s.reviewed_on.clone(),
            committee: self.committee.clone(),
            cause_group: s.cause_group,
            underlying_cause: self.underlying_cause.clone(),
            contributing_conditions: self.contributing_conditions.clone(),
            delay_seeking: Some(self.delay_seeking),
            delay_reaching: Some(self.delay_reaching),
            delay_receiving: Some(self.delay_receiving),
            avoidable: s.avoidable.clone(),
            notes: self.notes.clone(),
            revision: Some(s.revision),
        }
    }
}

#[derive(Clone, Debug, FromRow)]
struct DetailRow {
    committee: Option<String>,
    underlying_cause: Option<String>,
    contributing_conditions: Option<String>,
    delay_seeking: i64,
    delay_reaching: i64,
    delay_receiving: i64,
    notes: Option<String>,
    created_by: Option<i64>,
    created_by_name: Option<String>,
    created_at: String,
}

// ---------------------------------------------------------------------------------------------
// Who may

/// Reads: the reviewing organisation and project management.
pub fn can_read(actor: &Actor, organisation_id: i64) -> bool {
    actor.reads_all_organisations() || actor.organisation_id == organisation_id
}

/// Records and changes: the reviewing organisation's org admins and mentors only; project
/// management reads but never edits a partner's reviews.
pub fn can_write(actor: &Actor, organisation_id: i64) -> bool {
    matches!(actor.role, Role::OrgAdmin | Role::Mentor) && actor.organisation_id == organisation_id
}

/// Whether the actor may record new reviews at all (for their own organisation).
pub fn can_create(actor: &Actor) -> bool {
    can_write(actor, actor.organisation_id)
}

/// The organisation of a review the actor may read; others' are "not found".
async fn readable_org(db: &Db, actor: &Actor, id: i64) -> AppResult<i64> {
    let org: Option<i64> =
        sqlx::query_scalar("SELECT organisation_id FROM death_reviews WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    match org {
        Some(org) if can_read(actor, org) => Ok(org),
        _ => Err(AppError::NotFound),
    }
}

async fn writable_org(db: &Db, actor: &Actor, id: i64) -> AppResult<i64> {
    let org = readable_org(db, actor, id).await?;
    if !can_write(actor, org) {
        return Err(AppError::Forbidden);
    }
    Ok(org)
}

// ---------------------------------------------------------------------------------------------
// Reading

macro_rules! summary_columns {
    () => {
        "r.id, r.organisation_id, o.name AS organisation_name, r.facility_id,
         f.name AS facility_name, COALESCE(d.name, '') AS district_name, r.death_type,
         r.notified_on, r.died_on, r.reviewed_on, r.cause_group, r.avoidable,
         (SELECT COUNT(*) FROM death_review_recommendations x WHERE x.review_id = r.id)
             AS recommendations,
         (SELECT COUNT(*) FROM death_review_recommendations x
           WHERE x.review_id = r.id AND x.status <> 'done' AND x.deadline < $1)
             AS overdue_recommendations,
         r.revision, r.updated_at"
    };
}

macro_rules! summary_from {
    () => {
        " FROM death_reviews r JOIN organisations o ON o.id = r.organisation_id
           JOIN org_units f ON f.id = r.facility_id
           LEFT JOIN org_units d ON d.id = f.parent_id"
    };
}

// $1 is today (for "overdue"); the count query binds it too, so both share the conditions.
macro_rules! list_conditions {
    () => {
        "
         WHERE ($2 IS NULL OR r.organisation_id = $2)
           AND ($3 IS NULL OR r.facility_id = $3)
           AND ($4 IS NULL OR r.death_type = $4)
           AND ($5 IS NULL OR (r.notified_on >= $5 AND r.notified_on <= $6)
                           OR (r.reviewed_on >= $5 AND r.reviewed_on <= $6))
           AND ($7 IS NULL OR ($7 = 'awaiting_review' AND r.reviewed_on IS NULL)
                           OR ($7 = 'reviewed' AND r.reviewed_on IS NOT NULL))
           AND ($8 IS NULL OR EXISTS (SELECT 1 FROM death_review_recommendations x
                                      WHERE x.review_id = r.id AND x.status <> 'done'
                                        AND x.deadline < $1))"
    };
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, IntoParams)]
pub struct DeathReviewFilter {
    /// Project management only: one organisation's reviews.
    pub organisation_id: Option<i64>,
    pub facility_id: Option<i64>,
    /// `maternal` or `perinatal`.
    pub death_type: Option<String>,
    /// `2026Q3`: reviews notified or reviewed in that quarter.
    pub quarter: Option<String>,
    /// `awaiting_review` (notified, not reviewed yet), `reviewed`, or `all` (the default).
    pub status: Option<String>,
    /// `true`: only reviews with a recommendation past its deadline and not done.
    pub overdue: Option<bool>,
    /// 1-based page number.
    pub page: Option<i64>,
    /// Items per page, at most 200.
    pub per_page: Option<i64>,
}

impl DeathReviewFilter {
    pub fn paging(&self) -> PageParams {
        PageParams {
            page: self.page,
            per_page: self.per_page,
        }
    }
}

/// Reviews the actor may read, latest notification first.
pub async fn list(
    db: &Db,
    actor: &Actor,
    filter: &DeathReviewFilter,
    page: &PageParams,
) -> AppResult<Page<DeathReviewSummary>> {
    let (page, per_page, offset) = page.resolve(25);
    let empty = || Page {
        items: vec![],
        total: 0,
        page,
        per_page,
    };
    let scope = match (actor.org_scope(), filter.organisation_id) {
        (Some(own), Some(asked)) if own != asked => return Ok(empty()),
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    let mut v = Validator::new();
    fn text(s: &Option<String>) -> Option<&str> {
        s.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    let death_type = match text(&filter.death_type) {
        None => None,
        Some(t) if DEATH_TYPES.contains(&t) => Some(t.to_string()),
        Some(_) => {
            v.add(
                "death_type",
                "invalid_choice",
                "must be maternal or perinatal",
            );
            None
        }
    };
    let range = match text(&filter.quarter) {
        None => None,
        Some(q) => match Quarter::parse_field("quarter", q) {
            Ok(q) => Some(q.date_range()),
            Err(AppError::Validation(errs)) => {
                for e in errs {
                    v.add(&e.field, e.code, e.message);
                }
                None
            }
            Err(e) => return Err(e),
        },
    };
    let status = match text(&filter.status) {
        None | Some("all") => None,
        Some(s @ ("awaiting_review" | "reviewed")) => Some(s.to_string()),
        Some(_) => {
            v.add(
                "status",
                "invalid_choice",
                "must be awaiting_review, reviewed or all",
            );
            None
        }
    };
    v.finish()?;
    let (from, to) = match range {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    };
    let overdue: Option<i64> = filter.overdue.filter(|o| *o).map(|_| 1);
    let today = today_text();
    let rows: Vec<SummaryRow> = sqlx::query_as(concat!(
        "SELECT ",
        summary_columns!(),
        summary_from!(),
        list_conditions!(),
        " ORDER BY r.notified_on DESC, r.id DESC LIMIT $9 OFFSET $10"
    ))
    .bind(&today)
    .bind(scope)
    .bind(filter.facility_id)
    .bind(&death_type)
    .bind(&from)
    .bind(&to)
    .bind(&status)
    .bind(overdue)
    .bind(per_page)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    let total: i64 = sqlx::query_scalar(concat!(
        "SELECT COUNT(*)",
        summary_from!(),
        list_conditions!()
    ))
    .bind(&today)
    .bind(scope)
    .bind(filter.facility_id)
    .bind(&death_type)
    .bind(&from)
    .bind(&to)
    .bind(&status)
    .bind(overdue)
    .fetch_one(db.pool())
    .await?;
    Ok(Page {
        items: rows.into_iter().map(Into::into).collect(),
        total,
        page,
        per_page,
    })
}

/// A review the actor may read; another organisation's is "not found".
pub async fn get(db: &Db, actor: &Actor, id: i64) -> AppResult<DeathReview> {
    readable_org(db, actor, id).await?;
    load(db, id).await
}

async fn load(db: &Db, id: i64) -> AppResult<DeathReview> {
    let today = today_text();
    let row: SummaryRow = sqlx::query_as(concat!(
        "SELECT ",
        summary_columns!(),
        summary_from!(),
        " WHERE r.id = $2"
    ))
    .bind(&today)
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(AppError::NotFound)?;
    let detail: DetailRow = sqlx::query_as(
        "SELECT r.committee, r.underlying_cause, r.contributing_conditions, r.delay_seeking,
                r.delay_reaching, r.delay_receiving, r.notes, r.created_by,
                u.display_name AS created_by_name, r.created_at
         FROM death_reviews r LEFT JOIN users u ON u.id = r.created_by WHERE r.id = $1",
    )
    .bind(id)
    .fetch_one(db.pool())
    .await?;
    let recs: Vec<RecommendationRow> = sqlx::query_as(
        "SELECT id, review_id, position, description, owner, deadline, status, done_on, updated_at
         FROM death_review_recommendations WHERE review_id = $1 ORDER BY position, id",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let summary: DeathReviewSummary = row.into();
    Ok(DeathReview {
        cause_group_name: summary.cause_group.and_then(cause_name).map(str::to_string),
        summary,
        committee: detail.committee,
        underlying_cause: detail.underlying_cause,
        contributing_conditions: detail.contributing_conditions,
        delay_seeking: detail.delay_seeking != 0,
        delay_reaching: detail.delay_reaching != 0,
        delay_receiving: detail.delay_receiving != 0,
        notes: detail.notes,
        created_by: detail.created_by,
        created_by_name: detail.created_by_name,
        created_at: detail.created_at,
        recommendation_list: recs
            .into_iter()
            .map(|r| r.into_recommendation(&today))
            .collect(),
    })
}

/// The facilities the actor may record a review at: a mentor's assigned ones, any facility
/// for an org admin. `None` means every facility.
pub async fn facility_scope(db: &Db, actor: &Actor) -> AppResult<Option<Vec<i64>>> {
    Ok(match actor.role {
        Role::Mentor => Some(assignments::facility_ids(db, actor.user_id).await?),
        _ => None,
    })
}

// ---------------------------------------------------------------------------------------------
// Validation

#[derive(Clone, Debug, Serialize)]
struct Valid {
    facility_id: i64,
    death_type: String,
    notified_on: String,
    died_on: String,
    reviewed_on: Option<String>,
    committee: Option<String>,
    cause_group: Option<i64>,
    underlying_cause: Option<String>,
    contributing_conditions: Option<String>,
    delay_seeking: bool,
    delay_reaching: bool,
    delay_receiving: bool,
    avoidable: Option<String>,
    notes: Option<String>,
}

/// A past (or today's) date; empty is `None` and, when `required`, a field error.
fn past_date(
    v: &mut Validator,
    field: &str,
    value: Option<&str>,
    required: bool,
) -> Option<NaiveDate> {
    let value = value.map(str::trim).unwrap_or("");
    if value.is_empty() {
        if required {
            v.add(field, "required", "is required");
        }
        return None;
    }
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(d) if d > latest_allowed_date() => {
            v.add(field, "future_date", "must not be in the future");
            None
        }
        Ok(d) if d < NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(NaiveDate::MIN) => {
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

fn day_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Checks a review. `current_facility` is the facility already on the record (an edit): it
/// stays acceptable for a mentor whose assignment has ended.
async fn validate(
    db: &Db,
    actor: &Actor,
    input: &DeathReviewInput,
    current_facility: Option<i64>,
    v: &mut Validator,
) -> AppResult<Valid> {
    let facility_id = match input.facility_id {
        None => {
            v.add("facility_id", "required", "is required");
            0
        }
        Some(id) => {
            match org_units::find(db, id).await? {
                None => v.add("facility_id", "unknown", "no such facility"),
                Some(u) if u.level != "facility" => v.add(
                    "facility_id",
                    "not_a_facility",
                    "must be a facility, not a district or province",
                ),
                Some(_) if current_facility == Some(id) => {}
                Some(_) => {
                    if let Some(allowed) = facility_scope(db, actor).await?
                        && !allowed.contains(&id)
                    {
                        v.add(
                            "facility_id",
                            "not_assigned",
                            "you are not assigned to this facility",
                        );
                    }
                }
            }
            id
        }
    };
    let death_type = match input.death_type.as_deref().map(str::trim) {
        None | Some("") => {
            v.add("death_type", "required", "is required");
            String::new()
        }
        Some(t) if DEATH_TYPES.contains(&t) => t.to_string(),
        Some(_) => {
            v.add(
                "death_type",
                "invalid_choice",
                "must be maternal or perinatal",
            );
            String::new()
        }
    };
    let notified = past_date(v, "notified_on", input.notified_on.as_deref(), true);
    let died = past_date(v, "died_on", input.died_on.as_deref(), true);
    let reviewed = past_date(v, "reviewed_on", input.reviewed_on.as_deref(), false);
    if let (Some(d), Some(n)) = (died, notified)
        && d > n
    {
        v.add(
            "died_on",
            "after_notification",
            "the death must not be dated after its notification",
        );
    }
    if let (Some(d), Some(r)) = (died, reviewed)
        && r < d
    {
        v.add(
            "reviewed_on",
            "before_death",
            "the review must not be dated before the death",
        );
    }
    let committee = v.optional_text("committee", input.committee.as_deref(), 200);
    let cause_group = match input.cause_group {
        None => None,
        Some(g) if (1..=8).contains(&g) => Some(g),
        Some(_) => {
            v.add(
                "cause_group",
                "out_of_range",
                "must be an ICD-MM group from 1 to 8",
            );
            None
        }
    };
    let underlying_cause =
        v.optional_text("underlying_cause", input.underlying_cause.as_deref(), 500);
    let contributing_conditions = v.optional_text(
        "contributing_conditions",
        input.contributing_conditions.as_deref(),
        2000,
    );
    let avoidable = match input.avoidable.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(a) if AVOIDABLE.contains(&a) => Some(a.to_string()),
        Some(_) => {
            v.add(
                "avoidable",
                "invalid_choice",
                "must be yes, no or undetermined",
            );
            None
        }
    };
    let notes = v.optional_text("notes", input.notes.as_deref(), 4000);
    let delay_seeking = input.delay_seeking.unwrap_or(false);
    let delay_reaching = input.delay_reaching.unwrap_or(false);
    let delay_receiving = input.delay_receiving.unwrap_or(false);

    let review_date_given = input
        .reviewed_on
        .as_deref()
        .is_some_and(|s| !s.trim().is_empty());
    if review_date_given {
        // A review counted by the indicators must say what it found.
        if committee.is_none() && !v.has("committee") {
            v.add(
                "committee",
                "required",
                "is required once the review is recorded",
            );
        }
        if input.cause_group.is_none() {
            v.add(
                "cause_group",
                "required",
                "is required once the review is recorded",
            );
        }
        if input
            .avoidable
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
        {
            v.add(
                "avoidable",
                "required",
                "is required once the review is recorded",
            );
        }
    } else {
        let findings = committee.is_some()
            || input.cause_group.is_some()
            || underlying_cause.is_some()
            || contributing_conditions.is_some()
            || avoidable.is_some()
            || delay_seeking
            || delay_reaching
            || delay_receiving;
        if findings {
            v.add(
                "reviewed_on",
                "review_date_needed",
                "give the review date with the review's findings",
            );
        }
    }
    Ok(Valid {
        facility_id,
        death_type,
        notified_on: notified.map(day_text).unwrap_or_default(),
        died_on: died.map(day_text).unwrap_or_default(),
        reviewed_on: reviewed.map(day_text),
        committee,
        cause_group,
        underlying_cause,
        contributing_conditions,
        delay_seeking,
        delay_reaching,
        delay_receiving,
        avoidable,
        notes,
    })
}

// ---------------------------------------------------------------------------------------------
// Recording and changing

/// Records a death notification (and the review's findings, if already held) for the actor's
/// organisation.
pub async fn create(db: &Db, actor: &Actor, input: &DeathReviewInput) -> AppResult<DeathReview> {
    if !can_create(actor) {
        return Err(AppError::Forbidden);
    }
    let mut v = Validator::new();
    let valid = validate(db, actor, input, None, &mut v).await?;
    v.finish()?;
    let now = crate::time::now();
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO death_reviews (organisation_id, facility_id, death_type, notified_on,
            died_on, reviewed_on, committee, cause_group, underlying_cause,
            contributing_conditions, delay_seeking, delay_reaching, delay_receiving, avoidable,
            notes, revision, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16, $17, $17)
         RETURNING id",
    )
    .bind(actor.organisation_id)
    .bind(valid.facility_id)
    .bind(&valid.death_type)
    .bind(&valid.notified_on)
    .bind(&valid.died_on)
    .bind(&valid.reviewed_on)
    .bind(&valid.committee)
    .bind(valid.cause_group)
    .bind(&valid.underlying_cause)
    .bind(&valid.contributing_conditions)
    .bind(i64::from(valid.delay_seeking))
    .bind(i64::from(valid.delay_reaching))
    .bind(i64::from(valid.delay_receiving))
    .bind(&valid.avoidable)
    .bind(&valid.notes)
    .bind(actor.user_id)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        Some(actor.organisation_id),
        "create",
        "death_review",
        id,
        None::<&()>,
        Some(&valid),
    )
    .await?;
    tx.commit().await?;
    load(db, id).await
}

fn changed_meanwhile() -> AppError {
    AppError::Conflict(
        "this death review was changed by someone else meanwhile; reload it and try again".into(),
    )
}

/// Replaces a review's fields with the input, based on `input.revision`.
pub async fn update(
    db: &Db,
    actor: &Actor,
    id: i64,
    input: &DeathReviewInput,
) -> AppResult<DeathReview> {
    let org = writable_org(db, actor, id).await?;
    let before = load(db, id).await?;
    let mut v = Validator::new();
    if input.revision.is_none() {
        v.add("revision", "required", "is required");
    }
    let valid = validate(db, actor, input, Some(before.summary.facility_id), &mut v).await?;
    v.finish()?;
    let revision = input.revision.unwrap_or_default();
    if revision != before.summary.revision {
        return Err(changed_meanwhile());
    }
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "UPDATE death_reviews SET facility_id = $1, death_type = $2, notified_on = $3,
            died_on = $4, reviewed_on = $5, committee = $6, cause_group = $7,
            underlying_cause = $8, contributing_conditions = $9, delay_seeking = $10,
            delay_reaching = $11, delay_receiving = $12, avoidable = $13, notes = $14,
            revision = revision + 1, updated_at = $15
         WHERE id = $16 AND revision = $17",
    )
    .bind(valid.facility_id)
    .bind(&valid.death_type)
    .bind(&valid.notified_on)
    .bind(&valid.died_on)
    .bind(&valid.reviewed_on)
    .bind(&valid.committee)
    .bind(valid.cause_group)
    .bind(&valid.underlying_cause)
    .bind(&valid.contributing_conditions)
    .bind(i64::from(valid.delay_seeking))
    .bind(i64::from(valid.delay_reaching))
    .bind(i64::from(valid.delay_receiving))
    .bind(&valid.avoidable)
    .bind(&valid.notes)
    .bind(crate::time::now())
    .bind(id)
    .bind(revision)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(changed_meanwhile());
    }
    audit::record(
        &mut tx,
        Some(actor),
        Some(org),
        "update",
        "death_review",
        id,
        Some(&before),
        Some(&valid),
    )
    .await?;
    tx.commit().await?;
    load(db, id).await
}

#[derive(Clone, Debug, Serialize)]
struct ValidRecommendation {
    description: String,
    owner: String,
    deadline: String,
    status: String,
    done_on: Option<String>,
}

/// Checks a recommendation against its review; `current` is the stored one on an update
/// (absent fields keep its values).
fn validate_recommendation(
    review: &DeathReview,
    input: &RecommendationInput,
    current: Option<&Recommendation>,
    v: &mut Validator,
) -> ValidRecommendation {
    let keep = |given: &Option<String>, stored: Option<&String>| -> Option<String> {
        given.clone().or_else(|| stored.cloned())
    };
    let description = v.required_text(
        "description",
        keep(&input.description, current.map(|c| &c.description)).as_deref(),
        1000,
    );
    let owner = v.required_text(
        "owner",
        keep(&input.owner, current.map(|c| &c.owner)).as_deref(),
        200,
    );
    let reviewed = review
        .summary
        .reviewed_on
        .as_deref()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
    let deadline_text = keep(&input.deadline, current.map(|c| &c.deadline)).unwrap_or_default();
    let deadline = match deadline_text.trim() {
        "" => {
            v.add("deadline", "required", "is required");
            None
        }
        s => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                v.add(
                    "deadline",
                    "invalid_date",
                    "must be a date written YYYY-MM-DD",
                );
                None
            }
        },
    };
    if let (Some(d), Some(r)) = (deadline, reviewed)
        && d < r
    {
        v.add(
            "deadline",
            "before_review",
            "the deadline must not be before the review",
        );
    }
    let status_text = input
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| current.map(|c| c.status.clone()))
        .unwrap_or_else(|| "open".into());
    let status = if RECOMMENDATION_STATUSES.contains(&status_text.as_str()) {
        status_text
    } else {
        v.add(
            "status",
            "invalid_choice",
            "must be open, in_progress, done or not_done",
        );
        String::new()
    };
    let done_on = if status == "done" {
        match input
            .done_on
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            // Marking done again without a date keeps the day it was first done.
            None => Some(
                current
                    .filter(|c| c.status == "done")
                    .and_then(|c| c.done_on.clone())
                    .unwrap_or_else(|| day_text(Utc::now().date_naive())),
            ),
            Some(_) => {
                let d = past_date(v, "done_on", input.done_on.as_deref(), false);
                if let (Some(d), Some(r)) = (d, reviewed)
                    && d < r
                {
                    v.add("done_on", "before_review", "must not be before the review");
                }
                d.map(day_text)
            }
        }
    } else {
        None
    };
    ValidRecommendation {
        description,
        owner,
        deadline: deadline.map(day_text).unwrap_or_default(),
        status,
        done_on,
    }
}

/// Adds a recommendation to a reviewed death.
pub async fn add_recommendation(
    db: &Db,
    actor: &Actor,
    review_id: i64,
    input: &RecommendationInput,
) -> AppResult<DeathReview> {
    let org = writable_org(db, actor, review_id).await?;
    let review = load(db, review_id).await?;
    let mut v = Validator::new();
    if review.summary.reviewed_on.is_none() {
        v.add(
            "reviewed_on",
            "not_reviewed",
            "record the review before its recommendations",
        );
    }
    if review.recommendation_list.len() as i64 >= MAX_RECOMMENDATIONS {
        v.add(
            "description",
            "too_many",
            format!("a review has at most {MAX_RECOMMENDATIONS} recommendations"),
        );
    }
    let valid = validate_recommendation(&review, input, None, &mut v);
    v.finish()?;
    let now = crate::time::now();
    let mut tx = db.begin().await?;
    let position: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(position), 0) + 1 FROM death_review_recommendations
         WHERE review_id = $1",
    )
    .bind(review_id)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO death_review_recommendations (review_id, position, description, owner,
            deadline, status, done_on, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(review_id)
    .bind(position)
    .bind(&valid.description)
    .bind(&valid.owner)
    .bind(&valid.deadline)
    .bind(&valid.status)
    .bind(&valid.done_on)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?;
    let after =
        serde_json::json!({"review_id": review_id, "position": position, "recommendation": valid});
    audit::record(
        &mut tx,
        Some(actor),
        Some(org),
        "create",
        "death_review_recommendation",
        id,
        None::<&()>,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    load(db, review_id).await
}

/// Changes a recommendation: its status (and the day it was done), and, when given, its
/// description, owner and deadline.
pub async fn update_recommendation(
    db: &Db,
    actor: &Actor,
    review_id: i64,
    recommendation_id: i64,
    input: &RecommendationInput,
) -> AppResult<DeathReview> {
    let org = writable_org(db, actor, review_id).await?;
    let review = load(db, review_id).await?;
    let current = review
        .recommendation_list
        .iter()
        .find(|r| r.id == recommendation_id)
        .ok_or(AppError::NotFound)?
        .clone();
    let mut v = Validator::new();
    let valid = validate_recommendation(&review, input, Some(&current), &mut v);
    v.finish()?;
    if valid.description == current.description
        && valid.owner == current.owner
        && valid.deadline == current.deadline
        && valid.status == current.status
        && valid.done_on == current.done_on
    {
        return Ok(review);
    }
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "UPDATE death_review_recommendations SET description = $1, owner = $2, deadline = $3,
            status = $4, done_on = $5, updated_at = $6
         WHERE id = $7 AND review_id = $8",
    )
    .bind(&valid.description)
    .bind(&valid.owner)
    .bind(&valid.deadline)
    .bind(&valid.status)
    .bind(&valid.done_on)
    .bind(crate::time::now())
    .bind(recommendation_id)
    .bind(review_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        Some(actor),
        Some(org),
        "update",
        "death_review_recommendation",
        recommendation_id,
        Some(&current),
        Some(&valid),
    )
    .await?;
    tx.commit().await?;
    load(db, review_id).await
}

/// Inserts a review as the demo loader describes it (no actor), with its audit entry, inside
/// the caller's transaction. Returns the new id.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_demo(
    tx: &mut Tx,
    organisation_id: i64,
    created_by: Option<i64>,
    facility_id: i64,
    death_type: &str,
    notified_on: &str,
    died_on: &str,
    review: Option<DemoFindings<'_>>,
) -> AppResult<i64> {
    let now = crate::time::now();
    let r = review.as_ref();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO death_reviews (organisation_id, facility_id, death_type, notified_on,
            died_on, reviewed_on, committee, cause_group, underlying_cause,
            contributing_conditions, delay_seeking, delay_reaching, delay_receiving, avoidable,
            notes, revision, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, 1, $15, $16, $16)
         RETURNING id",
    )
    .bind(organisation_id)
    .bind(facility_id)
    .bind(death_type)
    .bind(notified_on)
    .bind(died_on)
    .bind(r.map(|r| r.reviewed_on.as_str()))
    .bind(r.map(|r| r.committee.as_str()))
    .bind(r.map(|r| r.cause_group))
    .bind(r.map(|r| r.underlying_cause))
    .bind(r.map(|r| r.contributing_conditions))
    .bind(r.map_or(0, |r| i64::from(r.delays[0])))
    .bind(r.map_or(0, |r| i64::from(r.delays[1])))
    .bind(r.map_or(0, |r| i64::from(r.delays[2])))
    .bind(r.map(|r| r.avoidable))
    .bind(created_by)
    .bind(&now)
    .fetch_one(&mut **tx)
    .await?;
    let after = serde_json::json!({
        "facility_id": facility_id, "death_type": death_type, "notified_on": notified_on,
        "died_on": died_on, "reviewed_on": r.map(|r| r.reviewed_on.as_str()),
        "cause_group": r.map(|r| r.cause_group), "avoidable": r.map(|r| r.avoidable),
    });
    audit::record(
        tx,
        None,
        Some(organisation_id),
        "create",
        "death_review",
        id,
        None::<&()>,
        Some(&after),
    )
    .await?;
    if let Some(r) = r {
        for (n, rec) in r.recommendations.iter().enumerate() {
            sqlx::query(
                "INSERT INTO death_review_recommendations (review_id, position, description,
                    owner, deadline, status, done_on, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(n as i64 + 1)
            .bind(rec.description)
            .bind(rec.owner)
            .bind(&rec.deadline)
            .bind(rec.status)
            .bind(&rec.done_on)
            .bind(&now)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(id)
}

/// A demo review's findings.
pub(crate) struct DemoFindings<'a> {
    pub reviewed_on: String,
    pub committee: String,
    pub cause_group: i64,
    pub underlying_cause: &'a str,
    pub contributing_conditions: &'a str,
    pub delays: [bool; 3],
    pub avoidable: &'a str,
    pub recommendations: Vec<DemoRecommendation<'a>>,
}

pub(crate) struct DemoRecommendation<'a> {
    pub description: &'a str,
    pub owner: &'a str,
    pub deadline: String,
    pub status: &'a str,
    pub done_on: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cause_groups_are_numbered_one_to_eight() {
        for n in 1..=8 {
            assert!(cause_code(n).is_some());
        }
        assert_eq!(cause_code(3), Some("haemorrhage"));
        assert_eq!(cause_code(0), None);
        assert_eq!(cause_code(9), None);
    }
}
