//! Trainings with their participants, attendance and pre- and post-tests.

use super::bulk::{ATTENDANCE, METRICS, OBSERVATIONS, PARTICIPANTS, TRAININGS, Tables};
use super::scorer::{CardKey, Scorer, observation_rows};
use super::shape::{Kind, LEVELS, TRAINING_TEST, VARIANTS, clinical};
use super::world::World;
use super::{Options, day, stamp};
use crate::domain::scoring::{self, ChecklistInput};
use crate::domain::trainings::{self, ParticipantInput, TrainingInput};
use crate::plugins::model::Response;

pub(super) async fn rows(
    world: &mut World,
    scorer: &mut Scorer<'_>,
    options: &Options,
) -> anyhow::Result<Tables> {
    let (start, end) = (options.start(), options.end);
    let mut rng = options.rng(0x7a17);
    let mut t = Tables::new(&[
        &TRAININGS,
        &PARTICIPANTS,
        &ATTENDANCE,
        &OBSERVATIONS,
        &METRICS,
    ]);
    for pi in 0..world.partners.len() {
        let (partner_id, spec) = (world.partners[pi].id, world.partners[pi].spec);
        let Some(test) = scorer.usable(partner_id, TRAINING_TEST).await? else {
            continue;
        };
        let pairs: Vec<usize> = (0..world.pairs.len())
            .filter(|p| world.pairs[*p].partner == pi)
            .collect();
        if pairs.is_empty() {
            continue;
        }
        // About one training a quarter for every 50 hospitals and health centres the partner
        // works at.
        let places = world
            .pairs
            .iter()
            .filter(|p| p.partner == pi && world.facilities[p.facility].kind != Kind::HealthPost)
            .count();
        let per_quarter = places as f64 / 50.0;
        for quarter in options.quarters() {
            let (first, last) = (quarter.first_day().max(start), quarter.last_day().min(end));
            let span = (last - first).num_days();
            let count =
                per_quarter.floor() as usize + usize::from(rng.uniform() < per_quarter.fract());
            for _ in 0..count {
                let days = 2 + rng.below(2) as i64;
                if span < days + 1 {
                    continue;
                }
                let from =
                    first + chrono::Duration::days(rng.below((span - days + 1) as usize) as i64);
                let to = from + chrono::Duration::days(days - 1);
                let dates: Vec<String> = (0..days)
                    .map(|d| day(from + chrono::Duration::days(d)))
                    .collect();
                let pair = &world.pairs[pairs[rng.below(pairs.len())]];
                let facility = &world.facilities[pair.facility];
                let district = facility.district;
                let mentor = &world.mentors[pair.mentor];
                let (facilitator, facilitator_name, language) =
                    (mentor.id, mentor.name.clone(), mentor.language);
                // A third are held at the district office rather than a facility.
                let (venue, facility_id) = if rng.percent(30) {
                    (
                        Some(format!("{} district office", world.districts[district])),
                        None,
                    )
                } else {
                    (None, Some(facility.id))
                };
                let mut people: Vec<usize> = world
                    .providers
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| {
                        p.partner == pi
                            && p.active
                            && clinical(p.cadre)
                            && world.facilities[p.facility].district == district
                    })
                    .map(|(i, _)| i)
                    .collect();
                rng.shuffle(&mut people);
                people.truncate(12 + rng.below(13));
                if people.is_empty() {
                    continue;
                }
                let id = rng.uuid();
                let title = rng.pick(spec.trainings);
                let created_at = stamp(to, &mut rng);
                let mut inputs = Vec::new();
                let mut scored = Vec::new();
                for p in &people {
                    let provider = &world.providers[*p];
                    let pre_level = provider.level(&mut rng);
                    let post_level = (pre_level + 1 + rng.below(3) as u8).min(LEVELS);
                    let key = |level: u8, variant: u8| CardKey {
                        checklist: test,
                        level,
                        variant,
                        session_type: trainings::SCORE_CONTEXT_TYPE,
                        cadre: provider.cadre,
                        language,
                    };
                    let pre = scorer
                        .card(key(pre_level, rng.below(VARIANTS) as u8), &dates[0])
                        .await?;
                    let post = scorer
                        .card(key(post_level, rng.below(VARIANTS) as u8), &day(to))
                        .await?;
                    let mut attendance = dates.clone();
                    if attendance.len() > 1 && rng.below(10) == 0 {
                        attendance.pop();
                    }
                    let listed = &scorer.checklists[test].r;
                    let test_input = |responses: &[Response]| ChecklistInput {
                        plugin_version_id: Some(listed.plugin_version_id),
                        checklist_id: Some(listed.checklist.id.clone()),
                        responses: responses.to_vec(),
                    };
                    inputs.push(ParticipantInput {
                        provider_id: Some(provider.id),
                        attendance: attendance.clone(),
                        pre_test: Some(test_input(&pre.0.responses)),
                        post_test: Some(test_input(&post.0.responses)),
                    });
                    scored.push((provider.id, attendance, pre, post));
                }
                let body = TrainingInput {
                    id: Some(id.clone()),
                    title: Some(title.to_string()),
                    start_date: Some(dates[0].clone()),
                    end_date: Some(day(to)),
                    venue: venue.clone(),
                    facility_id,
                    facilitators: Some(facilitator_name.clone()),
                    participants: inputs,
                };
                let sha = scoring::body_sha256(&body).map_err(crate::cli::explain)?;
                t.row(&TRAININGS)
                    .text(&id)
                    .int(partner_id)
                    .text(title)
                    .text(&dates[0])
                    .text(&day(to))
                    .opt_text(venue.as_deref())
                    .opt_int(facility_id)
                    .text(&facilitator_name)
                    .text(&sha)
                    .text(&sha)
                    .text("recorded")
                    .int(1)
                    .int(facilitator)
                    .text(&created_at)
                    .text(&created_at);
                let listed = &scorer.checklists[test];
                for (provider, attendance, pre, post) in scored {
                    t.row(&PARTICIPANTS).text(&id).int(provider);
                    for d in &attendance {
                        t.row(&ATTENDANCE).text(&id).int(provider).text(d);
                    }
                    for (position, phase, on, (pattern, card)) in
                        [(0, "pre", &dates[0], pre), (1, "post", &day(to), post)]
                    {
                        observation_rows(
                            &mut t,
                            world.next_observation,
                            (None, Some(&id), Some(phase)),
                            position,
                            provider,
                            on,
                            listed,
                            &pattern,
                            &card,
                            &created_at,
                        );
                        world.next_observation += 1;
                    }
                }
            }
        }
    }
    Ok(t)
}
