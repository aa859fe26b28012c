//! The demo programme loaded by `mentortrack demo`.
//!
//! A Barame-like Rwandan programme (project management by Enabel; the midwives' association,
//! the ob/gyn society and the paediatric association mentoring at hospitals; Jhpiego at health
//! centres; 7 districts, 16 hospitals, 142 health centres) and a small Cambodian one (SHARE and
//! CARE in Ratanak Kiri and Mondul Kiri, with village health volunteers, Village Health Support
//! Groups and traditional birth attendants). Place names are real districts, sectors, communes
//! and well-known hospitals; the facility list itself is illustrative, not a ministry register,
//! and every person is invented.
//!
//! Loading is idempotent (the project-management organisation `BARAME-PM` marks a loaded
//! demo), happens in one transaction, and takes well under a second: the shared password is
//! hashed once and accounts are inserted directly. Every record created gets its own audit
//! entry, written by the same code paths the application uses (`org_units::insert`,
//! `providers::insert`) or, for organisations, users and assignments, with the same snapshot
//! shapes; one entry per record costs little next to the record itself.
//! The data come from a seeded pseudo-random generator, so every demo is the same.

pub mod activity;
pub mod death_reviews;
pub mod national;
pub mod qi;
pub mod reports;
pub mod teams;

use std::fmt;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use crate::auth::password;
use crate::db::{Db, Tx, is_unique_violation};
use crate::domain::audit;
use crate::domain::org_units::{self, OrgUnit, ValidUnit};
use crate::domain::providers::{self, ValidProvider};

/// Without a database URL the demo uses its own file, so it never mixes with real data.
pub const DEFAULT_URL: &str = "sqlite://data/demo.db";

/// The password of every demo account. Printed on start: never use a demo database for real.
pub const PASSWORD: &str = "mentortrack-demo";

/// Every demo account's e-mail ends with `@` and this domain.
pub const EMAIL_DOMAIN: &str = "demo.mentortrack.org";

/// The organisation whose presence means the demo is loaded.
pub const MARKER_ORGANISATION: &str = "BARAME-PM";

// ---------------------------------------------------------------------------------------------
// What was loaded, read back from the database
// ---------------------------------------------------------------------------------------------

/// One demo account, as printed for the person trying the demo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoAccount {
    pub email: String,
    pub role: String,
    pub language: String,
    pub organisation_code: String,
    pub organisation_name: String,
}

/// The org-unit hierarchy of one country.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CountryCounts {
    pub code: String,
    pub name: String,
    pub provinces: i64,
    /// Districts; in Cambodia, operational districts.
    pub districts: i64,
    pub hospitals: i64,
    pub health_centres: i64,
    pub health_posts: i64,
}

/// What `mentortrack demo` prints before serving.
#[derive(Clone, Debug)]
pub struct DemoSummary {
    /// How long this call took to load the demo; `None` when it was already loaded.
    pub loaded_in: Option<Duration>,
    pub password: &'static str,
    /// The demo accounts: admin, manager, then each partner's org admin and mentors.
    pub accounts: Vec<DemoAccount>,
    pub countries: Vec<CountryCounts>,
    pub organisations: i64,
    pub providers: i64,
    pub mentor_assignments: i64,
}

impl DemoSummary {
    pub fn country(&self, code: &str) -> Option<&CountryCounts> {
        self.countries.iter().find(|c| c.code == code)
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = "=".repeat(78);
        writeln!(f, "{rule}")?;
        match self.loaded_in {
            Some(d) => writeln!(
                f,
                " mentortrack demo programme - loaded in {:.2} s",
                d.as_secs_f64()
            )?,
            None => writeln!(
                f,
                " mentortrack demo programme - already loaded, nothing changed"
            )?,
        }
        writeln!(f, "{rule}")?;
        let name_width = self
            .countries
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(0);
        for c in &self.countries {
            let districts = if c.code == "KH" {
                plural(c.districts, "operational district", "operational districts")
            } else {
                plural(c.districts, "district", "districts")
            };
            writeln!(
                f,
                " {:<name_width$}  {}, {}: {}, {}, {}",
                c.name,
                plural(c.provinces, "province", "provinces"),
                districts,
                plural(c.hospitals, "hospital", "hospitals"),
                plural(c.health_centres, "health centre", "health centres"),
                plural(c.health_posts, "health post", "health posts"),
            )?;
        }
        writeln!(
            f,
            " {}, {}, {}, {}",
            plural(self.organisations, "organisation", "organisations"),
            plural(self.accounts.len() as i64, "account", "accounts"),
            plural(self.providers, "provider", "providers"),
            plural(
                self.mentor_assignments,
                "mentor assignment",
                "mentor assignments"
            ),
        )?;
        writeln!(f)?;
        writeln!(f, " Demo accounts. Every one signs in with the password:")?;
        writeln!(f)?;
        writeln!(f, "     {}", self.password)?;
        writeln!(f)?;
        let email_width = self
            .accounts
            .iter()
            .map(|a| a.email.len())
            .max()
            .unwrap_or(0)
            .max("E-MAIL".len());
        let code_width = self
            .accounts
            .iter()
            .map(|a| a.organisation_code.len())
            .max()
            .unwrap_or(0);
        writeln!(
            f,
            "   {:<9}  {:<email_width$}  {:<4}  ORGANISATION",
            "ROLE", "E-MAIL", "LANG"
        )?;
        let mut previous: Option<&str> = None;
        for a in &self.accounts {
            // A blank line between organisations keeps the list scannable.
            if previous.is_some_and(|p| p != a.organisation_code) {
                writeln!(f)?;
            }
            previous = Some(&a.organisation_code);
            writeln!(
                f,
                "   {:<9}  {:<email_width$}  {:<4}  {:<code_width$}  {}",
                a.role, a.email, a.language, a.organisation_code, a.organisation_name
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            " Demo data only: every account shares this published password. Never keep real"
        )?;
        writeln!(f, " records in a demo database.")?;
        write!(f, "{rule}")
    }
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// Loads the demo programme unless it is already there, and returns what the database holds.
///
/// Refuses a database that holds other data: the demo's accounts share a published password
/// and must never land next to real records.
pub async fn load(db: &Db) -> anyhow::Result<DemoSummary> {
    let started = Instant::now();
    if is_loaded(db).await? {
        return summary(db, None).await;
    }
    // The one slow step (argon2, tens of milliseconds), outside the transaction.
    let hash = password::hash(PASSWORD.to_string())
        .await
        .map_err(crate::cli::explain)
        .context("hashing the demo password")?;
    let mut tx = db
        .begin()
        .await
        .context("starting the demo programme's transaction")?;
    match insert_programme(&mut tx, &hash).await {
        Ok(()) => tx.commit().await.context("committing the demo programme")?,
        // Another process loaded it between our check and our transaction.
        Err(LoadError::AlreadyLoaded) => {
            drop(tx);
            return summary(db, None).await;
        }
        Err(LoadError::Failed(e)) => return Err(e.context("loading the demo programme")),
    }
    summary(db, Some(started.elapsed())).await
}

async fn is_loaded(db: &Db) -> anyhow::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organisations WHERE code = $1")
        .bind(MARKER_ORGANISATION)
        .fetch_one(db.pool())
        .await
        .context("checking whether the demo is loaded")?;
    Ok(n > 0)
}

enum LoadError {
    AlreadyLoaded,
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for LoadError {
    fn from(e: anyhow::Error) -> Self {
        LoadError::Failed(e)
    }
}

type LoadResult<T> = Result<T, LoadError>;

async fn insert_programme(tx: &mut Tx, hash: &str) -> LoadResult<()> {
    // Checked again inside the transaction (SQLite's BEGIN IMMEDIATE serialises loaders;
    // on PostgreSQL a concurrent loader is caught by the marker's unique code below).
    let (orgs, units, users): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM organisations WHERE code = $1),
                (SELECT COUNT(*) FROM org_units),
                (SELECT COUNT(*) FROM users)",
    )
    .bind(MARKER_ORGANISATION)
    .fetch_one(&mut **tx)
    .await
    .context("checking whether the database is empty")?;
    if orgs > 0 {
        return Err(LoadError::AlreadyLoaded);
    }
    let other_orgs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organisations")
        .fetch_one(&mut **tx)
        .await
        .context("counting organisations")?;
    if other_orgs + units + users > 0 {
        return Err(LoadError::Failed(anyhow::anyhow!(
            "this database already holds data ({other_orgs} organisations, {units} org units, \
             {users} users) but not the demo programme; the demo loads only into an empty \
             database, because its accounts share a published password. Run `mentortrack demo` \
             without --database-url to use {DEFAULT_URL}"
        )));
    }

    let now = crate::time::now();
    let mut rng = Rng::new(0x6d65_6e74_6f72_7472); // "mentortr"
    let org_ids = insert_organisations(tx, &now).await?;
    let facilities = insert_hierarchy(tx).await?;
    let mentors = insert_users(tx, &now, hash, &org_ids).await?;
    let assigned = insert_assignments(tx, &now, &mut rng, &org_ids, &mentors, &facilities).await?;
    insert_providers(tx, &mut rng, &org_ids, &assigned).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Organisations
// ---------------------------------------------------------------------------------------------

struct OrgSpec {
    code: &'static str,
    name: &'static str,
    kind: &'static str,
    country: &'static str,
}

const ORGANISATIONS: &[OrgSpec] = &[
    OrgSpec {
        code: MARKER_ORGANISATION,
        name: "Barame Project Management (Enabel)",
        kind: "project_management",
        country: "Rwanda",
    },
    OrgSpec {
        code: "RAM",
        name: "Rwanda Association of Midwives",
        kind: "professional_association",
        country: "Rwanda",
    },
    OrgSpec {
        code: "RSOG",
        name: "Rwanda Society of Obstetricians and Gynecologists",
        kind: "professional_association",
        country: "Rwanda",
    },
    OrgSpec {
        code: "RPA",
        name: "Rwanda Paediatric Association",
        kind: "professional_association",
        country: "Rwanda",
    },
    OrgSpec {
        code: "JHPIEGO",
        name: "Jhpiego Rwanda",
        kind: "ngo",
        country: "Rwanda",
    },
    OrgSpec {
        code: "SHARE",
        name: "SHARE Cambodia",
        kind: "ngo",
        country: "Cambodia",
    },
    OrgSpec {
        code: "CARE",
        name: "CARE Cambodia",
        kind: "ngo",
        country: "Cambodia",
    },
    OrgSpec {
        code: "MOH-RW",
        name: "Ministry of Health Rwanda",
        kind: "ministry",
        country: "Rwanda",
    },
];

/// Organisation ids in the order of [`ORGANISATIONS`].
struct OrgIds(Vec<(&'static str, i64)>);

impl OrgIds {
    fn get(&self, code: &str) -> anyhow::Result<i64> {
        self.0
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, id)| *id)
            .with_context(|| format!("demo organisation {code} was not created"))
    }
}

async fn insert_organisations(tx: &mut Tx, now: &str) -> LoadResult<OrgIds> {
    let mut ids = Vec::with_capacity(ORGANISATIONS.len());
    for o in ORGANISATIONS {
        let id = match insert_organisation(tx, now, o.code, o.name, o.kind, o.country).await {
            Ok(id) => id,
            Err(e)
                if o.code == MARKER_ORGANISATION
                    && e.downcast_ref::<sqlx::Error>()
                        .is_some_and(is_unique_violation) =>
            {
                return Err(LoadError::AlreadyLoaded);
            }
            Err(e) => return Err(e.into()),
        };
        ids.push((o.code, id));
    }
    Ok(OrgIds(ids))
}

/// Creates an organisation with its audit entry; the national data set creates its own
/// through here too.
async fn insert_organisation(
    tx: &mut Tx,
    now: &str,
    code: &str,
    name: &str,
    kind: &str,
    country: &str,
) -> anyhow::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO organisations (code, name, kind, country, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(code)
    .bind(name)
    .bind(kind)
    .bind(country)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .with_context(|| format!("creating organisation {code}"))?;
    let snapshot = json!({
        "id": id, "code": code, "name": name, "kind": kind, "country": country,
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
    .map_err(crate::cli::explain)
    .with_context(|| format!("auditing organisation {code}"))?;
    Ok(id)
}

// ---------------------------------------------------------------------------------------------
// Org units
// ---------------------------------------------------------------------------------------------

struct CountrySpec {
    code: &'static str,
    name: &'static str,
    provinces: &'static [ProvinceSpec],
}

struct ProvinceSpec {
    code: &'static str,
    name: &'static str,
    districts: &'static [DistrictSpec],
}

struct DistrictSpec {
    /// Short key, also the middle of its facilities' codes (`RW-KAR-HC01`).
    key: &'static str,
    code: &'static str,
    name: &'static str,
    hospitals: &'static [&'static str],
    /// Rwanda: sector or cell names, " Health Centre" appended. Cambodia: full names.
    health_centres: &'static [&'static str],
    health_posts: &'static [&'static str],
    /// Whether the health centre and health post names need their suffix appended.
    suffixed: bool,
}

/// Rwanda: 16 hospitals and 142 health centres in 7 districts of the Western and Southern
/// provinces (21 + 18 + 22 + 24 + 18 + 21 + 18 health centres).
const RWANDA: CountrySpec = CountrySpec {
    code: "RW",
    name: "Rwanda",
    provinces: &[
        ProvinceSpec {
            code: "RW-W",
            name: "Western Province",
            districts: &[
                DistrictSpec {
                    key: "KAR",
                    code: "RW-W-KAR",
                    name: "Karongi",
                    hospitals: &[
                        "Kibuye Referral Hospital",
                        "Kirinda Hospital",
                        "Mugonero Hospital",
                    ],
                    health_centres: &[
                        "Bwishyura",
                        "Gashari",
                        "Gishyita",
                        "Gitesi",
                        "Mubuga",
                        "Murambi",
                        "Murundi",
                        "Mutuntu",
                        "Rubengera",
                        "Rugabano",
                        "Ruganda",
                        "Rwankuba",
                        "Twumba",
                        "Birambo",
                        "Bisesero",
                        "Kibuye",
                        "Kirinda",
                        "Mugonero",
                        "Rufungo",
                        "Gisovu",
                        "Kayenzi",
                    ],
                    health_posts: &["Gasenyi", "Kabuga"],
                    suffixed: true,
                },
                DistrictSpec {
                    key: "RUT",
                    code: "RW-W-RUT",
                    name: "Rutsiro",
                    hospitals: &["Murunda Hospital", "Rutsiro Hospital"],
                    health_centres: &[
                        "Boneza",
                        "Gihango",
                        "Kigeyo",
                        "Kivumu",
                        "Manihira",
                        "Mukura",
                        "Murunda",
                        "Musasa",
                        "Mushonyi",
                        "Mushubati",
                        "Nyabirasi",
                        "Ruhango",
                        "Rusebeya",
                        "Congo-Nil",
                        "Gisiza",
                        "Kayove",
                        "Rukoko",
                        "Bumba",
                    ],
                    health_posts: &["Kinunu"],
                    suffixed: true,
                },
                DistrictSpec {
                    key: "NYM",
                    code: "RW-W-NYM",
                    name: "Nyamasheke",
                    hospitals: &["Kibogora Hospital", "Bushenge Provincial Hospital"],
                    health_centres: &[
                        "Bushekeri",
                        "Bushenge",
                        "Cyato",
                        "Gihombo",
                        "Kagano",
                        "Kanjongo",
                        "Karambi",
                        "Karengera",
                        "Kirimbi",
                        "Macuba",
                        "Mahembe",
                        "Nyabitekeri",
                        "Rangiro",
                        "Ruharambuga",
                        "Shangi",
                        "Hanika",
                        "Mukoma",
                        "Ntendezi",
                        "Tyazo",
                        "Yove",
                        "Kibogora",
                        "Wimana",
                    ],
                    health_posts: &["Rushyarara"],
                    suffixed: true,
                },
                DistrictSpec {
                    key: "RSZ",
                    code: "RW-W-RSZ",
                    name: "Rusizi",
                    hospitals: &[
                        "Gihundwe Hospital",
                        "Mibilizi Hospital",
                        "Bugarama Hospital",
                    ],
                    health_centres: &[
                        "Bugarama",
                        "Butare",
                        "Bweyeye",
                        "Gashonga",
                        "Giheke",
                        "Gihundwe",
                        "Gikundamvura",
                        "Gitambi",
                        "Kamembe",
                        "Muganza",
                        "Mururu",
                        "Nkanka",
                        "Nkombo",
                        "Nkungu",
                        "Nyakabuye",
                        "Nyakarenzo",
                        "Nzahaha",
                        "Rwimbogo",
                        "Mashesha",
                        "Mushaka",
                        "Shagasha",
                        "Nyabitimbo",
                        "Mibilizi",
                        "Winteko",
                    ],
                    health_posts: &["Kabuye", "Bunyereri"],
                    suffixed: true,
                },
                DistrictSpec {
                    key: "NGO",
                    code: "RW-W-NGO",
                    name: "Ngororero",
                    hospitals: &["Ngororero Hospital", "Kabaya Hospital", "Muhororo Hospital"],
                    health_centres: &[
                        "Bwira",
                        "Gatumba",
                        "Hindiro",
                        "Kabaya",
                        "Kageyo",
                        "Kavumu",
                        "Matyazo",
                        "Muhanda",
                        "Muhororo",
                        "Ndaro",
                        "Ngororero",
                        "Nyange",
                        "Sovu",
                        "Rususa",
                        "Muramba",
                        "Kazabe",
                        "Gaseke",
                        "Rubona",
                    ],
                    health_posts: &["Gashubi"],
                    suffixed: true,
                },
            ],
        },
        ProvinceSpec {
            code: "RW-S",
            name: "Southern Province",
            districts: &[
                DistrictSpec {
                    key: "NYB",
                    code: "RW-S-NYB",
                    name: "Nyamagabe",
                    hospitals: &["Kigeme Hospital", "Kaduha Hospital"],
                    health_centres: &[
                        "Buruhukiro",
                        "Cyanika",
                        "Gasaka",
                        "Gatare",
                        "Kaduha",
                        "Kamegeri",
                        "Kibirizi",
                        "Kibumbwe",
                        "Kitabi",
                        "Mbazi",
                        "Mugano",
                        "Musange",
                        "Musebeya",
                        "Mushubi",
                        "Nkomane",
                        "Tare",
                        "Uwinkingi",
                        "Kigeme",
                        "Gikongoro",
                        "Nyarusiza",
                        "Bushigishigi",
                    ],
                    health_posts: &["Gitega"],
                    suffixed: true,
                },
                DistrictSpec {
                    key: "NYR",
                    code: "RW-S-NYR",
                    name: "Nyaruguru",
                    hospitals: &["Munini Hospital"],
                    health_centres: &[
                        "Busanze",
                        "Cyahinda",
                        "Kibeho",
                        "Kivu",
                        "Mata",
                        "Muganza",
                        "Munini",
                        "Ngera",
                        "Ngoma",
                        "Nyabimata",
                        "Nyagisozi",
                        "Ruheru",
                        "Ruramba",
                        "Rusenge",
                        "Coko",
                        "Nyantanga",
                        "Bunge",
                        "Kabere",
                    ],
                    health_posts: &["Nyamirama", "Uwacyiza"],
                    suffixed: true,
                },
            ],
        },
    ],
};

/// Cambodia: the two north-eastern provinces where SHARE and CARE work. Some facility names
/// are in Khmer script, as they are written locally.
const CAMBODIA: CountrySpec = CountrySpec {
    code: "KH",
    name: "Cambodia",
    provinces: &[
        ProvinceSpec {
            code: "KH-16",
            name: "Ratanak Kiri",
            districts: &[
                DistrictSpec {
                    key: "BL",
                    code: "KH-16-BL",
                    name: "Banlung Operational District",
                    hospitals: &["Ratanak Kiri Provincial Referral Hospital"],
                    health_centres: &[
                        "មណ្ឌលសុខភាពឡាបានសៀក",
                        "Ou Chum Health Centre",
                        "Poy Health Centre",
                        "Veun Sai Health Centre",
                        "Ta Veaeng Health Centre",
                        "មណ្ឌលសុខភាពកាចាញ",
                        "Yeak Laom Health Centre",
                        "Andoung Meas Health Centre",
                    ],
                    health_posts: &["Lbang Health Post"],
                    suffixed: false,
                },
                DistrictSpec {
                    key: "BK",
                    code: "KH-16-BK",
                    name: "Borkeo Operational District",
                    hospitals: &["Borkeo Referral Hospital"],
                    health_centres: &[
                        "Bar Kaev Health Centre",
                        "មណ្ឌលសុខភាពលំផាត់",
                        "Koun Mom Health Centre",
                        "Ou Ya Dav Health Centre",
                        "Seda Health Centre",
                        "Chey Oudom Health Centre",
                    ],
                    health_posts: &[],
                    suffixed: false,
                },
            ],
        },
        ProvinceSpec {
            code: "KH-11",
            name: "Mondul Kiri",
            districts: &[DistrictSpec {
                key: "SM",
                code: "KH-11-SM",
                name: "Sen Monorom Operational District",
                hospitals: &["Mondul Kiri Provincial Referral Hospital"],
                health_centres: &[
                    "មណ្ឌលសុខភាពសែនមនោរម្យ",
                    "Pech Chreada Health Centre",
                    "Keo Seima Health Centre",
                    "Koh Nhek Health Centre",
                    "មណ្ឌលសុខភាពអូររាំង",
                ],
                health_posts: &["Srae Huy Health Post"],
                suffixed: false,
            }],
        },
    ],
};

/// A facility as the rest of the loader needs it.
#[derive(Clone, Debug)]
struct Facility {
    id: i64,
    country: &'static str,
    district: &'static str,
    facility_type: &'static str,
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
        .with_context(|| format!("creating org unit {} ({})", valid.code, valid.name))
}

async fn insert_hierarchy(tx: &mut Tx) -> anyhow::Result<Vec<Facility>> {
    let mut facilities = Vec::new();
    for country in [&RWANDA, &CAMBODIA] {
        let c = unit(
            tx,
            None,
            "country",
            None,
            country.code.into(),
            country.name.into(),
        )
        .await?;
        for province in country.provinces {
            let p = unit(
                tx,
                Some(&c),
                "province",
                None,
                province.code.into(),
                province.name.into(),
            )
            .await?;
            for district in province.districts {
                let d = unit(
                    tx,
                    Some(&p),
                    "district",
                    None,
                    district.code.into(),
                    district.name.into(),
                )
                .await?;
                let kinds: [(&'static str, &str, &[&str], &str); 3] = [
                    ("hospital", "H", district.hospitals, ""),
                    (
                        "health_centre",
                        "HC",
                        district.health_centres,
                        " Health Centre",
                    ),
                    ("health_post", "HP", district.health_posts, " Health Post"),
                ];
                for (facility_type, abbrev, names, suffix) in kinds {
                    for (i, name) in names.iter().enumerate() {
                        let name = if district.suffixed {
                            format!("{name}{suffix}")
                        } else {
                            (*name).to_string()
                        };
                        let code =
                            format!("{}-{}-{abbrev}{:02}", country.code, district.key, i + 1);
                        let f =
                            unit(tx, Some(&d), "facility", Some(facility_type), code, name).await?;
                        facilities.push(Facility {
                            id: f.id,
                            country: country.code,
                            district: district.key,
                            facility_type,
                        });
                    }
                }
            }
        }
    }
    Ok(facilities)
}

// ---------------------------------------------------------------------------------------------
// Accounts and mentor assignments
// ---------------------------------------------------------------------------------------------

struct Person {
    name: &'static str,
    language: &'static str,
}

struct MentorSpec {
    person: Person,
    /// District keys the mentor covers.
    districts: &'static [&'static str],
}

struct PartnerSpec {
    org: &'static str,
    org_admin: Person,
    mentors: &'static [MentorSpec],
    /// Facility types the partner's mentors work at.
    facility_types: &'static [&'static str],
    /// At most this many facilities per mentor (at least 3 are always available).
    per_mentor: usize,
    /// How many providers of each cadre the partner has registered.
    providers: &'static [(&'static str, usize)],
}

const fn person(name: &'static str, language: &'static str) -> Person {
    Person { name, language }
}

const fn mentor(
    name: &'static str,
    language: &'static str,
    districts: &'static [&'static str],
) -> MentorSpec {
    MentorSpec {
        person: person(name, language),
        districts,
    }
}

const HOSPITALS: &[&str] = &["hospital"];
const PRIMARY_CARE: &[&str] = &["health_centre", "health_post"];

/// RAM, RSOG and RPA mentor at hospitals, Jhpiego at health centres (as in Barame); SHARE and
/// CARE in Ratanak Kiri and Mondul Kiri, CARE at the referral hospitals too.
const PARTNERS: &[PartnerSpec] = &[
    PartnerSpec {
        org: "RAM",
        org_admin: person("Marie Goretti Uwase", "rw"),
        mentors: &[
            mentor("Vestine Mukamana", "rw", &["KAR", "RUT"]),
            mentor("Claudine Uwamahoro", "fr", &["NYM", "RSZ"]),
            mentor("Josiane Ingabire", "en", &["NGO"]),
            mentor("Espérance Nyiraneza", "rw", &["NYB", "NYR"]),
        ],
        facility_types: HOSPITALS,
        per_mentor: 8,
        providers: &[("midwife", 62), ("nurse", 14), ("other", 4)],
    },
    PartnerSpec {
        org: "RSOG",
        org_admin: person("Théogène Niyonzima", "fr"),
        mentors: &[
            mentor("Jean Damascène Habimana", "fr", &["KAR", "RUT", "NGO"]),
            mentor("Innocent Nshimiyimana", "en", &["NYM", "RSZ", "NYR"]),
            mentor("Aimée Mutesi", "rw", &["NYB", "KAR"]),
        ],
        facility_types: HOSPITALS,
        per_mentor: 8,
        providers: &[
            ("doctor", 30),
            ("midwife", 14),
            ("nurse", 10),
            ("clinical_officer", 6),
        ],
    },
    PartnerSpec {
        org: "RPA",
        org_admin: person("Béatrice Uwineza", "en"),
        mentors: &[
            mentor("Olivier Mugisha", "en", &["KAR", "NYM"]),
            mentor("Chantal Umutoni", "rw", &["RSZ", "RUT"]),
            mentor("Eric Hakizimana", "fr", &["NGO", "NYB", "NYR"]),
        ],
        facility_types: HOSPITALS,
        per_mentor: 8,
        providers: &[
            ("nurse", 30),
            ("doctor", 18),
            ("midwife", 8),
            ("clinical_officer", 4),
        ],
    },
    PartnerSpec {
        org: "JHPIEGO",
        org_admin: person("Alice Mukeshimana", "en"),
        mentors: &[
            mentor("Grace Uwera", "rw", &["KAR", "RUT"]),
            mentor("Emmanuel Ndayisaba", "rw", &["NYM", "RSZ"]),
            mentor("Solange Iradukunda", "fr", &["NGO"]),
            mentor("Patrick Twagirimana", "en", &["NYB", "NYR"]),
        ],
        facility_types: PRIMARY_CARE,
        per_mentor: 8,
        providers: &[
            ("nurse", 42),
            ("midwife", 28),
            ("community_health_worker", 20),
            ("other", 5),
        ],
    },
    PartnerSpec {
        org: "SHARE",
        org_admin: person("Heng Sokhom", "en"),
        mentors: &[
            mentor("Sok Channary", "km", &["BL", "BK"]),
            mentor("ចាន់ សុភា", "km", &["SM"]),
        ],
        facility_types: PRIMARY_CARE,
        per_mentor: 5,
        providers: &[
            ("midwife", 10),
            ("nurse", 6),
            ("village_health_volunteer", 18),
            ("traditional_birth_attendant", 8),
            ("village_health_support_group", 3),
        ],
    },
    PartnerSpec {
        org: "CARE",
        org_admin: person("Seng Bopha", "km"),
        mentors: &[
            mentor("Ly Sreymom", "km", &["BL"]),
            mentor("Ksor Dara", "km", &["BK"]),
            mentor("Mao Piseth", "en", &["SM"]),
        ],
        facility_types: &["hospital", "health_centre", "health_post"],
        per_mentor: 6,
        providers: &[
            ("midwife", 12),
            ("nurse", 5),
            ("village_health_support_group", 22),
            ("traditional_birth_attendant", 14),
            ("village_health_volunteer", 5),
            ("community_health_worker", 2),
        ],
    },
];

struct Mentor {
    id: i64,
    partner: &'static PartnerSpec,
    spec: &'static MentorSpec,
}

#[allow(clippy::too_many_arguments)]
async fn insert_user(
    tx: &mut Tx,
    now: &str,
    hash: &str,
    organisation_id: i64,
    email: &str,
    display_name: &str,
    role: &str,
    language: &str,
) -> anyhow::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (organisation_id, email, display_name, password_hash, role, active, language, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7) RETURNING id",
    )
    .bind(organisation_id)
    .bind(email)
    .bind(display_name)
    .bind(hash)
    .bind(role)
    .bind(language)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .with_context(|| format!("creating user {email}"))?;
    // The same snapshot as `users::create` writes: never the password hash.
    let snapshot = json!({
        "email": email, "display_name": display_name, "organisation_id": organisation_id,
        "role": role, "active": 1, "language": language,
    });
    audit::record(
        tx,
        None,
        Some(organisation_id),
        "create",
        "user",
        id,
        None::<&()>,
        Some(&snapshot),
    )
    .await
    .map_err(crate::cli::explain)
    .with_context(|| format!("auditing user {email}"))?;
    Ok(id)
}

async fn insert_users(
    tx: &mut Tx,
    now: &str,
    hash: &str,
    orgs: &OrgIds,
) -> anyhow::Result<Vec<Mentor>> {
    let pm = orgs.get(MARKER_ORGANISATION)?;
    let staff = [
        ("admin", "admin", "Alice Uwera", "en"),
        ("manager", "manager", "Jean Bosco Nsengiyumva", "fr"),
    ];
    for (local, role, name, language) in staff {
        let email = format!("{local}@{EMAIL_DOMAIN}");
        insert_user(tx, now, hash, pm, &email, name, role, language).await?;
    }
    let mut mentors = Vec::new();
    for partner in PARTNERS {
        let org = orgs.get(partner.org)?;
        let lower = partner.org.to_lowercase();
        let email = format!("admin.{lower}@{EMAIL_DOMAIN}");
        let a = &partner.org_admin;
        insert_user(tx, now, hash, org, &email, a.name, "org_admin", a.language).await?;
        for (i, spec) in partner.mentors.iter().enumerate() {
            let email = format!("mentor{}.{lower}@{EMAIL_DOMAIN}", i + 1);
            let p = &spec.person;
            let id = insert_user(tx, now, hash, org, &email, p.name, "mentor", p.language).await?;
            mentors.push(Mentor { id, partner, spec });
        }
    }
    Ok(mentors)
}

/// Each partner's facilities: those its mentors are assigned to, with no duplicates.
struct Assigned {
    org: &'static str,
    facilities: Vec<Facility>,
    country: &'static str,
}

async fn insert_assignments(
    tx: &mut Tx,
    now: &str,
    rng: &mut Rng,
    orgs: &OrgIds,
    mentors: &[Mentor],
    facilities: &[Facility],
) -> anyhow::Result<Vec<Assigned>> {
    let mut out: Vec<Assigned> = Vec::new();
    for m in mentors {
        let org = orgs.get(m.partner.org)?;
        let mut pool: Vec<&Facility> = facilities
            .iter()
            .filter(|f| {
                m.spec.districts.contains(&f.district)
                    && m.partner.facility_types.contains(&f.facility_type)
            })
            .collect();
        rng.shuffle(&mut pool);
        pool.truncate(m.partner.per_mentor);
        pool.sort_by_key(|f| f.id);
        anyhow::ensure!(
            pool.len() >= 3,
            "demo mentor {} has only {} facilities",
            m.spec.person.name,
            pool.len()
        );
        for f in &pool {
            sqlx::query(
                "INSERT INTO mentor_assignments (mentor_id, facility_id, created_at) VALUES ($1, $2, $3)",
            )
            .bind(m.id)
            .bind(f.id)
            .bind(now)
            .execute(&mut **tx)
            .await
            .with_context(|| format!("assigning {} to facility {}", m.spec.person.name, f.id))?;
            let after = json!({"mentor_id": m.id, "facility_id": f.id});
            audit::record(
                tx,
                None,
                Some(org),
                "create",
                "mentor_assignment",
                format!("{}:{}", m.id, f.id),
                None::<&()>,
                Some(&after),
            )
            .await
            .map_err(crate::cli::explain)
            .context("auditing a mentor assignment")?;
        }
        let entry = match out.iter_mut().position(|a| a.org == m.partner.org) {
            Some(i) => &mut out[i],
            None => {
                out.push(Assigned {
                    org: m.partner.org,
                    facilities: Vec::new(),
                    country: pool.first().map_or("RW", |f| f.country),
                });
                let last = out.len() - 1;
                &mut out[last]
            }
        };
        for f in pool {
            if !entry.facilities.iter().any(|g| g.id == f.id) {
                entry.facilities.push(f.clone());
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Providers
// ---------------------------------------------------------------------------------------------

const RW_FEMALE_FIRST: &[&str] = &[
    "Marie Claire",
    "Jeanne",
    "Claudine",
    "Alice",
    "Grace",
    "Diane",
    "Josiane",
    "Chantal",
    "Vestine",
    "Solange",
    "Immaculée",
    "Béatrice",
    "Espérance",
    "Clarisse",
    "Yvonne",
    "Aline",
    "Divine",
    "Olive",
    "Francine",
    "Angélique",
    "Denise",
    "Jacqueline",
    "Donatille",
    "Annonciata",
    "Pacifique",
    "Liliane",
    "Sandrine",
    "Joy",
    "Gloria",
    "Odette",
    "Marie Goretti",
    "Spéciose",
    "Delphine",
    "Consolée",
    "Jeannette",
];

const RW_MALE_FIRST: &[&str] = &[
    "Jean Bosco",
    "Emmanuel",
    "Eric",
    "Jean Claude",
    "Pierre",
    "Innocent",
    "Théogène",
    "Fabrice",
    "Patrick",
    "Olivier",
    "Janvier",
    "Célestin",
    "Didier",
    "Jean de Dieu",
    "Eugène",
    "Samuel",
    "Gilbert",
    "Aimable",
    "Faustin",
    "Vincent",
    "Jean Paul",
    "Alexis",
    "Félicien",
    "Évariste",
    "Joseph",
    "David",
    "Christophe",
    "Jean Damascène",
    "Claude",
    "Moses",
];

const RW_FEMALE_SURNAME: &[&str] = &[
    "Mukamana",
    "Mukeshimana",
    "Uwimana",
    "Uwase",
    "Ingabire",
    "Uwamahoro",
    "Nyirahabimana",
    "Mukandayisenga",
    "Umutoni",
    "Uwera",
    "Mukarugwiza",
    "Nyiraneza",
    "Mutesi",
    "Uwineza",
    "Mukanyandwi",
    "Nyiransabimana",
    "Uwingabire",
    "Murekatete",
    "Mukashema",
    "Nyirabagenzi",
    "Umuhoza",
    "Uwamariya",
    "Mukayiranga",
    "Akimana",
];

const RW_MALE_SURNAME: &[&str] = &[
    "Niyonzima",
    "Habimana",
    "Nshimiyimana",
    "Hakizimana",
    "Ndayisaba",
    "Nsengiyumva",
    "Mugisha",
    "Bizimana",
    "Twagirimana",
    "Nkurunziza",
    "Hategekimana",
    "Munyaneza",
    "Ntirenganya",
    "Manirakiza",
    "Habyarimana",
    "Ndagijimana",
    "Niyitegeka",
    "Nzeyimana",
    "Gatete",
    "Rukundo",
    "Tuyishime",
    "Mugabo",
    "Kayitare",
    "Sibomana",
];

const RW_ANY_SURNAME: &[&str] = &[
    "Uwizeye",
    "Kwizera",
    "Iradukunda",
    "Niyonsaba",
    "Irakoze",
    "Ishimwe",
    "Tuyisenge",
    "Uwimana",
];

/// Khmer family names in Latin letters, with some Jarai and Tampuan names of Ratanak Kiri.
const KH_FAMILY_LATIN: &[&str] = &[
    "Sok", "Chan", "Srey", "Kim", "Heng", "Chea", "Ly", "Seng", "Mao", "Sam", "Pich", "Keo",
    "Nget", "Phal", "Vann", "Yim", "Chhun", "Touch", "Meas", "Ros", "Prak", "Sin", "Nhem", "Ksor",
    "Rmah", "Siu", "Rcom", "Kalan", "Romam",
];

const KH_FEMALE_LATIN: &[&str] = &[
    "Sreymom",
    "Sophea",
    "Channary",
    "Sokha",
    "Bopha",
    "Kanha",
    "Leakhena",
    "Sreypov",
    "Chenda",
    "Sothea",
    "Malis",
    "Rachana",
    "Theary",
    "Sophal",
    "Dalin",
    "Sreyneang",
    "Pisey",
    "Vanna",
];

const KH_MALE_LATIN: &[&str] = &[
    "Sokhom",
    "Vuthy",
    "Piseth",
    "Rithy",
    "Sambath",
    "Visal",
    "Bunthoeun",
    "Chantha",
    "Sovann",
    "Kosal",
    "Vannak",
    "Ratha",
    "Dara",
    "Sopheak",
    "Samnang",
    "Vichet",
    "Borey",
    "Chamroeun",
];

const KH_FAMILY_KHMER: &[&str] = &[
    "សុខ",
    "ចាន់",
    "គឹម",
    "ហេង",
    "ជា",
    "លី",
    "សេង",
    "ម៉ៅ",
    "កែវ",
    "ផល",
    "វណ្ណ",
    "មាស",
    "ពេជ្រ",
    "យឹម",
    "ទូច",
    "រស់",
];

const KH_FEMALE_KHMER: &[&str] = &[
    "ស្រីមុំ",
    "សុភា",
    "ចន្ទនារី",
    "សុខា",
    "បុប្ផា",
    "កញ្ញា",
    "ចិន្តា",
    "ម្លិះ",
    "រចនា",
    "ធារី",
    "ដាលីន",
    "ពិសី",
];

const KH_MALE_KHMER: &[&str] = &[
    "វុទ្ធី",
    "ពិសិដ្ឋ",
    "ឫទ្ធី",
    "សម្បត្តិ",
    "វិសាល",
    "សុវណ្ណ",
    "កុសល",
    "វណ្ណៈ",
    "រដ្ឋា",
    "ដារា",
    "សំណាង",
    "វិចិត្រ",
];

/// Percentage of women in a cadre (roughly; community cadres vary by village).
fn percent_female(cadre: &str) -> u64 {
    match cadre {
        "midwife" => 88,
        "traditional_birth_attendant" => 100,
        "nurse" => 70,
        "doctor" | "clinical_officer" => 40,
        _ => 55,
    }
}

/// The sex a provider is registered with: none for the `unrecorded` percent whose
/// registration left it out.
fn sex(rng: &mut Rng, female: bool, unrecorded: u64) -> Option<&'static str> {
    if rng.percent(unrecorded) {
        None
    } else if female {
        Some("female")
    } else {
        Some("male")
    }
}

fn is_community(cadre: &str) -> bool {
    matches!(
        cadre,
        "community_health_worker"
            | "village_health_volunteer"
            | "village_health_support_group"
            | "traditional_birth_attendant"
    )
}

fn provider_name(rng: &mut Rng, country: &str, female: bool) -> String {
    if country == "KH" {
        // Family name first, as Khmer names are written; four in ten in Khmer script.
        if rng.percent(40) {
            let given = if female {
                KH_FEMALE_KHMER
            } else {
                KH_MALE_KHMER
            };
            format!("{} {}", rng.pick(KH_FAMILY_KHMER), rng.pick(given))
        } else {
            let given = if female {
                KH_FEMALE_LATIN
            } else {
                KH_MALE_LATIN
            };
            format!("{} {}", rng.pick(KH_FAMILY_LATIN), rng.pick(given))
        }
    } else {
        let (first, surname) = if female {
            (RW_FEMALE_FIRST, RW_FEMALE_SURNAME)
        } else {
            (RW_MALE_FIRST, RW_MALE_SURNAME)
        };
        let surname = if rng.percent(25) {
            rng.pick(RW_ANY_SURNAME)
        } else {
            rng.pick(surname)
        };
        format!("{} {surname}", rng.pick(first))
    }
}

fn phone(rng: &mut Rng, country: &str) -> String {
    let (a, b) = (rng.below(1000), rng.below(1000));
    if country == "KH" {
        let prefix = rng.pick(&["12", "15", "17", "77", "88", "97"]);
        format!("+855 {prefix} {a:03} {b:03}")
    } else {
        let prefix = rng.pick(&["78", "79", "72", "73"]);
        format!("+250 {prefix}{} {a:03} {b:03}", rng.below(10))
    }
}

async fn insert_providers(
    tx: &mut Tx,
    rng: &mut Rng,
    orgs: &OrgIds,
    assigned: &[Assigned],
) -> anyhow::Result<()> {
    for partner in PARTNERS {
        let org = orgs.get(partner.org)?;
        let area = assigned
            .iter()
            .find(|a| a.org == partner.org)
            .with_context(|| format!("{} has no assigned facilities", partner.org))?;
        let mut cadres: Vec<&'static str> = partner
            .providers
            .iter()
            .flat_map(|(cadre, n)| std::iter::repeat_n(*cadre, *n))
            .collect();
        rng.shuffle(&mut cadres);
        for (i, cadre) in cadres.into_iter().enumerate() {
            // Doctors work at hospitals and community cadres around health centres, where the
            // partner's area has such facilities.
            let preferred: Vec<&Facility> = area
                .facilities
                .iter()
                .filter(|f| match cadre {
                    "doctor" | "clinical_officer" => f.facility_type == "hospital",
                    c if is_community(c) => f.facility_type != "hospital",
                    _ => true,
                })
                .collect();
            let pool: Vec<&Facility> = if preferred.is_empty() {
                area.facilities.iter().collect()
            } else {
                preferred
            };
            anyhow::ensure!(!pool.is_empty(), "{} has no facilities", partner.org);
            let facility = pool[rng.below(pool.len())];
            let female = rng.percent(percent_female(cadre));
            let sex = sex(rng, female, 4);
            let name = provider_name(rng, area.country, female);
            let phone_share = if is_community(cadre) && area.country == "KH" {
                35
            } else {
                70
            };
            let phone = rng.percent(phone_share).then(|| phone(rng, area.country));
            let provider = ValidProvider {
                organisation_id: org,
                facility_id: facility.id,
                code: Some(format!("{}-{:04}", partner.org, i + 1)),
                name,
                cadre: cadre.to_string(),
                sex: sex.map(str::to_string),
                phone,
                active: !rng.percent(3),
            };
            providers::insert(tx, None, &provider)
                .await
                .map_err(crate::cli::explain)
                .with_context(|| format!("creating provider {:?}", provider.code))?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reading the summary back
// ---------------------------------------------------------------------------------------------

async fn summary(db: &Db, loaded_in: Option<Duration>) -> anyhow::Result<DemoSummary> {
    let pool = db.pool();
    let pattern = format!("%@{EMAIL_DOMAIN}");
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT u.email, u.role, u.language, o.code, o.name
         FROM users u JOIN organisations o ON o.id = u.organisation_id
         WHERE u.email LIKE $1
         ORDER BY CASE u.role WHEN 'admin' THEN 0 WHEN 'manager' THEN 1 ELSE 2 END,
                  o.id, CASE u.role WHEN 'org_admin' THEN 0 ELSE 1 END, u.email",
    )
    .bind(&pattern)
    .fetch_all(pool)
    .await
    .context("reading the demo accounts")?;
    let accounts = rows
        .into_iter()
        .map(
            |(email, role, language, organisation_code, organisation_name)| DemoAccount {
                email,
                role,
                language,
                organisation_code,
                organisation_name,
            },
        )
        .collect();

    let units: Vec<(String, String, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT c.code, c.name, u.level, u.facility_type, COUNT(*)
         FROM org_units c JOIN org_units u ON u.path LIKE c.path || '%' AND u.id <> c.id
         WHERE c.parent_id IS NULL
         GROUP BY c.id, c.code, c.name, u.level, u.facility_type
         ORDER BY c.id",
    )
    .fetch_all(pool)
    .await
    .context("counting the demo's org units")?;
    let mut countries: Vec<CountryCounts> = Vec::new();
    for (code, name, level, facility_type, n) in units {
        if countries.last().is_none_or(|c| c.code != code) {
            countries.push(CountryCounts {
                code: code.clone(),
                name,
                ..CountryCounts::default()
            });
        }
        let Some(c) = countries.last_mut() else {
            continue;
        };
        match (level.as_str(), facility_type.as_deref()) {
            ("province", _) => c.provinces += n,
            ("district", _) => c.districts += n,
            (_, Some("hospital")) => c.hospitals += n,
            (_, Some("health_centre")) => c.health_centres += n,
            (_, Some("health_post")) => c.health_posts += n,
            _ => {}
        }
    }

    let (organisations, providers, mentor_assignments): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM organisations), (SELECT COUNT(*) FROM providers),
                (SELECT COUNT(*) FROM mentor_assignments)",
    )
    .fetch_one(pool)
    .await
    .context("counting the demo's records")?;

    Ok(DemoSummary {
        loaded_in,
        password: PASSWORD,
        accounts,
        countries,
        organisations,
        providers,
        mentor_assignments,
    })
}

// ---------------------------------------------------------------------------------------------
// A tiny deterministic generator (xorshift64*), so every demo is the same
// ---------------------------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`; `n` must not be 0.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }

    /// One of a non-empty constant list.
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// A number in `0..1`, from the top 53 bits (all an `f64` holds).
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The index of one of `items`, drawn in proportion to its weight; 0 when all weigh 0.
    fn weighted<T>(&mut self, items: &[T], weight: impl Fn(&T) -> u32) -> usize {
        let total: u32 = items.iter().map(&weight).sum();
        let mut x = self.below(total.max(1) as usize) as u32;
        for (i, item) in items.iter().enumerate() {
            let w = weight(item);
            if x < w {
                return i;
            }
            x -= w;
        }
        0
    }

    /// A UUID from the generator, so that every run gives the same ids.
    fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next().to_be_bytes());
        bytes[8..].copy_from_slice(&self.next().to_be_bytes());
        crate::domain::scoring::uuid_v4(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rwanda_has_the_barame_facility_counts() {
        let districts: Vec<&DistrictSpec> =
            RWANDA.provinces.iter().flat_map(|p| p.districts).collect();
        assert_eq!(districts.len(), 7);
        assert_eq!(
            districts.iter().map(|d| d.hospitals.len()).sum::<usize>(),
            16
        );
        assert_eq!(
            districts
                .iter()
                .map(|d| d.health_centres.len())
                .sum::<usize>(),
            142
        );
        for d in districts {
            let mut names = d.health_centres.to_vec();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), d.health_centres.len(), "{}", d.name);
        }
    }

    #[test]
    fn every_cadre_has_providers_and_every_partner_mentors() {
        for cadre in providers::CADRES {
            assert!(
                PARTNERS
                    .iter()
                    .any(|p| p.providers.iter().any(|(c, n)| *c == cadre && *n > 0)),
                "{cadre}"
            );
        }
        for p in PARTNERS {
            assert!((2..=4).contains(&p.mentors.len()), "{}", p.org);
            assert!(ORGANISATIONS.iter().any(|o| o.code == p.org), "{}", p.org);
        }
    }

    #[test]
    fn the_generator_is_deterministic() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let xs: Vec<u64> = (0..5).map(|_| a.next()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next()).collect();
        assert_eq!(xs, ys);
        let mut v: Vec<u32> = (0..20).collect();
        a.shuffle(&mut v);
        v.sort_unstable();
        assert_eq!(v, (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn phones_pass_provider_validation() {
        let mut rng = Rng::new(1);
        for country in ["RW", "KH"] {
            for _ in 0..50 {
                let p = phone(&mut rng, country);
                let digits = p.chars().filter(char::is_ascii_digit).count();
                assert!((6..=15).contains(&digits), "{p}");
            }
        }
    }
}
