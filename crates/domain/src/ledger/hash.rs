//! Tamper evidence: each committed transfer carries SHA-256(previous hash ‖ canonical bytes),
//! so a changed, inserted or deleted row breaks the chain that `ledger verify` recomputes.

use super::transfer::Transfer;
use sha2::{Digest, Sha256};

pub const GENESIS: [u8; 32] = [0; 32];

/// A fixed, unambiguous encoding: every field, length-prefixed, in a fixed order.
fn canonical(t: &Transfer) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    let mut out = Vec::with_capacity(256);
    field(&mut out, b"pb-transfer-v1");
    field(&mut out, t.id.0.as_bytes());
    field(&mut out, t.debit_account_id.0.as_bytes());
    field(&mut out, t.credit_account_id.0.as_bytes());
    field(&mut out, &t.amount.to_be_bytes());
    field(&mut out, t.asset.as_bytes());
    field(&mut out, t.code.as_bytes());
    field(&mut out, &t.flags.bits().to_be_bytes());
    field(&mut out, t.pending_id.map(|p| p.0.into_bytes()).unwrap_or_default().as_slice());
    field(&mut out, &t.expires_at.unwrap_or(i64::MIN).to_be_bytes());
    field(&mut out, t.description.as_deref().unwrap_or("").as_bytes());
    for (k, v) in &t.metadata {
        field(&mut out, k.as_bytes());
        field(&mut out, v.as_bytes());
    }
    field(&mut out, b"|");
    field(&mut out, &t.debit_balance_after.unwrap_or(i128::MIN).to_be_bytes());
    field(&mut out, &t.credit_balance_after.unwrap_or(i128::MIN).to_be_bytes());
    field(&mut out, &t.created_at.to_be_bytes());
    out
}

pub fn chain(prev: &[u8; 32], t: &Transfer) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical(t));
    h.finalize().into()
}
