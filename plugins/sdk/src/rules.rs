//! The scoring rules partner organisations publish, as small composable pieces.
//!
//! The usual shape of a rule: turn each answer into a [`Credit`] with a
//! [`Coding`], add credits up into a [`Tally`] (all items, key items, one
//! section...), then decide with [`pass_mark`], [`meets`], [`Competency`] or
//! [`Standards`].
//!
//! Conventions shared by every helper here:
//! - `not-applicable` answers and unanswered optional items are left out of
//!   both the achieved and the applicable side;
//! - items of weight 0 and answers a coding does not score (numbers, choices,
//!   text) are left out the same way;
//! - percentages run from 0 to 100 and are `None` when nothing was applicable.

use crate::{
    Answer, Answers, Importance, Item, ItemGroup, Outcome, ResponseKind, Section, SectionScore,
    Signal,
};

/// Slack for comparing percentages with thresholds, in percentage points.
///
/// Percentages come from floating-point sums (weights, half credits), so a
/// result that is exactly 89.9 on paper can land at 89.89999999999999. Nobody
/// should fail by 1e-14 of a point; nobody can pass by 1e-9 of one either.
pub const EPSILON: f64 = 1e-9;

/// `achieved / applicable` as a percentage, `None` when nothing was applicable.
///
/// Multiplies before dividing: for whole counts that gives the nearest double
/// to the exact value (9/10 → 90.0, 899/1000 → 89.9), where dividing first
/// would add a second rounding.
pub fn percentage(achieved: f64, applicable: f64) -> Option<f64> {
    (applicable > 0.0).then(|| achieved * 100.0 / applicable)
}

/// True when `value` reaches `threshold`, allowing for [`EPSILON`].
pub fn meets(value: f64, threshold: f64) -> bool {
    value >= threshold - EPSILON
}

/// The number of items needed to reach `percent` of `item_count`, rounded to
/// the nearest whole item with halves rounded up: the "85 % pass mark rounded
/// to whole items" of EmONC rubrics (20 → 17, 18 → 15, 22 → 19, 21 → 18).
///
/// Integer arithmetic on purpose: 0.85 has no exact binary form, so
/// `(0.85 * n).round()` can land on the wrong side of a half.
pub fn pass_mark(item_count: u32, percent: u32) -> u32 {
    let exact_hundredths = u64::from(item_count) * u64::from(percent);
    // Cannot overflow back: the result is at most item_count * percent / 100.
    u32::try_from((exact_hundredths + 50) / 100).unwrap_or(u32::MAX)
}

/// Dashboard colour of a percentage: 80 and above green, 60 and above amber,
/// below 60 red, neutral when there is nothing to score.
pub fn signal_for(percentage: Option<f64>) -> Signal {
    match percentage {
        None => Signal::Neutral,
        Some(p) if meets(p, 80.0) => Signal::Green,
        Some(p) if meets(p, 60.0) => Signal::Amber,
        Some(_) => Signal::Red,
    }
}

/// Recognised when `percentage` reaches `target` (SBM-R recognition).
pub fn recognition(percentage: Option<f64>, target: f64) -> Outcome {
    match percentage {
        None => Outcome::not_scored(),
        Some(p) if meets(p, target) => Outcome::recognised(),
        Some(_) => Outcome::not_recognised(),
    }
}

/// How an answer turns into credit between 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// All or nothing: yes/done = 1; no, not done and partly = 0; an integer
    /// score earns 1 only at its maximum. For "steps done" counts.
    Binary,
    /// Partial credit: yes/done = 1, partly = 0.5, no/not done = 0; an integer
    /// score earns its share of its range.
    Partial,
    /// For items phrased so that "yes" is the wrong practice: yes/done = 0,
    /// partly = 0.5, no/not done = 1; an integer score is reversed too.
    Reversed,
    /// Asked but never scored.
    Unscored,
}

/// Chooses a [`Coding`] per item. A plain [`Coding`] applies to every item;
/// a closure `|item: &Item| -> Coding` can single some out.
pub trait CodingRule {
    fn coding_for(&self, item: &Item) -> Coding;
}

impl CodingRule for Coding {
    fn coding_for(&self, _item: &Item) -> Coding {
        *self
    }
}

impl<F: Fn(&Item) -> Coding> CodingRule for F {
    fn coding_for(&self, item: &Item) -> Coding {
        self(item)
    }
}

/// What one answer is worth under a coding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Credit {
    /// Counts: earned this share (0 to 1) of the item.
    Scored(f64),
    /// Answered not applicable: left out.
    NotApplicable,
    /// Optional item left unanswered: left out.
    Unanswered,
    /// Weight 0, [`Coding::Unscored`], or an answer the coding cannot score
    /// (number, choice, text): left out.
    Unscored,
}

/// What an item's answer is worth under `coding`.
pub fn credit(item: &Item, answer: Option<&Answer>, coding: Coding) -> Credit {
    if coding == Coding::Unscored || item.weight <= 0.0 || !item.weight.is_finite() {
        return Credit::Unscored;
    }
    let Some(answer) = answer else {
        return Credit::Unanswered;
    };
    let reversed = coding == Coding::Reversed;
    let value = match answer {
        Answer::NotApplicable => return Credit::NotApplicable,
        Answer::Yes | Answer::Done => 1.0,
        Answer::No | Answer::NotDone => 0.0,
        Answer::Partly if coding == Coding::Binary => 0.0,
        // Half credit reads the same way round whichever way the item is phrased.
        Answer::Partly => return Credit::Scored(0.5),
        Answer::Integer(v) => match &item.kind {
            ResponseKind::IntegerScore(range) if range.max > range.min => {
                if coding == Coding::Binary {
                    if *v >= range.max { 1.0 } else { 0.0 }
                } else {
                    // In f64 so that extreme ranges cannot overflow.
                    let span = range.max as f64 - range.min as f64;
                    ((*v as f64 - range.min as f64) / span).clamp(0.0, 1.0)
                }
            }
            _ => return Credit::Unscored,
        },
        Answer::Number(_) | Answer::Choice(_) | Answer::Choices(_) | Answer::Text(_) => {
            return Credit::Unscored;
        }
    };
    Credit::Scored(if reversed { 1.0 - value } else { value })
}

/// Common item filters for [`Answers::tally`].
pub mod select {
    use crate::{Importance, Item};

    pub fn all(_item: &Item) -> bool {
        true
    }

    pub fn key(item: &Item) -> bool {
        item.importance == Importance::Key
    }

    pub fn critical(item: &Item) -> bool {
        item.importance == Importance::Critical
    }

    /// Everything that is not critical (normal and key items).
    pub fn non_critical(item: &Item) -> bool {
        item.importance != Importance::Critical
    }
}

/// Credit added up over some items.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally<'a> {
    /// Credit earned (a count of items done, under [`Coding::Binary`]).
    pub achieved: f64,
    /// Credit that could have been earned (a count of applicable items,
    /// unless weighted).
    pub applicable: f64,
    /// Applicable items that did not earn full credit, in checklist order:
    /// the steps to talk through with the mentee.
    pub missed: Vec<&'a Item>,
}

impl<'a> Tally<'a> {
    /// Adds one item's credit, counted `weight` times.
    pub fn add(&mut self, item: &'a Item, credit: Credit, weight: f64) {
        if let Credit::Scored(share) = credit {
            self.achieved += share * weight;
            self.applicable += weight;
            if share < 1.0 - EPSILON {
                self.missed.push(item);
            }
        }
    }

    /// Adds another tally (e.g. an area's standards into the facility total).
    pub fn absorb(&mut self, other: Tally<'a>) {
        self.achieved += other.achieved;
        self.applicable += other.applicable;
        self.missed.extend(other.missed);
    }

    pub fn percentage(&self) -> Option<f64> {
        percentage(self.achieved, self.applicable)
    }

    /// True when at least `count` was achieved ("at least 17 steps done").
    pub fn at_least(&self, count: u32) -> bool {
        meets(self.achieved, f64::from(count))
    }

    /// True when nothing applicable was missed (and so also when nothing was
    /// applicable: "all key steps done" holds when there are none).
    pub fn all_achieved(&self) -> bool {
        self.missed.is_empty()
    }

    /// Achieved credit as a whole count, for metrics; exact under
    /// [`Coding::Binary`] and unweighted tallies.
    pub fn achieved_count(&self) -> u32 {
        rounded_count(self.achieved)
    }

    pub fn applicable_count(&self) -> u32 {
        rounded_count(self.applicable)
    }

    /// This tally as a section score, without an outcome.
    pub fn section_score(&self, section_id: &str) -> SectionScore {
        SectionScore {
            section_id: section_id.to_owned(),
            percentage: self.percentage(),
            achieved: self.achieved,
            applicable: self.applicable,
            outcome: None,
        }
    }
}

fn rounded_count(value: f64) -> u32 {
    // Saturating float-to-int conversion: negative or NaN become 0.
    value.round() as u32
}

impl<'a> Answers<'a> {
    /// What `item`'s answer is worth under `coding`.
    pub fn credit(&self, item: &Item, coding: Coding) -> Credit {
        credit(item, self.get(&item.id), coding)
    }

    /// Counts the items `filter` selects: each applicable item adds its
    /// credit to `achieved` and 1 to `applicable`.
    pub fn tally(&self, filter: impl Fn(&Item) -> bool, coding: impl CodingRule) -> Tally<'a> {
        self.sum(|_, item| filter(item), &coding, false)
    }

    /// Like [`Answers::tally`], but each item counts its weight times.
    pub fn weighted_tally(
        &self,
        filter: impl Fn(&Item) -> bool,
        coding: impl CodingRule,
    ) -> Tally<'a> {
        self.sum(|_, item| filter(item), &coding, true)
    }

    /// Counts the items of section `section_id` that `filter` selects. An
    /// unknown section gives an empty tally.
    pub fn section_tally(
        &self,
        section_id: &str,
        filter: impl Fn(&Item) -> bool,
        coding: impl CodingRule,
    ) -> Tally<'a> {
        self.sum(|s, item| s.id == section_id && filter(item), &coding, false)
    }

    fn sum(
        &self,
        filter: impl Fn(&Section, &Item) -> bool,
        coding: &impl CodingRule,
        weighted: bool,
    ) -> Tally<'a> {
        let mut tally = Tally::default();
        for (section, item, answer) in self.items() {
            if filter(section, item) {
                let weight = if weighted { item.weight } else { 1.0 };
                tally.add(item, credit(item, answer, coding.coding_for(item)), weight);
            }
        }
        tally
    }

    /// The SBM-R reading of a section: each group is a standard, its items the
    /// verification criteria; an ungrouped item stands as a standard alone.
    pub fn standards(&self, section: &'a Section) -> Standards<'a> {
        let mut standards: Vec<Standard<'a>> = Vec::new();
        for item in &section.items {
            let id = item.group.as_deref().unwrap_or(&item.id);
            let position = match standards.iter().position(|s| s.id == id) {
                Some(position) => position,
                None => {
                    standards.push(Standard {
                        id,
                        group: section
                            .groups
                            .iter()
                            .find(|g| Some(&g.id) == item.group.as_ref()),
                        status: StandardStatus::NotApplicable,
                        missed: Vec::new(),
                    });
                    standards.len() - 1
                }
            };
            let standard = &mut standards[position];
            if let Credit::Scored(share) = self.credit(item, Coding::Binary) {
                if share < 1.0 {
                    standard.status = StandardStatus::NotAchieved;
                    standard.missed.push(item);
                } else if standard.status == StandardStatus::NotApplicable {
                    standard.status = StandardStatus::Achieved;
                }
            }
        }
        Standards { section, standards }
    }
}

/// Whether an SBM-R standard was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StandardStatus {
    /// Every applicable criterion was yes.
    Achieved,
    /// At least one applicable criterion was not yes.
    NotAchieved,
    /// No criterion was applicable: left out of the score.
    NotApplicable,
}

/// One SBM-R standard's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Standard<'a> {
    /// The group id, or the item id of an ungrouped item.
    pub id: &'a str,
    pub group: Option<&'a ItemGroup>,
    pub status: StandardStatus,
    /// The criteria that were not met.
    pub missed: Vec<&'a Item>,
}

/// The standards of one SBM-R area (a section); see [`Answers::standards`].
#[derive(Debug, Clone, PartialEq)]
pub struct Standards<'a> {
    pub section: &'a Section,
    pub standards: Vec<Standard<'a>>,
}

impl<'a> Standards<'a> {
    pub fn achieved(&self) -> u32 {
        self.count(|s| s == StandardStatus::Achieved)
    }

    pub fn applicable(&self) -> u32 {
        self.count(|s| s != StandardStatus::NotApplicable)
    }

    fn count(&self, f: impl Fn(StandardStatus) -> bool) -> u32 {
        let n = self.standards.iter().filter(|s| f(s.status)).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Achieved standards over applicable standards, as a [`Tally`] whose
    /// `missed` lists every criterion not met. Absorb the areas' tallies into
    /// one for the facility's overall score: standards achieved over standards
    /// applicable across all areas.
    pub fn tally(&self) -> Tally<'a> {
        Tally {
            achieved: f64::from(self.achieved()),
            applicable: f64::from(self.applicable()),
            missed: self
                .standards
                .iter()
                .flat_map(|s| s.missed.iter().copied())
                .collect(),
        }
    }

    pub fn percentage(&self) -> Option<f64> {
        percentage(f64::from(self.achieved()), f64::from(self.applicable()))
    }
}

/// The three competency classes shared by percentage bands and by the
/// critical / non-critical (HNQIS) rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Competency {
    Competent,
    NeedsImprovement,
    NotCompetent,
}

impl Competency {
    /// Non-critical percentage from which the critical rule says competent.
    pub const NON_CRITICAL_COMPETENT: f64 = 89.9;
    /// Non-critical percentage from which it says needs improvement.
    pub const NON_CRITICAL_NEEDS_IMPROVEMENT: f64 = 79.9;

    /// Percentage bands: 80 and above competent, 50 to under 80 competent but
    /// needs improvement, under 50 not competent.
    pub fn from_band(percentage: f64) -> Self {
        if meets(percentage, 80.0) {
            Competency::Competent
        } else if meets(percentage, 50.0) {
            Competency::NeedsImprovement
        } else {
            Competency::NotCompetent
        }
    }

    /// The critical / non-critical rule: any critical item missed is not
    /// competent; otherwise non-critical ≥ 89.9 % is competent, ≥ 79.9 %
    /// needs improvement, lower is not competent. `None` (nothing
    /// applicable) counts as fully met.
    pub fn from_percentages(critical: Option<f64>, non_critical: Option<f64>) -> Self {
        if critical.is_some_and(|c| !meets(c, 100.0)) {
            return Competency::NotCompetent;
        }
        Self::from_non_critical(non_critical)
    }

    /// [`Competency::from_percentages`] on tallies. Judges the critical side
    /// by items missed rather than by percentage, so half credit on a
    /// critical item can never round up to 100 %.
    pub fn from_tallies(critical: &Tally<'_>, non_critical: &Tally<'_>) -> Self {
        if !critical.all_achieved() {
            return Competency::NotCompetent;
        }
        Self::from_non_critical(non_critical.percentage())
    }

    fn from_non_critical(non_critical: Option<f64>) -> Self {
        match non_critical {
            None => Competency::Competent,
            Some(p) if meets(p, Self::NON_CRITICAL_COMPETENT) => Competency::Competent,
            Some(p) if meets(p, Self::NON_CRITICAL_NEEDS_IMPROVEMENT) => {
                Competency::NeedsImprovement
            }
            Some(_) => Competency::NotCompetent,
        }
    }

    pub fn outcome(self) -> Outcome {
        match self {
            Competency::Competent => Outcome::competent(),
            Competency::NeedsImprovement => Outcome::needs_improvement(),
            Competency::NotCompetent => Outcome::not_competent(),
        }
    }
}

/// True for items that count as key or critical, which most rules treat alike
/// when choosing how loudly to flag a miss.
pub fn is_key_or_critical(item: &Item) -> bool {
    matches!(item.importance, Importance::Key | Importance::Critical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Checklist, ItemSink, ResponseSet, validate};

    #[test]
    fn pass_marks_round_to_whole_items() {
        assert_eq!(pass_mark(20, 85), 17);
        assert_eq!(pass_mark(18, 85), 15);
        assert_eq!(pass_mark(22, 85), 19);
        assert_eq!(pass_mark(21, 85), 18);
        // Exact halves round up, which naive float code gets wrong for some n.
        assert_eq!(pass_mark(10, 85), 9);
        assert_eq!(pass_mark(30, 85), 26);
        assert_eq!(pass_mark(0, 85), 0);
        assert_eq!(pass_mark(7, 100), 7);
        assert_eq!(pass_mark(u32::MAX, 100), u32::MAX);
    }

    #[test]
    fn percentages_of_whole_counts_are_exact() {
        assert_eq!(percentage(9.0, 10.0), Some(90.0));
        assert_eq!(percentage(899.0, 1000.0), Some(89.9));
        assert_eq!(percentage(799.0, 1000.0), Some(79.9));
        assert_eq!(percentage(0.0, 0.0), None);
        let p = percentage(15.0, 18.0).expect("applicable");
        assert!((p - 83.333).abs() < 0.001);
    }

    #[test]
    fn thresholds_tolerate_float_noise_only() {
        assert!(meets(89.9, 89.9));
        assert!(meets(0.899 * 100.0, 89.9)); // 89.89999999999999
        assert!(!meets(89.899, 89.9));
        assert!(!meets(89.9 - 1e-6, 89.9));
    }

    #[test]
    fn colours_by_percentage() {
        assert_eq!(signal_for(Some(80.0)), Signal::Green);
        assert_eq!(signal_for(Some(79.99)), Signal::Amber);
        assert_eq!(signal_for(Some(60.0)), Signal::Amber);
        assert_eq!(signal_for(Some(59.99)), Signal::Red);
        assert_eq!(signal_for(None), Signal::Neutral);
    }

    #[test]
    fn percentage_bands() {
        assert_eq!(Competency::from_band(100.0), Competency::Competent);
        assert_eq!(Competency::from_band(80.0), Competency::Competent);
        assert_eq!(Competency::from_band(79.9), Competency::NeedsImprovement);
        assert_eq!(Competency::from_band(50.0), Competency::NeedsImprovement);
        assert_eq!(Competency::from_band(49.9), Competency::NotCompetent);
    }

    #[test]
    fn critical_competency_classes_at_their_boundaries() {
        use Competency::*;
        let c = |crit, non| Competency::from_percentages(crit, non);
        assert_eq!(c(Some(100.0), Some(100.0)), Competent);
        assert_eq!(c(Some(100.0), Some(89.9)), Competent);
        assert_eq!(c(Some(100.0), Some(89.89)), NeedsImprovement);
        assert_eq!(c(Some(100.0), Some(79.9)), NeedsImprovement);
        assert_eq!(c(Some(100.0), Some(79.89)), NotCompetent);
        assert_eq!(c(Some(80.0), Some(100.0)), NotCompetent);
        assert_eq!(c(Some(99.99), Some(100.0)), NotCompetent);
        assert_eq!(c(None, Some(95.0)), Competent);
        assert_eq!(c(Some(100.0), None), Competent);
    }

    fn coded(kind_item: Item, answer: Answer, coding: Coding) -> Credit {
        credit(&kind_item, Some(&answer), coding)
    }

    #[test]
    fn answer_codings() {
        let yn = Item::new("i", "I");
        let dp = Item::done_partly("i", "I");
        assert_eq!(
            coded(yn.clone(), Answer::Yes, Coding::Binary),
            Credit::Scored(1.0)
        );
        assert_eq!(
            coded(yn.clone(), Answer::No, Coding::Binary),
            Credit::Scored(0.0)
        );
        assert_eq!(
            coded(yn.clone(), Answer::Yes, Coding::Reversed),
            Credit::Scored(0.0)
        );
        assert_eq!(
            coded(yn.clone(), Answer::No, Coding::Reversed),
            Credit::Scored(1.0)
        );
        assert_eq!(
            coded(dp.clone(), Answer::Partly, Coding::Partial),
            Credit::Scored(0.5)
        );
        assert_eq!(
            coded(dp.clone(), Answer::Partly, Coding::Binary),
            Credit::Scored(0.0)
        );
        assert_eq!(
            coded(dp.clone(), Answer::Partly, Coding::Reversed),
            Credit::Scored(0.5)
        );
        assert_eq!(
            coded(dp.clone(), Answer::Done, Coding::Unscored),
            Credit::Unscored
        );
        assert_eq!(
            coded(yn.clone().weight(0.0), Answer::Yes, Coding::Binary),
            Credit::Unscored
        );
        assert_eq!(
            coded(
                Item::yes_no_na("i", "I"),
                Answer::NotApplicable,
                Coding::Binary
            ),
            Credit::NotApplicable
        );
        assert_eq!(credit(&yn, None, Coding::Binary), Credit::Unanswered);
        let sc = Item::score("i", "I", 0, 4);
        assert_eq!(
            coded(sc.clone(), Answer::Integer(3), Coding::Partial),
            Credit::Scored(0.75)
        );
        assert_eq!(
            coded(sc.clone(), Answer::Integer(3), Coding::Binary),
            Credit::Scored(0.0)
        );
        assert_eq!(
            coded(sc.clone(), Answer::Integer(4), Coding::Binary),
            Credit::Scored(1.0)
        );
        assert_eq!(
            coded(sc, Answer::Integer(1), Coding::Reversed),
            Credit::Scored(0.75)
        );
        let num = Item::number("i", "I", None, None).weight(1.0);
        assert_eq!(
            coded(num, Answer::Number(3.0), Coding::Partial),
            Credit::Unscored
        );
    }

    fn mixed() -> Checklist {
        Checklist::new("c", "C")
            .section("a", "A", |s| {
                s.key_item("k1", "K1")
                    .key_item("k2", "K2")
                    .push(Item::done_partly("p", "P").weight(2.0))
                    .push(Item::yes_no_na("n", "N"))
            })
            .section("b", "B", |s| {
                s.item("b1", "B1").push(Item::text("t", "T", 10))
            })
    }

    #[test]
    fn tallies_leave_out_not_applicable_and_unscored_items() {
        let c = mixed();
        let r = ResponseSet::new()
            .yes("k1")
            .no("k2")
            .partly("p")
            .na("n")
            .yes("b1")
            .text("t", "fine")
            .build();
        let a = validate(&c, &r).expect("valid");

        let all = a.tally(select::all, Coding::Binary);
        assert_eq!((all.achieved, all.applicable), (2.0, 4.0));
        let missed: Vec<_> = all.missed.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(missed, ["k2", "p"]);

        let partial = a.tally(select::all, Coding::Partial);
        assert_eq!((partial.achieved, partial.applicable), (2.5, 4.0));
        let weighted = a.weighted_tally(select::all, Coding::Partial);
        assert_eq!((weighted.achieved, weighted.applicable), (3.0, 5.0));

        let key = a.tally(select::key, Coding::Binary);
        assert!(!key.all_achieved());
        assert_eq!(key.achieved_count(), 1);

        let b = a.section_tally("b", select::all, Coding::Binary);
        assert_eq!(b.percentage(), Some(100.0));
        assert_eq!(
            a.section_tally("zz", select::all, Coding::Binary),
            Tally::default()
        );

        let reversed_k2 = |item: &Item| {
            if item.id == "k2" {
                Coding::Reversed
            } else {
                Coding::Binary
            }
        };
        assert_eq!(a.tally(select::key, reversed_k2).achieved, 2.0);
    }

    #[test]
    fn all_achieved_holds_vacuously() {
        assert!(Tally::default().all_achieved());
        assert_eq!(Tally::default().percentage(), None);
    }

    fn sbmr() -> Checklist {
        Checklist::new("s", "S").section("area", "Area", |s| {
            s.group("std1", "Standard 1", |g| {
                g.push(Item::yes_no_na("1a", "1a"))
                    .push(Item::yes_no_na("1b", "1b"))
            })
            .group("std2", "Standard 2", |g| {
                g.push(Item::yes_no_na("2a", "2a"))
                    .push(Item::yes_no_na("2b", "2b"))
            })
            .group("std3", "Standard 3", |g| {
                g.push(Item::yes_no_na("3a", "3a"))
            })
            .push(Item::yes_no_na("solo", "Ungrouped"))
        })
    }

    #[test]
    fn sbmr_standard_needs_every_applicable_criterion() {
        let c = sbmr();
        let r = ResponseSet::new()
            .yes("1a")
            .na("1b") // std1 achieved: the only applicable criterion is yes
            .yes("2a")
            .no("2b") // std2 not achieved
            .na("3a") // std3 not applicable
            .yes("solo")
            .build();
        let a = validate(&c, &r).expect("valid");
        let st = a.standards(&c.sections[0]);
        let status: Vec<_> = st.standards.iter().map(|s| (s.id, s.status)).collect();
        assert_eq!(
            status,
            [
                ("std1", StandardStatus::Achieved),
                ("std2", StandardStatus::NotAchieved),
                ("std3", StandardStatus::NotApplicable),
                ("solo", StandardStatus::Achieved),
            ]
        );
        assert_eq!(
            st.standards[0].group.map(|g| g.title.default.as_str()),
            Some("Standard 1")
        );
        assert_eq!((st.achieved(), st.applicable()), (2, 3));
        let tally = st.tally();
        assert_eq!(
            tally
                .missed
                .iter()
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>(),
            ["2b"]
        );
        assert_eq!(st.percentage(), percentage(2.0, 3.0));
    }

    #[test]
    fn recognition_at_target() {
        assert_eq!(recognition(Some(80.0), 80.0).code, "recognised");
        assert_eq!(recognition(Some(79.99), 80.0).code, "not-recognised");
        assert_eq!(recognition(None, 80.0).code, "not-scored");
    }
}
