//! The national-scale synthetic data set of `mentortrack demo --scale national`.
//!
//! A Rwanda-shaped national programme: 5 provinces and their 30 districts, about 1,500
//! facilities (hospitals, health centres, health posts), about 30,000 providers with cadres and
//! sex, 8 partner organisations each mentoring with its own plugin or one another partner
//! granted it, mentors assigned to facilities, and five years of history: at least a million
//! scored session observations with their metrics, trainings with pre- and post-tests, death
//! reviews with recommendations, QI projects with PDSA cycles, action items agreed in sessions,
//! and community teams with quarterly targets and assessments. Activity ramps up over the first
//! months, dips in holiday months and April, and each provider's skill grows with the sessions
//! they are observed in, so pass rates rise over the years.
//!
//! `percent` scales the programme: the districts (never fewer than 3, so every partner works
//! somewhere), their facilities and providers, the mentors and every kind of record, over the
//! same five years. 10 % is a programme of ~150 facilities and ~100,000 observations.
//!
//! Speed, and what it costs in faithfulness:
//! - Scores are exactly what the plugins produce: each distinct filled checklist is checked by
//!   the host and scored through the registry like a real submission, and its card reused for
//!   every observation with the same responses and the same scoring context (session type,
//!   cadre, language). Responses come from a bank of patterns per checklist and skill level,
//!   so a million observations need a few thousand plugin calls. The context's date is left
//!   out of that key: no bundled plugin reads it, and tests/tests/national.rs re-scores a
//!   sample of stored observations with their own dates to hold that true.
//! - Rows are written by static multi-row statements that unpack a JSON array (`json_each` on
//!   SQLite, `jsonb_array_elements` on PostgreSQL), one transaction per month of history, by a
//!   task of their own so the next month is generated while the last one is written.
//! - Reference data (organisations, org units, accounts, assignments, providers) carry their
//!   audit entries as in the small demo; the generated history does not (nobody entered it).
//! - Ids are allocated here (the generator is the database's only writer while it runs);
//!   PostgreSQL's identity sequences are moved past them at the end.
//!
//! Loading happens once: the project-management organisation `NATIONAL-PM` marks a loaded data
//! set, and its name carries "(loading)" until the last row is written, so an interrupted load
//! is reported instead of being taken for a complete one. The same percent and end date always
//! give the same data set.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use chrono::{Datelike, Months, NaiveDate, Utc, Weekday};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::json;
use tokio::sync::mpsc;

use super::Rng;
use crate::auth::password;
use crate::db::{Db, DbKind, Tx};
use crate::domain::audit;
use crate::domain::org_units::{self, OrgUnit, ValidUnit};
use crate::domain::quarter::Quarter;
use crate::domain::scoring::{self, ChecklistInput};
use crate::domain::teams;
use crate::domain::trainings::{self, ParticipantInput, TrainingInput};
use crate::error::Validator;
use crate::plugins::Registry;
use crate::plugins::grants::{self, GrantInput};
use crate::plugins::lifecycle::{self, Change};
use crate::plugins::model::{Answer, Response, ScoreCard, ScoreContext};
use crate::plugins::registry::ChecklistRef;

/// Bumped whenever the generator's output changes, so cached data sets are rebuilt.
pub const GENERATOR_VERSION: u32 = 1;

/// The organisation whose presence means the national data set is loaded.
pub const MARKER_ORGANISATION: &str = "NATIONAL-PM";

/// Without a database URL the national data set gets its own file.
pub const DEFAULT_URL: &str = "sqlite://data/demo-national.db";

/// Scored session observations in the whole (100 %) data set.
pub const FULL_OBSERVATIONS: u64 = 1_020_000;

/// Years of history.
pub const YEARS: u32 = 5;

const LOADING: &str = " (loading)";
const SEED: u64 = 0x6e61_7469_6f6e_616c; // "national"

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    /// 1 to 100: the share of the national programme.
    pub percent: u32,
    /// The last day of the history (inclusive).
    pub end: NaiveDate,
    /// Draw a progress bar on standard error.
    pub progress: bool,
}

impl Options {
    /// The whole history up to yesterday.
    pub fn new(percent: u32) -> Options {
        Options {
            percent,
            end: Utc::now().date_naive() - chrono::Duration::days(1),
            progress: true,
        }
    }

    fn scale(&self) -> f64 {
        f64::from(self.percent.clamp(1, 100)) / 100.0
    }

    /// The first day of the history.
    pub fn start(&self) -> NaiveDate {
        self.end
            .checked_sub_months(Months::new(12 * YEARS))
            .and_then(|d| d.succ_opt())
            .unwrap_or(self.end)
    }
}

// ---------------------------------------------------------------------------------------------
// The programme's shape
// ---------------------------------------------------------------------------------------------

/// A province: its code, its name, and its districts' codes and names.
type Province = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Rwanda's provinces and districts. Facility names are generated; every person is invented.
const PROVINCES: [Province; 5] = [
    (
        "RW-K",
        "Kigali City",
        &[
            ("GAS", "Gasabo"),
            ("KIC", "Kicukiro"),
            ("NYG", "Nyarugenge"),
        ],
    ),
    (
        "RW-S",
        "Southern Province",
        &[
            ("GIS", "Gisagara"),
            ("HUY", "Huye"),
            ("KAM", "Kamonyi"),
            ("MUH", "Muhanga"),
            ("NYB", "Nyamagabe"),
            ("NYZ", "Nyanza"),
            ("NYR", "Nyaruguru"),
            ("RUH", "Ruhango"),
        ],
    ),
    (
        "RW-W",
        "Western Province",
        &[
            ("KAR", "Karongi"),
            ("NGO", "Ngororero"),
            ("NYA", "Nyabihu"),
            ("NYM", "Nyamasheke"),
            ("RUB", "Rubavu"),
            ("RSZ", "Rusizi"),
            ("RUT", "Rutsiro"),
        ],
    ),
    (
        "RW-N",
        "Northern Province",
        &[
            ("BUR", "Burera"),
            ("GAK", "Gakenke"),
            ("GIC", "Gicumbi"),
            ("MUS", "Musanze"),
            ("RUL", "Rulindo"),
        ],
    ),
    (
        "RW-E",
        "Eastern Province",
        &[
            ("BUG", "Bugesera"),
            ("GAT", "Gatsibo"),
            ("KAY", "Kayonza"),
            ("KIR", "Kirehe"),
            ("NGM", "Ngoma"),
            ("NYT", "Nyagatare"),
            ("RWA", "Rwamagana"),
        ],
    ),
];

const DISTRICTS: usize = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Hospital,
    HealthCentre,
    HealthPost,
}

impl Kind {
    fn facility_type(self) -> &'static str {
        match self {
            Kind::Hospital => "hospital",
            Kind::HealthCentre => "health_centre",
            Kind::HealthPost => "health_post",
        }
    }

    /// Mentorship visits a month relative to a health centre's: hospitals hold weekly drills
    /// for several wards, health posts see a mentor every other month or so.
    fn visit_weight(self) -> f64 {
        match self {
            Kind::Hospital => 4.0,
            Kind::HealthCentre => 1.5,
            Kind::HealthPost => 0.5,
        }
    }

    /// Providers working there: (cadre, share in percent).
    fn cadres(self) -> &'static [(&'static str, u32)] {
        match self {
            Kind::Hospital => &[
                ("midwife", 30),
                ("nurse", 40),
                ("doctor", 14),
                ("clinical_officer", 6),
                ("other", 10),
            ],
            Kind::HealthCentre => &[
                ("nurse", 45),
                ("midwife", 25),
                ("other", 6),
                ("community_health_worker", 10),
                ("village_health_support_group", 8),
                ("traditional_birth_attendant", 6),
            ],
            Kind::HealthPost => &[
                ("nurse", 45),
                ("midwife", 10),
                ("community_health_worker", 25),
                ("village_health_volunteer", 10),
                ("other", 10),
            ],
        }
    }
}

/// The cadres mentors observe on clinical checklists.
fn clinical(cadre: &str) -> bool {
    matches!(
        cadre,
        "midwife" | "nurse" | "doctor" | "clinical_officer" | "other"
    )
}

struct PartnerSpec {
    code: &'static str,
    name: &'static str,
    kind: &'static str,
    language: &'static str,
    /// Works in district `d` when `districts[d % 3]`.
    districts: [bool; 3],
    kinds: &'static [Kind],
    /// Registers community cadres (health workers, volunteers, support groups, birth
    /// attendants) as well as facility staff.
    community: bool,
    /// Records the maternal and perinatal death reviews of its facilities.
    mpdsr: bool,
    /// Session checklists: (plugin key, checklist id, session type, weight).
    uses: &'static [(&'static str, &'static str, &'static str, u32)],
    trainings: &'static [&'static str],
}

const H: Kind = Kind::Hospital;
const HC: Kind = Kind::HealthCentre;
const HP: Kind = Kind::HealthPost;

/// The partners, the plugins they publish (RAM `ldhf`, RSOG `emonc`, RPA `hbb`, JHPIEGO `qi`,
/// CARE `care-lead`) and the areas they cover; every facility is covered by at least one.
const PARTNERS: [PartnerSpec; 8] = [
    PartnerSpec {
        code: "RAM",
        name: "Rwanda Association of Midwives",
        kind: "professional_association",
        language: "rw",
        districts: [true, true, false],
        kinds: &[H, HC],
        community: false,
        mpdsr: false,
        uses: &[
            ("ldhf", "amtsl", "skills_drill", 3),
            ("ldhf", "pph", "skills_drill", 3),
            ("hbb", "bag-mask", "simulation", 2),
            ("hbb", "osce-a", "simulation", 1),
        ],
        trainings: &[
            "Helping Babies Breathe for midwives",
            "Active management of the third stage: refresher",
        ],
    },
    PartnerSpec {
        code: "RSOG",
        name: "Rwanda Society of Obstetricians and Gynecologists",
        kind: "professional_association",
        language: "fr",
        districts: [true, true, true],
        kinds: &[H],
        community: false,
        mpdsr: true,
        uses: &[
            ("emonc", "shoulder-dystocia", "simulation", 2),
            ("emonc", "cord-prolapse", "simulation", 1),
            ("emonc", "newborn-resuscitation", "simulation", 2),
            ("emonc", "pph", "skills_drill", 3),
        ],
        trainings: &["EmONC skills: obstetric emergencies"],
    },
    PartnerSpec {
        code: "RPA",
        name: "Rwanda Paediatric Association",
        kind: "professional_association",
        language: "en",
        districts: [false, true, true],
        kinds: &[H, HC],
        community: false,
        mpdsr: false,
        uses: &[
            ("hbb", "bag-mask", "skills_drill", 3),
            ("hbb", "osce-a", "simulation", 2),
            ("hbb", "osce-b", "simulation", 2),
        ],
        trainings: &[
            "Helping Babies Breathe: initial training",
            "Essential newborn care",
        ],
    },
    PartnerSpec {
        code: "JHPIEGO",
        name: "Jhpiego Rwanda",
        kind: "ngo",
        language: "en",
        districts: [true, false, true],
        kinds: &[HC],
        community: false,
        mpdsr: true,
        uses: &[
            ("qi", "supportive-supervision", "clinical_observation", 4),
            ("ldhf", "amtsl", "skills_drill", 2),
        ],
        trainings: &["Supportive supervision for facility mentors"],
    },
    PartnerSpec {
        code: "CARE",
        name: "CARE Rwanda",
        kind: "ngo",
        language: "rw",
        districts: [true, false, false],
        kinds: &[HC, HP],
        community: true,
        mpdsr: false,
        uses: &[
            ("hbb", "bag-mask", "skills_drill", 2),
            ("ldhf", "pph", "skills_drill", 1),
        ],
        trainings: &["Helping Babies Breathe at health posts"],
    },
    PartnerSpec {
        code: "RNMU",
        name: "Rwanda Nurses and Midwives Union",
        kind: "professional_association",
        language: "rw",
        districts: [false, true, false],
        kinds: &[HC, HP],
        community: true,
        mpdsr: false,
        uses: &[
            ("ldhf", "amtsl", "skills_drill", 2),
            ("ldhf", "pph", "skills_drill", 2),
            ("hbb", "osce-a", "simulation", 1),
        ],
        trainings: &["Bleeding after birth: drills for nurses"],
    },
    PartnerSpec {
        code: "IMB",
        name: "Inshuti Mu Buzima",
        kind: "ngo",
        language: "en",
        districts: [false, false, true],
        kinds: &[H, HC, HP],
        community: true,
        mpdsr: true,
        uses: &[
            ("emonc", "pph", "skills_drill", 2),
            ("emonc", "newborn-resuscitation", "simulation", 2),
            ("hbb", "bag-mask", "skills_drill", 1),
            ("ldhf", "amtsl", "skills_drill", 1),
        ],
        trainings: &["Emergency obstetric and newborn care for district teams"],
    },
    PartnerSpec {
        code: "SFH",
        name: "Society for Family Health Rwanda",
        kind: "ngo",
        language: "fr",
        districts: [false, true, false],
        kinds: &[HC, HP],
        community: true,
        mpdsr: false,
        uses: &[
            ("hbb", "bag-mask", "skills_drill", 2),
            ("hbb", "osce-b", "simulation", 1),
            ("ldhf", "pph", "skills_drill", 1),
        ],
        trainings: &["Helping Babies Breathe: refresher for new staff"],
    },
];

/// (publisher, plugin key, grantees).
const GRANTS: &[(&str, &str, &[&str])] = &[
    (
        "RPA",
        "hbb",
        &["RAM", "RSOG", "JHPIEGO", "CARE", "RNMU", "IMB", "SFH"],
    ),
    ("RAM", "ldhf", &["JHPIEGO", "CARE", "RNMU", "IMB", "SFH"]),
    ("RSOG", "emonc", &["IMB"]),
];

/// Jhpiego's quarterly facility assessment, held in each quarter's second month.
const FACILITY_ASSESSMENT: (&str, &str) = ("qi", "sbmr-mnh");
/// The training pre- and post-test every partner may use (RPA shares it).
const TRAINING_TEST: (&str, &str) = ("hbb", "knowledge-check");
/// CARE's quarterly team assessment.
const TEAM_ASSESSMENT: (&str, &str) = ("care-lead", "team-quarterly");

const LANGUAGES: [&str; 3] = ["rw", "fr", "en"];
/// Skill levels and response variants per level in the bank of filled checklists.
const LEVELS: u8 = 12;
const VARIANTS: usize = 6;
/// Facilities one mentor covers at most.
const PER_MENTOR: usize = 8;

// ---------------------------------------------------------------------------------------------
// What was loaded
// ---------------------------------------------------------------------------------------------

/// What the database holds after a national load, read back from it.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// How long this call took; `None` when the data set was already loaded.
    pub loaded_in: Option<Duration>,
    pub partners: i64,
    pub districts: i64,
    pub hospitals: i64,
    pub health_centres: i64,
    pub health_posts: i64,
    pub providers: i64,
    pub mentors: i64,
    pub sessions: i64,
    pub observations: i64,
    pub metrics: i64,
    pub trainings: i64,
    pub training_tests: i64,
    pub death_reviews: i64,
    pub recommendations: i64,
    pub qi_projects: i64,
    pub action_items: i64,
    pub teams: i64,
    pub team_assessments: i64,
    pub first_day: Option<String>,
    pub last_day: Option<String>,
    /// Plugin calls the load made (each distinct filled checklist and context once).
    pub plugin_calls: u64,
}

impl Summary {
    pub fn facilities(&self) -> i64 {
        self.hospitals + self.health_centres + self.health_posts
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = "=".repeat(78);
        writeln!(f, "{rule}")?;
        match self.loaded_in {
            Some(d) => writeln!(
                f,
                " mentortrack national data set - generated in {:.1} s ({} plugin calls)",
                d.as_secs_f64(),
                self.plugin_calls
            )?,
            None => writeln!(f, " mentortrack national data set - already loaded")?,
        }
        writeln!(f, "{rule}")?;
        writeln!(
            f,
            " {} partners; {} districts; {} facilities ({} hospitals, {} health centres, {} health posts)",
            self.partners,
            self.districts,
            self.facilities(),
            self.hospitals,
            self.health_centres,
            self.health_posts
        )?;
        writeln!(
            f,
            " {} providers, {} mentors; history {} to {}",
            self.providers,
            self.mentors,
            self.first_day.as_deref().unwrap_or("-"),
            self.last_day.as_deref().unwrap_or("-")
        )?;
        writeln!(
            f,
            " {} sessions, {} scored observations with {} metric values",
            self.sessions, self.observations, self.metrics
        )?;
        writeln!(
            f,
            " {} trainings ({} pre- and post-tests), {} death reviews ({} recommendations)",
            self.trainings, self.training_tests, self.death_reviews, self.recommendations
        )?;
        writeln!(
            f,
            " {} QI projects, {} action items, {} community teams ({} quarterly assessments)",
            self.qi_projects, self.action_items, self.teams, self.team_assessments
        )?;
        writeln!(f)?;
        writeln!(
            f,
            " Sign in as admin@{0} or manager@{0} (or admin.<partner>@{0},",
            super::EMAIL_DOMAIN
        )?;
        writeln!(
            f,
            " mentor<n>.<partner>@{}) with the password {}",
            super::EMAIL_DOMAIN,
            super::PASSWORD
        )?;
        write!(f, "{rule}")
    }
}

/// Reads the summary of what is loaded.
pub async fn summary(db: &Db) -> anyhow::Result<Summary> {
    let pool = db.pool();
    let counts: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM organisations WHERE kind IN ('professional_association', 'ngo')),
                (SELECT COUNT(*) FROM org_units WHERE level = 'district'),
                (SELECT COUNT(*) FROM org_units WHERE facility_type = 'hospital'),
                (SELECT COUNT(*) FROM org_units WHERE facility_type = 'health_centre'),
                (SELECT COUNT(*) FROM org_units WHERE facility_type = 'health_post'),
                (SELECT COUNT(*) FROM providers),
                (SELECT COUNT(*) FROM users WHERE role = 'mentor')",
    )
    .fetch_one(pool)
    .await
    .context("counting the national data set's reference data")?;
    let history: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM sessions),
                (SELECT COUNT(*) FROM observations WHERE session_id IS NOT NULL),
                (SELECT COUNT(*) FROM observation_metrics),
                (SELECT COUNT(*) FROM trainings),
                (SELECT COUNT(*) FROM observations WHERE training_id IS NOT NULL),
                (SELECT COUNT(*) FROM death_reviews),
                (SELECT COUNT(*) FROM death_review_recommendations)",
    )
    .fetch_one(pool)
    .await
    .context("counting the national data set's history")?;
    let more: (i64, i64, i64, i64, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM qi_projects),
                (SELECT COUNT(*) FROM action_items),
                (SELECT COUNT(*) FROM teams),
                (SELECT COUNT(*) FROM team_assessments),
                (SELECT MIN(session_date) FROM sessions),
                (SELECT MAX(session_date) FROM sessions)",
    )
    .fetch_one(pool)
    .await
    .context("counting the national data set's reporting records")?;
    Ok(Summary {
        loaded_in: None,
        partners: counts.0,
        districts: counts.1,
        hospitals: counts.2,
        health_centres: counts.3,
        health_posts: counts.4,
        providers: counts.5,
        mentors: counts.6,
        sessions: history.0,
        observations: history.1,
        metrics: history.2,
        trainings: history.3,
        training_tests: history.4,
        death_reviews: history.5,
        recommendations: history.6,
        qi_projects: more.0,
        action_items: more.1,
        teams: more.2,
        team_assessments: more.3,
        first_day: more.4,
        last_day: more.5,
        plugin_calls: 0,
    })
}

/// Whether a complete national data set is loaded. An interrupted load is an error: its data
/// are partial, and loading again on top of them would mix two runs.
pub async fn is_loaded(db: &Db) -> anyhow::Result<bool> {
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM organisations WHERE code = $1")
        .bind(MARKER_ORGANISATION)
        .fetch_optional(db.pool())
        .await
        .context("checking whether the national data set is loaded")?;
    match name {
        None => Ok(false),
        Some(n) if n.ends_with(LOADING) => bail!(
            "a national data set load into this database was interrupted; delete the database \
             and run the command again"
        ),
        Some(_) => Ok(true),
    }
}

// ---------------------------------------------------------------------------------------------
// Multi-row inserts from JSON
// ---------------------------------------------------------------------------------------------

/// One table's multi-row insert in both engines' spellings. `$1` is a JSON array of rows, each
/// an array of the columns in order.
struct Bulk {
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
        static $name: Bulk = Bulk {
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
bulk!(OBSERVATIONS: "observations" (
    id 0 "BIGINT", session_id 1 "TEXT", training_id 2 "TEXT", phase 3 "TEXT",
    position 4 "BIGINT", provider_id 5 "BIGINT", observed_on 6 "TEXT",
    plugin_version_id 7 "BIGINT", plugin_key 8 "TEXT", plugin_version 9 "TEXT",
    plugin_sha256 10 "TEXT", checklist_id 11 "TEXT", checklist_version 12 "TEXT",
    checklist_kind 13 "TEXT", checklist_title 14 "TEXT", responses_json 15 "TEXT",
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
bulk!(ASSESSMENTS: "team_assessments" (
    id 0 "BIGINT", team_id 1 "BIGINT", quarter 2 "TEXT", assessed_on 3 "TEXT",
    plugin_version_id 4 "BIGINT", plugin_key 5 "TEXT", plugin_version 6 "TEXT",
    plugin_sha256 7 "TEXT", checklist_id 8 "TEXT", responses_json 9 "TEXT",
    percentage 10 "DOUBLE PRECISION", outcome_code 11 "TEXT", outcome_level 12 "TEXT",
    card_json 13 "TEXT", award_amount 14 "DOUBLE PRECISION", assessed_by 15 "BIGINT",
    revision 16 "BIGINT", created_at 17 "TEXT", updated_at 18 "TEXT",
));

/// PostgreSQL hands out identity values from sequences that know nothing of the ids written
/// here; each is moved past the largest id so the application's own inserts keep working.
const RESYNC_SEQUENCES: &str = "SELECT
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
struct Row<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl Row<'_> {
    fn next(&mut self) {
        self.buf.push(if self.first { b'[' } else { b',' });
        self.first = false;
    }

    fn int(mut self, v: i64) -> Self {
        self.next();
        // Writing into a Vec cannot fail.
        let _ = write!(self.buf, "{v}");
        self
    }

    fn opt_int(self, v: Option<i64>) -> Self {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    fn real(mut self, v: f64) -> Self {
        if !v.is_finite() {
            return self.null();
        }
        self.next();
        let _ = serde_json::to_writer(&mut *self.buf, &v);
        self
    }

    fn opt_real(self, v: Option<f64>) -> Self {
        match v {
            Some(v) => self.real(v),
            None => self.null(),
        }
    }

    fn text(mut self, s: &str) -> Self {
        self.next();
        let _ = serde_json::to_writer(&mut *self.buf, s);
        self
    }

    fn opt_text(self, s: Option<&str>) -> Self {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    fn null(mut self) -> Self {
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
struct Chunk {
    table: &'static Bulk,
    rows: String,
}

/// The statements of one transaction, in an order that writes parents before children.
type Batch = Vec<Chunk>;

async fn write_batch(db: &Db, batch: Batch) -> anyhow::Result<()> {
    let mut tx = db.begin().await.context("starting a bulk transaction")?;
    for chunk in batch {
        sqlx::query(chunk.table.sql(db.kind()))
            .bind(chunk.rows)
            .execute(&mut *tx)
            .await
            .with_context(|| {
                let sql = chunk.table.sqlite;
                let table = sql.split_whitespace().nth(2).unwrap_or("?");
                format!("bulk insert into {table}")
            })?;
    }
    tx.commit().await.context("committing a bulk transaction")?;
    Ok(())
}

/// Tables collected together, flushed in declaration order.
struct Tables(Vec<Rows>);

impl Tables {
    fn new(tables: &[&'static Bulk]) -> Tables {
        Tables(tables.iter().map(|t| Rows::new(t)).collect())
    }

    /// The rows of a table (a `static`, so its address names it). Asking for a table the
    /// set was not made with is a bug in the generator.
    fn get(&mut self, table: &'static Bulk) -> &mut Rows {
        let i = self.0.iter().position(|r| std::ptr::eq(r.table, table));
        match i {
            Some(i) => &mut self.0[i],
            None => panic!("generator bug: no rows collected for {}", table.sqlite),
        }
    }

    fn is_full(&self) -> bool {
        self.0.iter().any(|r| r.buf.len() > FLUSH_BYTES)
    }

    /// Everything collected so far, parents first.
    fn drain_into(&mut self, batch: &mut Batch) -> anyhow::Result<()> {
        for r in &mut self.0 {
            if let Some(c) = r.take()? {
                batch.push(c);
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Scoring through the plugins, once per distinct filled checklist and context
// ---------------------------------------------------------------------------------------------

/// A filled checklist from the bank.
struct Pattern {
    responses: Vec<Response>,
    responses_json: String,
}

/// A plugin's score card, as stored.
struct Card {
    percentage: Option<f64>,
    outcome_code: String,
    outcome_level: &'static str,
    card_json: String,
    /// Finite values, each name once, as `scoring::insert` keeps them.
    metrics: Vec<(String, f64)>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct CardKey {
    checklist: usize,
    level: u8,
    variant: u8,
    session_type: &'static str,
    cadre: &'static str,
    language: &'static str,
}

/// A checklist the generator uses, with what observations store of it.
struct Listed {
    r: ChecklistRef,
    kind: &'static str,
    title_json: String,
}

struct Scorer<'a> {
    registry: &'a Registry,
    checklists: Vec<Listed>,
    patterns: HashMap<(usize, u8, u8), Arc<Pattern>>,
    cards: HashMap<CardKey, Arc<Card>>,
    calls: u64,
}

impl Scorer<'_> {
    fn index(&mut self, r: &ChecklistRef) -> anyhow::Result<usize> {
        if let Some(i) = self.checklists.iter().position(|l| {
            l.r.plugin_version_id == r.plugin_version_id && l.r.checklist.id == r.checklist.id
        }) {
            return Ok(i);
        }
        self.checklists.push(Listed {
            kind: scoring::kind_str(r.checklist.kind),
            title_json: scoring::json(&r.checklist.title).map_err(crate::cli::explain)?,
            r: r.clone(),
        });
        Ok(self.checklists.len() - 1)
    }

    /// The bank's filled checklist for a skill level and variant, checked by the host the way
    /// a submission is.
    fn pattern(
        &mut self,
        checklist: usize,
        level: u8,
        variant: u8,
    ) -> anyhow::Result<Arc<Pattern>> {
        if let Some(p) = self.patterns.get(&(checklist, level, variant)) {
            return Ok(p.clone());
        }
        let c = &self.checklists[checklist].r.checklist;
        let mut rng = Rng::new(
            SEED ^ ((checklist as u64) << 40) ^ (u64::from(level) << 20) ^ u64::from(variant),
        );
        let skill = f64::from(level) / f64::from(LEVELS);
        let responses = super::activity::answers(c, skill, &mut rng);
        let mut v = Validator::new();
        scoring::check_responses(c, &responses, "responses", &mut v);
        v.finish()
            .map_err(crate::cli::explain)
            .with_context(|| format!("generated responses to {} fail the host's check", c.id))?;
        let pattern = Arc::new(Pattern {
            responses_json: scoring::json(&responses).map_err(crate::cli::explain)?,
            responses,
        });
        self.patterns
            .insert((checklist, level, variant), pattern.clone());
        Ok(pattern)
    }

    async fn card(
        &mut self,
        key: CardKey,
        date: &str,
    ) -> anyhow::Result<(Arc<Pattern>, Arc<Card>)> {
        let pattern = self.pattern(key.checklist, key.level, key.variant)?;
        if let Some(card) = self.cards.get(&key) {
            return Ok((pattern, card.clone()));
        }
        let c = &self.checklists[key.checklist].r;
        let (version, checklist) = (c.plugin_version_id, c.checklist.id.clone());
        let context = ScoreContext {
            session_type: key.session_type.to_string(),
            mentee_cadre: key.cadre.to_string(),
            date: date.to_string(),
            language: key.language.to_string(),
        };
        let (card, _) = self
            .score(version, &checklist, pattern.responses.clone(), context)
            .await?;
        self.cards.insert(key, card.clone());
        Ok((pattern, card))
    }

    async fn score(
        &mut self,
        version: i64,
        checklist: &str,
        responses: Vec<Response>,
        context: ScoreContext,
    ) -> anyhow::Result<(Arc<Card>, ScoreCard)> {
        self.calls += 1;
        let scored = self
            .registry
            .score(version, checklist, responses, context)
            .await
            .map_err(|e| anyhow!("scoring {checklist}: {e}"))?;
        let card = scored
            .outcome
            .map_err(|e| anyhow!("the plugin refused generated responses to {checklist}: {e:?}"))?;
        let mut metrics: Vec<(String, f64)> = Vec::with_capacity(card.metrics.len());
        for m in &card.metrics {
            if m.value.is_finite() && !metrics.iter().any(|(n, _)| *n == m.name) {
                metrics.push((m.name.clone(), m.value));
            }
        }
        let stored = Arc::new(Card {
            percentage: card.percentage,
            outcome_code: card.outcome.code.clone(),
            outcome_level: card.outcome.level.as_str(),
            card_json: scoring::json(&card).map_err(crate::cli::explain)?,
            metrics,
        });
        Ok((stored, card))
    }
}

/// Writes one scored checklist and its metrics.
#[allow(clippy::too_many_arguments)]
fn observation_rows(
    t: &mut Tables,
    id: i64,
    owner: (Option<&str>, Option<&str>, Option<&str>),
    position: i64,
    provider: i64,
    day: &str,
    listed: &Listed,
    pattern: &Pattern,
    card: &Card,
    scored_at: &str,
) {
    let r = &listed.r;
    t.get(&OBSERVATIONS)
        .row()
        .int(id)
        .opt_text(owner.0)
        .opt_text(owner.1)
        .opt_text(owner.2)
        .int(position)
        .int(provider)
        .text(day)
        .int(r.plugin_version_id)
        .text(&r.plugin_key)
        .text(&r.plugin_version)
        .text(&r.sha256)
        .text(&r.checklist.id)
        .text(&r.checklist.version)
        .text(listed.kind)
        .text(&listed.title_json)
        .text(&pattern.responses_json)
        .opt_real(card.percentage)
        .text(&card.outcome_code)
        .text(card.outcome_level)
        .text(&card.card_json)
        .text(scored_at);
    let metrics = t.get(&METRICS);
    for (name, value) in &card.metrics {
        metrics.row().int(id).text(name).real(*value);
    }
}

// ---------------------------------------------------------------------------------------------
// The world: who works where
// ---------------------------------------------------------------------------------------------

struct District {
    index: usize,
    name: &'static str,
}

struct Facility {
    id: i64,
    district: usize,
    kind: Kind,
    name: String,
}

struct Provider {
    id: i64,
    partner: usize,
    facility: usize,
    cadre: &'static str,
    active: bool,
    /// Skill before any mentoring, 0–1.
    talent: f64,
    /// Observations so far: skill grows with them.
    observed: u32,
}

impl Provider {
    fn level(&self, rng: &mut Rng) -> u8 {
        let learned = 1.0 - (-f64::from(self.observed) / 7.0).exp();
        let skill = self.talent + (0.96 - self.talent) * learned + 0.16 * (uniform(rng) - 0.5);
        (skill.clamp(0.0, 1.0) * f64::from(LEVELS)).round() as u8
    }
}

struct Mentor {
    id: i64,
    partner: usize,
    name: String,
    language: &'static str,
}

struct Partner {
    spec: &'static PartnerSpec,
    id: i64,
    admin: i64,
    /// (checklist index, session type, weight).
    uses: Vec<(usize, &'static str, u32)>,
}

/// A mentor at one of their facilities, and the partner's providers they may mentor there.
struct Pair {
    mentor: usize,
    facility: usize,
    partner: usize,
    weight: f64,
    mentees: Vec<usize>,
}

struct World {
    partners: Vec<Partner>,
    districts: Vec<District>,
    facilities: Vec<Facility>,
    providers: Vec<Provider>,
    mentors: Vec<Mentor>,
    pairs: Vec<Pair>,
    /// Indicator ids by catalogue code, for QI projects.
    indicators: HashMap<String, i64>,
    /// The next ids of tables whose ids are allocated here.
    next_observation: i64,
    next_action: i64,
}

fn uniform(rng: &mut Rng) -> f64 {
    (rng.next() >> 11) as f64 / (1u64 << 53) as f64
}

fn weighted<T>(rng: &mut Rng, items: &[T], weight: impl Fn(&T) -> u32) -> usize {
    let total: u32 = items.iter().map(&weight).sum();
    let mut x = rng.below(total.max(1) as usize) as u32;
    for (i, item) in items.iter().enumerate() {
        let w = weight(item);
        if x < w {
            return i;
        }
        x -= w;
    }
    0
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A timestamp on a day, during working hours.
fn stamp(d: NaiveDate, rng: &mut Rng) -> String {
    format!(
        "{}T{:02}:{:02}:{:02}.{:03}Z",
        day(d),
        7 + rng.below(9),
        rng.below(60),
        rng.below(60),
        rng.below(1000)
    )
}

/// A random UUID (version 4 layout) from the generator: the same run, the same ids.
fn uuid(rng: &mut Rng) -> String {
    let (a, b) = (rng.next(), rng.next());
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h: String = bytes.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

const SYLLABLES_START: [&str; 16] = [
    "Ka", "Ki", "Ru", "Nya", "Mu", "Gi", "Bu", "Ma", "Rwa", "Nyi", "Ga", "Ki", "Mwi", "Cya", "Ngo",
    "Shya",
];
const SYLLABLES_MIDDLE: [&str; 12] = [
    "ba", "ga", "ma", "ra", "nzi", "ko", "ye", "bi", "ru", "shi", "nga", "mba",
];
const SYLLABLES_END: [&str; 12] = [
    "ngo", "ro", "mba", "ye", "ra", "zi", "ka", "bo", "nda", "mo", "nge", "ti",
];

fn place_name(rng: &mut Rng) -> String {
    let mut s = String::from(rng.pick(&SYLLABLES_START));
    if rng.percent(60) {
        s.push_str(rng.pick(&SYLLABLES_MIDDLE));
    }
    s.push_str(rng.pick(&SYLLABLES_END));
    s
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// Generates the national data set unless it is already there, and returns what the database
/// holds. Refuses a database that holds other data, as the small demo does.
pub async fn load(db: &Db, registry: &Registry, options: &Options) -> anyhow::Result<Summary> {
    anyhow::ensure!(
        (1..=100).contains(&options.percent),
        "the national data set's percent must be from 1 to 100, not {}",
        options.percent
    );
    if is_loaded(db).await? {
        return summary(db).await;
    }
    let started = Instant::now();
    let (orgs, units, users): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM organisations), (SELECT COUNT(*) FROM org_units),
                (SELECT COUNT(*) FROM users)",
    )
    .fetch_one(db.pool())
    .await
    .context("checking whether the database is empty")?;
    if orgs + units + users > 0 {
        bail!(
            "this database already holds data ({orgs} organisations, {units} org units, {users} \
             users); the national data set loads only into an empty database, because its \
             accounts share a published password. Run it without --database-url to use {DEFAULT_URL}"
        );
    }
    let bar = if options.progress {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {prefix} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    bar.set_prefix("reference data");

    let hash = password::hash(super::PASSWORD.to_string())
        .await
        .map_err(crate::cli::explain)
        .context("hashing the demo password")?;
    let mut world = reference_data(db, options, &hash).await?;
    let mut scorer = Scorer {
        registry,
        checklists: Vec::new(),
        patterns: HashMap::new(),
        cards: HashMap::new(),
        calls: 0,
    };
    bar.set_prefix("plugins");
    plugins(db, registry, &mut world, &mut scorer).await?;

    // The writer runs beside the generator: month n+1 is generated while month n is written.
    let (sender, mut receiver) = mpsc::channel::<Batch>(2);
    let writer_db = db.clone();
    let writer = tokio::spawn(async move {
        while let Some(batch) = receiver.recv().await {
            write_batch(&writer_db, batch).await?;
        }
        anyhow::Ok(())
    });
    let generated = async {
        history(&mut world, &mut scorer, options, &bar, &sender).await?;
        bar.set_prefix("trainings");
        trainings(&mut world, &mut scorer, options, &sender).await?;
        bar.set_prefix("death reviews");
        death_reviews(&world, options, &sender).await?;
        bar.set_prefix("QI projects");
        qi_projects(&world, options, &sender).await?;
        bar.set_prefix("teams");
        teams(&world, &mut scorer, options, &sender).await?;
        anyhow::Ok(())
    }
    .await;
    drop(sender);
    let written = writer
        .await
        .map_err(|e| anyhow!("the database writer stopped: {e}"))?;
    // A write error explains a generator that stopped because the channel closed.
    written?;
    generated?;

    bar.set_prefix("finishing");
    if db.kind() == DbKind::Postgres {
        sqlx::query(RESYNC_SEQUENCES)
            .execute(db.pool())
            .await
            .context("moving PostgreSQL's id sequences past the generated ids")?;
    }
    sqlx::query("UPDATE organisations SET name = $1 WHERE code = $2")
        .bind(pm_name(options))
        .bind(MARKER_ORGANISATION)
        .execute(db.pool())
        .await
        .context("marking the national data set complete")?;
    bar.finish_and_clear();
    let mut out = summary(db).await?;
    out.loaded_in = Some(started.elapsed());
    out.plugin_calls = scorer.calls;
    Ok(out)
}

fn pm_name(options: &Options) -> String {
    format!(
        "National LDHF Programme Management Unit (synthetic data set, {} %)",
        options.percent
    )
}

/// Organisations, org units, accounts, assignments and providers, in one transaction.
async fn reference_data(db: &Db, options: &Options, hash: &str) -> anyhow::Result<World> {
    let now = crate::time::now();
    let scale = options.scale();
    let created = format!("{}T08:00:00.000Z", day(options.start()));
    let mut rng = Rng::new(SEED ^ u64::from(options.percent));
    let mut tx = db.begin().await.context("starting the reference data")?;

    // Organisations: project management (the marker, named as loading until the end), the
    // ministry, the partners.
    let mut org_ids = Vec::new();
    let loading = format!("{}{LOADING}", pm_name(options));
    let others = [
        (MARKER_ORGANISATION, loading.as_str(), "project_management"),
        ("MOH-RW", "Ministry of Health Rwanda", "ministry"),
    ];
    for (code, name, kind) in others
        .into_iter()
        .chain(PARTNERS.iter().map(|p| (p.code, p.name, p.kind)))
    {
        let id = organisation(&mut tx, &now, code, name, kind).await?;
        org_ids.push(id);
    }
    let pm = org_ids[0];
    for (local, role, name, language) in [
        ("admin", "admin", "Claudine Mukamana", "en"),
        ("manager", "manager", "Jean Paul Habimana", "fr"),
    ] {
        let email = format!("{local}@{}", super::EMAIL_DOMAIN);
        super::insert_user(&mut tx, &now, hash, pm, &email, name, role, language).await?;
    }

    // Districts: round-robin over the provinces, so a smaller programme still spans them.
    let country = unit(&mut tx, None, "country", None, "RW".into(), "Rwanda".into()).await?;
    let mut provinces = Vec::new();
    for (code, name, _) in PROVINCES {
        provinces.push(
            unit(
                &mut tx,
                Some(&country),
                "province",
                None,
                code.into(),
                name.into(),
            )
            .await?,
        );
    }
    let mut order = Vec::new();
    for i in 0.. {
        let before = order.len();
        for (p, (_, _, districts)) in PROVINCES.iter().enumerate() {
            if let Some(d) = districts.get(i) {
                order.push((p, *d));
            }
        }
        if order.len() == before {
            break;
        }
    }
    let district_count = ((DISTRICTS as f64 * scale).round() as usize).clamp(3, DISTRICTS);
    // Below 10 % the districts keep only part of their facilities.
    let density = (DISTRICTS as f64 * scale / district_count as f64).min(1.0);
    let mut districts = Vec::new();
    let mut facilities = Vec::new();
    for (index, (p, (key, name))) in order.into_iter().take(district_count).enumerate() {
        let d = unit(
            &mut tx,
            Some(&provinces[p]),
            "district",
            None,
            format!("RW-{key}"),
            name.to_string(),
        )
        .await?;
        districts.push(District { index, name });
        let hospitals = 1 + rng.below(2) + usize::from(rng.below(4) == 0);
        let centres = 14 + rng.below(7);
        let posts = 26 + rng.below(13);
        for (kind, full) in [
            (Kind::Hospital, hospitals),
            (Kind::HealthCentre, centres),
            (Kind::HealthPost, posts),
        ] {
            let n = ((full as f64 * density).round() as usize).max(1);
            let mut used: Vec<String> = Vec::new();
            for i in 0..n {
                let place = if kind == Kind::Hospital && i == 0 {
                    name.to_string()
                } else {
                    let mut p = place_name(&mut rng);
                    while used.contains(&p) {
                        p = place_name(&mut rng);
                    }
                    p
                };
                used.push(place.clone());
                let (label, abbrev) = match kind {
                    Kind::Hospital if i == 0 => (format!("{place} District Hospital"), "H"),
                    Kind::Hospital => (format!("{place} Hospital"), "H"),
                    Kind::HealthCentre => (format!("{place} Health Centre"), "HC"),
                    Kind::HealthPost => (format!("{place} Health Post"), "HP"),
                };
                let f = unit(
                    &mut tx,
                    Some(&d),
                    "facility",
                    Some(kind.facility_type()),
                    format!("RW-{key}-{abbrev}{:02}", i + 1),
                    label.clone(),
                )
                .await?;
                facilities.push(Facility {
                    id: f.id,
                    district: districts.len() - 1,
                    kind,
                    name: label,
                });
            }
        }
    }

    // Partners: an org admin each, mentors for each district they cover, each mentor at up to
    // PER_MENTOR of the partner's facilities there.
    let mut partners = Vec::new();
    let mut mentors: Vec<Mentor> = Vec::new();
    let mut assignments: Vec<(usize, usize)> = Vec::new();
    for (n, spec) in PARTNERS.iter().enumerate() {
        let id = org_ids[2 + n];
        let lower = spec.code.to_lowercase();
        let email = format!("admin.{lower}@{}", super::EMAIL_DOMAIN);
        let female = rng.percent(60);
        let admin_name = super::provider_name(&mut rng, "RW", female);
        let admin = super::insert_user(
            &mut tx,
            &now,
            hash,
            id,
            &email,
            &admin_name,
            "org_admin",
            spec.language,
        )
        .await?;
        for district in &districts {
            if !spec.districts[district.index % 3] {
                continue;
            }
            let covered: Vec<usize> = facilities
                .iter()
                .enumerate()
                .filter(|(_, f)| {
                    districts[f.district].index == district.index && spec.kinds.contains(&f.kind)
                })
                .map(|(i, _)| i)
                .collect();
            for group in covered.chunks(PER_MENTOR) {
                let number = mentors.iter().filter(|m| m.partner == n).count() + 1;
                let email = format!("mentor{number}.{lower}@{}", super::EMAIL_DOMAIN);
                let female = rng.percent(65);
                let name = super::provider_name(&mut rng, "RW", female);
                let language = if rng.percent(70) {
                    spec.language
                } else {
                    rng.pick(&LANGUAGES)
                };
                let mentor_id =
                    super::insert_user(&mut tx, &now, hash, id, &email, &name, "mentor", language)
                        .await?;
                for f in group {
                    assignments.push((mentors.len(), *f));
                }
                mentors.push(Mentor {
                    id: mentor_id,
                    partner: n,
                    name,
                    language,
                });
            }
        }
        partners.push(Partner {
            spec,
            id,
            admin,
            uses: Vec::new(),
        });
    }
    let mut t = Tables::new(&[&ASSIGNMENTS, &PROVIDERS, &AUDIT]);
    for (m, f) in &assignments {
        let (mentor, facility) = (&mentors[*m], &facilities[*f]);
        t.get(&ASSIGNMENTS)
            .row()
            .int(mentor.id)
            .int(facility.id)
            .text(&created);
        let after = json!({"mentor_id": mentor.id, "facility_id": facility.id});
        t.get(&AUDIT)
            .row()
            .text(&now)
            .null()
            .int(partners[mentor.partner].id)
            .text("create")
            .text("mentor_assignment")
            .text(&format!("{}:{}", mentor.id, facility.id))
            .null()
            .text(&after.to_string());
    }

    // Providers: each facility's staff, registered by the partners working there (community
    // cadres by community partners, doctors preferably by the obstetricians' society).
    let mut providers = Vec::new();
    let mut next_id: i64 = 1;
    let mut codes = vec![0usize; partners.len()];
    for (fi, f) in facilities.iter().enumerate() {
        let district = &districts[f.district];
        let here: Vec<usize> = PARTNERS
            .iter()
            .enumerate()
            .filter(|(_, p)| p.districts[district.index % 3] && p.kinds.contains(&f.kind))
            .map(|(i, _)| i)
            .collect();
        if here.is_empty() {
            continue;
        }
        let staff = match f.kind {
            Kind::Hospital => 90 + rng.below(51),
            Kind::HealthCentre => 22 + rng.below(13),
            Kind::HealthPost => 7 + rng.below(7),
        };
        for _ in 0..staff {
            let cadre = f.kind.cadres()[weighted(&mut rng, f.kind.cadres(), |c| c.1)].0;
            let community: Vec<usize> = here
                .iter()
                .copied()
                .filter(|p| PARTNERS[*p].community)
                .collect();
            let partner = if !clinical(cadre) && !community.is_empty() {
                community[rng.below(community.len())]
            } else if cadre == "doctor" && here.contains(&1) && rng.percent(60) {
                1
            } else {
                here[rng.below(here.len())]
            };
            codes[partner] += 1;
            let female = rng.percent(super::percent_female(cadre));
            let sex = if rng.percent(3) {
                None
            } else if female {
                Some("female")
            } else {
                Some("male")
            };
            let name = super::provider_name(&mut rng, "RW", female);
            let phone = rng.percent(75).then(|| super::phone(&mut rng, "RW"));
            let active = !rng.percent(3);
            let p = &partners[partner];
            let code = format!("{}-{:05}", p.spec.code, codes[partner]);
            t.get(&PROVIDERS)
                .row()
                .int(next_id)
                .int(p.id)
                .int(f.id)
                .text(&code)
                .text(&name)
                .text(cadre)
                .opt_text(sex)
                .opt_text(phone.as_deref())
                .int(i64::from(active))
                .text(&created)
                .text(&created);
            // The same snapshot as `providers::insert` writes.
            let snapshot = json!({
                "organisation_id": p.id, "facility_id": f.id, "code": code, "name": name,
                "cadre": cadre, "sex": sex, "phone": phone, "active": active,
            });
            t.get(&AUDIT)
                .row()
                .text(&now)
                .null()
                .int(p.id)
                .text("create")
                .text("provider")
                .text(&next_id.to_string())
                .null()
                .text(&snapshot.to_string());
            providers.push(Provider {
                id: next_id,
                partner,
                facility: fi,
                cadre,
                active,
                talent: 0.30 + 0.30 * uniform(&mut rng),
                observed: 0,
            });
            next_id += 1;
        }
    }
    let mut batch = Vec::new();
    t.drain_into(&mut batch)?;
    for chunk in batch {
        sqlx::query(chunk.table.sql(db.kind()))
            .bind(chunk.rows)
            .execute(&mut *tx)
            .await
            .context("inserting assignments and providers")?;
    }
    tx.commit().await.context("committing the reference data")?;

    // Who a mentor may see at each facility: the partner's active facility staff.
    let mut by_place: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
    for (i, p) in providers.iter().enumerate() {
        if p.active && clinical(p.cadre) {
            by_place.entry((p.partner, p.facility)).or_default().push(i);
        }
    }
    let mut pairs = Vec::new();
    for (m, f) in assignments {
        let partner = mentors[m].partner;
        let mentees = by_place.remove(&(partner, f)).unwrap_or_default();
        if mentees.is_empty() {
            continue;
        }
        pairs.push(Pair {
            mentor: m,
            facility: f,
            partner,
            weight: facilities[f].kind.visit_weight() * (0.6 + 0.8 * uniform(&mut rng)),
            mentees,
        });
    }
    let indicators: Vec<(String, i64)> = sqlx::query_as("SELECT code, id FROM indicators")
        .fetch_all(db.pool())
        .await
        .context("reading the indicator catalogue")?;
    Ok(World {
        partners,
        districts,
        facilities,
        providers,
        mentors,
        pairs,
        indicators: indicators.into_iter().collect(),
        next_observation: 1,
        next_action: 1,
    })
}

async fn organisation(
    tx: &mut Tx,
    now: &str,
    code: &str,
    name: &str,
    kind: &str,
) -> anyhow::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO organisations (code, name, kind, country, created_at, updated_at)
         VALUES ($1, $2, $3, 'Rwanda', $4, $4) RETURNING id",
    )
    .bind(code)
    .bind(name)
    .bind(kind)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .with_context(|| format!("creating organisation {code}"))?;
    let snapshot = json!({
        "id": id, "code": code, "name": name, "kind": kind, "country": "Rwanda",
        "created_at": now, "updated_at": now,
    });
    audit::record(
        tx,
        None,
        Some(id),
        "create",
        "organisation",
        id,
        None::<&()>,
        Some(&snapshot),
    )
    .await
    .map_err(crate::cli::explain)?;
    Ok(id)
}

async fn unit(
    tx: &mut Tx,
    parent: Option<&OrgUnit>,
    level: &str,
    facility_type: Option<&str>,
    code: String,
    name: String,
) -> anyhow::Result<OrgUnit> {
    let valid = ValidUnit {
        parent: parent.cloned(),
        level: level.to_string(),
        facility_type: facility_type.map(str::to_string),
        code,
        name,
    };
    org_units::insert(tx, None, &valid)
        .await
        .map_err(crate::cli::explain)
        .with_context(|| format!("creating org unit {}", valid.code))
}

/// Installs and activates the bundled plugins, grants them as partners share them, and works
/// out which checklists each partner mentors with.
async fn plugins(
    db: &Db,
    registry: &Registry,
    world: &mut World,
    scorer: &mut Scorer<'_>,
) -> anyhow::Result<()> {
    for (file, bytes) in crate::plugins::BUNDLED {
        let installed = lifecycle::install(db, registry, None, bytes.to_vec())
            .await
            .map_err(crate::cli::explain)
            .with_context(|| format!("installing the bundled plugin {file}"))?;
        let v = installed.version;
        if v.status == "inactive" && v.quarantined_at.is_none() {
            lifecycle::change(db, registry, None, v.id, Change::Activate)
                .await
                .map_err(crate::cli::explain)?;
        }
    }
    for (publisher, key, grantees) in GRANTS {
        let version: i64 = sqlx::query_scalar(
            "SELECT v.id FROM plugin_versions v JOIN organisations o ON o.id = v.organisation_id
             WHERE o.code = $1 AND v.plugin_key = $2 ORDER BY v.id LIMIT 1",
        )
        .bind(publisher)
        .bind(key)
        .fetch_one(db.pool())
        .await
        .with_context(|| format!("finding {publisher}'s plugin {key}"))?;
        for grantee in *grantees {
            let Some(p) = world.partners.iter().find(|p| p.spec.code == *grantee) else {
                continue;
            };
            let input = GrantInput {
                organisation_id: Some(p.id),
            };
            grants::add(db, None, version, &input)
                .await
                .map_err(crate::cli::explain)
                .with_context(|| format!("granting {key} to {grantee}"))?;
        }
    }
    for p in &mut world.partners {
        let usable = registry
            .checklists(Some(p.id))
            .await
            .map_err(crate::cli::explain)?;
        for (plugin, checklist, session_type, weight) in p.spec.uses {
            let found = usable
                .iter()
                .find(|c| c.plugin_key == *plugin && c.checklist.id == *checklist)
                .with_context(|| format!("{} may not use {plugin}/{checklist}", p.spec.code))?;
            p.uses.push((scorer.index(found)?, session_type, *weight));
        }
    }
    Ok(())
}

/// The checklist a partner may use, by plugin key and checklist id.
async fn usable(
    registry: &Registry,
    scorer: &mut Scorer<'_>,
    organisation: i64,
    (plugin, checklist): (&str, &str),
) -> anyhow::Result<Option<usize>> {
    let found = registry
        .checklists(Some(organisation))
        .await
        .map_err(crate::cli::explain)?
        .into_iter()
        .find(|c| c.plugin_key == plugin && c.checklist.id == checklist);
    match found {
        Some(c) => Ok(Some(scorer.index(&c)?)),
        None => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions and their observations
// ---------------------------------------------------------------------------------------------

/// The borrowed twin of `sessions::SessionInput` (same fields, same order), so the body hash
/// of a generated session is computed without cloning every response; a unit test holds the
/// two hashes equal.
#[derive(Serialize)]
struct SessionBody<'a> {
    id: Option<&'a str>,
    facility_id: Option<i64>,
    date: Option<&'a str>,
    session_type: Option<&'a str>,
    topic: Option<&'a str>,
    duration_minutes: Option<i64>,
    mentee_ids: &'a [i64],
    notes: Option<&'a str>,
    action_points: Option<&'a str>,
    observations: Vec<ObservationBody<'a>>,
}

#[derive(Serialize)]
struct ObservationBody<'a> {
    provider_id: Option<i64>,
    plugin_version_id: Option<i64>,
    checklist_id: Option<&'a str>,
    responses: &'a [Response],
}

const NOTES: [&str; 6] = [
    "Practised on the simulator, then discussed the steps missed.",
    "Drill run with the whole maternity team; debrief on roles and communication.",
    "Observed during a real birth; feedback given privately afterwards.",
    "Short drill at shift handover; equipment checked first.",
    "Repeated the steps missed last time until done correctly twice.",
    "Case of the week reviewed, then practised on the mannequin.",
];

const ACTION_POINTS: [(&str, &str); 6] = [
    (
        "Restock the resuscitation corner: bag, masks sizes 0 and 1, suction",
        "Maternity in-charge",
    ),
    (
        "Keep oxytocin in the labour ward fridge and log its temperature daily",
        "Pharmacy focal person",
    ),
    (
        "Post the PPH response algorithm above every delivery bed",
        "Head midwife",
    ),
    (
        "Run a 10-minute bag-and-mask drill at every Monday handover",
        "Ward mentor",
    ),
    (
        "Fill in the partograph for every woman in active labour; review weekly",
        "Maternity in-charge",
    ),
    (
        "Refer women with severe pre-eclampsia after the magnesium loading dose",
        "Health centre in-charge",
    ),
];

/// The share of the year's activity each month gets: holidays and April (the commemoration
/// month) are quieter, the first months of the programme ramp up, the programme grows slowly.
fn month_weight(month: NaiveDate, index: usize, rng: &mut Rng) -> f64 {
    let season = match month.month() {
        1 => 0.85,
        4 => 0.8,
        7 => 0.92,
        8 => 0.9,
        12 => 0.75,
        _ => 1.0,
    };
    let ramp = (0.45 + 0.55 * index as f64 / 9.0).min(1.0);
    let growth = 1.0 + 0.04 * index as f64 / 12.0;
    season * ramp * growth * (0.92 + 0.16 * uniform(rng))
}

async fn history(
    world: &mut World,
    scorer: &mut Scorer<'_>,
    options: &Options,
    bar: &ProgressBar,
    sender: &mpsc::Sender<Batch>,
) -> anyhow::Result<()> {
    let start = options.start();
    let end = options.end;
    let mut rng = Rng::new(SEED ^ 0x5e55 ^ u64::from(options.percent));
    let mut months = Vec::new();
    let mut m = start.with_day(1).unwrap_or(start);
    while m <= end {
        let next = m + Months::new(1);
        let (first, last) = (m.max(start), (next - chrono::Duration::days(1)).min(end));
        let days = (last - first).num_days() as f64 + 1.0;
        let share = days / (next - m).num_days() as f64;
        let w = month_weight(m, months.len(), &mut rng) * share;
        months.push((first, last, w));
        m = next;
    }
    let total_weight: f64 = months.iter().map(|m| m.2).sum();
    let target = (FULL_OBSERVATIONS as f64 * options.scale()).round();
    bar.set_prefix("sessions");
    bar.set_length(months.len() as u64);

    // Pairs are drawn by weight: a cumulative table and a binary search.
    let mut cumulative = Vec::with_capacity(world.pairs.len());
    let mut sum = 0.0;
    for p in &world.pairs {
        sum += p.weight;
        cumulative.push(sum);
    }
    anyhow::ensure!(sum > 0.0, "no mentor has anyone to mentor");
    let assessment = {
        let mut found = HashMap::new();
        for (i, p) in world.partners.iter().enumerate() {
            if let Some(c) = usable(scorer.registry, scorer, p.id, FACILITY_ASSESSMENT).await? {
                found.insert(i, c);
            }
        }
        found
    };

    let mut observations: u64 = 0;
    let mut t = Tables::new(&[&SESSIONS, &MENTEES, &OBSERVATIONS, &METRICS, &ACTIONS]);
    for (month_index, (first, last, w)) in months.iter().enumerate() {
        let quota = (target * w / total_weight).round() as u64;
        let mut done = 0u64;
        let mut batch = Vec::new();
        // The quarter's facility assessments, in its second month.
        if first.month() % 3 == 2 {
            for pi in 0..world.pairs.len() {
                let (partner, facility) = (world.pairs[pi].partner, world.pairs[pi].facility);
                let Some(checklist) = assessment.get(&partner).copied() else {
                    continue;
                };
                if world.facilities[facility].kind != Kind::HealthCentre {
                    continue;
                }
                let session = Planned {
                    pair: pi,
                    checklist,
                    session_type: "facility_assessment",
                    mentees: 1,
                };
                done += session_rows(
                    world,
                    scorer,
                    &mut t,
                    &mut rng,
                    (*first, *last, end),
                    session,
                )
                .await?;
            }
        }
        while done < quota {
            let x = uniform(&mut rng) * sum;
            let pi = cumulative
                .partition_point(|c| *c < x)
                .min(world.pairs.len() - 1);
            let partner = &world.partners[world.pairs[pi].partner];
            let (checklist, session_type, _) =
                partner.uses[weighted(&mut rng, &partner.uses, |u| u.2)];
            let mentees = [1, 1, 2, 2, 2, 3, 3, 3, 4, 4][rng.below(10)];
            let session = Planned {
                pair: pi,
                checklist,
                session_type,
                mentees,
            };
            done += session_rows(
                world,
                scorer,
                &mut t,
                &mut rng,
                (*first, *last, end),
                session,
            )
            .await?;
            if t.is_full() {
                t.drain_into(&mut batch)?;
            }
        }
        t.drain_into(&mut batch)?;
        observations += done;
        sender
            .send(batch)
            .await
            .map_err(|_| anyhow!("the database writer stopped"))?;
        bar.set_position(month_index as u64 + 1);
        bar.set_message(format!("{observations} observations"));
    }
    Ok(())
}

struct Planned {
    pair: usize,
    checklist: usize,
    session_type: &'static str,
    mentees: usize,
}

/// One session with its mentees, scored observations and maybe an action item; returns the
/// number of observations.
async fn session_rows(
    world: &mut World,
    scorer: &mut Scorer<'_>,
    t: &mut Tables,
    rng: &mut Rng,
    (first, last, end): (NaiveDate, NaiveDate, NaiveDate),
    planned: Planned,
) -> anyhow::Result<u64> {
    // A working day mostly; some drills happen on Saturdays.
    let span = (last - first).num_days() as usize + 1;
    let mut date = first + chrono::Duration::days(rng.below(span) as i64);
    for _ in 0..4 {
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        if !weekend || rng.percent(8) {
            break;
        }
        date = first + chrono::Duration::days(rng.below(span) as i64);
    }
    let date_text = day(date);
    let pair = &world.pairs[planned.pair];
    let mentor = &world.mentors[pair.mentor];
    let (mentor_id, language) = (mentor.id, mentor.language);
    let partner_id = world.partners[pair.partner].id;
    let facility_id = world.facilities[pair.facility].id;
    let mut pool = pair.mentees.clone();
    let n = planned.mentees.min(pool.len()).max(1);
    for i in 0..n {
        let j = i + rng.below(pool.len() - i);
        pool.swap(i, j);
    }
    pool.truncate(n);
    let id = uuid(rng);
    let created_at = stamp(date, rng);
    let listed_title = scorer.checklists[planned.checklist]
        .r
        .checklist
        .title
        .default
        .clone();
    let duration = [30, 45, 60, 60, 90, 120][rng.below(6)];
    let notes = rng.percent(70).then(|| rng.pick(&NOTES));
    let action = rng.percent(30).then(|| rng.pick(&ACTION_POINTS));
    let mentee_ids: Vec<i64> = pool.iter().map(|p| world.providers[*p].id).collect();

    // Every mentee's checklist is observed, but now and then one only watches.
    let mut observed = Vec::new();
    for (k, p) in pool.iter().enumerate() {
        if k > 0 && rng.percent(12) {
            continue;
        }
        let provider = &world.providers[*p];
        let key = CardKey {
            checklist: planned.checklist,
            level: provider.level(rng),
            variant: rng.below(VARIANTS) as u8,
            session_type: planned.session_type,
            cadre: provider.cadre,
            language,
        };
        let (pattern, card) = scorer.card(key, &date_text).await?;
        observed.push((*p, pattern, card));
    }
    let listed = &scorer.checklists[planned.checklist];
    let body = SessionBody {
        id: Some(&id),
        facility_id: Some(facility_id),
        date: Some(&date_text),
        session_type: Some(planned.session_type),
        topic: Some(&listed_title),
        duration_minutes: Some(duration),
        mentee_ids: &mentee_ids,
        notes,
        action_points: action.map(|a| a.0),
        observations: observed
            .iter()
            .map(|(p, pattern, _)| ObservationBody {
                provider_id: Some(world.providers[*p].id),
                plugin_version_id: Some(listed.r.plugin_version_id),
                checklist_id: Some(&listed.r.checklist.id),
                responses: &pattern.responses,
            })
            .collect(),
    };
    let sha = scoring::body_sha256(&body).map_err(crate::cli::explain)?;
    // A few sessions are withdrawn (logged twice, wrong facility) the next day.
    let withdrawn = rng.below(250) == 0;
    let withdrawn_at = withdrawn.then(|| stamp(date + chrono::Duration::days(1), rng));
    t.get(&SESSIONS)
        .row()
        .text(&id)
        .int(partner_id)
        .int(mentor_id)
        .int(facility_id)
        .text(&date_text)
        .text(planned.session_type)
        .text(&listed_title)
        .int(duration)
        .opt_text(notes)
        .opt_text(action.map(|a| a.0))
        .text(&sha)
        .text(&sha)
        .text(if withdrawn { "withdrawn" } else { "recorded" })
        .int(if withdrawn { 2 } else { 1 })
        .opt_text(withdrawn.then_some("Logged twice by mistake"))
        .opt_text(withdrawn_at.as_deref())
        .opt_int(withdrawn.then_some(mentor_id))
        .text(&created_at)
        .text(withdrawn_at.as_deref().unwrap_or(&created_at));
    for p in &mentee_ids {
        t.get(&MENTEES).row().text(&id).int(*p);
    }
    let count = observed.len() as u64;
    for (position, (p, pattern, card)) in observed.into_iter().enumerate() {
        let provider = &mut world.providers[p];
        provider.observed += 1;
        observation_rows(
            t,
            world.next_observation,
            (Some(&id), None, None),
            position as i64,
            provider.id,
            &date_text,
            listed,
            &pattern,
            &card,
            &created_at,
        );
        world.next_observation += 1;
    }
    if let (Some((description, owner)), false) = (action, withdrawn) {
        let due = date + chrono::Duration::days(14 + rng.below(29) as i64);
        let roll = rng.below(100);
        let (status, done_on) = if due > end {
            if roll < 30 {
                let d = (date + chrono::Duration::days(3 + rng.below(20) as i64)).min(end);
                ("done", Some(d))
            } else {
                ("open", None)
            }
        } else if roll < 72 {
            let d = (date
                + chrono::Duration::days(
                    3 + rng.below((due - date).num_days() as usize + 10) as i64,
                ))
            .min(end);
            ("done", Some(d))
        } else if roll < 78 {
            ("dropped", None)
        } else {
            ("open", None)
        };
        let updated = done_on.map(|d| stamp(d, rng)).unwrap_or(created_at.clone());
        t.get(&ACTIONS)
            .row()
            .int(world.next_action)
            .int(partner_id)
            .int(facility_id)
            .text(&id)
            .text(description)
            .text(owner)
            .text(&day(due))
            .text(status)
            .opt_text(done_on.map(day).as_deref())
            .int(mentor_id)
            .text(&created_at)
            .text(&updated);
        world.next_action += 1;
    }
    Ok(count)
}

// ---------------------------------------------------------------------------------------------
// Trainings with pre- and post-tests
// ---------------------------------------------------------------------------------------------

/// The quarters the history touches, oldest first.
fn quarters(options: &Options) -> Vec<Quarter> {
    let mut out = Vec::new();
    let mut q = Quarter::of(options.start());
    let last = Quarter::of(options.end);
    while q <= last {
        out.push(q);
        q = q.next();
    }
    out
}

async fn trainings(
    world: &mut World,
    scorer: &mut Scorer<'_>,
    options: &Options,
    sender: &mpsc::Sender<Batch>,
) -> anyhow::Result<()> {
    let (start, end) = (options.start(), options.end);
    let mut rng = Rng::new(SEED ^ 0x7a17 ^ u64::from(options.percent));
    let mut t = Tables::new(&[
        &TRAININGS,
        &PARTICIPANTS,
        &ATTENDANCE,
        &OBSERVATIONS,
        &METRICS,
    ]);
    for pi in 0..world.partners.len() {
        let (partner_id, spec) = (world.partners[pi].id, world.partners[pi].spec);
        let Some(test) = usable(scorer.registry, scorer, partner_id, TRAINING_TEST).await? else {
            continue;
        };
        let pairs: Vec<usize> = (0..world.pairs.len())
            .filter(|p| world.pairs[*p].partner == pi)
            .collect();
        if pairs.is_empty() {
            continue;
        }
        // About one training a quarter for every 50 hospitals and health centres the partner
        // works at.
        let places = world
            .pairs
            .iter()
            .filter(|p| p.partner == pi && world.facilities[p.facility].kind != Kind::HealthPost)
            .count();
        let per_quarter = places as f64 / 50.0;
        for quarter in quarters(options) {
            let (first, last) = (quarter.first_day().max(start), quarter.last_day().min(end));
            let span = (last - first).num_days();
            let count =
                per_quarter.floor() as usize + usize::from(uniform(&mut rng) < per_quarter.fract());
            for _ in 0..count {
                let days = 2 + rng.below(2) as i64;
                if span < days + 1 {
                    continue;
                }
                let from =
                    first + chrono::Duration::days(rng.below((span - days + 1) as usize) as i64);
                let to = from + chrono::Duration::days(days - 1);
                let dates: Vec<String> = (0..days)
                    .map(|d| day(from + chrono::Duration::days(d)))
                    .collect();
                let pair = &world.pairs[pairs[rng.below(pairs.len())]];
                let facility = &world.facilities[pair.facility];
                let district = facility.district;
                let mentor = &world.mentors[pair.mentor];
                let (facilitator, facilitator_name, language) =
                    (mentor.id, mentor.name.clone(), mentor.language);
                // A third are held at the district office rather than a facility.
                let (venue, facility_id) = if rng.percent(30) {
                    (
                        Some(format!(
                            "{} district office",
                            world.districts[district].name
                        )),
                        None,
                    )
                } else {
                    (None, Some(facility.id))
                };
                let mut people: Vec<usize> = world
                    .providers
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| {
                        p.partner == pi
                            && p.active
                            && clinical(p.cadre)
                            && world.facilities[p.facility].district == district
                    })
                    .map(|(i, _)| i)
                    .collect();
                rng.shuffle(&mut people);
                people.truncate(12 + rng.below(13));
                if people.is_empty() {
                    continue;
                }
                let id = uuid(&mut rng);
                let title = rng.pick(spec.trainings);
                let created_at = stamp(to, &mut rng);
                let mut inputs = Vec::new();
                let mut scored = Vec::new();
                for p in &people {
                    let provider = &world.providers[*p];
                    let pre_level = provider.level(&mut rng);
                    let post_level = (pre_level + 1 + rng.below(3) as u8).min(LEVELS);
                    let key = |level: u8, variant: u8| CardKey {
                        checklist: test,
                        level,
                        variant,
                        session_type: trainings::SCORE_CONTEXT_TYPE,
                        cadre: provider.cadre,
                        language,
                    };
                    let pre = scorer
                        .card(key(pre_level, rng.below(VARIANTS) as u8), &dates[0])
                        .await?;
                    let post = scorer
                        .card(key(post_level, rng.below(VARIANTS) as u8), &day(to))
                        .await?;
                    let mut attendance = dates.clone();
                    if attendance.len() > 1 && rng.below(10) == 0 {
                        attendance.pop();
                    }
                    let listed = &scorer.checklists[test].r;
                    let test_input = |responses: &[Response]| ChecklistInput {
                        plugin_version_id: Some(listed.plugin_version_id),
                        checklist_id: Some(listed.checklist.id.clone()),
                        responses: responses.to_vec(),
                    };
                    inputs.push(ParticipantInput {
                        provider_id: Some(provider.id),
                        attendance: attendance.clone(),
                        pre_test: Some(test_input(&pre.0.responses)),
                        post_test: Some(test_input(&post.0.responses)),
                    });
                    scored.push((provider.id, attendance, pre, post));
                }
                let body = TrainingInput {
                    id: Some(id.clone()),
                    title: Some(title.to_string()),
                    start_date: Some(dates[0].clone()),
                    end_date: Some(day(to)),
                    venue: venue.clone(),
                    facility_id,
                    facilitators: Some(facilitator_name.clone()),
                    participants: inputs,
                };
                let sha = scoring::body_sha256(&body).map_err(crate::cli::explain)?;
                t.get(&TRAININGS)
                    .row()
                    .text(&id)
                    .int(partner_id)
                    .text(title)
                    .text(&dates[0])
                    .text(&day(to))
                    .opt_text(venue.as_deref())
                    .opt_int(facility_id)
                    .text(&facilitator_name)
                    .text(&sha)
                    .text(&sha)
                    .text("recorded")
                    .int(1)
                    .int(facilitator)
                    .text(&created_at)
                    .text(&created_at);
                let listed = &scorer.checklists[test];
                for (provider, attendance, pre, post) in scored {
                    t.get(&PARTICIPANTS).row().text(&id).int(provider);
                    for d in &attendance {
                        t.get(&ATTENDANCE).row().text(&id).int(provider).text(d);
                    }
                    for (position, phase, on, (pattern, card)) in
                        [(0, "pre", &dates[0], pre), (1, "post", &day(to), post)]
                    {
                        observation_rows(
                            &mut t,
                            world.next_observation,
                            (None, Some(&id), Some(phase)),
                            position,
                            provider,
                            on,
                            listed,
                            &pattern,
                            &card,
                            &created_at,
                        );
                        world.next_observation += 1;
                    }
                }
            }
        }
    }
    let mut batch = Vec::new();
    t.drain_into(&mut batch)?;
    sender
        .send(batch)
        .await
        .map_err(|_| anyhow!("the database writer stopped"))
}

// ---------------------------------------------------------------------------------------------
// Death reviews
// ---------------------------------------------------------------------------------------------

/// (ICD-MM group, underlying cause, contributing conditions).
const MATERNAL_CAUSES: [(i64, &str, &str); 6] = [
    (
        3,
        "Postpartum haemorrhage from uterine atony",
        "No uterotonic given within a minute of birth; anaemia in pregnancy",
    ),
    (
        2,
        "Eclampsia",
        "Raised blood pressure at the last antenatal visit not acted on",
    ),
    (
        3,
        "Retained placenta with haemorrhage",
        "Blood not available for transfusion for three hours",
    ),
    (
        4,
        "Puerperal sepsis after prolonged labour",
        "Partograph not used; antibiotics started late",
    ),
    (
        1,
        "Complications of unsafe abortion",
        "Presented late for fear of being judged",
    ),
    (8, "Unknown: died on arrival", "No history available"),
];
const PERINATAL_CAUSES: [(i64, &str, &str); 4] = [
    (
        5,
        "Intrapartum asphyxia (fresh stillbirth)",
        "Fetal heart not monitored during the second stage",
    ),
    (
        5,
        "Birth asphyxia: baby not breathing at birth",
        "Ventilation started after more than a minute; bag and mask not ready",
    ),
    (
        5,
        "Early neonatal death of a preterm baby with asphyxia",
        "No kangaroo care; referral delayed by transport",
    ),
    (
        8,
        "Macerated stillbirth, cause unknown",
        "Late first antenatal visit",
    ),
];
const RECOMMENDATIONS_TEXT: [(&str, &str); 6] = [
    (
        "Keep oxytocin and misoprostol stocked at every delivery point; weekly stock check",
        "District pharmacist",
    ),
    (
        "Bag-and-mask drill for all maternity staff at the next LDHF session",
        "Maternity unit head midwife",
    ),
    (
        "Record blood pressure and urine protein at every antenatal visit; refer at 140/90",
        "Health centre in-charge",
    ),
    (
        "Agree an emergency blood supply protocol with the regional blood bank",
        "Hospital director",
    ),
    (
        "Monitor the fetal heart every 5 minutes in the second stage and chart it",
        "Labour ward midwives",
    ),
    (
        "Ambulance call line posted in every village; test it monthly",
        "Ambulance coordinator",
    ),
];

async fn death_reviews(
    world: &World,
    options: &Options,
    sender: &mpsc::Sender<Batch>,
) -> anyhow::Result<()> {
    let (start, end) = (options.start(), options.end);
    let span = (end - start).num_days().max(1);
    let years = span as f64 / 365.25;
    let mut rng = Rng::new(SEED ^ 0xdea7 ^ u64::from(options.percent));
    let mut t = Tables::new(&[&REVIEWS, &RECOMMENDATIONS]);
    let (mut review_id, mut recommendation_id) = (1i64, 1i64);
    for (fi, f) in world.facilities.iter().enumerate() {
        // The partner running MPDSR at the facility: hospitals' obstetricians, else the first
        // MPDSR partner working there.
        let Some(pair) = world.pairs.iter().find(|p| {
            p.facility == fi && world.partners[p.partner].spec.mpdsr && f.kind != Kind::HealthPost
        }) else {
            continue;
        };
        let partner = &world.partners[pair.partner];
        let mentor = &world.mentors[pair.mentor];
        let per_year = if f.kind == Kind::Hospital { 8.0 } else { 0.5 };
        let n = (per_year * years * (0.7 + 0.6 * uniform(&mut rng))).round() as usize;
        for _ in 0..n {
            let died = start + chrono::Duration::days(rng.below(span as usize) as i64);
            let notified = (died + chrono::Duration::days(rng.below(4) as i64)).min(end);
            let reviewed = notified + chrono::Duration::days(7 + rng.below(29) as i64);
            let reviewed = (reviewed <= end && rng.percent(92)).then_some(reviewed);
            let maternal = rng.percent(22);
            let (group, cause, contributing) = if maternal {
                rng.pick(&MATERNAL_CAUSES)
            } else {
                rng.pick(&PERINATAL_CAUSES)
            };
            let avoidable = match rng.below(100) {
                0..55 => "yes",
                55..80 => "no",
                _ => "undetermined",
            };
            let created_at = stamp(notified, &mut rng);
            let updated_at = reviewed
                .map(|d| stamp(d, &mut rng))
                .unwrap_or(created_at.clone());
            let committee = format!("{} MPDSR committee", f.name);
            t.get(&REVIEWS)
                .row()
                .int(review_id)
                .int(partner.id)
                .int(f.id)
                .text(if maternal { "maternal" } else { "perinatal" })
                .text(&day(notified))
                .text(&day(died))
                .opt_text(reviewed.map(day).as_deref())
                .opt_text(reviewed.map(|_| committee.as_str()))
                .opt_int(reviewed.map(|_| group))
                .opt_text(reviewed.map(|_| cause))
                .opt_text(reviewed.map(|_| contributing))
                .int(i64::from(reviewed.is_some() && rng.percent(40)))
                .int(i64::from(reviewed.is_some() && rng.percent(45)))
                .int(i64::from(reviewed.is_some() && rng.percent(55)))
                .opt_text(reviewed.map(|_| avoidable))
                .null()
                .int(if reviewed.is_some() { 2 } else { 1 })
                .int(mentor.id)
                .text(&created_at)
                .text(&updated_at);
            if let Some(reviewed) = reviewed {
                for position in 0..1 + rng.below(3) {
                    let (description, owner) = rng.pick(&RECOMMENDATIONS_TEXT);
                    let deadline = reviewed + chrono::Duration::days(21 + rng.below(40) as i64);
                    let roll = rng.below(100);
                    let done =
                        (reviewed + chrono::Duration::days(7 + rng.below(50) as i64)).min(end);
                    let (status, done_on) = if deadline > end {
                        if roll < 35 && done <= end {
                            ("done", Some(done))
                        } else if roll < 70 {
                            ("in_progress", None)
                        } else {
                            ("open", None)
                        }
                    } else {
                        match roll {
                            0..62 => ("done", Some(done)),
                            62..77 => ("in_progress", None),
                            77..88 => ("not_done", None),
                            _ => ("open", None),
                        }
                    };
                    t.get(&RECOMMENDATIONS)
                        .row()
                        .int(recommendation_id)
                        .int(review_id)
                        .int(position as i64)
                        .text(description)
                        .text(owner)
                        .text(&day(deadline))
                        .text(status)
                        .opt_text(done_on.map(day).as_deref())
                        .text(&updated_at);
                    recommendation_id += 1;
                }
            }
            review_id += 1;
        }
    }
    let mut batch = Vec::new();
    t.drain_into(&mut batch)?;
    sender
        .send(batch)
        .await
        .map_err(|_| anyhow!("the database writer stopped"))
}

// ---------------------------------------------------------------------------------------------
// QI projects and their PDSA cycles
// ---------------------------------------------------------------------------------------------

/// (title, problem, aim, change ideas, indicator code).
const PROJECTS_TEXT: [(&str, &str, &str, &str, &str); 4] = [
    (
        "Uterotonic within one minute of birth",
        "A record review found oxytocin given within a minute of birth for about half of the women.",
        "Raise the share of births with a uterotonic within one minute to 90 % within 6 months.",
        "Oxytocin drawn up before every birth\nBirth companion calls out the time of birth",
        "AMTSL-01",
    ),
    (
        "Newborn resuscitation readiness",
        "The bag and mask were missing or the wrong size at a third of spot checks.",
        "A complete, checked resuscitation corner at every birth within 3 months.",
        "Daily checklist at shift handover\nSpare masks sizes 0 and 1 in the labour ward",
        "COMP-NR",
    ),
    (
        "Partograph use in labour",
        "The partograph was started for about a third of women in active labour.",
        "Raise the share monitored with a completed partograph from 35 % to 80 % within 6 months.",
        "Partograph stapled to every admission file\nWeekly partograph review at handover",
        "COMP-IPC",
    ),
    (
        "Postpartum haemorrhage response",
        "Two women with PPH waited more than 30 minutes for a second uterotonic last quarter.",
        "Every PPH managed with the first-response bundle within 15 minutes within 6 months.",
        "PPH box in every delivery room\nMonthly PPH drill for the whole team",
        "COMP-PPH",
    ),
];

async fn qi_projects(
    world: &World,
    options: &Options,
    sender: &mpsc::Sender<Batch>,
) -> anyhow::Result<()> {
    let (start, end) = (options.start(), options.end);
    let span = (end - start).num_days().max(1);
    let years = span as f64 / 365.25;
    let mut rng = Rng::new(SEED ^ 0x9140 ^ u64::from(options.percent));
    let mut t = Tables::new(&[&PROJECTS, &CYCLES]);
    let (mut project_id, mut cycle_id) = (1i64, 1i64);
    for pair in &world.pairs {
        let f = &world.facilities[pair.facility];
        if f.kind == Kind::HealthPost {
            continue;
        }
        let partner = &world.partners[pair.partner];
        let mentor = &world.mentors[pair.mentor];
        let n = (0.25 * years * 2.0 * uniform(&mut rng)).round() as usize;
        for _ in 0..n {
            let (title, problem, aim, ideas, indicator) = rng.pick(&PROJECTS_TEXT);
            let started = start + chrono::Duration::days(rng.below(span as usize) as i64);
            let planned_end = started + chrono::Duration::days(90 + rng.below(181) as i64);
            let ended = (planned_end <= end).then_some(planned_end);
            let status = match ended {
                Some(_) if rng.percent(15) => "stopped",
                Some(_) => "completed",
                None => "active",
            };
            let created_at = stamp(started, &mut rng);
            let updated_at = ended
                .map(|d| stamp(d, &mut rng))
                .unwrap_or(created_at.clone());
            t.get(&PROJECTS)
                .row()
                .int(project_id)
                .int(partner.id)
                .int(f.id)
                .text(title)
                .text(problem)
                .text(aim)
                .opt_int(world.indicators.get(indicator).copied())
                .text(ideas)
                .text(status)
                .text(&day(started))
                .opt_text(ended.map(day).as_deref())
                .int(1)
                .int(mentor.id)
                .text(&created_at)
                .text(&updated_at);
            let mut from = started + chrono::Duration::days(rng.below(14) as i64);
            for position in 0..1 + rng.below(4) {
                if from > end {
                    break;
                }
                let to = from + chrono::Duration::days(14 + rng.below(32) as i64);
                let finished = to <= end;
                let idea = ideas.lines().nth(position % 2).unwrap_or(ideas);
                t.get(&CYCLES)
                    .row()
                    .int(cycle_id)
                    .int(project_id)
                    .int(position as i64)
                    .text(idea)
                    .text("Try it for two weeks on every shift; count how often it was done.")
                    .text(&day(from))
                    .opt_text(finished.then(|| day(to)).as_deref())
                    .opt_text(
                        finished.then_some(
                            "Done for most births in the second week; night shifts lagged.",
                        ),
                    )
                    .opt_text(finished.then(|| rng.pick(&["adopt", "adapt", "abandon"])))
                    .text(&updated_at);
                cycle_id += 1;
                from = to + chrono::Duration::days(1 + rng.below(10) as i64);
            }
            project_id += 1;
        }
    }
    let mut batch = Vec::new();
    t.drain_into(&mut batch)?;
    sender
        .send(batch)
        .await
        .map_err(|_| anyhow!("the database writer stopped"))
}

// ---------------------------------------------------------------------------------------------
// Community teams
// ---------------------------------------------------------------------------------------------

async fn teams(
    world: &World,
    scorer: &mut Scorer<'_>,
    options: &Options,
    sender: &mpsc::Sender<Batch>,
) -> anyhow::Result<()> {
    let end = options.end;
    let mut rng = Rng::new(SEED ^ 0x7ea5 ^ u64::from(options.percent));
    let mut t = Tables::new(&[&TEAMS, &MEMBERS, &TARGETS, &ASSESSMENTS]);
    let (mut team_id, mut assessment_id) = (1i64, 1i64);
    let all = quarters(options);
    for (pi, partner) in world.partners.iter().enumerate() {
        let Some(checklist) = usable(scorer.registry, scorer, partner.id, TEAM_ASSESSMENT).await?
        else {
            continue;
        };
        let version = scorer.checklists[checklist].r.plugin_version_id;
        let items: Vec<String> = scorer.checklists[checklist]
            .r
            .checklist
            .items()
            .map(|i| i.id.clone())
            .collect();
        // A team at each health centre the partner works at: a midwife or nurse with the
        // community members registered there.
        let mut number = 0;
        for (fi, f) in world.facilities.iter().enumerate() {
            if f.kind != Kind::HealthCentre {
                continue;
            }
            let at: Vec<&Provider> = world
                .providers
                .iter()
                .filter(|p| p.partner == pi && p.facility == fi && p.active)
                .collect();
            let mut members: Vec<i64> = at
                .iter()
                .filter(|p| matches!(p.cadre, "midwife" | "nurse"))
                .take(1)
                .map(|p| p.id)
                .collect();
            members.extend(
                at.iter()
                    .filter(|p| {
                        matches!(
                            p.cadre,
                            "village_health_support_group"
                                | "traditional_birth_attendant"
                                | "community_health_worker"
                        )
                    })
                    .take(5)
                    .map(|p| p.id),
            );
            if members.len() < 2 {
                continue;
            }
            number += 1;
            let village = place_name(&mut rng);
            // Teams start during the programme's first year.
            let from = rng.below(4).min(all.len().saturating_sub(1));
            let created_at = stamp(all[from].first_day().max(options.start()), &mut rng);
            t.get(&TEAMS)
                .row()
                .int(team_id)
                .int(partner.id)
                .int(f.id)
                .text(&format!("{village} village team {number}"))
                .text(&village)
                .int(1)
                .int(1)
                .text(&created_at)
                .text(&created_at);
            for m in &members {
                t.get(&MEMBERS).row().int(team_id).int(*m);
            }
            let households = 30 + rng.below(31) as i64;
            let target = [
                households,
                6,
                households / 2 + 8,
                8 + rng.below(3) as i64,
                5,
            ];
            let quality = 0.55 + 0.45 * uniform(&mut rng);
            for quarter in &all[from..] {
                let assessed_on = quarter.last_day() + chrono::Duration::days(7);
                let assessed = assessed_on <= end;
                let mut achieved = [0i64; 5];
                for (k, tgt) in target.iter().enumerate() {
                    let rate = (quality + 0.35 * (uniform(&mut rng) - 0.4)).clamp(0.2, 1.15);
                    achieved[k] = (*tgt as f64 * rate).round() as i64;
                }
                achieved[4] = achieved[4].min(achieved[3]);
                let updated = stamp(
                    if assessed {
                        assessed_on
                    } else {
                        quarter.first_day()
                    },
                    &mut rng,
                );
                for (k, measure) in teams::MEASURES.iter().enumerate() {
                    t.get(&TARGETS)
                        .row()
                        .int(team_id)
                        .text(&quarter.to_string())
                        .text(measure)
                        .int(target[k])
                        .opt_int(assessed.then_some(achieved[k]))
                        .text(&updated);
                }
                if !assessed {
                    continue;
                }
                // Targets filled from the team's targets, as `teams::assess` does.
                let mut responses = Vec::new();
                for (k, measure) in teams::MEASURES.iter().enumerate() {
                    let item = teams::target_item(measure);
                    if items.contains(&item) {
                        responses.push(Response {
                            item_id: item,
                            answer: Answer::Integer(target[k]),
                        });
                    }
                    responses.push(Response {
                        item_id: teams::achieved_item(measure),
                        answer: Answer::Integer(achieved[k]),
                    });
                }
                let yes_no = |yes: bool| if yes { Answer::Yes } else { Answer::No };
                responses.push(Response {
                    item_id: "team-meetings".into(),
                    answer: yes_no(rng.percent((quality * 100.0) as u64)),
                });
                responses.push(Response {
                    item_id: "registers-complete".into(),
                    answer: yes_no(rng.percent((quality * 90.0) as u64)),
                });
                let listed = &scorer.checklists[checklist].r;
                let mut v = Validator::new();
                scoring::check_responses(&listed.checklist, &responses, "assessment", &mut v);
                v.finish()
                    .map_err(crate::cli::explain)
                    .context("generated team assessment fails the host's check")?;
                let checklist_id = listed.checklist.id.clone();
                let (key, plugin_version, sha) = (
                    listed.plugin_key.clone(),
                    listed.plugin_version.clone(),
                    listed.sha256.clone(),
                );
                let context = ScoreContext {
                    session_type: teams::SCORE_CONTEXT_TYPE.to_string(),
                    mentee_cadre: String::new(),
                    date: day(assessed_on),
                    language: "en".to_string(),
                };
                let responses_json = scoring::json(&responses).map_err(crate::cli::explain)?;
                let (card, full) = scorer
                    .score(version, &checklist_id, responses, context)
                    .await?;
                let award = teams::award_of(&full, &key, &checklist_id);
                t.get(&ASSESSMENTS)
                    .row()
                    .int(assessment_id)
                    .int(team_id)
                    .text(&quarter.to_string())
                    .text(&day(assessed_on))
                    .int(version)
                    .text(&key)
                    .text(&plugin_version)
                    .text(&sha)
                    .text(&checklist_id)
                    .text(&responses_json)
                    .opt_real(card.percentage)
                    .text(&card.outcome_code)
                    .text(card.outcome_level)
                    .text(&card.card_json)
                    .real(award)
                    .int(partner.admin)
                    .int(1)
                    .text(&updated)
                    .text(&updated);
                assessment_id += 1;
            }
            team_id += 1;
        }
    }
    let mut batch = Vec::new();
    t.drain_into(&mut batch)?;
    sender
        .send(batch)
        .await
        .map_err(|_| anyhow!("the database writer stopped"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sessions::{ObservationInput, SessionInput};

    #[test]
    fn the_borrowed_session_body_hashes_like_the_real_one() {
        let responses = vec![
            Response {
                item_id: "a".into(),
                answer: Answer::Yes,
            },
            Response {
                item_id: "b".into(),
                answer: Answer::Integer(3),
            },
        ];
        let real = SessionInput {
            id: Some("0b7c2f0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b".into()),
            facility_id: Some(7),
            date: Some("2026-01-05".into()),
            session_type: Some("skills_drill".into()),
            topic: Some("AMTSL".into()),
            duration_minutes: Some(45),
            mentee_ids: vec![3, 4],
            notes: None,
            action_points: Some("Restock".into()),
            observations: vec![ObservationInput {
                provider_id: Some(3),
                plugin_version_id: Some(2),
                checklist_id: Some("amtsl".into()),
                responses: responses.clone(),
            }],
        };
        let borrowed = SessionBody {
            id: real.id.as_deref(),
            facility_id: Some(7),
            date: Some("2026-01-05"),
            session_type: Some("skills_drill"),
            topic: Some("AMTSL"),
            duration_minutes: Some(45),
            mentee_ids: &[3, 4],
            notes: None,
            action_points: Some("Restock"),
            observations: vec![ObservationBody {
                provider_id: Some(3),
                plugin_version_id: Some(2),
                checklist_id: Some("amtsl"),
                responses: &responses,
            }],
        };
        assert_eq!(
            scoring::body_sha256(&real).ok(),
            scoring::body_sha256(&borrowed).ok()
        );
    }

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

    #[test]
    fn every_facility_kind_in_every_district_pattern_has_a_partner() {
        for d in 0..3 {
            for kind in [Kind::Hospital, Kind::HealthCentre, Kind::HealthPost] {
                assert!(
                    PARTNERS
                        .iter()
                        .any(|p| p.districts[d] && p.kinds.contains(&kind)),
                    "{kind:?} in district pattern {d}"
                );
            }
        }
        for p in &PARTNERS {
            assert!(p.districts.iter().any(|d| *d), "{} works nowhere", p.code);
        }
    }
}
