//! Providers (mentees): midwives, nurses, doctors, clinical officers and community cadres.
//! Each provider record belongs to the organisation that registered it; partners never see
//! each other's registries. Mentors register and edit providers only at their assigned
//! facilities.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::authz::{Actor, Role};
use crate::db::{Db, Tx, is_unique_violation};
use crate::domain::{Page, PageParams, assignments, audit, like_pattern, org_units};
use crate::error::{AppError, AppResult, Validator};

pub const CADRES: [&str; 9] = [
    "midwife",
    "nurse",
    "doctor",
    "clinical_officer",
    "community_health_worker",
    "village_health_volunteer",
    "village_health_support_group",
    "traditional_birth_attendant",
    "other",
];
pub const SEXES: [&str; 2] = ["female", "male"];

macro_rules! columns {
    () => {
        "p.id, p.organisation_id, p.facility_id, f.name AS facility_name, p.code, p.name, p.cadre, p.sex, p.phone, p.active, p.created_at, p.updated_at"
    };
}

#[derive(Clone, Debug, Serialize, FromRow, ToSchema)]
pub struct Provider {
    pub id: i64,
    pub organisation_id: i64,
    pub facility_id: i64,
    pub facility_name: String,
    /// Unique within the registering organisation.
    pub code: String,
    pub name: String,
    pub cadre: String,
    pub sex: Option<String>,
    pub phone: Option<String>,
    pub active: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// Fields of a new provider, or of a whole-record update (absent optional fields are cleared).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct ProviderInput {
    /// The registering organisation; defaults to the caller's own. Only admins may name another.
    pub organisation_id: Option<i64>,
    pub facility_id: Option<i64>,
    /// Left empty, a code is generated.
    pub code: Option<String>,
    pub name: Option<String>,
    pub cadre: Option<String>,
    pub sex: Option<String>,
    pub phone: Option<String>,
    pub active: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
pub struct ProviderFilter {
    /// Search in name, code and phone.
    pub q: Option<String>,
    pub facility_id: Option<i64>,
    /// Providers anywhere below this org unit (a district, a province).
    pub within: Option<i64>,
    pub cadre: Option<String>,
    pub organisation_id: Option<i64>,
    /// 1-based page number.
    pub page: Option<i64>,
    /// Items per page, at most 200.
    pub per_page: Option<i64>,
}

impl ProviderFilter {
    pub fn paging(&self) -> PageParams {
        PageParams {
            page: self.page,
            per_page: self.per_page,
        }
    }
}

pub async fn list(
    db: &Db,
    actor: &Actor,
    filter: &ProviderFilter,
    page: &PageParams,
) -> AppResult<Page<Provider>> {
    let scope = match (actor.org_scope(), filter.organisation_id) {
        (Some(own), Some(asked)) if own != asked => {
            return Ok(Page {
                items: vec![],
                total: 0,
                page: 1,
                per_page: page.resolve(25).1,
            });
        }
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    let (page, per_page, offset) = page.resolve(25);
    let pattern = like_pattern(filter.q.as_deref());
    let within = match filter.within {
        Some(id) => Some(format!("{}%", org_units::get(db, id).await?.path)),
        None => None,
    };
    let cadre = filter.cadre.as_deref().filter(|c| !c.is_empty());
    let items = sqlx::query_as(concat!(
        "SELECT ", columns!(), " FROM providers p JOIN org_units f ON f.id = p.facility_id
         WHERE ($1 IS NULL OR p.organisation_id = $1)
           AND ($2 IS NULL OR LOWER(p.name) LIKE $2 ESCAPE '\\' OR LOWER(p.code) LIKE $2 ESCAPE '\\' OR p.phone LIKE $2 ESCAPE '\\')
           AND ($3 IS NULL OR p.facility_id = $3)
           AND ($4 IS NULL OR f.path LIKE $4)
           AND ($5 IS NULL OR p.cadre = $5)
         ORDER BY p.name, p.id LIMIT $6 OFFSET $7"
    ))
    .bind(scope)
    .bind(&pattern)
    .bind(filter.facility_id)
    .bind(&within)
    .bind(cadre)
    .bind(per_page)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    let total = sqlx::query_scalar(
        "SELECT COUNT(*) FROM providers p JOIN org_units f ON f.id = p.facility_id
         WHERE ($1 IS NULL OR p.organisation_id = $1)
           AND ($2 IS NULL OR LOWER(p.name) LIKE $2 ESCAPE '\\' OR LOWER(p.code) LIKE $2 ESCAPE '\\' OR p.phone LIKE $2 ESCAPE '\\')
           AND ($3 IS NULL OR p.facility_id = $3)
           AND ($4 IS NULL OR f.path LIKE $4)
           AND ($5 IS NULL OR p.cadre = $5)",
    )
    .bind(scope)
    .bind(&pattern)
    .bind(filter.facility_id)
    .bind(&within)
    .bind(cadre)
    .fetch_one(db.pool())
    .await?;
    Ok(Page {
        items,
        total,
        page,
        per_page,
    })
}

async fn find(db: &Db, id: i64) -> AppResult<Option<Provider>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM providers p JOIN org_units f ON f.id = p.facility_id WHERE p.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?)
}

/// A provider the actor may read; another organisation's provider is "not found", so its
/// existence is not revealed.
pub async fn get(db: &Db, actor: &Actor, id: i64) -> AppResult<Provider> {
    match find(db, id).await? {
        Some(p) if actor.can_read_org(p.organisation_id) => Ok(p),
        _ => Err(AppError::NotFound),
    }
}

/// Whether the actor may edit this provider (used by pages to show or hide the edit link).
pub async fn can_edit(db: &Db, actor: &Actor, p: &Provider) -> AppResult<bool> {
    if !actor.can_write_org_records(p.organisation_id) {
        return Ok(false);
    }
    if actor.role == Role::Mentor {
        return assignments::is_assigned(db, actor.user_id, p.facility_id).await;
    }
    Ok(true)
}

/// A validated provider; the CSV importer validates every row before writing any.
#[derive(Clone, Debug)]
pub struct ValidProvider {
    pub organisation_id: i64,
    pub facility_id: i64,
    pub code: Option<String>,
    pub name: String,
    pub cadre: String,
    pub sex: Option<String>,
    pub phone: Option<String>,
    pub active: bool,
}

/// Field checks that need no database.
pub fn check_fields(
    v: &mut Validator,
    input: &ProviderInput,
) -> (
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
) {
    let code = v.optional_text("code", input.code.as_deref(), 64);
    if let Some(c) = &code
        && c.chars().any(char::is_whitespace)
    {
        v.add("code", "invalid_code", "must not contain spaces");
    }
    let name = v.required_text("name", input.name.as_deref(), 200);
    let cadre = input.cadre.as_deref().unwrap_or("").trim().to_string();
    if cadre.is_empty() {
        v.add("cadre", "required", "is required");
    } else if !CADRES.contains(&cadre.as_str()) {
        v.add(
            "cadre",
            "invalid_choice",
            format!("must be one of {}", CADRES.join(", ")),
        );
    }
    let sex = input
        .sex
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if let Some(s) = &sex
        && !SEXES.contains(&s.as_str())
    {
        v.add(
            "sex",
            "invalid_choice",
            "must be female or male, or left empty",
        );
    }
    let phone = v.optional_text("phone", input.phone.as_deref(), 32);
    if let Some(p) = &phone {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        let allowed = p
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'));
        if !allowed || !(6..=15).contains(&digits) {
            v.add(
                "phone",
                "invalid_phone",
                "must be a phone number of 6 to 15 digits",
            );
        }
    }
    (code, name, cadre, sex, phone)
}

async fn validate(
    db: &Db,
    actor: &Actor,
    input: &ProviderInput,
    current: Option<&Provider>,
) -> AppResult<ValidProvider> {
    // Managers read partners' registries but keep none of their own.
    if !actor.can_write_org_records(actor.organisation_id) {
        return Err(AppError::Forbidden);
    }
    let mut v = Validator::new();
    let (code, name, cadre, sex, phone) = check_fields(&mut v, input);
    let organisation_id = match (current, input.organisation_id) {
        (Some(p), _) => p.organisation_id,
        (None, Some(org)) if org != actor.organisation_id && actor.role != Role::Admin => {
            v.add(
                "organisation_id",
                "not_allowed",
                "you may only register providers for your own organisation",
            );
            actor.organisation_id
        }
        (None, Some(org)) => org,
        (None, None) => actor.organisation_id,
    };
    if current.is_none()
        && !actor.can_write_org_records(organisation_id)
        && !v.has("organisation_id")
    {
        return Err(AppError::Forbidden);
    }
    let facility_id = match input.facility_id {
        None => {
            v.add("facility_id", "required", "is required");
            0
        }
        Some(id) => {
            match org_units::find(db, id).await? {
                Some(u) if u.level == "facility" => {
                    if actor.role == Role::Mentor
                        && !assignments::is_assigned(db, actor.user_id, id).await?
                    {
                        v.add(
                            "facility_id",
                            "not_assigned",
                            "you are not assigned to this facility",
                        );
                    }
                }
                Some(_) => v.add(
                    "facility_id",
                    "not_a_facility",
                    "must be a facility, not a district or province",
                ),
                None => v.add("facility_id", "unknown", "no such facility"),
            }
            id
        }
    };
    v.finish()?;
    Ok(ValidProvider {
        organisation_id,
        facility_id,
        code,
        name,
        cadre,
        sex,
        phone,
        active: input.active.unwrap_or(true),
    })
}

fn generated_code() -> AppResult<String> {
    // Crockford-ish alphabet: no 0/O or 1/I confusion when a code is read aloud or copied.
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(anyhow::anyhow!("random: {e}")))?;
    let s: String = bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect();
    Ok(format!("P-{s}"))
}

/// Inserts a validated provider and its audit entry inside the caller's transaction.
pub async fn insert(tx: &mut Tx, actor: Option<&Actor>, p: &ValidProvider) -> AppResult<i64> {
    let code = match &p.code {
        Some(c) => c.clone(),
        None => generated_code()?,
    };
    let now = crate::time::now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO providers (organisation_id, facility_id, code, name, cadre, sex, phone, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(p.organisation_id)
    .bind(p.facility_id)
    .bind(&code)
    .bind(&p.name)
    .bind(&p.cadre)
    .bind(&p.sex)
    .bind(&p.phone)
    .bind(i64::from(p.active))
    .bind(&now)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            AppError::field("code", "taken", "another provider of your organisation already has this code")
        } else {
            e.into()
        }
    })?;
    let snapshot = serde_json::json!({
        "organisation_id": p.organisation_id, "facility_id": p.facility_id, "code": code,
        "name": p.name, "cadre": p.cadre, "sex": p.sex, "phone": p.phone, "active": p.active,
    });
    audit::record(
        tx,
        actor,
        Some(p.organisation_id),
        "create",
        "provider",
        id,
        None::<&()>,
        Some(&snapshot),
    )
    .await?;
    Ok(id)
}

pub async fn create(db: &Db, actor: &Actor, input: &ProviderInput) -> AppResult<Provider> {
    let valid = validate(db, actor, input, None).await?;
    let mut tx = db.begin().await?;
    let id = insert(&mut tx, Some(actor), &valid).await?;
    tx.commit().await?;
    find(db, id).await?.ok_or(AppError::NotFound)
}

pub async fn update(db: &Db, actor: &Actor, id: i64, input: &ProviderInput) -> AppResult<Provider> {
    let before = get(db, actor, id).await?;
    if !can_edit(db, actor, &before).await? {
        return Err(AppError::Forbidden);
    }
    let valid = validate(db, actor, input, Some(&before)).await?;
    let code = valid.code.clone().unwrap_or_else(|| before.code.clone());
    let now = crate::time::now();
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE providers SET facility_id = $1, code = $2, name = $3, cadre = $4, sex = $5, phone = $6,
                active = $7, updated_at = $8 WHERE id = $9",
    )
    .bind(valid.facility_id)
    .bind(&code)
    .bind(&valid.name)
    .bind(&valid.cadre)
    .bind(&valid.sex)
    .bind(&valid.phone)
    .bind(i64::from(valid.active))
    .bind(&now)
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            AppError::field("code", "taken", "another provider of your organisation already has this code")
        } else {
            AppError::from(e)
        }
    })?;
    let after = serde_json::json!({
        "organisation_id": before.organisation_id, "facility_id": valid.facility_id, "code": code,
        "name": valid.name, "cadre": valid.cadre, "sex": valid.sex, "phone": valid.phone, "active": valid.active,
    });
    audit::record(
        &mut tx,
        Some(actor),
        Some(before.organisation_id),
        "update",
        "provider",
        id,
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    find(db, id).await?.ok_or(AppError::NotFound)
}
