//! Partner organisations: professional associations, NGOs, project management, ministries.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use crate::authz::Actor;
use crate::db::{Db, Tx, is_unique_violation};
use crate::domain::audit;
use crate::error::{AppError, AppResult, Validator};

pub const KINDS: [&str; 4] = [
    "professional_association",
    "ngo",
    "project_management",
    "ministry",
];

#[derive(Clone, Debug, Serialize, Deserialize, FromRow, ToSchema)]
pub struct Organisation {
    pub id: i64,
    /// Short stable code, e.g. `RAM`; plugins name their publisher by it.
    pub code: String,
    pub name: String,
    /// `professional_association`, `ngo`, `project_management` or `ministry`.
    pub kind: String,
    pub country: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct NewOrganisation {
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub country: Option<String>,
}

/// Column list of [`Organisation`], for `concat!` into static query text.
macro_rules! columns {
    () => {
        "id, code, name, kind, country, created_at, updated_at"
    };
}

pub async fn list(db: &Db, actor: &Actor) -> AppResult<Vec<Organisation>> {
    let rows = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM organisations
         WHERE ($1 IS NULL OR id = $1) ORDER BY name"
    ))
    .bind(actor.org_scope())
    .fetch_all(db.pool())
    .await?;
    Ok(rows)
}

/// Every organisation, for choosers that only an admin sees and for the command line.
pub async fn list_all(db: &Db) -> AppResult<Vec<Organisation>> {
    let rows = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM organisations ORDER BY name"
    ))
    .fetch_all(db.pool())
    .await?;
    Ok(rows)
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> AppResult<Organisation> {
    if !actor.can_read_org(id) {
        return Err(AppError::NotFound);
    }
    find(db, id).await?.ok_or(AppError::NotFound)
}

pub async fn find(db: &Db, id: i64) -> AppResult<Option<Organisation>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM organisations WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?)
}

pub async fn find_by_code(db: &Db, code: &str) -> AppResult<Option<Organisation>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM organisations WHERE code = $1"
    ))
    .bind(code)
    .fetch_optional(db.pool())
    .await?)
}

struct Valid {
    code: String,
    name: String,
    kind: String,
    country: Option<String>,
}

fn validate(input: &NewOrganisation) -> AppResult<Valid> {
    let mut v = Validator::new();
    let code = v.required_text("code", input.code.as_deref(), 32);
    if !v.has("code")
        && !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        v.add(
            "code",
            "invalid_code",
            "may contain only letters, digits, '-' and '_'",
        );
    }
    let name = v.required_text("name", input.name.as_deref(), 200);
    let kind = input.kind.as_deref().unwrap_or("").trim().to_string();
    if kind.is_empty() {
        v.add("kind", "required", "is required");
    } else if !KINDS.contains(&kind.as_str()) {
        v.add(
            "kind",
            "invalid_choice",
            format!("must be one of {}", KINDS.join(", ")),
        );
    }
    let country = v.optional_text("country", input.country.as_deref(), 100);
    v.finish()?;
    Ok(Valid {
        code: code.to_uppercase(),
        name,
        kind,
        country,
    })
}

pub async fn create(
    db: &Db,
    actor: Option<&Actor>,
    input: &NewOrganisation,
) -> AppResult<Organisation> {
    if let Some(a) = actor
        && !a.can_manage_reference_data()
    {
        return Err(AppError::Forbidden);
    }
    let valid = validate(input)?;
    let mut tx = db.begin().await?;
    let org = insert(&mut tx, &valid).await?;
    audit::record(
        &mut tx,
        actor,
        Some(org.id),
        "create",
        "organisation",
        org.id,
        None::<&()>,
        Some(&org),
    )
    .await?;
    tx.commit().await?;
    Ok(org)
}

async fn insert(tx: &mut Tx, v: &Valid) -> AppResult<Organisation> {
    let now = crate::time::now();
    sqlx::query_as(concat!(
        "INSERT INTO organisations (code, name, kind, country, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING ",
        columns!()
    ))
    .bind(&v.code)
    .bind(&v.name)
    .bind(&v.kind)
    .bind(&v.country)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            AppError::field(
                "code",
                "taken",
                "another organisation already uses this code",
            )
        } else {
            e.into()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_reports_every_field() {
        let Err(AppError::Validation(errs)) = validate(&NewOrganisation {
            code: Some("bad code!".into()),
            name: None,
            kind: Some("club".into()),
            country: None,
        }) else {
            panic!("expected validation errors")
        };
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["code", "name", "kind"]);
    }
}
