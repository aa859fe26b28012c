//! The national-scale data set of `mentortrack demo --scale national`, generated at 1 %: the
//! programme's shape, observations scored exactly as the plugins score them (a sample re-scored
//! with its own context), metrics beside every observation, every kind of reporting record,
//! indicators with figures, a second load that changes nothing, and ids that leave room for the
//! application's own inserts.

use std::collections::BTreeSet;

use mentortrack::demo::national::{self, FULL_OBSERVATIONS, Options};
use mentortrack::domain::indicators::{self, Scope};
use mentortrack::domain::quarter::Quarter;
use mentortrack::plugins::model::{Response, ScoreContext};
use mentortrack_tests::{TestApp, engine_tests};

async fn scalar(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// id, plugin version, checklist, responses, card, session type, cadre, date, language.
type SampledObservation = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

fn options() -> Options {
    Options {
        percent: 1,
        end: Quarter::current().previous().last_day(),
        progress: false,
    }
}

engine_tests! {
    async fn a_one_percent_national_data_set_has_the_national_shape(app) {
        let options = options();
        let started = std::time::Instant::now();
        let summary = national::load(&app.db, &app.plugins, &options)
            .await
            .expect("generate 1 % of the national data set");
        println!("{summary}\n({:?}: {:.1} s)", app.engine, started.elapsed().as_secs_f64());
        assert!(summary.loaded_in.is_some());

        // Shape: three districts (the fewest), every kind of facility, 8 partners.
        assert_eq!(summary.partners, 8);
        assert_eq!(summary.districts, 3);
        assert!(summary.hospitals >= 3, "{summary:?}");
        assert!(summary.health_centres >= 3, "{summary:?}");
        assert!(summary.health_posts >= 6, "{summary:?}");
        assert!((10..=40).contains(&summary.facilities()), "{summary:?}");
        // Hospitals hold ~115 staff, health centres ~28, health posts ~10.
        assert!((300..=1200).contains(&summary.providers), "{summary:?}");
        let sexes = scalar(&app, "SELECT COUNT(DISTINCT sex) FROM providers").await;
        assert_eq!(sexes, 2);
        let cadres = scalar(&app, "SELECT COUNT(DISTINCT cadre) FROM providers").await;
        assert!(cadres >= 8, "{cadres} cadres");
        let partners_mentoring = scalar(
            &app,
            "SELECT COUNT(DISTINCT organisation_id) FROM sessions",
        )
        .await;
        assert_eq!(partners_mentoring, 8, "every partner logs sessions");
        let unassigned = scalar(
            &app,
            "SELECT COUNT(*) FROM sessions s WHERE NOT EXISTS (
                 SELECT 1 FROM mentor_assignments a WHERE a.mentor_id = s.mentor_id AND a.facility_id = s.facility_id)",
        )
        .await;
        assert_eq!(unassigned, 0, "mentors log only where they are assigned");
        let foreign = scalar(
            &app,
            "SELECT COUNT(*) FROM session_mentees sm JOIN sessions s ON s.id = sm.session_id
               JOIN providers p ON p.id = sm.provider_id
             WHERE p.organisation_id <> s.organisation_id OR p.facility_id <> s.facility_id",
        )
        .await;
        assert_eq!(foreign, 0, "mentees are the partner's staff at the session's facility");

        // 1 % of the observations, over five years.
        let target = FULL_OBSERVATIONS / 100;
        assert!(
            (target as i64..=target as i64 + 2_000).contains(&summary.observations),
            "{} observations for a target of {target}",
            summary.observations
        );
        let first: chrono::NaiveDate = summary.first_day.as_deref().unwrap_or_default().parse().expect("first day");
        let last: chrono::NaiveDate = summary.last_day.as_deref().unwrap_or_default().parse().expect("last day");
        assert!((first - options.start()).num_days() < 20, "history starts {first}");
        assert!((options.end - last).num_days() < 10 && last <= options.end, "history ends {last}");
        let quarters = scalar(&app, "SELECT COUNT(DISTINCT substr(session_date, 1, 7)) FROM sessions").await;
        assert!(quarters >= 60, "{quarters} months with sessions");

        // Metrics beside every session observation, as scoring stores them.
        let without_metrics = scalar(
            &app,
            "SELECT COUNT(*) FROM observations o WHERE NOT EXISTS
                 (SELECT 1 FROM observation_metrics m WHERE m.observation_id = o.id)",
        )
        .await;
        assert_eq!(without_metrics, 0);
        assert!(summary.metrics >= summary.observations);

        // Skills improve: the first year's pass rate is below the last year's.
        let pass_rates: Vec<(String, f64)> = sqlx::query_as(
            "SELECT substr(o.observed_on, 1, 4), AVG(m.value) FROM observations o
               JOIN observation_metrics m ON m.observation_id = o.id
             WHERE m.name LIKE '%.pass' AND o.session_id IS NOT NULL
             GROUP BY substr(o.observed_on, 1, 4) ORDER BY 1",
        )
        .fetch_all(app.db.pool())
        .await
        .expect("pass rates by year");
        let (Some(early), Some(late)) = (pass_rates.get(1), pass_rates.last()) else {
            panic!("pass rates: {pass_rates:?}");
        };
        assert!(late.1 > early.1 + 0.1, "pass rates by year: {pass_rates:?}");

        // Every kind of reporting record.
        assert!(summary.trainings > 0 && summary.training_tests >= 2 * summary.trainings);
        assert!(summary.death_reviews > 0 && summary.recommendations > 0, "{summary:?}");
        assert!(summary.qi_projects > 0 && summary.action_items > 0, "{summary:?}");
        assert!(summary.teams > 0 && summary.team_assessments > 0, "{summary:?}");
        let pdsa = scalar(&app, "SELECT COUNT(*) FROM pdsa_cycles").await;
        assert!(pdsa > 0);
        let achieved = scalar(&app, "SELECT COUNT(*) FROM team_targets WHERE achieved IS NOT NULL").await;
        assert_eq!(achieved, 5 * summary.team_assessments, "assessed quarters carry achievements");

        // Scores are the plugins' own: re-score a sample with each observation's own context
        // (its date included, which the generator's cache leaves out).
        let sample: Vec<SampledObservation> = sqlx::query_as(
            "SELECT o.id, o.plugin_version_id, o.checklist_id, o.responses_json, o.card_json,
                    s.session_type, p.cadre, o.observed_on, u.language
             FROM observations o JOIN sessions s ON s.id = o.session_id
               JOIN providers p ON p.id = o.provider_id JOIN users u ON u.id = s.mentor_id
             WHERE o.id % 97 = 0 ORDER BY o.id",
        )
        .fetch_all(app.db.pool())
        .await
        .expect("a sample of observations");
        assert!(sample.len() >= 50, "{} sampled", sample.len());
        let mut checklists = BTreeSet::new();
        for (id, version, checklist, responses, card, session_type, cadre, date, language) in sample {
            let responses: Vec<Response> = serde_json::from_str(&responses).expect("responses");
            let context = ScoreContext { session_type, mentee_cadre: cadre, date, language };
            let scored = app
                .plugins
                .score(version, &checklist, responses, context)
                .await
                .expect("re-score");
            let fresh = scored.outcome.expect("the plugin accepts the stored responses");
            assert_eq!(serde_json::to_string(&fresh).expect("card"), card, "{checklist}");
            let mut stored: Vec<(String, f64)> =
                sqlx::query_as("SELECT name, value FROM observation_metrics WHERE observation_id = $1 ORDER BY name")
                    .bind(id)
                    .fetch_all(app.db.pool())
                    .await
                    .expect("metrics");
            let mut expected: Vec<(String, f64)> = fresh.metrics.iter().map(|m| (m.name.clone(), m.value)).collect();
            expected.sort_by(|a, b| a.0.cmp(&b.0));
            stored.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(stored, expected, "metrics of observation {id}");
            checklists.insert(checklist);
        }
        assert!(checklists.len() >= 5, "sampled checklists: {checklists:?}");

        // The indicators have figures for the last complete quarter.
        let quarter = Quarter::of(options.end);
        let busiest: i64 = sqlx::query_scalar(
            "SELECT organisation_id FROM sessions GROUP BY organisation_id ORDER BY COUNT(*) DESC, organisation_id LIMIT 1",
        )
        .fetch_one(app.db.pool())
        .await
        .expect("the busiest partner");
        for scope in [Scope::Organisation(busiest), Scope::Programme] {
            let figures = indicators::compute(&app.db, scope, quarter).await.expect("compute");
            let by = |code: &str| figures.iter().find(|f| f.code == code).unwrap_or_else(|| panic!("{code}"));
            assert!(by("LDHF-01").total.numerator > 0.0, "{scope:?}: sessions");
            assert!(by("LDHF-02").total.numerator > 0.0, "{scope:?}: mentees");
            assert!(by("LDHF-03").total.value.is_some_and(|v| v > 0.0), "{scope:?}: reach");
            assert!(!by("LDHF-01").by_district.is_empty(), "{scope:?}: districts");
            assert!(by("LDHF-01").previous.numerator > 0.0, "{scope:?}: previous quarter");
        }
        let programme = indicators::compute(&app.db, Scope::Programme, quarter).await.expect("compute");
        let sessions_in_quarter: i64 = {
            let (first, last) = quarter.date_range();
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM sessions WHERE session_date >= $1 AND session_date <= $2 AND status = 'recorded'",
            )
            .bind(first)
            .bind(last)
            .fetch_one(app.db.pool())
            .await
            .expect("sessions in the quarter")
        };
        let ldhf01 = programme.iter().find(|f| f.code == "LDHF-01").expect("LDHF-01");
        assert_eq!(ldhf01.total.numerator, sessions_in_quarter as f64);
        for code in ["COMP-NR", "COMP-PPH", "COMP-OE", "COMP-IPC", "AMTSL-01", "TRN-02", "TEAM-01", "QI-02"] {
            let f = programme.iter().find(|f| f.code == code).expect(code);
            let with_previous = f.total.denominator.unwrap_or(0.0) + f.previous.denominator.unwrap_or(0.0);
            assert!(with_previous > 0.0, "{code} has no denominator in two quarters: {f:?}");
        }

        // The programme view cuts the programme's rows by partner instead of reading the
        // quarter again for each: every partner's figures (both quarters, every breakdown)
        // must be exactly what its own computation gives, and the programme's unchanged.
        let orgs: Vec<i64> = sqlx::query_scalar("SELECT id FROM organisations ORDER BY id")
            .fetch_all(app.db.pool())
            .await
            .expect("organisations");
        let (whole, each) = indicators::compute_programme(&app.db, quarter, &orgs)
            .await
            .expect("compute the programme with its partners");
        let json = |f: &[indicators::IndicatorFigures]| serde_json::to_value(f).expect("figures as JSON");
        assert_eq!(json(&whole), json(&programme));
        assert_eq!(each.len(), orgs.len());
        let mut partners_with_data = 0;
        for (org, figures) in orgs.iter().zip(&each) {
            let own = indicators::compute(&app.db, Scope::Organisation(*org), quarter)
                .await
                .expect("compute");
            assert_eq!(json(figures), json(&own), "organisation {org}");
            if own.iter().any(|f| f.total.numerator > 0.0) {
                partners_with_data += 1;
            }
        }
        assert_eq!(partners_with_data, 8, "every partner has figures in {quarter}");

        // Loading again changes nothing.
        let sessions = scalar(&app, "SELECT COUNT(*) FROM sessions").await;
        let again = national::load(&app.db, &app.plugins, &options).await.expect("second load");
        assert!(again.loaded_in.is_none());
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM sessions").await, sessions);

        // The application's own inserts get fresh ids after the generated ones.
        let max_action = scalar(&app, "SELECT MAX(id) FROM action_items").await;
        let (org, facility, mentor): (i64, i64, i64) = sqlx::query_as(
            "SELECT organisation_id, facility_id, mentor_id FROM sessions ORDER BY id LIMIT 1",
        )
        .fetch_one(app.db.pool())
        .await
        .expect("a session");
        let new_id: i64 = sqlx::query_scalar(
            "INSERT INTO action_items (organisation_id, facility_id, description, owner, due_on, status, created_by, created_at, updated_at)
             VALUES ($1, $2, 'Check the sequence', 'Tester', '2030-01-01', 'open', $3, '2030-01-01T00:00:00.000Z', '2030-01-01T00:00:00.000Z')
             RETURNING id",
        )
        .bind(org)
        .bind(facility)
        .bind(mentor)
        .fetch_one(app.db.pool())
        .await
        .expect("insert an action item");
        assert!(new_id > max_action, "{new_id} after {max_action}");
    }

    async fn the_national_data_set_refuses_a_database_with_other_data(app) {
        let _ = app.seed().await;
        let err = national::load(&app.db, &app.plugins, &options())
            .await
            .expect_err("a database with data is refused");
        assert!(err.to_string().contains("already holds data"), "{err}");
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM sessions").await, 0);
    }
}
