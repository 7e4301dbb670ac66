//! Custody keys and addresses (issue 5, chains.md "Keys"). Pure: no network, no storage. The
//! master seed is derived from a BIP-39 mnemonic (checksum validated) and never printed;
//! Ethereum keys follow BIP-32 m/44'/60'/0'/0/i, Solana keys SLIP-10 ed25519 m/44'/501'/i'/0'.
#![forbid(unsafe_code)]

pub mod erc20;
mod eth;
pub mod eth_rpc;
pub mod eth_tx;
pub mod jsonrpc;
mod rlp;
mod seed;
mod sol;
pub mod sol_programs;
pub mod sol_rpc;
pub mod sol_tx;

pub use eth::{EthAddress, EthAddressError};
pub use seed::{KeyError, MasterSeed};
pub use sol::{SolAddress, SolAddressError};

/// The chains custody speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Chain {
    Ethereum,
    Solana,
}

impl Chain {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ethereum => "ethereum",
            Self::Solana => "solana",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ethereum" => Some(Self::Ethereum),
            "solana" => Some(Self::Solana),
            _ => None,
        }
    }
}
