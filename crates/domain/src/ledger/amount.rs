//! Amounts: unsigned integers of an asset's smallest unit (cents, wei, lamports). u128 holds
//! any 18-decimal amount (1 ETH = 10^18 wei); PostgreSQL stores NUMERIC(39,0), SQLite TEXT.
//! In JSON they are strings of digits, so no client parses them as floats.

use serde::{Deserialize, Serialize};

/// A positive amount of some asset's smallest unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Amount(u128);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount must be greater than zero")]
    Zero,
    #[error("amount must not be negative")]
    Negative,
    #[error("amount must be an integer number of the asset's smallest unit (no decimal point)")]
    TooPrecise,
    #[error("amount is too large")]
    TooLarge,
    #[error("amount must be a string of digits, such as \"1050\": no sign, spaces or leading zeros")]
    Malformed,
}

impl Amount {
    pub fn new(units: u128) -> Result<Self, AmountError> {
        if units == 0 { Err(AmountError::Zero) } else { Ok(Self(units)) }
    }

    pub const fn units(self) -> u128 {
        self.0
    }

    /// Only the canonical form: the digits of a positive integer, nothing around them and no
    /// leading zero. So an amount has one spelling, and a request's fingerprint (its
    /// `Idempotency-Key` check) and the journal say the same as what the caller meant; " 100",
    /// "+100" and "0100" are refused, not read as 100.
    pub fn parse(s: &str) -> Result<Self, AmountError> {
        if s.trim_start().starts_with('-') {
            return Err(AmountError::Negative);
        }
        if s.contains(['.', ',', 'e', 'E']) {
            return Err(AmountError::TooPrecise);
        }
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::Malformed);
        }
        if s == "0" {
            return Err(AmountError::Zero);
        }
        if s.starts_with('0') {
            return Err(AmountError::Malformed);
        }
        let units: u128 = s.parse().map_err(|_| AmountError::TooLarge)?;
        Self::new(units)
    }
}

impl TryFrom<String> for Amount {
    type Error = AmountError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Amount> for String {
    fn from(a: Amount) -> Self {
        a.0.to_string()
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A signed count of minor units as a decimal in major units, exactly: `to_decimal(-1234, 2)`
/// is `"-12.34"`; scale 0 has no point. For display and CSV; the API's amounts stay integers.
pub fn to_decimal(units: i128, scale: u8) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let digits = units.unsigned_abs().to_string();
    let scale = usize::from(scale);
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{frac}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(to_decimal(-1234, 2), "-12.34");
        assert_eq!(to_decimal(5, 2), "0.05");
        assert_eq!(to_decimal(0, 2), "0.00");
        assert_eq!(to_decimal(1_000_000_000_000_000_001, 18), "1.000000000000000001");
        assert_eq!(to_decimal(1500, 0), "1500");
        assert_eq!(to_decimal(i128::MIN, 2), "-1701411834604692317316873037158841057.28");
    }

    #[test]
    fn parses_only_positive_integer_strings() {
        assert_eq!(Amount::parse("1050").map(Amount::units), Ok(1050));
        assert_eq!(Amount::parse("1000000000000000000").map(Amount::units), Ok(1_000_000_000_000_000_000));
        assert_eq!(Amount::parse(&u128::MAX.to_string()).map(Amount::units), Ok(u128::MAX));
        assert_eq!(Amount::parse("0"), Err(AmountError::Zero));
        assert_eq!(Amount::parse("-5"), Err(AmountError::Negative));
        assert_eq!(Amount::parse("10.50"), Err(AmountError::TooPrecise));
        assert_eq!(Amount::parse("1e3"), Err(AmountError::TooPrecise));
        assert_eq!(Amount::parse("abc"), Err(AmountError::Malformed));
        assert_eq!(Amount::parse(""), Err(AmountError::Malformed));
        assert_eq!(Amount::parse("340282366920938463463374607431768211456"), Err(AmountError::TooLarge));
        for other_spelling in [" 100", "100 ", "+100", "0100", "00", "1 00", "\u{661}"] {
            assert_eq!(Amount::parse(other_spelling), Err(AmountError::Malformed), "{other_spelling:?}");
        }
        assert_eq!(Amount::parse(" -5"), Err(AmountError::Negative));
    }
}
