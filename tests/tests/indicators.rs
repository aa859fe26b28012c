//! The indicator catalogue and the computation of indicators. Data are built through the API
//! (sessions with scored observations, a withdrawn session, trainings with pre/post tests, a
//! second district), then `indicators::compute` is checked against figures counted here from
//! the plan of what was created: totals, the previous quarter, districts, facilities, cadre
//! and sex, zero denominators, withdrawn sessions, and organisation versus programme scope.
//! Then the catalogue: who may edit it, formulas naming unknown metrics, audit entries,
//! concurrency, the figures endpoint's scope rules, the pages, and the seeded catalogue
//! against the metrics the bundled plugins really emit.

use std::collections::{BTreeMap, BTreeSet};

use mentortrack::domain::indicators::{self, Breakdown, Figure, IndicatorFigures, Scope};
use mentortrack::domain::quarter::Quarter;
use mentortrack::error::Validator;
use mentortrack_tests::checklists::{Fill, fill_checklist, find};
use mentortrack_tests::{Api, Fixture, TestApp, engine_tests, install_active, texts};
use reqwest::Method;
use serde_json::{Value, json};

fn uuid() -> String {
    mentortrack::domain::scoring::new_uuid().unwrap()
}

/// The last complete quarter: every day of it and of the one before lies in the past.
fn report_quarter() -> Quarter {
    Quarter::current().previous()
}

fn day_of(q: Quarter, offset: i64) -> String {
    (q.first_day() + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn assert_figure(
    what: &str,
    got: &Figure,
    numerator: f64,
    denominator: Option<f64>,
    percent: bool,
) {
    assert!(
        close(got.numerator, numerator),
        "{what}: numerator {} != {numerator}",
        got.numerator
    );
    match (got.denominator, denominator) {
        (Some(g), Some(e)) => assert!(close(g, e), "{what}: denominator {g} != {e}"),
        (None, None) => {}
        (g, e) => panic!("{what}: denominator {g:?} != {e:?}"),
    }
    let expected = match denominator {
        None => Some(numerator),
        Some(0.0) => None,
        Some(d) => Some(numerator / d * if percent { 100.0 } else { 1.0 }),
    };
    match (got.value, expected) {
        (Some(g), Some(e)) => assert!(close(g, e), "{what}: value {g} != {e}"),
        (None, None) => {}
        (g, e) => panic!("{what}: value {g:?} != {e:?}"),
    }
}

/// The breakdown rows as key → (numerator, denominator).
fn rows(b: &[Breakdown]) -> BTreeMap<String, (f64, Option<f64>)> {
    b.iter()
        .map(|r| (r.key.clone(), (r.figure.numerator, r.figure.denominator)))
        .collect()
}

fn by_code<'a>(figures: &'a [IndicatorFigures], code: &str) -> &'a IndicatorFigures {
    figures
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no indicator {code}"))
}

async fn send(api: &Api, method: Method, path: &str, body: &Value) -> (u16, Value) {
    let r = api.send(method, path, body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(api: &Api, path: &str) -> (u16, Value) {
    let r = api.get(path).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn error_fields(body: &Value) -> Vec<String> {
    body["error"]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["field"].as_str().unwrap_or("").to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The plan of what is created, and the figures counted from it

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Org {
    A,
    B,
}

struct Person {
    id: i64,
    cadre: &'static str,
    sex: &'static str,
}

/// One session as planned: observations are (provider, checklist, best answers?).
struct PlannedSession {
    org: Org,
    facility: i64,
    date: String,
    mentees: Vec<i64>,
    observations: Vec<(i64, &'static str, bool)>,
    withdrawn: bool,
}

struct World {
    f: Fixture,
    /// A second district and a facility in it, assigned to A's mentor.
    district2: i64,
    fx: i64,
    people: Vec<Person>,
    sessions: Vec<PlannedSession>,
    /// B's training in the quarter: (provider, correct before, correct after), of 18.
    training: Vec<(i64, usize, usize)>,
    q: Quarter,
}

impl World {
    fn district_of(&self, facility: i64) -> i64 {
        if facility == self.fx {
            self.district2
        } else {
            self.f.district.id
        }
    }

    fn person(&self, id: i64) -> &Person {
        self.people.iter().find(|p| p.id == id).unwrap()
    }

    fn counted(&self, org: Option<Org>, q: Quarter) -> impl Iterator<Item = &PlannedSession> {
        let (first, last) = q.date_range();
        self.sessions.iter().filter(move |s| {
            !s.withdrawn && org.is_none_or(|o| o == s.org) && s.date >= first && s.date <= last
        })
    }
}

async fn build(app: &TestApp) -> World {
    let f = app.seed_with_plugins().await;
    let q = report_quarter();
    let p = q.previous();
    let admin = app.api(&f.admin).await;

    // A second district with one health centre, where A's mentor also works.
    let (s, d2) = send(
        &admin,
        Method::POST,
        "/api/v1/org-units",
        &json!({"parent_id": f.district.parent_id, "level": "district", "code": "RW-W-RUT", "name": "Rutsiro"}),
    )
    .await;
    assert_eq!(s, 201, "{d2}");
    let district2 = d2["id"].as_i64().unwrap();
    let (s, fx) = send(
        &admin,
        Method::POST,
        "/api/v1/org-units",
        &json!({"parent_id": district2, "level": "facility", "facility_type": "health_centre",
                "code": "RW-RUT-HC1", "name": "Congo-Nil Health Centre"}),
    )
    .await;
    assert_eq!(s, 201, "{fx}");
    let fx = fx["id"].as_i64().unwrap();
    let (s, body) = send(
        &admin,
        Method::POST,
        &format!("/api/v1/users/{}/assignments", f.a.mentor_id),
        &json!({"facility_id": fx}),
    )
    .await;
    assert!(s == 201 || s == 200, "{s} {body}");

    // A's providers: the seeded midwife, a male nurse at the hospital, a midwife at fx.
    let a_admin = app.api(&f.a.org_admin).await;
    let mut people = vec![
        Person {
            id: f.a.provider_id,
            cadre: "midwife",
            sex: "female",
        },
        Person {
            id: f.b.provider_id,
            cadre: "midwife",
            sex: "female",
        },
    ];
    for (facility, name, cadre, sex) in [
        (f.a.facility.id, "Jean Nshuti", "nurse", "male"),
        (fx, "Aline Mukamana", "midwife", "female"),
    ] {
        let (s, body) = send(
            &a_admin,
            Method::POST,
            "/api/v1/providers",
            &json!({"facility_id": facility, "name": name, "cadre": cadre, "sex": sex}),
        )
        .await;
        assert_eq!(s, 201, "{body}");
        people.push(Person {
            id: body["id"].as_i64().unwrap(),
            cadre,
            sex,
        });
    }
    let (p1, p2, p3, pb) = (f.a.provider_id, people[2].id, people[3].id, f.b.provider_id);
    let fa = f.a.facility.id;
    let fb = f.b.facility.id;

    let sessions = vec![
        // p1 passes AMTSL, p2 fails it...
        PlannedSession {
            org: Org::A,
            facility: fa,
            date: day_of(q, 9),
            mentees: vec![p1, p2],
            observations: vec![(p1, "amtsl", true), (p2, "amtsl", false)],
            withdrawn: false,
        },
        // ...and passes it later in the quarter: the latest observation decides.
        PlannedSession {
            org: Org::A,
            facility: fa,
            date: day_of(q, 40),
            mentees: vec![p2],
            observations: vec![(p2, "amtsl", true)],
            withdrawn: false,
        },
        PlannedSession {
            org: Org::A,
            facility: fx,
            date: day_of(q, 20),
            mentees: vec![p3],
            observations: vec![(p3, "pph", false)],
            withdrawn: false,
        },
        // Withdrawn: its pass must not count, nor the session.
        PlannedSession {
            org: Org::A,
            facility: fx,
            date: day_of(q, 50),
            mentees: vec![p3],
            observations: vec![(p3, "pph", true)],
            withdrawn: true,
        },
        // The previous quarter.
        PlannedSession {
            org: Org::A,
            facility: fa,
            date: day_of(p, 10),
            mentees: vec![p1],
            observations: vec![(p1, "amtsl", false)],
            withdrawn: false,
        },
        // Another organisation's session in the same quarter.
        PlannedSession {
            org: Org::B,
            facility: fb,
            date: day_of(q, 15),
            mentees: vec![pb],
            observations: vec![(pb, "osce-b", true)],
            withdrawn: false,
        },
    ];
    let mentor_a = app.api(&f.a.mentor).await;
    let mentor_b = app.api(&f.b.mentor).await;
    let all_a: Value = mentor_a
        .get("/api/v1/checklists")
        .await
        .json()
        .await
        .unwrap();
    let all_b: Value = mentor_b
        .get("/api/v1/checklists")
        .await
        .json()
        .await
        .unwrap();
    for s in &sessions {
        let (api, all) = match s.org {
            Org::A => (&mentor_a, &all_a),
            Org::B => (&mentor_b, &all_b),
        };
        let body = json!({
            "id": uuid(),
            "facility_id": s.facility,
            "date": s.date,
            "session_type": "skills_drill",
            "topic": "Bleeding after birth",
            "duration_minutes": 45,
            "mentee_ids": s.mentees,
            "observations": s.observations.iter().map(|(provider, checklist, best)| {
                let entry = find(all, checklist);
                json!({
                    "provider_id": provider,
                    "plugin_version_id": entry["plugin_version_id"],
                    "checklist_id": checklist,
                    "responses": fill_checklist(entry, if *best { Fill::Best } else { Fill::Worst }),
                })
            }).collect::<Vec<_>>(),
        });
        let (status, stored) = send(api, Method::POST, "/api/v1/sessions", &body).await;
        assert_eq!(status, 201, "{stored}");
        if s.withdrawn {
            let id = stored["id"].as_str().unwrap();
            let (status, body) = send(
                api,
                Method::POST,
                &format!("/api/v1/sessions/{id}/withdraw"),
                &json!({"reason": "Logged twice"}),
            )
            .await;
            assert_eq!(status, 200, "{body}");
        }
    }

    // B's training, ending in the quarter, at a venue: each participant counts at their own
    // facility. One passes the knowledge check (14 of 18), one does not.
    let b_admin = app.api(&f.b.org_admin).await;
    let (s, nurse) = send(
        &b_admin,
        Method::POST,
        "/api/v1/providers",
        &json!({"facility_id": f.unassigned_facility.id, "name": "Nurse elsewhere", "cadre": "nurse", "sex": "male"}),
    )
    .await;
    assert_eq!(s, 201, "{nurse}");
    let nurse = nurse["id"].as_i64().unwrap();
    people.push(Person {
        id: nurse,
        cadre: "nurse",
        sex: "male",
    });
    let training = vec![(pb, 9, 16), (nurse, 12, 13)];
    let entry = find(&all_b, "knowledge-check");
    let test = |correct: usize| {
        json!({"plugin_version_id": entry["plugin_version_id"], "checklist_id": "knowledge-check",
               "responses": fill_checklist(entry, Fill::BestFirst(correct))})
    };
    let days = [day_of(q, 60), day_of(q, 61)];
    let body = json!({
        "id": uuid(),
        "title": "HBB refresher",
        "start_date": days[0],
        "end_date": days[1],
        "venue": "Karongi district office",
        "facilitators": "Dr Uwase",
        "participants": training.iter().map(|(p, pre, post)| json!({
            "provider_id": p, "attendance": days, "pre_test": test(*pre), "post_test": test(*post),
        })).collect::<Vec<_>>(),
    });
    let (s, t) = send(&mentor_b, Method::POST, "/api/v1/trainings", &body).await;
    assert_eq!(s, 201, "{t}");

    World {
        f,
        district2,
        fx,
        people,
        sessions,
        training,
        q,
    }
}

/// Sessions, mentees and facilities counted from the plan.
fn check_session_counts(w: &World, figures: &[IndicatorFigures], org: Option<Org>) {
    let q = w.q;
    let ldhf01 = by_code(figures, "LDHF-01");
    let held: Vec<&PlannedSession> = w.counted(org, q).collect();
    assert_figure("LDHF-01", &ldhf01.total, held.len() as f64, None, false);
    let before = w.counted(org, q.previous()).count();
    assert_figure(
        "LDHF-01 previous",
        &ldhf01.previous,
        before as f64,
        None,
        false,
    );
    let mut per_facility: BTreeMap<String, (f64, Option<f64>)> = BTreeMap::new();
    let mut per_district: BTreeMap<String, (f64, Option<f64>)> = BTreeMap::new();
    for s in &held {
        per_facility
            .entry(s.facility.to_string())
            .or_insert((0.0, None))
            .0 += 1.0;
        per_district
            .entry(w.district_of(s.facility).to_string())
            .or_insert((0.0, None))
            .0 += 1.0;
    }
    assert_eq!(rows(&ldhf01.by_facility), per_facility);
    assert_eq!(rows(&ldhf01.by_district), per_district);
    let district_names: BTreeSet<&str> = ldhf01
        .by_district
        .iter()
        .map(|b| b.label.as_str())
        .collect();
    if org == Some(Org::A) {
        assert_eq!(district_names, BTreeSet::from(["Karongi", "Rutsiro"]));
        let types = rows(&ldhf01.other["facility_type"]);
        assert_eq!(types["hospital"].0, 2.0);
        assert_eq!(types["health_centre"].0, 1.0);
    }

    let ldhf02 = by_code(figures, "LDHF-02");
    let mentees: BTreeSet<i64> = held
        .iter()
        .flat_map(|s| s.mentees.iter().copied())
        .collect();
    assert_figure("LDHF-02", &ldhf02.total, mentees.len() as f64, None, false);
    let mut cadres: BTreeMap<String, (f64, Option<f64>)> = BTreeMap::new();
    let mut sexes: BTreeMap<String, (f64, Option<f64>)> = BTreeMap::new();
    for m in &mentees {
        let p = w.person(*m);
        cadres.entry(p.cadre.into()).or_insert((0.0, None)).0 += 1.0;
        sexes.entry(p.sex.into()).or_insert((0.0, None)).0 += 1.0;
    }
    assert_eq!(rows(&ldhf02.other["cadre"]), cadres);
    assert_eq!(rows(&ldhf02.other["sex"]), sexes);
    // Each provider once, so the facility rows add up to the total.
    let sum: f64 = ldhf02.by_facility.iter().map(|b| b.figure.numerator).sum();
    assert_eq!(sum, mentees.len() as f64);

    let ldhf03 = by_code(figures, "LDHF-03");
    let reached: BTreeSet<i64> = held.iter().map(|s| s.facility).collect();
    let assigned = match org {
        Some(Org::A) => 2.0,
        Some(Org::B) => 1.0,
        None => 3.0,
    };
    assert_figure(
        "LDHF-03",
        &ldhf03.total,
        reached.len() as f64,
        Some(assigned),
        true,
    );
    let reached_before: BTreeSet<i64> = w.counted(org, q.previous()).map(|s| s.facility).collect();
    assert_figure(
        "LDHF-03 previous",
        &ldhf03.previous,
        reached_before.len() as f64,
        Some(assigned),
        true,
    );
}

/// Competency from the latest observation per provider, counted from the plan.
fn check_competency(w: &World, figures: &[IndicatorFigures], org: Option<Org>) {
    for (code, checklists) in [
        ("COMP-PPH", &["amtsl", "pph"][..]),
        ("COMP-NR", &["osce-b"][..]),
    ] {
        let figure = by_code(figures, code);
        for (q, got) in [(w.q, &figure.total), (w.q.previous(), &figure.previous)] {
            // provider → (date, passed, facility) of the latest observation in the area.
            let mut latest: BTreeMap<i64, (String, bool, i64)> = BTreeMap::new();
            for s in w.counted(org, q) {
                for (p, c, best) in &s.observations {
                    if checklists.contains(c) && latest.get(p).is_none_or(|(d, _, _)| *d < s.date) {
                        latest.insert(*p, (s.date.clone(), *best, s.facility));
                    }
                }
            }
            let passed = latest.values().filter(|(_, ok, _)| *ok).count() as f64;
            assert_figure(code, got, passed, Some(latest.len() as f64), true);
            if q == w.q {
                let mut districts: BTreeMap<String, (f64, Option<f64>)> = BTreeMap::new();
                for (_, ok, facility) in latest.values() {
                    let e = districts
                        .entry(w.district_of(*facility).to_string())
                        .or_insert((0.0, Some(0.0)));
                    e.0 += f64::from(u8::from(*ok));
                    e.1 = e.1.map(|d| d + 1.0);
                }
                assert_eq!(rows(&figure.by_district), districts, "{code}");
            }
        }
    }
    // Per observation: the uterotonic on time in AMTSL drills (given in the best answers).
    let amtsl = by_code(figures, "AMTSL-01");
    let drills: Vec<bool> = w
        .counted(org, w.q)
        .flat_map(|s| s.observations.iter())
        .filter(|(_, c, _)| *c == "amtsl")
        .map(|(_, _, best)| *best)
        .collect();
    let on_time = drills.iter().filter(|b| **b).count() as f64;
    assert_figure(
        "AMTSL-01",
        &amtsl.total,
        on_time,
        Some(drills.len() as f64),
        true,
    );
}

fn check_trainings(w: &World, figures: &[IndicatorFigures], org: Option<Org>) {
    let pct = |n: usize| n as f64 * 100.0 / 18.0;
    let plan: Vec<&(i64, usize, usize)> = if org == Some(Org::A) {
        Vec::new()
    } else {
        w.training.iter().collect()
    };
    let gain = by_code(figures, "TRN-01");
    if plan.is_empty() {
        // Nothing to average: no value, never NaN.
        assert_eq!(gain.total.value, None);
    } else {
        let mean = plan
            .iter()
            .map(|(_, pre, post)| pct(*post) - pct(*pre))
            .sum::<f64>()
            / plan.len() as f64;
        assert!(
            close(gain.total.value.unwrap(), mean),
            "{:?} != {mean}",
            gain.total
        );
    }
    let pass = by_code(figures, "TRN-02");
    let passed = plan.iter().filter(|(_, _, post)| *post >= 14).count() as f64;
    assert_figure("TRN-02", &pass.total, passed, Some(plan.len() as f64), true);
    if !plan.is_empty() {
        // At a venue: each participant at their own facility.
        let expected: BTreeMap<String, (f64, Option<f64>)> = plan
            .iter()
            .map(|(p, _, post)| {
                let facility = if *p == w.f.b.provider_id {
                    w.f.b.facility.id
                } else {
                    w.f.unassigned_facility.id
                };
                (
                    facility.to_string(),
                    (if *post >= 14 { 1.0 } else { 0.0 }, Some(1.0)),
                )
            })
            .collect();
        assert_eq!(rows(&pass.by_facility), expected);
        let sexes = rows(&pass.other["sex"]);
        assert_eq!(sexes["male"], (0.0, Some(1.0)));
        assert_eq!(sexes["female"], (1.0, Some(1.0)));
    }
}

engine_tests! {
    async fn figures_match_an_independent_count(app) {
        let w = build(&app).await;
        let a = indicators::compute(&app.db, Scope::Organisation(w.f.a.org.id), w.q).await.unwrap();
        let b = indicators::compute(&app.db, Scope::Organisation(w.f.b.org.id), w.q).await.unwrap();
        let all = indicators::compute(&app.db, Scope::Programme, w.q).await.unwrap();
        // Every active indicator, in catalogue order.
        let codes: Vec<&str> = a.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes.first(), Some(&"LDHF-01"));
        assert_eq!(codes.len(), 16, "{codes:?}");
        for (figures, org) in [(&a, Some(Org::A)), (&b, Some(Org::B)), (&all, None)] {
            check_session_counts(&w, figures, org);
            check_competency(&w, figures, org);
            check_trainings(&w, figures, org);
        }
        // Spelled out for A, so a mistake in the counting above cannot hide one below.
        let sessions = by_code(&a, "LDHF-01");
        assert_eq!(sessions.total.value, Some(3.0));
        assert_eq!(sessions.previous.value, Some(1.0));
        let pph = by_code(&a, "COMP-PPH");
        assert_eq!((pph.total.numerator, pph.total.denominator), (2.0, Some(3.0)));
        assert_eq!(pph.previous.value, Some(0.0));
        // A has no newborn resuscitation assessments: a zero denominator has no value.
        let nr = by_code(&a, "COMP-NR");
        assert_eq!(nr.total.denominator, Some(0.0));
        assert_eq!(nr.total.value, None);
        assert!(nr.by_facility.is_empty());
        // B's session is B's alone, and the programme's.
        assert_eq!(by_code(&b, "LDHF-01").total.value, Some(1.0));
        assert_eq!(by_code(&all, "LDHF-01").total.value, Some(4.0));
        assert_eq!(by_code(&all, "COMP-NR").total.value, Some(100.0));
        // Empty sources: counts of zero, percentages without value.
        assert_eq!(by_code(&a, "MPDSR-01").total.value, Some(0.0));
        assert_eq!(by_code(&a, "MPDSR-02").total.value, None);
        assert_eq!(by_code(&a, "TEAM-02").total.value, Some(0.0));
        // Figures serialise as reports freeze them, and read back equal.
        let frozen = serde_json::to_string(&a).unwrap();
        let back: Vec<IndicatorFigures> = serde_json::from_str(&frozen).unwrap();
        assert_eq!(back, a);

        // The same figures through the API, for A's mentor (own organisation by default).
        let id: i64 = sqlx::query_scalar("SELECT id FROM indicators WHERE code = 'COMP-PPH'")
            .fetch_one(app.db.pool()).await.unwrap();
        let mentor = app.api(&w.f.a.mentor).await;
        let (s, body) = get(&mentor, &format!("/api/v1/indicators/{id}/figures?quarter={}", w.q)).await;
        assert_eq!(s, 200, "{body}");
        let api: IndicatorFigures = serde_json::from_value(body).unwrap();
        assert_eq!(&api, pph);
        // Another organisation's figures, or an unknown one, do not exist for A's mentor.
        for org in [w.f.b.org.id, 999_999] {
            let (s, _) = get(&mentor, &format!("/api/v1/indicators/{id}/figures?quarter={}&organisation_id={org}", w.q)).await;
            assert_eq!(s, 404, "organisation {org}");
        }
        let (s, body) = get(&mentor, &format!("/api/v1/indicators/{id}/figures?quarter=2026Q5")).await;
        assert_eq!(s, 422, "{body}");
        assert_eq!(error_fields(&body), ["quarter"]);
        let (s, _) = get(&mentor, &format!("/api/v1/indicators/{id}/figures")).await;
        assert_eq!(s, 422);
        let (s, _) = get(&mentor, &format!("/api/v1/indicators/999999/figures?quarter={}", w.q)).await;
        assert_eq!(s, 404);
        // Managers: any organisation, and the programme when none is named.
        let manager = app.api(&w.f.manager).await;
        let (s, body) = get(&manager, &format!("/api/v1/indicators/{id}/figures?quarter={}", w.q)).await;
        assert_eq!(s, 200);
        let api: IndicatorFigures = serde_json::from_value(body).unwrap();
        assert_eq!(&api, by_code(&all, "COMP-PPH"));
        let (s, body) = get(&manager, &format!("/api/v1/indicators/{id}/figures?quarter={}&organisation_id={}", w.q, w.f.b.org.id)).await;
        assert_eq!(s, 200);
        let api: IndicatorFigures = serde_json::from_value(body).unwrap();
        assert_eq!(&api, by_code(&b, "COMP-PPH"));
        let (s, _) = get(&manager, &format!("/api/v1/indicators/{id}/figures?quarter={}&organisation_id=999999", w.q)).await;
        assert_eq!(s, 404);

        // The preview page shows the value and the district rows.
        let web = app.sign_in(&w.f.a.mentor).await;
        let (s, doc) = web.html(&format!("/indicators/{id}?quarter={}", w.q)).await;
        assert_eq!(s, 200);
        assert_eq!(texts(&doc, "#total .value"), ["66.7 %"]);
        assert_eq!(texts(&doc, "#previous .value"), ["0.0 %"]);
        let keys = texts(&doc, "#by-district tr th");
        assert_eq!(keys, ["Karongi", "Rutsiro"]);
        let _ = (w.district2, w.fx);
        let (s, doc) = web.html(&format!("/indicators/{id}?quarter=2026Q9")).await;
        assert_eq!(s, 422);
        assert_eq!(texts(&doc, ".field-error[data-field=quarter]").len(), 1);
    }

    async fn custom_formulas_over_observations_and_deactivation(app) {
        let w = build(&app).await;
        let manager = app.api(&w.f.manager).await;
        // A mean of a metric and a count with a metric threshold, on the plan's observations.
        let (s, mean) = send(&manager, Method::POST, "/api/v1/indicators", &json!({
            "code": "T-STEPS", "name": "Mean AMTSL steps done", "definition": "Mean steps done in AMTSL drills.",
            "numerator": "mean(metric ldhf.amtsl.steps_done) where checklist = amtsl",
            "unit": "mean", "data_source": "Sessions", "frequency": "quarterly",
            "disaggregations": ["district", "cadre"],
        })).await;
        assert_eq!(s, 201, "{mean}");
        let (s, body) = send(&manager, Method::POST, "/api/v1/indicators", &json!({
            "code": "T-OBS", "name": "Observations with every key step", "definition": "Observations of kind mentorship skills.",
            "numerator": "observations where kind = mentorship_skills and metric ldhf.amtsl.key_steps_done >= 1",
            "denominator": "observations where kind = mentorship_skills",
            "unit": "ratio", "data_source": "Sessions", "frequency": "monthly", "disaggregations": [],
        })).await;
        assert_eq!(s, 201, "{body}");
        let a = indicators::compute(&app.db, Scope::Organisation(w.f.a.org.id), w.q).await.unwrap();
        assert_eq!(a.len(), 18);
        // Steps done: every step for the best answers, none for the worst; count the items.
        let all: Value = app.api(&w.f.a.mentor).await.get("/api/v1/checklists").await.json().await.unwrap();
        let steps = mentortrack_tests::checklists::item_ids(find(&all, "amtsl")).len() as f64;
        let amtsl: Vec<bool> = w.counted(Some(Org::A), w.q)
            .flat_map(|s| s.observations.iter())
            .filter(|(_, c, _)| *c == "amtsl")
            .map(|(_, _, b)| *b)
            .collect();
        let expected = amtsl.iter().map(|b| if *b { steps } else { 0.0 }).sum::<f64>() / amtsl.len() as f64;
        let got = by_code(&a, "T-STEPS");
        assert!(close(got.total.value.unwrap(), expected), "{:?} vs {expected}", got.total);
        assert!(got.other.contains_key("cadre"));
        let ratio = by_code(&a, "T-OBS");
        let observed = w.counted(Some(Org::A), w.q).map(|s| s.observations.len()).sum::<usize>() as f64;
        let best_amtsl = amtsl.iter().filter(|b| **b).count() as f64;
        assert_figure("T-OBS", &ratio.total, best_amtsl, Some(observed), false);

        // Deactivated indicators leave reports but stay in the catalogue.
        let id = mean["id"].as_i64().unwrap();
        let mut body = mean.clone();
        body["active"] = json!(false);
        let (s, after) = send(&manager, Method::PUT, &format!("/api/v1/indicators/{id}"), &body).await;
        assert_eq!(s, 200, "{after}");
        assert_eq!(after["active"], false);
        let a = indicators::compute(&app.db, Scope::Organisation(w.f.a.org.id), w.q).await.unwrap();
        assert!(a.iter().all(|f| f.code != "T-STEPS"));
        let (_, list) = get(&manager, "/api/v1/indicators?include_inactive=true").await;
        assert!(list.as_array().unwrap().iter().any(|i| i["code"] == "T-STEPS"));
        let (_, list) = get(&manager, "/api/v1/indicators").await;
        assert!(list.as_array().unwrap().iter().all(|i| i["code"] != "T-STEPS"));
    }

    async fn catalogue_edits_are_checked_permitted_and_audited(app) {
        let f = app.seed_with_plugins().await;
        let before = app.count("indicators").await;
        let body = json!({
            "code": "HBB-B", "name": "OSCE B pass rate", "definition": "Providers passing OSCE B.",
            "numerator": "observed_providers where checklist = osce-b and metric hbb.osce_b.pass = 1",
            "denominator": "observed_providers where checklist = osce-b and metric hbb.osce_b.pass",
            "unit": "percent", "data_source": "Sessions", "frequency": "quarterly",
            "disaggregations": ["district", "sex"], "target": 80,
        });
        // Everyone reads; only project management writes.
        for who in [&f.a.mentor, &f.a.org_admin] {
            let api = app.api(who).await;
            let (s, list) = get(&api, "/api/v1/indicators").await;
            assert_eq!(s, 200);
            assert_eq!(list.as_array().unwrap().len(), 16);
            let (s, _) = send(&api, Method::POST, "/api/v1/indicators", &body).await;
            assert_eq!(s, 403, "{who}");
        }
        assert_eq!(app.count("indicators").await, before);

        let manager = app.api(&f.manager).await;
        // A formula naming a metric no plugin emits: 422 on the field, saying what is known.
        let mut bad = body.clone();
        bad["numerator"] = json!("observed_providers where metric hbb.osce_z.pass = 1");
        let (s, err) = send(&manager, Method::POST, "/api/v1/indicators", &bad).await;
        assert_eq!(s, 422, "{err}");
        assert_eq!(error_fields(&err), ["numerator"]);
        let message = err["error"]["fields"][0]["message"].as_str().unwrap();
        assert!(message.contains("hbb.osce_z.pass") && message.contains("hbb.osce_b.pass"), "{message}");
        // A malformed one says where.
        let mut bad = body.clone();
        bad["denominator"] = json!("observed_providers where metric");
        let (s, err) = send(&manager, Method::POST, "/api/v1/indicators", &bad).await;
        assert_eq!(s, 422);
        assert_eq!(error_fields(&err), ["denominator"]);
        assert!(err["error"]["fields"][0]["message"].as_str().unwrap().contains("at character 32"), "{err}");
        // Cadre and sex need a provider-based numerator; a percentage needs a denominator.
        let mut bad = body.clone();
        bad["numerator"] = json!("sessions");
        bad["denominator"] = Value::Null;
        bad["disaggregations"] = json!(["cadre"]);
        let (s, err) = send(&manager, Method::POST, "/api/v1/indicators", &bad).await;
        assert_eq!(s, 422);
        let fields: BTreeSet<String> = error_fields(&err).into_iter().collect();
        assert_eq!(fields, BTreeSet::from(["denominator".to_string(), "disaggregations".to_string()]));
        assert_eq!(app.count("indicators").await, before);

        let (s, created) = send(&manager, Method::POST, "/api/v1/indicators", &body).await;
        assert_eq!(s, 201, "{created}");
        assert_eq!(created["revision"], 1);
        assert_eq!(created["disaggregations"], json!(["district", "sex"]));
        let id = created["id"].as_i64().unwrap();
        // Codes are unique.
        let (s, err) = send(&manager, Method::POST, "/api/v1/indicators", &body).await;
        assert_eq!(s, 422);
        assert_eq!(error_fields(&err), ["code"]);

        // An edit with an unknown metric changes nothing.
        let mut edit = body.clone();
        edit["revision"] = json!(1);
        edit["name"] = json!("Renamed");
        edit["denominator"] = json!("observed_providers where metric nobody.emits.this");
        let (s, err) = send(&manager, Method::PUT, &format!("/api/v1/indicators/{id}"), &edit).await;
        assert_eq!(s, 422, "{err}");
        assert_eq!(error_fields(&err), ["denominator"]);
        let (_, now) = get(&manager, &format!("/api/v1/indicators/{id}")).await;
        assert_eq!(now, created);

        // Org admins may not edit; an admin may.
        let org_admin = app.api(&f.a.org_admin).await;
        edit["denominator"] = body["denominator"].clone();
        let (s, _) = send(&org_admin, Method::PUT, &format!("/api/v1/indicators/{id}"), &edit).await;
        assert_eq!(s, 403);
        let admin = app.api(&f.admin).await;
        let (s, updated) = send(&admin, Method::PUT, &format!("/api/v1/indicators/{id}"), &edit).await;
        assert_eq!(s, 200, "{updated}");
        assert_eq!(updated["name"], "Renamed");
        assert_eq!(updated["revision"], 2);
        // The manager's copy is stale now.
        let (s, _) = send(&manager, Method::PUT, &format!("/api/v1/indicators/{id}"), &edit).await;
        assert_eq!(s, 409);
        let (s, _) = send(&admin, Method::PUT, "/api/v1/indicators/999999", &edit).await;
        assert_eq!(s, 404);

        // Audit: the creation and the edit, with before and after.
        let entries: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT action, before_json, after_json FROM audit_log WHERE entity = 'indicator' AND entity_id = $1 ORDER BY id",
        )
        .bind(id.to_string())
        .fetch_all(app.db.pool())
        .await
        .unwrap();
        assert_eq!(entries.len(), 2, "{entries:?}");
        assert_eq!(entries[0].0, "create");
        assert!(entries[0].1.is_none());
        assert_eq!(entries[1].0, "update");
        let before: Value = serde_json::from_str(entries[1].1.as_deref().unwrap()).unwrap();
        let after: Value = serde_json::from_str(entries[1].2.as_deref().unwrap()).unwrap();
        assert_eq!(before["name"], "OSCE B pass rate");
        assert_eq!(after["name"], "Renamed");
    }

    async fn catalogue_pages(app) {
        let f = app.seed_with_plugins().await;
        let mentor = app.sign_in(&f.a.mentor).await;
        let (s, doc) = mentor.html("/indicators").await;
        assert_eq!(s, 200);
        assert_eq!(texts(&doc, "#indicators li[data-code=LDHF-01]").len(), 1);
        assert!(texts(&doc, "#new-indicator").is_empty());
        assert_eq!(mentor.get("/indicators/new").await.status(), 403);
        let r = mentor.post("/indicators", &[("code", "X-1")]).await;
        assert_eq!(r.status(), 403);

        let manager = app.sign_in(&f.manager).await;
        let (s, doc) = manager.html("/indicators/new").await;
        assert_eq!(s, 200);
        assert!(!texts(&doc, "#known-metrics li").is_empty());
        let form = [
            ("code", "PPH-AMTSL"),
            ("name", "AMTSL drills passed"),
            ("definition", "Share of AMTSL drills passed."),
            ("unit", "percent"),
            ("numerator", "observations where metric ldhf.amtsl.pas = 1"),
            ("denominator", "observations where metric ldhf.amtsl.pass"),
            ("data_source", "Sessions"),
            ("frequency", "quarterly"),
            ("dis_district", "on"),
            ("active", "on"),
        ];
        let r = manager.post("/indicators", &form).await;
        assert_eq!(r.status(), 422);
        let doc = scraper::Html::parse_document(&r.text().await.unwrap());
        let errors = texts(&doc, ".field-error[data-field=numerator]");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("ldhf.amtsl.pas"), "{errors:?}");
        assert!(texts(&doc, ".field-error[data-field=denominator]").is_empty());
        let mut fixed = form.to_vec();
        fixed[4] = ("numerator", "observations where metric ldhf.amtsl.pass = 1");
        let r = manager.post("/indicators", &fixed).await;
        assert_eq!(r.status(), 303);
        let location = r.headers()["location"].to_str().unwrap().to_string();
        let (s, doc) = manager.html(&location).await;
        assert_eq!(s, 200);
        assert_eq!(texts(&doc, "#indicator-code"), ["PPH-AMTSL"]);
        assert_eq!(texts(&doc, "#history tr").len(), 1);
        // Deactivate from the page: it stays listed, marked inactive.
        let revision = "1";
        let r = manager.post(&format!("{location}/active"), &[("active", "0"), ("revision", revision)]).await;
        assert_eq!(r.status(), 303);
        let (_, doc) = manager.html(&location).await;
        assert_eq!(texts(&doc, "#inactive").len(), 1);
        // The edit form comes back filled in.
        let (s, doc) = manager.html(&format!("{location}/edit")).await;
        assert_eq!(s, 200);
        let sel = scraper::Selector::parse("#code").unwrap();
        assert_eq!(doc.select(&sel).next().unwrap().value().attr("value"), Some("PPH-AMTSL"));
    }

    async fn seeded_formulas_hold_against_every_bundled_plugin(app) {
        let admin = app.seed().await.admin;
        let api = app.api(&admin).await;
        // RAM and RPA are seeded; the other two publishers are not.
        for (code, name) in [("RSOG", "Rwanda Society of Obstetricians and Gynaecologists"), ("JHPIEGO", "Jhpiego")] {
            let (s, body) = send(&api, Method::POST, "/api/v1/organisations",
                &json!({"code": code, "name": name, "kind": "ngo"})).await;
            assert_eq!(s, 201, "{body}");
        }
        for file in ["midwives_ldhf.wasm", "hbb.wasm", "emonc.wasm", "jhpiego_qi.wasm"] {
            install_active(&app, file).await;
        }
        // The dry runs recorded what each checklist emits.
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM plugin_metrics WHERE checklist_id = 'osce-b' ORDER BY name")
            .fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(names, ["hbb.osce_b.key_steps_done", "hbb.osce_b.pass", "hbb.osce_b.steps_done"]);
        let seeded = indicators::list(&app.db, true).await.unwrap();
        assert_eq!(seeded.len(), 16);
        let mut metrics = BTreeSet::new();
        for i in &seeded {
            let mut v = Validator::new();
            indicators::check_formula(&app.db, &mut v, "numerator", &i.numerator).await.unwrap();
            if let Some(d) = &i.denominator {
                indicators::check_formula(&app.db, &mut v, "denominator", d).await.unwrap();
            }
            assert!(v.is_empty(), "{}: {:?}", i.code, v.finish());
            let f = indicators::formula::parse(&i.numerator).unwrap();
            metrics.extend(f.metric_names().into_iter().map(str::to_string));
        }
        // Every partner plugin's pass metric feeds some competency indicator.
        for m in ["hbb.osce_b.pass", "ldhf.amtsl.pass", "emonc.cord_prolapse.pass", "qi.supportive_supervision.competent"] {
            assert!(metrics.contains(m), "{m} in {metrics:?}");
        }
    }
}

/// Times `compute` on an existing database (not a test of behaviour): set
/// `MENTORTRACK_INDICATOR_BENCH_DB` to its URL and `MENTORTRACK_INDICATOR_BENCH_ORG` to an
/// organisation id, then run with `--ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn time_compute_on_an_existing_database() {
    let Ok(url) = std::env::var("MENTORTRACK_INDICATOR_BENCH_DB") else {
        return;
    };
    let org: i64 = std::env::var("MENTORTRACK_INDICATOR_BENCH_ORG")
        .ok()
        .and_then(|o| o.parse().ok())
        .unwrap_or(1);
    let quarter: Quarter = std::env::var("MENTORTRACK_INDICATOR_BENCH_QUARTER")
        .ok()
        .and_then(|q| q.parse().ok())
        .unwrap_or_else(report_quarter);
    let db = mentortrack::db::Db::connect(&url).await.expect("database");
    for scope in [Scope::Organisation(org), Scope::Programme] {
        let mut times = Vec::new();
        for _ in 0..5 {
            let start = std::time::Instant::now();
            let figures = indicators::compute(&db, scope, quarter)
                .await
                .expect("compute");
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            assert!(!figures.is_empty());
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{scope:?} {quarter}: median {:.1} ms, min {:.1} ms",
            times[2], times[0]
        );
    }
}
