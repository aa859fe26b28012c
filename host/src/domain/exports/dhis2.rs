//! DHIS2: the mapping admins maintain (indicator → data element and optional category option
//! combo; org unit → DHIS2 org unit), and an approved report as a `dataValueSets` document.
//!
//! Rules, and why:
//! - Admins maintain the mapping (it is shared reference data, like the facility hierarchy);
//!   admins and managers read it. Every change is audited with the mapping before and after.
//! - UIDs are checked as DHIS2 makes them: 11 characters, letters and digits, a letter first.
//!   An org unit UID belongs to one org unit, and an indicator's data element and category
//!   option combo to one indicator, so no two rows of an export overwrite each other in DHIS2.
//! - Only an approved report is exported (409 otherwise), from its frozen figures, so what
//!   DHIS2 receives is what was approved even when the live data have changed since.
//! - The download is a plain `dataValueSets` document, importable as it is: one value per
//!   mapped indicator and mapped facility with a value. What it leaves out is never dropped
//!   silently: [`Dhis2Gaps`] lists unmapped indicators, unmapped facilities that have figures,
//!   and facility figures without a value (a zero denominator). The gaps have their own
//!   endpoint and are shown on the report page before the download.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::authz::Actor;
use crate::db::{Db, Tx, is_unique_violation};
use crate::domain::reports::{self, Report};
use crate::domain::{Page, PageParams, audit, indicators, like_pattern, org_units};
use crate::error::{AppError, AppResult, Validator};

use super::filename_part;

// ---------------------------------------------------------------------------------------------
// UIDs

/// Whether a text is a DHIS2 UID: 11 ASCII letters and digits, the first a letter.
pub fn is_uid(s: &str) -> bool {
    s.len() == 11
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
}

/// A UID field: trimmed; empty is none; anything else must be a UID.
fn uid(v: &mut Validator, field: &str, value: Option<&str>) -> Option<String> {
    let value = value.map(str::trim).filter(|s| !s.is_empty())?;
    if !is_uid(value) {
        v.add(
            field,
            "invalid_uid",
            "must be a DHIS2 UID: 11 letters and digits, starting with a letter",
        );
    }
    Some(value.to_string())
}

fn required_uid(v: &mut Validator, field: &str, value: Option<&str>) -> String {
    match uid(v, field, value) {
        Some(u) => u,
        None => {
            v.add(field, "required", "is required");
            String::new()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Who may

fn check_read(actor: &Actor) -> AppResult<()> {
    if actor.reads_all_organisations() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn check_write(actor: &Actor) -> AppResult<()> {
    if actor.can_manage_reference_data() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Whether the actor sees the mapping pages.
pub fn may_read(actor: &Actor) -> bool {
    actor.reads_all_organisations()
}

/// Whether the actor edits the mapping.
pub fn may_write(actor: &Actor) -> bool {
    actor.can_manage_reference_data()
}

// ---------------------------------------------------------------------------------------------
// Indicator → data element

/// An indicator of the catalogue and the DHIS2 data element it feeds, if mapped.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct DataElementMapping {
    pub indicator_id: i64,
    pub code: String,
    pub name: String,
    pub active: bool,
    /// DHIS2 data element UID; none while unmapped.
    pub data_element: Option<String>,
    /// DHIS2 category option combo UID; none for the data element's default.
    pub category_option_combo: Option<String>,
    pub updated_at: Option<String>,
}

#[derive(FromRow)]
struct DataElementRow {
    indicator_id: i64,
    code: String,
    name: String,
    active: i64,
    data_element: Option<String>,
    category_option_combo: Option<String>,
    updated_at: Option<String>,
}

impl From<DataElementRow> for DataElementMapping {
    fn from(r: DataElementRow) -> Self {
        DataElementMapping {
            indicator_id: r.indicator_id,
            code: r.code,
            name: r.name,
            active: r.active != 0,
            data_element: r.data_element,
            category_option_combo: r.category_option_combo,
            updated_at: r.updated_at,
        }
    }
}

macro_rules! data_element_select {
    () => {
        "SELECT i.id AS indicator_id, i.code, i.name, i.active, d.data_element,
                d.category_option_combo, d.updated_at
         FROM indicators i LEFT JOIN dhis2_data_elements d ON d.indicator_id = i.id"
    };
}

/// A data element mapping as a form or API body gives it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct DataElementInput {
    /// DHIS2 data element UID, e.g. `fbfJHSPpUQD`.
    pub data_element: Option<String>,
    /// DHIS2 category option combo UID; empty or absent for the default.
    pub category_option_combo: Option<String>,
}

/// Every indicator (active or not), in catalogue order, with its mapping.
pub async fn data_elements(db: &Db, actor: &Actor) -> AppResult<Vec<DataElementMapping>> {
    check_read(actor)?;
    let rows: Vec<DataElementRow> = sqlx::query_as(concat!(
        data_element_select!(),
        " ORDER BY i.position, i.id"
    ))
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(DataElementMapping::from).collect())
}

async fn data_element(db: &Db, indicator_id: i64) -> AppResult<DataElementMapping> {
    let row: Option<DataElementRow> =
        sqlx::query_as(concat!(data_element_select!(), " WHERE i.id = $1"))
            .bind(indicator_id)
            .fetch_optional(db.pool())
            .await?;
    row.map(DataElementMapping::from).ok_or(AppError::NotFound)
}

/// Maps an indicator to a data element (and category option combo), replacing any mapping.
pub async fn set_data_element(
    db: &Db,
    actor: &Actor,
    indicator_id: i64,
    input: &DataElementInput,
) -> AppResult<DataElementMapping> {
    set::<DataElements>(db, actor, indicator_id, |v| {
        let element = required_uid(v, "data_element", input.data_element.as_deref());
        let combo = uid(
            v,
            "category_option_combo",
            input.category_option_combo.as_deref(),
        );
        (element, combo)
    })
    .await?;
    data_element(db, indicator_id).await
}

/// Removes an indicator's mapping; an unmapped indicator stays unmapped (no change, no audit).
pub async fn clear_data_element(db: &Db, actor: &Actor, indicator_id: i64) -> AppResult<()> {
    clear::<DataElements>(db, actor, indicator_id).await
}

// ---------------------------------------------------------------------------------------------
// Org unit → DHIS2 org unit

/// An org unit and the DHIS2 org unit it is, if mapped.
#[derive(Clone, Debug, Serialize, FromRow, ToSchema, PartialEq)]
pub struct OrgUnitMapping {
    pub org_unit_id: i64,
    pub code: String,
    pub name: String,
    /// `country`, `province`, `district` or `facility`.
    pub level: String,
    /// DHIS2 org unit UID; none while unmapped.
    pub dhis2_uid: Option<String>,
    pub updated_at: Option<String>,
}

macro_rules! org_unit_select {
    () => {
        "SELECT u.id AS org_unit_id, u.code, u.name, u.level, m.dhis2_uid, m.updated_at
         FROM org_units u LEFT JOIN dhis2_org_units m ON m.org_unit_id = u.id"
    };
}

macro_rules! org_unit_conditions {
    () => {
        " WHERE ($1 IS NULL OR LOWER(u.name) LIKE $1 ESCAPE '\\' OR LOWER(u.code) LIKE $1 ESCAPE '\\')
            AND ($2 IS NULL OR u.level = $2)
            AND ($3 IS NULL OR ($3 = 1 AND m.dhis2_uid IS NOT NULL) OR ($3 = 0 AND m.dhis2_uid IS NULL))"
    };
}

/// Which org units to list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
pub struct OrgUnitMappingFilter {
    /// Search in name and code.
    pub q: Option<String>,
    /// `country`, `province`, `district` or `facility`.
    pub level: Option<String>,
    /// Only mapped (`true`) or only unmapped (`false`) org units.
    pub mapped: Option<bool>,
}

/// A DHIS2 org unit mapping as a form or API body gives it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct OrgUnitInput {
    /// DHIS2 org unit UID, e.g. `DiszpKrYNg8`.
    pub dhis2_uid: Option<String>,
}

/// Org units by name with their mapping, 50 to a page unless asked otherwise.
pub async fn org_unit_mappings(
    db: &Db,
    actor: &Actor,
    filter: &OrgUnitMappingFilter,
    page: &PageParams,
) -> AppResult<Page<OrgUnitMapping>> {
    check_read(actor)?;
    let level = filter
        .level
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    if let Some(l) = level
        && !org_units::LEVELS.contains(&l)
    {
        return Err(AppError::field(
            "level",
            "invalid_choice",
            format!("must be one of {}", org_units::LEVELS.join(", ")),
        ));
    }
    let (page, per_page, offset) = page.resolve(50);
    let pattern = like_pattern(filter.q.as_deref());
    let mapped = filter.mapped.map(i64::from);
    let items = sqlx::query_as(concat!(
        org_unit_select!(),
        org_unit_conditions!(),
        " ORDER BY u.name, u.id LIMIT $4 OFFSET $5"
    ))
    .bind(&pattern)
    .bind(level)
    .bind(mapped)
    .bind(per_page)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    let total = sqlx::query_scalar(concat!(
        "SELECT COUNT(*) FROM org_units u LEFT JOIN dhis2_org_units m ON m.org_unit_id = u.id",
        org_unit_conditions!()
    ))
    .bind(&pattern)
    .bind(level)
    .bind(mapped)
    .fetch_one(db.pool())
    .await?;
    Ok(Page {
        items,
        total,
        page,
        per_page,
    })
}

async fn org_unit_mapping(db: &Db, org_unit_id: i64) -> AppResult<OrgUnitMapping> {
    sqlx::query_as(concat!(org_unit_select!(), " WHERE u.id = $1"))
        .bind(org_unit_id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(AppError::NotFound)
}

/// Maps an org unit to a DHIS2 org unit, replacing any mapping.
pub async fn set_org_unit(
    db: &Db,
    actor: &Actor,
    org_unit_id: i64,
    input: &OrgUnitInput,
) -> AppResult<OrgUnitMapping> {
    set::<OrgUnits>(db, actor, org_unit_id, |v| {
        required_uid(v, "dhis2_uid", input.dhis2_uid.as_deref())
    })
    .await?;
    org_unit_mapping(db, org_unit_id).await
}

/// Removes an org unit's mapping; an unmapped one stays unmapped (no change, no audit).
pub async fn clear_org_unit(db: &Db, actor: &Actor, org_unit_id: i64) -> AppResult<()> {
    clear::<OrgUnits>(db, actor, org_unit_id).await
}

// ---------------------------------------------------------------------------------------------
// Writing either mapping

/// What a mapping row belongs to (an indicator or an org unit), as the audit log names it.
struct Target {
    id: i64,
    code: String,
}

/// One of the two mappings. Both follow the same rules, written once in [`set`] and
/// [`clear`]: a value another row holds is refused, an unchanged value writes nothing, and
/// every change is audited with before and after in its own transaction. What differs is the
/// table, its value columns, and the words of the audit entry and of the refusal.
trait MappingTable {
    /// The audit log's entity.
    const ENTITY: &'static str;
    /// The holder named when the unique index refused a write that another admin's beat.
    const ANOTHER: &'static str;
    /// The mapped value, as stored.
    type Value: PartialEq + Send + Sync;

    async fn target(db: &Db, id: i64) -> AppResult<Option<Target>>;
    /// The field error for a value `holder` already has.
    fn taken(holder: &str) -> AppError;
    /// What the audit log keeps of a value.
    fn snapshot<'a>(target: &'a Target, value: &'a Self::Value) -> impl Serialize + 'a;
    /// The other target that has the value, if one does.
    async fn holder(tx: &mut Tx, target: i64, value: &Self::Value) -> AppResult<Option<String>>;
    async fn stored(tx: &mut Tx, target: i64) -> AppResult<Option<Self::Value>>;
    /// Inserts or replaces the target's row; the unique index's refusal is the caller's to name.
    async fn upsert(
        tx: &mut Tx,
        target: i64,
        value: &Self::Value,
        now: &str,
    ) -> Result<(), sqlx::Error>;
    async fn delete(tx: &mut Tx, target: i64) -> AppResult<()>;
}

/// Maps a target to the value `read` validates from the input, replacing any mapping.
async fn set<M: MappingTable>(
    db: &Db,
    actor: &Actor,
    target: i64,
    read: impl FnOnce(&mut Validator) -> M::Value,
) -> AppResult<()> {
    check_write(actor)?;
    let target = M::target(db, target).await?.ok_or(AppError::NotFound)?;
    let mut v = Validator::new();
    let value = read(&mut v);
    v.finish()?;

    let now = crate::time::now();
    let mut tx = db.begin().await?;
    if let Some(holder) = M::holder(&mut tx, target.id, &value).await? {
        return Err(M::taken(&holder));
    }
    let before = M::stored(&mut tx, target.id).await?;
    if before.as_ref() == Some(&value) {
        // Nothing changes; nothing to audit.
        return Ok(());
    }
    match M::upsert(&mut tx, target.id, &value, &now).await {
        // Another admin mapped the same value a moment ago (PostgreSQL; SQLite has one writer).
        Err(e) if is_unique_violation(&e) => return Err(M::taken(M::ANOTHER)),
        written => written?,
    }
    audit::record(
        &mut tx,
        Some(actor),
        None,
        if before.is_some() { "edit" } else { "create" },
        M::ENTITY,
        target.id,
        before.as_ref().map(|b| M::snapshot(&target, b)).as_ref(),
        Some(&M::snapshot(&target, &value)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a target's mapping; an unmapped target stays unmapped (no change, no audit).
async fn clear<M: MappingTable>(db: &Db, actor: &Actor, target: i64) -> AppResult<()> {
    check_write(actor)?;
    let target = M::target(db, target).await?.ok_or(AppError::NotFound)?;
    let mut tx = db.begin().await?;
    let Some(before) = M::stored(&mut tx, target.id).await? else {
        return Ok(());
    };
    M::delete(&mut tx, target.id).await?;
    audit::record(
        &mut tx,
        Some(actor),
        None,
        "delete",
        M::ENTITY,
        target.id,
        Some(&M::snapshot(&target, &before)),
        None::<&()>,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Indicator → data element and category option combo (none for the default).
struct DataElements;

/// What the audit log keeps of a data element mapping.
#[derive(Serialize)]
struct DataElementSnapshot<'a> {
    indicator_id: i64,
    indicator_code: &'a str,
    data_element: &'a str,
    category_option_combo: Option<&'a str>,
}

impl MappingTable for DataElements {
    const ENTITY: &'static str = "dhis2_data_element";
    const ANOTHER: &'static str = "another";
    type Value = (String, Option<String>);

    async fn target(db: &Db, id: i64) -> AppResult<Option<Target>> {
        let indicator = indicators::find(db, id).await?;
        Ok(indicator.map(|i| Target {
            id: i.id,
            code: i.code,
        }))
    }

    fn taken(holder: &str) -> AppError {
        AppError::field(
            "data_element",
            "taken",
            format!("indicator {holder} already feeds this data element and category option combo"),
        )
    }

    fn snapshot<'a>(target: &'a Target, value: &'a Self::Value) -> impl Serialize + 'a {
        DataElementSnapshot {
            indicator_id: target.id,
            indicator_code: &target.code,
            data_element: &value.0,
            category_option_combo: value.1.as_deref(),
        }
    }

    async fn holder(tx: &mut Tx, target: i64, value: &Self::Value) -> AppResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT i.code FROM dhis2_data_elements d JOIN indicators i ON i.id = d.indicator_id
             WHERE d.data_element = $1 AND COALESCE(d.category_option_combo, '') = $2
               AND d.indicator_id <> $3",
        )
        .bind(&value.0)
        .bind(value.1.as_deref().unwrap_or(""))
        .bind(target)
        .fetch_optional(&mut **tx)
        .await?)
    }

    async fn stored(tx: &mut Tx, target: i64) -> AppResult<Option<Self::Value>> {
        Ok(sqlx::query_as(
            "SELECT data_element, category_option_combo FROM dhis2_data_elements
             WHERE indicator_id = $1",
        )
        .bind(target)
        .fetch_optional(&mut **tx)
        .await?)
    }

    async fn upsert(
        tx: &mut Tx,
        target: i64,
        value: &Self::Value,
        now: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO dhis2_data_elements (indicator_id, data_element, category_option_combo, updated_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (indicator_id) DO UPDATE SET data_element = excluded.data_element,
                 category_option_combo = excluded.category_option_combo, updated_at = excluded.updated_at",
        )
        .bind(target)
        .bind(&value.0)
        .bind(&value.1)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn delete(tx: &mut Tx, target: i64) -> AppResult<()> {
        sqlx::query("DELETE FROM dhis2_data_elements WHERE indicator_id = $1")
            .bind(target)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// Org unit → DHIS2 org unit UID.
struct OrgUnits;

#[derive(Serialize)]
struct OrgUnitSnapshot<'a> {
    org_unit_id: i64,
    org_unit_code: &'a str,
    dhis2_uid: &'a str,
}

impl MappingTable for OrgUnits {
    const ENTITY: &'static str = "dhis2_org_unit";
    const ANOTHER: &'static str = "another org unit";
    type Value = String;

    async fn target(db: &Db, id: i64) -> AppResult<Option<Target>> {
        let unit = org_units::find(db, id).await?;
        Ok(unit.map(|u| Target {
            id: u.id,
            code: u.code,
        }))
    }

    fn taken(holder: &str) -> AppError {
        AppError::field(
            "dhis2_uid",
            "taken",
            format!("this DHIS2 org unit is already mapped to {holder}"),
        )
    }

    fn snapshot<'a>(target: &'a Target, value: &'a Self::Value) -> impl Serialize + 'a {
        OrgUnitSnapshot {
            org_unit_id: target.id,
            org_unit_code: &target.code,
            dhis2_uid: value,
        }
    }

    async fn holder(tx: &mut Tx, target: i64, value: &Self::Value) -> AppResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT u.name FROM dhis2_org_units m JOIN org_units u ON u.id = m.org_unit_id
             WHERE m.dhis2_uid = $1 AND m.org_unit_id <> $2",
        )
        .bind(value)
        .bind(target)
        .fetch_optional(&mut **tx)
        .await?)
    }

    async fn stored(tx: &mut Tx, target: i64) -> AppResult<Option<Self::Value>> {
        Ok(
            sqlx::query_scalar("SELECT dhis2_uid FROM dhis2_org_units WHERE org_unit_id = $1")
                .bind(target)
                .fetch_optional(&mut **tx)
                .await?,
        )
    }

    async fn upsert(
        tx: &mut Tx,
        target: i64,
        value: &Self::Value,
        now: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO dhis2_org_units (org_unit_id, dhis2_uid, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (org_unit_id) DO UPDATE SET dhis2_uid = excluded.dhis2_uid,
                 updated_at = excluded.updated_at",
        )
        .bind(target)
        .bind(value)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn delete(tx: &mut Tx, target: i64) -> AppResult<()> {
        sqlx::query("DELETE FROM dhis2_org_units WHERE org_unit_id = $1")
            .bind(target)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The export

/// A DHIS2 `dataValueSets` import document.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DataValueSet {
    /// The data set, when the caller named one (`data_set`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_set: Option<String>,
    /// The quarter as a DHIS2 period, e.g. `2026Q3`.
    pub period: String,
    pub data_values: Vec<DataValue>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DataValue {
    pub data_element: String,
    pub period: String,
    pub org_unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_option_combo: Option<String>,
    /// The indicator's value at the facility, as DHIS2 takes it: a decimal number as text.
    pub value: String,
}

/// An indicator of the report without a DHIS2 data element.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct IndicatorGap {
    pub code: String,
    pub name: String,
    /// How many facilities have a figure for it this quarter.
    pub facilities_with_figures: usize,
}

/// A facility with figures but without a DHIS2 org unit.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct FacilityGap {
    pub org_unit_id: i64,
    pub code: Option<String>,
    pub name: String,
    /// The indicators it has figures for.
    pub indicators: Vec<String>,
}

/// A mapped indicator at a mapped facility whose figure has no value (a zero denominator).
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct ValueGap {
    pub indicator_code: String,
    pub org_unit_id: i64,
    pub facility: String,
}

/// What the DHIS2 export of a report holds and leaves out.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct Dhis2Gaps {
    pub organisation_id: i64,
    pub organisation_code: String,
    pub quarter: String,
    pub status: String,
    /// `approved` (the frozen figures) or `live`.
    pub figures_source: String,
    /// The export can be downloaded: the report is approved.
    pub exportable: bool,
    /// How many data values the export holds (or would, once approved).
    pub data_values: usize,
    /// Nothing is left out.
    pub complete: bool,
    pub unmapped_indicators: Vec<IndicatorGap>,
    pub unmapped_facilities: Vec<FacilityGap>,
    pub missing_values: Vec<ValueGap>,
}

/// A value as DHIS2 takes it: at most four decimals, no trailing zeros, no exponent.
pub fn value_text(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

struct Mapping {
    /// Indicator code → (data element, category option combo).
    elements: HashMap<String, (String, Option<String>)>,
    /// Org unit id → DHIS2 UID.
    units: HashMap<i64, String>,
    /// Facility id → code, for naming gaps.
    codes: HashMap<i64, String>,
}

async fn mapping(db: &Db) -> AppResult<Mapping> {
    let elements: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT i.code, d.data_element, d.category_option_combo
         FROM dhis2_data_elements d JOIN indicators i ON i.id = d.indicator_id",
    )
    .fetch_all(db.pool())
    .await?;
    let units: Vec<(i64, String)> =
        sqlx::query_as("SELECT org_unit_id, dhis2_uid FROM dhis2_org_units")
            .fetch_all(db.pool())
            .await?;
    let codes: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, code FROM org_units WHERE level = 'facility'")
            .fetch_all(db.pool())
            .await?;
    Ok(Mapping {
        elements: elements
            .into_iter()
            .map(|(code, e, c)| (code, (e, c)))
            .collect(),
        units: units.into_iter().collect(),
        codes: codes.into_iter().collect(),
    })
}

/// The document and its gaps, from the figures the report shows (frozen once approved).
fn build(r: &Report, m: &Mapping, data_set: Option<String>) -> (DataValueSet, Dhis2Gaps) {
    let period = r.summary.quarter.clone();
    let mut values = Vec::new();
    let mut unmapped_indicators = Vec::new();
    let mut unmapped_facilities: Vec<FacilityGap> = Vec::new();
    let mut missing_values = Vec::new();
    for f in &r.figures {
        let element = m.elements.get(&f.code);
        if element.is_none() {
            unmapped_indicators.push(IndicatorGap {
                code: f.code.clone(),
                name: f.name.clone(),
                facilities_with_figures: f.by_facility.len(),
            });
        }
        for b in &f.by_facility {
            // Keys of facility breakdowns are org unit ids; one that is not cannot be mapped.
            let id: Option<i64> = b.key.parse().ok();
            let unit = id.and_then(|id| m.units.get(&id));
            if unit.is_none() {
                let id = id.unwrap_or_default();
                match unmapped_facilities.iter_mut().find(|g| g.org_unit_id == id) {
                    Some(g) => g.indicators.push(f.code.clone()),
                    None => unmapped_facilities.push(FacilityGap {
                        org_unit_id: id,
                        code: m.codes.get(&id).cloned(),
                        name: b.label.clone(),
                        indicators: vec![f.code.clone()],
                    }),
                }
            }
            let (Some((element, combo)), Some(unit)) = (element, unit) else {
                continue;
            };
            match b.figure.value.filter(|v| v.is_finite()) {
                Some(v) => values.push(DataValue {
                    data_element: element.clone(),
                    period: period.clone(),
                    org_unit: unit.clone(),
                    category_option_combo: combo.clone(),
                    value: value_text(v),
                }),
                None => missing_values.push(ValueGap {
                    indicator_code: f.code.clone(),
                    org_unit_id: id.unwrap_or_default(),
                    facility: b.label.clone(),
                }),
            }
        }
    }
    unmapped_facilities.sort_by(|a, b| a.name.cmp(&b.name).then(a.org_unit_id.cmp(&b.org_unit_id)));
    let gaps = Dhis2Gaps {
        organisation_id: r.summary.organisation_id,
        organisation_code: r.summary.organisation_code.clone(),
        quarter: period.clone(),
        status: r.summary.status.clone(),
        figures_source: r.figures_source.clone(),
        exportable: r.summary.status == "approved",
        data_values: values.len(),
        complete: unmapped_indicators.is_empty()
            && unmapped_facilities.is_empty()
            && missing_values.is_empty(),
        unmapped_indicators,
        unmapped_facilities,
        missing_values,
    };
    (
        DataValueSet {
            data_set,
            period,
            data_values: values,
        },
        gaps,
    )
}

/// The gaps of a report already read (the report page has it in hand).
pub async fn gaps_of(db: &Db, r: &Report) -> AppResult<Dhis2Gaps> {
    let m = mapping(db).await?;
    Ok(build(r, &m, None).1)
}

/// What the DHIS2 export of a report the actor may read holds and leaves out; before approval,
/// computed on the live figures so the mapping can be completed in time.
pub async fn gaps(
    db: &Db,
    actor: &Actor,
    organisation_id: i64,
    quarter: &str,
) -> AppResult<Dhis2Gaps> {
    let r = reports::get(db, actor, organisation_id, quarter).await?;
    gaps_of(db, &r).await
}

/// Query parameters of the DHIS2 download.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
pub struct Dhis2Params {
    /// A DHIS2 data set UID to name in the document (`dataSet`).
    pub data_set: Option<String>,
}

/// An approved report as a `dataValueSets` document, with its file name
/// (`RAM-2026Q3-dhis2.json`).
pub async fn data_value_set(
    db: &Db,
    actor: &Actor,
    organisation_id: i64,
    quarter: &str,
    params: &Dhis2Params,
) -> AppResult<(DataValueSet, String)> {
    let r = reports::get(db, actor, organisation_id, quarter).await?;
    let mut v = Validator::new();
    let data_set = uid(&mut v, "data_set", params.data_set.as_deref());
    v.finish()?;
    if r.summary.status != "approved" || r.figures_source != "approved" {
        return Err(AppError::Conflict(format!(
            "only an approved report is exported to DHIS2; this one is {}",
            r.summary.status.replace('_', " ")
        )));
    }
    let m = mapping(db).await?;
    let (doc, _) = build(&r, &m, data_set);
    let name = format!(
        "{}-{}-dhis2.json",
        filename_part(&r.summary.organisation_code),
        filename_part(&r.summary.quarter)
    );
    Ok((doc, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_checked_as_dhis2_makes_them() {
        assert!(is_uid("fbfJHSPpUQD"));
        assert!(is_uid("a1234567890"));
        assert!(!is_uid("1bfJHSPpUQD"), "a digit first");
        assert!(!is_uid("fbfJHSPpUQ"), "10 characters");
        assert!(!is_uid("fbfJHSPpUQDx"), "12 characters");
        assert!(!is_uid("fbfJHSP-UQD"), "not alphanumeric");
        assert!(!is_uid("fbfJHSPpUQé"), "not ASCII");
    }

    #[test]
    fn values_are_plain_decimals() {
        assert_eq!(value_text(3.0), "3");
        assert_eq!(value_text(83.333333), "83.3333");
        assert_eq!(value_text(0.5), "0.5");
        assert_eq!(value_text(-0.00001), "0");
        assert_eq!(value_text(1e21), "1000000000000000000000");
    }
}
