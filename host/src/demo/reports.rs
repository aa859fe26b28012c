//! Demo quarterly reports: for every partner of the demo programme, the reports of the last two
//! completed quarters in a mix of states (approved, submitted, returned with a comment, draft,
//! not started), written by the partners' org admins and reviewed by the programme manager
//! through the same domain actions as the pages, so their history and audit trail are real.
//! A report that already exists is left as it is, so loading again adds nothing.

use anyhow::Context;
use sqlx::FromRow;

use crate::authz::{Actor, Role};
use crate::db::Db;
use crate::domain::quarter::Quarter;
use crate::domain::reports::{self, NarrativeInput, ReturnInput, TransitionInput};
use crate::plugins::Registry;

/// Where a partner's report of a quarter ends up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    NotStarted,
    Draft,
    Submitted,
    /// Returned with the comment, waiting for the partner.
    Returned(&'static str),
    /// Returned with the comment, corrected and resubmitted.
    Resubmitted(&'static str),
    Approved,
    /// Returned once with the comment, then approved.
    ApprovedAfterReturn(&'static str),
}

/// (partner code, fate of the earlier quarter, fate of the last completed quarter).
const PLAN: &[(&str, Fate, Fate)] = &[
    (
        "RAM",
        Fate::Approved,
        Fate::ApprovedAfterReturn(
            "Please split the drills held by district, and say how many of the 14 hospitals had a drill this quarter.",
        ),
    ),
    ("RSOG", Fate::Approved, Fate::Submitted),
    (
        "RPA",
        Fate::Approved,
        Fate::Returned(
            "The HBB OSCE B pass rate fell from last quarter: explain why, and what the mentors will do about it in the next plan.",
        ),
    ),
    ("JHPIEGO", Fate::Approved, Fate::Draft),
    (
        "SHARE",
        Fate::ApprovedAfterReturn(
            "The challenges section is empty of figures; give the number of health centres not visited because of the rains.",
        ),
        Fate::Resubmitted(
            "Add what the district health office agreed to about transport for the mentors.",
        ),
    ),
    ("CARE", Fate::Submitted, Fate::NotStarted),
];

/// The narrative a partner writes: (achievements, challenges, plan for next quarter).
fn narrative(code: &str, quarter: Quarter, revised: bool) -> (String, String, String) {
    let q = quarter.to_string();
    let next = quarter.next().to_string();
    let (achievements, challenges, plan) = match code {
        "RAM" => (
            format!(
                "In {q} our 12 hospital-based midwife mentors held low-dose, high-frequency drills in every district we cover. Postpartum haemorrhage and AMTSL simulations were run monthly at each hospital, and most mentees reached the competent band on the LDHF checklist by their third drill."
            ),
            "Two mentors were on maternity leave for part of the quarter, so some health centres near Rutsiro had one visit instead of three. Mannequins for the PPH simulation need repair at two hospitals.".to_string(),
            format!(
                "In {next}: cover the Rutsiro gap with a mentor from Kibuye, repair the mannequins, and start peer practice sessions led by the midwives who reached the competent band."
            ),
        ),
        "RSOG" => (
            format!(
                "In {q} obstetrician mentors ran EmONC skills drills (shoulder dystocia, cord prolapse, PPH) at the district hospitals, with case reviews of every maternal near-miss."
            ),
            "Night-shift staff were hard to reach for drills; several case reviews were postponed because the committees did not reach a quorum.".to_string(),
            format!(
                "In {next}: schedule drills at shift handover, and hold the postponed case reviews in the first month."
            ),
        ),
        "RPA" => (
            format!(
                "In {q} paediatricians mentored Helping Babies Breathe at hospitals and health centres; every mentee took the knowledge check and OSCE A, and most were observed on OSCE B."
            ),
            "Bag-and-mask devices were out of stock at three health centres, so ventilation practice used shared equipment.".to_string(),
            format!(
                "In {next}: distribute the new bag-and-mask devices, and re-run OSCE B with the providers who did not pass."
            ),
        ),
        "JHPIEGO" => (
            format!(
                "In {q} health-centre mentorship continued in Nyamagabe and Nyaruguru with monthly skills drills and on-site coaching on partograph use."
            ),
            "Road works cut access to two health centres for six weeks.".to_string(),
            format!("In {next}: catch up the missed visits and add partograph audits."),
        ),
        "SHARE" => (
            format!(
                "In {q} SHARE mentors supported health centres in Ratanak Kiri with essential newborn care drills and monthly action-plan follow-up; most action points agreed in sessions were done by the next visit."
            ),
            "Heavy rains closed the roads to the most remote health centres for most of a month.".to_string(),
            format!(
                "In {next}: visit the remote health centres first, and train two health-centre staff as peer mentors so drills continue when roads close."
            ),
        ),
        _ => (
            format!(
                "In {q} CARE supported Village Health Support Groups and traditional birth attendants in Mondul Kiri: teams mapped households, held education sessions and escorted women to the health centre for delivery."
            ),
            "Some villages lost their VHSG members to seasonal farm work, so home visits fell short of the targets.".to_string(),
            format!(
                "In {next}: recruit replacement VHSG members and pair each new member with an experienced one."
            ),
        ),
    };
    if revised {
        (
            format!(
                "{achievements} Revised after review: the figures by district are in the table above."
            ),
            format!(
                "{challenges} As asked at review, the affected facilities are named in the district breakdown."
            ),
            plan,
        )
    } else {
        (achievements, challenges, plan)
    }
}

#[derive(FromRow)]
struct UserRow {
    id: i64,
    organisation_id: i64,
    email: String,
    display_name: String,
    language: String,
}

async fn actor(
    db: &Db,
    sql: &'static str,
    bind: &str,
    role: Role,
) -> anyhow::Result<Option<Actor>> {
    let row: Option<UserRow> = sqlx::query_as(sql)
        .bind(bind)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|u| Actor {
        user_id: u.id,
        organisation_id: u.organisation_id,
        role,
        email: u.email,
        display_name: u.display_name,
        language: u.language,
    }))
}

fn err(what: &str, e: crate::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{what}: {e}")
}

async fn write(
    db: &Db,
    admin: &Actor,
    org: i64,
    quarter: Quarter,
    revision: i64,
    revised: bool,
    code: &str,
) -> anyhow::Result<()> {
    let (achievements, challenges, plan) = narrative(code, quarter, revised);
    let input = NarrativeInput {
        revision: Some(revision),
        achievements: Some(achievements),
        challenges: Some(challenges),
        next_quarter_plan: Some(plan),
    };
    reports::save_narrative(db, admin, org, &quarter.to_string(), &input)
        .await
        .map_err(|e| err("writing a demo report", e))?;
    Ok(())
}

async fn play(
    db: &Db,
    admin: &Actor,
    manager: &Actor,
    code: &str,
    quarter: Quarter,
    fate: Fate,
) -> anyhow::Result<()> {
    let org = admin.organisation_id;
    let q = quarter.to_string();
    let submit = || async {
        reports::submit(db, admin, org, &q, &TransitionInput::default())
            .await
            .map_err(|e| err("submitting a demo report", e))
    };
    let send_back = |comment: &'static str| {
        let q = q.clone();
        async move {
            let input = ReturnInput {
                revision: None,
                comment: Some(comment.into()),
            };
            reports::return_report(db, manager, org, &q, &input)
                .await
                .map_err(|e| err("returning a demo report", e))
        }
    };
    let approve = || async {
        let input = TransitionInput {
            revision: None,
            comment: Some("Approved. Thank you for the clear narrative.".into()),
        };
        reports::approve(db, manager, org, &q, &input)
            .await
            .map_err(|e| err("approving a demo report", e))
    };
    if fate == Fate::NotStarted {
        return Ok(());
    }
    write(db, admin, org, quarter, 0, false, code).await?;
    match fate {
        Fate::NotStarted | Fate::Draft => {}
        Fate::Submitted => {
            submit().await?;
        }
        Fate::Returned(comment) => {
            submit().await?;
            send_back(comment).await?;
        }
        Fate::Resubmitted(comment) | Fate::ApprovedAfterReturn(comment) => {
            submit().await?;
            let returned = send_back(comment).await?;
            write(
                db,
                admin,
                org,
                quarter,
                returned.summary.revision,
                true,
                code,
            )
            .await?;
            submit().await?;
            if matches!(fate, Fate::ApprovedAfterReturn(_)) {
                approve().await?;
            }
        }
        Fate::Approved => {
            submit().await?;
            approve().await?;
        }
    }
    Ok(())
}

/// Adds this area's demo records once (idempotent); returns how many reports it added.
pub async fn load(db: &Db, _registry: &Registry) -> anyhow::Result<usize> {
    let Some(manager) = actor(
        db,
        "SELECT id, organisation_id, email, display_name, language FROM users
         WHERE role = $1 AND active = 1 ORDER BY id LIMIT 1",
        "manager",
        Role::Manager,
    )
    .await?
    else {
        return Ok(0);
    };
    let last = Quarter::current().previous();
    let earlier = last.previous();
    let mut added = 0;
    for (code, earlier_fate, last_fate) in PLAN {
        let Some(admin) = actor(
            db,
            "SELECT u.id, u.organisation_id, u.email, u.display_name, u.language
             FROM users u JOIN organisations o ON o.id = u.organisation_id
             WHERE o.code = $1 AND u.role = 'org_admin' AND u.active = 1 ORDER BY u.id LIMIT 1",
            code,
            Role::OrgAdmin,
        )
        .await?
        else {
            continue;
        };
        for (quarter, fate) in [(earlier, *earlier_fate), (last, *last_fate)] {
            let exists: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM reports WHERE organisation_id = $1 AND quarter = $2",
            )
            .bind(admin.organisation_id)
            .bind(quarter.to_string())
            .fetch_optional(db.pool())
            .await?;
            if exists.is_some() || fate == Fate::NotStarted {
                continue;
            }
            play(db, &admin, &manager, code, quarter, fate)
                .await
                .with_context(|| format!("demo report of {code} for {quarter}"))?;
            added += 1;
        }
    }
    Ok(added)
}
