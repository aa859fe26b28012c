//! Browser sessions, stored in the database so any host process can serve any request.

use chrono::Duration;

use crate::authz::Actor;
use crate::db::Db;
use crate::domain::users;
use crate::error::AppResult;

pub const COOKIE: &str = "mt_session";
pub const LIFETIME_DAYS: i64 = 14;

/// A signed-in browser: the user and the session's CSRF token.
#[derive(Clone, Debug)]
pub struct Session {
    pub actor: Actor,
    pub csrf_token: String,
}

/// Starts a session; returns the cookie value.
pub async fn create(db: &Db, user_id: i64) -> AppResult<String> {
    let secret = super::new_secret()?;
    let csrf = super::new_secret()?;
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO auth_sessions (token_hash, user_id, csrf_token, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(super::digest(&secret))
    .bind(user_id)
    .bind(&csrf)
    .bind(crate::time::now())
    .bind(crate::time::from_now(Duration::days(LIFETIME_DAYS)))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(secret)
}

pub async fn lookup(db: &Db, secret: &str) -> AppResult<Option<Session>> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT s.user_id, s.csrf_token FROM auth_sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = 1",
    )
    .bind(super::digest(secret))
    .bind(crate::time::now())
    .fetch_optional(db.pool())
    .await?;
    let Some((user_id, csrf_token)) = row else {
        return Ok(None);
    };
    Ok(users::actor(db, user_id)
        .await?
        .map(|actor| Session { actor, csrf_token }))
}

pub async fn delete(db: &Db, secret: &str) -> AppResult<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM auth_sessions WHERE token_hash = $1 OR expires_at < $2")
        .bind(super::digest(secret))
        .bind(crate::time::now())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
