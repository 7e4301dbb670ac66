//! Argon2id with the crate's defaults (m=19 MiB, t=2, p=1: OWASP's minimum recommendation),
//! run on the blocking pool so hashing never stalls the async workers. At most one hash per
//! core runs at a time: a burst of sign-ins then queues instead of taking 19 MiB and a thread
//! each (memory stays bounded, and a flood of logins cannot exhaust the instance).

use crate::IdentityError;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

fn permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

pub(crate) async fn hash(password: String) -> Result<String, IdentityError> {
    let _permit = permits().acquire().await.map_err(|e| IdentityError::Internal(e.to_string()))?;
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
    let _permit = permits().acquire().await.map_err(|e| IdentityError::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(|e| IdentityError::Internal(e.to_string()))
}
