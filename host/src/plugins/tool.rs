//! `mentortrack plugin test`: what a plugin author runs before uploading. It loads the plugin
//! exactly as the server would, under production limits, prints its manifest and checklists,
//! scores each fixture twice and reports the cost of each call and whether the runs agreed.

use serde::{Deserialize, Serialize};

use super::checks;
use super::model::{Checklist, Manifest, Response, ScoreCard, ScoreContext, ScoreRefusal};
use super::runtime::{CallStats, Runtime};

/// One scoring case: a checklist and answers to it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Fixture {
    pub checklist: String,
    #[serde(default)]
    pub name: Option<String>,
    pub responses: Vec<Response>,
    #[serde(default)]
    pub context: Option<ScoreContext>,
}

#[derive(Debug, Serialize)]
pub struct CaseReport {
    pub name: String,
    pub checklist: String,
    pub result: CaseResult,
    pub stats: CallStats,
    /// Both runs gave the same output and used the same fuel.
    pub deterministic: bool,
}

#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CaseResult {
    Scored { card: ScoreCard },
    Refused { refusal: ScoreRefusal },
    Failed { error: String },
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub sha256: String,
    pub contract: String,
    pub manifest: Manifest,
    pub checklists: Vec<Checklist>,
    /// Problems the server would refuse the upload for.
    pub problems: Vec<String>,
    pub cases: Vec<CaseReport>,
}

impl Report {
    /// Whether the server would accept the plugin and every case scored the same twice.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
            && self
                .cases
                .iter()
                .all(|c| c.deterministic && !matches!(c.result, CaseResult::Failed { .. }))
    }
}

fn default_context() -> ScoreContext {
    ScoreContext {
        session_type: "skills_drill".into(),
        mentee_cadre: "midwife".into(),
        date: "2026-01-15".into(),
        language: "en".into(),
    }
}

pub fn run(
    runtime: &Runtime,
    bytes: &[u8],
    fixtures: Option<Vec<Fixture>>,
) -> anyhow::Result<Report> {
    let loaded = runtime.load(bytes)?;
    let manifest = runtime
        .describe(&loaded)
        .0
        .map_err(|e| anyhow::anyhow!("describe failed: {e}"))?;
    let checklists = runtime
        .checklists(&loaded)
        .0
        .map_err(|e| anyhow::anyhow!("checklists failed: {e}"))?;
    let mut problems = checks::manifest_problems(&manifest);
    problems.extend(checks::checklist_problems(&checklists));
    let fixtures = fixtures.unwrap_or_else(|| {
        checklists
            .iter()
            .flat_map(|c| {
                let [best, worst] = checks::dry_run_responses(c);
                [("best answers", best), ("worst answers", worst)].map(|(name, responses)| {
                    Fixture {
                        checklist: c.id.clone(),
                        name: Some(name.into()),
                        responses,
                        context: None,
                    }
                })
            })
            .collect()
    });
    let mut cases = Vec::new();
    for (n, f) in fixtures.into_iter().enumerate() {
        let context = f.context.clone().unwrap_or_else(default_context);
        let (first, stats) = runtime.score(&loaded, &f.checklist, &f.responses, &context);
        let (second, stats2) = runtime.score(&loaded, &f.checklist, &f.responses, &context);
        let deterministic = first == second && stats.fuel_used == stats2.fuel_used;
        let result = match first {
            Ok(Ok(card)) => CaseResult::Scored { card },
            Ok(Err(refusal)) => CaseResult::Refused { refusal },
            Err(e) => CaseResult::Failed {
                error: e.to_string(),
            },
        };
        cases.push(CaseReport {
            name: f.name.unwrap_or_else(|| format!("case {}", n + 1)),
            checklist: f.checklist,
            result,
            stats,
            deterministic,
        });
    }
    Ok(Report {
        sha256: loaded.sha256.clone(),
        contract: loaded.contract.clone(),
        manifest,
        checklists,
        problems,
        cases,
    })
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = &self.manifest;
        writeln!(
            f,
            "{} {} ({}) by {}, contract {}",
            m.name.default, m.version, m.id, m.publisher, self.contract
        )?;
        writeln!(f, "sha256 {}", self.sha256)?;
        writeln!(f, "{}", m.description.default)?;
        writeln!(f, "\nchecklists:")?;
        for c in &self.checklists {
            let items = c.items().count();
            writeln!(
                f,
                "  {:<24} {} — {} sections, {items} items",
                c.id,
                c.title.default,
                c.sections.len()
            )?;
        }
        if !self.problems.is_empty() {
            writeln!(f, "\nthe server would refuse this plugin:")?;
            for p in &self.problems {
                writeln!(f, "  ✗ {p}")?;
            }
        }
        writeln!(f, "\nscoring (each case run twice):")?;
        for c in &self.cases {
            let outcome = match &c.result {
                CaseResult::Scored { card } => format!(
                    "{} {}",
                    card.percentage
                        .map(|p| format!("{p:.1} %"))
                        .unwrap_or_else(|| "—".into()),
                    card.outcome.code
                ),
                CaseResult::Refused { refusal } => format!(
                    "refused: {}",
                    serde_json::to_string(refusal).unwrap_or_default()
                ),
                CaseResult::Failed { error } => format!("FAILED: {error}"),
            };
            writeln!(
                f,
                "  {:<24} {:<16} {outcome}\n  {:<24} fuel {} · peak memory {} KiB · output {} B · {} µs · {}",
                c.checklist,
                c.name,
                "",
                c.stats.fuel_used,
                c.stats.peak_memory_bytes / 1024,
                c.stats.output_bytes,
                c.stats.duration_us,
                if c.deterministic {
                    "runs agreed"
                } else {
                    "RUNS DISAGREED"
                }
            )?;
            for l in &c.stats.logs {
                writeln!(f, "  {:<24} log {}: {}", "", l.level, l.message)?;
            }
        }
        write!(
            f,
            "\n{}",
            if self.ok() {
                "OK: the server would accept this plugin."
            } else {
                "NOT OK."
            }
        )
    }
}
