//! Community teams with their members, quarterly targets and assessments.

use super::bulk::{MEMBERS, TARGETS, TEAM_ASSESSMENTS, TEAMS, Tables};
use super::scorer::{Scorer, check};
use super::shape::{Kind, TEAM_ASSESSMENT};
use super::world::{Provider, World, place_name};
use super::{Options, day, stamp};
use crate::domain::scoring;
use crate::domain::teams;
use crate::plugins::model::{Answer, Response, ScoreContext};

pub(super) async fn rows(
    world: &World,
    scorer: &mut Scorer<'_>,
    options: &Options,
) -> anyhow::Result<Tables> {
    let end = options.end;
    let mut rng = options.rng(0x7ea5);
    let mut t = Tables::new(&[&TEAMS, &MEMBERS, &TARGETS, &TEAM_ASSESSMENTS]);
    let (mut team_id, mut assessment_id) = (1i64, 1i64);
    let all = options.quarters();
    for (pi, partner) in world.partners.iter().enumerate() {
        let Some(checklist) = scorer.usable(partner.id, TEAM_ASSESSMENT).await? else {
            continue;
        };
        let listed = &scorer.checklists[checklist].r;
        let (version, checklist_id) = (listed.plugin_version_id, listed.checklist.id.clone());
        let items: Vec<String> = listed.checklist.items().map(|i| i.id.clone()).collect();
        // A team at each health centre the partner works at: a midwife or nurse with the
        // community members registered there.
        let mut number = 0;
        for (fi, f) in world.facilities.iter().enumerate() {
            if f.kind != Kind::HealthCentre {
                continue;
            }
            let at: Vec<&Provider> = world
                .providers
                .iter()
                .filter(|p| p.partner == pi && p.facility == fi && p.active)
                .collect();
            let mut members: Vec<i64> = at
                .iter()
                .filter(|p| matches!(p.cadre, "midwife" | "nurse"))
                .take(1)
                .map(|p| p.id)
                .collect();
            members.extend(
                at.iter()
                    .filter(|p| {
                        matches!(
                            p.cadre,
                            "village_health_support_group"
                                | "traditional_birth_attendant"
                                | "community_health_worker"
                        )
                    })
                    .take(5)
                    .map(|p| p.id),
            );
            if members.len() < 2 {
                continue;
            }
            number += 1;
            let village = place_name(&mut rng);
            // Teams start during the programme's first year.
            let from = rng.below(4).min(all.len().saturating_sub(1));
            let created_at = stamp(all[from].first_day().max(options.start()), &mut rng);
            t.row(&TEAMS)
                .int(team_id)
                .int(partner.id)
                .int(f.id)
                .text(&format!("{village} village team {number}"))
                .text(&village)
                .int(1)
                .int(1)
                .text(&created_at)
                .text(&created_at);
            for m in &members {
                t.row(&MEMBERS).int(team_id).int(*m);
            }
            let households = 30 + rng.below(31) as i64;
            let target = [
                households,
                6,
                households / 2 + 8,
                8 + rng.below(3) as i64,
                5,
            ];
            let quality = 0.55 + 0.45 * rng.uniform();
            for quarter in &all[from..] {
                let assessed_on = quarter.last_day() + chrono::Duration::days(7);
                let assessed = assessed_on <= end;
                let mut achieved = [0i64; 5];
                for (k, tgt) in target.iter().enumerate() {
                    let rate = (quality + 0.35 * (rng.uniform() - 0.4)).clamp(0.2, 1.15);
                    achieved[k] = (*tgt as f64 * rate).round() as i64;
                }
                achieved[4] = achieved[4].min(achieved[3]);
                let updated = stamp(
                    if assessed {
                        assessed_on
                    } else {
                        quarter.first_day()
                    },
                    &mut rng,
                );
                for (k, measure) in teams::MEASURES.iter().enumerate() {
                    t.row(&TARGETS)
                        .int(team_id)
                        .text(&quarter.to_string())
                        .text(measure)
                        .int(target[k])
                        .opt_int(assessed.then_some(achieved[k]))
                        .text(&updated);
                }
                if !assessed {
                    continue;
                }
                // Targets filled from the team's targets, as `teams::assess` does.
                let mut responses = Vec::new();
                for (k, measure) in teams::MEASURES.iter().enumerate() {
                    let item = teams::target_item(measure);
                    if items.contains(&item) {
                        responses.push(Response {
                            item_id: item,
                            answer: Answer::Integer(target[k]),
                        });
                    }
                    responses.push(Response {
                        item_id: teams::achieved_item(measure),
                        answer: Answer::Integer(achieved[k]),
                    });
                }
                let yes_no = |yes: bool| if yes { Answer::Yes } else { Answer::No };
                responses.push(Response {
                    item_id: "team-meetings".into(),
                    answer: yes_no(rng.percent((quality * 100.0) as u64)),
                });
                responses.push(Response {
                    item_id: "registers-complete".into(),
                    answer: yes_no(rng.percent((quality * 90.0) as u64)),
                });
                check(
                    &scorer.checklists[checklist].r.checklist,
                    &responses,
                    "assessment",
                )?;
                let context = ScoreContext {
                    session_type: teams::SCORE_CONTEXT_TYPE.to_string(),
                    mentee_cadre: String::new(),
                    date: day(assessed_on),
                    language: "en".to_string(),
                };
                let responses_json = scoring::json(&responses).map_err(crate::cli::explain)?;
                let (card, full) = scorer
                    .score(version, &checklist_id, responses, context)
                    .await?;
                let listed = &scorer.checklists[checklist].r;
                let award = teams::award_of(&full, &listed.plugin_key, &checklist_id);
                t.row(&TEAM_ASSESSMENTS)
                    .int(assessment_id)
                    .int(team_id)
                    .text(&quarter.to_string())
                    .text(&day(assessed_on))
                    .scored(listed, &responses_json, &card)
                    .real(award)
                    .int(partner.admin)
                    .int(1)
                    .text(&updated)
                    .text(&updated);
                assessment_id += 1;
            }
            team_id += 1;
        }
    }
    Ok(t)
}
