//! QI projects and their PDSA cycles.

use super::bulk::{CYCLES, PROJECTS, Tables};
use super::shape::Kind;
use super::world::World;
use super::{Options, day, stamp};

/// (title, problem, aim, change ideas, indicator code).
const PROJECTS_TEXT: [(&str, &str, &str, &str, &str); 4] = [
    (
        "Uterotonic within one minute of birth",
        "A record review found oxytocin given within a minute of birth for about half of the women.",
        "Raise the share of births with a uterotonic within one minute to 90 % within 6 months.",
        "Oxytocin drawn up before every birth\nBirth companion calls out the time of birth",
        "AMTSL-01",
    ),
    (
        "Newborn resuscitation readiness",
        "The bag and mask were missing or the wrong size at a third of spot checks.",
        "A complete, checked resuscitation corner at every birth within 3 months.",
        "Daily checklist at shift handover\nSpare masks sizes 0 and 1 in the labour ward",
        "COMP-NR",
    ),
    (
        "Partograph use in labour",
        "The partograph was started for about a third of women in active labour.",
        "Raise the share monitored with a completed partograph from 35 % to 80 % within 6 months.",
        "Partograph stapled to every admission file\nWeekly partograph review at handover",
        "COMP-IPC",
    ),
    (
        "Postpartum haemorrhage response",
        "Two women with PPH waited more than 30 minutes for a second uterotonic last quarter.",
        "Every PPH managed with the first-response bundle within 15 minutes within 6 months.",
        "PPH box in every delivery room\nMonthly PPH drill for the whole team",
        "COMP-PPH",
    ),
];

pub(super) fn rows(world: &World, options: &Options) -> Tables {
    let (start, end) = (options.start(), options.end);
    let (span, years) = options.span();
    let mut rng = options.rng(0x9140);
    let mut t = Tables::new(&[&PROJECTS, &CYCLES]);
    let (mut project_id, mut cycle_id) = (1i64, 1i64);
    for pair in &world.pairs {
        let f = &world.facilities[pair.facility];
        if f.kind == Kind::HealthPost {
            continue;
        }
        let partner = &world.partners[pair.partner];
        let mentor = &world.mentors[pair.mentor];
        let n = (0.25 * years * 2.0 * rng.uniform()).round() as usize;
        for _ in 0..n {
            let (title, problem, aim, ideas, indicator) = rng.pick(&PROJECTS_TEXT);
            let started = start + chrono::Duration::days(rng.below(span as usize) as i64);
            let planned_end = started + chrono::Duration::days(90 + rng.below(181) as i64);
            let ended = (planned_end <= end).then_some(planned_end);
            let status = match ended {
                Some(_) if rng.percent(15) => "stopped",
                Some(_) => "completed",
                None => "active",
            };
            let created_at = stamp(started, &mut rng);
            let updated_at = ended
                .map(|d| stamp(d, &mut rng))
                .unwrap_or(created_at.clone());
            t.row(&PROJECTS)
                .int(project_id)
                .int(partner.id)
                .int(f.id)
                .text(title)
                .text(problem)
                .text(aim)
                .opt_int(world.indicators.get(indicator).copied())
                .text(ideas)
                .text(status)
                .text(&day(started))
                .opt_text(ended.map(day).as_deref())
                .int(1)
                .int(mentor.id)
                .text(&created_at)
                .text(&updated_at);
            let mut from = started + chrono::Duration::days(rng.below(14) as i64);
            for position in 0..1 + rng.below(4) {
                if from > end {
                    break;
                }
                let to = from + chrono::Duration::days(14 + rng.below(32) as i64);
                let finished = to <= end;
                let idea = ideas.lines().nth(position % 2).unwrap_or(ideas);
                t.row(&CYCLES)
                    .int(cycle_id)
                    .int(project_id)
                    .int(position as i64)
                    .text(idea)
                    .text("Try it for two weeks on every shift; count how often it was done.")
                    .text(&day(from))
                    .opt_text(finished.then(|| day(to)).as_deref())
                    .opt_text(
                        finished.then_some(
                            "Done for most births in the second week; night shifts lagged.",
                        ),
                    )
                    .opt_text(finished.then(|| rng.pick(&["adopt", "adapt", "abandon"])))
                    .text(&updated_at);
                cycle_id += 1;
                from = to + chrono::Duration::days(1 + rng.below(10) as i64);
            }
            project_id += 1;
        }
    }
    t
}
