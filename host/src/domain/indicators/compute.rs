//! Computing indicators over a scope and a quarter.
//!
//! Cost is bounded by the quarter's rows, not by the size of the history: each family of
//! sources (sessions, observations, trainings, death reviews, QI, teams) is read with one
//! static query per quarter, driven by an index on the organisation and date (or the date
//! alone for the whole programme), and every formula of the catalogue is then evaluated in
//! memory over those rows. Metric values are read in the same pass, only for the metric
//! names the catalogue uses. Organisation scope and programme scope are two spellings of each
//! query rather than one with `($1 IS NULL OR organisation_id = $1)`, which would keep SQLite
//! from using the organisation's index.
//!
//! Attribution: every counted row belongs to one facility, so the facility rows add up to the
//! total. Sessions, observations, death reviews, QI projects, action items and teams: their
//! facility. Distinct providers (mentees, observed providers): the facility of the session
//! that decided (their latest in the quarter). Trainings: their facility, else the
//! participant's own facility (a training at a venue has no facility of its own, and counts
//! in the total only).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use sqlx::FromRow;

use super::formula::{Aggregate, Condition, Field, Formula, Op, Operand, Source};
use super::{Breakdown, Figure, Scope};
use crate::db::Db;
use crate::db::json_rows::{self, Column};
use crate::domain::quarter::Quarter;
use crate::error::AppResult;

/// How many metric names one metric query asks for; unused slots are bound to NULL.
const METRIC_SLOTS: usize = 16;

/// One counted (or summed, or averaged) row.
#[derive(Clone, Debug)]
pub struct Row {
    pub facility: Option<i64>,
    pub provider: Option<i64>,
    pub value: f64,
}

/// A formula's rows and how they add up.
#[derive(Clone, Debug)]
pub struct Rows {
    pub rows: Vec<Row>,
    pub mean: bool,
}

/// Count, sum or mean of some rows: (numerator, value).
fn reduce<'a>(rows: impl Iterator<Item = &'a Row>, mean: bool) -> (f64, Option<f64>) {
    let (sum, n) = rows.fold((0.0, 0u64), |(s, n), r| (s + r.value, n + 1));
    if mean {
        if n == 0 {
            (0.0, None)
        } else {
            let m = sum / n as f64;
            (m, Some(m))
        }
    } else {
        (sum, Some(sum))
    }
}

/// The value rule: no denominator → the numerator's own value (a count or a mean); with one →
/// numerator / denominator (× 100 for percentages); a zero denominator → no value.
pub fn figure<'a>(
    num: impl Iterator<Item = &'a Row>,
    num_mean: bool,
    den: Option<(Vec<&'a Row>, bool)>,
    percent: bool,
) -> Figure {
    let (numerator, own) = reduce(num, num_mean);
    match den {
        None => Figure {
            value: own,
            numerator,
            denominator: None,
        },
        Some((rows, den_mean)) => {
            let (denominator, _) = reduce(rows.into_iter(), den_mean);
            let value = if denominator == 0.0 {
                None
            } else {
                let v = numerator / denominator;
                Some(if percent { v * 100.0 } else { v })
            };
            Figure {
                value,
                numerator,
                denominator: Some(denominator),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reference data: facilities, districts, providers

#[derive(Clone, Debug, FromRow)]
struct UnitRow {
    id: i64,
    parent_id: Option<i64>,
    level: String,
    facility_type: Option<String>,
    name: String,
}

/// The org unit tree, to name facilities and find their district.
pub struct Units {
    units: HashMap<i64, UnitRow>,
}

impl Units {
    pub async fn load(db: &Db) -> AppResult<Units> {
        let rows: Vec<UnitRow> = sqlx::query_as(
            "SELECT id, parent_id, level, facility_type, name FROM org_units WHERE level IN ('district', 'province', 'facility')",
        )
        .fetch_all(db.pool())
        .await?;
        Ok(Units {
            units: rows.into_iter().map(|u| (u.id, u)).collect(),
        })
    }

    pub fn name(&self, id: i64) -> String {
        self.units
            .get(&id)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| format!("#{id}"))
    }

    pub fn district(&self, facility: i64) -> Option<i64> {
        let mut at = self.units.get(&facility)?;
        // The tree is shallow (country > province > district > facility); the bound only
        // guards against a malformed cycle.
        for _ in 0..8 {
            if at.level == "district" {
                return Some(at.id);
            }
            at = self.units.get(&at.parent_id?)?;
        }
        None
    }

    pub fn facility_type(&self, facility: i64) -> Option<&str> {
        self.units.get(&facility)?.facility_type.as_deref()
    }
}

/// Cadre and sex of the providers met in the rows.
#[derive(Clone, Default)]
pub struct People {
    map: HashMap<i64, (String, Option<String>)>,
}

impl People {
    fn add(&mut self, id: i64, cadre: &str, sex: Option<&str>) {
        self.map
            .entry(id)
            .or_insert_with(|| (cadre.to_string(), sex.map(str::to_string)));
    }

    pub fn cadre(&self, id: i64) -> Option<&str> {
        self.map.get(&id).map(|(c, _)| c.as_str())
    }

    pub fn sex(&self, id: i64) -> Option<&str> {
        self.map
            .get(&id)
            .map(|(_, s)| s.as_deref().unwrap_or("not_recorded"))
    }
}

pub fn label(dimension: &str, key: &str) -> String {
    let fixed = match (dimension, key) {
        ("facility_type", "hospital") => "Hospital",
        ("facility_type", "health_centre") => "Health centre",
        ("facility_type", "health_post") => "Health post",
        ("sex", "female") => "Female",
        ("sex", "male") => "Male",
        ("sex", "not_recorded") => "Not recorded",
        ("cadre", "midwife") => "Midwife",
        ("cadre", "nurse") => "Nurse",
        ("cadre", "doctor") => "Doctor",
        ("cadre", "clinical_officer") => "Clinical officer",
        ("cadre", "community_health_worker") => "Community health worker",
        ("cadre", "village_health_volunteer") => "Village health volunteer",
        ("cadre", "village_health_support_group") => "Village Health Support Group member",
        ("cadre", "traditional_birth_attendant") => "Traditional birth attendant",
        ("cadre", "other") => "Other",
        _ => return key.to_string(),
    };
    fixed.to_string()
}

/// Groups a numerator's and a denominator's rows by a key and computes each group's figure.
/// Keys stay ids or borrowed codes while grouping (a report groups tens of thousands of rows
/// five ways) and become text only once per group.
pub fn breakdown<K: Ord + ToString>(
    num: &Rows,
    den: Option<&Rows>,
    percent: bool,
    key_of: impl Fn(&Row) -> Option<K>,
    label_of: impl Fn(&K) -> String,
) -> Vec<Breakdown> {
    let mut groups: BTreeMap<K, (Vec<&Row>, Vec<&Row>)> = BTreeMap::new();
    for r in &num.rows {
        if let Some(k) = key_of(r) {
            groups.entry(k).or_default().0.push(r);
        }
    }
    if let Some(d) = den {
        for r in &d.rows {
            if let Some(k) = key_of(r) {
                groups.entry(k).or_default().1.push(r);
            }
        }
    }
    let mut out: Vec<Breakdown> = groups
        .into_iter()
        .map(|(key, (n, d))| Breakdown {
            label: label_of(&key),
            figure: figure(n.into_iter(), num.mean, den.map(|x| (d, x.mean)), percent),
            key: key.to_string(),
        })
        .collect();
    out.sort_by(|a, b| a.label.cmp(&b.label).then_with(|| a.key.cmp(&b.key)));
    out
}

// ---------------------------------------------------------------------------------------------
// The quarter's data

/// A family's row type: read as one JSON array (see `json_rows`), its columns in the order
/// of its fields. Declared through `family_rows!`, so the column list cannot drift from the
/// fields.
trait FamilyRow: DeserializeOwned + Send {
    const COLUMNS: &'static [Column];
}

/// Row types and their column lists in one declaration. A floating-point field names the
/// `json_rows` function that reads it (`value: f64 as "json_rows::real"`), which also makes
/// its column a `Column::Real`.
macro_rules! family_rows {
    ($(struct $name:ident { $($field:ident: $ty:ty $(as $with:literal)?,)* })*) => {
        $(
            #[derive(Clone, Debug, Deserialize)]
            struct $name {
                $($(#[serde(deserialize_with = $with)])? $field: $ty,)*
            }

            impl FamilyRow for $name {
                const COLUMNS: &'static [Column] = &[$(
                    if <[&str]>::is_empty(&[$($with)?]) {
                        Column::Plain(stringify!($field))
                    } else {
                        Column::Real(stringify!($field))
                    },
                )*];
            }
        )*
    };
}

/// A row of the quarter that belongs to one organisation: the one its organisation-scoped
/// query filters on, so that [`QuarterData::only`] can cut a programme's rows into what each
/// organisation's own query would have read.
trait Owned: Clone {
    fn organisation(&self) -> i64;
}

macro_rules! owned {
    ($($row:ty),*) => {
        $(impl Owned for $row {
            fn organisation(&self) -> i64 {
                self.organisation_id
            }
        })*
    };
}

owned!(
    SessionRow,
    MenteeRow,
    ObservationRow,
    TrainingRow,
    ReviewRow,
    RecommendationRow,
    StatusRow,
    TargetRow,
    AwardRow,
    FacilityRow
);

family_rows! {
    struct SessionRow {
        id: String,
        facility_id: i64,
        session_type: String,
        session_date: String,
        organisation_id: i64,
    }

    struct MenteeRow {
        session_id: String,
        provider_id: i64,
        cadre: String,
        sex: Option<String>,
        organisation_id: i64,
    }

    struct ObservationRow {
        id: i64,
        provider_id: i64,
        facility_id: i64,
        observed_on: String,
        checklist_id: String,
        checklist_kind: String,
        cadre: String,
        sex: Option<String>,
        organisation_id: i64,
    }

    struct TrainingRow {
        id: String,
        facility_id: Option<i64>,
        provider_id: Option<i64>,
        provider_facility_id: Option<i64>,
        cadre: Option<String>,
        sex: Option<String>,
        pre_id: Option<i64>,
        pre_percentage: Option<f64> as "json_rows::optional_real",
        post_id: Option<i64>,
        post_percentage: Option<f64> as "json_rows::optional_real",
        post_level: Option<String>,
        post_checklist: Option<String>,
        organisation_id: i64,
    }

    struct ReviewRow {
        facility_id: i64,
        death_type: String,
        avoidable: Option<String>,
        reviewed_on: Option<String>,
        notified_on: String,
        organisation_id: i64,
    }

    struct RecommendationRow {
        facility_id: i64,
        status: String,
        done_on: Option<String>,
        organisation_id: i64,
    }

    struct StatusRow {
        facility_id: i64,
        status: String,
        done_on: Option<String>,
        organisation_id: i64,
    }

    struct TargetRow {
        facility_id: i64,
        measure: String,
        target: i64,
        achieved: Option<i64>,
        organisation_id: i64,
    }

    struct AwardRow {
        facility_id: i64,
        award_amount: f64 as "json_rows::real",
        organisation_id: i64,
    }

    struct FacilityRow {
        facility_id: i64,
        organisation_id: i64,
    }

    struct MetricRow {
        observation_id: i64,
        name: String,
        value: f64 as "json_rows::real",
    }
}

/// Observation id → the (metric number, value) of the metrics the catalogue uses; names are
/// numbered once per computation so that evaluating a formula compares integers.
type MetricValues = HashMap<i64, Vec<(usize, f64)>>;

/// A quarter's observations, arranged once for the formulas that read them: a catalogue
/// evaluates observation formulas ten times per quarter (numerator and denominator of each
/// competency indicator), and regrouping ten thousand observations by provider and looking
/// their metrics up by id each time cost ~90 ms of a ~220 ms computation at national scale
/// (now ~28 ms).
#[derive(Default)]
struct Observations {
    rows: Vec<ObservationRow>,
    /// Each row's metrics, aligned with `rows`.
    metrics: Vec<Vec<(usize, f64)>>,
    /// Each observed provider (ascending) with the indices of their rows, latest first:
    /// by date, then by id (the later insert).
    by_provider: Vec<(i64, Vec<usize>)>,
}

impl Observations {
    fn new(rows: Vec<ObservationRow>, metrics: Vec<Vec<(usize, f64)>>) -> Observations {
        let mut grouped: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (i, o) in rows.iter().enumerate() {
            grouped.entry(o.provider_id).or_default().push(i);
        }
        let mut by_provider: Vec<(i64, Vec<usize>)> = grouped.into_iter().collect();
        for (_, list) in &mut by_provider {
            list.sort_by(|&a, &b| {
                (&rows[b].observed_on, rows[b].id).cmp(&(&rows[a].observed_on, rows[a].id))
            });
        }
        Observations {
            rows,
            metrics,
            by_provider,
        }
    }

    fn from_values(rows: Vec<ObservationRow>, values: &MetricValues) -> Observations {
        let metrics = rows
            .iter()
            .map(|o| values.get(&o.id).cloned().unwrap_or_default())
            .collect();
        Observations::new(rows, metrics)
    }

    /// The rows (and their metrics) of one organisation.
    fn only(&self, org: i64) -> Observations {
        let (rows, metrics) = self
            .rows
            .iter()
            .zip(&self.metrics)
            .filter(|(o, _)| o.organisation_id == org)
            .map(|(o, m)| (o.clone(), m.clone()))
            .unzip();
        Observations::new(rows, metrics)
    }
}

/// A metric condition: the numbered names it reads, and the comparison if any.
type MetricTest = (Vec<usize>, Option<(Op, f64)>);

/// Everything the catalogue reads for one scope and quarter, loaded once per family.
pub struct QuarterData {
    first: String,
    last: String,
    quarter: String,
    org: Option<i64>,
    pub people: Arc<People>,
    sessions: Option<(Vec<SessionRow>, Vec<MenteeRow>)>,
    observations: Option<Observations>,
    metric_ids: HashMap<String, usize>,
    trainings: Option<Vec<TrainingRow>>,
    reviews: Option<Vec<ReviewRow>>,
    recommendations: Option<Vec<RecommendationRow>>,
    qi_projects: Option<Vec<StatusRow>>,
    pdsa: Option<Vec<FacilityRow>>,
    actions: Option<Vec<StatusRow>>,
    targets: Option<Vec<TargetRow>>,
    awards: Option<Vec<AwardRow>>,
    assigned: Option<Vec<FacilityRow>>,
}

/// A static query in its organisation and programme spellings. `$1`, `$2` are the first and
/// last day (or the quarter), then the query's own parameters, and the organisation last.
macro_rules! scoped {
    ($name:ident, $head:literal, $org:literal, $tail:literal) => {
        scoped!($name, $head, $org, "", $tail);
    };
    ($name:ident, $head:literal, $org:literal, $programme:literal, $tail:literal) => {
        const $name: [&str; 2] = [
            concat!($head, $org, $tail),
            concat!($head, $programme, $tail),
        ];
    };
}

// The reporting tables (migration 0007, `domain::reporting`) and the sessions' report index are
// keyed by organisation first: the programme reads every organisation's range of them
// (`x.organisation_id IN (SELECT id FROM organisations)`) rather than whole tables.

scoped!(
    SESSIONS_SQL,
    "SELECT s.id, s.facility_id, s.session_type, s.session_date, s.organisation_id FROM sessions s WHERE ",
    "s.organisation_id = $3 AND ",
    "s.organisation_id IN (SELECT id FROM organisations) AND ",
    "s.session_date >= $1 AND s.session_date <= $2 AND s.status = 'recorded'"
);
scoped!(
    MENTEES_SQL,
    "SELECT m.session_id, m.provider_id, p.cadre, p.sex, m.organisation_id
     FROM report_mentees m CROSS JOIN providers p
     WHERE p.id = m.provider_id AND ",
    "m.organisation_id = $3 AND ",
    "m.organisation_id IN (SELECT id FROM organisations) AND ",
    "m.session_date >= $1 AND m.session_date <= $2"
);
// From the reporting copy of the recorded sessions' observations (its date is the session's),
// never from the observation rows, which carry the responses and the score card (kilobytes
// each). CROSS JOIN fixes the order on SQLite and is an ordinary join on PostgreSQL.
scoped!(
    OBSERVATIONS_SQL,
    "SELECT o.observation_id AS id, o.provider_id, o.facility_id, o.observed_on, o.checklist_id,
            o.checklist_kind, p.cadre, p.sex, o.organisation_id
     FROM report_observations o CROSS JOIN providers p
     WHERE p.id = o.provider_id AND ",
    "o.organisation_id = $3 AND ",
    "o.organisation_id IN (SELECT id FROM organisations) AND ",
    "o.observed_on >= $1 AND o.observed_on <= $2"
);
// `m.name || ''` keeps SQLite reading the quarter's range and filtering it, rather than
// probing the key once per name and observation.
macro_rules! metric_slots {
    () => {
        "(m.name || '') IN ($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
    };
}
const METRICS_SQL: [&str; 2] = [
    concat!(
        "SELECT m.observation_id, m.name, m.value FROM report_metrics m
         WHERE m.organisation_id = $19 AND m.observed_on >= $1 AND m.observed_on <= $2 AND ",
        metric_slots!()
    ),
    concat!(
        "SELECT m.observation_id, m.name, m.value FROM report_metrics m WHERE ",
        "m.organisation_id IN (SELECT id FROM organisations) AND ",
        "m.observed_on >= $1 AND m.observed_on <= $2 AND ",
        metric_slots!()
    ),
];
scoped!(
    TRAININGS_SQL,
    "SELECT t.id, t.facility_id, tp.provider_id, p.facility_id AS provider_facility_id, p.cadre, p.sex,
            pre.id AS pre_id, pre.percentage AS pre_percentage,
            post.id AS post_id, post.percentage AS post_percentage,
            post.outcome_level AS post_level, post.checklist_id AS post_checklist,
            t.organisation_id
     FROM trainings t
       LEFT JOIN training_participants tp ON tp.training_id = t.id
       LEFT JOIN providers p ON p.id = tp.provider_id
       LEFT JOIN observations pre ON pre.training_id = t.id AND pre.provider_id = tp.provider_id AND pre.phase = 'pre'
       LEFT JOIN observations post ON post.training_id = t.id AND post.provider_id = tp.provider_id AND post.phase = 'post'
     WHERE ",
    "t.organisation_id = $3 AND ",
    "t.end_date >= $1 AND t.end_date <= $2 AND t.status = 'recorded'"
);
scoped!(
    REVIEWS_SQL,
    "SELECT facility_id, death_type, avoidable, reviewed_on, notified_on, organisation_id
     FROM death_reviews WHERE ",
    "organisation_id = $3 AND ",
    "((reviewed_on >= $1 AND reviewed_on <= $2) OR (notified_on >= $1 AND notified_on <= $2))"
);
// Due by the quarter's end and not already done before it began.
scoped!(
    RECOMMENDATIONS_SQL,
    "SELECT d.facility_id, r.status, r.done_on, d.organisation_id
     FROM death_reviews d JOIN death_review_recommendations r ON r.review_id = d.id WHERE ",
    "d.organisation_id = $3 AND ",
    "r.deadline <= $2 AND NOT (r.status = 'done' AND r.done_on IS NOT NULL AND r.done_on < $1)"
);
scoped!(
    QI_SQL,
    "SELECT facility_id, status, ended_on AS done_on, organisation_id FROM qi_projects WHERE ",
    "organisation_id = $3 AND ",
    "started_on <= $2 AND (ended_on IS NULL OR ended_on >= $1)"
);
scoped!(
    PDSA_SQL,
    "SELECT q.facility_id, q.organisation_id FROM qi_projects q JOIN pdsa_cycles c ON c.project_id = q.id WHERE ",
    "q.organisation_id = $3 AND ",
    "c.started_on >= $1 AND c.started_on <= $2"
);
scoped!(
    ACTIONS_SQL,
    "SELECT facility_id, status, done_on, organisation_id FROM action_items WHERE ",
    "organisation_id = $3 AND ",
    "due_on >= $1 AND due_on <= $2"
);
// Team rows are keyed by the quarter's name; `$2` is unused but bound, so both spellings
// take the same parameters.
scoped!(
    TARGETS_SQL,
    "SELECT t.facility_id, tt.measure, tt.target, tt.achieved, t.organisation_id
     FROM teams t JOIN team_targets tt ON tt.team_id = t.id WHERE ",
    "t.organisation_id = $3 AND ",
    "tt.quarter = $1 AND $2 = $2"
);
scoped!(
    AWARDS_SQL,
    "SELECT t.facility_id, a.award_amount, t.organisation_id
     FROM teams t JOIN team_assessments a ON a.team_id = t.id WHERE ",
    "t.organisation_id = $3 AND ",
    "a.quarter = $1 AND $2 = $2"
);
scoped!(
    ASSIGNED_SQL,
    "SELECT DISTINCT ma.facility_id, u.organisation_id FROM mentor_assignments ma JOIN users u ON u.id = ma.mentor_id
     WHERE u.active = 1 AND $1 = $1 AND $2 = $2",
    " AND u.organisation_id = $3",
    ""
);

impl QuarterData {
    pub fn new(scope: Scope, quarter: Quarter) -> QuarterData {
        let (first, last) = quarter.date_range();
        QuarterData {
            first,
            last,
            quarter: quarter.to_string(),
            org: match scope {
                Scope::Organisation(id) => Some(id),
                Scope::Programme => None,
            },
            people: Arc::default(),
            sessions: None,
            observations: None,
            metric_ids: HashMap::new(),
            trainings: None,
            reviews: None,
            recommendations: None,
            qi_projects: None,
            pdsa: None,
            actions: None,
            targets: None,
            awards: None,
            assigned: None,
        }
    }

    fn sql(&self, pair: [&'static str; 2]) -> &'static str {
        if self.org.is_some() { pair[0] } else { pair[1] }
    }

    /// A family's rows, read as one JSON value (see `json_rows`).
    async fn fetch<T: FamilyRow>(
        &self,
        db: &Db,
        pair: [&'static str; 2],
        by_quarter: bool,
    ) -> AppResult<Vec<T>> {
        let sql = json_rows::wrap(db.kind(), self.sql(pair), T::COLUMNS);
        let q = sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(sql));
        let q = if by_quarter {
            q.bind(self.quarter.clone()).bind(self.last.clone())
        } else {
            q.bind(self.first.clone()).bind(self.last.clone())
        };
        let q = match self.org {
            Some(org) => q.bind(org),
            None => q,
        };
        json_rows::decode(q.fetch_one(db.pool()).await?)
    }

    /// A family's rows, when the formulas need them and they have not been read yet.
    async fn family<T: FamilyRow>(
        &self,
        db: &Db,
        wanted: bool,
        pair: [&'static str; 2],
        by_quarter: bool,
    ) -> AppResult<Option<Vec<T>>> {
        if wanted {
            Ok(Some(self.fetch(db, pair, by_quarter).await?))
        } else {
            Ok(None)
        }
    }

    /// The quarter's metric values for the numbered names.
    async fn metric_values(
        &self,
        db: &Db,
        metrics: &[String],
        ids: &HashMap<String, usize>,
    ) -> AppResult<MetricValues> {
        let mut values = MetricValues::new();
        for chunk in metrics.chunks(METRIC_SLOTS) {
            let sql = json_rows::wrap(db.kind(), self.sql(METRICS_SQL), MetricRow::COLUMNS);
            let mut q = sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(sql))
                .bind(self.first.clone())
                .bind(self.last.clone());
            for k in 0..METRIC_SLOTS {
                q = q.bind(chunk.get(k).cloned());
            }
            if let Some(org) = self.org {
                q = q.bind(org);
            }
            let rows: Vec<MetricRow> = json_rows::decode(q.fetch_one(db.pool()).await?)?;
            for m in rows {
                if let Some(n) = ids.get(&m.name) {
                    values
                        .entry(m.observation_id)
                        .or_default()
                        .push((*n, m.value));
                }
            }
        }
        Ok(values)
    }

    /// Reads what the formulas need and has not been read yet. The families' queries run
    /// concurrently, each on its own pooled connection: a report waits for its slowest query
    /// rather than for their sum, and on SQLite the rows of one are decoded while another
    /// runs.
    pub async fn load(
        &mut self,
        db: &Db,
        formulas: &[&Formula],
        metrics: &[String],
    ) -> AppResult<()> {
        let needs: BTreeSet<&'static str> = formulas.iter().map(|f| family(f)).collect();
        let metric_ids: HashMap<String, usize> = metrics
            .iter()
            .enumerate()
            .map(|(n, name)| (name.clone(), n))
            .collect();
        let this = &*self;
        let want = |name: &str, loaded: bool| needs.contains(name) && !loaded;
        let sessions = async {
            if !want("sessions", this.sessions.is_some()) {
                return Ok(None);
            }
            let (sessions, mentees) = tokio::try_join!(
                this.fetch::<SessionRow>(db, SESSIONS_SQL, false),
                this.fetch::<MenteeRow>(db, MENTEES_SQL, false),
            )?;
            AppResult::Ok(Some((sessions, mentees)))
        };
        let observations = async {
            if !want("observations", this.observations.is_some()) {
                return Ok(None);
            }
            let (obs, values) = tokio::try_join!(
                this.fetch::<ObservationRow>(db, OBSERVATIONS_SQL, false),
                this.metric_values(db, metrics, &metric_ids),
            )?;
            AppResult::Ok(Some((obs, values)))
        };
        let (
            sessions,
            observations,
            trainings,
            reviews,
            recommendations,
            qi_projects,
            pdsa,
            actions,
            targets,
            awards,
            assigned,
        ) = tokio::try_join!(
            sessions,
            observations,
            this.family::<TrainingRow>(
                db,
                want("trainings", this.trainings.is_some()),
                TRAININGS_SQL,
                false
            ),
            this.family::<ReviewRow>(
                db,
                want("reviews", this.reviews.is_some()),
                REVIEWS_SQL,
                false
            ),
            this.family::<RecommendationRow>(
                db,
                want("recommendations", this.recommendations.is_some()),
                RECOMMENDATIONS_SQL,
                false
            ),
            this.family::<StatusRow>(db, want("qi", this.qi_projects.is_some()), QI_SQL, false),
            this.family::<FacilityRow>(db, want("pdsa", this.pdsa.is_some()), PDSA_SQL, false),
            this.family::<StatusRow>(
                db,
                want("actions", this.actions.is_some()),
                ACTIONS_SQL,
                false
            ),
            this.family::<TargetRow>(
                db,
                want("targets", this.targets.is_some()),
                TARGETS_SQL,
                true
            ),
            this.family::<AwardRow>(db, want("awards", this.awards.is_some()), AWARDS_SQL, true),
            this.family::<FacilityRow>(
                db,
                want("assigned", this.assigned.is_some()),
                ASSIGNED_SQL,
                false
            ),
        )?;
        if let Some((sessions, mentees)) = sessions {
            for m in &mentees {
                Arc::make_mut(&mut self.people).add(m.provider_id, &m.cadre, m.sex.as_deref());
            }
            self.sessions = Some((sessions, mentees));
        }
        if let Some((obs, values)) = observations {
            for o in &obs {
                Arc::make_mut(&mut self.people).add(o.provider_id, &o.cadre, o.sex.as_deref());
            }
            self.metric_ids = metric_ids;
            self.observations = Some(Observations::from_values(obs, &values));
        }
        if let Some(rows) = trainings {
            for r in &rows {
                if let (Some(p), Some(c)) = (r.provider_id, &r.cadre) {
                    Arc::make_mut(&mut self.people).add(p, c, r.sex.as_deref());
                }
            }
            self.trainings = Some(rows);
        }
        self.reviews = reviews.or(self.reviews.take());
        self.recommendations = recommendations.or(self.recommendations.take());
        self.qi_projects = qi_projects.or(self.qi_projects.take());
        self.pdsa = pdsa.or(self.pdsa.take());
        self.actions = actions.or(self.actions.take());
        self.targets = targets.or(self.targets.take());
        self.awards = awards.or(self.awards.take());
        self.assigned = assigned.or(self.assigned.take());
        Ok(())
    }

    /// The part of a programme's quarter that belongs to one organisation: exactly the rows
    /// that loading the quarter for that organisation alone would read, since every row
    /// carries the organisation its organisation-scoped query filters on. The programme view
    /// computes each partner's column from it instead of reading the quarter once more per
    /// partner.
    pub fn only(&self, org: i64) -> QuarterData {
        fn mine<T: Owned>(rows: &[T], org: i64) -> Vec<T> {
            rows.iter()
                .filter(|r| r.organisation() == org)
                .cloned()
                .collect()
        }
        fn keep<T: Owned>(rows: &Option<Vec<T>>, org: i64) -> Option<Vec<T>> {
            rows.as_deref().map(|rows| mine(rows, org))
        }
        QuarterData {
            first: self.first.clone(),
            last: self.last.clone(),
            quarter: self.quarter.clone(),
            org: Some(org),
            // Cadre and sex are the provider's, whichever organisation observed them.
            people: self.people.clone(),
            sessions: self
                .sessions
                .as_ref()
                .map(|(sessions, mentees)| (mine(sessions, org), mine(mentees, org))),
            observations: self.observations.as_ref().map(|o| o.only(org)),
            metric_ids: self.metric_ids.clone(),
            trainings: keep(&self.trainings, org),
            reviews: keep(&self.reviews, org),
            recommendations: keep(&self.recommendations, org),
            qi_projects: keep(&self.qi_projects, org),
            pdsa: keep(&self.pdsa, org),
            actions: keep(&self.actions, org),
            targets: keep(&self.targets, org),
            awards: keep(&self.awards, org),
            assigned: keep(&self.assigned, org),
        }
    }

    /// A formula's rows; the data it needs must have been loaded.
    pub fn rows(&self, f: &Formula) -> Rows {
        let conditions = f.conditions();
        let (rows, mean) = match f {
            Formula::Count { source, .. } => (self.count_rows(*source, conditions), false),
            Formula::Aggregate {
                aggregate, operand, ..
            } => {
                let rows = match operand {
                    Operand::Metric(m) => self.metric_rows(&m.names, conditions),
                    Operand::TrainingGain => self.training_rows(conditions, |t| {
                        match (t.pre_percentage, t.post_percentage) {
                            (Some(pre), Some(post)) if t.pre_id.is_some() => Some(post - pre),
                            _ => None,
                        }
                    }),
                    Operand::Award => self
                        .awards
                        .iter()
                        .flatten()
                        .map(|a| Row {
                            facility: Some(a.facility_id),
                            provider: None,
                            value: a.award_amount,
                        })
                        .collect(),
                };
                (rows, *aggregate == Aggregate::Mean)
            }
        };
        Rows { rows, mean }
    }

    fn count_rows(&self, source: Source, conditions: &[Condition]) -> Vec<Row> {
        let one = |facility: Option<i64>, provider: Option<i64>| Row {
            facility,
            provider,
            value: 1.0,
        };
        let eq = |field: Field, value: &str| {
            conditions.iter().all(|c| match c {
                Condition::Equals { field: f, value: v } if *f == field => v == value,
                _ => true,
            })
        };
        match source {
            Source::Sessions => self
                .sessions()
                .0
                .iter()
                .filter(|s| eq(Field::Type, &s.session_type))
                .map(|s| one(Some(s.facility_id), None))
                .collect(),
            Source::FacilitiesReached => {
                let set: BTreeSet<i64> = self
                    .sessions()
                    .0
                    .iter()
                    .filter(|s| eq(Field::Type, &s.session_type))
                    .map(|s| s.facility_id)
                    .collect();
                set.into_iter().map(|f| one(Some(f), None)).collect()
            }
            Source::Mentees => {
                let (sessions, mentees) = self.sessions();
                let by_id: HashMap<&str, &SessionRow> =
                    sessions.iter().map(|s| (s.id.as_str(), s)).collect();
                // Each provider once, at the facility of their latest session.
                let mut latest: BTreeMap<i64, (&str, &str, i64)> = BTreeMap::new();
                for m in mentees {
                    let Some(s) = by_id.get(m.session_id.as_str()) else {
                        continue;
                    };
                    if !eq(Field::Type, &s.session_type) {
                        continue;
                    }
                    let candidate = (s.session_date.as_str(), s.id.as_str(), s.facility_id);
                    latest
                        .entry(m.provider_id)
                        .and_modify(|e| {
                            if (candidate.0, candidate.1) > (e.0, e.1) {
                                *e = candidate;
                            }
                        })
                        .or_insert(candidate);
                }
                latest
                    .into_iter()
                    .map(|(p, (_, _, f))| one(Some(f), Some(p)))
                    .collect()
            }
            Source::FacilitiesAssigned => {
                // A facility is assigned once however many partners' mentors cover it.
                let set: BTreeSet<i64> = self
                    .assigned
                    .iter()
                    .flatten()
                    .map(|r| r.facility_id)
                    .collect();
                set.into_iter().map(|f| one(Some(f), None)).collect()
            }
            Source::Observations => {
                let rows = &self.observation_data().rows;
                self.matching_observations(conditions)
                    .into_iter()
                    .map(|i| one(Some(rows[i].facility_id), Some(rows[i].provider_id)))
                    .collect()
            }
            Source::ObservedProviders => self.observed_providers(conditions),
            Source::Trainings => {
                let mut seen = BTreeSet::new();
                self.trainings
                    .iter()
                    .flatten()
                    .filter(|t| seen.insert(t.id.as_str()))
                    .map(|t| one(t.facility_id, None))
                    .collect()
            }
            Source::TrainingParticipants => self.training_rows(conditions, |_| Some(1.0)),
            Source::TrainingTested => self.training_rows(conditions, |t| {
                (t.pre_id.is_some() && t.post_id.is_some()).then_some(1.0)
            }),
            Source::TrainingPostTested => {
                self.training_rows(conditions, |t| t.post_id.is_some().then_some(1.0))
            }
            Source::TrainingPassed => self.training_rows(conditions, |t| {
                (t.post_level.as_deref() == Some("green")).then_some(1.0)
            }),
            Source::DeathReviews => self
                .reviews
                .iter()
                .flatten()
                .filter(|r| {
                    r.reviewed_on.as_deref().is_some_and(|d| self.in_quarter(d))
                        && eq(Field::Type, &r.death_type)
                        && eq(Field::Avoidable, r.avoidable.as_deref().unwrap_or(""))
                })
                .map(|r| one(Some(r.facility_id), None))
                .collect(),
            Source::DeathNotifications => self
                .reviews
                .iter()
                .flatten()
                .filter(|r| self.in_quarter(&r.notified_on) && eq(Field::Type, &r.death_type))
                .map(|r| one(Some(r.facility_id), None))
                .collect(),
            Source::Recommendations => self
                .recommendations
                .iter()
                .flatten()
                .filter(|r| {
                    // Done means done by the quarter's end; a recommendation done later was
                    // still open then.
                    let done = r.status == "done"
                        && r.done_on.as_deref().is_none_or(|d| d <= self.last.as_str());
                    let status = if done {
                        "done"
                    } else if r.status == "done" {
                        "open"
                    } else {
                        r.status.as_str()
                    };
                    eq(Field::Status, status)
                })
                .map(|r| one(Some(r.facility_id), None))
                .collect(),
            Source::QiProjects => self
                .qi_projects
                .iter()
                .flatten()
                .filter(|r| eq(Field::Status, &r.status))
                .map(|r| one(Some(r.facility_id), None))
                .collect(),
            Source::PdsaCycles => self
                .pdsa
                .iter()
                .flatten()
                .map(|r| one(Some(r.facility_id), None))
                .collect(),
            Source::ActionItems => self
                .actions
                .iter()
                .flatten()
                .filter(|r| {
                    let done = r.status == "done"
                        && r.done_on.as_deref().is_none_or(|d| d <= self.last.as_str());
                    let status = if r.status == "done" && !done {
                        "open"
                    } else {
                        r.status.as_str()
                    };
                    eq(Field::Status, status)
                })
                .map(|r| one(Some(r.facility_id), None))
                .collect(),
            Source::TeamTargets => self
                .targets
                .iter()
                .flatten()
                .filter(|t| {
                    eq(Field::Measure, &t.measure)
                        && (!conditions.contains(&Condition::Met)
                            || t.achieved.is_some_and(|a| a >= t.target))
                })
                .map(|t| one(Some(t.facility_id), None))
                .collect(),
            Source::TeamAssessments => self
                .awards
                .iter()
                .flatten()
                .map(|a| one(Some(a.facility_id), None))
                .collect(),
        }
    }

    fn in_quarter(&self, day: &str) -> bool {
        day >= self.first.as_str() && day <= self.last.as_str()
    }

    fn sessions(&self) -> (&[SessionRow], &[MenteeRow]) {
        self.sessions
            .as_ref()
            .map(|(s, m)| (s.as_slice(), m.as_slice()))
            .unwrap_or((&[], &[]))
    }

    /// A value per participation passing the checklist condition (on the post-test), at the
    /// training's facility or else the participant's.
    fn training_rows(
        &self,
        conditions: &[Condition],
        value: impl Fn(&TrainingRow) -> Option<f64>,
    ) -> Vec<Row> {
        self.trainings
            .iter()
            .flatten()
            .filter(|t| t.provider_id.is_some())
            .filter(|t| {
                conditions.iter().all(|c| match c {
                    Condition::Equals {
                        field: Field::Checklist,
                        value,
                    } => t.post_checklist.as_deref() == Some(value.as_str()),
                    _ => true,
                })
            })
            .filter_map(|t| {
                value(t).map(|v| Row {
                    facility: t.facility_id.or(t.provider_facility_id),
                    provider: t.provider_id,
                    value: v,
                })
            })
            .collect()
    }

    fn observation_data(&self) -> &Observations {
        static NONE: Observations = Observations {
            rows: Vec::new(),
            metrics: Vec::new(),
            by_provider: Vec::new(),
        };
        self.observations.as_ref().unwrap_or(&NONE)
    }

    /// The value of the first of `names` an observation carries.
    fn metric_ids(&self, names: &[String]) -> Vec<usize> {
        names
            .iter()
            .filter_map(|n| self.metric_ids.get(n).copied())
            .collect()
    }

    /// The value of the first of the numbered `names` the observation at `index` carries.
    fn metric_of(&self, index: usize, names: &[usize]) -> Option<f64> {
        self.observation_data()
            .metrics
            .get(index)?
            .iter()
            .find(|(n, _)| names.contains(n))
            .map(|(_, v)| *v)
    }

    /// Whether an observation passes the checklist and kind conditions.
    fn plain(o: &ObservationRow, conditions: &[Condition]) -> bool {
        conditions.iter().all(|c| match c {
            Condition::Equals {
                field: Field::Checklist,
                value,
            } => &o.checklist_id == value,
            Condition::Equals {
                field: Field::Kind,
                value,
            } => &o.checklist_kind == value,
            _ => true,
        })
    }

    /// The indices of the observations passing every condition, metric conditions on the
    /// observation itself.
    fn matching_observations(&self, conditions: &[Condition]) -> Vec<usize> {
        let tests = self.metric_tests(conditions);
        let rows = &self.observation_data().rows;
        (0..rows.len())
            .filter(|&i| Self::plain(&rows[i], conditions))
            .filter(|&i| {
                tests
                    .iter()
                    .all(|(ids, test)| match (self.metric_of(i, ids), test) {
                        (None, _) => false,
                        (Some(_), None) => true,
                        (Some(v), Some((op, n))) => op.test(v, *n),
                    })
            })
            .collect()
    }

    /// The metric conditions, with their names numbered.
    fn metric_tests(&self, conditions: &[Condition]) -> Vec<MetricTest> {
        conditions
            .iter()
            .filter_map(|c| match c {
                Condition::Metric { metric, test } => Some((self.metric_ids(&metric.names), *test)),
                _ => None,
            })
            .collect()
    }

    /// Distinct providers observed in the quarter; each metric condition is judged on the
    /// provider's latest observation carrying that metric, so a provider who failed in July
    /// and passed in September counts as passing. The provider is placed at the facility of
    /// the latest observation that decided.
    fn observed_providers(&self, conditions: &[Condition]) -> Vec<Row> {
        let data = self.observation_data();
        let metric_conditions = self.metric_tests(conditions);
        let mut out = Vec::new();
        for (provider, all) in &data.by_provider {
            // This provider's observations passing the plain conditions, latest first.
            let list = || {
                all.iter()
                    .copied()
                    .filter(|&i| Self::plain(&data.rows[i], conditions))
            };
            let Some(latest) = list().next() else {
                continue;
            };
            let mut facility = Some(data.rows[latest].facility_id);
            let mut counted = true;
            for (n, (ids, test)) in metric_conditions.iter().enumerate() {
                let decided = list().find_map(|i| self.metric_of(i, ids).map(|v| (i, v)));
                match decided {
                    None => counted = false,
                    Some((i, v)) => {
                        if n == 0 {
                            facility = Some(data.rows[i].facility_id);
                        }
                        if let Some((op, x)) = test
                            && !op.test(v, *x)
                        {
                            counted = false;
                        }
                    }
                }
            }
            if counted {
                out.push(Row {
                    facility,
                    provider: Some(*provider),
                    value: 1.0,
                });
            }
        }
        out
    }

    fn metric_rows(&self, names: &[String], conditions: &[Condition]) -> Vec<Row> {
        let ids = self.metric_ids(names);
        let rows = &self.observation_data().rows;
        self.matching_observations(conditions)
            .into_iter()
            .filter_map(|i| {
                self.metric_of(i, &ids).map(|v| Row {
                    facility: Some(rows[i].facility_id),
                    provider: Some(rows[i].provider_id),
                    value: v,
                })
            })
            .collect()
    }
}

/// Which family of data a formula reads.
fn family(f: &Formula) -> &'static str {
    match f {
        Formula::Aggregate { operand, .. } => match operand {
            Operand::Metric(_) => "observations",
            Operand::TrainingGain => "trainings",
            Operand::Award => "awards",
        },
        Formula::Count { source, .. } => match source {
            Source::Sessions | Source::Mentees | Source::FacilitiesReached => "sessions",
            Source::FacilitiesAssigned => "assigned",
            Source::Observations | Source::ObservedProviders => "observations",
            Source::Trainings
            | Source::TrainingParticipants
            | Source::TrainingTested
            | Source::TrainingPostTested
            | Source::TrainingPassed => "trainings",
            Source::DeathReviews | Source::DeathNotifications => "reviews",
            Source::Recommendations => "recommendations",
            Source::QiProjects => "qi",
            Source::PdsaCycles => "pdsa",
            Source::ActionItems => "actions",
            Source::TeamTargets => "targets",
            Source::TeamAssessments => "awards",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_rows_list_their_fields_in_order_and_mark_floats() {
        use Column::{Plain, Real};
        assert_eq!(
            TrainingRow::COLUMNS,
            [
                Plain("id"),
                Plain("facility_id"),
                Plain("provider_id"),
                Plain("provider_facility_id"),
                Plain("cadre"),
                Plain("sex"),
                Plain("pre_id"),
                Real("pre_percentage"),
                Plain("post_id"),
                Real("post_percentage"),
                Plain("post_level"),
                Plain("post_checklist"),
                Plain("organisation_id"),
            ]
        );
        assert_eq!(
            MetricRow::COLUMNS,
            [Plain("observation_id"), Plain("name"), Real("value")]
        );
    }

    fn rows(values: &[(i64, f64)], mean: bool) -> Rows {
        Rows {
            rows: values
                .iter()
                .map(|&(f, v)| Row {
                    facility: Some(f),
                    provider: None,
                    value: v,
                })
                .collect(),
            mean,
        }
    }

    #[test]
    fn value_rule() {
        let n = rows(&[(1, 1.0), (1, 1.0), (2, 1.0)], false);
        let d = rows(&[(1, 1.0), (1, 1.0), (2, 1.0), (2, 1.0)], false);
        let f = figure(
            n.rows.iter(),
            false,
            Some((d.rows.iter().collect(), false)),
            true,
        );
        assert_eq!(f.numerator, 3.0);
        assert_eq!(f.denominator, Some(4.0));
        assert_eq!(f.value, Some(75.0));
        let zero = figure(n.rows.iter(), false, Some((vec![], false)), true);
        assert_eq!(zero.value, None);
        assert_eq!(zero.denominator, Some(0.0));
        let count = figure(n.rows.iter(), false, None, false);
        assert_eq!((count.value, count.denominator), (Some(3.0), None));
        let m = rows(&[(1, 10.0), (2, 20.0)], true);
        let mean = figure(m.rows.iter(), true, None, false);
        assert_eq!((mean.numerator, mean.value), (15.0, Some(15.0)));
        let empty = figure([].iter(), true, None, false);
        assert_eq!(empty.value, None);
    }

    #[test]
    fn breakdown_pairs_numerator_and_denominator_groups() {
        let n = rows(&[(1, 1.0)], false);
        let d = rows(&[(1, 1.0), (1, 1.0), (2, 1.0)], false);
        let b = breakdown(&n, Some(&d), true, |r| r.facility, |k| format!("F{k}"));
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].key, "1");
        assert_eq!(b[0].figure.value, Some(50.0));
        assert_eq!(b[1].figure.value, Some(0.0));
        assert_eq!(b[1].figure.numerator, 0.0);
    }
}
