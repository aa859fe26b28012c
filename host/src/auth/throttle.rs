//! Throttling of failed sign-ins, kept in the database so that every host process sharing it
//! counts the same failures. Checked before any password is hashed, so a flood of guesses
//! costs the server a query, not an argon2 computation.

use chrono::{Duration, Utc};

use crate::db::Db;
use crate::error::{AppError, AppResult};

#[derive(Clone, Debug)]
pub struct Limits {
    /// Failures of one account within the window before it is locked for the window.
    pub per_account: i64,
    /// Failures from one client address within the window.
    pub per_ip: i64,
    pub window_secs: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_account: 5,
            per_ip: 50,
            window_secs: 15 * 60,
        }
    }
}

pub async fn check(db: &Db, limits: &Limits, email: &str, ip: &str) -> AppResult<()> {
    let since = crate::time::format(Utc::now() - Duration::seconds(limits.window_secs));
    let (by_account, by_ip): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM login_failures WHERE email = $1 AND at > $3),
                (SELECT COUNT(*) FROM login_failures WHERE ip = $2 AND at > $3)",
    )
    .bind(email)
    .bind(ip)
    .bind(&since)
    .fetch_one(db.pool())
    .await?;
    if by_account >= limits.per_account || by_ip >= limits.per_ip {
        return Err(AppError::TooManyRequests {
            retry_after_secs: limits.window_secs as u64,
        });
    }
    Ok(())
}

pub async fn record_failure(db: &Db, email: &str, ip: &str) -> AppResult<()> {
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO login_failures (email, ip, at) VALUES ($1, $2, $3)")
        .bind(email)
        .bind(ip)
        .bind(crate::time::now())
        .execute(&mut *tx)
        .await?;
    // Old failures only slow the counts down.
    let expired = crate::time::format(Utc::now() - Duration::days(1));
    sqlx::query("DELETE FROM login_failures WHERE at < $1")
        .bind(expired)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::warn!(email, ip, "failed sign-in");
    Ok(())
}

pub async fn clear(db: &Db, email: &str) -> AppResult<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM login_failures WHERE email = $1")
        .bind(email)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
