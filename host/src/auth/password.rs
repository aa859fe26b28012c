//! Password hashing with argon2id (OWASP's minimum parameters, the crate's defaults).
//! Hashing costs tens of milliseconds of CPU, so it runs on the blocking pool, never on an
//! async worker.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::error::{AppError, AppResult};

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 256;

pub fn hash_blocking(password: &str) -> AppResult<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing a password: {e}")))
}

pub async fn hash(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
}

/// A hash of nothing in particular, verified when the e-mail is unknown so that a login
/// takes as long whether or not the account exists.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("mentortrack-timing-equaliser").unwrap_or_default());

fn verify_blocking(password: &str, stored: Option<&str>) -> bool {
    let stored = stored.unwrap_or(DUMMY_HASH.as_str());
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Checks `password` against `stored`; with no stored hash it does the same work and fails.
pub async fn verify(password: String, stored: Option<String>) -> AppResult<bool> {
    let known = stored.is_some();
    let ok = tokio::task::spawn_blocking(move || verify_blocking(&password, stored.as_deref()))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(ok && known)
}

/// Field-level checks on a new password.
pub fn check_new(v: &mut crate::error::Validator, field: &str, password: Option<&str>) -> String {
    let p = password.unwrap_or("");
    let n = p.chars().count();
    if n == 0 {
        v.add(field, "required", "is required");
    } else if n < MIN_LENGTH {
        v.add(
            field,
            "password_too_short",
            format!("must be at least {MIN_LENGTH} characters"),
        );
    } else if n > MAX_LENGTH {
        v.add(
            field,
            "too_long",
            format!("must be at most {MAX_LENGTH} characters"),
        );
    }
    p.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash_blocking("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_blocking("correct horse battery", Some(&h)));
        assert!(!verify_blocking("wrong horse battery", Some(&h)));
        assert!(!verify_blocking("anything", Some("not a phc string")));
    }

    #[tokio::test]
    async fn unknown_account_never_verifies() {
        assert!(
            !verify("mentortrack-timing-equaliser".into(), None)
                .await
                .unwrap()
        );
    }
}
