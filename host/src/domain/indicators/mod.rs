//! The harmonised indicator catalogue and the computation of indicators over a quarter's data.
//!
//! Each indicator's numerator and denominator are formulas in the language of [`formula`],
//! so partners whose checklists differ feed one figure with one written definition. A formula
//! is checked when it is saved: its structure, which conditions its source takes, and that
//! every metric and checklist it names exists (some plugin version's dry run emitted it, or
//! some stored observation carries it). A formula that fails is a 422 on `numerator` or
//! `denominator` and nothing is written.
//!
//! Rules, and why:
//! - Everyone signed in reads the catalogue (a partner must know what its figures mean);
//!   admins and managers (project management) edit it. There is no deletion: a quarterly
//!   report approved last year must still name the indicator it froze, so indicators are
//!   deactivated instead.
//! - `code` is unique and stable enough to key exports; every create and edit is audited with
//!   the record before and after, and edits carry the `revision` they started from.
//! - Cadre and sex disaggregations only make sense when the numerator counts providers.

pub mod compute;
pub mod formula;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use crate::authz::{Actor, Role};
use crate::db::{Db, is_unique_violation};
use crate::domain::audit;
use crate::domain::quarter::Quarter;
use crate::error::{AppError, AppResult, Validator};
use formula::Formula;

/// Whose data an indicator is computed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Organisation(i64),
    /// Every organisation.
    Programme,
}

/// One computed figure.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Figure {
    /// None when the denominator is zero (or a mean has nothing to average).
    pub value: Option<f64>,
    pub numerator: f64,
    pub denominator: Option<f64>,
}

/// A figure for one district, facility, facility type, cadre or sex.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Breakdown {
    pub key: String,
    pub label: String,
    pub figure: Figure,
}

/// One indicator computed for a scope and a quarter.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct IndicatorFigures {
    pub code: String,
    pub name: String,
    pub unit: String,
    pub definition: String,
    pub target: Option<f64>,
    /// This quarter, this scope.
    pub total: Figure,
    /// Previous quarter, same scope.
    pub previous: Figure,
    /// Key = org unit id as text.
    pub by_district: Vec<Breakdown>,
    /// Only facilities with data.
    pub by_facility: Vec<Breakdown>,
    /// Other disaggregations the indicator declares: "facility_type" | "cadre" | "sex" -> rows.
    pub other: BTreeMap<String, Vec<Breakdown>>,
}

pub const UNITS: [&str; 4] = ["count", "percent", "mean", "ratio"];
pub const FREQUENCIES: [&str; 3] = ["monthly", "quarterly", "annual"];
pub const DISAGGREGATIONS: [&str; 5] = ["district", "facility", "facility_type", "cadre", "sex"];

/// A catalogue entry.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct Indicator {
    pub id: i64,
    /// Short stable code, e.g. `LDHF-01`.
    pub code: String,
    pub name: String,
    /// What the figure means, in words.
    pub definition: String,
    /// A formula, e.g. `observed_providers where metric hbb.osce_b.pass = 1`.
    pub numerator: String,
    /// A formula; absent for counts and means.
    pub denominator: Option<String>,
    /// `count`, `percent`, `mean` or `ratio`.
    pub unit: String,
    pub data_source: String,
    /// `monthly`, `quarterly` or `annual`.
    pub frequency: String,
    /// Subset of `district`, `facility`, `facility_type`, `cadre`, `sex`.
    pub disaggregations: Vec<String>,
    /// Target for one organisation in one quarter, in the indicator's unit.
    pub target: Option<f64>,
    /// Order in the catalogue and in reports.
    pub position: i64,
    pub active: bool,
    /// 1 when created, one more for every edit.
    pub revision: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(FromRow)]
struct IndicatorRow {
    id: i64,
    code: String,
    name: String,
    definition: String,
    numerator: String,
    denominator: Option<String>,
    unit: String,
    data_source: String,
    frequency: String,
    disaggregations: String,
    target: Option<f64>,
    position: i64,
    active: i64,
    revision: i64,
    created_at: String,
    updated_at: String,
}

impl From<IndicatorRow> for Indicator {
    fn from(r: IndicatorRow) -> Self {
        Indicator {
            id: r.id,
            code: r.code,
            name: r.name,
            definition: r.definition,
            numerator: r.numerator,
            denominator: r.denominator,
            unit: r.unit,
            data_source: r.data_source,
            frequency: r.frequency,
            disaggregations: split_list(&r.disaggregations),
            target: r.target,
            position: r.position,
            active: r.active != 0,
            revision: r.revision,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

macro_rules! columns {
    () => {
        "id, code, name, definition, numerator, denominator, unit, data_source, frequency,
         disaggregations, target, position, active, revision, created_at, updated_at"
    };
}

/// An indicator as a form or API body gives it. Every field is optional here so a missing
/// one is a 422 naming it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct IndicatorInput {
    pub code: Option<String>,
    pub name: Option<String>,
    pub definition: Option<String>,
    pub numerator: Option<String>,
    /// Required for `percent` and `ratio`; empty or absent for `count` and `mean`.
    pub denominator: Option<String>,
    pub unit: Option<String>,
    pub data_source: Option<String>,
    pub frequency: Option<String>,
    #[serde(default)]
    pub disaggregations: Vec<String>,
    pub target: Option<f64>,
    /// Defaults to the end of the catalogue.
    pub position: Option<i64>,
    /// Defaults to true.
    pub active: Option<bool>,
    /// On an edit: the revision the edit started from (409 if someone saved since).
    pub revision: Option<i64>,
}

/// Who may edit the catalogue: project management.
pub fn can_edit(actor: &Actor) -> bool {
    matches!(actor.role, Role::Admin | Role::Manager)
}

pub async fn list(db: &Db, include_inactive: bool) -> AppResult<Vec<Indicator>> {
    let rows: Vec<IndicatorRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM indicators WHERE ($1 = 1 OR active = 1) ORDER BY position, id"
    ))
    .bind(i64::from(include_inactive))
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Indicator::from).collect())
}

pub async fn find(db: &Db, id: i64) -> AppResult<Option<Indicator>> {
    let row: Option<IndicatorRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM indicators WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(Indicator::from))
}

pub async fn get(db: &Db, id: i64) -> AppResult<Indicator> {
    find(db, id).await?.ok_or(AppError::NotFound)
}

// ---------------------------------------------------------------------------------------------
// Validation

async fn count(db: &Db, sql: &'static str, value: &str) -> AppResult<i64> {
    Ok(sqlx::query_scalar(sql)
        .bind(value)
        .fetch_one(db.pool())
        .await?)
}

/// Whether some plugin version emitted the metric, or some observation carries it.
pub async fn metric_known(db: &Db, name: &str) -> AppResult<bool> {
    Ok(count(
        db,
        "SELECT COUNT(*) FROM (SELECT name FROM plugin_metrics WHERE name = $1 LIMIT 1) x",
        name,
    )
    .await?
        > 0
        || count(
            db,
            "SELECT COUNT(*) FROM (SELECT name FROM observation_metrics WHERE name = $1 LIMIT 1) x",
            name,
        )
        .await?
            > 0)
}

async fn checklist_known(db: &Db, id: &str) -> AppResult<bool> {
    Ok(count(
        db,
        "SELECT COUNT(*) FROM (SELECT name FROM plugin_metrics WHERE checklist_id = $1 LIMIT 1) x",
        id,
    )
    .await?
        > 0
        || count(
            db,
            "SELECT COUNT(*) FROM (SELECT id FROM observations WHERE checklist_id = $1 LIMIT 1) x",
            id,
        )
        .await?
            > 0)
}

/// The metric names plugins declared in their dry runs.
pub async fn known_metrics(db: &Db) -> AppResult<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT name FROM plugin_metrics ORDER BY name")
            .fetch_all(db.pool())
            .await?,
    )
}

/// A few known names to suggest instead of an unknown one: those of the same plugin first.
fn suggestions(known: &[String], unknown: &str) -> String {
    let prefix = unknown.split('.').next().unwrap_or("");
    let mut near: Vec<&str> = known
        .iter()
        .filter(|k| k.split('.').next() == Some(prefix))
        .map(String::as_str)
        .collect();
    if near.is_empty() {
        near = known.iter().map(String::as_str).collect();
    }
    if near.is_empty() {
        return "no plugin has declared any metric yet".into();
    }
    let more = near.len().saturating_sub(30);
    near.truncate(30);
    let mut s = format!("known metrics: {}", near.join(", "));
    if more > 0 {
        s.push_str(&format!(" (and {more} more)"));
    }
    s
}

/// Parses a formula and checks what it names against the database. Errors go on `field`.
pub async fn check_formula(
    db: &Db,
    v: &mut Validator,
    field: &str,
    text: &str,
) -> AppResult<Option<Formula>> {
    let f = match formula::parse(text) {
        Ok(f) => f,
        Err(e) => {
            v.add(field, "invalid_formula", e.to_string());
            return Ok(None);
        }
    };
    let mut ok = true;
    let mut known: Option<Vec<String>> = None;
    for name in f.metric_names() {
        if !metric_known(db, name).await? {
            if known.is_none() {
                known = Some(known_metrics(db).await?);
            }
            v.add(
                field,
                "unknown_metric",
                format!(
                    "unknown metric `{name}`: no plugin emits it and no observation carries it; {}",
                    suggestions(known.as_deref().unwrap_or(&[]), name)
                ),
            );
            ok = false;
        }
    }
    for id in f.checklist_ids() {
        if !checklist_known(db, id).await? {
            let ids: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT checklist_id FROM plugin_metrics ORDER BY checklist_id",
            )
            .fetch_all(db.pool())
            .await?;
            v.add(
                field,
                "formula_unknown_checklist",
                format!(
                    "unknown checklist `{id}`; known checklists: {}",
                    if ids.is_empty() {
                        "none yet".to_string()
                    } else {
                        ids.join(", ")
                    }
                ),
            );
            ok = false;
        }
    }
    Ok(ok.then_some(f))
}

#[derive(Clone, Debug, Serialize)]
struct Valid {
    code: String,
    name: String,
    definition: String,
    numerator: String,
    denominator: Option<String>,
    unit: String,
    data_source: String,
    frequency: String,
    disaggregations: String,
    target: Option<f64>,
    position: Option<i64>,
    active: bool,
}

fn choice(v: &mut Validator, field: &str, value: Option<&str>, allowed: &[&str]) -> String {
    let value = value.map(str::trim).unwrap_or("");
    if value.is_empty() {
        v.add(field, "required", "is required");
    } else if !allowed.contains(&value) {
        v.add(
            field,
            "invalid_choice",
            format!("must be one of {}", allowed.join(", ")),
        );
    }
    value.to_string()
}

async fn validate(db: &Db, input: &IndicatorInput) -> AppResult<Valid> {
    let mut v = Validator::new();
    let code = v.required_text("code", input.code.as_deref(), 40);
    if !code.is_empty()
        && !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        v.add(
            "code",
            "invalid_code",
            "letters, digits, `-`, `_` and `.` only",
        );
    }
    let name = v.required_text("name", input.name.as_deref(), 200);
    let definition = v.required_text("definition", input.definition.as_deref(), 2000);
    let data_source = v.required_text("data_source", input.data_source.as_deref(), 300);
    let unit = choice(&mut v, "unit", input.unit.as_deref(), &UNITS);
    let frequency = choice(
        &mut v,
        "frequency",
        input.frequency.as_deref(),
        &FREQUENCIES,
    );
    let numerator_text =
        v.required_text("numerator", input.numerator.as_deref(), formula::MAX_LENGTH);
    let numerator = if numerator_text.is_empty() {
        None
    } else {
        check_formula(db, &mut v, "numerator", &numerator_text).await?
    };
    let denominator_text = input
        .denominator
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string);
    let denominator = match &denominator_text {
        Some(d) => check_formula(db, &mut v, "denominator", d).await?,
        None => None,
    };
    match (unit.as_str(), &denominator_text) {
        ("percent" | "ratio", None) => v.add(
            "denominator",
            "required",
            "a percent or a ratio needs a denominator",
        ),
        ("count" | "mean", Some(_)) => v.add(
            "denominator",
            "denominator_not_allowed",
            "a count or a mean has no denominator; choose the unit percent or ratio",
        ),
        _ => {}
    }
    if let Some(n) = &numerator {
        let is_mean = matches!(
            n,
            Formula::Aggregate {
                aggregate: formula::Aggregate::Mean,
                ..
            }
        );
        if unit == "mean" && !is_mean {
            v.add(
                "numerator",
                "unit_mismatch",
                "the unit is mean, so the numerator must be mean(…)",
            );
        }
        if unit == "count" && is_mean {
            v.add(
                "unit",
                "unit_mismatch",
                "the numerator is a mean; choose the unit mean",
            );
        }
    }
    if let Some(Formula::Aggregate {
        aggregate: formula::Aggregate::Mean,
        ..
    }) = &denominator
    {
        v.add(
            "denominator",
            "invalid_formula",
            "a denominator counts or sums; it cannot be a mean",
        );
    }
    let mut dis: BTreeSet<&str> = BTreeSet::new();
    for d in &input.disaggregations {
        let d = d.trim();
        if d.is_empty() {
            continue;
        }
        match DISAGGREGATIONS.iter().find(|x| **x == d) {
            Some(known) => {
                dis.insert(known);
            }
            None => v.add(
                "disaggregations",
                "invalid_choice",
                format!(
                    "`{d}` is not a disaggregation; choose from {}",
                    DISAGGREGATIONS.join(", ")
                ),
            ),
        }
    }
    if let Some(n) = &numerator
        && !n.provider_based()
        && (dis.contains("cadre") || dis.contains("sex"))
    {
        v.add(
            "disaggregations",
            "not_provider_based",
            "cadre and sex apply only when the numerator counts providers",
        );
    }
    let disaggregations = DISAGGREGATIONS
        .iter()
        .filter(|d| dis.contains(*d))
        .copied()
        .collect::<Vec<_>>()
        .join(",");
    if let Some(t) = input.target
        && (!t.is_finite() || t < 0.0)
    {
        v.add("target", "out_of_range", "must be a number, 0 or more");
    }
    if let Some(p) = input.position
        && !(0..=100_000).contains(&p)
    {
        v.add("position", "out_of_range", "must be between 0 and 100000");
    }
    v.finish()?;
    Ok(Valid {
        code,
        name,
        definition,
        numerator: numerator_text,
        denominator: denominator_text,
        unit,
        data_source,
        frequency,
        disaggregations,
        target: input.target,
        position: input.position,
        active: input.active.unwrap_or(true),
    })
}

fn duplicate_code(code: &str) -> AppError {
    AppError::field(
        "code",
        "taken",
        format!("another indicator already has the code {code}"),
    )
}

/// Adds an indicator to the catalogue.
pub async fn create(db: &Db, actor: &Actor, input: &IndicatorInput) -> AppResult<Indicator> {
    if !can_edit(actor) {
        return Err(AppError::Forbidden);
    }
    let valid = validate(db, input).await?;
    let now = crate::time::now();
    let mut tx = db.begin().await?;
    let position = match valid.position {
        Some(p) => p,
        None => {
            let max: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM indicators")
                .fetch_one(&mut *tx)
                .await?;
            max.unwrap_or(0) + 10
        }
    };
    let inserted = sqlx::query_scalar(
        "INSERT INTO indicators (code, name, definition, numerator, denominator, unit, data_source,
            frequency, disaggregations, target, position, active, revision, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13) RETURNING id",
    )
    .bind(&valid.code)
    .bind(&valid.name)
    .bind(&valid.definition)
    .bind(&valid.numerator)
    .bind(&valid.denominator)
    .bind(&valid.unit)
    .bind(&valid.data_source)
    .bind(&valid.frequency)
    .bind(&valid.disaggregations)
    .bind(valid.target)
    .bind(position)
    .bind(i64::from(valid.active))
    .bind(&now)
    .fetch_one(&mut *tx)
    .await;
    let id: i64 = match inserted {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => return Err(duplicate_code(&valid.code)),
        Err(e) => return Err(e.into()),
    };
    let after: Indicator = sqlx::query_as::<_, IndicatorRow>(concat!(
        "SELECT ",
        columns!(),
        " FROM indicators WHERE id = $1"
    ))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?
    .into();
    audit::record(
        &mut tx,
        Some(actor),
        None,
        "create",
        "indicator",
        id,
        None::<&()>,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Replaces an indicator's definition. `input.revision` must be the stored revision.
pub async fn update(
    db: &Db,
    actor: &Actor,
    id: i64,
    input: &IndicatorInput,
) -> AppResult<Indicator> {
    if !can_edit(actor) {
        // Everyone reads the catalogue, so its entries are no secret: refuse plainly.
        find(db, id).await?.ok_or(AppError::NotFound)?;
        return Err(AppError::Forbidden);
    }
    let Some(revision) = input.revision else {
        get(db, id).await?;
        return Err(AppError::field(
            "revision",
            "required",
            "give the revision you started from",
        ));
    };
    get(db, id).await?;
    let valid = validate(db, input).await?;
    let now = crate::time::now();
    let mut tx = db.begin().await?;
    let before: Indicator = sqlx::query_as::<_, IndicatorRow>(concat!(
        "SELECT ",
        columns!(),
        " FROM indicators WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?
    .into();
    if before.revision != revision {
        return Err(AppError::Conflict(format!(
            "someone changed this indicator since you opened it (revision {} now, yours {revision}); reload and edit again",
            before.revision
        )));
    }
    let updated = sqlx::query(
        "UPDATE indicators SET code = $1, name = $2, definition = $3, numerator = $4, denominator = $5,
            unit = $6, data_source = $7, frequency = $8, disaggregations = $9, target = $10,
            position = $11, active = $12, revision = revision + 1, updated_at = $13
         WHERE id = $14",
    )
    .bind(&valid.code)
    .bind(&valid.name)
    .bind(&valid.definition)
    .bind(&valid.numerator)
    .bind(&valid.denominator)
    .bind(&valid.unit)
    .bind(&valid.data_source)
    .bind(&valid.frequency)
    .bind(&valid.disaggregations)
    .bind(valid.target)
    .bind(valid.position.unwrap_or(before.position))
    .bind(i64::from(valid.active))
    .bind(&now)
    .bind(id)
    .execute(&mut *tx)
    .await;
    match updated {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(duplicate_code(&valid.code)),
        Err(e) => return Err(e.into()),
    }
    let after: Indicator = sqlx::query_as::<_, IndicatorRow>(concat!(
        "SELECT ",
        columns!(),
        " FROM indicators WHERE id = $1"
    ))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?
    .into();
    audit::record(
        &mut tx,
        Some(actor),
        None,
        "update",
        "indicator",
        id,
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Activates or deactivates an indicator (the catalogue never deletes).
pub async fn set_active(
    db: &Db,
    actor: &Actor,
    id: i64,
    active: bool,
    revision: Option<i64>,
) -> AppResult<Indicator> {
    let current = get(db, id).await?;
    let input = IndicatorInput {
        code: Some(current.code.clone()),
        name: Some(current.name.clone()),
        definition: Some(current.definition.clone()),
        numerator: Some(current.numerator.clone()),
        denominator: current.denominator.clone(),
        unit: Some(current.unit.clone()),
        data_source: Some(current.data_source.clone()),
        frequency: Some(current.frequency.clone()),
        disaggregations: current.disaggregations.clone(),
        target: current.target,
        position: Some(current.position),
        active: Some(active),
        revision: revision.or(Some(current.revision)),
    };
    update(db, actor, id, &input).await
}

// ---------------------------------------------------------------------------------------------
// Computation

/// Who may see figures for a scope: their own organisation, or any (and the programme) for
/// admins and managers. Another organisation, or one that does not exist, is "not found".
pub async fn check_scope(db: &Db, actor: &Actor, scope: Scope) -> AppResult<()> {
    match scope {
        Scope::Programme if actor.reads_all_organisations() => Ok(()),
        Scope::Programme => Err(AppError::NotFound),
        Scope::Organisation(id) => {
            if !actor.can_read_org(id) {
                return Err(AppError::NotFound);
            }
            crate::domain::organisations::find(db, id)
                .await?
                .ok_or(AppError::NotFound)
                .map(|_| ())
        }
    }
}

/// The active indicators, in catalogue order, computed for a scope and a quarter.
pub async fn compute(db: &Db, scope: Scope, quarter: Quarter) -> AppResult<Vec<IndicatorFigures>> {
    let indicators = list(db, false).await?;
    compute_these(db, &indicators, scope, quarter).await
}

/// One indicator (active or not) computed for a scope the actor may see: the catalogue's
/// preview.
pub async fn preview(
    db: &Db,
    actor: &Actor,
    id: i64,
    scope: Scope,
    quarter: Quarter,
) -> AppResult<IndicatorFigures> {
    let indicator = get(db, id).await?;
    check_scope(db, actor, scope).await?;
    compute_these(db, std::slice::from_ref(&indicator), scope, quarter)
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// The catalogue's formulas, parsed once per computation.
struct Parsed<'a> {
    indicators: &'a [Indicator],
    /// Numerator and denominator of each indicator; `None` for a stored formula that no
    /// longer parses (it passed when saved; the language only grows).
    formulas: Vec<(Option<Formula>, Option<Formula>)>,
}

impl<'a> Parsed<'a> {
    fn new(indicators: &'a [Indicator]) -> Parsed<'a> {
        let formulas = indicators
            .iter()
            .map(|i| {
                let parse = |text: &str| match formula::parse(text) {
                    Ok(f) => Some(f),
                    Err(e) => {
                        tracing::warn!(indicator = %i.code, error = %e, "stored formula does not parse");
                        None
                    }
                };
                (
                    parse(&i.numerator),
                    i.denominator.as_deref().and_then(parse),
                )
            })
            .collect();
        Parsed {
            indicators,
            formulas,
        }
    }

    /// Both quarters' data for the formulas, and the unit tree, read at once (see
    /// `QuarterData::load`).
    async fn load(
        &self,
        db: &Db,
        scope: Scope,
        quarter: Quarter,
    ) -> AppResult<(compute::Units, compute::QuarterData, compute::QuarterData)> {
        let formulas: Vec<&Formula> = self
            .formulas
            .iter()
            .flat_map(|(n, d)| n.iter().chain(d.iter()))
            .collect();
        let mut metrics: Vec<String> = formulas
            .iter()
            .flat_map(|f| f.metric_names())
            .map(str::to_string)
            .collect();
        metrics.sort();
        metrics.dedup();
        let mut current = compute::QuarterData::new(scope, quarter);
        let mut previous = compute::QuarterData::new(scope, quarter.previous());
        let (units, (), ()) = tokio::try_join!(
            compute::Units::load(db),
            current.load(db, &formulas, &metrics),
            previous.load(db, &formulas, &metrics),
        )?;
        Ok((units, current, previous))
    }
}

/// Computes the given indicators. A stored formula that no longer parses yields empty
/// figures rather than failing the report.
pub async fn compute_these(
    db: &Db,
    indicators: &[Indicator],
    scope: Scope,
    quarter: Quarter,
) -> AppResult<Vec<IndicatorFigures>> {
    let parsed = Parsed::new(indicators);
    let (units, current, previous) = parsed.load(db, scope, quarter).await?;
    Ok(evaluate(&parsed, &units, &current, &previous))
}

/// The whole programme's figures and, from the same rows, each of `partners`' own figures:
/// what `compute` gives for `Scope::Organisation(partner)`, without reading the quarter again
/// for each partner (the programme view's columns).
pub async fn compute_programme(
    db: &Db,
    quarter: Quarter,
    partners: &[i64],
) -> AppResult<(Vec<IndicatorFigures>, Vec<Vec<IndicatorFigures>>)> {
    let indicators = list(db, false).await?;
    let parsed = Parsed::new(&indicators);
    let (units, current, previous) = parsed.load(db, Scope::Programme, quarter).await?;
    let programme = evaluate(&parsed, &units, &current, &previous);
    let each = partners
        .iter()
        .map(|org| evaluate(&parsed, &units, &current.only(*org), &previous.only(*org)))
        .collect();
    Ok((programme, each))
}

/// Every indicator's figures over loaded quarters.
fn evaluate(
    parsed: &Parsed,
    units: &compute::Units,
    current: &compute::QuarterData,
    previous: &compute::QuarterData,
) -> Vec<IndicatorFigures> {
    let indicators = parsed.indicators;
    let empty = Figure {
        value: None,
        numerator: 0.0,
        denominator: None,
    };
    let mut out = Vec::with_capacity(indicators.len());
    for (indicator, (num, den)) in indicators.iter().zip(&parsed.formulas) {
        let percent = indicator.unit == "percent";
        let mut figures = IndicatorFigures {
            code: indicator.code.clone(),
            name: indicator.name.clone(),
            unit: indicator.unit.clone(),
            definition: indicator.definition.clone(),
            target: indicator.target,
            total: empty.clone(),
            previous: empty.clone(),
            by_district: Vec::new(),
            by_facility: Vec::new(),
            other: BTreeMap::new(),
        };
        let Some(num) = num else {
            out.push(figures);
            continue;
        };
        if indicator.denominator.is_some() && den.is_none() {
            out.push(figures);
            continue;
        }
        // Each formula is evaluated once per quarter; the breakdowns regroup the same rows.
        let whole = |n: &compute::Rows, d: Option<&compute::Rows>| {
            compute::figure(
                n.rows.iter(),
                n.mean,
                d.map(|d| (d.rows.iter().collect(), d.mean)),
                percent,
            )
        };
        let (pn, pd) = (previous.rows(num), den.as_ref().map(|d| previous.rows(d)));
        figures.previous = whole(&pn, pd.as_ref());
        let (n, d) = (current.rows(num), den.as_ref().map(|d| current.rows(d)));
        figures.total = whole(&n, d.as_ref());
        figures.by_district = compute::breakdown(
            &n,
            d.as_ref(),
            percent,
            |r| r.facility.and_then(|f| units.district(f)),
            |id| units.name(*id),
        );
        figures.by_facility = compute::breakdown(
            &n,
            d.as_ref(),
            percent,
            |r| r.facility,
            |id| units.name(*id),
        );
        for dimension in &indicator.disaggregations {
            let people = &current.people;
            let rows = match dimension.as_str() {
                "facility_type" => compute::breakdown(
                    &n,
                    d.as_ref(),
                    percent,
                    |r| r.facility.and_then(|f| units.facility_type(f)),
                    |k| compute::label("facility_type", k),
                ),
                "cadre" if num.provider_based() => compute::breakdown(
                    &n,
                    d.as_ref(),
                    percent,
                    |r| r.provider.and_then(|p| people.cadre(p)),
                    |k| compute::label("cadre", k),
                ),
                "sex" if num.provider_based() => compute::breakdown(
                    &n,
                    d.as_ref(),
                    percent,
                    |r| r.provider.and_then(|p| people.sex(p)),
                    |k| compute::label("sex", k),
                ),
                _ => continue,
            };
            figures.other.insert(dimension.clone(), rows);
        }
        out.push(figures);
    }
    out
}
