//! The org-unit hierarchy: country → province → district → facility. Shared reference data,
//! read by everyone signed in and maintained by admins. Codes are stable so they can be
//! mapped to DHIS2 org units later.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::authz::Actor;
use crate::db::{Db, Tx, is_unique_violation};
use crate::domain::{Page, PageParams, audit, like_pattern};
use crate::error::{AppError, AppResult, Validator};

pub const LEVELS: [&str; 4] = ["country", "province", "district", "facility"];
pub const FACILITY_TYPES: [&str; 3] = ["hospital", "health_centre", "health_post"];

macro_rules! columns {
    () => {
        "id, parent_id, level, facility_type, code, name, path, created_at, updated_at"
    };
}

#[derive(Clone, Debug, Serialize, FromRow, ToSchema)]
pub struct OrgUnit {
    pub id: i64,
    pub parent_id: Option<i64>,
    /// `country`, `province`, `district` or `facility`.
    pub level: String,
    /// For facilities: `hospital`, `health_centre` or `health_post`.
    pub facility_type: Option<String>,
    pub code: String,
    pub name: String,
    /// Ancestor ids, e.g. `/1/4/19/`.
    pub path: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct NewOrgUnit {
    pub parent_id: Option<i64>,
    /// Parent by code, an alternative to `parent_id` (CSV imports use it).
    pub parent_code: Option<String>,
    pub level: Option<String>,
    pub facility_type: Option<String>,
    pub code: Option<String>,
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
pub struct OrgUnitFilter {
    /// Search in name and code.
    pub q: Option<String>,
    /// Direct children of this unit.
    pub parent_id: Option<i64>,
    /// Everything below this unit.
    pub within: Option<i64>,
    pub level: Option<String>,
    pub facility_type: Option<String>,
    /// 1-based page number.
    pub page: Option<i64>,
    /// Items per page, at most 200.
    pub per_page: Option<i64>,
}

impl OrgUnitFilter {
    pub fn paging(&self) -> PageParams {
        PageParams {
            page: self.page,
            per_page: self.per_page,
        }
    }
}

fn parent_level(level: &str) -> Option<&'static str> {
    match level {
        "province" => Some("country"),
        "district" => Some("province"),
        "facility" => Some("district"),
        _ => None,
    }
}

pub async fn find(db: &Db, id: i64) -> AppResult<Option<OrgUnit>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM org_units WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?)
}

pub async fn find_by_code(db: &Db, code: &str) -> AppResult<Option<OrgUnit>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM org_units WHERE code = $1"
    ))
    .bind(code)
    .fetch_optional(db.pool())
    .await?)
}

pub async fn get(db: &Db, id: i64) -> AppResult<OrgUnit> {
    find(db, id).await?.ok_or(AppError::NotFound)
}

/// The unit's ancestors from the country down, for breadcrumbs.
pub async fn ancestors(db: &Db, unit: &OrgUnit) -> AppResult<Vec<OrgUnit>> {
    let mut out = Vec::new();
    for id in unit
        .path
        .split('/')
        .filter_map(|s| s.parse::<i64>().ok())
        .filter(|id| *id != unit.id)
    {
        if let Some(u) = find(db, id).await? {
            out.push(u);
        }
    }
    Ok(out)
}

pub async fn list(db: &Db, filter: &OrgUnitFilter, page: &PageParams) -> AppResult<Page<OrgUnit>> {
    let (page, per_page, offset) = page.resolve(50);
    let pattern = like_pattern(filter.q.as_deref());
    let within = match filter.within {
        Some(id) => Some(format!("{}%", get(db, id).await?.path)),
        None => None,
    };
    let level = filter.level.as_deref().filter(|l| !l.is_empty());
    let ftype = filter.facility_type.as_deref().filter(|l| !l.is_empty());
    let items = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM org_units
         WHERE ($1 IS NULL OR LOWER(name) LIKE $1 ESCAPE '\\' OR LOWER(code) LIKE $1 ESCAPE '\\')
           AND ($2 IS NULL OR parent_id = $2)
           AND ($3 IS NULL OR path LIKE $3)
           AND ($4 IS NULL OR level = $4)
           AND ($5 IS NULL OR facility_type = $5)
         ORDER BY name, id LIMIT $6 OFFSET $7"
    ))
    .bind(&pattern)
    .bind(filter.parent_id)
    .bind(&within)
    .bind(level)
    .bind(ftype)
    .bind(per_page)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    let total = sqlx::query_scalar(
        "SELECT COUNT(*) FROM org_units
         WHERE ($1 IS NULL OR LOWER(name) LIKE $1 ESCAPE '\\' OR LOWER(code) LIKE $1 ESCAPE '\\')
           AND ($2 IS NULL OR parent_id = $2)
           AND ($3 IS NULL OR path LIKE $3)
           AND ($4 IS NULL OR level = $4)
           AND ($5 IS NULL OR facility_type = $5)",
    )
    .bind(&pattern)
    .bind(filter.parent_id)
    .bind(&within)
    .bind(level)
    .bind(ftype)
    .fetch_one(db.pool())
    .await?;
    Ok(Page {
        items,
        total,
        page,
        per_page,
    })
}

/// Countries: the roots of the hierarchy.
pub async fn roots(db: &Db) -> AppResult<Vec<OrgUnit>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM org_units WHERE parent_id IS NULL ORDER BY name"
    ))
    .fetch_all(db.pool())
    .await?)
}

pub async fn children(db: &Db, parent_id: i64) -> AppResult<Vec<OrgUnit>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM org_units WHERE parent_id = $1 ORDER BY name"
    ))
    .bind(parent_id)
    .fetch_all(db.pool())
    .await?)
}

/// Every facility, for choosers on forms, labelled "District › Facility".
pub async fn facility_choices(
    db: &Db,
    restrict_to: Option<&[i64]>,
) -> AppResult<Vec<(i64, String)>> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT f.id, f.name, d.name FROM org_units f JOIN org_units d ON d.id = f.parent_id
         WHERE f.level = 'facility' ORDER BY d.name, f.name",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(id, _, _)| restrict_to.is_none_or(|ids| ids.contains(id)))
        .map(|(id, f, d)| (id, format!("{d} › {f}")))
        .collect())
}

/// A validated org unit ready to insert.
pub struct ValidUnit {
    pub parent: Option<OrgUnit>,
    pub level: String,
    pub facility_type: Option<String>,
    pub code: String,
    pub name: String,
}

/// Field-level validation; `lookup_parent` resolves a parent by id or code, which lets the CSV
/// importer validate against rows it has not written yet.
pub fn validate(
    input: &NewOrgUnit,
    parent: Option<OrgUnit>,
    parent_given_but_unknown: bool,
) -> AppResult<ValidUnit> {
    let mut v = Validator::new();
    let code = v.required_text("code", input.code.as_deref(), 64);
    if !v.has("code") && code.chars().any(|c| c.is_whitespace() || c.is_control()) {
        v.add("code", "invalid_code", "must not contain spaces");
    }
    let name = v.required_text("name", input.name.as_deref(), 200);
    let level = input.level.as_deref().unwrap_or("").trim().to_string();
    if level.is_empty() {
        v.add("level", "required", "is required");
    } else if !LEVELS.contains(&level.as_str()) {
        v.add(
            "level",
            "invalid_choice",
            format!("must be one of {}", LEVELS.join(", ")),
        );
    }
    let facility_type = input
        .facility_type
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    match (&*level, &facility_type) {
        ("facility", None) => v.add("facility_type", "required", "is required for a facility"),
        ("facility", Some(t)) if !FACILITY_TYPES.contains(&t.as_str()) => v.add(
            "facility_type",
            "invalid_choice",
            format!("must be one of {}", FACILITY_TYPES.join(", ")),
        ),
        (l, Some(_)) if l != "facility" && LEVELS.contains(&l) => v.add(
            "facility_type",
            "not_allowed",
            "only facilities have a type",
        ),
        _ => {}
    }
    if parent_given_but_unknown {
        v.add("parent", "unknown", "no such parent org unit");
    } else if let Some(expected) = parent_level(&level) {
        match &parent {
            None => v.add(
                "parent",
                "required",
                format!("a {level} needs a {expected} as parent"),
            ),
            Some(p) if p.level != expected => v.add(
                "parent",
                "wrong_level",
                format!("a {level}'s parent must be a {expected}, not a {}", p.level),
            ),
            Some(_) => {}
        }
    } else if level == "country" && parent.is_some() {
        v.add("parent", "not_allowed", "a country has no parent");
    }
    v.finish()?;
    Ok(ValidUnit {
        parent,
        level,
        facility_type,
        code,
        name,
    })
}

/// Inserts a validated unit and its audit entry inside the caller's transaction.
pub async fn insert(tx: &mut Tx, actor: Option<&Actor>, unit: &ValidUnit) -> AppResult<OrgUnit> {
    let now = crate::time::now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO org_units (parent_id, level, facility_type, code, name, path, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, '', $6, $6) RETURNING id",
    )
    .bind(unit.parent.as_ref().map(|p| p.id))
    .bind(&unit.level)
    .bind(&unit.facility_type)
    .bind(&unit.code)
    .bind(&unit.name)
    .bind(&now)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            AppError::field("code", "taken", "another org unit already uses this code")
        } else {
            e.into()
        }
    })?;
    let path = format!(
        "{}{id}/",
        unit.parent.as_ref().map(|p| p.path.as_str()).unwrap_or("/")
    );
    sqlx::query("UPDATE org_units SET path = $1 WHERE id = $2")
        .bind(&path)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let created = OrgUnit {
        id,
        parent_id: unit.parent.as_ref().map(|p| p.id),
        level: unit.level.clone(),
        facility_type: unit.facility_type.clone(),
        code: unit.code.clone(),
        name: unit.name.clone(),
        path,
        created_at: now.clone(),
        updated_at: now,
    };
    audit::record(
        tx,
        actor,
        None,
        "create",
        "org_unit",
        id,
        None::<&()>,
        Some(&created),
    )
    .await?;
    Ok(created)
}

pub async fn create(db: &Db, actor: Option<&Actor>, input: &NewOrgUnit) -> AppResult<OrgUnit> {
    if let Some(a) = actor
        && !a.can_manage_reference_data()
    {
        return Err(AppError::Forbidden);
    }
    let (parent, unknown) = resolve_parent(db, input).await?;
    let valid = validate(input, parent, unknown)?;
    let mut tx = db.begin().await?;
    let unit = insert(&mut tx, actor, &valid).await?;
    tx.commit().await?;
    Ok(unit)
}

async fn resolve_parent(db: &Db, input: &NewOrgUnit) -> AppResult<(Option<OrgUnit>, bool)> {
    if let Some(id) = input.parent_id {
        let p = find(db, id).await?;
        let unknown = p.is_none();
        return Ok((p, unknown));
    }
    match input
        .parent_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        Some(code) => {
            let p = find_by_code(db, code).await?;
            let unknown = p.is_none();
            Ok((p, unknown))
        }
        None => Ok((None, false)),
    }
}
