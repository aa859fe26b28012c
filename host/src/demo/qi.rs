//! Demo data for QI projects and action items: each partner runs a few quality-improvement
//! projects at the facilities its mentors work at (partograph use, skin-to-skin within the
//! first hour, a uterotonic within a minute of birth), each with the PDSA cycles a real team
//! would have run, and follows up action items agreed in some of its recorded sessions, in
//! every state: done, dropped, open and not yet due, open and overdue. Dates are placed
//! relative to today, so the indicators (projects running in a quarter, action items due in a
//! quarter and done) have something to count whenever the demo is loaded. A partner that
//! already has QI projects (or action items) is left alone, so loading again adds nothing.

use anyhow::Context;
use chrono::{Duration, NaiveDate, Utc};

use crate::db::Db;
use crate::domain::qi::{ActionInput, CycleInput, ProjectInput, seed_action, seed_project};
use crate::plugins::Registry;

struct Demo {
    title: &'static str,
    problem: &'static str,
    aim: &'static str,
    change_ideas: &'static str,
    /// The indicator it moves, by catalogue code, if the catalogue has it.
    indicator: &'static [&'static str],
    status: &'static str,
    /// Days before today it started, and (for closed ones) ended.
    started_ago: i64,
    ended_ago: Option<i64>,
    cycles: &'static [DemoCycle],
}

struct DemoCycle {
    change_idea: &'static str,
    plan: &'static str,
    /// Days after the project started.
    from: i64,
    /// Length in days; the cycle is still running if it would end after today.
    days: i64,
    result: &'static str,
    decision: &'static str,
}

const PROJECTS: &[Demo] = &[
    Demo {
        title: "Partograph use in labour",
        problem: "A record review of 40 deliveries found the partograph started for 14 (35 %) and fully completed for 6; two prolonged labours were referred late.",
        aim: "Raise the share of women in active labour monitored with a fully completed partograph from 35 % to 80 % within 6 months.",
        change_ideas: "Partograph stapled to every admission file\nMidwife of each shift named as partograph lead\nWeekly 15-minute partograph review at the handover meeting",
        indicator: &["LDHF_COMPETENT_PCT", "OBS_COMPETENT"],
        status: "active",
        started_ago: 120,
        ended_ago: None,
        cycles: &[
            DemoCycle {
                change_idea: "Partograph stapled to every admission file",
                plan: "Records clerk staples a blank partograph to each labour admission file for two weeks; midwives count files with a started partograph.",
                from: 3,
                days: 14,
                result: "Started partographs rose from 35 % to 62 % of 29 admissions; night shifts still missed them.",
                decision: "adopt",
            },
            DemoCycle {
                change_idea: "Shift partograph lead",
                plan: "Each shift names one midwife to check every woman in active labour has an up-to-date partograph at 4-hourly rounds.",
                from: 24,
                days: 21,
                result: "Fully completed partographs 71 % (25 of 35); the lead role slipped when only one midwife was on duty.",
                decision: "adapt",
            },
            DemoCycle {
                change_idea: "Handover partograph review",
                plan: "At Monday handover, review three partographs from the past week and discuss one action line crossed.",
                from: 60,
                days: 90,
                result: "",
                decision: "",
            },
        ],
    },
    Demo {
        title: "Immediate newborn care: skin-to-skin within 1 h",
        problem: "Only 4 of 10 observed births placed the baby skin-to-skin within the first hour; babies were wrapped and placed in the cot for weighing first.",
        aim: "90 % of well babies born at the facility placed skin-to-skin with their mother within one hour of birth, within 4 months.",
        change_ideas: "Delay weighing until after the first breastfeed\nWarm dry cloths ready on the mother's abdomen before birth\nSkin-to-skin tick box on the delivery register",
        indicator: &["HBB_COMPETENT_PCT"],
        status: "completed",
        started_ago: 200,
        ended_ago: Some(40),
        cycles: &[
            DemoCycle {
                change_idea: "Delay weighing until after the first breastfeed",
                plan: "For two weeks the weighing scale stays in the side room; the baby is weighed after the first breastfeed.",
                from: 5,
                days: 14,
                result: "Skin-to-skin within 1 h went from 40 % to 75 % of 24 births; mothers liked it.",
                decision: "adopt",
            },
            DemoCycle {
                change_idea: "Skin-to-skin tick box on the delivery register",
                plan: "Add a column to the delivery register; the in-charge checks it each morning.",
                from: 30,
                days: 30,
                result: "92 % of 51 well babies skin-to-skin within the hour, sustained over the month.",
                decision: "adopt",
            },
        ],
    },
    Demo {
        title: "AMTSL uterotonic within 1 minute",
        problem: "Oxytocin was given within one minute of birth in 11 of 30 observed deliveries; it was often kept in the fridge in another room.",
        aim: "Oxytocin 10 IU IM within one minute of birth for 95 % of vaginal births within 3 months.",
        change_ideas: "Pre-drawn oxytocin syringe on the delivery tray at second stage\nSecond person at every birth calls out the time",
        indicator: &["PPH_COMPETENT_PCT"],
        status: "active",
        started_ago: 45,
        ended_ago: None,
        cycles: &[DemoCycle {
            change_idea: "Pre-drawn oxytocin syringe on the delivery tray",
            plan: "When the woman is fully dilated, the midwife draws up oxytocin and places it on the tray; a cold box keeps stock in the delivery room.",
            from: 4,
            days: 21,
            result: "Oxytocin within 1 minute for 21 of 26 births (81 %).",
            decision: "adapt",
        }],
    },
    Demo {
        title: "Kangaroo mother care for babies under 2 kg",
        problem: "Low-birth-weight babies are referred without kangaroo mother care being started.",
        aim: "Start KMC before referral for every baby under 2 kg by the end of next quarter.",
        change_ideas: "KMC wrap and chair in the maternity ward",
        indicator: &[],
        status: "planned",
        started_ago: 3,
        ended_ago: None,
        cycles: &[],
    },
];

/// Action points a mentor and the facility team agree on after a session.
const ACTIONS: &[(&str, &str)] = &[
    (
        "Restock oxytocin in the delivery room cold box and record the temperature daily",
        "Maternity in-charge",
    ),
    (
        "Run a 15-minute bag-and-mask drill with every midwife on the night roster",
        "Senior midwife",
    ),
    (
        "Fix the suction device and keep a spare penguin sucker on the resuscitation table",
        "Facility maintenance officer",
    ),
    (
        "Post the PPH algorithm on the delivery room wall",
        "Head nurse",
    ),
    (
        "Review five partographs at the Monday handover",
        "Maternity in-charge",
    ),
    (
        "Order magnesium sulphate so that two loading doses are always in stock",
        "Facility pharmacist",
    ),
];

fn text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

async fn indicator_id(db: &Db, codes: &[&str]) -> anyhow::Result<Option<i64>> {
    for code in codes {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM indicators WHERE code = $1 AND active = 1")
                .bind(code)
                .fetch_optional(db.pool())
                .await?;
        if id.is_some() {
            return Ok(id);
        }
    }
    Ok(None)
}

/// Adds this area's demo records once (idempotent); returns how many records it added.
pub async fn load(db: &Db, _registry: &Registry) -> anyhow::Result<usize> {
    let today = Utc::now().date_naive();
    let partners: Vec<(i64, String)> = sqlx::query_as(
        "SELECT DISTINCT o.id, o.code FROM organisations o
           JOIN users u ON u.organisation_id = o.id AND u.role = 'mentor' AND u.active = 1
           JOIN mentor_assignments m ON m.mentor_id = u.id
         ORDER BY o.id",
    )
    .fetch_all(db.pool())
    .await
    .context("listing the demo partners")?;
    let mut added = 0;
    for (n, (org, code)) in partners.into_iter().enumerate() {
        added += load_projects(db, org, &code, n, today).await?;
        added += load_actions(db, org, &code, today).await?;
    }
    Ok(added)
}

async fn load_projects(
    db: &Db,
    org: i64,
    code: &str,
    n: usize,
    today: NaiveDate,
) -> anyhow::Result<usize> {
    let existing: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM qi_projects WHERE organisation_id = $1")
            .bind(org)
            .fetch_one(db.pool())
            .await?;
    if existing > 0 {
        return Ok(0);
    }
    let places: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT m.facility_id, u.id FROM mentor_assignments m JOIN users u ON u.id = m.mentor_id
         WHERE u.organisation_id = $1 AND u.role = 'mentor' AND u.active = 1
         ORDER BY m.facility_id, u.id",
    )
    .bind(org)
    .fetch_all(db.pool())
    .await?;
    if places.is_empty() {
        return Ok(0);
    }
    let mut added = 0;
    // Partners differ a little: each takes three of the four projects, starting at a
    // different one.
    for k in 0..3 {
        let demo = &PROJECTS[(n + k) % PROJECTS.len()];
        let (facility_id, mentor_id) = places[k % places.len()];
        let started = today - Duration::days(demo.started_ago);
        let input = ProjectInput {
            facility_id: Some(facility_id),
            title: Some(demo.title.into()),
            problem: Some(demo.problem.into()),
            aim: Some(demo.aim.into()),
            indicator_id: indicator_id(db, demo.indicator).await?,
            change_ideas: Some(demo.change_ideas.into()),
            status: Some(demo.status.into()),
            started_on: Some(text(started)),
            ended_on: demo.ended_ago.map(|d| text(today - Duration::days(d))),
            revision: None,
        };
        let cycles: Vec<CycleInput> = demo
            .cycles
            .iter()
            .filter(|c| started + Duration::days(c.from) <= today)
            .map(|c| {
                let from = started + Duration::days(c.from);
                let to = from + Duration::days(c.days);
                let finished = to <= today;
                let opt = |s: &str| (finished && !s.is_empty()).then(|| s.to_string());
                CycleInput {
                    change_idea: Some(c.change_idea.into()),
                    plan: Some(c.plan.into()),
                    started_on: Some(text(from)),
                    ended_on: finished.then(|| text(to)),
                    result: opt(c.result),
                    decision: opt(c.decision),
                    revision: None,
                }
            })
            .collect();
        seed_project(db, org, mentor_id, &input, &cycles)
            .await
            .map_err(|e| anyhow::anyhow!("demo QI project for {code}: {e}"))?;
        added += 1 + cycles.len();
    }
    Ok(added)
}

async fn load_actions(db: &Db, org: i64, code: &str, today: NaiveDate) -> anyhow::Result<usize> {
    let existing: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM action_items WHERE organisation_id = $1")
            .bind(org)
            .fetch_one(db.pool())
            .await?;
    if existing > 0 {
        return Ok(0);
    }
    let sessions: Vec<(String, i64, i64, String)> = sqlx::query_as(
        "SELECT id, facility_id, mentor_id, session_date FROM sessions
         WHERE organisation_id = $1 AND status = 'recorded'
         ORDER BY session_date DESC, id",
    )
    .bind(org)
    .fetch_all(db.pool())
    .await?;
    // Ten sessions spread over the history, so items fall due in several quarters.
    let step = (sessions.len() / 10).max(1);
    let picked = sessions.iter().step_by(step).take(10);
    let mut added = 0;
    for (k, (session_id, facility_id, mentor_id, date)) in picked.enumerate() {
        let Ok(held) = NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
            continue;
        };
        // One or two points per session, due two to four weeks later.
        for j in 0..(1 + k % 2) {
            let (description, owner) = ACTIONS[(k * 2 + j) % ACTIONS.len()];
            let due = held + Duration::days(14 + 7 * ((k + j) as i64 % 3));
            let (status, done_on) = if due >= today {
                ("open", None)
            } else {
                match (k + j) % 4 {
                    // Done a few days before the due date, never after today.
                    0 | 1 => ("done", Some(text((due - Duration::days(3)).min(today)))),
                    2 => ("open", None),
                    _ => ("dropped", None),
                }
            };
            let input = ActionInput {
                description: Some(description.into()),
                owner: Some(owner.into()),
                due_on: Some(text(due)),
                status: Some(status.into()),
                done_on,
                ..Default::default()
            };
            seed_action(db, org, *facility_id, Some(session_id), *mentor_id, &input)
                .await
                .map_err(|e| anyhow::anyhow!("demo action item for {code}: {e}"))?;
            added += 1;
        }
    }
    Ok(added)
}
