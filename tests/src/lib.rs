//! The integration-test harness: the real server on a free port, on a fresh database of each
//! engine, with a seeded two-partner programme and HTTP clients that sign in as a person would.
//!
//! Tests written with [`engine_tests!`] run once on SQLite and once on PostgreSQL. PostgreSQL
//! runs when `MENTORTRACK_TEST_POSTGRES_URL` names a server on which the test may create
//! databases; without it the PostgreSQL half reports itself skipped, and fails instead when
//! `MENTORTRACK_REQUIRE_POSTGRES` is set (as `tests/run.sh` and CI do).

pub mod bench;
pub mod checklists;
pub mod webdriver;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use mentortrack::config::Config;
use mentortrack::db::Db;
use mentortrack::domain::assignments;
use mentortrack::domain::org_units::{self, NewOrgUnit, OrgUnit};
use mentortrack::domain::organisations::{self, NewOrganisation, Organisation};
use mentortrack::domain::providers::{self, ValidProvider};
use mentortrack::domain::users::{self, NewUser};
use reqwest::redirect::Policy;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct-horse-42";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Runs each test once per engine, in modules `sqlite` and `postgres`.
#[macro_export]
macro_rules! engine_tests {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[allow(unused_braces)]
                async fn $name() {
                    let $app = $crate::TestApp::spawn($crate::Engine::Sqlite).await;
                    $body
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[allow(unused_braces)]
                async fn $name() {
                    if !$crate::postgres_available(stringify!($name)) {
                        return;
                    }
                    let $app = $crate::TestApp::spawn($crate::Engine::Postgres).await;
                    $body
                }
            )*
        }
    };
}

/// Whether the PostgreSQL half of a test can run; panics if it must run but cannot.
pub fn postgres_available(test: &str) -> bool {
    if std::env::var("MENTORTRACK_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()) {
        return true;
    }
    if std::env::var("MENTORTRACK_REQUIRE_POSTGRES").is_ok() {
        panic!("MENTORTRACK_REQUIRE_POSTGRES is set but MENTORTRACK_TEST_POSTGRES_URL is not");
    }
    eprintln!(
        "SKIPPED {test} on PostgreSQL: set MENTORTRACK_TEST_POSTGRES_URL (tests/run.sh does)"
    );
    false
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh, migrated database of the engine; returns its URL.
pub async fn fresh_database(engine: Engine, dir: &std::path::Path) -> String {
    match engine {
        Engine::Sqlite => format!("sqlite://{}/test.db", dir.display()),
        Engine::Postgres => {
            let admin = std::env::var("MENTORTRACK_TEST_POSTGRES_URL")
                .expect("MENTORTRACK_TEST_POSTGRES_URL");
            let name = format!(
                "mt_test_{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0)
            );
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
                .await
                .expect("connect to the test PostgreSQL server");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create a test database");
            let mut url = url::Url::parse(&admin).expect("MENTORTRACK_TEST_POSTGRES_URL is a URL");
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
    }
}

/// Compiled plugins are keyed by content and engine, so every test may share one cache; it
/// saves compiling the same components again in each test.
pub fn shared_plugin_cache() -> std::path::PathBuf {
    std::env::temp_dir().join("mentortrack-test-plugin-cache")
}

/// A component built from `plugins/` by the host's build script (`hbb.wasm`, `hostile_loop.wasm`…).
pub fn component(file: &str) -> Vec<u8> {
    let path = std::path::Path::new(mentortrack::plugins::COMPONENTS_DIR).join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Installs and activates a plugin as the command line would.
pub async fn install_active(app: &TestApp, file: &str) -> i64 {
    let installed =
        mentortrack::plugins::lifecycle::install(&app.db, &app.plugins, None, component(file))
            .await
            .unwrap_or_else(|e| panic!("installing {file}: {e:?}"));
    mentortrack::plugins::lifecycle::change(
        &app.db,
        &app.plugins,
        None,
        installed.version.id,
        mentortrack::plugins::lifecycle::Change::Activate,
    )
    .await
    .expect("activate");
    installed.version.id
}

/// A running server and its database.
pub struct TestApp {
    pub engine: Engine,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub db: Db,
    pub database_url: String,
    pub plugins: std::sync::Arc<mentortrack::plugins::Registry>,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: std::sync::Arc<tempfile::TempDir>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn test_config() -> Config {
    Config::default()
}

impl TestApp {
    pub async fn spawn(engine: Engine) -> TestApp {
        Self::spawn_with(engine, test_config()).await
    }

    pub async fn spawn_with(engine: Engine, config: Config) -> TestApp {
        let dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
        let database_url = fresh_database(engine, dir.path()).await;
        Self::start(engine, database_url, dir, config).await
    }

    /// A second server process on the same database, as behind a load balancer.
    pub async fn another_process(&self) -> TestApp {
        self.another_process_with(test_config(), mentortrack::plugins::Limits::default())
            .await
    }

    /// A second server on the same database with its own settings and plugin limits.
    pub async fn another_process_with(
        &self,
        config: Config,
        limits: mentortrack::plugins::Limits,
    ) -> TestApp {
        Self::start_with(
            self.engine,
            self.database_url.clone(),
            self._dir.clone(),
            config,
            limits,
        )
        .await
    }

    async fn start(
        engine: Engine,
        database_url: String,
        dir: std::sync::Arc<tempfile::TempDir>,
        config: Config,
    ) -> TestApp {
        Self::start_with(
            engine,
            database_url,
            dir,
            config,
            mentortrack::plugins::Limits::default(),
        )
        .await
    }

    async fn start_with(
        engine: Engine,
        database_url: String,
        dir: std::sync::Arc<tempfile::TempDir>,
        config: Config,
        limits: mentortrack::plugins::Limits,
    ) -> TestApp {
        let db = Db::open(&database_url)
            .await
            .expect("open and migrate the database");
        let runtime = mentortrack::plugins::Runtime::new(limits, Some(shared_plugin_cache()))
            .expect("plugin runtime");
        let plugins = mentortrack::plugins::Registry::start(db.clone(), runtime)
            .await
            .expect("plugin registry");
        // Other processes' changes show up quickly in tests.
        plugins.watch(std::time::Duration::from_millis(200));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("address");
        let (tx, rx) = oneshot::channel::<()>();
        let app = mentortrack::server::app(db.clone(), config, plugins.clone());
        tokio::spawn(async move {
            let _ = mentortrack::server::serve(listener, app, async {
                let _ = rx.await;
            })
            .await;
        });
        TestApp {
            engine,
            url: format!("http://{addr}"),
            db,
            database_url,
            plugins,
            shutdown: Some(tx),
            _dir: dir,
        }
    }

    /// A client that keeps cookies and does not follow redirects (tests look at them).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .expect("http client")
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Signs in through the login form; returns a browser-like client and its CSRF token.
    pub async fn sign_in(&self, email: &str) -> Web {
        let client = self.client();
        let login = client
            .get(self.at("/login"))
            .send()
            .await
            .expect("GET /login");
        let html = login.text().await.expect("login page");
        let csrf = csrf_token(&html).expect("login form has a CSRF token");
        let response = client
            .post(self.at("/login"))
            .form(&[
                ("email", email),
                ("password", PASSWORD),
                ("csrf_token", &csrf),
                ("next", "/"),
            ])
            .send()
            .await
            .expect("POST /login");
        assert_eq!(response.status(), 303, "signing in as {email} failed");
        let home = client.get(self.at("/")).send().await.expect("GET /");
        assert_eq!(home.status(), 200);
        let csrf = csrf_token(&home.text().await.expect("home")).expect("pages carry a CSRF token");
        Web {
            client,
            csrf,
            base: self.url.clone(),
        }
    }

    /// An API bearer token for the user.
    pub async fn token(&self, email: &str) -> String {
        let response = self
            .client()
            .post(self.at("/api/v1/auth/token"))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .expect("POST /api/v1/auth/token");
        assert_eq!(response.status(), 201, "token for {email}");
        let body: serde_json::Value = response.json().await.expect("token JSON");
        body["token"].as_str().expect("token").to_string()
    }

    pub async fn api(&self, email: &str) -> Api {
        Api {
            client: self.client(),
            token: self.token(email).await,
            base: self.url.clone(),
        }
    }

    /// Seeds the two-partner programme every authorisation test uses.
    pub async fn seed(&self) -> Fixture {
        seed(&self.db).await
    }

    /// The same, with each partner's real plugin installed and active: the midwives' LDHF
    /// drills for A (RAM) and Helping Babies Breathe for B (RPA).
    pub async fn seed_with_plugins(&self) -> Fixture {
        let mut f = seed(&self.db).await;
        f.a.plugin_version_id = install_active(self, f.a.plugin_file).await;
        f.b.plugin_version_id = install_active(self, f.b.plugin_file).await;
        f
    }

    /// Plugins, and one scored session per partner logged by its mentor on its own checklist.
    pub async fn seed_with_sessions(&self) -> Fixture {
        let mut f = self.seed_with_plugins().await;
        for party in [&mut f.a, &mut f.b] {
            party.session_id = self.log_session(party).await;
            party.training_id = self.record_training(party).await;
        }
        f
    }

    /// Records a one-day training the party's provider attended, without tests.
    pub async fn record_training(&self, party: &Party) -> String {
        use mentortrack::domain::trainings::{self, Created, ParticipantInput, TrainingInput};
        let today = chrono::Utc::now()
            .date_naive()
            .format("%Y-%m-%d")
            .to_string();
        let input = TrainingInput {
            id: Some(mentortrack::domain::scoring::new_uuid().expect("uuid")),
            title: Some("Seeded refresher".into()),
            start_date: Some(today.clone()),
            end_date: Some(today.clone()),
            venue: Some("District office".into()),
            facility_id: None,
            facilitators: Some("Seeded facilitator".into()),
            participants: vec![ParticipantInput {
                provider_id: Some(party.provider_id),
                attendance: vec![today],
                pre_test: None,
                post_test: None,
            }],
        };
        match trainings::create(&self.db, &self.plugins, &party_mentor(party), &input).await {
            Ok(Created::New(t)) => t.summary.id,
            other => panic!("seeding a training: {other:?}"),
        }
    }

    /// Logs a session for the party's provider, scored on the party's first checklist with the
    /// best answers of the upload dry run.
    pub async fn log_session(&self, party: &Party) -> String {
        use mentortrack::domain::sessions::{self, Created, ObservationInput, SessionInput};
        let checklists = self
            .plugins
            .checklists(Some(party.org.id))
            .await
            .expect("checklists");
        let c = checklists
            .iter()
            .find(|c| c.plugin_version_id == party.plugin_version_id)
            .expect("the party's own checklist");
        let [best, _] = mentortrack::plugins::checks::dry_run_responses(&c.checklist);
        let actor = party_mentor(party);
        let input = SessionInput {
            id: Some(mentortrack::domain::scoring::new_uuid().expect("uuid")),
            facility_id: Some(party.facility.id),
            date: Some(
                chrono::Utc::now()
                    .date_naive()
                    .format("%Y-%m-%d")
                    .to_string(),
            ),
            session_type: Some("skills_drill".into()),
            topic: Some("Seeded drill".into()),
            duration_minutes: Some(30),
            mentee_ids: vec![party.provider_id],
            notes: None,
            action_points: None,
            observations: vec![ObservationInput {
                provider_id: Some(party.provider_id),
                plugin_version_id: Some(c.plugin_version_id),
                checklist_id: Some(c.checklist.id.clone()),
                responses: best,
            }],
        };
        match sessions::create(&self.db, &self.plugins, &actor, &input).await {
            Ok(Created::New(s)) => s.summary.id,
            other => panic!("seeding a session: {other:?}"),
        }
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(self.db.pool())
            .await
            .expect("count")
    }
}

/// The CSRF token of the first form on a page.
pub fn csrf_token(html: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("input[name=csrf_token]").ok()?;
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .map(str::to_string)
}

/// A signed-in browser.
pub struct Web {
    pub client: reqwest::Client,
    pub csrf: String,
    pub base: String,
}

impl Web {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET")
    }

    /// Submits a form with the session's CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &self.csrf));
        self.client
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .expect("POST")
    }

    pub async fn html(&self, path: &str) -> (u16, scraper::Html) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (
            status,
            scraper::Html::parse_document(&r.text().await.expect("body")),
        )
    }
}

/// An API client with a bearer token.
pub struct Api {
    pub client: reqwest::Client,
    pub token: String,
    pub base: String,
}

impl Api {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("GET")
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("request")
    }
}

/// Texts of the elements a CSS selector matches.
pub fn texts(doc: &scraper::Html, css: &str) -> Vec<String> {
    let sel = scraper::Selector::parse(css).expect("valid selector");
    doc.select(&sel)
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect()
}

pub struct Party {
    pub org: Organisation,
    pub org_admin: String,
    pub mentor: String,
    pub mentor_id: i64,
    /// The facility the mentor is assigned to.
    pub facility: OrgUnit,
    pub provider_id: i64,
    /// The partner's own plugin (as built in `plugins/`), and its version once installed.
    pub plugin_file: &'static str,
    pub plugin_version_id: i64,
    /// A session the mentor logged (with `seed_with_sessions`), else empty.
    pub session_id: String,
    /// A training the mentor recorded (with `seed_with_sessions`), else empty.
    pub training_id: String,
    /// Reporting records of the party, for tests that create them (0 when not created).
    pub records: Records,
}

/// Ids of a party's reporting records (issue #5), filled by the tests that need them.
#[derive(Clone, Debug, Default)]
pub struct Records {
    pub qi_project_id: i64,
    pub pdsa_cycle_id: i64,
    pub action_item_id: i64,
    pub team_id: i64,
    pub death_review_id: i64,
    pub recommendation_id: i64,
    pub indicator_id: i64,
}

/// Project management plus two partners, A and B, each with an org admin, a mentor assigned
/// to one facility, and one provider there. A third facility belongs to nobody's mentors.
pub struct Fixture {
    pub admin: String,
    pub manager: String,
    pub pm: Organisation,
    pub a: Party,
    pub b: Party,
    pub district: OrgUnit,
    pub unassigned_facility: OrgUnit,
}

async fn unit(
    db: &Db,
    parent: Option<&OrgUnit>,
    level: &str,
    ftype: Option<&str>,
    code: &str,
    name: &str,
) -> OrgUnit {
    org_units::create(
        db,
        None,
        &NewOrgUnit {
            parent_id: parent.map(|p| p.id),
            parent_code: None,
            level: Some(level.into()),
            facility_type: ftype.map(str::to_string),
            code: Some(code.into()),
            name: Some(name.into()),
        },
    )
    .await
    .expect("org unit")
}

async fn org(db: &Db, code: &str, name: &str, kind: &str) -> Organisation {
    organisations::create(
        db,
        None,
        &NewOrganisation {
            code: Some(code.into()),
            name: Some(name.into()),
            kind: Some(kind.into()),
            country: Some("Rwanda".into()),
        },
    )
    .await
    .expect("organisation")
}

pub async fn user(db: &Db, org: &Organisation, email: &str, role: &str) -> i64 {
    users::create(
        db,
        None,
        &NewUser {
            organisation_id: Some(org.id),
            email: Some(email.into()),
            display_name: Some(email.split('@').next().unwrap_or(email).into()),
            role: Some(role.into()),
            password: Some(PASSWORD.into()),
            language: Some("en".into()),
        },
    )
    .await
    .expect("user")
    .id
}

async fn party(
    db: &Db,
    code: &str,
    name: &str,
    facility: OrgUnit,
    plugin_file: &'static str,
) -> Party {
    let org = org(db, code, name, "professional_association").await;
    let lc = code.to_lowercase();
    let org_admin = format!("admin@{lc}.example.org");
    let mentor = format!("mentor@{lc}.example.org");
    user(db, &org, &org_admin, "org_admin").await;
    let mentor_id = user(db, &org, &mentor, "mentor").await;
    assignments::add(db, None, mentor_id, Some(facility.id))
        .await
        .expect("assignment");
    let mut tx = db.begin().await.expect("tx");
    let provider_id = providers::insert(
        &mut tx,
        None,
        &ValidProvider {
            organisation_id: org.id,
            facility_id: facility.id,
            code: Some(format!("{code}-001")),
            name: format!("Provider of {code}"),
            cadre: "midwife".into(),
            sex: Some("female".into()),
            phone: None,
            active: true,
        },
    )
    .await
    .expect("provider");
    tx.commit().await.expect("commit");
    Party {
        org,
        org_admin,
        mentor,
        mentor_id,
        facility,
        provider_id,
        plugin_file,
        plugin_version_id: 0,
        session_id: String::new(),
        training_id: String::new(),
        records: Records::default(),
    }
}

/// The party's mentor as the domain sees them.
pub fn party_mentor(party: &Party) -> mentortrack::authz::Actor {
    mentortrack::authz::Actor {
        user_id: party.mentor_id,
        organisation_id: party.org.id,
        role: mentortrack::authz::Role::Mentor,
        email: party.mentor.clone(),
        display_name: party.mentor.clone(),
        language: "en".into(),
    }
}

pub async fn seed(db: &Db) -> Fixture {
    let country = unit(db, None, "country", None, "RW", "Rwanda").await;
    let province = unit(
        db,
        Some(&country),
        "province",
        None,
        "RW-W",
        "Western Province",
    )
    .await;
    let district = unit(db, Some(&province), "district", None, "RW-W-KAR", "Karongi").await;
    let fa = unit(
        db,
        Some(&district),
        "facility",
        Some("hospital"),
        "RW-KAR-H1",
        "Kibuye Referral Hospital",
    )
    .await;
    let fb = unit(
        db,
        Some(&district),
        "facility",
        Some("health_centre"),
        "RW-KAR-HC1",
        "Rubengera Health Centre",
    )
    .await;
    let unassigned = unit(
        db,
        Some(&district),
        "facility",
        Some("health_post"),
        "RW-KAR-HP1",
        "Gitesi Health Post",
    )
    .await;
    let pm = org(db, "PM", "Barame Project Management", "project_management").await;
    let admin = "admin@pm.example.org".to_string();
    let manager = "manager@pm.example.org".to_string();
    user(db, &pm, &admin, "admin").await;
    user(db, &pm, &manager, "manager").await;
    let a = party(
        db,
        "RAM",
        "Rwanda Association of Midwives",
        fa,
        "midwives_ldhf.wasm",
    )
    .await;
    let b = party(db, "RPA", "Rwanda Paediatric Association", fb, "hbb.wasm").await;
    Fixture {
        admin,
        manager,
        pm,
        a,
        b,
        district,
        unassigned_facility: unassigned,
    }
}
