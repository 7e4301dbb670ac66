//! Solana legacy transactions, built and signed here (docs.solana.com "Transactions": message
//! header, account keys, recent blockhash, compiled instructions; ed25519 signatures over the
//! serialized message). Small enough to own, and custody never needs versioned messages.

use crate::SolAddress;
use ed25519_dalek::{Signer, SigningKey};
use zeroize::Zeroizing;

/// An account an instruction touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountMeta {
    pub key: SolAddress,
    pub signer: bool,
    pub writable: bool,
}

impl AccountMeta {
    pub fn writable(key: SolAddress, signer: bool) -> Self {
        Self { key, signer, writable: true }
    }
    pub fn readonly(key: SolAddress, signer: bool) -> Self {
        Self { key, signer, writable: false }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub program: SolAddress,
    pub accounts: Vec<AccountMeta>,
    pub data: Vec<u8>,
}

/// A keypair from a 32-byte ed25519 secret (SLIP-10 derived); the secret is wiped on drop.
pub struct SolKeypair {
    key: SigningKey,
}

impl std::fmt::Debug for SolKeypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SolKeypair({})", self.address())
    }
}

impl SolKeypair {
    pub fn from_secret(secret: &Zeroizing<[u8; 32]>) -> Self {
        Self { key: SigningKey::from_bytes(secret) }
    }
    pub fn address(&self) -> SolAddress {
        SolAddress(self.key.verifying_key().to_bytes())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TxError {
    #[error("a transaction needs at least one instruction and a fee payer")]
    Empty,
    #[error("signer {0} is required by the message but was not supplied")]
    MissingSigner(SolAddress),
    #[error("more than 255 accounts in one message")]
    TooManyAccounts,
}

/// A signed transaction: wire bytes and its id (the fee payer's signature, base58).
#[derive(Debug, Clone)]
pub struct SignedTx {
    pub bytes: Vec<u8>,
    pub signature: String,
}

/// Solana's compact-u16 ("shortvec") length prefix.
fn push_len(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut byte = (n & 0x7f) as u8;
        n >>= 7;
        if n != 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 {
            break;
        }
    }
}

/// Orders keys as the runtime requires: the fee payer first, then writable signers, readonly
/// signers, writable non-signers, readonly non-signers; programs are readonly non-signers.
fn compile_keys(payer: SolAddress, instructions: &[Instruction]) -> Vec<AccountMeta> {
    let mut metas: Vec<AccountMeta> = vec![AccountMeta::writable(payer, true)];
    let mut add = |m: AccountMeta| match metas.iter_mut().find(|x| x.key == m.key) {
        Some(x) => {
            x.signer |= m.signer;
            x.writable |= m.writable;
        }
        None => metas.push(m),
    };
    for ix in instructions {
        for a in &ix.accounts {
            add(*a);
        }
        add(AccountMeta::readonly(ix.program, false));
    }
    let rank = |m: &AccountMeta| match (m.signer, m.writable) {
        (true, true) => 0,
        (true, false) => 1,
        (false, true) => 2,
        (false, false) => 3,
    };
    // Stable sort: the payer (rank 0, first) stays first.
    metas.sort_by_key(rank);
    metas
}

/// Serializes the message that signers sign.
pub fn compile_message(
    payer: SolAddress,
    instructions: &[Instruction],
    recent_blockhash: &[u8; 32],
) -> Result<(Vec<u8>, Vec<SolAddress>), TxError> {
    if instructions.is_empty() {
        return Err(TxError::Empty);
    }
    let keys = compile_keys(payer, instructions);
    if keys.len() > 255 {
        return Err(TxError::TooManyAccounts);
    }
    let count = |f: &dyn Fn(&AccountMeta) -> bool| keys.iter().filter(|m| f(m)).count() as u8;
    let mut out = vec![count(&|m| m.signer), count(&|m| m.signer && !m.writable), count(&|m| !m.signer && !m.writable)];
    push_len(&mut out, keys.len());
    for k in &keys {
        out.extend_from_slice(&k.key.0);
    }
    out.extend_from_slice(recent_blockhash);
    push_len(&mut out, instructions.len());
    let index = |key: &SolAddress| keys.iter().position(|m| m.key == *key).unwrap_or(0) as u8;
    for ix in instructions {
        out.push(index(&ix.program));
        push_len(&mut out, ix.accounts.len());
        for a in &ix.accounts {
            out.push(index(&a.key));
        }
        push_len(&mut out, ix.data.len());
        out.extend_from_slice(&ix.data);
    }
    let signers = keys.iter().filter(|m| m.signer).map(|m| m.key).collect();
    Ok((out, signers))
}

/// Builds and signs a transaction; `signers` must hold every key the message requires.
pub fn sign(
    payer: &SolKeypair,
    others: &[&SolKeypair],
    instructions: &[Instruction],
    recent_blockhash: &[u8; 32],
) -> Result<SignedTx, TxError> {
    let (message, required) = compile_message(payer.address(), instructions, recent_blockhash)?;
    let mut bytes = Vec::with_capacity(1 + 64 * required.len() + message.len());
    push_len(&mut bytes, required.len());
    let mut first = None;
    for key in &required {
        let kp = std::iter::once(payer)
            .chain(others.iter().copied())
            .find(|k| k.address() == *key)
            .ok_or(TxError::MissingSigner(*key))?;
        let sig = kp.key.sign(&message).to_bytes();
        first.get_or_insert(sig);
        bytes.extend_from_slice(&sig);
    }
    bytes.extend_from_slice(&message);
    let signature = bs58::encode(first.unwrap_or([0; 64])).into_string();
    Ok(SignedTx { bytes, signature })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shortvec_lengths_match_the_spec() {
        for (n, want) in [(0usize, vec![0u8]), (0x7f, vec![0x7f]), (0x80, vec![0x80, 0x01]), (0x3fff, vec![0xff, 0x7f])]
        {
            let mut out = Vec::new();
            push_len(&mut out, n);
            assert_eq!(out, want, "{n}");
        }
    }

    #[test]
    fn keys_are_ordered_payer_first_then_by_role() {
        let k = |b: u8| SolAddress([b; 32]);
        let ix = Instruction {
            program: k(9),
            accounts: vec![
                AccountMeta::readonly(k(3), false),
                AccountMeta::writable(k(2), false),
                AccountMeta::readonly(k(4), true),
            ],
            data: vec![1],
        };
        let (msg, signers) = compile_message(k(1), &[ix], &[7; 32]).unwrap();
        assert_eq!(&msg[..3], &[2, 1, 2], "two signers, one readonly; two readonly unsigned");
        assert_eq!(signers, vec![k(1), k(4)]);
        let keys: Vec<u8> = (0..5).map(|i| msg[4 + 32 * i]).collect();
        assert_eq!(keys, vec![1, 4, 2, 3, 9]);
    }

    #[test]
    fn a_missing_signer_is_refused() {
        let payer = SolKeypair::from_secret(&Zeroizing::new([1; 32]));
        let ix = Instruction {
            program: SolAddress([9; 32]),
            accounts: vec![AccountMeta::writable(SolAddress([5; 32]), true)],
            data: vec![],
        };
        assert_eq!(sign(&payer, &[], &[ix], &[0; 32]).err(), Some(TxError::MissingSigner(SolAddress([5; 32]))));
    }
}
