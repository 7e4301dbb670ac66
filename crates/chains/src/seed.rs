//! The deployment's master seed.

use crate::{EthAddress, SolAddress};
use bip32::{DerivationPath, XPrv};
use ed25519_dalek_bip32::{DerivationPath as EdPath, ExtendedSigningKey};
use zeroize::{Zeroize, Zeroizing};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a valid BIP-39 mnemonic (words or checksum)")]
    InvalidMnemonic,
    #[error("key derivation failed: {0}")]
    Derivation(String),
}

/// 64 bytes of BIP-39 seed. Not `Debug`-printable, wiped on drop.
pub struct MasterSeed([u8; 64]);

impl std::fmt::Debug for MasterSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterSeed([REDACTED])")
    }
}

impl Drop for MasterSeed {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl MasterSeed {
    /// A fresh 24-word mnemonic from the OS's randomness (shown once by `custody init`).
    pub fn generate_mnemonic() -> Zeroizing<String> {
        Zeroizing::new(bip39::Mnemonic::generate(24).map(|m| m.to_string()).unwrap_or_default())
    }

    /// From a mnemonic (English words, checksum validated) and an optional passphrase.
    pub fn from_mnemonic(phrase: &str, passphrase: &str) -> Result<Self, KeyError> {
        let normalized = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
        let m = bip39::Mnemonic::parse_normalized(&normalized).map_err(|_| KeyError::InvalidMnemonic)?;
        Ok(Self(m.to_seed(passphrase)))
    }

    /// The secp256k1 key at m/44'/60'/0'/0/`index`.
    pub fn ethereum_key(&self, index: u32) -> Result<Zeroizing<[u8; 32]>, KeyError> {
        let path: DerivationPath =
            format!("m/44'/60'/0'/0/{index}").parse().map_err(|e: bip32::Error| KeyError::Derivation(e.to_string()))?;
        let key = XPrv::derive_from_path(self.0, &path).map_err(|e| KeyError::Derivation(e.to_string()))?;
        Ok(Zeroizing::new(key.private_key().to_bytes().into()))
    }

    pub fn ethereum_address(&self, index: u32) -> Result<EthAddress, KeyError> {
        let path: DerivationPath =
            format!("m/44'/60'/0'/0/{index}").parse().map_err(|e: bip32::Error| KeyError::Derivation(e.to_string()))?;
        let key = XPrv::derive_from_path(self.0, &path).map_err(|e| KeyError::Derivation(e.to_string()))?;
        let public = key.public_key().public_key().to_encoded_point(false);
        Ok(EthAddress::from_uncompressed_public_key(public.as_bytes()))
    }

    /// The ed25519 signing key at m/44'/501'/`index`'/0' (SLIP-10: hardened only).
    pub fn solana_key(&self, index: u32) -> Result<Zeroizing<[u8; 32]>, KeyError> {
        let path: EdPath =
            format!("m/44'/501'/{index}'/0'").parse().map_err(|e| KeyError::Derivation(format!("{e:?}")))?;
        let key = ExtendedSigningKey::from_seed(&self.0)
            .and_then(|k| k.derive(&path))
            .map_err(|e| KeyError::Derivation(format!("{e:?}")))?;
        Ok(Zeroizing::new(key.signing_key.to_bytes()))
    }

    pub fn solana_address(&self, index: u32) -> Result<SolAddress, KeyError> {
        let path: EdPath =
            format!("m/44'/501'/{index}'/0'").parse().map_err(|e| KeyError::Derivation(format!("{e:?}")))?;
        let key = ExtendedSigningKey::from_seed(&self.0)
            .and_then(|k| k.derive(&path))
            .map_err(|e| KeyError::Derivation(format!("{e:?}")))?;
        Ok(SolAddress(key.verifying_key().to_bytes()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // chains.md, "Keys": vectors for the well-known test mnemonic, empty passphrase.
    const TEST: &str = "test test test test test test test test test test test junk";

    #[test]
    fn ethereum_addresses_match_the_vectors() {
        let seed = MasterSeed::from_mnemonic(TEST, "").unwrap();
        assert_eq!(seed.ethereum_address(0).unwrap().to_string(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        assert_eq!(seed.ethereum_address(1).unwrap().to_string(), "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
        assert_eq!(seed.ethereum_address(2).unwrap().to_string(), "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
    }

    #[test]
    fn solana_addresses_match_the_vectors() {
        let seed = MasterSeed::from_mnemonic(TEST, "").unwrap();
        assert_eq!(seed.solana_address(0).unwrap().to_string(), "oeYf6KAJkLYhBuR8CiGc6L4D4Xtfepr85fuDgA9kq96");
        assert_eq!(seed.solana_address(1).unwrap().to_string(), "AqynRZwvVqUPRwRJXvm6odUb3t93fDjnWe3p6BeuUFxD");
    }

    #[test]
    fn mnemonics_are_checked_and_seeds_never_printed() {
        assert_eq!(
            MasterSeed::from_mnemonic("test test test test test test test test test test test test", "").err(),
            Some(KeyError::InvalidMnemonic),
            "a wrong checksum word is refused"
        );
        let fresh = MasterSeed::generate_mnemonic();
        assert_eq!(fresh.split_whitespace().count(), 24);
        let seed = MasterSeed::from_mnemonic(&fresh, "").unwrap();
        assert_eq!(format!("{seed:?}"), "MasterSeed([REDACTED])");
        assert_ne!(
            seed.ethereum_address(0).unwrap(),
            MasterSeed::from_mnemonic(TEST, "").unwrap().ethereum_address(0).unwrap()
        );
    }
}
