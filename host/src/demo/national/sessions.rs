//! Mentorship sessions with their mentees, scored observations and action items, month by
//! month.

use std::collections::HashMap;

use chrono::{Datelike, Months, NaiveDate, Weekday};
use indicatif::ProgressBar;
use serde::Serialize;
use tokio::sync::mpsc;

use super::bulk::{ACTIONS, Batch, MENTEES, METRICS, OBSERVATIONS, SESSIONS, Tables};
use super::scorer::{CardKey, Scorer, observation_rows};
use super::shape::{FACILITY_ASSESSMENT, Kind, VARIANTS};
use super::world::World;
use super::{FULL_OBSERVATIONS, Options, Rng, day, stamp};
use crate::domain::scoring;
use crate::plugins::model::Response;

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
    season * ramp * growth * (0.92 + 0.16 * rng.uniform())
}

pub(super) async fn load(
    world: &mut World,
    scorer: &mut Scorer<'_>,
    options: &Options,
    bar: &ProgressBar,
    writer: &mpsc::Sender<Batch>,
) -> anyhow::Result<()> {
    let start = options.start();
    let end = options.end;
    let mut rng = options.rng(0x5e55);
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
            if let Some(c) = scorer.usable(p.id, FACILITY_ASSESSMENT).await? {
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
        let when = (*first, *last, end);
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
                done += session_rows(world, scorer, &mut t, &mut rng, when, session).await?;
            }
        }
        while done < quota {
            let x = rng.uniform() * sum;
            let pi = cumulative
                .partition_point(|c| *c < x)
                .min(world.pairs.len() - 1);
            let partner = &world.partners[world.pairs[pi].partner];
            let (checklist, session_type, _) = partner.uses[rng.weighted(&partner.uses, |u| u.2)];
            let mentees = [1, 1, 2, 2, 2, 3, 3, 3, 4, 4][rng.below(10)];
            let session = Planned {
                pair: pi,
                checklist,
                session_type,
                mentees,
            };
            done += session_rows(world, scorer, &mut t, &mut rng, when, session).await?;
            t.flush_if_full()?;
        }
        observations += done;
        t.send(writer).await?;
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
    let id = rng.uuid();
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
    t.row(&SESSIONS)
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
        t.row(&MENTEES).text(&id).int(*p);
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
        t.row(&ACTIONS)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sessions::{ObservationInput, SessionInput};
    use crate::plugins::model::Answer;

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
}
