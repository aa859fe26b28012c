//! Signing in: password checks behind a throttle, browser sessions and API tokens. Both kinds
//! of credential are random 256-bit secrets of which only a SHA-256 digest is stored, so a
//! copy of the database does not let anyone sign in.

pub mod password;
pub mod sessions;
pub mod throttle;
pub mod tokens;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::domain::users;
use crate::error::{AppError, AppResult};

/// A fresh random secret, URL-safe.
pub fn new_secret() -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(anyhow::anyhow!("random: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

pub fn digest(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

/// Checks an e-mail and password, throttled per account and per client address.
/// Returns the user id; every failure is the same `Unauthenticated`, whatever the cause.
pub async fn authenticate(
    db: &Db,
    limits: &throttle::Limits,
    email: &str,
    password: &str,
    ip: &str,
) -> AppResult<i64> {
    let email = users::normalise_email(email);
    throttle::check(db, limits, &email, ip).await?;
    let creds = users::credentials(db, &email).await?;
    let stored = creds.as_ref().map(|(_, hash, _)| hash.clone());
    let ok = password::verify(password.to_string(), stored).await?;
    match creds {
        Some((id, _, 1)) if ok => {
            throttle::clear(db, &email).await?;
            Ok(id)
        }
        _ => {
            throttle::record_failure(db, &email, ip).await?;
            Err(AppError::Unauthenticated)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_digests_stable() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(digest(&a), digest(&a));
        assert_ne!(digest(&a), a);
    }
}
