//! The small language of indicator numerators and denominators.
//!
//! ```text
//! formula    := SOURCE [where CONDITIONS]
//!             | mean(OPERAND) [where CONDITIONS] | sum(OPERAND) [where CONDITIONS]
//! OPERAND    := metric METRIC | training_gain | award
//! CONDITIONS := CONDITION (and CONDITION)*
//! CONDITION  := checklist = ID | kind = KIND | type = VALUE | avoidable = VALUE
//!             | status = VALUE | measure = VALUE | met
//!             | metric METRIC [OP NUMBER]            OP: = != >= <= > <
//! METRIC     := NAME | any(NAME, NAME, ...)
//! ```
//!
//! `any(...)` lets one harmonised indicator read the equivalent metrics of several partners'
//! checklists (HBB's OSCE B pass and EmONC's newborn resuscitation pass are both "competent
//! in newborn resuscitation"). Parsing checks the structure and which conditions each source
//! takes; [`Formula::metric_names`] and [`Formula::checklist_ids`] list what must then be
//! checked against the database.

use std::fmt;

/// What a formula counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Sessions,
    Mentees,
    FacilitiesReached,
    FacilitiesAssigned,
    Observations,
    ObservedProviders,
    Trainings,
    TrainingParticipants,
    TrainingTested,
    TrainingPostTested,
    TrainingPassed,
    DeathReviews,
    DeathNotifications,
    Recommendations,
    QiProjects,
    PdsaCycles,
    ActionItems,
    TeamTargets,
    TeamAssessments,
}

impl Source {
    pub const ALL: [Source; 19] = [
        Source::Sessions,
        Source::Mentees,
        Source::FacilitiesReached,
        Source::FacilitiesAssigned,
        Source::Observations,
        Source::ObservedProviders,
        Source::Trainings,
        Source::TrainingParticipants,
        Source::TrainingTested,
        Source::TrainingPostTested,
        Source::TrainingPassed,
        Source::DeathReviews,
        Source::DeathNotifications,
        Source::Recommendations,
        Source::QiProjects,
        Source::PdsaCycles,
        Source::ActionItems,
        Source::TeamTargets,
        Source::TeamAssessments,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Sessions => "sessions",
            Source::Mentees => "mentees",
            Source::FacilitiesReached => "facilities_reached",
            Source::FacilitiesAssigned => "facilities_assigned",
            Source::Observations => "observations",
            Source::ObservedProviders => "observed_providers",
            Source::Trainings => "trainings",
            Source::TrainingParticipants => "training_participants",
            Source::TrainingTested => "training_tested",
            Source::TrainingPostTested => "training_post_tested",
            Source::TrainingPassed => "training_passed",
            Source::DeathReviews => "death_reviews",
            Source::DeathNotifications => "death_notifications",
            Source::Recommendations => "recommendations",
            Source::QiProjects => "qi_projects",
            Source::PdsaCycles => "pdsa_cycles",
            Source::ActionItems => "action_items",
            Source::TeamTargets => "team_targets",
            Source::TeamAssessments => "team_assessments",
        }
    }

    fn parse(s: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The conditions this source takes.
    fn conditions(self) -> &'static [CondKind] {
        use CondKind::*;
        match self {
            Source::Sessions | Source::Mentees | Source::FacilitiesReached => &[Type],
            Source::Observations | Source::ObservedProviders => &[Checklist, Kind, Metric],
            Source::TrainingTested | Source::TrainingPostTested | Source::TrainingPassed => {
                &[Checklist]
            }
            Source::DeathReviews => &[Type, Avoidable],
            Source::DeathNotifications => &[Type],
            Source::Recommendations | Source::QiProjects | Source::ActionItems => &[Status],
            Source::TeamTargets => &[Met, Measure],
            Source::FacilitiesAssigned
            | Source::Trainings
            | Source::TrainingParticipants
            | Source::PdsaCycles
            | Source::TeamAssessments => &[],
        }
    }

    /// Whether each counted row is a provider, so cadre and sex apply.
    pub fn provider_based(self) -> bool {
        matches!(
            self,
            Source::Mentees
                | Source::Observations
                | Source::ObservedProviders
                | Source::TrainingParticipants
                | Source::TrainingTested
                | Source::TrainingPostTested
                | Source::TrainingPassed
        )
    }
}

/// The kinds of condition, for saying which a source takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CondKind {
    Checklist,
    Kind,
    Type,
    Avoidable,
    Status,
    Measure,
    Met,
    Metric,
}

impl CondKind {
    fn as_str(self) -> &'static str {
        match self {
            CondKind::Checklist => "checklist = ID",
            CondKind::Kind => "kind = KIND",
            CondKind::Type => "type = TYPE",
            CondKind::Avoidable => "avoidable = yes|no|undetermined",
            CondKind::Status => "status = STATUS",
            CondKind::Measure => "measure = MEASURE",
            CondKind::Met => "met",
            CondKind::Metric => "metric NAME [OP NUMBER]",
        }
    }
}

/// A field compared with a value in a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Checklist,
    Kind,
    Type,
    Avoidable,
    Status,
    Measure,
}

impl Field {
    fn parse(s: &str) -> Option<Field> {
        Some(match s {
            "checklist" => Field::Checklist,
            "kind" => Field::Kind,
            "type" => Field::Type,
            "avoidable" => Field::Avoidable,
            "status" => Field::Status,
            "measure" => Field::Measure,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Checklist => "checklist",
            Field::Kind => "kind",
            Field::Type => "type",
            Field::Avoidable => "avoidable",
            Field::Status => "status",
            Field::Measure => "measure",
        }
    }

    fn kind(self) -> CondKind {
        match self {
            Field::Checklist => CondKind::Checklist,
            Field::Kind => CondKind::Kind,
            Field::Type => CondKind::Type,
            Field::Avoidable => CondKind::Avoidable,
            Field::Status => CondKind::Status,
            Field::Measure => CondKind::Measure,
        }
    }
}

pub const CHECKLIST_KINDS: [&str; 5] = [
    "mentorship_skills",
    "clinical_observation",
    "training_test",
    "facility_assessment",
    "team_assessment",
];
pub const DEATH_TYPES: [&str; 2] = ["maternal", "perinatal"];
pub const AVOIDABLE: [&str; 3] = ["yes", "no", "undetermined"];
pub const RECOMMENDATION_STATUSES: [&str; 4] = ["open", "in_progress", "done", "not_done"];
pub const QI_STATUSES: [&str; 4] = ["planned", "active", "completed", "stopped"];
pub const ACTION_STATUSES: [&str; 3] = ["open", "done", "dropped"];

/// The values a field takes on a source; `None` means any identifier (checked elsewhere, or
/// free).
fn allowed_values(source: Option<Source>, field: Field) -> Option<&'static [&'static str]> {
    match (field, source) {
        (Field::Kind, _) => Some(&CHECKLIST_KINDS),
        (Field::Type, Some(Source::DeathReviews | Source::DeathNotifications)) => {
            Some(&DEATH_TYPES)
        }
        (Field::Type, _) => Some(&crate::domain::sessions::SESSION_TYPES),
        (Field::Avoidable, _) => Some(&AVOIDABLE),
        (Field::Status, Some(Source::Recommendations)) => Some(&RECOMMENDATION_STATUSES),
        (Field::Status, Some(Source::QiProjects)) => Some(&QI_STATUSES),
        (Field::Status, _) => Some(&ACTION_STATUSES),
        (Field::Checklist | Field::Measure, _) => None,
    }
}

/// A comparison of a metric's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Ge,
    Le,
    Gt,
    Lt,
}

impl Op {
    pub fn test(self, left: f64, right: f64) -> bool {
        match self {
            Op::Eq => left == right,
            Op::Ne => left != right,
            Op::Ge => left >= right,
            Op::Le => left <= right,
            Op::Gt => left > right,
            Op::Lt => left < right,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Lt => "<",
        }
    }
}

/// One metric, or the first of several that an observation carries.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricRef {
    pub names: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Equals {
        field: Field,
        value: String,
    },
    /// A team target achieved (achieved ≥ target).
    Met,
    /// The observation carries the metric, and its value passes the test if one is given.
    Metric {
        metric: MetricRef,
        test: Option<(Op, f64)>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    Mean,
    Sum,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// A metric's value over the session observations that carry it.
    Metric(MetricRef),
    /// Post-test minus pre-test percentage, over participants with both.
    TrainingGain,
    /// Incentive awarded at team assessments.
    Award,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Formula {
    Count {
        source: Source,
        conditions: Vec<Condition>,
    },
    Aggregate {
        aggregate: Aggregate,
        operand: Operand,
        conditions: Vec<Condition>,
    },
}

impl Formula {
    pub fn conditions(&self) -> &[Condition] {
        match self {
            Formula::Count { conditions, .. } | Formula::Aggregate { conditions, .. } => conditions,
        }
    }

    /// Every metric name the formula refers to.
    pub fn metric_names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        if let Formula::Aggregate {
            operand: Operand::Metric(m),
            ..
        } = self
        {
            out.extend(m.names.iter().map(String::as_str));
        }
        for c in self.conditions() {
            if let Condition::Metric { metric, .. } = c {
                out.extend(metric.names.iter().map(String::as_str));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Every checklist id the formula names.
    pub fn checklist_ids(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .conditions()
            .iter()
            .filter_map(|c| match c {
                Condition::Equals {
                    field: Field::Checklist,
                    value,
                } => Some(value.as_str()),
                _ => None,
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Whether each counted row is a provider, so cadre and sex apply.
    pub fn provider_based(&self) -> bool {
        match self {
            Formula::Count { source, .. } => source.provider_based(),
            Formula::Aggregate { operand, .. } => {
                matches!(operand, Operand::Metric(_) | Operand::TrainingGain)
            }
        }
    }
}

fn write_metric(f: &mut fmt::Formatter<'_>, m: &MetricRef) -> fmt::Result {
    if m.names.len() == 1 {
        write!(f, "{}", m.names[0])
    } else {
        write!(f, "any({})", m.names.join(", "))
    }
}

impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Formula::Count { source, .. } => write!(f, "{}", source.as_str())?,
            Formula::Aggregate {
                aggregate, operand, ..
            } => {
                f.write_str(match aggregate {
                    Aggregate::Mean => "mean(",
                    Aggregate::Sum => "sum(",
                })?;
                match operand {
                    Operand::Metric(m) => {
                        f.write_str("metric ")?;
                        write_metric(f, m)?;
                    }
                    Operand::TrainingGain => f.write_str("training_gain")?,
                    Operand::Award => f.write_str("award")?,
                }
                f.write_str(")")?;
            }
        }
        for (n, c) in self.conditions().iter().enumerate() {
            f.write_str(if n == 0 { " where " } else { " and " })?;
            match c {
                Condition::Equals { field, value } => write!(f, "{} = {value}", field.as_str())?,
                Condition::Met => f.write_str("met")?,
                Condition::Metric { metric, test } => {
                    f.write_str("metric ")?;
                    write_metric(f, metric)?;
                    if let Some((op, n)) = test {
                        write!(f, " {} {n}", op.as_str())?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Why a formula does not parse: where (1-based character position) and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at character {position}: {message}")]
pub struct FormulaError {
    pub position: usize,
    pub message: String,
}

fn err<T>(position: usize, message: impl Into<String>) -> Result<T, FormulaError> {
    Err(FormulaError {
        position,
        message: message.into(),
    })
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Number(f64),
    Op(Op),
    Open,
    Close,
    Comma,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("`{w}`"),
            Tok::Number(n) => format!("the number {n}"),
            Tok::Op(op) => format!("`{}`", op.as_str()),
            Tok::Open => "`(`".into(),
            Tok::Close => "`)`".into(),
            Tok::Comma => "`,`".into(),
        }
    }
}

pub const MAX_LENGTH: usize = 2000;

fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn lex(text: &str) -> Result<Vec<(usize, Tok)>, FormulaError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two = |next: char| chars.get(i + 1) == Some(&next);
        let (tok, len) = match c {
            '(' => (Tok::Open, 1),
            ')' => (Tok::Close, 1),
            ',' => (Tok::Comma, 1),
            '=' if two('=') => (Tok::Op(Op::Eq), 2),
            '=' => (Tok::Op(Op::Eq), 1),
            '!' if two('=') => (Tok::Op(Op::Ne), 2),
            '>' if two('=') => (Tok::Op(Op::Ge), 2),
            '<' if two('=') => (Tok::Op(Op::Le), 2),
            '>' => (Tok::Op(Op::Gt), 1),
            '<' => (Tok::Op(Op::Lt), 1),
            c if word_char(c) => {
                let end = (i..chars.len())
                    .find(|&j| !word_char(chars[j]))
                    .unwrap_or(chars.len());
                let word: String = chars[i..end].iter().collect();
                let numeric = word.starts_with(|c: char| c.is_ascii_digit() || c == '-')
                    && word.chars().skip(1).all(|c| c.is_ascii_digit() || c == '.');
                let tok = match word.parse::<f64>() {
                    Ok(n) if numeric && n.is_finite() => Tok::Number(n),
                    _ if numeric && word != "-" => {
                        return err(pos, format!("`{word}` is not a number"));
                    }
                    _ => Tok::Word(word),
                };
                (tok, end - i)
            }
            other => {
                return err(
                    pos,
                    format!(
                        "unexpected character `{other}`; names are letters, digits, `_`, `-` and `.`"
                    ),
                );
            }
        };
        out.push((pos, tok));
        i += len;
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(_, t)| t)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.at).map(|(p, _)| *p).unwrap_or(self.end)
    }

    fn found(&self) -> String {
        self.peek()
            .map(Tok::describe)
            .unwrap_or_else(|| "the end of the formula".into())
    }

    fn next(&mut self) -> Option<(usize, Tok)> {
        let t = self.toks.get(self.at).cloned();
        if t.is_some() {
            self.at += 1;
        }
        t
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<(), FormulaError> {
        if self.peek() == Some(&tok) {
            self.at += 1;
            Ok(())
        } else {
            err(
                self.pos(),
                format!("expected {what}, found {}", self.found()),
            )
        }
    }

    fn word(&mut self, what: &str) -> Result<(usize, String), FormulaError> {
        match self.peek() {
            Some(Tok::Word(_)) => match self.next() {
                Some((p, Tok::Word(w))) => Ok((p, w)),
                _ => err(self.pos(), format!("expected {what}")),
            },
            _ => err(
                self.pos(),
                format!("expected {what}, found {}", self.found()),
            ),
        }
    }

    fn metric_ref(&mut self) -> Result<MetricRef, FormulaError> {
        let (_, first) = self.word("a metric name such as `hbb.osce_b.pass`, or `any(…)`")?;
        if first != "any" || self.peek() != Some(&Tok::Open) {
            return Ok(MetricRef { names: vec![first] });
        }
        self.at += 1;
        let mut names = vec![self.word("a metric name")?.1];
        while self.peek() == Some(&Tok::Comma) {
            self.at += 1;
            names.push(self.word("a metric name")?.1);
        }
        self.expect(Tok::Close, "`,` or `)` closing `any(`")?;
        names.sort();
        names.dedup();
        Ok(MetricRef { names })
    }

    fn conditions(
        &mut self,
        source: Option<Source>,
        allowed: &[CondKind],
        subject: &str,
    ) -> Result<Vec<Condition>, FormulaError> {
        let mut out = Vec::new();
        match self.peek() {
            None => return Ok(out),
            Some(Tok::Word(w)) if w == "where" => self.at += 1,
            Some(_) => {
                return err(
                    self.pos(),
                    format!(
                        "expected `where` or the end of the formula, found {}",
                        self.found()
                    ),
                );
            }
        }
        let takes = || {
            if allowed.is_empty() {
                format!("{subject} takes no conditions")
            } else {
                format!(
                    "{subject} takes: {}",
                    allowed
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        };
        loop {
            let (pos, word) = self.word("a condition")?;
            let (kind, cond) = if let Some(field) = Field::parse(&word) {
                self.expect(Tok::Op(Op::Eq), &format!("`=` after `{word}`"))?;
                let vpos = self.pos();
                let value = match self.next() {
                    Some((_, Tok::Word(v))) => v,
                    Some((_, Tok::Number(n))) => n.to_string(),
                    _ => return err(vpos, format!("expected a value for `{word}`")),
                };
                if let Some(values) = allowed_values(source, field)
                    && allowed.contains(&field.kind())
                    && !values.contains(&value.as_str())
                {
                    return err(
                        vpos,
                        format!(
                            "`{value}` is not a {word} here; known: {}",
                            values.join(", ")
                        ),
                    );
                }
                (field.kind(), Condition::Equals { field, value })
            } else if word == "met" {
                (CondKind::Met, Condition::Met)
            } else if word == "metric" {
                let metric = self.metric_ref()?;
                let test = match self.peek() {
                    Some(Tok::Op(op)) => {
                        let op = *op;
                        self.at += 1;
                        match self.next() {
                            Some((_, Tok::Number(n))) => Some((op, n)),
                            other => {
                                return err(
                                    other.map(|(p, _)| p).unwrap_or(self.end),
                                    format!("expected a number after `{}`", op.as_str()),
                                );
                            }
                        }
                    }
                    _ => None,
                };
                (CondKind::Metric, Condition::Metric { metric, test })
            } else {
                return err(
                    pos,
                    format!(
                        "unknown condition `{word}`; conditions are checklist = …, kind = …, type = …, avoidable = …, status = …, measure = …, met, metric NAME [OP NUMBER]; {}",
                        takes()
                    ),
                );
            };
            if !allowed.contains(&kind) {
                return err(
                    pos,
                    format!("condition `{word}` does not apply here; {}", takes()),
                );
            }
            out.push(cond);
            match self.peek() {
                None => return Ok(out),
                Some(Tok::Word(w)) if w == "and" => self.at += 1,
                Some(_) => {
                    return err(
                        self.pos(),
                        format!(
                            "expected `and` or the end of the formula, found {}",
                            self.found()
                        ),
                    );
                }
            }
        }
    }
}

fn known_sources() -> String {
    Source::ALL
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a formula, checking its structure and which conditions apply to its source.
pub fn parse(text: &str) -> Result<Formula, FormulaError> {
    let length = text.chars().count();
    if length > MAX_LENGTH {
        return err(
            MAX_LENGTH,
            format!("a formula is at most {MAX_LENGTH} characters"),
        );
    }
    let mut p = Parser {
        toks: lex(text)?,
        at: 0,
        end: length + 1,
    };
    let (pos, head) = match p.peek() {
        None => {
            return err(
                1,
                "the formula is empty; write a source such as `sessions`, or `mean(metric NAME)`",
            );
        }
        Some(Tok::Word(_)) => p.word("a source")?,
        Some(_) => {
            return err(
                p.pos(),
                format!("expected a source or mean(…)/sum(…), found {}", p.found()),
            );
        }
    };
    let aggregate = match head.as_str() {
        "mean" if p.peek() == Some(&Tok::Open) => Some(Aggregate::Mean),
        "sum" if p.peek() == Some(&Tok::Open) => Some(Aggregate::Sum),
        _ => None,
    };
    let formula = if let Some(aggregate) = aggregate {
        p.at += 1;
        let (opos, word) = p.word("`metric NAME`, `training_gain` or `award`")?;
        let operand = match word.as_str() {
            "metric" => Operand::Metric(p.metric_ref()?),
            "training_gain" => Operand::TrainingGain,
            "award" => Operand::Award,
            other => {
                return err(
                    opos,
                    format!(
                        "cannot aggregate `{other}`; write `metric NAME`, `training_gain` or `award`"
                    ),
                );
            }
        };
        p.expect(Tok::Close, "`)`")?;
        let (allowed, subject): (&[CondKind], String) = match &operand {
            Operand::Metric(_) => (
                &[CondKind::Checklist, CondKind::Kind, CondKind::Metric],
                "a metric".into(),
            ),
            Operand::TrainingGain => (&[CondKind::Checklist], "training_gain".into()),
            Operand::Award => (&[], "award".into()),
        };
        let source = match &operand {
            Operand::Metric(_) => Some(Source::Observations),
            Operand::TrainingGain => Some(Source::TrainingTested),
            Operand::Award => Some(Source::TeamAssessments),
        };
        let conditions = p.conditions(source, allowed, &subject)?;
        Formula::Aggregate {
            aggregate,
            operand,
            conditions,
        }
    } else {
        let Some(source) = Source::parse(&head) else {
            return err(
                pos,
                format!(
                    "unknown source `{head}`; known sources: {}, or mean(…)/sum(…)",
                    known_sources()
                ),
            );
        };
        let conditions = p.conditions(
            Some(source),
            source.conditions(),
            &format!("`{}`", source.as_str()),
        )?;
        Formula::Count { source, conditions }
    };
    Ok(formula)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails(text: &str) -> FormulaError {
        parse(text).expect_err(text)
    }

    #[test]
    fn parses_sources_and_conditions() {
        assert_eq!(
            parse("sessions").unwrap(),
            Formula::Count {
                source: Source::Sessions,
                conditions: vec![]
            }
        );
        let f = parse(
            "observed_providers where checklist = osce-b and kind = mentorship_skills and metric hbb.osce_b.pass = 1",
        )
        .unwrap();
        assert_eq!(
            f,
            Formula::Count {
                source: Source::ObservedProviders,
                conditions: vec![
                    Condition::Equals {
                        field: Field::Checklist,
                        value: "osce-b".into()
                    },
                    Condition::Equals {
                        field: Field::Kind,
                        value: "mentorship_skills".into()
                    },
                    Condition::Metric {
                        metric: MetricRef {
                            names: vec!["hbb.osce_b.pass".into()]
                        },
                        test: Some((Op::Eq, 1.0))
                    },
                ]
            }
        );
        assert_eq!(f.metric_names(), ["hbb.osce_b.pass"]);
        assert_eq!(f.checklist_ids(), ["osce-b"]);
        assert!(f.provider_based());
    }

    #[test]
    fn every_comparison_and_metric_presence() {
        for (text, op) in [
            ("=", Op::Eq),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">=", Op::Ge),
            ("<=", Op::Le),
            (">", Op::Gt),
            ("<", Op::Lt),
        ] {
            let f = parse(&format!("observations where metric x.y {text} -2.5")).unwrap();
            assert_eq!(
                f.conditions()[0],
                Condition::Metric {
                    metric: MetricRef {
                        names: vec!["x.y".into()]
                    },
                    test: Some((op, -2.5))
                },
                "{text}"
            );
        }
        let f = parse("observations where metric x.y").unwrap();
        assert_eq!(
            f.conditions()[0],
            Condition::Metric {
                metric: MetricRef {
                    names: vec!["x.y".into()]
                },
                test: None
            }
        );
        assert!(Op::Ge.test(2.0, 2.0) && !Op::Gt.test(2.0, 2.0) && Op::Ne.test(1.0, 0.0));
    }

    #[test]
    fn any_of_several_metrics() {
        let f = parse("observed_providers where metric any(b.pass, a.pass , b.pass) = 1").unwrap();
        assert_eq!(f.metric_names(), ["a.pass", "b.pass"]);
        assert_eq!(
            f.to_string(),
            "observed_providers where metric any(a.pass, b.pass) = 1"
        );
        let e = fails("observations where metric any(a.pass b.pass)");
        assert!(e.message.contains("`)`"), "{e}");
    }

    #[test]
    fn aggregates() {
        let f = parse("mean(metric ldhf.pph.minutes_to_uterotonic) where checklist = pph").unwrap();
        assert!(matches!(
            f,
            Formula::Aggregate {
                aggregate: Aggregate::Mean,
                operand: Operand::Metric(_),
                ..
            }
        ));
        assert!(parse("mean(training_gain)").is_ok());
        assert!(parse("mean(training_gain) where checklist = knowledge-check").is_ok());
        assert!(parse("sum(award)").is_ok());
        assert!(!parse("sum(award)").unwrap().provider_based());
        let e = fails("sum(award) where met");
        assert_eq!(e.position, 18);
        assert!(e.message.contains("award takes no conditions"), "{e}");
        let e = fails("mean(visits)");
        assert_eq!(e.position, 6);
        assert!(e.message.contains("cannot aggregate `visits`"), "{e}");
        let e = fails("mean(training_gain");
        assert_eq!(e.position, 19);
        assert!(e.message.contains("expected `)`"), "{e}");
    }

    #[test]
    fn each_source_condition_form() {
        for ok in [
            "sessions where type = skills_drill",
            "mentees where type = simulation",
            "death_reviews where type = maternal and avoidable = yes",
            "death_notifications where type = perinatal",
            "recommendations where status = done",
            "qi_projects where status = active",
            "action_items where status = dropped",
            "team_targets where met and measure = home_visits",
            "training_passed where checklist = knowledge-check",
            "observations where kind = clinical_observation",
        ] {
            assert!(parse(ok).is_ok(), "{ok}: {:?}", parse(ok));
        }
    }

    #[test]
    fn unknown_sources_and_conditions_are_named() {
        let e = fails("sesions");
        assert_eq!(e.position, 1);
        assert!(e.message.contains("unknown source `sesions`"), "{e}");
        assert!(e.message.contains("sessions"), "{e}");
        let e = fails("sessions where colour = red");
        assert_eq!(e.position, 16);
        assert!(e.message.contains("unknown condition `colour`"), "{e}");
        let e = fails("sessions where avoidable = yes");
        assert!(e.message.contains("does not apply"), "{e}");
        assert!(e.message.contains("type = TYPE"), "{e}");
        let e = fails("death_reviews where type = neonatal");
        assert_eq!(e.position, 28);
        assert!(e.message.contains("maternal, perinatal"), "{e}");
        let e = fails("observations where kind = drill");
        assert!(e.message.contains("mentorship_skills"), "{e}");
        let e = fails("trainings where status = done");
        assert!(e.message.contains("takes no conditions"), "{e}");
    }

    #[test]
    fn malformed_formulas_say_where_and_what() {
        let e = fails("");
        assert_eq!(e.position, 1);
        assert!(e.message.contains("empty"));
        let e = fails("   ");
        assert!(e.message.contains("empty"));
        let e = fails("sessions sessions");
        assert_eq!(e.position, 10);
        assert!(
            e.message
                .contains("expected `where` or the end of the formula, found `sessions`"),
            "{e}"
        );
        let e = fails("sessions where");
        assert_eq!(e.position, 15);
        assert!(e.message.contains("expected a condition"), "{e}");
        let e = fails("sessions where type skills_drill");
        assert_eq!(e.position, 21);
        assert!(e.message.contains("expected `=` after `type`"), "{e}");
        let e = fails("sessions where type = skills_drill type = simulation");
        assert!(e.message.contains("expected `and`"), "{e}");
        let e = fails("observations where metric a.b >= x");
        assert_eq!(e.position, 34);
        assert!(e.message.contains("expected a number after `>=`"), "{e}");
        let e = fails("observations where metric a.b >=");
        assert!(e.message.contains("expected a number"), "{e}");
        let e = fails("observations where metric");
        assert!(e.message.contains("expected a metric name"), "{e}");
        let e = fails("sessions; DROP TABLE x");
        assert_eq!(e.position, 9);
        assert!(e.message.contains("unexpected character `;`"), "{e}");
        let e = fails("observations where metric a >= 1.2.3");
        assert!(e.message.contains("not a number"), "{e}");
        let e = fails("= sessions");
        assert_eq!(e.position, 1);
        assert!(
            fails(&"x".repeat(MAX_LENGTH + 1))
                .message
                .contains("at most")
        );
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "sessions",
            "observed_providers where checklist = osce-b and metric hbb.osce_b.pass >= 1",
            "mean(metric any(a.x, b.y)) where kind = training_test",
            "team_targets where met",
            "sum(award)",
        ] {
            let f = parse(text).unwrap();
            assert_eq!(parse(&f.to_string()).unwrap(), f, "{text}");
        }
    }
}
