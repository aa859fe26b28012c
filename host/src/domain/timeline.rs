//! Following providers over time: one provider's sessions and trainings with their scores per
//! checklist, when each provider's next LDHF session is due, a facility's quarter, and a
//! mentor's follow-ups.
//!
//! Everything here is read-only and derived from the stored sessions, trainings and
//! observations; withdrawn sessions and trainings never count. What an actor sees follows the
//! usual rule: their organisation's records (every organisation's for admins and managers).
//! Trainings are read straight from their tables so this module does not depend on the
//! trainings code.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use crate::authz::Actor;
use crate::config::Programme;
use crate::db::Db;
use crate::domain::PageParams;
use crate::domain::org_units::{self, OrgUnit};
use crate::domain::providers::{self, Provider};
use crate::domain::sessions::{self, SessionFilter, SessionSummary};
use crate::error::{AppError, AppResult};
use crate::plugins::model::{Localized, Outcome};

/// The date "today" is judged by for due dates.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn parse_ymd(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

// ---------------------------------------------------------------------------------------------
// Due dates

/// When a provider's next LDHF session is due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Due {
    /// Date of the provider's latest recorded session, `YYYY-MM-DD`.
    pub last_session_date: Option<String>,
    /// The last session's date plus the programme's interval; absent when never mentored.
    pub next_due: Option<String>,
    /// The due date has passed.
    pub overdue: bool,
    /// Days since the due date when overdue, else 0.
    pub days_overdue: i64,
    /// No recorded session yet: the first one is due now.
    pub never_mentored: bool,
    /// `never`, `overdue`, `due_today` or `upcoming`.
    pub status: String,
}

impl Due {
    pub fn compute(last_session_date: Option<&str>, interval_days: i64, today: NaiveDate) -> Due {
        let next = last_session_date
            .and_then(parse_ymd)
            .map(|d| d + Duration::days(interval_days));
        let (status, days_overdue) = match next {
            None => ("never", 0),
            Some(n) if n < today => ("overdue", (today - n).num_days()),
            Some(n) if n == today => ("due_today", 0),
            Some(_) => ("upcoming", 0),
        };
        Due {
            last_session_date: last_session_date.map(str::to_string),
            next_due: next.map(ymd),
            overdue: status == "overdue",
            days_overdue,
            never_mentored: next.is_none(),
            status: status.to_string(),
        }
    }

    /// A mentor should see this provider soon: overdue, due today, or never mentored.
    pub fn needs_follow_up(&self) -> bool {
        self.status != "upcoming"
    }

    /// Ordering for follow-up lists: the longest overdue first, then due today, then never
    /// mentored.
    fn urgency(&self) -> (u8, i64) {
        match self.status.as_str() {
            "overdue" => (0, -self.days_overdue),
            "due_today" => (1, 0),
            "never" => (2, 0),
            _ => (3, 0),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Quarters

/// A reporting quarter, written `2026Q3` (the DHIS2 convention).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quarter {
    pub year: i32,
    /// 1 to 4.
    pub quarter: u32,
}

impl Quarter {
    pub fn containing(d: NaiveDate) -> Quarter {
        Quarter {
            year: d.year(),
            quarter: d.month0() / 3 + 1,
        }
    }

    pub fn current() -> Quarter {
        Quarter::containing(today())
    }

    pub fn parse(s: &str) -> Option<Quarter> {
        let (year, q) = s
            .trim()
            .to_ascii_uppercase()
            .split_once('Q')
            .map(|(y, q)| (y.parse::<i32>().ok(), q.parse::<u32>().ok()))?;
        match (year, q) {
            (Some(year), Some(quarter))
                if (1..=4).contains(&quarter) && (2000..=2100).contains(&year) =>
            {
                Some(Quarter { year, quarter })
            }
            _ => None,
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, (self.quarter - 1) * 3 + 1, 1).unwrap_or(NaiveDate::MIN)
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day() - Duration::days(1)
    }

    pub fn next(self) -> Quarter {
        if self.quarter == 4 {
            Quarter {
                year: self.year + 1,
                quarter: 1,
            }
        } else {
            Quarter {
                year: self.year,
                quarter: self.quarter + 1,
            }
        }
    }

    pub fn previous(self) -> Quarter {
        if self.quarter == 1 {
            Quarter {
                year: self.year - 1,
                quarter: 4,
            }
        } else {
            Quarter {
                year: self.year,
                quarter: self.quarter - 1,
            }
        }
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Q{}", self.year, self.quarter)
    }
}

// ---------------------------------------------------------------------------------------------
// One provider's timeline

/// One scored checklist of the provider, as the timeline shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TimelineObservation {
    pub observation_id: i64,
    /// The plugin providing the checklist, e.g. `ldhf`.
    pub plugin_key: String,
    pub checklist_id: String,
    pub checklist_title: Localized,
    /// `pre` or `post` for a training test; absent for a session's observation.
    pub phase: Option<String>,
    pub percentage: Option<f64>,
    /// e.g. `pass`, `fail`, `competent`.
    pub outcome_code: String,
    pub outcome_label: Localized,
    /// `green`, `amber`, `red` or `neutral`.
    pub outcome_level: String,
}

/// A session the provider was a mentee in, or a training they took part in.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    /// `session` or `training`.
    pub kind: String,
    /// The session's date, or the training's first day, `YYYY-MM-DD`.
    pub date: String,
    /// A training's last day.
    pub end_date: Option<String>,
    pub session_id: Option<String>,
    pub training_id: Option<String>,
    /// A session's type: `skills_drill`, `clinical_observation`…
    pub session_type: Option<String>,
    /// A session's topic or module.
    pub topic: Option<String>,
    /// A training's title.
    pub title: Option<String>,
    pub duration_minutes: Option<i64>,
    pub mentor_id: Option<i64>,
    pub mentor_name: Option<String>,
    pub facility_id: Option<i64>,
    pub facility_name: Option<String>,
    /// A training's venue.
    pub venue: Option<String>,
    /// This provider's scored checklists in it: a training's pre-test before its post-test,
    /// otherwise in the order they were entered.
    pub observations: Vec<TimelineObservation>,
    #[serde(skip)]
    created_at: String,
}

/// One score on a checklist.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SeriesPoint {
    pub date: String,
    pub percentage: f64,
    pub observation_id: i64,
}

/// The latest result on a checklist.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Competency {
    pub date: String,
    pub percentage: Option<f64>,
    pub outcome_code: String,
    pub outcome_label: Localized,
    pub outcome_level: String,
    pub observation_id: i64,
}

/// A provider's scores on one checklist over time, oldest first, and where they stand now.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ChecklistSeries {
    pub plugin_key: String,
    pub checklist_id: String,
    /// The title as of the latest observation.
    pub checklist_title: Localized,
    /// Scores with a percentage, oldest first.
    pub points: Vec<SeriesPoint>,
    pub current: Competency,
}

impl ChecklistSeries {
    /// `plugin_key/checklist_id`: stable across plugin versions.
    pub fn key(&self) -> String {
        format!("{}/{}", self.plugin_key, self.checklist_id)
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProviderTimeline {
    pub provider: Provider,
    /// Sessions and trainings, newest first; withdrawn ones are left out.
    pub entries: Vec<TimelineEntry>,
    /// One series per checklist (plugin key and checklist id).
    pub checklists: Vec<ChecklistSeries>,
    /// When the next LDHF session is due.
    pub due: Due,
    /// The programme's interval between LDHF sessions, in days.
    pub interval_days: i64,
}

#[derive(FromRow)]
struct SessionRow {
    id: String,
    session_date: String,
    session_type: String,
    topic: String,
    duration_minutes: i64,
    mentor_id: i64,
    mentor_name: String,
    facility_id: i64,
    facility_name: String,
    created_at: String,
}

#[derive(FromRow)]
struct TrainingRow {
    id: String,
    title: String,
    start_date: String,
    end_date: String,
    venue: Option<String>,
    facility_id: Option<i64>,
    facility_name: Option<String>,
    created_at: String,
}

#[derive(FromRow)]
struct ObservationRow {
    id: i64,
    session_id: Option<String>,
    training_id: Option<String>,
    phase: Option<String>,
    position: i64,
    observed_on: String,
    plugin_key: String,
    checklist_id: String,
    checklist_title: String,
    percentage: Option<f64>,
    outcome_code: String,
    outcome_level: String,
    card_json: String,
    owner_created_at: String,
}

/// The part of a stored score card the timeline needs.
#[derive(Deserialize)]
struct CardOutcome {
    outcome: Outcome,
}

/// A provider's sessions and trainings, scores per checklist and next due date. Another
/// organisation's provider is "not found".
pub async fn provider_timeline(
    db: &Db,
    actor: &Actor,
    provider_id: i64,
    programme: &Programme,
) -> AppResult<ProviderTimeline> {
    provider_timeline_on(db, actor, provider_id, programme, today()).await
}

pub async fn provider_timeline_on(
    db: &Db,
    actor: &Actor,
    provider_id: i64,
    programme: &Programme,
    today: NaiveDate,
) -> AppResult<ProviderTimeline> {
    let provider = providers::get(db, actor, provider_id).await?;
    let scope = actor.org_scope();
    let sessions: Vec<SessionRow> = sqlx::query_as(
        "SELECT s.id, s.session_date, s.session_type, s.topic, s.duration_minutes, s.mentor_id,
                u.display_name AS mentor_name, s.facility_id, f.name AS facility_name, s.created_at
         FROM session_mentees m JOIN sessions s ON s.id = m.session_id
         JOIN users u ON u.id = s.mentor_id JOIN org_units f ON f.id = s.facility_id
         WHERE m.provider_id = $1 AND s.status = 'recorded' AND ($2 IS NULL OR s.organisation_id = $2)",
    )
    .bind(provider_id)
    .bind(scope)
    .fetch_all(db.pool())
    .await?;
    let trainings: Vec<TrainingRow> = sqlx::query_as(
        "SELECT t.id, t.title, t.start_date, t.end_date, t.venue, t.facility_id,
                f.name AS facility_name, t.created_at
         FROM training_participants tp JOIN trainings t ON t.id = tp.training_id
         LEFT JOIN org_units f ON f.id = t.facility_id
         WHERE tp.provider_id = $1 AND t.status = 'recorded' AND ($2 IS NULL OR t.organisation_id = $2)",
    )
    .bind(provider_id)
    .bind(scope)
    .fetch_all(db.pool())
    .await?;
    let mut observations: Vec<ObservationRow> = sqlx::query_as(
        "SELECT ob.id, ob.session_id, ob.training_id, ob.phase, ob.position, ob.observed_on,
                ob.plugin_key, ob.checklist_id, ob.checklist_title, ob.percentage, ob.outcome_code,
                ob.outcome_level, ob.card_json,
                COALESCE(s.created_at, t.created_at) AS owner_created_at
         FROM observations ob
         LEFT JOIN sessions s ON s.id = ob.session_id
         LEFT JOIN trainings t ON t.id = ob.training_id
         WHERE ob.provider_id = $1
           AND ((s.id IS NOT NULL AND s.status = 'recorded' AND ($2 IS NULL OR s.organisation_id = $2))
             OR (t.id IS NOT NULL AND t.status = 'recorded' AND ($2 IS NULL OR t.organisation_id = $2)))",
    )
    .bind(provider_id)
    .bind(scope)
    .fetch_all(db.pool())
    .await?;
    // Oldest first: by date, then the order the records were logged, a training's pre-test
    // before its post-test, then the order within the record.
    observations.sort_by(|a, b| {
        (
            &a.observed_on,
            &a.owner_created_at,
            phase_rank(&a.phase),
            a.position,
            a.id,
        )
            .cmp(&(
                &b.observed_on,
                &b.owner_created_at,
                phase_rank(&b.phase),
                b.position,
                b.id,
            ))
    });

    let mut entries: Vec<TimelineEntry> = sessions
        .into_iter()
        .map(|s| TimelineEntry {
            kind: "session".into(),
            date: s.session_date,
            end_date: None,
            session_id: Some(s.id),
            training_id: None,
            session_type: Some(s.session_type),
            topic: Some(s.topic),
            title: None,
            duration_minutes: Some(s.duration_minutes),
            mentor_id: Some(s.mentor_id),
            mentor_name: Some(s.mentor_name),
            facility_id: Some(s.facility_id),
            facility_name: Some(s.facility_name),
            venue: None,
            observations: Vec::new(),
            created_at: s.created_at,
        })
        .chain(trainings.into_iter().map(|t| TimelineEntry {
            kind: "training".into(),
            date: t.start_date,
            end_date: Some(t.end_date),
            session_id: None,
            training_id: Some(t.id),
            session_type: None,
            topic: None,
            title: Some(t.title),
            duration_minutes: None,
            mentor_id: None,
            mentor_name: None,
            facility_id: t.facility_id,
            facility_name: t.facility_name,
            venue: t.venue,
            observations: Vec::new(),
            created_at: t.created_at,
        }))
        .collect();
    entries.sort_by(|a, b| (&b.date, &b.created_at).cmp(&(&a.date, &a.created_at)));

    let mut series: BTreeMap<(String, String), ChecklistSeries> = BTreeMap::new();
    for row in observations {
        let title: Localized =
            serde_json::from_str(&row.checklist_title).map_err(|e| AppError::Internal(e.into()))?;
        let card: CardOutcome =
            serde_json::from_str(&row.card_json).map_err(|e| AppError::Internal(e.into()))?;
        let observation = TimelineObservation {
            observation_id: row.id,
            plugin_key: row.plugin_key.clone(),
            checklist_id: row.checklist_id.clone(),
            checklist_title: title.clone(),
            phase: row.phase.clone(),
            percentage: row.percentage,
            outcome_code: row.outcome_code.clone(),
            outcome_label: card.outcome.label.clone(),
            outcome_level: row.outcome_level.clone(),
        };
        let owner = entries
            .iter_mut()
            .find(|e| match (&row.session_id, &row.training_id) {
                (Some(id), _) => e.session_id.as_ref() == Some(id),
                (_, Some(id)) => e.training_id.as_ref() == Some(id),
                _ => false,
            });
        // A training test of someone no longer on the participant list has no entry; its
        // score still belongs to the provider's history.
        if let Some(entry) = owner {
            entry.observations.push(observation);
        }
        let current = Competency {
            date: row.observed_on.clone(),
            percentage: row.percentage,
            outcome_code: row.outcome_code,
            outcome_label: card.outcome.label,
            outcome_level: row.outcome_level,
            observation_id: row.id,
        };
        let point = row
            .percentage
            .filter(|p| p.is_finite())
            .map(|percentage| SeriesPoint {
                date: row.observed_on.clone(),
                percentage,
                observation_id: row.id,
            });
        let s = series
            .entry((row.plugin_key.clone(), row.checklist_id.clone()))
            .or_insert_with(|| ChecklistSeries {
                plugin_key: row.plugin_key,
                checklist_id: row.checklist_id,
                checklist_title: title.clone(),
                points: Vec::new(),
                current: current.clone(),
            });
        s.points.extend(point);
        s.checklist_title = title;
        s.current = current;
    }

    let last = entries
        .iter()
        .filter(|e| e.kind == "session")
        .map(|e| e.date.as_str())
        .max();
    let due = Due::compute(last, programme.ldhf_interval_days, today);
    Ok(ProviderTimeline {
        provider,
        entries,
        checklists: series.into_values().collect(),
        due,
        interval_days: programme.ldhf_interval_days,
    })
}

fn phase_rank(phase: &Option<String>) -> u8 {
    match phase.as_deref() {
        Some("pre") => 0,
        None => 1,
        Some(_) => 2,
    }
}

// ---------------------------------------------------------------------------------------------
// Providers due, by facility and by mentor

/// A provider with their last session and next due date.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProviderDue {
    pub provider_id: i64,
    pub organisation_id: i64,
    pub code: String,
    pub name: String,
    pub cadre: String,
    pub facility_id: i64,
    pub facility_name: String,
    pub active: bool,
    pub due: Due,
}

#[derive(FromRow)]
struct DueRow {
    id: i64,
    organisation_id: i64,
    code: String,
    name: String,
    cadre: String,
    facility_id: i64,
    facility_name: String,
    active: i64,
    last_session_date: Option<String>,
}

impl DueRow {
    fn into_due(self, interval_days: i64, today: NaiveDate) -> ProviderDue {
        let due = Due::compute(self.last_session_date.as_deref(), interval_days, today);
        ProviderDue {
            provider_id: self.id,
            organisation_id: self.organisation_id,
            code: self.code,
            name: self.name,
            cadre: self.cadre,
            facility_id: self.facility_id,
            facility_name: self.facility_name,
            active: self.active == 1,
            due,
        }
    }
}

macro_rules! due_select {
    () => {
        "SELECT p.id, p.organisation_id, p.code, p.name, p.cadre, p.facility_id,
                f.name AS facility_name, p.active,
                (SELECT MAX(s.session_date) FROM session_mentees m JOIN sessions s ON s.id = m.session_id
                 WHERE m.provider_id = p.id AND s.status = 'recorded') AS last_session_date
         FROM providers p JOIN org_units f ON f.id = p.facility_id"
    };
}

/// At most this many providers are listed for one facility or one mentor.
const MAX_LISTED: i64 = 1000;

/// The organisation filter for an actor who may ask for one organisation: `Err(())` when the
/// actor asks for an organisation they may not read (the answer is then empty).
fn org_filter(actor: &Actor, asked: Option<i64>) -> Result<Option<i64>, ()> {
    match (actor.org_scope(), asked) {
        (Some(own), Some(asked)) if own != asked => Err(()),
        (Some(own), _) => Ok(Some(own)),
        (None, asked) => Ok(asked),
    }
}

/// A facility's providers with their due dates, and its sessions in a quarter.
#[derive(Clone, Debug, Serialize)]
pub struct FacilityOverview {
    pub facility: OrgUnit,
    pub quarter: Quarter,
    pub interval_days: i64,
    /// Every provider of the actor's scope at the facility, by name.
    pub providers: Vec<ProviderDue>,
    /// Recorded sessions at the facility in the quarter (up to 200 listed, newest first).
    pub sessions: Vec<SessionSummary>,
    pub sessions_this_quarter: i64,
}

impl FacilityOverview {
    /// Active providers overdue or never mentored, the longest overdue first.
    pub fn overdue(&self) -> Vec<&ProviderDue> {
        let mut out: Vec<&ProviderDue> = self
            .providers
            .iter()
            .filter(|p| p.active && (p.due.overdue || p.due.never_mentored))
            .collect();
        out.sort_by(|a, b| (a.due.urgency(), &a.name).cmp(&(b.due.urgency(), &b.name)));
        out
    }
}

impl Serialize for Quarter {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The facility's page: who is due, and what happened there in `quarter`. `organisation_id`
/// narrows an admin's or manager's view to one organisation.
pub async fn facility_overview(
    db: &Db,
    actor: &Actor,
    facility_id: i64,
    programme: &Programme,
    quarter: Quarter,
    organisation_id: Option<i64>,
) -> AppResult<FacilityOverview> {
    facility_overview_on(
        db,
        actor,
        facility_id,
        programme,
        quarter,
        organisation_id,
        today(),
    )
    .await
}

pub async fn facility_overview_on(
    db: &Db,
    actor: &Actor,
    facility_id: i64,
    programme: &Programme,
    quarter: Quarter,
    organisation_id: Option<i64>,
    today: NaiveDate,
) -> AppResult<FacilityOverview> {
    let facility = org_units::get(db, facility_id).await?;
    if facility.level != "facility" {
        return Err(AppError::NotFound);
    }
    let mut overview = FacilityOverview {
        facility,
        quarter,
        interval_days: programme.ldhf_interval_days,
        providers: Vec::new(),
        sessions: Vec::new(),
        sessions_this_quarter: 0,
    };
    let Ok(scope) = org_filter(actor, organisation_id) else {
        return Ok(overview);
    };
    let rows: Vec<DueRow> = sqlx::query_as(concat!(
        due_select!(),
        " WHERE p.facility_id = $1 AND ($2 IS NULL OR p.organisation_id = $2)
          ORDER BY p.name, p.id LIMIT $3"
    ))
    .bind(facility_id)
    .bind(scope)
    .bind(MAX_LISTED)
    .fetch_all(db.pool())
    .await?;
    overview.providers = rows
        .into_iter()
        .map(|r| r.into_due(programme.ldhf_interval_days, today))
        .collect();
    let filter = SessionFilter {
        facility_id: Some(facility_id),
        from: Some(ymd(quarter.first_day())),
        to: Some(ymd(quarter.last_day())),
        organisation_id: scope,
        ..Default::default()
    };
    let page = sessions::list(
        db,
        actor,
        &filter,
        &PageParams {
            page: Some(1),
            per_page: Some(crate::domain::MAX_PER_PAGE),
        },
    )
    .await?;
    overview.sessions_this_quarter = page.total;
    overview.sessions = page.items;
    Ok(overview)
}

/// A mentor's home: who to see next across their facilities, and what they logged lately.
#[derive(Clone, Debug, Serialize)]
pub struct MentorHome {
    pub today: String,
    pub interval_days: i64,
    /// Active providers at the mentor's facilities who are overdue, due today or never
    /// mentored; the longest overdue first.
    pub follow_ups: Vec<ProviderDue>,
    /// The mentor's own latest sessions (up to 10), newest first.
    pub recent_sessions: Vec<SessionSummary>,
}

pub async fn mentor_home(db: &Db, actor: &Actor, programme: &Programme) -> AppResult<MentorHome> {
    mentor_home_on(db, actor, programme, today()).await
}

pub async fn mentor_home_on(
    db: &Db,
    actor: &Actor,
    programme: &Programme,
    today: NaiveDate,
) -> AppResult<MentorHome> {
    // Only providers of the mentor's own organisation at the facilities they are assigned to.
    let rows: Vec<DueRow> = sqlx::query_as(concat!(
        due_select!(),
        " JOIN mentor_assignments a ON a.facility_id = p.facility_id
          WHERE a.mentor_id = $1 AND p.organisation_id = $2 AND p.active = 1
          ORDER BY p.name, p.id LIMIT $3"
    ))
    .bind(actor.user_id)
    .bind(actor.organisation_id)
    .bind(MAX_LISTED)
    .fetch_all(db.pool())
    .await?;
    let mut follow_ups: Vec<ProviderDue> = rows
        .into_iter()
        .map(|r| r.into_due(programme.ldhf_interval_days, today))
        .filter(|p| p.due.needs_follow_up())
        .collect();
    follow_ups.sort_by(|a, b| {
        (a.due.urgency(), &a.facility_name, &a.name).cmp(&(
            b.due.urgency(),
            &b.facility_name,
            &b.name,
        ))
    });
    let filter = SessionFilter {
        mentor_id: Some(actor.user_id),
        organisation_id: Some(actor.organisation_id),
        ..Default::default()
    };
    let recent = sessions::list(
        db,
        actor,
        &filter,
        &PageParams {
            page: Some(1),
            per_page: Some(10),
        },
    )
    .await?;
    Ok(MentorHome {
        today: ymd(today),
        interval_days: programme.ldhf_interval_days,
        follow_ups,
        recent_sessions: recent.items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_ymd(s).unwrap()
    }

    #[test]
    fn next_due_is_the_last_session_plus_the_interval() {
        let today = d("2026-03-15");
        let due = Due::compute(Some("2026-02-20"), 30, today);
        assert_eq!(due.next_due.as_deref(), Some("2026-03-22"));
        assert_eq!(due.status, "upcoming");
        assert!(!due.overdue && !due.needs_follow_up());

        let due = Due::compute(Some("2026-02-13"), 30, today);
        assert_eq!(due.next_due.as_deref(), Some("2026-03-15"));
        assert_eq!(due.status, "due_today");
        assert!(!due.overdue && due.needs_follow_up());

        let due = Due::compute(Some("2026-02-03"), 30, today);
        assert_eq!(due.next_due.as_deref(), Some("2026-03-05"));
        assert!(due.overdue);
        assert_eq!(due.days_overdue, 10);

        let never = Due::compute(None, 30, today);
        assert!(never.never_mentored && !never.overdue && never.needs_follow_up());
        assert_eq!(never.next_due, None);
        assert_eq!(never.status, "never");
    }

    #[test]
    fn follow_ups_put_the_longest_overdue_first() {
        let today = d("2026-03-15");
        let mut all = [
            Due::compute(None, 30, today),
            Due::compute(Some("2026-02-13"), 30, today),
            Due::compute(Some("2026-02-10"), 30, today),
            Due::compute(Some("2026-01-01"), 30, today),
        ];
        all.sort_by_key(Due::urgency);
        let statuses: Vec<(&str, i64)> = all
            .iter()
            .map(|d| (d.status.as_str(), d.days_overdue))
            .collect();
        assert_eq!(
            statuses,
            [
                ("overdue", 43),
                ("overdue", 3),
                ("due_today", 0),
                ("never", 0)
            ]
        );
    }

    #[test]
    fn quarters() {
        let q = Quarter::parse("2026q3").unwrap();
        assert_eq!(q.to_string(), "2026Q3");
        assert_eq!(q.first_day(), d("2026-07-01"));
        assert_eq!(q.last_day(), d("2026-09-30"));
        assert_eq!(
            Quarter::parse("2026Q4").unwrap().last_day(),
            d("2026-12-31")
        );
        assert_eq!(Quarter::containing(d("2025-12-31")).to_string(), "2025Q4");
        assert_eq!(
            Quarter::containing(d("2026-01-01")).previous().to_string(),
            "2025Q4"
        );
        assert_eq!(
            Quarter::parse("2025Q4").unwrap().next().to_string(),
            "2026Q1"
        );
        for bad in ["2026Q5", "2026Q0", "2026", "Q3", "26Q1", "2026-Q1", ""] {
            assert_eq!(Quarter::parse(bad), None, "{bad}");
        }
    }
}
