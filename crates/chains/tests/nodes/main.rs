//! pb-chains against real local nodes: anvil (Ethereum) and pb-solana-node (Solana).
#![allow(clippy::unwrap_used)]

mod ethereum;
mod solana;
