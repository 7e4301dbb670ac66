//! Argon2id with the crate's defaults (m=19 MiB, t=2, p=1: OWASP's minimum recommendation),
//! run on the blocking pool so hashing never stalls the async workers.

use crate::IdentityError;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

pub(crate) async fn hash(password: String) -> Result<String, IdentityError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| IdentityError::Internal(e.to_string()))?
    .map_err(|e| IdentityError::Internal(format!("argon2: {e}")))
}

/// False for a wrong password or an unreadable hash.
pub(crate) async fn verify(password: String, phc: String) -> Result<bool, IdentityError> {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(|e| IdentityError::Internal(e.to_string()))
}
