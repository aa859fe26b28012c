//! Maternal and perinatal death reviews with their recommendations.

use super::bulk::{RECOMMENDATIONS, REVIEWS, Tables};
use super::shape::Kind;
use super::world::World;
use super::{Options, day, stamp};

/// (ICD-MM group, underlying cause, contributing conditions).
const MATERNAL_CAUSES: [(i64, &str, &str); 6] = [
    (
        3,
        "Postpartum haemorrhage from uterine atony",
        "No uterotonic given within a minute of birth; anaemia in pregnancy",
    ),
    (
        2,
        "Eclampsia",
        "Raised blood pressure at the last antenatal visit not acted on",
    ),
    (
        3,
        "Retained placenta with haemorrhage",
        "Blood not available for transfusion for three hours",
    ),
    (
        4,
        "Puerperal sepsis after prolonged labour",
        "Partograph not used; antibiotics started late",
    ),
    (
        1,
        "Complications of unsafe abortion",
        "Presented late for fear of being judged",
    ),
    (8, "Unknown: died on arrival", "No history available"),
];
const PERINATAL_CAUSES: [(i64, &str, &str); 4] = [
    (
        5,
        "Intrapartum asphyxia (fresh stillbirth)",
        "Fetal heart not monitored during the second stage",
    ),
    (
        5,
        "Birth asphyxia: baby not breathing at birth",
        "Ventilation started after more than a minute; bag and mask not ready",
    ),
    (
        5,
        "Early neonatal death of a preterm baby with asphyxia",
        "No kangaroo care; referral delayed by transport",
    ),
    (
        8,
        "Macerated stillbirth, cause unknown",
        "Late first antenatal visit",
    ),
];
const RECOMMENDATIONS_TEXT: [(&str, &str); 6] = [
    (
        "Keep oxytocin and misoprostol stocked at every delivery point; weekly stock check",
        "District pharmacist",
    ),
    (
        "Bag-and-mask drill for all maternity staff at the next LDHF session",
        "Maternity unit head midwife",
    ),
    (
        "Record blood pressure and urine protein at every antenatal visit; refer at 140/90",
        "Health centre in-charge",
    ),
    (
        "Agree an emergency blood supply protocol with the regional blood bank",
        "Hospital director",
    ),
    (
        "Monitor the fetal heart every 5 minutes in the second stage and chart it",
        "Labour ward midwives",
    ),
    (
        "Ambulance call line posted in every village; test it monthly",
        "Ambulance coordinator",
    ),
];

pub(super) fn rows(world: &World, options: &Options) -> Tables {
    let (start, end) = (options.start(), options.end);
    let (span, years) = options.span();
    let mut rng = options.rng(0xdea7);
    let mut t = Tables::new(&[&REVIEWS, &RECOMMENDATIONS]);
    let (mut review_id, mut recommendation_id) = (1i64, 1i64);
    for (fi, f) in world.facilities.iter().enumerate() {
        // The partner running MPDSR at the facility: hospitals' obstetricians, else the first
        // MPDSR partner working there.
        let Some(pair) = world.pairs.iter().find(|p| {
            p.facility == fi && world.partners[p.partner].spec.mpdsr && f.kind != Kind::HealthPost
        }) else {
            continue;
        };
        let partner = &world.partners[pair.partner];
        let mentor = &world.mentors[pair.mentor];
        let per_year = if f.kind == Kind::Hospital { 8.0 } else { 0.5 };
        let n = (per_year * years * (0.7 + 0.6 * rng.uniform())).round() as usize;
        for _ in 0..n {
            let died = start + chrono::Duration::days(rng.below(span as usize) as i64);
            let notified = (died + chrono::Duration::days(rng.below(4) as i64)).min(end);
            let reviewed = notified + chrono::Duration::days(7 + rng.below(29) as i64);
            let reviewed = (reviewed <= end && rng.percent(92)).then_some(reviewed);
            let maternal = rng.percent(22);
            let (group, cause, contributing) = if maternal {
                rng.pick(&MATERNAL_CAUSES)
            } else {
                rng.pick(&PERINATAL_CAUSES)
            };
            let avoidable = match rng.below(100) {
                0..55 => "yes",
                55..80 => "no",
                _ => "undetermined",
            };
            let created_at = stamp(notified, &mut rng);
            let updated_at = reviewed
                .map(|d| stamp(d, &mut rng))
                .unwrap_or(created_at.clone());
            let committee = format!("{} MPDSR committee", f.name);
            t.row(&REVIEWS)
                .int(review_id)
                .int(partner.id)
                .int(f.id)
                .text(if maternal { "maternal" } else { "perinatal" })
                .text(&day(notified))
                .text(&day(died))
                .opt_text(reviewed.map(day).as_deref())
                .opt_text(reviewed.map(|_| committee.as_str()))
                .opt_int(reviewed.map(|_| group))
                .opt_text(reviewed.map(|_| cause))
                .opt_text(reviewed.map(|_| contributing))
                .int(i64::from(reviewed.is_some() && rng.percent(40)))
                .int(i64::from(reviewed.is_some() && rng.percent(45)))
                .int(i64::from(reviewed.is_some() && rng.percent(55)))
                .opt_text(reviewed.map(|_| avoidable))
                .null()
                .int(if reviewed.is_some() { 2 } else { 1 })
                .int(mentor.id)
                .text(&created_at)
                .text(&updated_at);
            if let Some(reviewed) = reviewed {
                for position in 0..1 + rng.below(3) {
                    let (description, owner) = rng.pick(&RECOMMENDATIONS_TEXT);
                    let deadline = reviewed + chrono::Duration::days(21 + rng.below(40) as i64);
                    let roll = rng.below(100);
                    let done =
                        (reviewed + chrono::Duration::days(7 + rng.below(50) as i64)).min(end);
                    let (status, done_on) = if deadline > end {
                        if roll < 35 && done <= end {
                            ("done", Some(done))
                        } else if roll < 70 {
                            ("in_progress", None)
                        } else {
                            ("open", None)
                        }
                    } else {
                        match roll {
                            0..62 => ("done", Some(done)),
                            62..77 => ("in_progress", None),
                            77..88 => ("not_done", None),
                            _ => ("open", None),
                        }
                    };
                    t.row(&RECOMMENDATIONS)
                        .int(recommendation_id)
                        .int(review_id)
                        .int(position as i64)
                        .text(description)
                        .text(owner)
                        .text(&day(deadline))
                        .text(status)
                        .opt_text(done_on.map(day).as_deref())
                        .text(&updated_at);
                    recommendation_id += 1;
                }
            }
            review_id += 1;
        }
    }
    t
}
