//! Amounts and balances (u128) sent to PostgreSQL as NUMERIC in its binary format, instead of
//! as text cast with `::numeric`. Issue 4, throughput: a ledger batch of single transfers sends
//! about eight numbers per account (the new counters and the compare-and-set's old ones) and
//! one per transfer. As text, each was printed by the server (u128's `Display`, an allocation)
//! and parsed by PostgreSQL's `numeric_in` while the batch held the journal head. Measured
//! (bench/RESULTS.md, 2026-12-04): no change in throughput beyond the machine's noise; kept
//! because a typed parameter has no text round trip to get wrong.
//!
//! The format (PostgreSQL's `numeric_send`/`numeric_recv`, src/backend/utils/adt/numeric.c):
//! int16 ndigits, int16 weight, uint16 sign, uint16 dscale, then `ndigits` int16 digits in
//! base 10,000, most significant first; the value is Σ digit[i] × 10000^(weight − i). Integers
//! have dscale 0, and trailing zero digits are left out (the weight carries them), as
//! `numeric_send` does. Zero is no digits at all.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo};
use sqlx::{Encode, Postgres, Type};

/// A non-negative integer bound as NUMERIC(39,0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Numeric(pub u128);

const NUMERIC_OID: u32 = 1700;
const NUMERIC_ARRAY_OID: u32 = 1231;
const NBASE: u128 = 10_000;
/// u128::MAX has 39 decimal digits: 10 base-10,000 digits.
const MAX_DIGITS: usize = 10;

impl Numeric {
    /// The base-10,000 digits, most significant first, without trailing zeros, and the weight.
    fn digits(self) -> ([i16; MAX_DIGITS], usize, i16) {
        let mut little = [0i16; MAX_DIGITS];
        let mut n = 0;
        let mut v = self.0;
        while v > 0 {
            // Each remainder is below 10,000, so it fits an i16.
            little[n] = (v % NBASE) as i16;
            v /= NBASE;
            n += 1;
        }
        // `n` digits have weight n − 1; the zeros at the little end need not be sent.
        let weight = n as i16 - 1;
        let zeros = little[..n].iter().take_while(|d| **d == 0).count();
        let mut big = [0i16; MAX_DIGITS];
        for (i, d) in little[zeros..n].iter().rev().enumerate() {
            big[i] = *d;
        }
        (big, n - zeros, if n == 0 { 0 } else { weight })
    }
}

impl Type<Postgres> for Numeric {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(NUMERIC_OID))
    }
}

impl PgHasArrayType for Numeric {
    fn array_type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(NUMERIC_ARRAY_OID))
    }
}

impl Encode<'_, Postgres> for Numeric {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        let (digits, ndigits, weight) = self.digits();
        buf.extend_from_slice(&(ndigits as i16).to_be_bytes());
        buf.extend_from_slice(&weight.to_be_bytes());
        buf.extend_from_slice(&0u16.to_be_bytes()); // sign: positive
        buf.extend_from_slice(&0u16.to_be_bytes()); // dscale: an integer
        for d in &digits[..ndigits] {
            buf.extend_from_slice(&d.to_be_bytes());
        }
        Ok(IsNull::No)
    }

    fn size_hint(&self) -> usize {
        8 + 2 * MAX_DIGITS
    }
}

#[cfg(test)]
mod tests {
    use super::Numeric;

    #[test]
    fn digits_are_base_ten_thousand_most_significant_first_without_trailing_zeros() {
        let d = |v: u128| {
            let (digits, n, weight) = Numeric(v).digits();
            (digits[..n].to_vec(), weight)
        };
        assert_eq!(d(0), (vec![], 0));
        assert_eq!(d(7), (vec![7], 0));
        assert_eq!(d(9_999), (vec![9_999], 0));
        assert_eq!(d(10_000), (vec![1], 1));
        assert_eq!(d(123_456_789), (vec![1, 2_345, 6_789], 2));
        assert_eq!(d(1_000_000_000_000_000_000), (vec![100], 4));
        assert_eq!(d(u128::MAX), (vec![340, 2_823, 6_692, 938, 4_634, 6_337, 4_607, 4_317, 6_821, 1_455], 9));
    }
}
