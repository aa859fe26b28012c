//! The demo programme of `mentortrack demo`: loaded once (a second load changes nothing), the
//! Barame shape (7 districts, 16 hospitals, 142 health centres), every role and cadre, providers
//! registered inside their organisation's area, Khmer text intact, and accounts that sign in
//! through the real login form and API.

use std::collections::BTreeSet;
use std::time::Instant;

use mentortrack::demo::{self, DemoSummary};
use mentortrack::domain::providers::CADRES;
use mentortrack_tests::{TestApp, csrf_token, engine_tests};
use serde_json::{Value, json};

async fn scalar(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn strings(app: &TestApp, sql: &'static str) -> Vec<String> {
    sqlx::query_scalar(sql)
        .fetch_all(app.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Org units of a level (and facility type) anywhere under the country with this code.
async fn in_country(app: &TestApp, country: &str, level: &str, facility_type: Option<&str>) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM org_units u JOIN org_units c ON u.path LIKE c.path || '%'
         WHERE c.code = $1 AND u.level = $2 AND ($3 IS NULL OR u.facility_type = $3)",
    )
    .bind(country)
    .bind(level)
    .bind(facility_type)
    .fetch_one(app.db.pool())
    .await
    .expect("count org units")
}

const TABLES: [&str; 6] = [
    "organisations",
    "org_units",
    "users",
    "mentor_assignments",
    "providers",
    "audit_log",
];

async fn table_counts(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for t in TABLES {
        out.push(app.count(t).await);
    }
    out
}

async fn timed_load(app: &TestApp, what: &str) -> DemoSummary {
    let started = Instant::now();
    let summary = demo::load(&app.db).await.expect("load the demo");
    println!(
        "{what} demo load on {:?}: {:.3} s",
        app.engine,
        started.elapsed().as_secs_f64()
    );
    summary
}

fn has_khmer(s: &str) -> bool {
    s.chars().any(|c| ('\u{1780}'..='\u{17FF}').contains(&c))
}

engine_tests! {
    async fn the_demo_loads_once_with_the_barame_programme(app) {
        let first = timed_load(&app, "first").await;
        assert!(first.loaded_in.is_some(), "the first call loads the demo");
        let counts = table_counts(&app).await;
        println!("{first}");

        let second = timed_load(&app, "second").await;
        assert!(second.loaded_in.is_none(), "the second call loads nothing");
        assert_eq!(table_counts(&app).await, counts, "a second load changes nothing");
        assert_eq!(second.accounts, first.accounts);
        assert_eq!(second.countries, first.countries);
        assert_eq!(second.providers, first.providers);

        // Rwanda: the Barame intervention zone.
        assert_eq!(in_country(&app, "RW", "district", None).await, 7);
        assert_eq!(in_country(&app, "RW", "facility", Some("hospital")).await, 16);
        assert_eq!(in_country(&app, "RW", "facility", Some("health_centre")).await, 142);
        assert!(in_country(&app, "RW", "facility", Some("health_post")).await > 0);
        // Cambodia: Ratanak Kiri and Mondul Kiri.
        assert!(in_country(&app, "KH", "province", None).await >= 2);
        assert!(in_country(&app, "KH", "district", None).await >= 2);
        assert!(in_country(&app, "KH", "facility", Some("hospital")).await >= 2);
        let rw = first.country("RW").expect("Rwanda in the summary");
        assert_eq!((rw.districts, rw.hospitals, rw.health_centres), (7, 16, 142));

        // Every path names its ancestors, ending with the unit itself.
        let bad_paths = scalar(
            &app,
            "SELECT COUNT(*) FROM org_units u LEFT JOIN org_units p ON p.id = u.parent_id
             WHERE (p.id IS NULL AND u.path <> '/' || u.id || '/')
                OR (p.id IS NOT NULL AND u.path <> p.path || u.id || '/')",
        )
        .await;
        assert_eq!(bad_paths, 0);

        // Organisations of every kind, and the Cambodian partners.
        let codes: BTreeSet<String> = strings(&app, "SELECT code FROM organisations").await.into_iter().collect();
        for code in ["BARAME-PM", "RAM", "RSOG", "RPA", "JHPIEGO", "SHARE", "CARE", "MOH-RW"] {
            assert!(codes.contains(code), "organisation {code}");
        }
        let kinds: BTreeSet<String> = strings(&app, "SELECT DISTINCT kind FROM organisations").await.into_iter().collect();
        assert_eq!(kinds.len(), 4, "{kinds:?}");

        // Every role, and mentors in Kinyarwanda, French and Khmer.
        let roles: BTreeSet<String> = strings(&app, "SELECT DISTINCT role FROM users").await.into_iter().collect();
        assert_eq!(roles, ["admin", "manager", "mentor", "org_admin"].map(String::from).into());
        let languages: BTreeSet<String> = strings(&app, "SELECT DISTINCT language FROM users WHERE role = 'mentor'").await.into_iter().collect();
        for l in ["rw", "fr", "km", "en"] {
            assert!(languages.contains(l), "a mentor speaks {l}: {languages:?}");
        }
        assert!(first.accounts.iter().any(|a| a.email == "admin@demo.mentortrack.org" && a.role == "admin"));
        assert!(first.accounts.iter().any(|a| a.email == "manager@demo.mentortrack.org" && a.role == "manager"));
        assert_eq!(first.accounts.len() as i64, app.count("users").await);

        // Each partner has an org admin and 2 to 4 mentors, each at 3 to 8 facilities.
        let partners_without_admin = scalar(
            &app,
            "SELECT COUNT(*) FROM organisations o
             WHERE o.code IN ('RAM', 'RSOG', 'RPA', 'JHPIEGO', 'SHARE', 'CARE')
               AND NOT EXISTS (SELECT 1 FROM users u WHERE u.organisation_id = o.id AND u.role = 'org_admin')",
        )
        .await;
        assert_eq!(partners_without_admin, 0);
        let per_partner: Vec<(String, i64)> = sqlx::query_as(
            "SELECT o.code, COUNT(*) FROM users u JOIN organisations o ON o.id = u.organisation_id
             WHERE u.role = 'mentor' GROUP BY o.code",
        )
        .fetch_all(app.db.pool())
        .await
        .unwrap();
        assert_eq!(per_partner.len(), 6, "{per_partner:?}");
        assert!(per_partner.iter().all(|(_, n)| (2..=4).contains(n)), "{per_partner:?}");
        let per_mentor: Vec<i64> = sqlx::query_scalar(
            "SELECT COUNT(a.id) FROM users u LEFT JOIN mentor_assignments a ON a.mentor_id = u.id
             WHERE u.role = 'mentor' GROUP BY u.id",
        )
        .fetch_all(app.db.pool())
        .await
        .unwrap();
        assert!(per_mentor.iter().all(|n| (3..=8).contains(n)), "{per_mentor:?}");

        // A few hundred providers of every cadre.
        let providers = app.count("providers").await;
        assert!(providers >= 300, "{providers} providers");
        assert_eq!(providers, first.providers);
        let cadres: BTreeSet<String> = strings(&app, "SELECT DISTINCT cadre FROM providers").await.into_iter().collect();
        assert_eq!(cadres, CADRES.map(String::from).into());

        // The rule the demo keeps: every provider works at a facility one of its organisation's
        // mentors is assigned to (so that organisation's mentors can edit the record).
        let outside = scalar(
            &app,
            "SELECT COUNT(*) FROM providers p WHERE NOT EXISTS (
                 SELECT 1 FROM mentor_assignments a JOIN users u ON u.id = a.mentor_id
                 WHERE a.facility_id = p.facility_id AND u.organisation_id = p.organisation_id)",
        )
        .await;
        assert_eq!(outside, 0, "providers outside their organisation's assigned facilities");
        // And each partner's area: the associations at hospitals, Jhpiego at health centres and
        // posts in Rwanda, SHARE and CARE in Cambodia.
        let misplaced = scalar(
            &app,
            "SELECT COUNT(*) FROM providers p JOIN organisations o ON o.id = p.organisation_id
             JOIN org_units f ON f.id = p.facility_id
             JOIN org_units c ON f.path LIKE c.path || '%' AND c.level = 'country'
             WHERE (o.code IN ('RAM', 'RSOG', 'RPA') AND (f.facility_type <> 'hospital' OR c.code <> 'RW'))
                OR (o.code = 'JHPIEGO' AND (f.facility_type = 'hospital' OR c.code <> 'RW'))
                OR (o.code IN ('SHARE', 'CARE') AND c.code <> 'KH')
                OR o.code IN ('BARAME-PM', 'MOH-RW')",
        )
        .await;
        assert_eq!(misplaced, 0, "providers outside their partner's area");
        // Village cadres are mostly Cambodian (CARE's and SHARE's).
        let village: Vec<(String, i64)> = sqlx::query_as(
            "SELECT c.code, COUNT(*) FROM providers p JOIN org_units f ON f.id = p.facility_id
             JOIN org_units c ON f.path LIKE c.path || '%' AND c.level = 'country'
             WHERE p.cadre IN ('village_health_volunteer', 'village_health_support_group', 'traditional_birth_attendant')
             GROUP BY c.code",
        )
        .fetch_all(app.db.pool())
        .await
        .unwrap();
        let total: i64 = village.iter().map(|(_, n)| n).sum();
        let kh: i64 = village.iter().filter(|(c, _)| c == "KH").map(|(_, n)| n).sum();
        assert!(total > 0 && kh * 10 >= total * 9, "{village:?}");
        // Codes are the organisation's own numbering.
        let foreign_codes = scalar(
            &app,
            "SELECT COUNT(*) FROM providers p JOIN organisations o ON o.id = p.organisation_id
             WHERE p.code NOT LIKE o.code || '-%'",
        )
        .await;
        assert_eq!(foreign_codes, 0);

        // Every record created has its audit entry.
        for (entity, table) in [
            ("organisation", "organisations"),
            ("org_unit", "org_units"),
            ("user", "users"),
            ("mentor_assignment", "mentor_assignments"),
            ("provider", "providers"),
        ] {
            let audited: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM audit_log WHERE entity = $1 AND action = 'create'",
            )
            .bind(entity)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
            assert_eq!(audited, app.count(table).await, "audit entries of {entity}");
        }

        // The summary a person reads in the terminal.
        let text = first.to_string();
        for needle in [
            demo::PASSWORD,
            "admin@demo.mentortrack.org",
            "manager@demo.mentortrack.org",
            "mentor1.ram@demo.mentortrack.org",
            "7 districts",
            "16 hospitals",
            "142 health centres",
            "Rwanda Association of Midwives",
        ] {
            assert!(text.contains(needle), "summary lacks {needle:?}:\n{text}");
        }
        assert!(second.to_string().contains("already loaded"));
    }

    async fn khmer_text_round_trips(app) {
        timed_load(&app, "first").await;
        let name: String = sqlx::query_scalar("SELECT name FROM org_units WHERE code = 'KH-BL-HC01'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(name, "មណ្ឌលសុខភាពឡាបានសៀក");
        let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM org_units WHERE name = $1")
            .bind("មណ្ឌលសុខភាពសែនមនោរម្យ")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(found, 1);

        let names = strings(
            &app,
            "SELECT p.name FROM providers p JOIN organisations o ON o.id = p.organisation_id
             WHERE o.code IN ('SHARE', 'CARE') ORDER BY p.id",
        )
        .await;
        let khmer: Vec<&String> = names.iter().filter(|n| has_khmer(n)).collect();
        assert!(!khmer.is_empty() && khmer.len() < names.len(), "a mix of scripts");
        for n in &khmer {
            let back: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM providers WHERE name = $1")
                .bind(n.as_str())
                .fetch_one(app.db.pool())
                .await
                .unwrap();
            assert!(back >= 1, "{n} does not round-trip");
        }
        let rw_accents = scalar(
            &app,
            "SELECT COUNT(*) FROM users WHERE display_name = 'Espérance Nyiraneza'",
        )
        .await;
        assert_eq!(rw_accents, 1);
    }

    async fn demo_accounts_sign_in_with_the_demo_password(app) {
        timed_load(&app, "first").await;

        // The login form, as a browser submits it.
        let client = app.client();
        let page = client.get(app.at("/login")).send().await.unwrap().text().await.unwrap();
        let csrf = csrf_token(&page).expect("login form has a CSRF token");
        let response = client
            .post(app.at("/login"))
            .form(&[
                ("email", "mentor1.ram@demo.mentortrack.org"),
                ("password", demo::PASSWORD),
                ("csrf_token", csrf.as_str()),
                ("next", "/"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "signing in with the demo password");
        let home = client.get(app.at("/")).send().await.unwrap();
        assert_eq!(home.status(), 200);

        // The admin too, and the API for a Khmer-speaking SHARE mentor.
        let wrong = app
            .client()
            .post(app.at("/api/v1/auth/token"))
            .json(&json!({"email": "admin@demo.mentortrack.org", "password": "not-the-demo-password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
        let response = app
            .client()
            .post(app.at("/api/v1/auth/token"))
            .json(&json!({"email": "mentor1.share@demo.mentortrack.org", "password": demo::PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let token: Value = response.json().await.unwrap();
        let token = token["token"].as_str().expect("token").to_string();
        let me: Value = app
            .client()
            .get(app.at("/api/v1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["role"], "mentor");
        assert_eq!(me["language"], "km");

        // The mentor reads exactly SHARE's registry, Khmer names intact through JSON.
        let page: Value = app
            .client()
            .get(app.at("/api/v1/providers?per_page=200"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let share: i64 = scalar(
            &app,
            "SELECT COUNT(*) FROM providers p JOIN organisations o ON o.id = p.organisation_id
             WHERE o.code = 'SHARE'",
        )
        .await;
        assert_eq!(page["total"].as_i64(), Some(share));
        let items = page["items"].as_array().expect("items");
        let khmer: Vec<&str> = items
            .iter()
            .filter_map(|p| p["name"].as_str())
            .filter(|n| has_khmer(n))
            .collect();
        assert!(!khmer.is_empty(), "Khmer names reach the API");
        let stored = strings(&app, "SELECT name FROM providers").await;
        assert!(khmer.iter().all(|n| stored.iter().any(|s| s == n)));
    }

    async fn the_demo_history_is_scored_by_the_real_plugins_and_improves(app) {
        demo::load(&app.db).await.expect("load the demo");
        for file in ["midwives_ldhf.wasm", "hbb.wasm", "emonc.wasm", "jhpiego_qi.wasm"] {
            mentortrack_tests::install_active(&app, file).await;
        }
        let first = demo::activity::load(&app.db, &app.plugins).await.expect("history");
        assert!(first.grants >= 10, "{first:?}");
        assert!(first.sessions >= 300, "{first:?}");
        assert!(first.observations > first.sessions, "{first:?}");
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM sessions").await, first.sessions as i64);
        // Every partner with checklists logged sessions, on more than one partner's plugins.
        let orgs = strings(&app, "SELECT DISTINCT o.code FROM sessions s JOIN organisations o ON o.id = s.organisation_id ORDER BY o.code").await;
        for code in ["JHPIEGO", "RAM", "RPA", "RSOG", "SHARE"] {
            assert!(orgs.iter().any(|o| o == code), "{code} has no sessions: {orgs:?}");
        }
        let plugins = strings(&app, "SELECT DISTINCT plugin_key FROM observations ORDER BY plugin_key").await;
        assert!(plugins.len() >= 3, "{plugins:?}");
        // Skills grow over the six months: the last month scores better than the first.
        let months: Vec<(String, f64)> = sqlx::query_as(
            "SELECT s.session_date, ob.percentage FROM observations ob JOIN sessions s ON s.id = ob.session_id
             WHERE ob.percentage IS NOT NULL ORDER BY s.session_date",
        )
        .fetch_all(app.db.pool())
        .await
        .unwrap();
        let n = months.len() / 6;
        let mean = |xs: &[(String, f64)]| xs.iter().map(|x| x.1).sum::<f64>() / xs.len() as f64;
        let (early, late) = (mean(&months[..n]), mean(&months[months.len() - n..]));
        assert!(late > early + 10.0, "early {early:.1} %, late {late:.1} %");
        // Trainings with pre- and post-tests for the partners that may use the knowledge
        // check: knowledge rises by roughly ten points or more, as in published LDHF results.
        assert!(first.trainings >= 8, "{first:?}");
        let tests: Vec<(String, f64)> = sqlx::query_as(
            "SELECT ob.phase, ob.percentage FROM observations ob WHERE ob.training_id IS NOT NULL",
        )
        .fetch_all(app.db.pool())
        .await
        .unwrap();
        let phase_mean = |phase: &str| {
            let xs: Vec<f64> = tests.iter().filter(|t| t.0 == phase).map(|t| t.1).collect();
            assert!(xs.len() >= 40, "{phase}: {} tests", xs.len());
            xs.iter().sum::<f64>() / xs.len() as f64
        };
        let (pre, post) = (phase_mean("pre"), phase_mean("post"));
        assert!((65.0..82.0).contains(&pre), "pre-test mean {pre:.1} %");
        assert!(post > pre + 8.0, "pre {pre:.1} %, post {post:.1} %");
        // Loading again adds nothing.
        let again = demo::activity::load(&app.db, &app.plugins).await.expect("history again");
        assert_eq!((again.grants, again.sessions, again.trainings), (0, 0, 0), "{again:?}");
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM sessions").await, first.sessions as i64);
    }

    async fn the_demo_refuses_a_database_with_other_data(app) {
        app.seed().await;
        let before = table_counts(&app).await;
        let err = demo::load(&app.db).await.expect_err("a non-empty database is refused");
        let message = format!("{err:#}");
        assert!(message.contains("empty database"), "{message}");
        assert_eq!(table_counts(&app).await, before, "nothing was written");
    }
}
