//! Trainings: an organisation's training events (an initial LDHF course, a refresher), their
//! participants from the organisation's provider registry, attendance per day, and pre- and
//! post-tests scored by plugin checklists of the `training_test` kind.
//!
//! Rules, and why:
//! - Dates: `end_date >= start_date`, a training lasts at most [`MAX_DAYS`] days, and it may be
//!   planned ahead, so `start_date` may lie in the future, but not more than
//!   [`MAX_DAYS_AHEAD`] days ahead (anything further is almost certainly a typing mistake in
//!   the year). What cannot have happened yet is refused: a day attended after today, a
//!   pre-test before the first day, a post-test before the last day. "Today" is today
//!   somewhere on Earth, as for sessions.
//! - Place: a free-text venue (a hotel, a district office) or one facility, never both, so a
//!   training held at a facility is found by the facility and district filters.
//! - Participants: any provider of the organisation, at any facility; community cadres take
//!   part like any provider. A provider marked inactive can no longer be added, but stays on
//!   trainings they already took part in.
//! - Pass or fail is read from the post-test's score card: the participant passed when the
//!   card's outcome level is green (the plugin's own pass mark decides, e.g. 14 of 18 for the
//!   HBB knowledge check). No post-test, no verdict.
//! - Who may: org admins, mentors and admins record trainings for their organisation;
//!   managers only read. The user who recorded a training may correct it (its tests and
//!   attendance included) for `correction_window_days` counted from the later of the day it
//!   was recorded and the training's last day, so a training planned weeks ahead can still
//!   be completed; org admins may at any time.
//!
//! Submissions follow the same offline-safe contract as sessions: the client names the
//! training with a UUID; an identical re-send gets the stored training (200), a different
//! body under the same id is refused (409) and changes nothing. Every plugin scores before
//! the transaction opens, and one transaction writes the training, its participants,
//! attendance, scored tests and the audit entry.

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::authz::{Actor, Role};
use crate::config::Programme;
use crate::db::{Db, Tx, is_unique_violation};
use crate::domain::scoring::{self, ChecklistInput, Observation, Owner, ScoredChecklist, Version};
use crate::domain::sessions::latest_allowed_date;
pub use crate::domain::sessions::{Rescore, WithdrawInput};
use crate::domain::{Page, PageParams, audit, org_units};
use crate::error::{AppError, AppResult, Validator};
use crate::plugins::Registry;
use crate::plugins::model::{ChecklistKind, ScoreContext, Signal};

pub const MAX_PARTICIPANTS: usize = 300;
/// The longest training, in days (first and last day included).
pub const MAX_DAYS: i64 = 92;
/// How far ahead a training may be planned, in days.
pub const MAX_DAYS_AHEAD: i64 = 366;
/// What plugins are told the "session type" of a training test is.
pub const SCORE_CONTEXT_TYPE: &str = "training";

pub const PHASES: [&str; 2] = ["pre", "post"];

// ---------------------------------------------------------------------------------------------
// Inputs

/// A training as the client sends it. Every field is optional here so that a missing one is a
/// 422 naming it, not a deserialisation error.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrainingInput {
    /// A UUID the client generates once per training and keeps for every re-send.
    pub id: Option<String>,
    pub title: Option<String>,
    /// First day, `YYYY-MM-DD`; at most a year ahead.
    pub start_date: Option<String>,
    /// Last day, `YYYY-MM-DD`; not before `start_date`, at most 92 days after it.
    pub end_date: Option<String>,
    /// Where it takes place, when not at a facility. Give `venue` or `facility_id`, not both.
    pub venue: Option<String>,
    pub facility_id: Option<i64>,
    /// Who taught it.
    pub facilitators: Option<String>,
    #[serde(default)]
    pub participants: Vec<ParticipantInput>,
}

/// One participant: a provider of the organisation, the days attended and the tests taken.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ParticipantInput {
    pub provider_id: Option<i64>,
    /// Days attended, `YYYY-MM-DD`, within the training's dates and not after today.
    #[serde(default)]
    pub attendance: Vec<String>,
    /// A checklist of the `training_test` kind, taken on the first day.
    pub pre_test: Option<ChecklistInput>,
    /// A checklist of the `training_test` kind, taken on the last day.
    pub post_test: Option<ChecklistInput>,
}

/// A correction: the whole training as it should now read.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct TrainingCorrectionInput {
    #[serde(flatten)]
    pub training: TrainingInput,
    #[serde(default)]
    pub rescore: Rescore,
    /// Why it was corrected; kept in the audit log.
    pub reason: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Outputs

#[derive(Clone, Debug, Serialize, FromRow, ToSchema)]
pub struct TrainingSummary {
    pub id: String,
    pub organisation_id: i64,
    pub title: String,
    pub start_date: String,
    pub end_date: String,
    pub venue: Option<String>,
    pub facility_id: Option<i64>,
    pub facility_name: Option<String>,
    pub facilitators: String,
    /// `recorded` or `withdrawn`.
    pub status: String,
    /// 1 when recorded, one more for every change.
    pub revision: i64,
    pub participants: i64,
    pub created_by: i64,
    pub created_by_name: String,
    pub created_at: String,
    pub updated_at: String,
}

/// One participant's attendance and results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
pub struct ParticipantResult {
    pub provider_id: i64,
    pub name: String,
    pub cadre: String,
    pub facility_name: String,
    /// Days attended, `YYYY-MM-DD`, in order.
    pub attendance: Vec<String>,
    pub days_attended: i64,
    pub pre_tested: bool,
    pub post_tested: bool,
    /// The pre-test's score in percent, when its card has one.
    pub pre_percentage: Option<f64>,
    pub post_percentage: Option<f64>,
    /// Post minus pre, in percentage points; needs both scores.
    pub gain_points: Option<f64>,
    /// (post − pre) / pre as a ratio (0.5 = half as much again); none when pre is 0 or missing.
    pub relative_gain: Option<f64>,
    /// The post-test's verdict: passed when its outcome level is green. None without a post-test.
    pub passed: Option<bool>,
    /// The post-test's outcome code (e.g. `pass`, `fail`).
    pub post_outcome: Option<String>,
}

/// The event's results, computed from its participants.
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
pub struct TrainingResults {
    pub participants: i64,
    pub pre_tested: i64,
    pub post_tested: i64,
    /// Mean pre-test score in percent, over participants with a scored pre-test.
    pub mean_pre: Option<f64>,
    /// Mean post-test score in percent, over participants with a scored post-test.
    pub mean_post: Option<f64>,
    /// Mean of (post − pre) in percentage points, over participants with both scores.
    pub mean_gain: Option<f64>,
    pub passed: i64,
    /// Passed / participants with a post-test, in percent.
    pub pass_rate: Option<f64>,
    /// Training days so far: from the first day to the last, or to today if it runs on.
    pub days_so_far: i64,
    /// Days attended / (participants × days so far), in percent.
    pub attendance_rate: Option<f64>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Training {
    #[serde(flatten)]
    pub summary: TrainingSummary,
    pub withdrawn_reason: Option<String>,
    pub withdrawn_at: Option<String>,
    /// Every day of the training, `YYYY-MM-DD`, first to last.
    pub days: Vec<String>,
    pub participant_list: Vec<ParticipantResult>,
    pub results: TrainingResults,
    /// The scored tests; `phase` says `pre` or `post`.
    pub observation_list: Vec<Observation>,
}

impl Training {
    /// The stored test of a participant in a phase.
    pub fn test(&self, provider_id: i64, phase: &str) -> Option<&Observation> {
        self.observation_list
            .iter()
            .find(|o| o.provider_id == provider_id && o.phase.as_deref() == Some(phase))
    }

    /// The training as an input that would store it as it is: what a page pre-fills and what
    /// the content hash of a changed training is computed from.
    pub fn to_input(&self) -> TrainingInput {
        let test = |provider_id: i64, phase: &str| {
            self.test(provider_id, phase).map(|o| ChecklistInput {
                plugin_version_id: Some(o.plugin_version_id),
                checklist_id: Some(o.checklist_id.clone()),
                responses: o.responses.clone(),
            })
        };
        TrainingInput {
            id: Some(self.summary.id.clone()),
            title: Some(self.summary.title.clone()),
            start_date: Some(self.summary.start_date.clone()),
            end_date: Some(self.summary.end_date.clone()),
            venue: self.summary.venue.clone(),
            facility_id: self.summary.facility_id,
            facilitators: Some(self.summary.facilitators.clone()),
            participants: self
                .participant_list
                .iter()
                .map(|p| ParticipantInput {
                    provider_id: Some(p.provider_id),
                    attendance: p.attendance.clone(),
                    pre_test: test(p.provider_id, "pre"),
                    post_test: test(p.provider_id, "post"),
                })
                .collect(),
        }
    }
}

/// What a create did: stored a new training, or found the identical one already stored.
#[derive(Debug)]
pub enum Created {
    New(Training),
    Existing(Training),
}

// ---------------------------------------------------------------------------------------------
// The arithmetic

/// Gain of one participant: (points, ratio). Points need both scores; the ratio also needs a
/// pre-test above zero.
pub fn gains(pre: Option<f64>, post: Option<f64>) -> (Option<f64>, Option<f64>) {
    match (pre, post) {
        (Some(pre), Some(post)) => {
            let points = post - pre;
            let ratio = (pre > 0.0).then(|| points / pre);
            (Some(points), ratio)
        }
        _ => (None, None),
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0u32), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// The event's results from its participants' rows; `days_so_far` is how many of its days
/// have begun (the attendance rate's denominator per participant).
pub fn summarise(rows: &[ParticipantResult], days_so_far: i64) -> TrainingResults {
    let participants = rows.len() as i64;
    let pre_tested = rows.iter().filter(|r| r.pre_tested).count() as i64;
    let post_tested = rows.iter().filter(|r| r.post_tested).count() as i64;
    let passed = rows.iter().filter(|r| r.passed == Some(true)).count() as i64;
    let attended: i64 = rows.iter().map(|r| r.days_attended.min(days_so_far)).sum();
    TrainingResults {
        participants,
        pre_tested,
        post_tested,
        mean_pre: mean(rows.iter().filter_map(|r| r.pre_percentage)),
        mean_post: mean(rows.iter().filter_map(|r| r.post_percentage)),
        mean_gain: mean(rows.iter().filter_map(|r| r.gain_points)),
        passed,
        pass_rate: percent(passed, post_tested),
        days_so_far,
        attendance_rate: percent(attended, participants * days_so_far),
    }
}

/// How many days of `start..=end` have begun by `today`.
pub fn days_begun(start: NaiveDate, end: NaiveDate, today: NaiveDate) -> i64 {
    let last = end.min(today);
    if last < start {
        0
    } else {
        (last - start).num_days() + 1
    }
}

/// A participant's row from their attendance and stored tests.
fn participant_result(
    provider_id: i64,
    name: String,
    cadre: String,
    facility_name: String,
    attendance: Vec<String>,
    pre: Option<&Observation>,
    post: Option<&Observation>,
) -> ParticipantResult {
    let pre_percentage = pre.and_then(|o| o.card.percentage);
    let post_percentage = post.and_then(|o| o.card.percentage);
    let (gain_points, relative_gain) = gains(pre_percentage, post_percentage);
    ParticipantResult {
        provider_id,
        name,
        cadre,
        facility_name,
        days_attended: attendance.len() as i64,
        attendance,
        pre_tested: pre.is_some(),
        post_tested: post.is_some(),
        pre_percentage,
        post_percentage,
        gain_points,
        relative_gain,
        passed: post.map(|o| o.card.outcome.level == Signal::Green),
        post_outcome: post.map(|o| o.card.outcome.code.clone()),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

macro_rules! summary_columns {
    () => {
        "t.id, t.organisation_id, t.title, t.start_date, t.end_date, t.venue, t.facility_id,
         f.name AS facility_name, t.facilitators, t.status, t.revision,
         (SELECT COUNT(*) FROM training_participants tp WHERE tp.training_id = t.id) AS participants,
         t.created_by, u.display_name AS created_by_name, t.created_at, t.updated_at"
    };
}

macro_rules! summary_from {
    () => {
        " FROM trainings t JOIN users u ON u.id = t.created_by LEFT JOIN org_units f ON f.id = t.facility_id"
    };
}

macro_rules! list_conditions {
    () => {
        "
         WHERE ($1 IS NULL OR t.organisation_id = $1)
           AND ($2 IS NULL OR t.facility_id = $2)
           AND ($3 IS NULL OR f.path LIKE $3)
           AND ($4 IS NULL OR EXISTS (SELECT 1 FROM training_participants tp
                                      WHERE tp.training_id = t.id AND tp.provider_id = $4))
           AND ($5 IS NULL OR t.end_date >= $5)
           AND ($6 IS NULL OR t.start_date <= $6)
           AND ($7 IS NULL OR t.status = $7)"
    };
}

#[derive(Clone, Debug, FromRow)]
struct Stored {
    organisation_id: i64,
    created_by: i64,
    create_sha256: String,
    content_sha256: String,
    status: String,
    revision: i64,
    start_date: String,
    end_date: String,
    created_at: String,
    withdrawn_reason: Option<String>,
}

async fn stored(db: &Db, id: &str) -> AppResult<Option<Stored>> {
    Ok(sqlx::query_as(
        "SELECT organisation_id, created_by, create_sha256, content_sha256, status, revision,
                start_date, end_date, created_at, withdrawn_reason
         FROM trainings WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?)
}

/// A training the actor may read; another organisation's is "not found".
pub async fn get(db: &Db, actor: &Actor, id: &str) -> AppResult<Training> {
    let id = id.trim().to_ascii_lowercase();
    match stored(db, &id).await? {
        Some(s) if actor.can_read_org(s.organisation_id) => load(db, &id).await,
        _ => Err(AppError::NotFound),
    }
}

fn parse_stored_date(s: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| AppError::Internal(e.into()))
}

async fn load(db: &Db, id: &str) -> AppResult<Training> {
    let summary: TrainingSummary = sqlx::query_as(concat!(
        "SELECT ",
        summary_columns!(),
        summary_from!(),
        " WHERE t.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(AppError::NotFound)?;
    let (withdrawn_reason, withdrawn_at): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT withdrawn_reason, withdrawn_at FROM trainings WHERE id = $1")
            .bind(id)
            .fetch_one(db.pool())
            .await?;
    let people: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT p.id, p.name, p.cadre, f.name FROM training_participants tp
           JOIN providers p ON p.id = tp.provider_id JOIN org_units f ON f.id = p.facility_id
         WHERE tp.training_id = $1 ORDER BY p.name, p.id",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let mut attendance: HashMap<i64, Vec<String>> = HashMap::new();
    let days: Vec<(i64, String)> = sqlx::query_as(
        "SELECT provider_id, day FROM training_attendance WHERE training_id = $1
         ORDER BY provider_id, day",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    for (provider_id, day) in days {
        attendance.entry(provider_id).or_default().push(day);
    }
    let observation_list = scoring::load(db, Owner::Training { id, phase: "" }).await?;
    let find = |provider_id: i64, phase: &str| {
        observation_list
            .iter()
            .find(|o| o.provider_id == provider_id && o.phase.as_deref() == Some(phase))
    };
    let participant_list: Vec<ParticipantResult> = people
        .into_iter()
        .map(|(provider_id, name, cadre, facility)| {
            participant_result(
                provider_id,
                name,
                cadre,
                facility,
                attendance.remove(&provider_id).unwrap_or_default(),
                find(provider_id, "pre"),
                find(provider_id, "post"),
            )
        })
        .collect();
    let start = parse_stored_date(&summary.start_date)?;
    let end = parse_stored_date(&summary.end_date)?;
    let results = summarise(
        &participant_list,
        days_begun(start, end, latest_allowed_date()),
    );
    let days = start
        .iter_days()
        .take_while(|d| *d <= end)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect();
    Ok(Training {
        summary,
        withdrawn_reason,
        withdrawn_at,
        days,
        participant_list,
        results,
        observation_list,
    })
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
pub struct TrainingFilter {
    pub organisation_id: Option<i64>,
    /// Trainings held at this facility.
    pub facility_id: Option<i64>,
    /// Trainings held at facilities anywhere below this org unit (a district, a province).
    pub within: Option<i64>,
    /// Trainings this provider took part in.
    pub provider_id: Option<i64>,
    /// Trainings still running on or after this day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Trainings begun on or before this day, `YYYY-MM-DD`.
    pub to: Option<String>,
    /// `recorded` (the default), `withdrawn` or `all`.
    pub status: Option<String>,
    /// 1-based page number.
    pub page: Option<i64>,
    /// Items per page, at most 200.
    pub per_page: Option<i64>,
}

impl TrainingFilter {
    pub fn paging(&self) -> PageParams {
        PageParams {
            page: self.page,
            per_page: self.per_page,
        }
    }
}

/// Trainings the actor may see, latest first. A training matches a date range when the two
/// overlap.
pub async fn list(
    db: &Db,
    actor: &Actor,
    filter: &TrainingFilter,
    page: &PageParams,
) -> AppResult<Page<TrainingSummary>> {
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
    let from = crate::domain::sessions::date_filter(&mut v, "from", filter.from.as_deref());
    let to = crate::domain::sessions::date_filter(&mut v, "to", filter.to.as_deref());
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
    let items = sqlx::query_as(concat!(
        "SELECT ",
        summary_columns!(),
        summary_from!(),
        list_conditions!(),
        " ORDER BY t.start_date DESC, t.created_at DESC LIMIT $8 OFFSET $9"
    ))
    .bind(scope)
    .bind(filter.facility_id)
    .bind(&within)
    .bind(filter.provider_id)
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
    .bind(filter.provider_id)
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

#[derive(Clone, Debug)]
struct ValidParticipant {
    provider_id: i64,
    cadre: String,
    /// Sorted, without repeats.
    attendance: Vec<String>,
}

#[derive(Clone, Debug)]
struct Valid {
    title: String,
    start_date: String,
    end_date: String,
    venue: Option<String>,
    facility_id: Option<i64>,
    facilitators: String,
    participants: Vec<ValidParticipant>,
    /// Whether the first and last days have begun: tests need them.
    started: bool,
    ended: bool,
}

fn parse_day(v: &mut Validator, field: &str, value: Option<&str>) -> Option<NaiveDate> {
    let value = value.map(str::trim).unwrap_or("");
    if value.is_empty() {
        v.add(field, "required", "is required");
        return None;
    }
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
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

/// Checks days attended against the training's dates; returns them sorted.
fn check_attendance(
    v: &mut Validator,
    field: &str,
    days: &[String],
    dates: Option<(NaiveDate, NaiveDate)>,
    today: NaiveDate,
) -> Vec<String> {
    let mut out = BTreeSet::new();
    if days.len() as i64 > MAX_DAYS {
        v.add(field, "too_many", format!("at most {MAX_DAYS} days"));
        return Vec::new();
    }
    for (k, day) in days.iter().enumerate() {
        let f = format!("{field}[{k}]");
        let Ok(d) = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d") else {
            v.add(&f, "invalid_date", "must be a date written YYYY-MM-DD");
            continue;
        };
        if let Some((start, end)) = dates
            && (d < start || d > end)
        {
            v.add(&f, "outside_training", "is not one of the training's days");
            continue;
        }
        if d > today {
            v.add(&f, "future_date", "must not be in the future");
            continue;
        }
        if !out.insert(d) {
            v.add(&f, "duplicate", "this day is listed twice");
        }
    }
    out.into_iter().map(day_text).collect()
}

/// Checks the training's own fields and its participants; the tests need the plugins and are
/// checked by [`plan`]. `current` lists the participants of the training being corrected.
async fn validate(
    db: &Db,
    organisation_id: i64,
    input: &TrainingInput,
    current: &[i64],
    v: &mut Validator,
) -> AppResult<Valid> {
    let today = latest_allowed_date();
    let title = v.required_text("title", input.title.as_deref(), 200);
    let start = parse_day(v, "start_date", input.start_date.as_deref());
    let end = parse_day(v, "end_date", input.end_date.as_deref());
    if let Some(s) = start
        && s > today + Duration::days(MAX_DAYS_AHEAD)
    {
        v.add(
            "start_date",
            "too_far_ahead",
            format!("must be at most {MAX_DAYS_AHEAD} days ahead"),
        );
    }
    let dates = match (start, end) {
        (Some(s), Some(e)) if e < s => {
            v.add(
                "end_date",
                "before_start",
                "must not be before the start date",
            );
            None
        }
        (Some(s), Some(e)) if (e - s).num_days() + 1 > MAX_DAYS => {
            v.add(
                "end_date",
                "too_long",
                format!("a training lasts at most {MAX_DAYS} days"),
            );
            None
        }
        (Some(s), Some(e)) => Some((s, e)),
        _ => None,
    };
    let venue = v.optional_text("venue", input.venue.as_deref(), 200);
    match (&venue, input.facility_id) {
        (None, None) => v.add("venue", "venue_or_facility", "give a venue or a facility"),
        (Some(_), Some(_)) => v.add(
            "facility_id",
            "venue_or_facility",
            "give either a venue or a facility, not both",
        ),
        (None, Some(id)) => match org_units::find(db, id).await? {
            Some(u) if u.level == "facility" => {}
            Some(_) => v.add(
                "facility_id",
                "not_a_facility",
                "must be a facility, not a district or province",
            ),
            None => v.add("facility_id", "unknown", "no such facility"),
        },
        (Some(_), None) => {}
    }
    let facilitators = v.required_text("facilitators", input.facilitators.as_deref(), 500);

    if input.participants.len() > MAX_PARTICIPANTS {
        v.add(
            "participants",
            "too_many",
            format!("at most {MAX_PARTICIPANTS} participants"),
        );
    }
    let mut participants: Vec<ValidParticipant> = Vec::new();
    for (n, p) in input.participants.iter().take(MAX_PARTICIPANTS).enumerate() {
        let field = format!("participants[{n}].provider_id");
        let attendance = check_attendance(
            v,
            &format!("participants[{n}].attendance"),
            &p.attendance,
            dates,
            today,
        );
        let Some(provider_id) = p.provider_id else {
            v.add(&field, "required", "is required");
            continue;
        };
        if participants.iter().any(|q| q.provider_id == provider_id) {
            v.add(&field, "duplicate", "this provider is listed twice");
            continue;
        }
        let row: Option<(i64, String, i64)> =
            sqlx::query_as("SELECT organisation_id, cadre, active FROM providers WHERE id = $1")
                .bind(provider_id)
                .fetch_optional(db.pool())
                .await?;
        match row {
            // Another partner's provider is reported exactly like a missing one.
            Some((org, _, _)) if org != organisation_id => {
                v.add(&field, "unknown", "no such provider")
            }
            None => v.add(&field, "unknown", "no such provider"),
            Some((_, _, 0)) if !current.contains(&provider_id) => {
                v.add(&field, "inactive", "this provider is marked inactive")
            }
            Some((_, cadre, _)) => participants.push(ValidParticipant {
                provider_id,
                cadre,
                attendance,
            }),
        }
    }
    Ok(Valid {
        title,
        start_date: start.map(day_text).unwrap_or_default(),
        end_date: end.map(day_text).unwrap_or_default(),
        venue: if input.facility_id.is_some() {
            None
        } else {
            venue
        },
        facility_id: input.facility_id,
        facilitators,
        participants,
        started: start.is_some_and(|s| s <= today),
        ended: end.is_some_and(|e| e <= today),
    })
}

/// One test to score: who, which phase, and how.
struct PlannedTest {
    provider_id: i64,
    phase: &'static str,
    checked: scoring::Checked,
    context: ScoreContext,
    version: Version,
}

/// Resolves one test's checklist and checks its responses. `pinned` holds the plugin
/// versions the training's stored tests were scored with: a test naming one of them is
/// re-scored with it (or with the plugin's current version when `rescore` says so).
#[allow(clippy::too_many_arguments)]
async fn plan_test(
    registry: &Registry,
    organisation_id: i64,
    field: &str,
    input: &ChecklistInput,
    pinned: &[i64],
    rescore: Rescore,
    v: &mut Validator,
) -> AppResult<Option<(scoring::Checked, Version)>> {
    let mut version_id = input.plugin_version_id;
    let mut version = Version::Active;
    if let Some(id) = input.plugin_version_id
        && pinned.contains(&id)
    {
        match rescore {
            Rescore::Pinned => version = Version::Pinned,
            Rescore::Current => {
                version_id = registry.current_version_of(id).await?.or(Some(id));
            }
        }
    }
    let input = ChecklistInput {
        plugin_version_id: version_id,
        checklist_id: input.checklist_id.clone(),
        responses: input.responses.clone(),
    };
    let checked = match version {
        Version::Active => {
            scoring::check(
                registry,
                organisation_id,
                field,
                &input,
                &[ChecklistKind::TrainingTest],
                v,
            )
            .await?
        }
        Version::Pinned => {
            let checked = scoring::check_stored(registry, field, &input, v).await?;
            // The pinned version may declare other kinds too; a test must still be a test.
            match checked {
                Some(c) if c.checklist.checklist.kind != ChecklistKind::TrainingTest => {
                    v.add(
                        &format!("{field}.checklist_id"),
                        "wrong_checklist_kind",
                        "this checklist is not of a kind that can be used here",
                    );
                    None
                }
                other => other,
            }
        }
    };
    Ok(checked.map(|c| (c, version)))
}

fn context(valid: &Valid, cadre: &str, phase: &str, language: &str) -> ScoreContext {
    ScoreContext {
        session_type: SCORE_CONTEXT_TYPE.to_string(),
        mentee_cadre: cadre.to_string(),
        date: if phase == "pre" {
            valid.start_date.clone()
        } else {
            valid.end_date.clone()
        },
        language: language.to_string(),
    }
}

/// Checks every test of an input.
#[allow(clippy::too_many_arguments)]
async fn plan(
    registry: &Registry,
    organisation_id: i64,
    language: &str,
    input: &TrainingInput,
    valid: &Valid,
    pinned: &[i64],
    rescore: Rescore,
    v: &mut Validator,
) -> AppResult<Vec<PlannedTest>> {
    let mut out = Vec::new();
    for (n, p) in input.participants.iter().enumerate() {
        let Some(provider_id) = p.provider_id else {
            continue;
        };
        let Some(cadre) = valid
            .participants
            .iter()
            .find(|q| q.provider_id == provider_id)
            .map(|q| q.cadre.clone())
        else {
            continue; // already reported as a participant problem
        };
        for (phase, test) in [("pre", &p.pre_test), ("post", &p.post_test)] {
            let Some(test) = test else { continue };
            let field = format!("participants[{n}].{phase}_test");
            let date = if phase == "pre" {
                &valid.start_date
            } else {
                &valid.end_date
            };
            if date.is_empty() {
                continue; // the date itself is reported
            }
            if !date_allows_test(valid, phase) {
                add_not_yet(v, &field, phase);
                continue;
            }
            if let Some((checked, version)) =
                plan_test(registry, organisation_id, &field, test, pinned, rescore, v).await?
            {
                out.push(PlannedTest {
                    provider_id,
                    phase,
                    checked,
                    context: context(valid, &cadre, phase, language),
                    version,
                });
            }
        }
    }
    Ok(out)
}

fn date_allows_test(valid: &Valid, phase: &str) -> bool {
    if phase == "pre" {
        valid.started
    } else {
        valid.ended
    }
}

fn add_not_yet(v: &mut Validator, field: &str, phase: &str) {
    if phase == "pre" {
        v.add(
            field,
            "not_started",
            "a pre-test can be recorded once the training has begun",
        );
    } else {
        v.add(
            field,
            "not_ended",
            "a post-test can be recorded once the training's last day has come",
        );
    }
}

/// A scored test, ready to store.
struct ScoredTest {
    provider_id: i64,
    phase: &'static str,
    scored: ScoredChecklist,
}

async fn score(registry: &Registry, planned: Vec<PlannedTest>) -> AppResult<Vec<ScoredTest>> {
    let who: Vec<(i64, &'static str)> = planned.iter().map(|t| (t.provider_id, t.phase)).collect();
    let scored = scoring::score_all(
        registry,
        planned
            .into_iter()
            .map(|t| (t.checked, t.context, t.version))
            .collect(),
    )
    .await?;
    Ok(who
        .into_iter()
        .zip(scored)
        .map(|((provider_id, phase), scored)| ScoredTest {
            provider_id,
            phase,
            scored,
        })
        .collect())
}

/// The hash of a training's content. The input carries the record's own id, the same in every
/// revision, so it hashes like the rest.
fn content_sha256(normalised: &TrainingInput) -> AppResult<String> {
    scoring::body_sha256(normalised)
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Records a training on behalf of a signed-in user, or returns the identical one already
/// recorded under the same id.
pub async fn create(
    db: &Db,
    registry: &Registry,
    actor: &Actor,
    input: &TrainingInput,
) -> AppResult<Created> {
    if !actor.can_write_org_records(actor.organisation_id) {
        return Err(AppError::Forbidden);
    }
    create_as(
        db,
        registry,
        Some(actor),
        actor.organisation_id,
        actor.user_id,
        input,
    )
    .await
}

/// Records a training for `organisation_id`, authored by user `created_by`. With an actor the
/// caller has checked that the actor may; without one (the demo loader, an import) the
/// audit entry names no actor and the plugins score in English.
pub async fn create_as(
    db: &Db,
    registry: &Registry,
    actor: Option<&Actor>,
    organisation_id: i64,
    created_by: i64,
    input: &TrainingInput,
) -> AppResult<Created> {
    let mut id_check = Validator::new();
    let id = scoring::parse_uuid(&mut id_check, "id", input.id.as_deref());
    id_check.finish()?;
    let mut normalised = input.clone();
    normalised.id = Some(id.clone());
    let create_sha256 = scoring::body_sha256(&normalised)?;
    if let Some(existing) = existing(db, actor, &id, &normalised).await? {
        return Ok(Created::Existing(existing));
    }

    let language = actor.map(|a| a.language.as_str()).unwrap_or("en");
    let mut v = Validator::new();
    let valid = validate(db, organisation_id, input, &[], &mut v).await?;
    let planned = plan(
        registry,
        organisation_id,
        language,
        input,
        &valid,
        &[],
        Rescore::Pinned,
        &mut v,
    )
    .await?;
    v.finish()?;
    let scored = score(registry, planned).await?;

    let now = crate::time::now();
    let mut tx = db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO trainings (id, organisation_id, title, start_date, end_date, venue, facility_id,
            facilitators, create_sha256, content_sha256, status, revision, created_by, created_at,
            updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'recorded', 1, $11, $12, $12)",
    )
    .bind(&id)
    .bind(organisation_id)
    .bind(&valid.title)
    .bind(&valid.start_date)
    .bind(&valid.end_date)
    .bind(&valid.venue)
    .bind(valid.facility_id)
    .bind(&valid.facilitators)
    .bind(&create_sha256)
    // A new record's content is the body it was created with.
    .bind(&create_sha256)
    .bind(created_by)
    .bind(&now)
    .execute(&mut *tx)
    .await;
    if let Err(e) = inserted {
        if is_unique_violation(&e) {
            // A concurrent duplicate won the race: answer as if this were the re-send.
            // Settled first: the winner may still be waiting for its group's commit.
            tx.settle().await?;
            return match existing(db, actor, &id, &normalised).await? {
                Some(t) => Ok(Created::Existing(t)),
                None => Err(AppError::Internal(anyhow::anyhow!(
                    "training {id} vanished after a unique violation"
                ))),
            };
        }
        return Err(e.into());
    }
    write_children(&mut tx, &id, &valid, &scored).await?;
    let after = audit_snapshot(&id, &valid, &scored);
    audit::record(
        &mut tx,
        actor,
        Some(organisation_id),
        "create",
        "training",
        &id,
        None::<&()>,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(Created::New(load(db, &id).await?))
}

/// The stored training under `id`: `Some` if the body is identical, a conflict if not.
async fn existing(
    db: &Db,
    actor: Option<&Actor>,
    id: &str,
    normalised: &TrainingInput,
) -> AppResult<Option<Training>> {
    let Some(s) = stored(db, id).await? else {
        return Ok(None);
    };
    if scoring::same_body(&s.create_sha256, normalised)?
        && actor.is_none_or(|a| a.can_read_org(s.organisation_id))
    {
        return Ok(Some(load(db, id).await?));
    }
    Err(AppError::Conflict(format!(
        "a different training was already submitted under id {id}; nothing was changed (use a new id for a new training, or PUT /api/v1/trainings/{id} to correct it)"
    )))
}

async fn write_children(
    tx: &mut Tx,
    id: &str,
    valid: &Valid,
    scored: &[ScoredTest],
) -> AppResult<()> {
    for p in &valid.participants {
        sqlx::query("INSERT INTO training_participants (training_id, provider_id) VALUES ($1, $2)")
            .bind(id)
            .bind(p.provider_id)
            .execute(&mut **tx)
            .await?;
    }
    write_attendance(tx, id, &valid.participants).await?;
    for t in scored {
        insert_test(tx, id, valid, t).await?;
    }
    Ok(())
}

async fn write_attendance(
    tx: &mut Tx,
    id: &str,
    participants: &[ValidParticipant],
) -> AppResult<()> {
    for p in participants {
        for day in &p.attendance {
            sqlx::query(
                "INSERT INTO training_attendance (training_id, provider_id, day) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(p.provider_id)
            .bind(day)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

async fn insert_test(tx: &mut Tx, id: &str, valid: &Valid, t: &ScoredTest) -> AppResult<i64> {
    let (position, day) = if t.phase == "pre" {
        (0, &valid.start_date)
    } else {
        (1, &valid.end_date)
    };
    scoring::insert(
        tx,
        Owner::Training { id, phase: t.phase },
        position,
        t.provider_id,
        day,
        &t.scored,
    )
    .await
    .map(|(id, _)| id)
}

fn test_snapshot(t: &ScoredTest) -> serde_json::Value {
    let s = &t.scored;
    serde_json::json!({
        "provider_id": t.provider_id,
        "phase": t.phase,
        "plugin_version_id": s.scored.plugin_version_id,
        "plugin_key": s.scored.plugin_key,
        "plugin_version": s.scored.plugin_version,
        "plugin_sha256": s.scored.sha256,
        "checklist_id": s.checked.checklist.checklist.id,
        "responses": s.checked.responses,
        "percentage": s.card.percentage,
        "outcome": s.card.outcome.code,
    })
}

fn audit_snapshot(id: &str, valid: &Valid, scored: &[ScoredTest]) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "title": valid.title,
        "start_date": valid.start_date,
        "end_date": valid.end_date,
        "venue": valid.venue,
        "facility_id": valid.facility_id,
        "facilitators": valid.facilitators,
        "participants": valid.participants.iter().map(|p| serde_json::json!({
            "provider_id": p.provider_id,
            "attendance": p.attendance,
        })).collect::<Vec<_>>(),
        "tests": scored.iter().map(test_snapshot).collect::<Vec<_>>(),
    })
}

/// Whether the actor may change this training now.
fn may_change(actor: &Actor, s: &Stored, programme: &Programme) -> AppResult<()> {
    if !actor.can_read_org(s.organisation_id) {
        return Err(AppError::NotFound);
    }
    match actor.role {
        Role::Admin => Ok(()),
        Role::OrgAdmin if actor.organisation_id == s.organisation_id => Ok(()),
        Role::Mentor
            if actor.organisation_id == s.organisation_id && actor.user_id == s.created_by =>
        {
            let created = chrono::DateTime::parse_from_rfc3339(&s.created_at)
                .map_err(|e| AppError::Internal(e.into()))?
                .with_timezone(&Utc);
            let after_last_day = parse_stored_date(&s.end_date)?
                .succ_opt()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
                .unwrap_or(created);
            let since = created.max(after_last_day);
            if Utc::now() - since <= Duration::days(programme.correction_window_days) {
                Ok(())
            } else {
                Err(AppError::Conflict(format!(
                    "trainings can be changed by whoever recorded them for {} days after their last day; ask your organisation's admin",
                    programme.correction_window_days
                )))
            }
        }
        _ => Err(AppError::Forbidden),
    }
}

/// Whether the actor may change this training now (pages use it to show the edit links).
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

/// The stored training, checked for being changeable by the actor now.
async fn changeable(db: &Db, actor: &Actor, id: &str, programme: &Programme) -> AppResult<Stored> {
    let current = stored(db, id).await?.ok_or(AppError::NotFound)?;
    may_change(actor, &current, programme)?;
    if current.status != "recorded" {
        return Err(AppError::Conflict(
            "this training was withdrawn and can no longer be changed".into(),
        ));
    }
    Ok(current)
}

fn changed_meanwhile() -> AppError {
    AppError::Conflict(
        "this training was changed by someone else meanwhile; reload it and try again".into(),
    )
}

/// Bumps the revision the change was based on; a conflict if someone else changed it first.
async fn bump(tx: &mut Tx, id: &str, revision: i64, content: &str) -> AppResult<()> {
    let n = sqlx::query(
        "UPDATE trainings SET content_sha256 = $1, revision = revision + 1, updated_at = $2
         WHERE id = $3 AND revision = $4 AND status = 'recorded'",
    )
    .bind(content)
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

/// Replaces a training's content, re-scoring its tests. A body identical to the current
/// content changes nothing (so a re-sent correction is harmless).
pub async fn correct(
    db: &Db,
    registry: &Registry,
    programme: &Programme,
    actor: &Actor,
    id: &str,
    input: &TrainingCorrectionInput,
) -> AppResult<Training> {
    let id = id.trim().to_ascii_lowercase();
    let current = changeable(db, actor, &id, programme).await?;
    let mut v = Validator::new();
    if let Some(body_id) = input
        .training
        .id
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        && body_id.trim().to_ascii_lowercase() != id
    {
        v.add("id", "mismatch", "must match the training being corrected");
    }
    let reason = v.optional_text("reason", input.reason.as_deref(), 500);
    let mut normalised = input.training.clone();
    normalised.id = Some(id.clone());
    let content = content_sha256(&normalised)?;
    if scoring::same_content(
        &current.content_sha256,
        &normalised,
        |c: &mut TrainingInput| c.id = None,
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
    let members: Vec<i64> = before
        .participant_list
        .iter()
        .map(|p| p.provider_id)
        .collect();
    let valid = validate(
        db,
        current.organisation_id,
        &input.training,
        &members,
        &mut v,
    )
    .await?;
    let planned = plan(
        registry,
        current.organisation_id,
        &actor.language,
        &input.training,
        &valid,
        &pinned,
        input.rescore,
        &mut v,
    )
    .await?;
    v.finish()?;
    let scored = score(registry, planned).await?;

    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "UPDATE trainings SET title = $1, start_date = $2, end_date = $3, venue = $4,
            facility_id = $5, facilitators = $6, content_sha256 = $7, revision = revision + 1,
            updated_at = $8
         WHERE id = $9 AND revision = $10 AND status = 'recorded'",
    )
    .bind(&valid.title)
    .bind(&valid.start_date)
    .bind(&valid.end_date)
    .bind(&valid.venue)
    .bind(valid.facility_id)
    .bind(&valid.facilitators)
    .bind(&content)
    .bind(crate::time::now())
    .bind(&id)
    .bind(current.revision)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(changed_meanwhile());
    }
    sqlx::query("DELETE FROM training_attendance WHERE training_id = $1")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM training_participants WHERE training_id = $1")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    scoring::delete(&mut tx, Owner::Training { id: &id, phase: "" }).await?;
    write_children(&mut tx, &id, &valid, &scored).await?;
    let mut after = audit_snapshot(&id, &valid, &scored);
    after["reason"] = serde_json::json!(reason);
    after["rescore"] = serde_json::json!(input.rescore);
    audit::record(
        &mut tx,
        Some(actor),
        Some(current.organisation_id),
        "correct",
        "training",
        &id,
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    load(db, &id).await
}

/// Records (or replaces) one participant's pre- or post-test, scored at once. Errors name
/// `provider_id`, `phase` and `test.checklist_id` / `test.responses.<item>`. A test naming
/// the plugin version the participant's stored test was scored with is re-scored with it.
#[allow(clippy::too_many_arguments)]
pub async fn record_test(
    db: &Db,
    registry: &Registry,
    programme: &Programme,
    actor: &Actor,
    id: &str,
    provider_id: i64,
    phase: &str,
    test: &ChecklistInput,
) -> AppResult<Training> {
    let id = id.trim().to_ascii_lowercase();
    let current = changeable(db, actor, &id, programme).await?;
    let before = load(db, &id).await?;
    let mut v = Validator::new();
    let Some(phase) = PHASES.iter().copied().find(|p| *p == phase) else {
        return Err(AppError::field(
            "phase",
            "invalid_choice",
            "must be pre or post",
        ));
    };
    let Some(participant) = before
        .participant_list
        .iter()
        .find(|p| p.provider_id == provider_id)
    else {
        return Err(AppError::field(
            "provider_id",
            "not_a_participant",
            "this provider is not a participant of this training",
        ));
    };
    let today = latest_allowed_date();
    let started = parse_stored_date(&current.start_date)? <= today;
    let ended = parse_stored_date(&current.end_date)? <= today;
    if (phase == "pre" && !started) || (phase == "post" && !ended) {
        let mut early = Validator::new();
        add_not_yet(&mut early, "test", phase);
        early.finish()?;
    }
    let old = before.test(provider_id, phase);
    // A form submitted twice: the same test again changes nothing.
    if let Some(o) = old
        && test.plugin_version_id == Some(o.plugin_version_id)
        && test.checklist_id.as_deref() == Some(o.checklist_id.as_str())
        && test.responses == o.responses
    {
        return Ok(before);
    }
    let pinned: Vec<i64> = old.map(|o| o.plugin_version_id).into_iter().collect();
    let planned = plan_test(
        registry,
        current.organisation_id,
        "test",
        test,
        &pinned,
        Rescore::Pinned,
        &mut v,
    )
    .await?;
    v.finish()?;
    let Some((checked, version)) = planned else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "a checklist was neither checked nor refused"
        )));
    };
    let valid_dates = Valid {
        title: String::new(),
        start_date: current.start_date.clone(),
        end_date: current.end_date.clone(),
        venue: None,
        facility_id: None,
        facilitators: String::new(),
        participants: Vec::new(),
        started,
        ended,
    };
    let scored = score(
        registry,
        vec![PlannedTest {
            provider_id,
            phase,
            checked,
            context: context(&valid_dates, &participant.cadre, phase, &actor.language),
            version,
        }],
    )
    .await?;
    let Some(scored) = scored.into_iter().next() else {
        return Err(AppError::Internal(anyhow::anyhow!("a test went unscored")));
    };

    // The content hash follows the training as it will read, so a later correction that
    // sends exactly this content is recognised as changing nothing.
    let mut content = before.to_input();
    if let Some(p) = content
        .participants
        .iter_mut()
        .find(|p| p.provider_id == Some(provider_id))
    {
        let input = Some(ChecklistInput {
            plugin_version_id: Some(scored.scored.scored.plugin_version_id),
            checklist_id: Some(scored.scored.checked.checklist.checklist.id.clone()),
            responses: scored.scored.checked.responses.clone(),
        });
        if phase == "pre" {
            p.pre_test = input;
        } else {
            p.post_test = input;
        }
    }
    let mut tx = db.begin().await?;
    bump(&mut tx, &id, current.revision, &content_sha256(&content)?).await?;
    delete_test(&mut tx, &id, provider_id, phase).await?;
    insert_test(&mut tx, &id, &valid_dates, &scored).await?;
    audit::record(
        &mut tx,
        Some(actor),
        Some(current.organisation_id),
        "record_test",
        "training",
        &id,
        old,
        Some(&test_snapshot(&scored)),
    )
    .await?;
    tx.commit().await?;
    load(db, &id).await
}

async fn delete_test(tx: &mut Tx, id: &str, provider_id: i64, phase: &str) -> AppResult<()> {
    sqlx::query(
        "DELETE FROM observation_metrics WHERE observation_id IN
           (SELECT id FROM observations WHERE training_id = $1 AND provider_id = $2 AND phase = $3)",
    )
    .bind(id)
    .bind(provider_id)
    .bind(phase)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "DELETE FROM observations WHERE training_id = $1 AND provider_id = $2 AND phase = $3",
    )
    .bind(id)
    .bind(provider_id)
    .bind(phase)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Replaces the attendance of the training's participants: `days` lists, per provider, every
/// day attended; a participant not listed keeps no days. Errors name `attendance[<n>]`.
pub async fn set_attendance(
    db: &Db,
    programme: &Programme,
    actor: &Actor,
    id: &str,
    days: &[(i64, Vec<String>)],
) -> AppResult<Training> {
    let id = id.trim().to_ascii_lowercase();
    let current = changeable(db, actor, &id, programme).await?;
    let before = load(db, &id).await?;
    let dates = (
        parse_stored_date(&current.start_date)?,
        parse_stored_date(&current.end_date)?,
    );
    let today = latest_allowed_date();
    let mut v = Validator::new();
    let mut participants: Vec<ValidParticipant> = Vec::new();
    for (n, (provider_id, list)) in days.iter().enumerate() {
        let field = format!("attendance[{n}]");
        if !before
            .participant_list
            .iter()
            .any(|p| p.provider_id == *provider_id)
        {
            v.add(
                &format!("{field}.provider_id"),
                "not_a_participant",
                "this provider is not a participant of this training",
            );
            continue;
        }
        if participants.iter().any(|p| p.provider_id == *provider_id) {
            v.add(
                &format!("{field}.provider_id"),
                "duplicate",
                "this provider is listed twice",
            );
            continue;
        }
        let attendance = check_attendance(&mut v, &field, list, Some(dates), today);
        participants.push(ValidParticipant {
            provider_id: *provider_id,
            cadre: String::new(),
            attendance,
        });
    }
    v.finish()?;
    let unchanged = before.participant_list.iter().all(|p| {
        let wanted = participants
            .iter()
            .find(|q| q.provider_id == p.provider_id)
            .map(|q| q.attendance.as_slice())
            .unwrap_or(&[]);
        wanted == p.attendance.as_slice()
    });
    if unchanged {
        return Ok(before);
    }
    let mut content = before.to_input();
    for p in &mut content.participants {
        p.attendance = participants
            .iter()
            .find(|q| Some(q.provider_id) == p.provider_id)
            .map(|q| q.attendance.clone())
            .unwrap_or_default();
    }
    let before_days: HashMap<i64, &Vec<String>> = before
        .participant_list
        .iter()
        .map(|p| (p.provider_id, &p.attendance))
        .collect();
    let after_days: HashMap<i64, &Vec<String>> = participants
        .iter()
        .map(|p| (p.provider_id, &p.attendance))
        .collect();
    let mut tx = db.begin().await?;
    bump(&mut tx, &id, current.revision, &content_sha256(&content)?).await?;
    sqlx::query("DELETE FROM training_attendance WHERE training_id = $1")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    write_attendance(&mut tx, &id, &participants).await?;
    audit::record(
        &mut tx,
        Some(actor),
        Some(current.organisation_id),
        "attendance",
        "training",
        &id,
        Some(&serde_json::json!({ "attendance": before_days })),
        Some(&serde_json::json!({ "attendance": after_days })),
    )
    .await?;
    tx.commit().await?;
    load(db, &id).await
}

/// Withdraws a training: it stays on record, marked withdrawn with the reason. Withdrawing
/// again with the same reason changes nothing.
pub async fn withdraw(
    db: &Db,
    programme: &Programme,
    actor: &Actor,
    id: &str,
    input: &WithdrawInput,
) -> AppResult<Training> {
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
            "this training is already withdrawn".into(),
        ));
    }
    may_change(actor, &current, programme)?;
    let before = load(db, &id).await?;
    let now = crate::time::now();
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "UPDATE trainings SET status = 'withdrawn', withdrawn_reason = $1, withdrawn_at = $2,
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
        return Err(changed_meanwhile());
    }
    audit::record(
        &mut tx,
        Some(actor),
        Some(current.organisation_id),
        "withdraw",
        "training",
        &id,
        Some(&before.summary),
        Some(&serde_json::json!({"status": "withdrawn", "reason": reason})),
    )
    .await?;
    tx.commit().await?;
    load(db, &id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        pre: Option<f64>,
        post: Option<f64>,
        passed: Option<bool>,
        days: i64,
    ) -> ParticipantResult {
        let (gain_points, relative_gain) = gains(pre, post);
        ParticipantResult {
            days_attended: days,
            pre_tested: pre.is_some(),
            post_tested: passed.is_some(),
            pre_percentage: pre,
            post_percentage: post,
            gain_points,
            relative_gain,
            passed,
            ..Default::default()
        }
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn gains_need_both_scores_and_a_positive_pre_for_the_ratio() {
        assert_eq!(gains(Some(50.0), Some(75.0)), (Some(25.0), Some(0.5)));
        assert_eq!(gains(Some(80.0), Some(60.0)), (Some(-20.0), Some(-0.25)));
        assert_eq!(gains(Some(0.0), Some(40.0)), (Some(40.0), None));
        assert_eq!(gains(None, Some(40.0)), (None, None));
        assert_eq!(gains(Some(40.0), None), (None, None));
        // The published LDHF knowledge result: 74 → 87 %.
        let (points, ratio) = gains(Some(74.0), Some(87.0));
        assert!(close(points, 13.0));
        assert!(close(ratio, 13.0 / 74.0));
    }

    #[test]
    fn an_empty_training_has_no_means_and_no_rates() {
        let r = summarise(&[], 3);
        assert_eq!(r.participants, 0);
        assert_eq!(r.mean_pre, None);
        assert_eq!(r.mean_post, None);
        assert_eq!(r.mean_gain, None);
        assert_eq!(r.pass_rate, None);
        assert_eq!(r.attendance_rate, None);
        // Participants but no tests yet, and a training that has not begun.
        let r = summarise(&[row(None, None, None, 0)], 0);
        assert_eq!(r.participants, 1);
        assert_eq!((r.pre_tested, r.post_tested, r.passed), (0, 0, 0));
        assert_eq!((r.mean_pre, r.mean_gain, r.pass_rate), (None, None, None));
        assert_eq!(r.attendance_rate, None);
    }

    #[test]
    fn means_are_over_those_with_the_scores_and_the_gain_over_those_with_both() {
        let rows = [
            row(Some(50.0), Some(100.0), Some(true), 3),
            row(Some(70.0), Some(80.0), Some(false), 2),
            row(Some(90.0), None, None, 1),
            row(None, Some(60.0), Some(false), 0),
        ];
        let r = summarise(&rows, 3);
        assert_eq!((r.participants, r.pre_tested, r.post_tested), (4, 3, 3));
        assert!(close(r.mean_pre, 70.0));
        assert!(close(r.mean_post, 80.0));
        // Only the first two have both: gains 50 and 10.
        assert!(close(r.mean_gain, 30.0));
        assert_eq!(r.passed, 1);
        assert!(close(r.pass_rate, 100.0 / 3.0));
        // 6 of 4 × 3 participant-days.
        assert!(close(r.attendance_rate, 50.0));
    }

    #[test]
    fn a_test_without_a_percentage_still_counts_as_taken() {
        let mut r = row(None, None, Some(true), 1);
        r.pre_tested = true;
        let s = summarise(&[r], 1);
        assert_eq!((s.pre_tested, s.post_tested, s.passed), (1, 1, 1));
        assert_eq!(s.mean_pre, None);
        assert!(close(s.pass_rate, 100.0));
        assert!(close(s.attendance_rate, 100.0));
    }

    #[test]
    fn days_begun_counts_only_days_that_have_come() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            days_begun(d("2026-03-02"), d("2026-03-04"), d("2026-03-10")),
            3
        );
        assert_eq!(
            days_begun(d("2026-03-02"), d("2026-03-04"), d("2026-03-03")),
            2
        );
        assert_eq!(
            days_begun(d("2026-03-02"), d("2026-03-04"), d("2026-03-01")),
            0
        );
        assert_eq!(
            days_begun(d("2026-03-02"), d("2026-03-02"), d("2026-03-02")),
            1
        );
    }

    #[test]
    fn attendance_is_checked_against_the_dates() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let mut v = Validator::new();
        let days: Vec<String> = [
            "2026-03-03",
            "2026-03-02",
            "2026-03-05",
            "2026-03-03",
            "soon",
            "2026-03-04",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let kept = check_attendance(
            &mut v,
            "participants[0].attendance",
            &days,
            Some((d("2026-03-02"), d("2026-03-04"))),
            d("2026-03-03"),
        );
        assert_eq!(kept, vec!["2026-03-02", "2026-03-03"]);
        let errors = match v.finish() {
            Err(AppError::Validation(e)) => e,
            other => panic!("{other:?}"),
        };
        let named: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            named,
            vec![
                ("participants[0].attendance[2]", "outside_training"),
                ("participants[0].attendance[3]", "duplicate"),
                ("participants[0].attendance[4]", "invalid_date"),
                ("participants[0].attendance[5]", "future_date"),
            ]
        );
    }
}
