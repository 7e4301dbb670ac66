//! Ethereum JSON-RPC over HTTP (execution API spec, ethereum/execution-apis): the handful of
//! methods custody needs. Quantities are hex strings; amounts of wei are u128.

use crate::EthAddress;
use serde_json::{Value, json};

use crate::jsonrpc::JsonRpc;
pub use crate::jsonrpc::RpcError;

const CHAIN: &str = "ethereum";

fn malformed(detail: impl Into<String>) -> RpcError {
    RpcError::Malformed { chain: CHAIN, detail: detail.into() }
}

#[derive(Clone, Debug)]
pub struct EthRpc {
    rpc: JsonRpc,
}

pub fn hex_u128(v: &Value) -> Result<u128, RpcError> {
    let s = v.as_str().ok_or_else(|| malformed(format!("expected a hex quantity, got {v}")))?;
    u128::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|_| malformed(format!("bad quantity {s}")))
}

pub fn hex_u64(v: &Value) -> Result<u64, RpcError> {
    u64::try_from(hex_u128(v)?).map_err(|_| malformed("quantity too large"))
}

pub fn hex_bytes(s: &str) -> Result<Vec<u8>, RpcError> {
    let h = s.trim_start_matches("0x");
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(h.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()
        .map_err(|_| malformed(format!("bad hex {s}")))
}

pub fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// A transaction as seen in a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenTx {
    pub hash: String,
    pub from: Option<EthAddress>,
    pub to: Option<EthAddress>,
    pub value: u128,
}

/// A token `Transfer` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenTransfer {
    pub token: EthAddress,
    pub tx_hash: String,
    pub log_index: u32,
    pub from: Option<EthAddress>,
    pub to: EthAddress,
    pub amount: u128,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub number: u64,
    pub hash: String,
    pub transactions: Vec<SeenTx>,
}

impl EthRpc {
    pub fn new(url: &str) -> Self {
        Self { rpc: JsonRpc::new(CHAIN, url) }
    }

    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        self.rpc.call(method, params).await
    }

    pub async fn chain_id(&self) -> Result<u64, RpcError> {
        hex_u64(&self.call("eth_chainId", json!([])).await?)
    }

    pub async fn block_number(&self) -> Result<u64, RpcError> {
        hex_u64(&self.call("eth_blockNumber", json!([])).await?)
    }

    pub async fn balance(&self, a: &EthAddress) -> Result<u128, RpcError> {
        hex_u128(&self.call("eth_getBalance", json!([a.to_string(), "latest"])).await?)
    }

    /// The next nonce, counting transactions still in the pool.
    pub async fn pending_nonce(&self, a: &EthAddress) -> Result<u64, RpcError> {
        hex_u64(&self.call("eth_getTransactionCount", json!([a.to_string(), "pending"])).await?)
    }

    pub async fn gas_price(&self) -> Result<u128, RpcError> {
        hex_u128(&self.call("eth_gasPrice", json!([])).await?)
    }

    pub async fn max_priority_fee(&self) -> Result<u128, RpcError> {
        hex_u128(&self.call("eth_maxPriorityFeePerGas", json!([])).await?)
    }

    pub async fn send_raw(&self, raw: &[u8]) -> Result<String, RpcError> {
        let v = self.call("eth_sendRawTransaction", json!([to_hex(raw)])).await?;
        v.as_str().map(str::to_owned).ok_or_else(|| malformed(v.to_string()))
    }

    /// `Some(success)` once mined; `None` while pending or unknown.
    pub async fn receipt_status(&self, tx_hash: &str) -> Result<Option<(bool, u64)>, RpcError> {
        let v = self.call("eth_getTransactionReceipt", json!([tx_hash])).await?;
        if v.is_null() {
            return Ok(None);
        }
        Ok(Some((hex_u64(&v["status"])? == 1, hex_u64(&v["blockNumber"])?)))
    }

    /// What a mined transaction cost its sender in gas: gasUsed × effectiveGasPrice, in wei.
    pub async fn gas_cost(&self, tx_hash: &str) -> Result<Option<u128>, RpcError> {
        let v = self.call("eth_getTransactionReceipt", json!([tx_hash])).await?;
        if v.is_null() {
            return Ok(None);
        }
        Ok(Some(hex_u128(&v["gasUsed"])?.saturating_mul(hex_u128(&v["effectiveGasPrice"])?)))
    }

    /// A token's balance (`balanceOf` through `eth_call`).
    pub async fn token_balance(&self, token: &EthAddress, owner: &EthAddress) -> Result<u128, RpcError> {
        let data = to_hex(&crate::erc20::balance_of_call(owner));
        let v = self.call("eth_call", json!([{"to": token.to_string(), "data": data}, "latest"])).await?;
        let bytes = hex_bytes(v.as_str().unwrap_or_default())?;
        crate::erc20::word_to_u128(&bytes).ok_or_else(|| malformed(format!("balanceOf answered {v}")))
    }

    /// `Transfer` logs of these token contracts in one block (EIP-234 `blockHash` filter, so a
    /// reorganised block is never mixed with its replacement).
    pub async fn token_transfers(
        &self,
        block_hash: &str,
        tokens: &[EthAddress],
    ) -> Result<Vec<TokenTransfer>, RpcError> {
        let addresses: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
        let topic = to_hex(&crate::erc20::transfer_topic());
        let v = self
            .call("eth_getLogs", json!([{"blockHash": block_hash, "address": addresses, "topics": [topic]}]))
            .await?;
        let mut out = Vec::new();
        for log in v.as_array().cloned().unwrap_or_default() {
            let topics = log["topics"].as_array().cloned().unwrap_or_default();
            let (Some(from), Some(to)) = (topics.get(1), topics.get(2)) else { continue };
            let from = crate::erc20::topic_address(&hex_bytes(from.as_str().unwrap_or_default())?);
            let to = crate::erc20::topic_address(&hex_bytes(to.as_str().unwrap_or_default())?);
            let amount = crate::erc20::word_to_u128(&hex_bytes(log["data"].as_str().unwrap_or_default())?);
            let token = log["address"].as_str().and_then(|a| EthAddress::parse(&a.to_ascii_lowercase()).ok());
            let (Some(to), Some(amount), Some(token)) = (to, amount, token) else { continue };
            out.push(TokenTransfer {
                token,
                tx_hash: log["transactionHash"].as_str().unwrap_or_default().to_owned(),
                log_index: u32::try_from(hex_u64(&log["logIndex"])?).unwrap_or(u32::MAX),
                from,
                to,
                amount,
            });
        }
        Ok(out)
    }

    pub async fn block(&self, number: u64) -> Result<Option<Block>, RpcError> {
        let v = self.call("eth_getBlockByNumber", json!([format!("0x{number:x}"), true])).await?;
        if v.is_null() {
            return Ok(None);
        }
        let address = |x: &Value| x.as_str().and_then(|s| EthAddress::parse(s).ok());
        let transactions = v["transactions"]
            .as_array()
            .map(|txs| {
                txs.iter()
                    .map(|t| {
                        Ok(SeenTx {
                            hash: t["hash"].as_str().unwrap_or_default().to_owned(),
                            from: address(&t["from"]),
                            to: address(&t["to"]),
                            value: hex_u128(&t["value"])?,
                        })
                    })
                    .collect::<Result<Vec<_>, RpcError>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(Some(Block {
            number: hex_u64(&v["number"])?,
            hash: v["hash"].as_str().unwrap_or_default().to_owned(),
            transactions,
        }))
    }
}
