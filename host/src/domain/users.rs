//! User accounts. Every user belongs to one organisation and has one role.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use crate::auth::password;
use crate::authz::{Actor, Role};
use crate::db::{Db, is_unique_violation};
use crate::domain::{Page, PageParams, audit, like_pattern, organisations};
use crate::error::{AppError, AppResult, Validator};
use crate::i18n::Lang;

/// Column list of [`User`], for `concat!` into static query text.
macro_rules! columns {
    () => {
        "u.id, u.organisation_id, o.name AS organisation_name, u.email, u.display_name, u.role, u.active, u.language, u.created_at, u.updated_at"
    };
}

#[derive(Clone, Debug, Serialize, FromRow, ToSchema)]
pub struct User {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub email: String,
    pub display_name: String,
    /// `admin`, `manager`, `org_admin` or `mentor`.
    pub role: String,
    /// 1 when the account may sign in, 0 when it is deactivated.
    pub active: i64,
    /// Preferred language: `en`, `fr`, `rw` or `km`.
    pub language: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct NewUser {
    pub organisation_id: Option<i64>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub password: Option<String>,
    pub language: Option<String>,
}

/// A partial update: absent fields stay as they are.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub active: Option<bool>,
    pub language: Option<String>,
    /// A new password (at least 10 characters).
    pub password: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct UserFilter {
    /// Search in name and e-mail.
    pub q: Option<String>,
    pub organisation_id: Option<i64>,
    pub role: Option<String>,
    /// 1-based page number.
    pub page: Option<i64>,
    /// Items per page, at most 200.
    pub per_page: Option<i64>,
}

impl UserFilter {
    pub fn paging(&self) -> PageParams {
        PageParams {
            page: self.page,
            per_page: self.per_page,
        }
    }
}

/// Audit view of a user: never the password hash.
#[derive(Serialize)]
struct Snapshot<'a> {
    email: &'a str,
    display_name: &'a str,
    organisation_id: i64,
    role: &'a str,
    active: i64,
    language: &'a str,
}

impl User {
    fn snapshot(&self) -> Snapshot<'_> {
        Snapshot {
            email: &self.email,
            display_name: &self.display_name,
            organisation_id: self.organisation_id,
            role: &self.role,
            active: self.active,
            language: &self.language,
        }
    }
}

pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn check_email(v: &mut Validator, email: Option<&str>) -> String {
    let e = normalise_email(email.unwrap_or(""));
    if e.is_empty() {
        v.add("email", "required", "is required");
    } else if e.len() > 254 || e.chars().any(char::is_whitespace) {
        v.add("email", "invalid_email", "is not a valid e-mail address");
    } else {
        match e.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.') => {}
            _ => v.add("email", "invalid_email", "is not a valid e-mail address"),
        }
    }
    e
}

fn check_role(v: &mut Validator, role: Option<&str>) -> Option<Role> {
    match role.map(str::trim).filter(|r| !r.is_empty()) {
        None => {
            v.add("role", "required", "is required");
            None
        }
        Some(r) => Role::parse(r).or_else(|| {
            v.add(
                "role",
                "invalid_choice",
                "must be one of admin, manager, org_admin, mentor",
            );
            None
        }),
    }
}

fn check_language(v: &mut Validator, lang: Option<&str>) -> String {
    match lang.map(str::trim).filter(|l| !l.is_empty()) {
        None => "en".to_string(),
        Some(l) => match Lang::parse(l) {
            Some(l) => l.code().to_string(),
            None => {
                v.add(
                    "language",
                    "invalid_choice",
                    "must be one of en, fr, rw, km",
                );
                "en".to_string()
            }
        },
    }
}

pub async fn list(
    db: &Db,
    actor: &Actor,
    filter: &UserFilter,
    page: &PageParams,
) -> AppResult<Page<User>> {
    // Org admins see their own organisation's users; mentors none.
    let scope = match actor.role {
        Role::Admin | Role::Manager => filter.organisation_id,
        Role::OrgAdmin => Some(actor.organisation_id),
        Role::Mentor => return Err(AppError::Forbidden),
    };
    if let Some(org) = filter.organisation_id
        && !actor.can_read_users(org)
    {
        return Err(AppError::NotFound);
    }
    let (page, per_page, offset) = page.resolve(50);
    let pattern = like_pattern(filter.q.as_deref());
    let role = filter.role.as_deref().filter(|r| !r.is_empty());
    let items: Vec<User> = sqlx::query_as(concat!(
        "SELECT ", columns!(), " FROM users u JOIN organisations o ON o.id = u.organisation_id
         WHERE ($1 IS NULL OR u.organisation_id = $1)
           AND ($2 IS NULL OR LOWER(u.display_name) LIKE $2 ESCAPE '\\' OR u.email LIKE $2 ESCAPE '\\')
           AND ($3 IS NULL OR u.role = $3)
         ORDER BY u.display_name, u.id LIMIT $4 OFFSET $5"
    ))
    .bind(scope)
    .bind(&pattern)
    .bind(role)
    .bind(per_page)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users u
         WHERE ($1 IS NULL OR u.organisation_id = $1)
           AND ($2 IS NULL OR LOWER(u.display_name) LIKE $2 ESCAPE '\\' OR u.email LIKE $2 ESCAPE '\\')
           AND ($3 IS NULL OR u.role = $3)",
    )
    .bind(scope)
    .bind(&pattern)
    .bind(role)
    .fetch_one(db.pool())
    .await?;
    Ok(Page {
        items,
        total,
        page,
        per_page,
    })
}

pub async fn find(db: &Db, id: i64) -> AppResult<Option<User>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM users u JOIN organisations o ON o.id = u.organisation_id WHERE u.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?)
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> AppResult<User> {
    let user = find(db, id).await?.ok_or(AppError::NotFound)?;
    // Everyone may read their own account; otherwise the organisation rule decides.
    if user.id != actor.user_id && !actor.can_read_users(user.organisation_id) {
        return Err(AppError::NotFound);
    }
    Ok(user)
}

/// Creates a user. `actor` is `None` for the command line, which acts as the server's owner.
pub async fn create(db: &Db, actor: Option<&Actor>, input: &NewUser) -> AppResult<User> {
    let mut v = Validator::new();
    let email = check_email(&mut v, input.email.as_deref());
    let display_name = v.required_text("display_name", input.display_name.as_deref(), 200);
    let role = check_role(&mut v, input.role.as_deref());
    let language = check_language(&mut v, input.language.as_deref());
    let password = password::check_new(&mut v, "password", input.password.as_deref());
    let organisation = match input.organisation_id {
        None => {
            v.add("organisation_id", "required", "is required");
            None
        }
        Some(id) => {
            let org = organisations::find(db, id).await?;
            if org.is_none() {
                v.add("organisation_id", "unknown", "no such organisation");
            }
            org
        }
    };
    if let Some(actor) = actor {
        if let Some(org) = &organisation
            && !actor.can_manage_users(org.id)
        {
            // Another organisation: do not reveal that it exists.
            if actor.can_manage_users(actor.organisation_id) {
                v.add("organisation_id", "unknown", "no such organisation");
            } else {
                return Err(AppError::Forbidden);
            }
        }
        if let Some(role) = role
            && !actor.can_grant(role)
        {
            v.add("role", "not_allowed", "you may not grant this role");
        }
    }
    if let (Some(Role::Manager), Some(org)) = (role, &organisation)
        && org.kind != "project_management"
    {
        v.add(
            "role",
            "manager_needs_project_management",
            "managers must belong to project management",
        );
    }
    v.finish()?;
    let (Some(role), Some(org)) = (role, organisation) else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "validated user without role or organisation"
        )));
    };
    let hash = password::hash(password).await?;
    let now = crate::time::now();
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (organisation_id, email, display_name, password_hash, role, active, language, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7) RETURNING id",
    )
    .bind(org.id)
    .bind(&email)
    .bind(&display_name)
    .bind(&hash)
    .bind(role.as_str())
    .bind(&language)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            AppError::field("email", "taken", "another account already uses this e-mail")
        } else {
            e.into()
        }
    })?;
    let user = User {
        id,
        organisation_id: org.id,
        organisation_name: org.name,
        email,
        display_name,
        role: role.as_str().to_string(),
        active: 1,
        language,
        created_at: now.clone(),
        updated_at: now,
    };
    audit::record(
        &mut tx,
        actor,
        Some(user.organisation_id),
        "create",
        "user",
        id,
        None::<&()>,
        Some(&user.snapshot()),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

pub async fn update(db: &Db, actor: &Actor, id: i64, changes: &UserChanges) -> AppResult<User> {
    let before = find(db, id).await?.ok_or(AppError::NotFound)?;
    let own_account = before.id == actor.user_id;
    if !own_account && !actor.can_manage_users(before.organisation_id) {
        return Err(if actor.can_read_users(before.organisation_id) {
            AppError::Forbidden
        } else {
            AppError::NotFound
        });
    }
    let manages = actor.can_manage_users(before.organisation_id);
    let mut v = Validator::new();
    let display_name = match &changes.display_name {
        Some(d) => v.required_text("display_name", Some(d), 200),
        None => before.display_name.clone(),
    };
    let language = match &changes.language {
        Some(l) => check_language(&mut v, Some(l)),
        None => before.language.clone(),
    };
    let role = match &changes.role {
        Some(r) => {
            let parsed = check_role(&mut v, Some(r));
            if let Some(role) = parsed {
                if role.as_str() != before.role && (!manages || !actor.can_grant(role)) {
                    v.add("role", "not_allowed", "you may not grant this role");
                }
                if own_account && role.as_str() != before.role {
                    v.add("role", "not_allowed", "you may not change your own role");
                }
                if role == Role::Manager && role.as_str() != before.role {
                    let org = organisations::find(db, before.organisation_id).await?;
                    if org.is_none_or(|o| o.kind != "project_management") {
                        v.add(
                            "role",
                            "manager_needs_project_management",
                            "managers must belong to project management",
                        );
                    }
                }
            }
            parsed
                .map(|r| r.as_str().to_string())
                .unwrap_or(before.role.clone())
        }
        None => before.role.clone(),
    };
    // An org admin may not change the role of an account that outranks them.
    if manages
        && actor.role == Role::OrgAdmin
        && Role::parse(&before.role).is_some_and(|r| !actor.can_grant(r))
    {
        return Err(AppError::Forbidden);
    }
    let active = match changes.active {
        Some(a) => {
            if own_account && !a {
                v.add(
                    "active",
                    "not_allowed",
                    "you may not deactivate your own account",
                );
            } else if !manages && i64::from(a) != before.active {
                v.add("active", "not_allowed", "you may not change this");
            }
            i64::from(a)
        }
        None => before.active,
    };
    let new_password = changes
        .password
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|p| password::check_new(&mut v, "password", Some(p)));
    v.finish()?;
    let hash = match new_password {
        Some(p) => Some(password::hash(p).await?),
        None => None,
    };
    let now = crate::time::now();
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE users SET display_name = $1, role = $2, active = $3, language = $4,
                password_hash = COALESCE($5, password_hash), updated_at = $6 WHERE id = $7",
    )
    .bind(&display_name)
    .bind(&role)
    .bind(active)
    .bind(&language)
    .bind(&hash)
    .bind(&now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if active == 0 || hash.is_some() {
        // A deactivated account or a changed password ends every session and API token.
        sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(&now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    let after = User {
        display_name,
        role,
        active,
        language,
        updated_at: now,
        ..before.clone()
    };
    let action = if hash.is_some() {
        "update_with_password"
    } else {
        "update"
    };
    audit::record(
        &mut tx,
        Some(actor),
        Some(before.organisation_id),
        action,
        "user",
        id,
        Some(&before.snapshot()),
        Some(&after.snapshot()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// The stored hash and account of an e-mail, for signing in.
pub async fn credentials(db: &Db, email: &str) -> AppResult<Option<(i64, String, i64)>> {
    Ok(
        sqlx::query_as("SELECT id, password_hash, active FROM users WHERE email = $1")
            .bind(normalise_email(email))
            .fetch_optional(db.pool())
            .await?,
    )
}

pub async fn actor(db: &Db, id: i64) -> AppResult<Option<Actor>> {
    let row: Option<(i64, i64, String, String, String, String)> = sqlx::query_as(
        "SELECT id, organisation_id, role, email, display_name, language FROM users WHERE id = $1 AND active = 1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.and_then(
        |(user_id, organisation_id, role, email, display_name, language)| {
            Some(Actor {
                user_id,
                organisation_id,
                role: Role::parse(&role)?,
                email,
                display_name,
                language,
            })
        },
    ))
}

pub async fn set_language(db: &Db, actor: &Actor, lang: Lang) -> AppResult<()> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE users SET language = $1 WHERE id = $2")
        .bind(lang.code())
        .bind(actor.user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
