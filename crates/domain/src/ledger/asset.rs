//! Assets and their scales. The built-in set covers the product's currencies and tokens;
//! more come from configuration (`LEDGER_EXTRA_ASSETS`), never from code changes.

use serde::Serialize;
use std::collections::BTreeMap;

/// `USD`, `ETH`, `USDC-ETH`: uppercase letters, digits and dashes, 2 to 16 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AssetCode(String);

impl TryFrom<String> for AssetCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s).ok_or_else(|| format!("{s:?} is not an asset code"))
    }
}

impl From<AssetCode> for String {
    fn from(c: AssetCode) -> Self {
        c.0
    }
}

impl AssetCode {
    pub fn parse(s: &str) -> Option<Self> {
        let ok = (2..=16).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_uppercase())
            && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AssetCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    Fiat,
    Crypto,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Asset {
    pub code: AssetCode,
    /// Decimal places of the smallest unit: 2 for USD, 0 for JPY, 18 for ETH.
    pub scale: u8,
    pub name: String,
    pub kind: AssetKind,
}

#[derive(Debug, Clone)]
pub struct AssetRegistry {
    assets: BTreeMap<AssetCode, Asset>,
}

const BUILT_IN: &[(&str, u8, &str, AssetKind)] = &[
    ("USD", 2, "US dollar", AssetKind::Fiat),
    ("EUR", 2, "Euro", AssetKind::Fiat),
    ("GBP", 2, "Pound sterling", AssetKind::Fiat),
    ("CNY", 2, "Chinese yuan", AssetKind::Fiat),
    ("JPY", 0, "Japanese yen", AssetKind::Fiat),
    ("ETH", 18, "Ether", AssetKind::Crypto),
    ("SOL", 9, "Solana", AssetKind::Crypto),
    ("USDC-ETH", 6, "USD Coin on Ethereum", AssetKind::Crypto),
    ("USDC-SOL", 6, "USD Coin on Solana", AssetKind::Crypto),
];

impl Default for AssetRegistry {
    fn default() -> Self {
        let assets = BUILT_IN
            .iter()
            .filter_map(|(code, scale, name, kind)| {
                AssetCode::parse(code)
                    .map(|c| (c.clone(), Asset { code: c, scale: *scale, name: (*name).to_owned(), kind: *kind }))
            })
            .collect();
        Self { assets }
    }
}

impl AssetRegistry {
    /// The built-in assets plus `extra`: `CODE:scale:Name[:crypto]`, comma-separated.
    pub fn with_extra(extra: &str) -> Result<Self, String> {
        let mut registry = Self::default();
        for item in extra.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let parts: Vec<&str> = item.split(':').collect();
            let (code, scale, name) = match parts.as_slice() {
                [c, s, n] | [c, s, n, _] => (*c, *s, *n),
                _ => return Err(format!("asset {item:?}: expected CODE:scale:Name[:crypto]")),
            };
            let code = AssetCode::parse(code).ok_or_else(|| format!("asset {item:?}: bad code"))?;
            let scale: u8 = scale
                .parse()
                .ok()
                .filter(|s| *s <= 30)
                .ok_or_else(|| format!("asset {item:?}: scale must be 0 to 30"))?;
            let kind = if parts.get(3) == Some(&"crypto") { AssetKind::Crypto } else { AssetKind::Fiat };
            registry.assets.insert(code.clone(), Asset { code, scale, name: name.to_owned(), kind });
        }
        Ok(registry)
    }

    pub fn get(&self, code: &str) -> Option<&Asset> {
        AssetCode::parse(code).and_then(|c| self.assets.get(&c))
    }

    pub fn all(&self) -> impl Iterator<Item = &Asset> {
        self.assets.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_and_configured_extras() {
        let r = AssetRegistry::with_extra("CHF:2:Swiss franc, BTC:8:Bitcoin:crypto").expect("valid");
        assert_eq!(r.get("USD").map(|a| a.scale), Some(2));
        assert_eq!(r.get("ETH").map(|a| a.scale), Some(18));
        assert_eq!(r.get("USDC-SOL").map(|a| a.scale), Some(6));
        assert_eq!(r.get("CHF").map(|a| a.kind), Some(AssetKind::Fiat));
        assert_eq!(r.get("BTC").map(|a| a.kind), Some(AssetKind::Crypto));
        assert!(r.get("usd").is_none() && r.get("XXX").is_none());
        assert!(AssetRegistry::with_extra("chf:2:x").is_err());
    }
}
