//! The raw records a user may see: sessions (one row per mentee and observation) and
//! trainings (one row per participant), with the list pages' filters.
//!
//! The records are found by paging through `sessions::list` / `trainings::list` with the
//! caller's filter, so the export holds exactly what the list shows its reader. Sessions are
//! then read in batches of a page (mentees, observations and free text in one query each, by
//! a JSON array of the page's ids); trainings through `trainings::get`, which computes each
//! participant's scores, gain and verdict as the training page does.

use std::collections::{HashMap, HashSet};

use sqlx::FromRow;

use super::{Cell, Column, Download, Format, MAX_RECORDS, Table, col, filename_part, write};
use crate::authz::Actor;
use crate::db::{Db, DbKind};
use crate::domain::sessions::{self, SessionFilter, SessionSummary};
use crate::domain::trainings::{self, TrainingFilter, TrainingSummary};
use crate::domain::{MAX_PER_PAGE, Page, PageParams};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::plugins::model::{Localized, ScoreCard};

pub const SESSION_COLUMNS: [Column; 28] = [
    col("session_id", 38.0),
    col("organisation_code", 12.0),
    col("date", 11.0),
    col("session_type", 18.0),
    col("topic", 32.0),
    col("duration_minutes", 10.0),
    col("facility_id", 10.0),
    col("facility", 26.0),
    col("mentor", 20.0),
    col("status", 10.0),
    col("revision", 9.0),
    col("mentee_id", 10.0),
    col("mentee", 24.0),
    col("cadre", 14.0),
    col("observed", 9.0),
    col("checklist_id", 20.0),
    col("checklist_version", 10.0),
    col("checklist", 32.0),
    col("plugin_version_id", 10.0),
    col("plugin_key", 16.0),
    col("plugin_version", 10.0),
    col("score_percent", 10.0),
    col("outcome", 16.0),
    col("outcome_level", 10.0),
    col("scored_at", 22.0),
    col("notes", 40.0),
    col("action_points", 40.0),
    col("withdrawn_reason", 30.0),
];

pub const TRAINING_COLUMNS: [Column; 25] = [
    col("training_id", 38.0),
    col("organisation_code", 12.0),
    col("title", 32.0),
    col("start_date", 11.0),
    col("end_date", 11.0),
    col("venue", 20.0),
    col("facility", 24.0),
    col("facilitators", 24.0),
    col("status", 10.0),
    col("revision", 9.0),
    col("participant_id", 10.0),
    col("participant", 24.0),
    col("cadre", 14.0),
    col("participant_facility", 24.0),
    col("days_attended", 9.0),
    col("attendance", 24.0),
    col("pre_tested", 9.0),
    col("pre_score_percent", 10.0),
    col("post_tested", 9.0),
    col("post_score_percent", 10.0),
    col("gain_points", 10.0),
    col("relative_gain", 10.0),
    col("passed", 9.0),
    col("post_outcome", 14.0),
    col("withdrawn_reason", 30.0),
];

fn too_many(total: i64, what: &str) -> AppError {
    AppError::field(
        "from",
        "too_many",
        format!(
            "the export would hold {total} {what}, more than {MAX_RECORDS}; narrow the dates or the other filters"
        ),
    )
}

/// Every record a list shows its reader, once each, in the list's order: the list is read a
/// page of the largest size at a time, so an export holds what the list shows. More than
/// [`MAX_RECORDS`] is refused before anything else is read.
async fn listed<T, Listing>(
    what: &str,
    id: impl Fn(&T) -> &String,
    mut list: impl FnMut(PageParams) -> Listing,
) -> AppResult<Vec<T>>
where
    Listing: Future<Output = AppResult<Page<T>>>,
{
    let mut all = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut number = 1;
    loop {
        let page = list(PageParams {
            page: Some(number),
            per_page: Some(MAX_PER_PAGE),
        })
        .await?;
        if page.total > MAX_RECORDS {
            return Err(too_many(page.total, what));
        }
        // A record logged while the export pages through the list shifts the pages; one
        // already listed is not listed twice.
        all.extend(
            page.items
                .into_iter()
                .filter(|r| seen.insert(id(r).clone())),
        );
        if number * MAX_PER_PAGE >= page.total {
            return Ok(all);
        }
        number += 1;
    }
}

async fn organisation_codes(db: &Db) -> AppResult<HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, code FROM organisations")
        .fetch_all(db.pool())
        .await?;
    Ok(rows.into_iter().collect())
}

/// `RAM-sessions-2026-05-04`; `all-…` for readers of every organisation without a filter.
async fn stem(db: &Db, actor: &Actor, asked: Option<i64>, what: &str) -> AppResult<String> {
    let org = actor.org_scope().or(asked);
    let code = match org {
        Some(id) => organisation_codes(db)
            .await?
            .remove(&id)
            .unwrap_or_else(|| "all".into()),
        None => "all".into(),
    };
    let today = chrono::Utc::now().date_naive().format("%Y-%m-%d");
    Ok(format!("{}-{what}-{today}", filename_part(&code)))
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// A statement with `IN` over a JSON array of ids (`$1`): one static statement per engine
/// whatever the page's size.
macro_rules! per_engine {
    ($kind:expr, $head:literal, $tail:literal) => {
        match $kind {
            DbKind::Sqlite => concat!($head, "(SELECT value FROM json_each($1))", $tail),
            DbKind::Postgres => concat!(
                $head,
                "(SELECT jsonb_array_elements_text(CAST($1 AS JSONB)))",
                $tail
            ),
        }
    };
}

#[derive(FromRow)]
struct MenteeRow {
    session_id: String,
    provider_id: i64,
    name: String,
    cadre: String,
}

#[derive(FromRow)]
struct ObservationRow {
    session_id: String,
    provider_id: i64,
    provider_name: String,
    plugin_version_id: i64,
    plugin_key: String,
    plugin_version: String,
    checklist_id: String,
    checklist_version: String,
    checklist_title: String,
    card_json: String,
    scored_at: String,
}

/// An observation with its score card and checklist title parsed.
type Scored = (ObservationRow, ScoreCard, Localized);

#[derive(FromRow)]
struct TextRow {
    id: String,
    notes: Option<String>,
    action_points: Option<String>,
    withdrawn_reason: Option<String>,
}

/// One page of sessions' rows.
async fn session_rows(
    db: &Db,
    lang: Lang,
    orgs: &HashMap<i64, String>,
    page: &[SessionSummary],
    out: &mut Vec<Vec<Cell>>,
) -> AppResult<()> {
    let ids: Vec<&str> = page.iter().map(|s| s.id.as_str()).collect();
    let ids = serde_json::to_string(&ids).map_err(|e| AppError::Internal(e.into()))?;
    let kind = db.kind();
    let mentees: Vec<MenteeRow> = sqlx::query_as(per_engine!(
        kind,
        "SELECT m.session_id, p.id AS provider_id, p.name, p.cadre
         FROM session_mentees m JOIN providers p ON p.id = m.provider_id
         WHERE m.session_id IN ",
        ""
    ))
    .bind(&ids)
    .fetch_all(db.pool())
    .await?;
    let observations: Vec<ObservationRow> = sqlx::query_as(per_engine!(
        kind,
        "SELECT ob.session_id, ob.provider_id, p.name AS provider_name, ob.plugin_version_id,
                ob.plugin_key, ob.plugin_version, ob.checklist_id, ob.checklist_version,
                ob.checklist_title, ob.card_json, ob.scored_at
         FROM observations ob JOIN providers p ON p.id = ob.provider_id
         WHERE ob.session_id IN ",
        " ORDER BY ob.position, ob.id"
    ))
    .bind(&ids)
    .fetch_all(db.pool())
    .await?;
    // A stored card or title that does not parse is our fault, as on the session page.
    let parse = |e: serde_json::Error| AppError::Internal(e.into());
    let observations: Vec<Scored> = observations
        .into_iter()
        .map(|o| {
            let card = serde_json::from_str(&o.card_json).map_err(parse)?;
            let title = serde_json::from_str(&o.checklist_title).map_err(parse)?;
            Ok((o, card, title))
        })
        .collect::<AppResult<_>>()?;
    let texts: Vec<TextRow> = sqlx::query_as(per_engine!(
        kind,
        "SELECT id, notes, action_points, withdrawn_reason FROM sessions WHERE id IN ",
        ""
    ))
    .bind(&ids)
    .fetch_all(db.pool())
    .await?;

    let mut mentees_of: HashMap<&str, Vec<&MenteeRow>> = HashMap::new();
    for m in &mentees {
        mentees_of.entry(&m.session_id).or_default().push(m);
    }
    let mut observations_of: HashMap<&str, Vec<&Scored>> = HashMap::new();
    for o in &observations {
        observations_of.entry(&o.0.session_id).or_default().push(o);
    }
    let texts: HashMap<&str, &TextRow> = texts.iter().map(|t| (t.id.as_str(), t)).collect();

    for s in page {
        let text = texts.get(s.id.as_str());
        let session = |mentee: Option<(i64, &str, &str)>, scored: Option<&Scored>| {
            let ob = scored.map(|s| &s.0);
            let card = scored.map(|s| &s.1);
            let title = scored.map(|s| &s.2);
            vec![
                Cell::text(&s.id),
                Cell::opt_text(orgs.get(&s.organisation_id).map(String::as_str)),
                Cell::text(&s.date),
                Cell::text(&s.session_type),
                Cell::text(&s.topic),
                Cell::int(s.duration_minutes),
                Cell::int(s.facility_id),
                Cell::text(&s.facility_name),
                Cell::text(&s.mentor_name),
                Cell::text(&s.status),
                Cell::int(s.revision),
                mentee.map(|m| Cell::int(m.0)).unwrap_or(Cell::Empty),
                Cell::opt_text(mentee.map(|m| m.1)),
                Cell::opt_text(mentee.map(|m| m.2)),
                Cell::Bool(ob.is_some()),
                Cell::opt_text(ob.map(|o| o.checklist_id.as_str())),
                Cell::opt_text(ob.map(|o| o.checklist_version.as_str())),
                Cell::opt_text(title.map(|t| t.get(lang))),
                ob.map(|o| Cell::int(o.plugin_version_id))
                    .unwrap_or(Cell::Empty),
                Cell::opt_text(ob.map(|o| o.plugin_key.as_str())),
                Cell::opt_text(ob.map(|o| o.plugin_version.as_str())),
                Cell::opt_number(card.and_then(|c| c.percentage)),
                Cell::opt_text(card.map(|c| c.outcome.code.as_str())),
                Cell::opt_text(card.map(|c| c.outcome.level.as_str())),
                Cell::opt_text(ob.map(|o| o.scored_at.as_str())),
                Cell::opt_text(text.and_then(|t| t.notes.as_deref())),
                Cell::opt_text(text.and_then(|t| t.action_points.as_deref())),
                Cell::opt_text(text.and_then(|t| t.withdrawn_reason.as_deref())),
            ]
        };
        let mut people: Vec<&MenteeRow> = mentees_of.remove(s.id.as_str()).unwrap_or_default();
        people.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then_with(|| a.provider_id.cmp(&b.provider_id))
        });
        let obs = observations_of.remove(s.id.as_str()).unwrap_or_default();
        let mut written = 0usize;
        for m in &people {
            let mine: Vec<&&Scored> = obs
                .iter()
                .filter(|o| o.0.provider_id == m.provider_id)
                .collect();
            let who = Some((m.provider_id, m.name.as_str(), m.cadre.as_str()));
            if mine.is_empty() {
                out.push(session(who, None));
            } else {
                for o in mine {
                    out.push(session(who, Some(o)));
                }
            }
            written += 1;
        }
        // Observed providers are always mentees; one who is not still gets a row, so no
        // scored observation is left out of the export.
        for o in obs
            .iter()
            .filter(|o| !people.iter().any(|m| m.provider_id == o.0.provider_id))
        {
            out.push(session(
                Some((o.0.provider_id, o.0.provider_name.as_str(), "")),
                Some(o),
            ));
            written += 1;
        }
        if written == 0 {
            out.push(session(None, None));
        }
    }
    Ok(())
}

/// The sessions the actor may see with the list's filter (paging ignored).
pub async fn sessions_export(
    db: &Db,
    actor: &Actor,
    filter: &SessionFilter,
    format: Format,
) -> AppResult<Download> {
    let lang = Lang::parse(&actor.language).unwrap_or_default();
    let orgs = organisation_codes(db).await?;
    let listed = listed(
        "sessions",
        |s: &SessionSummary| &s.id,
        |page| async move { sessions::list(db, actor, filter, &page).await },
    )
    .await?;
    let mut rows = Vec::new();
    // A page of the list at a time: the batch queries take a page's ids.
    for batch in listed.chunks(MAX_PER_PAGE as usize) {
        session_rows(db, lang, &orgs, batch, &mut rows).await?;
    }
    let table = Table {
        name: "Sessions",
        columns: &SESSION_COLUMNS,
        rows,
    };
    write(
        format,
        &[table],
        &stem(db, actor, filter.organisation_id, "sessions").await?,
    )
}

// ---------------------------------------------------------------------------------------------
// Trainings

/// The trainings the actor may see with the list's filter (paging ignored).
pub async fn trainings_export(
    db: &Db,
    actor: &Actor,
    filter: &TrainingFilter,
    format: Format,
) -> AppResult<Download> {
    let orgs = organisation_codes(db).await?;
    let listed = listed(
        "trainings",
        |t: &TrainingSummary| &t.id,
        |page| async move { trainings::list(db, actor, filter, &page).await },
    )
    .await?;
    let mut rows = Vec::new();
    for summary in listed {
        let t = match trainings::get(db, actor, &summary.id).await {
            Ok(t) => t,
            // Listed a moment ago and gone now cannot happen (nothing is deleted), but an
            // export should not fail over it.
            Err(AppError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        let s = &t.summary;
        let training = |p: Option<&trainings::ParticipantResult>| {
            vec![
                Cell::text(&s.id),
                Cell::opt_text(orgs.get(&s.organisation_id).map(String::as_str)),
                Cell::text(&s.title),
                Cell::text(&s.start_date),
                Cell::text(&s.end_date),
                Cell::opt_text(s.venue.as_deref()),
                Cell::opt_text(s.facility_name.as_deref()),
                Cell::text(&s.facilitators),
                Cell::text(&s.status),
                Cell::int(s.revision),
                p.map(|p| Cell::int(p.provider_id)).unwrap_or(Cell::Empty),
                Cell::opt_text(p.map(|p| p.name.as_str())),
                Cell::opt_text(p.map(|p| p.cadre.as_str())),
                Cell::opt_text(p.map(|p| p.facility_name.as_str())),
                p.map(|p| Cell::int(p.days_attended)).unwrap_or(Cell::Empty),
                Cell::opt_text(p.map(|p| p.attendance.join(" "))),
                p.map(|p| Cell::Bool(p.pre_tested)).unwrap_or(Cell::Empty),
                Cell::opt_number(p.and_then(|p| p.pre_percentage)),
                p.map(|p| Cell::Bool(p.post_tested)).unwrap_or(Cell::Empty),
                Cell::opt_number(p.and_then(|p| p.post_percentage)),
                Cell::opt_number(p.and_then(|p| p.gain_points)),
                Cell::opt_number(p.and_then(|p| p.relative_gain)),
                p.and_then(|p| p.passed)
                    .map(Cell::Bool)
                    .unwrap_or(Cell::Empty),
                Cell::opt_text(p.and_then(|p| p.post_outcome.as_deref())),
                Cell::opt_text(t.withdrawn_reason.as_deref()),
            ]
        };
        if t.participant_list.is_empty() {
            rows.push(training(None));
        }
        for p in &t.participant_list {
            rows.push(training(Some(p)));
        }
    }
    let table = Table {
        name: "Trainings",
        columns: &TRAINING_COLUMNS,
        rows,
    };
    write(
        format,
        &[table],
        &stem(db, actor, filter.organisation_id, "trainings").await?,
    )
}
