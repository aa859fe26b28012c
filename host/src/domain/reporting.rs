//! The reporting copies of recorded sessions (`report_mentees`, `report_observations`,
//! `report_metrics`; migration 0007): the rows quarterly reports read, keyed by organisation
//! and date so that one organisation's quarter is a contiguous range rather than probes
//! scattered over the whole history (sessions are keyed by random UUIDs, and every partner's
//! rows are interleaved in time).
//!
//! They are derived data, written in the transaction of the action that changes a session:
//! [`forget_session`] before the session's date, mentees or observations change (it finds the
//! rows by the values they were written with), [`record_session`] after. A withdrawn session
//! has no rows. A test holds them equal to what the session tables say
//! after every kind of change (`tests/tests/sessions.rs`, `reporting_copies`); the national data
//! set's loader calls [`rebuild`] once.

use crate::db::{Db, Tx};
use crate::error::AppResult;

/// One statement per table; `$1` is the session (or, for [`rebuild`], every recorded one).
macro_rules! derive {
    ($name:ident, $head:literal) => {
        const $name: [&str; 2] = [concat!($head, " AND s.id = $1"), $head];
    };
}

derive!(
    MENTEES,
    "INSERT INTO report_mentees (organisation_id, session_date, session_id, provider_id)
     SELECT s.organisation_id, s.session_date, s.id, sm.provider_id
     FROM sessions s JOIN session_mentees sm ON sm.session_id = s.id
     WHERE s.status = 'recorded'"
);
derive!(
    OBSERVATIONS,
    "INSERT INTO report_observations (organisation_id, observed_on, observation_id, session_id,
         provider_id, facility_id, checklist_id, checklist_kind)
     SELECT s.organisation_id, o.observed_on, o.id, s.id, o.provider_id, s.facility_id,
         o.checklist_id, o.checklist_kind
     FROM sessions s JOIN observations o ON o.session_id = s.id
     WHERE s.status = 'recorded'"
);
derive!(
    METRICS,
    "INSERT INTO report_metrics (organisation_id, observed_on, observation_id, name, value)
     SELECT s.organisation_id, o.observed_on, o.id, m.name, m.value
     FROM sessions s JOIN observations o ON o.session_id = s.id
         JOIN observation_metrics m ON m.observation_id = o.id
     WHERE s.status = 'recorded'"
);

// Each condition names the key's columns one by one: SQLite searches a row-value
// `(a, b, c) IN (…)` by the key's first column only, which is the organisation's whole history.
const FORGET: [&str; 3] = [
    "DELETE FROM report_metrics
     WHERE organisation_id = (SELECT organisation_id FROM sessions WHERE id = $1)
       AND observed_on IN (SELECT observed_on FROM observations WHERE session_id = $1)
       AND observation_id IN (SELECT id FROM observations WHERE session_id = $1)",
    "DELETE FROM report_observations
     WHERE organisation_id = (SELECT organisation_id FROM sessions WHERE id = $1)
       AND observed_on IN (SELECT observed_on FROM observations WHERE session_id = $1)
       AND observation_id IN (SELECT id FROM observations WHERE session_id = $1)",
    "DELETE FROM report_mentees
     WHERE organisation_id = (SELECT organisation_id FROM sessions WHERE id = $1)
       AND session_date = (SELECT session_date FROM sessions WHERE id = $1)
       AND session_id = $1",
];

/// Removes a session's reporting rows. Call it while the session's date and observations are
/// still the ones its rows were written from.
pub async fn forget_session(tx: &mut Tx, session_id: &str) -> AppResult<()> {
    for sql in FORGET {
        sqlx::query(sql).bind(session_id).execute(&mut **tx).await?;
    }
    Ok(())
}

/// The statements of [`record_session`], `$1` the session: for a caller that sends them in
/// one batch with its own (`sessions::insert_rows` on SQLite).
pub const RECORD_SESSION: [&str; 3] = [MENTEES[0], OBSERVATIONS[0], METRICS[0]];

/// Writes a session's reporting rows from what the transaction has written; nothing for a
/// withdrawn session.
pub async fn record_session(tx: &mut Tx, session_id: &str) -> AppResult<()> {
    for one in RECORD_SESSION {
        sqlx::query(one).bind(session_id).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Derives every recorded session's rows anew, in one transaction: for loaders that write the
/// session tables directly.
pub async fn rebuild(db: &Db) -> AppResult<()> {
    let mut tx = db.begin().await?;
    for table in ["report_metrics", "report_observations", "report_mentees"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *tx)
            .await?;
    }
    for [_, all] in [MENTEES, OBSERVATIONS, METRICS] {
        sqlx::query(all).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
