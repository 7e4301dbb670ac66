//! Opaque secrets handed to clients (session tokens, API keys, email links, recovery codes):
//! 256 random bits, shown once, and only their SHA-256 kept (security.md, "Sessions").
//! SHA-256 without salt is right here: the input has full entropy, unlike a password.

use data_encoding::BASE64URL_NOPAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A new random token, URL-safe, optionally with a readable prefix (`pb_live_…`).
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", BASE64URL_NOPAD.encode(&bytes))
}

/// What the store keeps of a token.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Constant-time equality for secrets (ASVS 11.2.4).
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A key for one purpose derived from the root secret: HMAC-SHA256(SECRET_KEY, purpose), so
/// each use (CSRF, TOTP secret encryption, …) has its own key and none reveals another.
pub fn derive_key(root: &[u8], purpose: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(root).expect("HMAC takes keys of any length");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The CSRF token bound to a session token: HMAC(csrf key, session token), hex. The browser
/// must echo it in `X-CSRF-Token` on unsafe requests that authenticate by cookie.
pub fn csrf_token(csrf_key: &[u8; 32], session_token: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(csrf_key).expect("HMAC takes keys of any length");
    mac.update(session_token.as_bytes());
    data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes())
}

/// A human-typable recovery code: 10 characters of Crockford-like base32 in two groups.
pub fn new_recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    let chars: String = bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// Recovery codes are compared without case, spaces or dashes.
pub fn normalize_recovery_code(code: &str) -> String {
    code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hashes_fixed_length() {
        let a = new_token("pb_");
        assert!(a.starts_with("pb_") && a.len() == 3 + 43);
        assert_ne!(a, new_token("pb_"));
        assert_eq!(hash_token(&a).len(), 32);
        assert!(secrets_equal(&hash_token(&a), &hash_token(&a)));
        assert!(!secrets_equal(&hash_token(&a), &hash_token("x")));
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_csrf_binds_to_the_session() {
        let root = b"root secret of at least 32 bytes!!";
        assert_ne!(derive_key(root, "csrf"), derive_key(root, "totp"));
        let k = derive_key(root, "csrf");
        assert_ne!(csrf_token(&k, "session-a"), csrf_token(&k, "session-b"));
        assert_eq!(csrf_token(&k, "session-a"), csrf_token(&k, "session-a"));
    }

    #[test]
    fn recovery_codes_normalize() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(normalize_recovery_code(&code.to_uppercase()), normalize_recovery_code(&code));
    }
}
