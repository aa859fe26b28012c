//! Multi-row inserts from JSON: rows are collected as JSON arrays and written by one static
//! statement per table that unpacks them, so a million rows need no per-row round trip and no
//! statement text built at run time.

use std::io::Write;

use anyhow::{Context, anyhow};
use tokio::sync::mpsc;

use crate::db::{Db, DbKind, Tx};

/// One table's multi-row insert in both engines' spellings. `$1` is a JSON array of rows, each
/// an array of the columns in order.
pub(super) struct Bulk {
    table: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

impl Bulk {
    fn sql(&self, kind: DbKind) -> &'static str {
        match kind {
            DbKind::Sqlite => self.sqlite,
            DbKind::Postgres => self.postgres,
        }
    }
}

/// `bulk!(NAME: "table" (column index "PostgreSQL type", ...))`.
macro_rules! bulk {
    ($name:ident: $table:literal ($($col:ident $n:literal $ty:literal),+ $(,)?)) => {
        pub(super) static $name: Bulk = Bulk {
            table: $table,
            sqlite: concat!(
                "INSERT INTO ", $table, " (", bulk!(@cols $($col),+), ") SELECT ",
                bulk!(@sqlite $($n),+), " FROM json_each($1) AS j"
            ),
            postgres: concat!(
                "INSERT INTO ", $table, " (", bulk!(@cols $($col),+), ") SELECT ",
                bulk!(@pg $($n $ty),+), " FROM jsonb_array_elements(CAST($1 AS JSONB)) AS j"
            ),
        };
    };
    (@cols $first:ident $(, $rest:ident)*) => {
        concat!(stringify!($first) $(, ", ", stringify!($rest))*)
    };
    (@sqlite $first:literal $(, $rest:literal)*) => {
        concat!("j.value ->> ", $first $(, ", j.value ->> ", $rest)*)
    };
    (@pg $first:literal $fty:literal $(, $rest:literal $rty:literal)*) => {
        concat!("CAST(j ->> ", $first, " AS ", $fty, ")" $(, ", CAST(j ->> ", $rest, " AS ", $rty, ")")*)
    };
}

bulk!(PROVIDERS: "providers" (
    id 0 "BIGINT", organisation_id 1 "BIGINT", facility_id 2 "BIGINT", code 3 "TEXT",
    name 4 "TEXT", cadre 5 "TEXT", sex 6 "TEXT", phone 7 "TEXT", active 8 "BIGINT",
    created_at 9 "TEXT", updated_at 10 "TEXT",
));
bulk!(AUDIT: "audit_log" (
    at 0 "TEXT", actor_id 1 "BIGINT", organisation_id 2 "BIGINT", action 3 "TEXT",
    entity 4 "TEXT", entity_id 5 "TEXT", before_json 6 "TEXT", after_json 7 "TEXT",
));
bulk!(ASSIGNMENTS: "mentor_assignments" (
    mentor_id 0 "BIGINT", facility_id 1 "BIGINT", created_at 2 "TEXT",
));
bulk!(SESSIONS: "sessions" (
    id 0 "TEXT", organisation_id 1 "BIGINT", mentor_id 2 "BIGINT", facility_id 3 "BIGINT",
    session_date 4 "TEXT", session_type 5 "TEXT", topic 6 "TEXT", duration_minutes 7 "BIGINT",
    notes 8 "TEXT", action_points 9 "TEXT", create_sha256 10 "TEXT", content_sha256 11 "TEXT",
    status 12 "TEXT", revision 13 "BIGINT", withdrawn_reason 14 "TEXT", withdrawn_at 15 "TEXT",
    withdrawn_by 16 "BIGINT", created_at 17 "TEXT", updated_at 18 "TEXT",
));
bulk!(MENTEES: "session_mentees" (session_id 0 "TEXT", provider_id 1 "BIGINT"));
// The scored columns (plugin_version_id to card_json) come in the same order as in
// TEAM_ASSESSMENTS, so one writer serves both.
bulk!(OBSERVATIONS: "observations" (
    id 0 "BIGINT", session_id 1 "TEXT", training_id 2 "TEXT", phase 3 "TEXT",
    position 4 "BIGINT", provider_id 5 "BIGINT", observed_on 6 "TEXT",
    checklist_version 7 "TEXT", checklist_kind 8 "TEXT", checklist_title 9 "TEXT",
    plugin_version_id 10 "BIGINT", plugin_key 11 "TEXT", plugin_version 12 "TEXT",
    plugin_sha256 13 "TEXT", checklist_id 14 "TEXT", responses_json 15 "TEXT",
    percentage 16 "DOUBLE PRECISION", outcome_code 17 "TEXT", outcome_level 18 "TEXT",
    card_json 19 "TEXT", scored_at 20 "TEXT",
));
bulk!(METRICS: "observation_metrics" (
    observation_id 0 "BIGINT", name 1 "TEXT", value 2 "DOUBLE PRECISION",
));
bulk!(ACTIONS: "action_items" (
    id 0 "BIGINT", organisation_id 1 "BIGINT", facility_id 2 "BIGINT", session_id 3 "TEXT",
    description 4 "TEXT", owner 5 "TEXT", due_on 6 "TEXT", status 7 "TEXT", done_on 8 "TEXT",
    created_by 9 "BIGINT", created_at 10 "TEXT", updated_at 11 "TEXT",
));
bulk!(TRAININGS: "trainings" (
    id 0 "TEXT", organisation_id 1 "BIGINT", title 2 "TEXT", start_date 3 "TEXT",
    end_date 4 "TEXT", venue 5 "TEXT", facility_id 6 "BIGINT", facilitators 7 "TEXT",
    create_sha256 8 "TEXT", content_sha256 9 "TEXT", status 10 "TEXT", revision 11 "BIGINT",
    created_by 12 "BIGINT", created_at 13 "TEXT", updated_at 14 "TEXT",
));
bulk!(PARTICIPANTS: "training_participants" (training_id 0 "TEXT", provider_id 1 "BIGINT"));
bulk!(ATTENDANCE: "training_attendance" (
    training_id 0 "TEXT", provider_id 1 "BIGINT", day 2 "TEXT",
));
bulk!(REVIEWS: "death_reviews" (
    id 0 "BIGINT", organisation_id 1 "BIGINT", facility_id 2 "BIGINT", death_type 3 "TEXT",
    notified_on 4 "TEXT", died_on 5 "TEXT", reviewed_on 6 "TEXT", committee 7 "TEXT",
    cause_group 8 "BIGINT", underlying_cause 9 "TEXT", contributing_conditions 10 "TEXT",
    delay_seeking 11 "BIGINT", delay_reaching 12 "BIGINT", delay_receiving 13 "BIGINT",
    avoidable 14 "TEXT", notes 15 "TEXT", revision 16 "BIGINT", created_by 17 "BIGINT",
    created_at 18 "TEXT", updated_at 19 "TEXT",
));
bulk!(RECOMMENDATIONS: "death_review_recommendations" (
    id 0 "BIGINT", review_id 1 "BIGINT", position 2 "BIGINT", description 3 "TEXT",
    owner 4 "TEXT", deadline 5 "TEXT", status 6 "TEXT", done_on 7 "TEXT", updated_at 8 "TEXT",
));
bulk!(PROJECTS: "qi_projects" (
    id 0 "BIGINT", organisation_id 1 "BIGINT", facility_id 2 "BIGINT", title 3 "TEXT",
    problem 4 "TEXT", aim 5 "TEXT", indicator_id 6 "BIGINT", change_ideas 7 "TEXT",
    status 8 "TEXT", started_on 9 "TEXT", ended_on 10 "TEXT", revision 11 "BIGINT",
    created_by 12 "BIGINT", created_at 13 "TEXT", updated_at 14 "TEXT",
));
bulk!(CYCLES: "pdsa_cycles" (
    id 0 "BIGINT", project_id 1 "BIGINT", position 2 "BIGINT", change_idea 3 "TEXT",
    plan 4 "TEXT", started_on 5 "TEXT", ended_on 6 "TEXT", result 7 "TEXT", decision 8 "TEXT",
    updated_at 9 "TEXT",
));
bulk!(TEAMS: "teams" (
    id 0 "BIGINT", organisation_id 1 "BIGINT", facility_id 2 "BIGINT", name 3 "TEXT",
    village 4 "TEXT", active 5 "BIGINT", revision 6 "BIGINT", created_at 7 "TEXT",
    updated_at 8 "TEXT",
));
bulk!(MEMBERS: "team_members" (team_id 0 "BIGINT", provider_id 1 "BIGINT"));
bulk!(TARGETS: "team_targets" (
    team_id 0 "BIGINT", quarter 1 "TEXT", measure 2 "TEXT", target 3 "BIGINT",
    achieved 4 "BIGINT", updated_at 5 "TEXT",
));
bulk!(TEAM_ASSESSMENTS: "team_assessments" (
    id 0 "BIGINT", team_id 1 "BIGINT", quarter 2 "TEXT", assessed_on 3 "TEXT",
    plugin_version_id 4 "BIGINT", plugin_key 5 "TEXT", plugin_version 6 "TEXT",
    plugin_sha256 7 "TEXT", checklist_id 8 "TEXT", responses_json 9 "TEXT",
    percentage 10 "DOUBLE PRECISION", outcome_code 11 "TEXT", outcome_level 12 "TEXT",
    card_json 13 "TEXT", award_amount 14 "DOUBLE PRECISION", assessed_by 15 "BIGINT",
    revision 16 "BIGINT", created_at 17 "TEXT", updated_at 18 "TEXT",
));

/// PostgreSQL hands out identity values from sequences that know nothing of the ids written
/// here; each is moved past the largest id so the application's own inserts keep working.
pub(super) const RESYNC_SEQUENCES: &str = "SELECT
    setval(pg_get_serial_sequence('providers', 'id'), (SELECT MAX(id) FROM providers)),
    setval(pg_get_serial_sequence('observations', 'id'), (SELECT MAX(id) FROM observations)),
    setval(pg_get_serial_sequence('action_items', 'id'), (SELECT MAX(id) FROM action_items)),
    setval(pg_get_serial_sequence('death_reviews', 'id'), (SELECT MAX(id) FROM death_reviews)),
    setval(pg_get_serial_sequence('death_review_recommendations', 'id'),
           (SELECT MAX(id) FROM death_review_recommendations)),
    setval(pg_get_serial_sequence('qi_projects', 'id'), (SELECT MAX(id) FROM qi_projects)),
    setval(pg_get_serial_sequence('pdsa_cycles', 'id'), (SELECT MAX(id) FROM pdsa_cycles)),
    setval(pg_get_serial_sequence('teams', 'id'), (SELECT MAX(id) FROM teams)),
    setval(pg_get_serial_sequence('team_assessments', 'id'), (SELECT MAX(id) FROM team_assessments))";

/// A statement's worth of rows is flushed at about this size.
const FLUSH_BYTES: usize = 4 << 20;

/// Rows of one table being collected as JSON.
struct Rows {
    table: &'static Bulk,
    buf: Vec<u8>,
    n: usize,
}

impl Rows {
    fn new(table: &'static Bulk) -> Rows {
        Rows {
            table,
            buf: Vec::new(),
            n: 0,
        }
    }

    fn row(&mut self) -> Row<'_> {
        self.buf.push(if self.n == 0 { b'[' } else { b',' });
        self.n += 1;
        Row {
            buf: &mut self.buf,
            first: true,
        }
    }

    fn take(&mut self) -> anyhow::Result<Option<Chunk>> {
        if self.n == 0 {
            return Ok(None);
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.push(b']');
        self.n = 0;
        Ok(Some(Chunk {
            table: self.table,
            rows: String::from_utf8(buf).context("generated rows are not UTF-8")?,
        }))
    }
}

/// One row being written; the closing bracket is written when it is dropped.
pub(super) struct Row<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl Row<'_> {
    fn next(&mut self) {
        self.buf.push(if self.first { b'[' } else { b',' });
        self.first = false;
    }

    pub(super) fn int(mut self, v: i64) -> Self {
        self.next();
        // Writing into a Vec cannot fail.
        let _ = write!(self.buf, "{v}");
        self
    }

    pub(super) fn opt_int(self, v: Option<i64>) -> Self {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    pub(super) fn real(mut self, v: f64) -> Self {
        if !v.is_finite() {
            return self.null();
        }
        self.next();
        let _ = serde_json::to_writer(&mut *self.buf, &v);
        self
    }

    pub(super) fn opt_real(self, v: Option<f64>) -> Self {
        match v {
            Some(v) => self.real(v),
            None => self.null(),
        }
    }

    pub(super) fn text(mut self, s: &str) -> Self {
        self.next();
        let _ = serde_json::to_writer(&mut *self.buf, s);
        self
    }

    pub(super) fn opt_text(self, s: Option<&str>) -> Self {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    pub(super) fn null(mut self) -> Self {
        self.next();
        self.buf.extend_from_slice(b"null");
        self
    }
}

impl Drop for Row<'_> {
    fn drop(&mut self) {
        if self.first {
            self.buf.push(b'[');
        }
        self.buf.push(b']');
    }
}

/// One statement's rows.
pub(super) struct Chunk {
    table: &'static Bulk,
    rows: String,
}

/// The statements of one transaction, in an order that writes parents before children.
pub(super) type Batch = Vec<Chunk>;

/// Runs a batch's statements in a transaction the caller owns.
pub(super) async fn execute(tx: &mut Tx, kind: DbKind, batch: Batch) -> anyhow::Result<()> {
    for chunk in batch {
        sqlx::query(chunk.table.sql(kind))
            .bind(chunk.rows)
            .execute(&mut **tx)
            .await
            .with_context(|| format!("bulk insert into {}", chunk.table.table))?;
    }
    Ok(())
}

/// Writes each batch received in a transaction of its own, until the senders are gone.
pub(super) async fn write_batches(
    db: Db,
    mut batches: mpsc::Receiver<Batch>,
) -> anyhow::Result<()> {
    while let Some(batch) = batches.recv().await {
        let mut tx = db.begin().await.context("starting a bulk transaction")?;
        execute(&mut tx, db.kind(), batch).await?;
        tx.commit().await.context("committing a bulk transaction")?;
    }
    Ok(())
}

/// Tables collected together for one transaction, flushed in declaration order.
pub(super) struct Tables {
    rows: Vec<Rows>,
    /// Statements already cut from the rows, waiting for the rest of the transaction.
    flushed: Batch,
}

impl Tables {
    pub(super) fn new(tables: &[&'static Bulk]) -> Tables {
        Tables {
            rows: tables.iter().map(|t| Rows::new(t)).collect(),
            flushed: Vec::new(),
        }
    }

    /// A new row of a table (a `static`, so its address names it). Asking for a table the
    /// set was not made with is a bug in the generator.
    pub(super) fn row(&mut self, table: &'static Bulk) -> Row<'_> {
        let i = self.rows.iter().position(|r| std::ptr::eq(r.table, table));
        match i {
            Some(i) => self.rows[i].row(),
            None => panic!("generator bug: no rows collected for {}", table.table),
        }
    }

    /// Cuts the rows into statements once one table's are large, so that no statement grows
    /// without bound; they are still written in the same transaction.
    pub(super) fn flush_if_full(&mut self) -> anyhow::Result<()> {
        if self.rows.iter().any(|r| r.buf.len() > FLUSH_BYTES) {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        for r in &mut self.rows {
            if let Some(c) = r.take()? {
                self.flushed.push(c);
            }
        }
        Ok(())
    }

    /// Everything collected, parents first, as one transaction's statements.
    pub(super) fn take(&mut self) -> anyhow::Result<Batch> {
        self.flush()?;
        Ok(std::mem::take(&mut self.flushed))
    }

    /// Hands everything collected to the writer, to be written as one transaction.
    pub(super) async fn send(&mut self, writer: &mpsc::Sender<Batch>) -> anyhow::Result<()> {
        let batch = self.take()?;
        writer
            .send(batch)
            .await
            .map_err(|_| anyhow!("the database writer stopped"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_json_arrays() {
        let mut rows = Rows::new(&SESSIONS);
        rows.row().int(1).text("a\"b").null().opt_real(Some(1.5));
        rows.row().opt_int(None).real(f64::NAN);
        let chunk = rows.take().ok().flatten().map(|c| c.rows);
        assert_eq!(
            chunk.as_deref(),
            Some(r#"[[1,"a\"b",null,1.5],[null,null]]"#)
        );
        assert!(rows.take().ok().flatten().is_none());
    }

    #[test]
    fn bulk_statements_unpack_every_column() {
        assert_eq!(
            MENTEES.sqlite,
            "INSERT INTO session_mentees (session_id, provider_id) SELECT j.value ->> 0, j.value ->> 1 FROM json_each($1) AS j"
        );
        assert_eq!(
            MENTEES.postgres,
            "INSERT INTO session_mentees (session_id, provider_id) SELECT CAST(j ->> 0 AS TEXT), CAST(j ->> 1 AS BIGINT) FROM jsonb_array_elements(CAST($1 AS JSONB)) AS j"
        );
    }
}
