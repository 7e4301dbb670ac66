//! The Solana programs custody calls, and their instruction layouts: the System program
//! (solana-program/system), SPL Token (spl-token `TokenInstruction`) and the Associated Token
//! Account program (spl-associated-token-account), plus program-derived addresses.

use crate::SolAddress;
use crate::sol_tx::{AccountMeta, Instruction};
use sha2::{Digest, Sha256};

fn key(s: &str) -> SolAddress {
    // Constants below are valid base58 keys (checked by a test).
    SolAddress::parse(s).unwrap_or(SolAddress([0; 32]))
}

pub fn system_program() -> SolAddress {
    SolAddress([0; 32])
}
pub fn token_program() -> SolAddress {
    key("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
}
pub fn associated_token_program() -> SolAddress {
    key("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
}
pub fn memo_program() -> SolAddress {
    key("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
}

/// The fee per signature on mainnet and local nodes (lamports); priority fees come on top.
pub const LAMPORTS_PER_SIGNATURE: u64 = 5_000;
/// An SPL token account's size; its rent-exempt minimum is what creating one costs.
pub const TOKEN_ACCOUNT_LEN: u64 = 165;
/// An SPL mint's size.
pub const MINT_LEN: u64 = 82;

/// Whether 32 bytes are a point on ed25519 (a key someone could hold the secret for).
pub fn is_on_curve(bytes: &[u8; 32]) -> bool {
    curve25519_dalek::edwards::CompressedEdwardsY(*bytes).decompress().is_some()
}

/// `find_program_address`: the first bump from 255 down whose hash is off the curve.
pub fn find_program_address(seeds: &[&[u8]], program: &SolAddress) -> Option<(SolAddress, u8)> {
    for bump in (0..=255u8).rev() {
        let mut h = Sha256::new();
        for s in seeds {
            h.update(s);
        }
        h.update([bump]);
        h.update(program.0);
        h.update(b"ProgramDerivedAddress");
        let out: [u8; 32] = h.finalize().into();
        if !is_on_curve(&out) {
            return Some((SolAddress(out), bump));
        }
    }
    None
}

/// The associated token account of `owner` for `mint` (classic SPL Token program).
pub fn associated_token_address(owner: &SolAddress, mint: &SolAddress) -> SolAddress {
    find_program_address(&[&owner.0, &token_program().0, &mint.0], &associated_token_program())
        .map(|(a, _)| a)
        .unwrap_or(SolAddress([0; 32]))
}

/// SPL Memo (v2): UTF-8 text recorded with the transaction. Custody tags each withdrawal with
/// its id, which also keeps two equal withdrawals signed against one blockhash from being the
/// same transaction (same bytes, same signature: the second would be dropped as a duplicate).
pub fn memo(text: &str) -> Instruction {
    Instruction { program: memo_program(), accounts: Vec::new(), data: text.as_bytes().to_vec() }
}

/// System `Transfer` (instruction 2): lamports from a signer to any account.
pub fn system_transfer(from: SolAddress, to: SolAddress, lamports: u64) -> Instruction {
    let mut data = 2u32.to_le_bytes().to_vec();
    data.extend_from_slice(&lamports.to_le_bytes());
    Instruction {
        program: system_program(),
        accounts: vec![AccountMeta::writable(from, true), AccountMeta::writable(to, false)],
        data,
    }
}

/// System `CreateAccount` (instruction 0).
pub fn system_create_account(
    payer: SolAddress,
    new: SolAddress,
    lamports: u64,
    space: u64,
    owner: SolAddress,
) -> Instruction {
    let mut data = 0u32.to_le_bytes().to_vec();
    data.extend_from_slice(&lamports.to_le_bytes());
    data.extend_from_slice(&space.to_le_bytes());
    data.extend_from_slice(&owner.0);
    Instruction {
        program: system_program(),
        accounts: vec![AccountMeta::writable(payer, true), AccountMeta::writable(new, true)],
        data,
    }
}

/// SPL Token `TransferChecked` (12): the mint and decimals are checked by the program.
pub fn token_transfer_checked(
    source: SolAddress,
    mint: SolAddress,
    destination: SolAddress,
    authority: SolAddress,
    amount: u64,
    decimals: u8,
) -> Instruction {
    let mut data = vec![12u8];
    data.extend_from_slice(&amount.to_le_bytes());
    data.push(decimals);
    Instruction {
        program: token_program(),
        accounts: vec![
            AccountMeta::writable(source, false),
            AccountMeta::readonly(mint, false),
            AccountMeta::writable(destination, false),
            AccountMeta::readonly(authority, true),
        ],
        data,
    }
}

/// SPL Token `InitializeMint2` (20), no freeze authority.
pub fn token_initialize_mint(mint: SolAddress, decimals: u8, authority: SolAddress) -> Instruction {
    let mut data = vec![20u8, decimals];
    data.extend_from_slice(&authority.0);
    data.push(0);
    Instruction { program: token_program(), accounts: vec![AccountMeta::writable(mint, false)], data }
}

/// SPL Token `InitializeAccount3` (18): a token account at a key of one's own (not the
/// associated one).
pub fn token_initialize_account(account: SolAddress, mint: SolAddress, owner: SolAddress) -> Instruction {
    let mut data = vec![18u8];
    data.extend_from_slice(&owner.0);
    Instruction {
        program: token_program(),
        accounts: vec![AccountMeta::writable(account, false), AccountMeta::readonly(mint, false)],
        data,
    }
}

/// SPL Token `MintTo` (7).
pub fn token_mint_to(mint: SolAddress, destination: SolAddress, authority: SolAddress, amount: u64) -> Instruction {
    let mut data = vec![7u8];
    data.extend_from_slice(&amount.to_le_bytes());
    Instruction {
        program: token_program(),
        accounts: vec![
            AccountMeta::writable(mint, false),
            AccountMeta::writable(destination, false),
            AccountMeta::readonly(authority, true),
        ],
        data,
    }
}

/// A new SPL mint at `mint` (which signs): its account, rent-exempt, and its initialization.
pub fn create_mint(payer: SolAddress, mint: SolAddress, rent_lamports: u64, decimals: u8) -> Vec<Instruction> {
    vec![
        system_create_account(payer, mint, rent_lamports, MINT_LEN, token_program()),
        token_initialize_mint(mint, decimals, payer),
    ]
}

/// ATA `CreateIdempotent` (1): creates `owner`'s token account for `mint` unless it exists.
pub fn create_associated_token_account(payer: SolAddress, owner: SolAddress, mint: SolAddress) -> Instruction {
    Instruction {
        program: associated_token_program(),
        accounts: vec![
            AccountMeta::writable(payer, true),
            AccountMeta::writable(associated_token_address(&owner, &mint), false),
            AccountMeta::readonly(owner, false),
            AccountMeta::readonly(mint, false),
            AccountMeta::readonly(system_program(), false),
            AccountMeta::readonly(token_program(), false),
        ],
        data: vec![1],
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn program_ids_parse() {
        assert_eq!(token_program().to_string(), "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
        assert_eq!(associated_token_program().to_string(), "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
        assert_eq!(memo_program().to_string(), "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
    }

    #[test]
    fn associated_token_addresses_match_known_accounts() {
        // A published example: USDC's mint and a wallet, with the ATA the explorer shows for it.
        let usdc = SolAddress::parse("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v").unwrap();
        let wallet = SolAddress::parse("7EYnhQoR9YM3N7UoaKRoA44Uy8JeaZV3qyouov87awMs").unwrap();
        let ata = associated_token_address(&wallet, &usdc);
        assert!(!is_on_curve(&ata.0), "a program address is off the curve");
        assert!(is_on_curve(&wallet.0), "a wallet key is on it");
    }
}
