//! Demo data for death reviews: a handful of maternal and perinatal deaths per partner at the
//! facilities its mentors work at, spread over the previous and the current quarter. Maternal
//! deaths are mostly haemorrhage and hypertensive disorders, perinatal ones asphyxia-related,
//! as in MPDSR reports of the region. The latest are notified and still awaiting review; the
//! others carry recommendations in every state, some past their deadline. Dates are placed
//! relative to today so the indicators (reviews held in a quarter, recommendations due by its
//! end and done) have something to count whenever the demo is loaded. A partner that already
//! has death reviews is left alone, so loading again adds nothing.

use anyhow::Context;
use chrono::{Duration, NaiveDate, Utc};

use crate::db::Db;
use crate::domain::death_reviews::{DemoFindings, DemoRecommendation, insert_demo};
use crate::domain::quarter::Quarter;
use crate::plugins::Registry;

struct Case {
    maternal: bool,
    /// Where in the span from the previous quarter's first day to today the death falls (0–1).
    at: f64,
    notified_after: i64,
    /// Days from the death to the review; `None`: still awaiting review.
    reviewed_after: Option<i64>,
    cause_group: i64,
    underlying_cause: &'static str,
    contributing: &'static str,
    delays: [bool; 3],
    avoidable: &'static str,
    recommendations: &'static [Rec],
}

struct Rec {
    description: &'static str,
    owner: &'static str,
    /// Days from the review to the deadline.
    due_after: i64,
    /// What became of it: `done` (some days after the review), `in_progress`, `open`,
    /// `not_done`. A "done" whose day has not come yet is shown in progress.
    status: &'static str,
    done_after: i64,
}

const MATERNAL: &[Case] = &[
    Case {
        maternal: true,
        at: 0.08,
        notified_after: 1,
        reviewed_after: Some(16),
        cause_group: 3,
        underlying_cause: "Postpartum haemorrhage from uterine atony after a home birth",
        contributing: "Anaemia in pregnancy (Hb 8.9 g/dl); no uterotonic given at birth",
        delays: [true, true, false],
        avoidable: "yes",
        recommendations: &[
            Rec {
                description: "Community health workers to counsel every pregnant woman on facility birth and birth preparedness at the 3rd ANC contact",
                owner: "Health centre in-charge and CHW supervisor",
                due_after: 45,
                status: "done",
                done_after: 38,
            },
            Rec {
                description: "Keep oxytocin and misoprostol stocked at every health post; weekly stock check",
                owner: "District pharmacist",
                due_after: 30,
                status: "done",
                done_after: 21,
            },
            Rec {
                description: "Ambulance call line posted in every village; test it monthly",
                owner: "District hospital ambulance coordinator",
                due_after: 60,
                status: "not_done",
                done_after: 0,
            },
        ],
    },
    Case {
        maternal: true,
        at: 0.3,
        notified_after: 2,
        reviewed_after: Some(21),
        cause_group: 2,
        underlying_cause: "Eclampsia at 36 weeks; seizures at home, arrived after 4 hours",
        contributing: "Blood pressure 150/100 at last ANC visit not acted on; no magnesium sulphate loading dose at the health centre",
        delays: [false, true, true],
        avoidable: "yes",
        recommendations: &[
            Rec {
                description: "Drill on magnesium sulphate loading dose and referral of severe pre-eclampsia for all maternity staff (LDHF session)",
                owner: "Maternity unit head midwife",
                due_after: 30,
                status: "done",
                done_after: 25,
            },
            Rec {
                description: "Every ANC visit records blood pressure and urine protein; refer at 140/90",
                owner: "Health centre in-charge",
                due_after: 60,
                status: "in_progress",
                done_after: 0,
            },
        ],
    },
    Case {
        maternal: true,
        at: 0.55,
        notified_after: 1,
        reviewed_after: Some(14),
        cause_group: 3,
        underlying_cause: "Retained placenta with haemorrhage; transfusion delayed",
        contributing: "No blood available at the district hospital for 3 hours",
        delays: [false, false, true],
        avoidable: "yes",
        recommendations: &[
            Rec {
                description: "Agree an emergency blood supply protocol with the regional blood bank",
                owner: "District hospital director",
                due_after: 21,
                status: "open",
                done_after: 0,
            },
            Rec {
                description: "Manual removal of placenta skills drill for midwives on night shifts",
                owner: "Maternity unit head midwife",
                due_after: 30,
                status: "in_progress",
                done_after: 0,
            },
        ],
    },
    Case {
        maternal: true,
        at: 0.78,
        notified_after: 2,
        reviewed_after: Some(10),
        cause_group: 4,
        underlying_cause: "Puerperal sepsis after prolonged labour",
        contributing: "Prolonged rupture of membranes (30 hours); antibiotics started late",
        delays: [true, false, true],
        avoidable: "undetermined",
        recommendations: &[Rec {
            description: "Partograph audit every month; antibiotics for membranes ruptured over 18 hours",
            owner: "Quality improvement focal person",
            due_after: 45,
            status: "open",
            done_after: 0,
        }],
    },
    Case {
        maternal: true,
        at: 0.96,
        notified_after: 1,
        reviewed_after: None,
        cause_group: 2,
        underlying_cause: "",
        contributing: "",
        delays: [false, false, false],
        avoidable: "",
        recommendations: &[],
    },
];

const PERINATAL: &[Case] = &[
    Case {
        maternal: false,
        at: 0.12,
        notified_after: 1,
        reviewed_after: Some(18),
        cause_group: 5,
        underlying_cause: "Intrapartum asphyxia (fresh stillbirth); fetal heart not monitored during the second stage",
        contributing: "Obstructed labour; one midwife on duty for four women in labour",
        delays: [false, false, true],
        avoidable: "yes",
        recommendations: &[
            Rec {
                description: "Intermittent fetal heart monitoring every 15 minutes in the active phase, charted on the partograph",
                owner: "Maternity unit head midwife",
                due_after: 30,
                status: "done",
                done_after: 28,
            },
            Rec {
                description: "Second midwife on call at night",
                owner: "Hospital director of nursing",
                due_after: 60,
                status: "done",
                done_after: 55,
            },
        ],
    },
    Case {
        maternal: false,
        at: 0.4,
        notified_after: 2,
        reviewed_after: Some(15),
        cause_group: 5,
        underlying_cause: "Birth asphyxia: baby not breathing at birth, ventilation started after 4 minutes",
        contributing: "Bag and mask not at the delivery bed; helper not trained in Helping Babies Breathe",
        delays: [false, false, true],
        avoidable: "yes",
        recommendations: &[
            Rec {
                description: "Check bag, masks (sizes 0 and 1) and suction at every delivery bed at each shift change",
                owner: "Maternity unit head midwife",
                due_after: 14,
                status: "done",
                done_after: 7,
            },
            Rec {
                description: "Helping Babies Breathe refresher for every provider attending births",
                owner: "Mentor of the partner organisation",
                due_after: 45,
                status: "open",
                done_after: 0,
            },
        ],
    },
    Case {
        maternal: false,
        at: 0.7,
        notified_after: 1,
        reviewed_after: Some(12),
        cause_group: 5,
        underlying_cause: "Early neonatal death of a preterm baby (32 weeks) with asphyxia",
        contributing: "No kangaroo mother care space; referral to the neonatal unit delayed by transport",
        delays: [false, true, false],
        avoidable: "undetermined",
        recommendations: &[Rec {
            description: "Open a kangaroo mother care corner in the maternity ward",
            owner: "Health centre in-charge",
            due_after: 20,
            status: "in_progress",
            done_after: 0,
        }],
    },
    Case {
        maternal: false,
        at: 0.94,
        notified_after: 2,
        reviewed_after: None,
        cause_group: 8,
        underlying_cause: "",
        contributing: "",
        delays: [false, false, false],
        avoidable: "",
        recommendations: &[],
    },
];

/// Which cases a partner reports: paediatricians perinatal deaths, obstetricians and
/// midwives maternal ones, the others both.
fn cases_for(code: &str) -> Vec<&'static Case> {
    match code {
        "RPA" => PERINATAL.iter().collect(),
        "RSOG" | "RAM" => MATERNAL.iter().chain(PERINATAL.iter().take(1)).collect(),
        _ => MATERNAL
            .iter()
            .take(2)
            .chain(MATERNAL.iter().skip(4))
            .chain(PERINATAL.iter().skip(1))
            .collect(),
    }
}

fn text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Adds this area's demo records once (idempotent); returns how many records it added.
pub async fn load(db: &Db, _registry: &Registry) -> anyhow::Result<usize> {
    let today = Utc::now().date_naive();
    let first = Quarter::current().previous().first_day();
    let span = (today - first).num_days().max(1);
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
    for (org, code) in partners {
        let existing: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM death_reviews WHERE organisation_id = $1")
                .bind(org)
                .fetch_one(db.pool())
                .await?;
        if existing > 0 {
            continue;
        }
        let places: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT m.facility_id, u.id, f.name FROM mentor_assignments m
               JOIN users u ON u.id = m.mentor_id JOIN org_units f ON f.id = m.facility_id
             WHERE u.organisation_id = $1 AND u.role = 'mentor' AND u.active = 1
             ORDER BY m.facility_id, u.id",
        )
        .bind(org)
        .fetch_all(db.pool())
        .await?;
        if places.is_empty() {
            continue;
        }
        let mut tx = db.begin().await?;
        for (n, case) in cases_for(&code).into_iter().enumerate() {
            let (facility_id, mentor_id, facility_name) = &places[n % places.len()];
            let died = (first + Duration::days((span as f64 * case.at) as i64)).min(today);
            let notified = (died + Duration::days(case.notified_after)).min(today);
            let committee = format!("{facility_name} MPDSR committee");
            let reviewed = case
                .reviewed_after
                .map(|d| died + Duration::days(d))
                .filter(|r| *r <= today);
            let findings = reviewed.map(|r| DemoFindings {
                reviewed_on: text(r),
                committee: committee.clone(),
                cause_group: case.cause_group,
                underlying_cause: case.underlying_cause,
                contributing_conditions: case.contributing,
                delays: case.delays,
                avoidable: case.avoidable,
                recommendations: case
                    .recommendations
                    .iter()
                    .map(|rec| {
                        let done = r + Duration::days(rec.done_after);
                        let (status, done_on) = match rec.status {
                            "done" if done <= today => ("done", Some(text(done))),
                            "done" => ("in_progress", None),
                            other => (other, None),
                        };
                        DemoRecommendation {
                            description: rec.description,
                            owner: rec.owner,
                            deadline: text(r + Duration::days(rec.due_after)),
                            status,
                            done_on,
                        }
                    })
                    .collect(),
            });
            let recs = findings.as_ref().map_or(0, |f| f.recommendations.len());
            insert_demo(
                &mut tx,
                org,
                Some(*mentor_id),
                *facility_id,
                if case.maternal {
                    "maternal"
                } else {
                    "perinatal"
                },
                &text(notified),
                &text(died),
                findings,
            )
            .await
            .map_err(|e| anyhow::anyhow!("demo death review for {code}: {e}"))?;
            added += 1 + recs;
        }
        tx.commit().await?;
    }
    Ok(added)
}
