//! Demo data for teams: CARE's village teams in Ratanak Kiri and Mondul Kiri, each a midwife
//! of the health centre with Village Health Support Group members and traditional birth
//! attendants from the demo's community cadres, with targets for the last two quarters and
//! the current one, and the last two quarters assessed with CARE's own `care-lead` plugin,
//! so the award summary has full, partial and no awards to show. Everything goes through
//! `domain::teams` as CARE's org admin, so it is validated and audited like real entries. An
//! organisation that already has teams is left alone, so loading again adds nothing.

use anyhow::{Context, anyhow};
use chrono::{Duration, Utc};

use crate::authz::{Actor, Role};
use crate::db::Db;
use crate::domain::quarter::Quarter;
use crate::domain::scoring::ChecklistInput;
use crate::domain::teams::{
    self, AssessmentInput, MEASURES, TargetsInput, TeamInput, achieved_item,
};
use crate::plugins::Registry;
use crate::plugins::model::{Answer, Response};

const ORG: &str = "CARE";
const PLUGIN: &str = "care-lead";
const CHECKLIST: &str = "team-quarterly";
const MAX_TEAMS: usize = 6;

/// Villages of the two provinces' highland communes.
const VILLAGES: [&str; MAX_TEAMS] = [
    "Kachanh",
    "La En Kraen",
    "Pok Nhai",
    "Ou Chum",
    "Pu Trom",
    "Dak Dam",
];

/// Targets per measure (in `MEASURES` order) for a village of this size.
fn targets(team: usize) -> [i64; 5] {
    let households = [40, 55, 32, 48, 36, 60][team % MAX_TEAMS];
    [households, 6, households / 2 + 8, 8 + (team as i64 % 3), 5]
}

/// How much of each target a team achieved in a quarter, in percent, chosen so the quarters
/// show every outcome: most teams near or above target, one struggling team.
fn achieved(team: usize, quarter: usize, target: [i64; 5]) -> [i64; 5] {
    let rates: [[i64; 5]; MAX_TEAMS] = [
        [100, 100, 95, 100, 100],
        [92, 100, 90, 88, 80],
        [70, 67, 60, 75, 60],
        [105, 100, 100, 100, 100],
        [85, 83, 80, 90, 80],
        [50, 50, 45, 60, 40],
    ];
    let row = rates[(team + quarter) % MAX_TEAMS];
    let mut out = [0; 5];
    for (n, t) in target.iter().enumerate() {
        out[n] = t * row[n] / 100;
    }
    // Every escorted woman was referred.
    out[4] = out[4].min(out[3]);
    out
}

pub async fn load(db: &Db, registry: &Registry) -> anyhow::Result<usize> {
    let Some(org) = sqlx::query_scalar::<_, i64>("SELECT id FROM organisations WHERE code = $1")
        .bind(ORG)
        .fetch_optional(db.pool())
        .await?
    else {
        return Ok(0);
    };
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM teams WHERE organisation_id = $1")
        .bind(org)
        .fetch_one(db.pool())
        .await?;
    if existing > 0 {
        return Ok(0);
    }
    let admin: Option<(i64, String, String)> = sqlx::query_as(
        "SELECT id, email, display_name FROM users
         WHERE organisation_id = $1 AND role = 'org_admin' ORDER BY id LIMIT 1",
    )
    .bind(org)
    .fetch_optional(db.pool())
    .await?;
    let Some((user_id, email, display_name)) = admin else {
        return Ok(0);
    };
    let actor = Actor {
        user_id,
        organisation_id: org,
        role: Role::OrgAdmin,
        email,
        display_name,
        language: "en".into(),
    };
    let version: Option<i64> = sqlx::query_scalar(
        "SELECT v.id FROM plugin_versions v
         WHERE v.organisation_id = $1 AND v.plugin_key = $2 AND v.status = 'active'
           AND v.quarantined_at IS NULL
         ORDER BY v.id DESC LIMIT 1",
    )
    .bind(org)
    .bind(PLUGIN)
    .fetch_optional(db.pool())
    .await?;

    // CARE's active community providers and midwives, by the health centre they work at.
    let people: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT p.id, p.facility_id, p.cadre FROM providers p JOIN org_units f ON f.id = p.facility_id
         WHERE p.organisation_id = $1 AND p.active = 1 AND f.facility_type = 'health_centre'
           AND p.cadre IN ('midwife', 'village_health_support_group', 'traditional_birth_attendant')
         ORDER BY f.name, p.id",
    )
    .bind(org)
    .fetch_all(db.pool())
    .await?;
    let mut facilities: Vec<i64> = Vec::new();
    for (_, f, _) in &people {
        if !facilities.contains(f) {
            facilities.push(*f);
        }
    }
    let of = |facility: i64, cadre: &str, n: usize| -> Vec<i64> {
        people
            .iter()
            .filter(|(_, f, c)| *f == facility && c == cadre)
            .map(|(id, _, _)| *id)
            .take(n)
            .collect()
    };

    let current = Quarter::current();
    let assessed = [current.previous().previous(), current.previous()];
    let today = Utc::now().date_naive();
    let mut added = 0;
    for (n, facility) in facilities.into_iter().take(MAX_TEAMS).enumerate() {
        let mut members = of(facility, "midwife", 1);
        members.extend(of(facility, "village_health_support_group", 3));
        members.extend(of(facility, "traditional_birth_attendant", 2));
        if members.len() < 2 {
            continue; // a team needs more than one person
        }
        let village = VILLAGES[n];
        let team = teams::create(
            db,
            &actor,
            &TeamInput {
                organisation_id: Some(org),
                name: Some(format!("{village} village team")),
                village: Some(village.into()),
                facility_id: Some(facility),
                members,
                active: Some(true),
                revision: None,
            },
        )
        .await
        .map_err(|e| anyhow!("creating the {village} team: {e:?}"))?;
        added += 1;
        let target = targets(n);
        for quarter in assessed.iter().chain([&current]) {
            let input = TargetsInput {
                targets: MEASURES
                    .iter()
                    .zip(target)
                    .map(|(m, t)| (m.to_string(), t))
                    .collect(),
            };
            teams::set_targets(db, &actor, team.id, &quarter.to_string(), &input)
                .await
                .map_err(|e| anyhow!("targets of the {village} team: {e:?}"))?;
            added += MEASURES.len();
        }
        let Some(version) = version else { continue };
        for (j, quarter) in assessed.iter().enumerate() {
            let counts = achieved(n, j, target);
            let mut responses: Vec<Response> = MEASURES
                .iter()
                .zip(counts)
                .map(|(m, c)| Response {
                    item_id: achieved_item(m),
                    answer: Answer::Integer(c),
                })
                .collect();
            let yes_no = |yes: bool| if yes { Answer::Yes } else { Answer::No };
            responses.push(Response {
                item_id: "team-meetings".into(),
                answer: yes_no((n + j) % 4 != 3),
            });
            responses.push(Response {
                item_id: "registers-complete".into(),
                answer: yes_no((n + j) % 5 != 4),
            });
            // Assessed with the operational district in the week after the quarter.
            let day = (quarter.last_day() + Duration::days(7)).min(today);
            teams::assess(
                db,
                registry,
                &actor,
                team.id,
                &quarter.to_string(),
                &AssessmentInput {
                    assessment: Some(ChecklistInput {
                        plugin_version_id: Some(version),
                        checklist_id: Some(CHECKLIST.into()),
                        responses,
                    }),
                    assessed_on: Some(day.format("%Y-%m-%d").to_string()),
                    revision: None,
                },
            )
            .await
            .map_err(|e| anyhow!("assessing the {village} team for {quarter}: {e:?}"))
            .context("the demo's team assessments")?;
            added += 1;
        }
    }
    Ok(added)
}
