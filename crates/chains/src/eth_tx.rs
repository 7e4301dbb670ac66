//! EIP-1559 (type 2) transactions, signed locally with the custody key: the node only ever
//! sees the raw signed bytes (`eth_sendRawTransaction`).

use crate::EthAddress;
use crate::rlp::{Item, encode, uint};
use k256::ecdsa::SigningKey;
use sha3::{Digest, Keccak256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eip1559 {
    pub chain_id: u64,
    pub nonce: u64,
    pub max_priority_fee_per_gas: u128,
    pub max_fee_per_gas: u128,
    pub gas_limit: u64,
    pub to: EthAddress,
    /// Wei.
    pub value: u128,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signing failed: {0}")]
pub struct SignError(String);

impl Eip1559 {
    fn fields(&self) -> Vec<Vec<u8>> {
        vec![
            uint(u128::from(self.chain_id)),
            uint(u128::from(self.nonce)),
            uint(self.max_priority_fee_per_gas),
            uint(self.max_fee_per_gas),
            uint(u128::from(self.gas_limit)),
            self.to.0.to_vec(),
            uint(self.value),
            self.data.clone(),
        ]
    }

    fn payload(fields: &[Vec<u8>], signature: Option<(&[u8], &[u8], &[u8])>) -> Vec<u8> {
        let mut items: Vec<Item<'_>> = fields.iter().map(|f| Item::Bytes(f)).collect();
        items.push(Item::List(vec![])); // access list
        if let Some((v, r, s)) = signature {
            items.extend([Item::Bytes(v), Item::Bytes(r), Item::Bytes(s)]);
        }
        let mut out = vec![0x02];
        encode(&Item::List(items), &mut out);
        out
    }

    /// The signed transaction bytes and its hash.
    pub fn sign(&self, key: &[u8; 32]) -> Result<(Vec<u8>, [u8; 32]), SignError> {
        let signer = SigningKey::from_bytes(key.into()).map_err(|e| SignError(e.to_string()))?;
        let fields = self.fields();
        let digest = Keccak256::digest(Self::payload(&fields, None));
        let (sig, recovery) = signer.sign_prehash_recoverable(&digest).map_err(|e| SignError(e.to_string()))?;
        let bytes = sig.to_bytes();
        let strip = |b: &[u8]| b.iter().skip_while(|x| **x == 0).copied().collect::<Vec<u8>>();
        let (r, s) = (strip(&bytes[..32]), strip(&bytes[32..]));
        let v = uint(u128::from(recovery.is_y_odd()));
        let raw = Self::payload(&fields, Some((&v, &r, &s)));
        let hash: [u8; 32] = Keccak256::digest(&raw).into();
        Ok((raw, hash))
    }
}

/// The address of a secp256k1 private key.
pub fn address_of(key: &[u8; 32]) -> Result<EthAddress, SignError> {
    let signer = SigningKey::from_bytes(key.into()).map_err(|e| SignError(e.to_string()))?;
    let point = signer.verifying_key().to_encoded_point(false);
    Ok(EthAddress::from_uncompressed_public_key(point.as_bytes()))
}
