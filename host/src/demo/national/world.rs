//! The world the history happens in: organisations, org units, accounts, mentor assignments
//! and providers, written as reference data, and who may mentor whom where.

use std::collections::HashMap;

use anyhow::Context;
use serde_json::json;

use super::bulk::{self, ASSIGNMENTS, AUDIT, PROVIDERS, Tables};
use super::shape::{
    DISTRICTS, Kind, LANGUAGES, LEVELS, PARTNERS, PER_MENTOR, PROVINCES, PartnerSpec, clinical,
};
use super::{LOADING, MARKER_ORGANISATION, Options, Rng, day, pm_name};
use crate::db::{Db, Tx};
use crate::demo::{self, EMAIL_DOMAIN};

pub(super) struct Facility {
    pub id: i64,
    pub district: usize,
    pub kind: Kind,
    pub name: String,
}

pub(super) struct Provider {
    pub id: i64,
    pub partner: usize,
    pub facility: usize,
    pub cadre: &'static str,
    pub active: bool,
    /// Skill before any mentoring, 0–1.
    talent: f64,
    /// Observations so far: skill grows with them.
    pub observed: u32,
}

impl Provider {
    pub(super) fn level(&self, rng: &mut Rng) -> u8 {
        let learned = 1.0 - (-f64::from(self.observed) / 7.0).exp();
        let skill = self.talent + (0.96 - self.talent) * learned + 0.16 * (rng.uniform() - 0.5);
        (skill.clamp(0.0, 1.0) * f64::from(LEVELS)).round() as u8
    }
}

pub(super) struct Mentor {
    pub id: i64,
    partner: usize,
    pub name: String,
    pub language: &'static str,
}

pub(super) struct Partner {
    pub spec: &'static PartnerSpec,
    pub id: i64,
    pub admin: i64,
    /// (checklist index, session type, weight).
    pub uses: Vec<(usize, &'static str, u32)>,
}

/// A mentor at one of their facilities, and the partner's providers they may mentor there.
pub(super) struct Pair {
    pub mentor: usize,
    pub facility: usize,
    pub partner: usize,
    pub weight: f64,
    pub mentees: Vec<usize>,
}

pub(super) struct World {
    pub partners: Vec<Partner>,
    /// District names; facilities refer to their district by its index here.
    pub districts: Vec<&'static str>,
    pub facilities: Vec<Facility>,
    pub providers: Vec<Provider>,
    pub mentors: Vec<Mentor>,
    pub pairs: Vec<Pair>,
    /// Indicator ids by catalogue code, for QI projects.
    pub indicators: HashMap<String, i64>,
    /// The next ids of tables whose ids are allocated here.
    pub next_observation: i64,
    pub next_action: i64,
}

const SYLLABLES_START: [&str; 16] = [
    "Ka", "Ki", "Ru", "Nya", "Mu", "Gi", "Bu", "Ma", "Rwa", "Nyi", "Ga", "Ki", "Mwi", "Cya", "Ngo",
    "Shya",
];
const SYLLABLES_MIDDLE: [&str; 12] = [
    "ba", "ga", "ma", "ra", "nzi", "ko", "ye", "bi", "ru", "shi", "nga", "mba",
];
const SYLLABLES_END: [&str; 12] = [
    "ngo", "ro", "mba", "ye", "ra", "zi", "ka", "bo", "nda", "mo", "nge", "ti",
];

pub(super) fn place_name(rng: &mut Rng) -> String {
    let mut s = String::from(rng.pick(&SYLLABLES_START));
    if rng.percent(60) {
        s.push_str(rng.pick(&SYLLABLES_MIDDLE));
    }
    s.push_str(rng.pick(&SYLLABLES_END));
    s
}

/// The audit entry of a record created here: the same as the application writes.
fn audited(
    t: &mut Tables,
    now: &str,
    organisation: i64,
    entity: &str,
    entity_id: &str,
    after: &serde_json::Value,
) {
    t.row(&AUDIT)
        .text(now)
        .null()
        .int(organisation)
        .text("create")
        .text(entity)
        .text(entity_id)
        .null()
        .text(&after.to_string());
}

/// Organisations, org units, accounts, assignments and providers, in one transaction.
pub(super) async fn reference_data(
    db: &Db,
    options: &Options,
    hash: &str,
) -> anyhow::Result<World> {
    let now = crate::time::now();
    let created = format!("{}T08:00:00.000Z", day(options.start()));
    let mut rng = options.rng(0);
    let mut tx = db.begin().await.context("starting the reference data")?;

    // Organisations: project management (the marker, named as loading until the end), the
    // ministry, the partners.
    let mut org_ids = Vec::new();
    let loading = format!("{}{LOADING}", pm_name(options));
    let others = [
        (MARKER_ORGANISATION, loading.as_str(), "project_management"),
        ("MOH-RW", "Ministry of Health Rwanda", "ministry"),
    ];
    for (code, name, kind) in others
        .into_iter()
        .chain(PARTNERS.iter().map(|p| (p.code, p.name, p.kind)))
    {
        let id = demo::insert_organisation(&mut tx, &now, code, name, kind, "Rwanda").await?;
        org_ids.push(id);
    }
    for (local, role, name, language) in [
        ("admin", "admin", "Claudine Mukamana", "en"),
        ("manager", "manager", "Jean Paul Habimana", "fr"),
    ] {
        let email = format!("{local}@{EMAIL_DOMAIN}");
        demo::insert_user(
            &mut tx, &now, hash, org_ids[0], &email, name, role, language,
        )
        .await?;
    }

    let (districts, facilities) = hierarchy(&mut tx, &mut rng, options).await?;
    let (partners, mentors, assignments) = staff(
        &mut tx,
        &mut rng,
        (&now, hash),
        &org_ids[2..],
        &districts,
        &facilities,
    )
    .await?;
    let mut t = Tables::new(&[&ASSIGNMENTS, &PROVIDERS, &AUDIT]);
    for (m, f) in &assignments {
        let (mentor, facility) = (&mentors[*m], &facilities[*f]);
        t.row(&ASSIGNMENTS)
            .int(mentor.id)
            .int(facility.id)
            .text(&created);
        let after = json!({"mentor_id": mentor.id, "facility_id": facility.id});
        let entity_id = format!("{}:{}", mentor.id, facility.id);
        let organisation = partners[mentor.partner].id;
        audited(
            &mut t,
            &now,
            organisation,
            "mentor_assignment",
            &entity_id,
            &after,
        );
    }
    let providers = providers(&mut t, &mut rng, (&now, &created), &partners, &facilities);
    bulk::execute(&mut tx, db.kind(), t.take()?).await?;
    tx.commit().await.context("committing the reference data")?;

    // Who a mentor may see at each facility: the partner's active facility staff.
    let mut by_place: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
    for (i, p) in providers.iter().enumerate() {
        if p.active && clinical(p.cadre) {
            by_place.entry((p.partner, p.facility)).or_default().push(i);
        }
    }
    let mut pairs = Vec::new();
    for (m, f) in assignments {
        let partner = mentors[m].partner;
        let mentees = by_place.remove(&(partner, f)).unwrap_or_default();
        if mentees.is_empty() {
            continue;
        }
        pairs.push(Pair {
            mentor: m,
            facility: f,
            partner,
            weight: facilities[f].kind.visit_weight() * (0.6 + 0.8 * rng.uniform()),
            mentees,
        });
    }
    let indicators: Vec<(String, i64)> = sqlx::query_as("SELECT code, id FROM indicators")
        .fetch_all(db.pool())
        .await
        .context("reading the indicator catalogue")?;
    Ok(World {
        partners,
        districts,
        facilities,
        providers,
        mentors,
        pairs,
        indicators: indicators.into_iter().collect(),
        next_observation: 1,
        next_action: 1,
    })
}

/// The country, its provinces, the programme's districts and their facilities.
async fn hierarchy(
    tx: &mut Tx,
    rng: &mut Rng,
    options: &Options,
) -> anyhow::Result<(Vec<&'static str>, Vec<Facility>)> {
    let country = demo::unit(tx, None, "country", None, "RW".into(), "Rwanda".into()).await?;
    let mut provinces = Vec::new();
    for (code, name, _) in PROVINCES {
        let province = demo::unit(
            tx,
            Some(&country),
            "province",
            None,
            code.into(),
            name.into(),
        );
        provinces.push(province.await?);
    }
    // Districts: round-robin over the provinces, so a smaller programme still spans them.
    let mut order = Vec::new();
    for i in 0.. {
        let before = order.len();
        for (p, (_, _, districts)) in PROVINCES.iter().enumerate() {
            if let Some(d) = districts.get(i) {
                order.push((p, *d));
            }
        }
        if order.len() == before {
            break;
        }
    }
    let scale = options.scale();
    let district_count = ((DISTRICTS as f64 * scale).round() as usize).clamp(3, DISTRICTS);
    // Below 10 % the districts keep only part of their facilities.
    let density = (DISTRICTS as f64 * scale / district_count as f64).min(1.0);
    let mut districts = Vec::new();
    let mut facilities = Vec::new();
    for (p, (key, name)) in order.into_iter().take(district_count) {
        let code = format!("RW-{key}");
        let d = demo::unit(tx, Some(&provinces[p]), "district", None, code, name.into()).await?;
        districts.push(name);
        let hospitals = 1 + rng.below(2) + usize::from(rng.below(4) == 0);
        let centres = 14 + rng.below(7);
        let posts = 26 + rng.below(13);
        for (kind, full) in [
            (Kind::Hospital, hospitals),
            (Kind::HealthCentre, centres),
            (Kind::HealthPost, posts),
        ] {
            let n = ((full as f64 * density).round() as usize).max(1);
            let mut used: Vec<String> = Vec::new();
            for i in 0..n {
                let place = if kind == Kind::Hospital && i == 0 {
                    name.to_string()
                } else {
                    let mut p = place_name(rng);
                    while used.contains(&p) {
                        p = place_name(rng);
                    }
                    p
                };
                used.push(place.clone());
                let (label, abbrev) = match kind {
                    Kind::Hospital if i == 0 => (format!("{place} District Hospital"), "H"),
                    Kind::Hospital => (format!("{place} Hospital"), "H"),
                    Kind::HealthCentre => (format!("{place} Health Centre"), "HC"),
                    Kind::HealthPost => (format!("{place} Health Post"), "HP"),
                };
                let f = demo::unit(
                    tx,
                    Some(&d),
                    "facility",
                    Some(kind.facility_type()),
                    format!("RW-{key}-{abbrev}{:02}", i + 1),
                    label.clone(),
                )
                .await?;
                facilities.push(Facility {
                    id: f.id,
                    district: districts.len() - 1,
                    kind,
                    name: label,
                });
            }
        }
    }
    Ok((districts, facilities))
}

/// Each partner's org admin, and mentors for each district it covers, each mentor at up to
/// PER_MENTOR of the partner's facilities there: the partners, the mentors and the (mentor,
/// facility) assignments.
#[allow(clippy::type_complexity)]
async fn staff(
    tx: &mut Tx,
    rng: &mut Rng,
    (now, hash): (&str, &str),
    org_ids: &[i64],
    districts: &[&'static str],
    facilities: &[Facility],
) -> anyhow::Result<(Vec<Partner>, Vec<Mentor>, Vec<(usize, usize)>)> {
    let mut partners = Vec::new();
    let mut mentors: Vec<Mentor> = Vec::new();
    let mut assignments: Vec<(usize, usize)> = Vec::new();
    for (n, (spec, id)) in PARTNERS.iter().zip(org_ids.iter().copied()).enumerate() {
        let lower = spec.code.to_lowercase();
        let email = format!("admin.{lower}@{EMAIL_DOMAIN}");
        let female = rng.percent(60);
        let name = demo::provider_name(rng, "RW", female);
        let admin =
            demo::insert_user(tx, now, hash, id, &email, &name, "org_admin", spec.language).await?;
        for district in 0..districts.len() {
            let covered: Vec<usize> = facilities
                .iter()
                .enumerate()
                .filter(|(_, f)| f.district == district && spec.works_at(district, f.kind))
                .map(|(i, _)| i)
                .collect();
            for group in covered.chunks(PER_MENTOR) {
                let number = mentors.iter().filter(|m| m.partner == n).count() + 1;
                let email = format!("mentor{number}.{lower}@{EMAIL_DOMAIN}");
                let female = rng.percent(65);
                let name = demo::provider_name(rng, "RW", female);
                let language = if rng.percent(70) {
                    spec.language
                } else {
                    rng.pick(&LANGUAGES)
                };
                let mentor_id =
                    demo::insert_user(tx, now, hash, id, &email, &name, "mentor", language).await?;
                for f in group {
                    assignments.push((mentors.len(), *f));
                }
                mentors.push(Mentor {
                    id: mentor_id,
                    partner: n,
                    name,
                    language,
                });
            }
        }
        partners.push(Partner {
            spec,
            id,
            admin,
            uses: Vec::new(),
        });
    }
    Ok((partners, mentors, assignments))
}

/// Each facility's staff, registered by the partners working there (community cadres by
/// community partners, doctors preferably by the obstetricians' society), with their audit
/// entries.
fn providers(
    t: &mut Tables,
    rng: &mut Rng,
    (now, created): (&str, &str),
    partners: &[Partner],
    facilities: &[Facility],
) -> Vec<Provider> {
    let mut providers = Vec::new();
    let mut next_id: i64 = 1;
    let mut codes = vec![0usize; partners.len()];
    for (fi, f) in facilities.iter().enumerate() {
        let here: Vec<usize> = PARTNERS
            .iter()
            .enumerate()
            .filter(|(_, p)| p.works_at(f.district, f.kind))
            .map(|(i, _)| i)
            .collect();
        if here.is_empty() {
            continue;
        }
        let staff = match f.kind {
            Kind::Hospital => 90 + rng.below(51),
            Kind::HealthCentre => 22 + rng.below(13),
            Kind::HealthPost => 7 + rng.below(7),
        };
        for _ in 0..staff {
            let cadre = f.kind.cadres()[rng.weighted(f.kind.cadres(), |c| c.1)].0;
            let community: Vec<usize> = here
                .iter()
                .copied()
                .filter(|p| PARTNERS[*p].community)
                .collect();
            let partner = if !clinical(cadre) && !community.is_empty() {
                community[rng.below(community.len())]
            } else if cadre == "doctor" && here.contains(&1) && rng.percent(60) {
                1
            } else {
                here[rng.below(here.len())]
            };
            codes[partner] += 1;
            let female = rng.percent(demo::percent_female(cadre));
            let sex = demo::sex(rng, female, 3);
            let name = demo::provider_name(rng, "RW", female);
            let phone = rng.percent(75).then(|| demo::phone(rng, "RW"));
            let active = !rng.percent(3);
            let p = &partners[partner];
            let code = format!("{}-{:05}", p.spec.code, codes[partner]);
            t.row(&PROVIDERS)
                .int(next_id)
                .int(p.id)
                .int(f.id)
                .text(&code)
                .text(&name)
                .text(cadre)
                .opt_text(sex)
                .opt_text(phone.as_deref())
                .int(i64::from(active))
                .text(created)
                .text(created);
            // The same snapshot as `providers::insert` writes.
            let snapshot = json!({
                "organisation_id": p.id, "facility_id": f.id, "code": code, "name": name,
                "cadre": cadre, "sex": sex, "phone": phone, "active": active,
            });
            audited(t, now, p.id, "provider", &next_id.to_string(), &snapshot);
            providers.push(Provider {
                id: next_id,
                partner,
                facility: fi,
                cadre,
                active,
                talent: 0.30 + 0.30 * rng.uniform(),
                observed: 0,
            });
            next_id += 1;
        }
    }
    providers
}
