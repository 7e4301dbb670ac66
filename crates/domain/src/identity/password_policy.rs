//! Which passwords are acceptable (OWASP ASVS 5.0 §6.2): at least 12 characters, at most 128,
//! any characters, not a commonly used password, not the user's own email.

use serde::Deserialize;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 128;

/// The most common passwords in public breach corpora (and their usual suffixes are checked
/// by stripping trailing digits and punctuation before the lookup).
const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "p@ssword",
    "p@ssw0rd",
    "123456",
    "12345678",
    "123456789",
    "1234567890",
    "qwerty",
    "qwertyuiop",
    "qwerty123",
    "abc123",
    "111111",
    "000000",
    "iloveyou",
    "letmein",
    "welcome",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "sunshine",
    "princess",
    "admin",
    "administrator",
    "master",
    "shadow",
    "superman",
    "batman",
    "trustno1",
    "starwars",
    "whatever",
    "freedom",
    "hello",
    "charlie",
    "michael",
    "jennifer",
    "jordan",
    "hunter",
    "hunter2",
    "ranger",
    "buster",
    "soccer",
    "hockey",
    "killer",
    "george",
    "computer",
    "internet",
    "changeme",
    "secret",
    "login",
    "passport",
    "access",
    "mustang",
    "bank",
    "banking",
    "protocolbank",
    "protocol",
    "money",
    "bitcoin",
    "ethereum",
    "solana",
    "crypto",
    "summer",
    "winter",
    "spring",
    "autumn",
    "asdfghjkl",
    "zxcvbnm",
    "1q2w3e4r",
    "1qaz2wsx",
    "qazwsx",
    "aa123456",
    "password1",
    "password123",
    "correcthorsebatterystaple",
    "letmein123",
    "welcome1",
    "iloveyou1",
    "abcdefghijkl",
    "abcdefghijklmnop",
    "qwertyqwerty",
];

/// Why a password was refused; the message is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("password must be at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("password must be at most {MAX_LENGTH} characters")]
    TooLong,
    #[error("this password is too common; choose another")]
    Common,
    #[error("password must not contain your email address")]
    ContainsEmail,
}

/// A password as submitted. Never printed: `Debug` is redacted and there is no `Display`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

impl Password {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Checks a new password against the policy.
    pub fn check_new(&self, email_normalized: &str) -> Result<(), WeakPassword> {
        let chars = self.0.chars().count();
        if chars < MIN_LENGTH {
            return Err(WeakPassword::TooShort);
        }
        if chars > MAX_LENGTH {
            return Err(WeakPassword::TooLong);
        }
        let lower = self.0.to_lowercase();
        let local = email_normalized.split('@').next().unwrap_or("");
        if local.len() >= 4 && lower.contains(local) {
            return Err(WeakPassword::ContainsEmail);
        }
        let core = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
        let distinct = lower.chars().collect::<std::collections::HashSet<_>>().len();
        if COMMON.contains(&lower.as_str()) || COMMON.contains(&core) || distinct <= 3 {
            return Err(WeakPassword::Common);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        let email = "alice@example.com";
        assert_eq!(Password::new("short").check_new(email), Err(WeakPassword::TooShort));
        assert_eq!(Password::new("password1234").check_new(email), Err(WeakPassword::Common));
        assert_eq!(Password::new("Password123!").check_new(email), Err(WeakPassword::Common));
        assert_eq!(Password::new("aaaaaaaaaaaaaaaa").check_new(email), Err(WeakPassword::Common));
        assert_eq!(Password::new("my alice secret!").check_new(email), Err(WeakPassword::ContainsEmail));
        assert_eq!(Password::new("x".repeat(129)).check_new(email), Err(WeakPassword::TooLong));
        assert!(Password::new("violet-tractor-91-lamp").check_new(email).is_ok());
        assert!(!format!("{:?}", Password::new("violet-tractor")).contains("violet"));
    }
}
