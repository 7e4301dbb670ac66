//! Encryption of small secrets at rest (TOTP seeds; later PII) with XChaCha20-Poly1305
//! (security.md): a random 192-bit nonce per message, so no nonce bookkeeping is needed.
//! The key is derived per purpose from SECRET_KEY (see `identity::tokens::derive_key`).

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use data_encoding::BASE64URL_NOPAD;
use rand::RngCore;

pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    /// Bound into every ciphertext: a value sealed for one purpose cannot be opened as another.
    purpose: &'static str,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBox").field("purpose", &self.purpose).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("ciphertext could not be opened (wrong key or tampered)")]
pub struct OpenError;

const VERSION: &str = "v1";

impl SecretBox {
    pub fn new(key: &[u8; 32], purpose: &'static str) -> Self {
        Self { cipher: XChaCha20Poly1305::new(key.into()), purpose }
    }

    /// `v1.<nonce>.<ciphertext>`, URL-safe base64.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let payload = chacha20poly1305::aead::Payload { msg: plaintext, aad: self.purpose.as_bytes() };
        let sealed =
            self.cipher.encrypt(&XNonce::from(nonce), payload).expect("XChaCha20-Poly1305 encryption cannot fail");
        format!("{VERSION}.{}.{}", BASE64URL_NOPAD.encode(&nonce), BASE64URL_NOPAD.encode(&sealed))
    }

    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, OpenError> {
        let mut parts = sealed.split('.');
        let (Some(VERSION), Some(nonce), Some(body), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(OpenError);
        };
        let nonce = BASE64URL_NOPAD.decode(nonce.as_bytes()).map_err(|_| OpenError)?;
        let body = BASE64URL_NOPAD.decode(body.as_bytes()).map_err(|_| OpenError)?;
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| OpenError)?;
        let payload = chacha20poly1305::aead::Payload { msg: &body, aad: self.purpose.as_bytes() };
        self.cipher.decrypt(&XNonce::from(nonce), payload).map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_tampering_or_another_purpose() {
        let key = [7u8; 32];
        let b = SecretBox::new(&key, "totp");
        let sealed = b.seal(b"JBSWY3DPEHPK3PXP");
        assert!(!sealed.contains("JBSWY3DP"));
        assert_eq!(b.open(&sealed).expect("opens"), b"JBSWY3DPEHPK3PXP");
        assert_ne!(b.seal(b"x"), b.seal(b"x"), "fresh nonce each time");
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(b.open(&tampered).is_err());
        assert!(SecretBox::new(&key, "pii").open(&sealed).is_err());
        assert!(SecretBox::new(&[8u8; 32], "totp").open(&sealed).is_err());
    }
}
