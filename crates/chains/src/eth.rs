//! Ethereum addresses: Keccak-256 of the public key, shown with the EIP-55 mixed-case checksum.

use sha3::{Digest, Keccak256};

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthAddress(pub [u8; 20]);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EthAddressError {
    #[error("an Ethereum address is 0x followed by 40 hexadecimal digits")]
    Malformed,
    #[error("the address's capitalisation does not match its EIP-55 checksum (a typo?)")]
    BadChecksum,
}

impl EthAddress {
    /// From a 65-byte uncompressed secp256k1 public key (0x04 ‖ x ‖ y).
    pub fn from_uncompressed_public_key(key: &[u8]) -> Self {
        let hash = Keccak256::digest(key.get(1..).unwrap_or_default());
        let mut out = [0u8; 20];
        out.copy_from_slice(&hash[12..]);
        Self(out)
    }

    /// Parses `0x…`. Mixed case must carry a valid EIP-55 checksum; all-lowercase or
    /// all-uppercase carries none and is accepted as such.
    pub fn parse(s: &str) -> Result<Self, EthAddressError> {
        let hex = s.strip_prefix("0x").ok_or(EthAddressError::Malformed)?;
        if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(EthAddressError::Malformed);
        }
        let mut out = [0u8; 20];
        for (i, chunk) in hex.as_bytes().chunks(2).enumerate() {
            let pair = std::str::from_utf8(chunk).map_err(|_| EthAddressError::Malformed)?;
            out[i] = u8::from_str_radix(pair, 16).map_err(|_| EthAddressError::Malformed)?;
        }
        let address = Self(out);
        let mixed = hex.bytes().any(|b| b.is_ascii_lowercase()) && hex.bytes().any(|b| b.is_ascii_uppercase());
        if mixed && address.to_string() != s {
            return Err(EthAddressError::BadChecksum);
        }
        Ok(address)
    }
}

impl std::fmt::Display for EthAddress {
    /// EIP-55: a hex digit is upper-cased when the matching nibble of keccak(lowercase hex) ≥ 8.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lower: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        let hash = Keccak256::digest(lower.as_bytes());
        let mut out = String::with_capacity(42);
        out.push_str("0x");
        for (i, c) in lower.chars().enumerate() {
            let nibble = if i % 2 == 0 { hash[i / 2] >> 4 } else { hash[i / 2] & 0x0f };
            out.push(if nibble >= 8 { c.to_ascii_uppercase() } else { c });
        }
        f.write_str(&out)
    }
}

impl std::fmt::Debug for EthAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EthAddress({self})")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn eip55_vectors_round_trip_and_typos_are_caught() {
        // EIP-55's own examples.
        for s in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            assert_eq!(EthAddress::parse(s).unwrap().to_string(), s);
        }
        let lower = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
        assert_eq!(EthAddress::parse(lower).unwrap().to_string(), "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
        assert_eq!(EthAddress::parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"), Err(EthAddressError::BadChecksum));
        for bad in
            ["5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x5aAeb6", "0xZZAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"]
        {
            assert_eq!(EthAddress::parse(bad), Err(EthAddressError::Malformed), "{bad}");
        }
    }
}
