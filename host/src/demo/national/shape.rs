//! The programme's shape: Rwanda's provinces and districts, the kinds of facility and who works
//! there, and the partners with the plugins they publish, share and mentor with.

/// A province: its code, its name, and its districts' codes and names.
type Province = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Rwanda's provinces and districts. Facility names are generated; every person is invented.
pub(super) const PROVINCES: [Province; 5] = [
    (
        "RW-K",
        "Kigali City",
        &[
            ("GAS", "Gasabo"),
            ("KIC", "Kicukiro"),
            ("NYG", "Nyarugenge"),
        ],
    ),
    (
        "RW-S",
        "Southern Province",
        &[
            ("GIS", "Gisagara"),
            ("HUY", "Huye"),
            ("KAM", "Kamonyi"),
            ("MUH", "Muhanga"),
            ("NYB", "Nyamagabe"),
            ("NYZ", "Nyanza"),
            ("NYR", "Nyaruguru"),
            ("RUH", "Ruhango"),
        ],
    ),
    (
        "RW-W",
        "Western Province",
        &[
            ("KAR", "Karongi"),
            ("NGO", "Ngororero"),
            ("NYA", "Nyabihu"),
            ("NYM", "Nyamasheke"),
            ("RUB", "Rubavu"),
            ("RSZ", "Rusizi"),
            ("RUT", "Rutsiro"),
        ],
    ),
    (
        "RW-N",
        "Northern Province",
        &[
            ("BUR", "Burera"),
            ("GAK", "Gakenke"),
            ("GIC", "Gicumbi"),
            ("MUS", "Musanze"),
            ("RUL", "Rulindo"),
        ],
    ),
    (
        "RW-E",
        "Eastern Province",
        &[
            ("BUG", "Bugesera"),
            ("GAT", "Gatsibo"),
            ("KAY", "Kayonza"),
            ("KIR", "Kirehe"),
            ("NGM", "Ngoma"),
            ("NYT", "Nyagatare"),
            ("RWA", "Rwamagana"),
        ],
    ),
];

pub(super) const DISTRICTS: usize = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Hospital,
    HealthCentre,
    HealthPost,
}

impl Kind {
    pub(super) fn facility_type(self) -> &'static str {
        match self {
            Kind::Hospital => "hospital",
            Kind::HealthCentre => "health_centre",
            Kind::HealthPost => "health_post",
        }
    }

    /// Mentorship visits a month relative to a health centre's: hospitals hold weekly drills
    /// for several wards, health posts see a mentor every other month or so.
    pub(super) fn visit_weight(self) -> f64 {
        match self {
            Kind::Hospital => 4.0,
            Kind::HealthCentre => 1.5,
            Kind::HealthPost => 0.5,
        }
    }

    /// Providers working there: (cadre, share in percent).
    pub(super) fn cadres(self) -> &'static [(&'static str, u32)] {
        match self {
            Kind::Hospital => &[
                ("midwife", 30),
                ("nurse", 40),
                ("doctor", 14),
                ("clinical_officer", 6),
                ("other", 10),
            ],
            Kind::HealthCentre => &[
                ("nurse", 45),
                ("midwife", 25),
                ("other", 6),
                ("community_health_worker", 10),
                ("village_health_support_group", 8),
                ("traditional_birth_attendant", 6),
            ],
            Kind::HealthPost => &[
                ("nurse", 45),
                ("midwife", 10),
                ("community_health_worker", 25),
                ("village_health_volunteer", 10),
                ("other", 10),
            ],
        }
    }
}

/// The cadres mentors observe on clinical checklists.
pub(super) fn clinical(cadre: &str) -> bool {
    matches!(
        cadre,
        "midwife" | "nurse" | "doctor" | "clinical_officer" | "other"
    )
}

/// A bundled plugin's checklist: (plugin key, checklist id).
pub(super) type ChecklistName = (&'static str, &'static str);

/// A session checklist a partner mentors with: the checklist, the session type it is used in,
/// and how often it is used relative to the partner's others.
pub(super) type Use = (ChecklistName, &'static str, u32);

const DRILL: &str = "skills_drill";
const SIMULATION: &str = "simulation";
const OBSERVATION: &str = "clinical_observation";

const LDHF_AMTSL: ChecklistName = ("ldhf", "amtsl");
const LDHF_PPH: ChecklistName = ("ldhf", "pph");
const HBB_BAG_MASK: ChecklistName = ("hbb", "bag-mask");
const HBB_OSCE_A: ChecklistName = ("hbb", "osce-a");
const HBB_OSCE_B: ChecklistName = ("hbb", "osce-b");
const EMONC_SHOULDER_DYSTOCIA: ChecklistName = ("emonc", "shoulder-dystocia");
const EMONC_CORD_PROLAPSE: ChecklistName = ("emonc", "cord-prolapse");
const EMONC_NEWBORN: ChecklistName = ("emonc", "newborn-resuscitation");
const EMONC_PPH: ChecklistName = ("emonc", "pph");
const QI_SUPERVISION: ChecklistName = ("qi", "supportive-supervision");

/// Jhpiego's quarterly facility assessment, held in each quarter's second month.
pub(super) const FACILITY_ASSESSMENT: ChecklistName = ("qi", "sbmr-mnh");
/// The training pre- and post-test every partner may use (RPA shares it).
pub(super) const TRAINING_TEST: ChecklistName = ("hbb", "knowledge-check");
/// CARE's quarterly team assessment.
pub(super) const TEAM_ASSESSMENT: ChecklistName = ("care-lead", "team-quarterly");

pub(super) struct PartnerSpec {
    pub code: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub language: &'static str,
    /// Works in district `d` when `districts[d % 3]`.
    pub districts: [bool; 3],
    pub kinds: &'static [Kind],
    /// Registers community cadres (health workers, volunteers, support groups, birth
    /// attendants) as well as facility staff.
    pub community: bool,
    /// Records the maternal and perinatal death reviews of its facilities.
    pub mpdsr: bool,
    pub uses: &'static [Use],
    pub trainings: &'static [&'static str],
}

/// A partner's table entry is built up so that each one states only what sets it apart.
const fn partner(
    code: &'static str,
    name: &'static str,
    kind: &'static str,
    language: &'static str,
) -> PartnerSpec {
    PartnerSpec {
        code,
        name,
        kind,
        language,
        districts: [false; 3],
        kinds: &[],
        community: false,
        mpdsr: false,
        uses: &[],
        trainings: &[],
    }
}

impl PartnerSpec {
    /// Whether the partner works at facilities of this kind in the district with this index.
    pub(super) fn works_at(&self, district: usize, kind: Kind) -> bool {
        self.districts[district % 3] && self.kinds.contains(&kind)
    }

    const fn covers(self, districts: [bool; 3], kinds: &'static [Kind]) -> PartnerSpec {
        PartnerSpec {
            districts,
            kinds,
            ..self
        }
    }

    const fn registers_community(self) -> PartnerSpec {
        PartnerSpec {
            community: true,
            ..self
        }
    }

    const fn reviews_deaths(self) -> PartnerSpec {
        PartnerSpec {
            mpdsr: true,
            ..self
        }
    }

    const fn mentors_with(self, uses: &'static [Use]) -> PartnerSpec {
        PartnerSpec { uses, ..self }
    }

    const fn trains(self, trainings: &'static [&'static str]) -> PartnerSpec {
        PartnerSpec { trainings, ..self }
    }
}

const H: Kind = Kind::Hospital;
const HC: Kind = Kind::HealthCentre;
const HP: Kind = Kind::HealthPost;
const ASSOCIATION: &str = "professional_association";
const NGO: &str = "ngo";

/// The partners, the plugins they publish (RAM `ldhf`, RSOG `emonc`, RPA `hbb`, JHPIEGO `qi`,
/// CARE `care-lead`) and the areas they cover; every facility is covered by at least one.
pub(super) const PARTNERS: [PartnerSpec; 8] = [
    partner("RAM", "Rwanda Association of Midwives", ASSOCIATION, "rw")
        .covers([true, true, false], &[H, HC])
        .mentors_with(&[
            (LDHF_AMTSL, DRILL, 3),
            (LDHF_PPH, DRILL, 3),
            (HBB_BAG_MASK, SIMULATION, 2),
            (HBB_OSCE_A, SIMULATION, 1),
        ])
        .trains(&[
            "Helping Babies Breathe for midwives",
            "Active management of the third stage: refresher",
        ]),
    partner(
        "RSOG",
        "Rwanda Society of Obstetricians and Gynecologists",
        ASSOCIATION,
        "fr",
    )
    .covers([true, true, true], &[H])
    .reviews_deaths()
    .mentors_with(&[
        (EMONC_SHOULDER_DYSTOCIA, SIMULATION, 2),
        (EMONC_CORD_PROLAPSE, SIMULATION, 1),
        (EMONC_NEWBORN, SIMULATION, 2),
        (EMONC_PPH, DRILL, 3),
    ])
    .trains(&["EmONC skills: obstetric emergencies"]),
    partner("RPA", "Rwanda Paediatric Association", ASSOCIATION, "en")
        .covers([false, true, true], &[H, HC])
        .mentors_with(&[
            (HBB_BAG_MASK, DRILL, 3),
            (HBB_OSCE_A, SIMULATION, 2),
            (HBB_OSCE_B, SIMULATION, 2),
        ])
        .trains(&[
            "Helping Babies Breathe: initial training",
            "Essential newborn care",
        ]),
    partner("JHPIEGO", "Jhpiego Rwanda", NGO, "en")
        .covers([true, false, true], &[HC])
        .reviews_deaths()
        .mentors_with(&[(QI_SUPERVISION, OBSERVATION, 4), (LDHF_AMTSL, DRILL, 2)])
        .trains(&["Supportive supervision for facility mentors"]),
    partner("CARE", "CARE Rwanda", NGO, "rw")
        .covers([true, false, false], &[HC, HP])
        .registers_community()
        .mentors_with(&[(HBB_BAG_MASK, DRILL, 2), (LDHF_PPH, DRILL, 1)])
        .trains(&["Helping Babies Breathe at health posts"]),
    partner(
        "RNMU",
        "Rwanda Nurses and Midwives Union",
        ASSOCIATION,
        "rw",
    )
    .covers([false, true, false], &[HC, HP])
    .registers_community()
    .mentors_with(&[
        (LDHF_AMTSL, DRILL, 2),
        (LDHF_PPH, DRILL, 2),
        (HBB_OSCE_A, SIMULATION, 1),
    ])
    .trains(&["Bleeding after birth: drills for nurses"]),
    partner("IMB", "Inshuti Mu Buzima", NGO, "en")
        .covers([false, false, true], &[H, HC, HP])
        .registers_community()
        .reviews_deaths()
        .mentors_with(&[
            (EMONC_PPH, DRILL, 2),
            (EMONC_NEWBORN, SIMULATION, 2),
            (HBB_BAG_MASK, DRILL, 1),
            (LDHF_AMTSL, DRILL, 1),
        ])
        .trains(&["Emergency obstetric and newborn care for district teams"]),
    partner("SFH", "Society for Family Health Rwanda", NGO, "fr")
        .covers([false, true, false], &[HC, HP])
        .registers_community()
        .mentors_with(&[
            (HBB_BAG_MASK, DRILL, 2),
            (HBB_OSCE_B, SIMULATION, 1),
            (LDHF_PPH, DRILL, 1),
        ])
        .trains(&["Helping Babies Breathe: refresher for new staff"]),
];

/// (publisher, plugin key, grantees).
pub(super) const GRANTS: &[(&str, &str, &[&str])] = &[
    (
        "RPA",
        "hbb",
        &["RAM", "RSOG", "JHPIEGO", "CARE", "RNMU", "IMB", "SFH"],
    ),
    ("RAM", "ldhf", &["JHPIEGO", "CARE", "RNMU", "IMB", "SFH"]),
    ("RSOG", "emonc", &["IMB"]),
];

pub(super) const LANGUAGES: [&str; 3] = ["rw", "fr", "en"];
/// Skill levels and response variants per level in the bank of filled checklists.
pub(super) const LEVELS: u8 = 12;
pub(super) const VARIANTS: usize = 6;
/// Facilities one mentor covers at most.
pub(super) const PER_MENTOR: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_facility_kind_in_every_district_pattern_has_a_partner() {
        for d in 0..3 {
            for kind in [Kind::Hospital, Kind::HealthCentre, Kind::HealthPost] {
                assert!(
                    PARTNERS.iter().any(|p| p.works_at(d, kind)),
                    "{kind:?} in district pattern {d}"
                );
            }
        }
        for p in &PARTNERS {
            assert!(p.districts.iter().any(|d| *d), "{} works nowhere", p.code);
            assert!(!p.uses.is_empty(), "{} mentors with nothing", p.code);
            assert!(!p.trainings.is_empty(), "{} trains nobody", p.code);
        }
    }
}
