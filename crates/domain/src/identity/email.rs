//! Email addresses, parsed once at the edge. Uniqueness is case-insensitive: the normalized form
//! (trimmed, lowercased) is what the store compares.

use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid email address")]
pub struct InvalidEmail;

impl EmailAddress {
    /// A pragmatic check (RFC 5321 lengths, one `@`, a dotted domain, no spaces or controls),
    /// not the full RFC 5322 grammar: the verification email is the real test.
    pub fn parse(input: &str) -> Result<Self, InvalidEmail> {
        let s = input.trim();
        let (local, domain) = s.rsplit_once('@').ok_or(InvalidEmail)?;
        let ok = s.len() <= 254
            && (1..=64).contains(&local.len())
            && !local.contains('@')
            && domain.len() >= 3
            && domain.contains('.')
            && !domain.starts_with(['.', '-'])
            && !domain.ends_with(['.', '-'])
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-')
            && s.chars().all(|c| !c.is_whitespace() && !c.is_control());
        if ok { Ok(Self(s.to_owned())) } else { Err(InvalidEmail) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form compared for uniqueness and lookups.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = InvalidEmail;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> Self {
        e.0
    }
}

/// Email addresses are personal data: Debug shows only the domain.
impl std::fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let domain = self.0.rsplit_once('@').map_or("", |(_, d)| d);
        write!(f, "EmailAddress(***@{domain})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_normalizes_case() {
        let e = EmailAddress::parse("  Alice.Smith+bank@Example.COM ").expect("valid");
        assert_eq!(e.as_str(), "Alice.Smith+bank@Example.COM");
        assert_eq!(e.normalized(), "alice.smith+bank@example.com");
        assert!(!format!("{e:?}").contains("Alice"));
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            "a",
            "a@b",
            "@example.com",
            "a@.com",
            "a b@example.com",
            "a@exa mple.com",
            "a@example..com",
            "a@@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        assert!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }
}
