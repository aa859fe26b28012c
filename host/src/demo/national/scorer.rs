//! The plugins: installed, shared as the partners share them, and scored through once per
//! distinct filled checklist and context.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, anyhow};

use super::bulk::{METRICS, OBSERVATIONS, Row, Tables};
use super::shape::{ChecklistName, GRANTS, LEVELS};
use super::world::World;
use super::{Rng, SEED};
use crate::db::Db;
use crate::domain::scoring;
use crate::error::Validator;
use crate::plugins::Registry;
use crate::plugins::grants::{self, GrantInput};
use crate::plugins::lifecycle::{self, Change};
use crate::plugins::model::{Checklist, Response, ScoreCard, ScoreContext};
use crate::plugins::registry::ChecklistRef;

/// A filled checklist from the bank.
pub(super) struct Pattern {
    pub responses: Vec<Response>,
    pub responses_json: String,
}

/// A plugin's score card, as stored.
pub(super) struct Card {
    percentage: Option<f64>,
    outcome_code: String,
    outcome_level: &'static str,
    card_json: String,
    /// Finite values, each name once, as `scoring::insert` keeps them.
    metrics: Vec<(String, f64)>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct CardKey {
    pub checklist: usize,
    pub level: u8,
    pub variant: u8,
    pub session_type: &'static str,
    pub cadre: &'static str,
    pub language: &'static str,
}

/// A checklist the generator uses, with what observations store of it.
pub(super) struct Listed {
    pub r: ChecklistRef,
    kind: &'static str,
    title_json: String,
}

pub(super) struct Scorer<'a> {
    registry: &'a Registry,
    /// Indexed by the order checklists were first asked for; the index seeds their bank.
    pub checklists: Vec<Listed>,
    patterns: HashMap<(usize, u8, u8), Arc<Pattern>>,
    cards: HashMap<CardKey, Arc<Card>>,
    pub calls: u64,
}

impl<'a> Scorer<'a> {
    pub(super) fn new(registry: &'a Registry) -> Scorer<'a> {
        Scorer {
            registry,
            checklists: Vec::new(),
            patterns: HashMap::new(),
            cards: HashMap::new(),
            calls: 0,
        }
    }

    /// The checklist an organisation may use, by plugin key and checklist id.
    pub(super) async fn usable(
        &mut self,
        organisation: i64,
        (plugin, checklist): ChecklistName,
    ) -> anyhow::Result<Option<usize>> {
        let found = self
            .registry
            .checklists(Some(organisation))
            .await
            .map_err(crate::cli::explain)?
            .into_iter()
            .find(|c| c.plugin_key == plugin && c.checklist.id == checklist);
        match found {
            Some(c) => Ok(Some(self.index(&c)?)),
            None => Ok(None),
        }
    }

    fn index(&mut self, r: &ChecklistRef) -> anyhow::Result<usize> {
        if let Some(i) = self.checklists.iter().position(|l| {
            l.r.plugin_version_id == r.plugin_version_id && l.r.checklist.id == r.checklist.id
        }) {
            return Ok(i);
        }
        self.checklists.push(Listed {
            kind: scoring::kind_str(r.checklist.kind),
            title_json: scoring::json(&r.checklist.title).map_err(crate::cli::explain)?,
            r: r.clone(),
        });
        Ok(self.checklists.len() - 1)
    }

    /// The bank's filled checklist for a skill level and variant, checked by the host the way
    /// a submission is.
    fn pattern(
        &mut self,
        checklist: usize,
        level: u8,
        variant: u8,
    ) -> anyhow::Result<Arc<Pattern>> {
        if let Some(p) = self.patterns.get(&(checklist, level, variant)) {
            return Ok(p.clone());
        }
        let c = &self.checklists[checklist].r.checklist;
        let mut rng = Rng::new(
            SEED ^ ((checklist as u64) << 40) ^ (u64::from(level) << 20) ^ u64::from(variant),
        );
        let skill = f64::from(level) / f64::from(LEVELS);
        let responses = crate::demo::activity::answers(c, skill, &mut rng);
        check(c, &responses, "responses")?;
        let pattern = Arc::new(Pattern {
            responses_json: scoring::json(&responses).map_err(crate::cli::explain)?,
            responses,
        });
        self.patterns
            .insert((checklist, level, variant), pattern.clone());
        Ok(pattern)
    }

    /// A bank checklist and its card: scored by the plugin the first time the key is seen.
    pub(super) async fn card(
        &mut self,
        key: CardKey,
        date: &str,
    ) -> anyhow::Result<(Arc<Pattern>, Arc<Card>)> {
        let pattern = self.pattern(key.checklist, key.level, key.variant)?;
        if let Some(card) = self.cards.get(&key) {
            return Ok((pattern, card.clone()));
        }
        let c = &self.checklists[key.checklist].r;
        let (version, checklist) = (c.plugin_version_id, c.checklist.id.clone());
        let context = ScoreContext {
            session_type: key.session_type.to_string(),
            mentee_cadre: key.cadre.to_string(),
            date: date.to_string(),
            language: key.language.to_string(),
        };
        let (card, _) = self
            .score(version, &checklist, pattern.responses.clone(), context)
            .await?;
        self.cards.insert(key, card.clone());
        Ok((pattern, card))
    }

    /// One plugin call: the card as stored, and the plugin's own for what else it reports.
    pub(super) async fn score(
        &mut self,
        version: i64,
        checklist: &str,
        responses: Vec<Response>,
        context: ScoreContext,
    ) -> anyhow::Result<(Arc<Card>, ScoreCard)> {
        self.calls += 1;
        let scored = self
            .registry
            .score(version, checklist, responses, context)
            .await
            .map_err(|e| anyhow!("scoring {checklist}: {e}"))?;
        let card = scored
            .outcome
            .map_err(|e| anyhow!("the plugin refused generated responses to {checklist}: {e:?}"))?;
        let mut metrics: Vec<(String, f64)> = Vec::with_capacity(card.metrics.len());
        for m in &card.metrics {
            if m.value.is_finite() && !metrics.iter().any(|(n, _)| *n == m.name) {
                metrics.push((m.name.clone(), m.value));
            }
        }
        let stored = Arc::new(Card {
            percentage: card.percentage,
            outcome_code: card.outcome.code.clone(),
            outcome_level: card.outcome.level.as_str(),
            card_json: scoring::json(&card).map_err(crate::cli::explain)?,
            metrics,
        });
        Ok((stored, card))
    }
}

/// Generated responses pass the host's check of a submission, or the generator has a bug.
pub(super) fn check(
    checklist: &Checklist,
    responses: &[Response],
    field: &str,
) -> anyhow::Result<()> {
    let mut v = Validator::new();
    scoring::check_responses(checklist, responses, field, &mut v);
    v.finish().map_err(crate::cli::explain).with_context(|| {
        format!(
            "generated responses to {} fail the host's check",
            checklist.id
        )
    })
}

impl Row<'_> {
    /// The columns observations and team assessments share: what was scored, the responses
    /// and the plugin's card.
    pub(super) fn scored(self, r: &ChecklistRef, responses_json: &str, card: &Card) -> Self {
        self.int(r.plugin_version_id)
            .text(&r.plugin_key)
            .text(&r.plugin_version)
            .text(&r.sha256)
            .text(&r.checklist.id)
            .text(responses_json)
            .opt_real(card.percentage)
            .text(&card.outcome_code)
            .text(card.outcome_level)
            .text(&card.card_json)
    }
}

/// Where an observation belongs: (session id, training id, training phase).
pub(super) type Owner<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);

/// Writes one scored checklist and its metrics.
#[allow(clippy::too_many_arguments)]
pub(super) fn observation_rows(
    t: &mut Tables,
    id: i64,
    owner: Owner<'_>,
    position: i64,
    provider: i64,
    day: &str,
    listed: &Listed,
    pattern: &Pattern,
    card: &Card,
    scored_at: &str,
) {
    t.row(&OBSERVATIONS)
        .int(id)
        .opt_text(owner.0)
        .opt_text(owner.1)
        .opt_text(owner.2)
        .int(position)
        .int(provider)
        .text(day)
        .text(&listed.r.checklist.version)
        .text(listed.kind)
        .text(&listed.title_json)
        .scored(&listed.r, &pattern.responses_json, card)
        .text(scored_at);
    for (name, value) in &card.metrics {
        t.row(&METRICS).int(id).text(name).real(*value);
    }
}

/// Installs and activates the bundled plugins, grants them as partners share them, and works
/// out which checklists each partner mentors with.
pub(super) async fn plugins(
    db: &Db,
    registry: &Registry,
    world: &mut World,
    scorer: &mut Scorer<'_>,
) -> anyhow::Result<()> {
    for (file, bytes) in crate::plugins::BUNDLED {
        let installed = lifecycle::install(db, registry, None, bytes.to_vec())
            .await
            .map_err(crate::cli::explain)
            .with_context(|| format!("installing the bundled plugin {file}"))?;
        let v = installed.version;
        if v.status == "inactive" && v.quarantined_at.is_none() {
            lifecycle::change(db, registry, None, v.id, Change::Activate)
                .await
                .map_err(crate::cli::explain)?;
        }
    }
    for (publisher, key, grantees) in GRANTS {
        let version: i64 = sqlx::query_scalar(
            "SELECT v.id FROM plugin_versions v JOIN organisations o ON o.id = v.organisation_id
             WHERE o.code = $1 AND v.plugin_key = $2 ORDER BY v.id LIMIT 1",
        )
        .bind(publisher)
        .bind(key)
        .fetch_one(db.pool())
        .await
        .with_context(|| format!("finding {publisher}'s plugin {key}"))?;
        for grantee in *grantees {
            let Some(p) = world.partners.iter().find(|p| p.spec.code == *grantee) else {
                continue;
            };
            let input = GrantInput {
                organisation_id: Some(p.id),
            };
            grants::add(db, None, version, &input)
                .await
                .map_err(crate::cli::explain)
                .with_context(|| format!("granting {key} to {grantee}"))?;
        }
    }
    for p in &mut world.partners {
        for ((plugin, checklist), session_type, weight) in p.spec.uses {
            let found = scorer
                .usable(p.id, (plugin, checklist))
                .await?
                .with_context(|| format!("{} may not use {plugin}/{checklist}", p.spec.code))?;
            p.uses.push((found, session_type, *weight));
        }
    }
    Ok(())
}
