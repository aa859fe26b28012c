//! API bearer tokens: issued for an e-mail and password, stored hashed, revocable.

use chrono::{Duration, Utc};
use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use crate::authz::{Actor, Role};
use crate::db::Db;
use crate::domain::audit;
use crate::error::{AppError, AppResult};

#[derive(Debug, Serialize, FromRow, ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// Issues a token; returns its id and the secret, which is shown once and never stored.
pub async fn issue(db: &Db, user_id: i64, name: &str) -> AppResult<(i64, String)> {
    let secret = format!("mt_{}", super::new_secret()?);
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(user_id)
    .bind(name)
    .bind(super::digest(&secret))
    .bind(crate::time::now())
    .fetch_one(&mut *tx)
    .await?;
    let org: Option<i64> = sqlx::query_scalar("SELECT organisation_id FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
    let info = serde_json::json!({"user_id": user_id, "name": name});
    audit::record(
        &mut tx,
        None,
        org,
        "issue",
        "api_token",
        id,
        None::<&()>,
        Some(&info),
    )
    .await?;
    tx.commit().await?;
    Ok((id, secret))
}

/// The actor behind a bearer token, and the token's id.
pub async fn authenticate(db: &Db, secret: &str) -> AppResult<(Actor, i64)> {
    // One query for the token and its user: this runs on every API request.
    #[allow(clippy::type_complexity)]
    let row: Option<(
        i64,
        Option<String>,
        i64,
        i64,
        String,
        String,
        String,
        String,
    )> = sqlx::query_as(
        "SELECT t.id, t.last_used_at, u.id, u.organisation_id, u.role, u.email, u.display_name,
                    u.language
             FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active = 1",
    )
    .bind(super::digest(secret))
    .fetch_optional(db.pool())
    .await?;
    let Some((token_id, last_used, user_id, organisation_id, role, email, display_name, language)) =
        row
    else {
        return Err(AppError::Unauthenticated);
    };
    let actor = Actor {
        user_id,
        organisation_id,
        role: Role::parse(&role).ok_or(AppError::Unauthenticated)?,
        email,
        display_name,
        language,
    };
    // Record use at most every few minutes: a write per request would serialise the API on
    // SQLite's single writer for a figure nobody needs to the second.
    let stale = crate::time::format(Utc::now() - Duration::minutes(5));
    if last_used.is_none_or(|t| t < stale) {
        let mut tx = db.begin().await?;
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(crate::time::now())
            .bind(token_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok((actor, token_id))
}

pub async fn revoke(db: &Db, actor: &Actor, token_id: i64) -> AppResult<()> {
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(crate::time::now())
    .bind(token_id)
    .bind(actor.user_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        Some(actor),
        Some(actor.organisation_id),
        "revoke",
        "api_token",
        token_id,
        None::<&()>,
        None::<&()>,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list(db: &Db, actor: &Actor) -> AppResult<Vec<TokenInfo>> {
    Ok(sqlx::query_as(
        "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY id DESC",
    )
    .bind(actor.user_id)
    .fetch_all(db.pool())
    .await?)
}
