//! ERC-20 (EIP-20) calls and events, encoded by hand (Solidity ABI: 4-byte selector, 32-byte
//! words): enough to read balances, send tokens and find deposits in `Transfer` logs.

use crate::EthAddress;
use sha3::{Digest, Keccak256};

/// keccak256("Transfer(address,address,uint256)"): topic 0 of every token transfer log.
pub fn transfer_topic() -> [u8; 32] {
    Keccak256::digest(b"Transfer(address,address,uint256)").into()
}

fn selector(signature: &str) -> [u8; 4] {
    let h = Keccak256::digest(signature.as_bytes());
    [h[0], h[1], h[2], h[3]]
}

fn word_address(a: &EthAddress) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(&a.0);
    w
}

fn word_uint(v: u128) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[16..].copy_from_slice(&v.to_be_bytes());
    w
}

/// `transfer(to, amount)` call data.
pub fn transfer_call(to: &EthAddress, amount: u128) -> Vec<u8> {
    let mut data = selector("transfer(address,uint256)").to_vec();
    data.extend_from_slice(&word_address(to));
    data.extend_from_slice(&word_uint(amount));
    data
}

/// `balanceOf(owner)` call data.
pub fn balance_of_call(owner: &EthAddress) -> Vec<u8> {
    let mut data = selector("balanceOf(address)").to_vec();
    data.extend_from_slice(&word_address(owner));
    data
}

/// The address in an indexed `address` topic (32 bytes, left-padded).
pub fn topic_address(topic: &[u8]) -> Option<EthAddress> {
    let tail: [u8; 20] = topic.get(12..32)?.try_into().ok()?;
    topic.get(..12).filter(|head| head.iter().all(|b| *b == 0))?;
    Some(EthAddress(tail))
}

/// A uint256 word that fits u128 (token amounts beyond 2^128 are refused, not truncated).
pub fn word_to_u128(word: &[u8]) -> Option<u128> {
    if word.len() != 32 || word[..16].iter().any(|b| *b != 0) {
        return None;
    }
    Some(u128::from_be_bytes(word[16..].try_into().ok()?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn selectors_and_words_follow_the_abi() {
        // Well-known selectors: transfer 0xa9059cbb, balanceOf 0x70a08231.
        let to = EthAddress::parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8").unwrap();
        let call = transfer_call(&to, 1_000_000);
        assert_eq!(&call[..4], &[0xa9, 0x05, 0x9c, 0xbb]);
        assert_eq!(call.len(), 68);
        assert_eq!(topic_address(&call[4..36]), Some(to));
        assert_eq!(word_to_u128(&call[36..68]), Some(1_000_000));
        assert_eq!(&balance_of_call(&to)[..4], &[0x70, 0xa0, 0x82, 0x31]);
        assert_eq!(
            crate::eth_rpc::to_hex(&transfer_topic()),
            "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
        );
        let mut huge = [0u8; 32];
        huge[0] = 1;
        assert_eq!(word_to_u128(&huge), None);
    }
}
