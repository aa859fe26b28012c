//! The demo programme's history: partners sharing their plugins, and six months of LDHF
//! sessions logged by every mentor at their facilities, scored by the real plugins. Skills
//! improve from month to month, as they do in an LDHF programme, so the provider pages show
//! real progress. Session ids are derived from what they describe, so loading the demo again
//! finds the same sessions instead of adding more.

use chrono::{Duration, Utc};
use sha2::{Digest, Sha256};

use super::Rng;
use crate::authz::{Actor, Role};
use crate::db::Db;
use crate::domain::scoring::{self, ChecklistInput};
use crate::domain::sessions::{self, Created, ObservationInput, SessionInput};
use crate::domain::trainings::{self, ParticipantInput, TrainingInput};
use crate::plugins::Registry;
use crate::plugins::grants::{self, GrantInput};
use crate::plugins::model::{Answer, Checklist, ChecklistKind, Response, ResponseKind};
use crate::plugins::registry::ChecklistRef;

/// (publisher, plugin key, organisations it lets use the plugin).
const GRANTS: &[(&str, &str, &[&str])] = &[
    ("RPA", "hbb", &["RAM", "JHPIEGO", "SHARE", "CARE"]),
    ("RSOG", "emonc", &["RAM", "JHPIEGO"]),
    ("RAM", "ldhf", &["JHPIEGO", "SHARE", "CARE", "RSOG"]),
];

const MONTHS: i64 = 6;

/// What the demo's history holds.
#[derive(Debug, Default)]
pub struct Activity {
    pub grants: usize,
    pub sessions: usize,
    pub observations: usize,
    pub trainings: usize,
}

/// Each partner's in-service trainings: (months ago, days, title). Knowledge rises from about
/// 74 % before to about 87 % after, as in published LDHF results.
const TRAININGS: &[(i64, i64, &str)] = &[
    (5, 3, "Helping Babies Breathe: initial training"),
    (2, 2, "Helping Babies Breathe: refresher for new staff"),
];
const PARTICIPANTS: usize = 12;

pub async fn load(db: &Db, registry: &Registry) -> anyhow::Result<Activity> {
    let mut activity = Activity::default();
    for (publisher, key, grantees) in GRANTS {
        let version: Option<i64> = sqlx::query_scalar(
            "SELECT v.id FROM plugin_versions v JOIN organisations o ON o.id = v.organisation_id
             WHERE o.code = $1 AND v.plugin_key = $2 ORDER BY v.id LIMIT 1",
        )
        .bind(publisher)
        .bind(key)
        .fetch_optional(db.pool())
        .await?;
        let Some(version) = version else { continue };
        for grantee in *grantees {
            let org: Option<i64> =
                sqlx::query_scalar("SELECT id FROM organisations WHERE code = $1")
                    .bind(grantee)
                    .fetch_optional(db.pool())
                    .await?;
            if let Some(org) = org {
                let input = GrantInput {
                    organisation_id: Some(org),
                };
                let (_, created) = grants::add(db, None, version, &input)
                    .await
                    .map_err(|e| anyhow::anyhow!("granting {key} to {grantee}: {e}"))?;
                activity.grants += usize::from(created);
            }
        }
    }

    let mentors: Vec<(i64, i64, String, String, String)> = sqlx::query_as(
        "SELECT id, organisation_id, email, display_name, language FROM users
         WHERE role = 'mentor' AND active = 1 ORDER BY id",
    )
    .fetch_all(db.pool())
    .await?;
    let today = Utc::now().date_naive();
    for (mentor_id, org, email, name, language) in mentors {
        let usable: Vec<ChecklistRef> = registry
            .checklists(Some(org))
            .await?
            .into_iter()
            .filter(|c| {
                matches!(
                    c.checklist.kind,
                    ChecklistKind::MentorshipSkills | ChecklistKind::ClinicalObservation
                )
            })
            .collect();
        if usable.is_empty() {
            continue;
        }
        let actor = Actor {
            user_id: mentor_id,
            organisation_id: org,
            role: Role::Mentor,
            email,
            display_name: name,
            language,
        };
        let facilities: Vec<i64> = sqlx::query_scalar(
            "SELECT facility_id FROM mentor_assignments WHERE mentor_id = $1 ORDER BY facility_id",
        )
        .bind(mentor_id)
        .fetch_all(db.pool())
        .await?;
        for facility in facilities {
            let providers: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT id, id % 7 FROM providers
                 WHERE organisation_id = $1 AND facility_id = $2 AND active = 1 ORDER BY id",
            )
            .bind(org)
            .bind(facility)
            .fetch_all(db.pool())
            .await?;
            if providers.is_empty() {
                continue;
            }
            let mut rng = Rng::new((mentor_id as u64) << 20 ^ facility as u64);
            for month in (0..MONTHS).rev() {
                // Roughly monthly, on a working day of the month, a few days' jitter.
                let date = today - Duration::days(month * 30 + rng.below(12) as i64 + 1);
                let checklist = usable[rng.below(usable.len())].clone();
                let mut mentees = providers.clone();
                rng.shuffle(&mut mentees);
                mentees.truncate(1 + rng.below(3));
                let progress = (MONTHS - month) as f64 / MONTHS as f64;
                let observations = mentees
                    .iter()
                    .map(|(provider, talent)| {
                        let skill = 0.45 + 0.08 * *talent as f64 / 6.0 + 0.45 * progress;
                        ObservationInput {
                            provider_id: Some(*provider),
                            plugin_version_id: Some(checklist.plugin_version_id),
                            checklist_id: Some(checklist.checklist.id.clone()),
                            responses: answers(&checklist.checklist, skill, &mut rng),
                        }
                    })
                    .collect::<Vec<_>>();
                let date = date.format("%Y-%m-%d").to_string();
                let input = SessionInput {
                    id: Some(stable_uuid(&format!("{mentor_id}/{facility}/{date}"))),
                    facility_id: Some(facility),
                    date: Some(date),
                    session_type: Some(
                        ["skills_drill", "simulation", "clinical_observation"][rng.below(3)]
                            .to_string(),
                    ),
                    topic: Some(checklist.checklist.title.default.clone()),
                    duration_minutes: Some([30, 45, 60, 90][rng.below(4)]),
                    mentee_ids: mentees.iter().map(|(p, _)| *p).collect(),
                    notes: Some(
                        "Practised on the simulator, then discussed the steps missed.".into(),
                    ),
                    action_points: Some("Repeat the drill at the next visit.".into()),
                    observations,
                };
                match sessions::create(db, registry, &actor, &input).await {
                    Ok(Created::New(s)) => {
                        activity.sessions += 1;
                        activity.observations += s.observation_list.len();
                    }
                    Ok(Created::Existing(_)) => {}
                    Err(e) => anyhow::bail!("logging a demo session: {e} ({e:?})"),
                }
            }
        }
    }
    activity.trainings = trainings(db, registry).await?;
    Ok(activity)
}

/// Trainings with pre- and post-tests for every partner that may use a training-test
/// checklist (the paediatric association's knowledge check, which it shares).
async fn trainings(db: &Db, registry: &Registry) -> anyhow::Result<usize> {
    let organisations: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, code FROM organisations ORDER BY id")
            .fetch_all(db.pool())
            .await?;
    let today = Utc::now().date_naive();
    let mut added = 0;
    for (org, code) in organisations {
        let Some(test) = registry
            .checklists(Some(org))
            .await?
            .into_iter()
            .find(|c| c.checklist.kind == ChecklistKind::TrainingTest)
        else {
            continue;
        };
        // The training is held at the first facility of the partner's first mentor, for
        // providers the partner works with there and at nearby facilities.
        let place: Option<(i64, i64)> = sqlx::query_as(
            "SELECT u.id, a.facility_id FROM users u JOIN mentor_assignments a ON a.mentor_id = u.id
             WHERE u.organisation_id = $1 AND u.role = 'mentor' AND u.active = 1
               AND EXISTS (SELECT 1 FROM providers p WHERE p.facility_id = a.facility_id
                             AND p.organisation_id = $1 AND p.active = 1)
             ORDER BY u.id, a.facility_id LIMIT 1",
        )
        .bind(org)
        .fetch_optional(db.pool())
        .await?;
        let Some((facilitator, facility)) = place else {
            continue;
        };
        let providers: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM providers WHERE organisation_id = $1 AND active = 1 ORDER BY id",
        )
        .bind(org)
        .fetch_all(db.pool())
        .await?;
        let facilitator_name: String =
            sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
                .bind(facilitator)
                .fetch_one(db.pool())
                .await?;
        for (n, (months_ago, days, title)) in TRAININGS.iter().enumerate() {
            let mut rng = Rng::new((org as u64) << 16 ^ n as u64);
            let start = today - Duration::days(months_ago * 30 + rng.below(10) as i64);
            let end = start + Duration::days(days - 1);
            let dates: Vec<String> = (0..*days)
                .map(|d| (start + Duration::days(d)).format("%Y-%m-%d").to_string())
                .collect();
            let mut people = providers.clone();
            rng.shuffle(&mut people);
            people.truncate(PARTICIPANTS);
            let participants = people
                .iter()
                .map(|provider| {
                    let before = 0.62 + 0.24 * rng.below(100) as f64 / 100.0;
                    let after = (before + 0.08 + 0.10 * rng.below(100) as f64 / 100.0).min(0.99);
                    let test = |skill: f64, rng: &mut Rng| ChecklistInput {
                        plugin_version_id: Some(test.plugin_version_id),
                        checklist_id: Some(test.checklist.id.clone()),
                        responses: answers(&test.checklist, skill, rng),
                    };
                    let mut attendance = dates.clone();
                    // One participant in ten misses a day.
                    if attendance.len() > 1 && rng.below(10) == 0 {
                        attendance.pop();
                    }
                    ParticipantInput {
                        provider_id: Some(*provider),
                        attendance,
                        pre_test: Some(test(before, &mut rng)),
                        post_test: Some(test(after, &mut rng)),
                    }
                })
                .collect();
            let input = TrainingInput {
                id: Some(stable_uuid(&format!("training/{code}/{n}"))),
                title: Some((*title).to_string()),
                start_date: Some(start.format("%Y-%m-%d").to_string()),
                end_date: Some(end.format("%Y-%m-%d").to_string()),
                venue: None,
                facility_id: Some(facility),
                facilitators: Some(facilitator_name.clone()),
                participants,
            };
            match trainings::create_as(db, registry, None, org, facilitator, &input).await {
                Ok(trainings::Created::New(_)) => added += 1,
                Ok(trainings::Created::Existing(_)) => {}
                Err(e) => anyhow::bail!("recording a demo training: {e} ({e:?})"),
            }
        }
    }
    Ok(added)
}

/// Answers for every item, each done (or yes, or high) with probability `skill`.
pub(super) fn answers(c: &Checklist, skill: f64, rng: &mut Rng) -> Vec<Response> {
    let mut out = Vec::new();
    for item in c.items() {
        let good = rng.below(1000) < (skill.clamp(0.0, 1.0) * 1000.0) as usize;
        let answer = match &item.kind {
            ResponseKind::YesNo => Some(if good { Answer::Yes } else { Answer::No }),
            ResponseKind::YesNoNa => Some(if good { Answer::Yes } else { Answer::No }),
            ResponseKind::DonePartlyNotDone => Some(if good {
                Answer::Done
            } else if rng.percent(50) {
                Answer::Partly
            } else {
                Answer::NotDone
            }),
            ResponseKind::IntegerScore { min, max } => Some(Answer::Integer(if good {
                *max
            } else {
                *min + (*max - *min) / 2
            })),
            ResponseKind::Number { min, max } => {
                let low = min.unwrap_or(0.0);
                let high = max.unwrap_or(low + 10.0);
                Some(Answer::Number(((low + high) / 4.0).round()))
            }
            ResponseKind::SingleChoice { options } => options
                .get(rng.below(options.len().max(1)))
                .map(|o| Answer::Choice(o.value.clone())),
            ResponseKind::MultipleChoice { options } => options
                .first()
                .map(|o| Answer::Choices(vec![o.value.clone()])),
            ResponseKind::Text { .. } => item
                .required
                .then(|| Answer::Text("Observed during the drill.".into())),
        };
        if let Some(answer) = answer {
            out.push(Response {
                item_id: item.id.clone(),
                answer,
            });
        }
    }
    out
}

/// A UUID (version 4 layout) derived from `key`: the same demo session always has the same id.
fn stable_uuid(key: &str) -> String {
    let digest = Sha256::digest(format!("mentortrack-demo-session/{key}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    scoring::uuid_v4(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_ids_are_uuids_and_stable() {
        let a = stable_uuid("1/2/2026-01-01");
        assert_eq!(a, stable_uuid("1/2/2026-01-01"));
        assert_ne!(a, stable_uuid("1/2/2026-01-02"));
        let mut v = crate::error::Validator::new();
        assert_eq!(
            crate::domain::scoring::parse_uuid(&mut v, "id", Some(&a)),
            a
        );
        assert!(v.finish().is_ok());
    }
}
