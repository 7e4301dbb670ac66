//! Time-based one-time passwords, RFC 6238 (HMAC-SHA1, 6 digits, 30-second steps), as
//! authenticator apps implement them. Verification returns the matched step so the caller can
//! refuse a replay of the same or an earlier step.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;

pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;
/// Steps accepted either side of now, for clock drift (RFC 6238 §5.2 recommends at most one).
pub const DRIFT_STEPS: i64 = 1;

/// A new 160-bit secret (RFC 4226 §4 recommends 160 bits), base32 as apps expect.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    BASE32_NOPAD.encode(&bytes)
}

fn hotp(secret: &[u8], counter: u64) -> u32 {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary =
        u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    binary % 10u32.pow(DIGITS)
}

/// The code for `unix_seconds` (used by tests and by the enrolment check).
pub fn code_at(secret_base32: &str, unix_seconds: i64) -> Option<String> {
    let secret = BASE32_NOPAD.decode(secret_base32.as_bytes()).ok()?;
    let step = u64::try_from(unix_seconds.div_euclid(STEP_SECONDS)).ok()?;
    Some(format!("{:0width$}", hotp(&secret, step), width = DIGITS as usize))
}

/// The step that `code` matches near `unix_seconds`, if any.
pub fn matching_step(secret_base32: &str, code: &str, unix_seconds: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secret = BASE32_NOPAD.decode(secret_base32.as_bytes()).ok()?;
    let now_step = unix_seconds.div_euclid(STEP_SECONDS);
    let mut found = None;
    // Check every candidate (no early exit) so timing does not reveal which step matched.
    for step in (now_step - DRIFT_STEPS)..=(now_step + DRIFT_STEPS) {
        let Ok(counter) = u64::try_from(step) else { continue };
        let expected = format!("{:0width$}", hotp(&secret, counter), width = DIGITS as usize);
        if super::tokens::secrets_equal(expected.as_bytes(), code.as_bytes()) {
            found = Some(step);
        }
    }
    found
}

/// The `otpauth://` URI that authenticator apps scan (Google Authenticator Key Uri Format).
pub fn otpauth_uri(secret_base32: &str, issuer: &str, account: &str) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    format!(
        "otpauth://totp/{}:{}?secret={secret_base32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA1 column (8-digit codes; the last 6 digits are the 6-digit code).
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = BASE32_NOPAD.encode(b"12345678901234567890");
        for (t, eight) in
            [(59, "94287082"), (1_111_111_109, "07081804"), (1_234_567_890, "89005924"), (2_000_000_000, "69279037")]
        {
            assert_eq!(code_at(&secret, t).as_deref(), Some(&eight[2..]), "t={t}");
        }
    }

    #[test]
    fn matches_within_one_step_of_drift_only() {
        let secret = new_secret();
        let now = 1_700_000_000;
        let code = code_at(&secret, now).expect("code");
        assert_eq!(matching_step(&secret, &code, now), Some(now / 30));
        assert_eq!(matching_step(&secret, &code, now + 30), Some(now / 30));
        assert_eq!(matching_step(&secret, &code, now + 90), None);
        assert_eq!(matching_step(&secret, "12345", now), None);
        assert_eq!(matching_step(&secret, "abcdef", now), None);
    }

    #[test]
    fn uri_is_well_formed() {
        let uri = otpauth_uri("JBSWY3DPEHPK3PXP", "Protocol Bank", "alice@example.com");
        assert!(uri.starts_with("otpauth://totp/Protocol%20Bank:alice%40example.com?secret=JBSWY3DPEHPK3PXP"));
    }
}
