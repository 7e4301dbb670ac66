//! Solana addresses: 32-byte ed25519 public keys in base58.

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SolAddress(pub [u8; 32]);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a Solana address is 32 bytes in base58 (32 to 44 characters)")]
pub struct SolAddressError;

impl SolAddress {
    pub fn parse(s: &str) -> Result<Self, SolAddressError> {
        if !(32..=44).contains(&s.len()) {
            return Err(SolAddressError);
        }
        let bytes = bs58::decode(s).into_vec().map_err(|_| SolAddressError)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SolAddressError)?;
        Ok(Self(key))
    }
}

impl std::fmt::Display for SolAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&bs58::encode(self.0).into_string())
    }
}

impl std::fmt::Debug for SolAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SolAddress({self})")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn base58_keys_round_trip_and_others_are_refused() {
        let s = "oeYf6KAJkLYhBuR8CiGc6L4D4Xtfepr85fuDgA9kq96";
        assert_eq!(SolAddress::parse(s).unwrap().to_string(), s);
        assert_eq!(SolAddress::parse("11111111111111111111111111111111").unwrap().0, [0u8; 32], "the system program");
        for bad in
            ["", "0OIl", "oeYf6KAJkLYhBuR8CiGc6L4D4Xtfepr85fuDgA9kq9", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"]
        {
            assert!(SolAddress::parse(bad).is_err(), "{bad}");
        }
    }
}
