//! Solana JSON-RPC over HTTP (solana.com/docs/rpc): the methods custody needs. Reads use the
//! `confirmed` commitment (a supermajority voted; `finalized` trails it by ~32 slots); custody
//! decides finality itself by slot depth and re-checks a transaction before crediting it.

use crate::SolAddress;
use crate::jsonrpc::{JsonRpc, RpcError};
use base64::Engine as _;
use serde_json::{Value, json};

const CHAIN: &str = "solana";
const CONFIRMED: &str = "confirmed";

fn malformed(detail: impl Into<String>) -> RpcError {
    RpcError::Malformed { chain: CHAIN, detail: detail.into() }
}

fn u64_of(v: &Value) -> Result<u64, RpcError> {
    v.as_u64().ok_or_else(|| malformed(format!("expected an integer, got {v}")))
}

/// Token amounts travel as decimal strings (they may exceed 2^53).
fn amount_of(v: &Value) -> Result<u64, RpcError> {
    v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| malformed(format!("expected an amount string, got {v}")))
}

#[derive(Clone, Debug)]
pub struct SolRpc {
    rpc: JsonRpc,
}

/// An SPL token balance recorded in a transaction's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBalance {
    pub account_index: usize,
    pub mint: String,
    pub owner: String,
    pub amount: u64,
}

/// A transaction as seen in a block: its accounts and their balances before and after.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeenTx {
    pub signature: String,
    pub succeeded: bool,
    pub account_keys: Vec<String>,
    pub pre_balances: Vec<u64>,
    pub post_balances: Vec<u64>,
    pub pre_token: Vec<TokenBalance>,
    pub post_token: Vec<TokenBalance>,
}

/// What a transaction added to one account: lamports (`mint` None) or tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increase {
    /// Index in the transaction's account keys: unique per account within a transaction.
    pub account_index: usize,
    /// The receiving wallet: the account itself for lamports, the token account's owner for tokens.
    pub wallet: String,
    /// The account whose balance grew (the token account for tokens).
    pub account: String,
    pub mint: Option<String>,
    pub amount: u64,
}

impl SeenTx {
    /// Every balance that grew in a successful transaction. Failed ones move nothing but fees.
    pub fn increases(&self) -> Vec<Increase> {
        if !self.succeeded {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (i, key) in self.account_keys.iter().enumerate() {
            let pre = self.pre_balances.get(i).copied().unwrap_or(0);
            let post = self.post_balances.get(i).copied().unwrap_or(0);
            if post > pre {
                out.push(Increase {
                    account_index: i,
                    wallet: key.clone(),
                    account: key.clone(),
                    mint: None,
                    amount: post - pre,
                });
            }
        }
        for post in &self.post_token {
            let pre = self
                .pre_token
                .iter()
                .find(|p| p.account_index == post.account_index && p.mint == post.mint)
                .map_or(0, |p| p.amount);
            if post.amount > pre {
                out.push(Increase {
                    account_index: post.account_index,
                    wallet: post.owner.clone(),
                    account: self.account_keys.get(post.account_index).cloned().unwrap_or_default(),
                    mint: Some(post.mint.clone()),
                    amount: post.amount - pre,
                });
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub slot: u64,
    pub blockhash: String,
    pub previous_blockhash: String,
    pub transactions: Vec<SeenTx>,
}

/// `getSignatureStatuses`: where a transaction stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureStatus {
    pub slot: u64,
    pub failed: bool,
    /// `processed`, `confirmed` or `finalized`.
    pub confirmation: String,
}

fn token_balances(v: &Value) -> Result<Vec<TokenBalance>, RpcError> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|b| {
                    Ok(TokenBalance {
                        account_index: usize::try_from(u64_of(&b["accountIndex"])?).unwrap_or(usize::MAX),
                        mint: b["mint"].as_str().unwrap_or_default().to_owned(),
                        owner: b["owner"].as_str().unwrap_or_default().to_owned(),
                        amount: amount_of(&b["uiTokenAmount"]["amount"])?,
                    })
                })
                .collect()
        })
        .unwrap_or(Ok(Vec::new()))
}

fn u64_list(v: &Value) -> Vec<u64> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_u64).collect()).unwrap_or_default()
}

fn parse_tx(t: &Value) -> Result<SeenTx, RpcError> {
    let meta = &t["meta"];
    let message = &t["transaction"]["message"];
    let mut account_keys: Vec<String> = message["accountKeys"]
        .as_array()
        .map(|a| a.iter().filter_map(|k| k.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    // Versioned transactions load more accounts from lookup tables: writable, then readonly.
    for part in ["writable", "readonly"] {
        if let Some(extra) = meta["loadedAddresses"][part].as_array() {
            account_keys.extend(extra.iter().filter_map(|k| k.as_str().map(str::to_owned)));
        }
    }
    Ok(SeenTx {
        signature: t["transaction"]["signatures"][0].as_str().unwrap_or_default().to_owned(),
        succeeded: meta["err"].is_null(),
        account_keys,
        pre_balances: u64_list(&meta["preBalances"]),
        post_balances: u64_list(&meta["postBalances"]),
        pre_token: token_balances(&meta["preTokenBalances"])?,
        post_token: token_balances(&meta["postTokenBalances"])?,
    })
}

impl SolRpc {
    pub fn new(url: &str) -> Self {
        Self { rpc: JsonRpc::new(CHAIN, url) }
    }

    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        self.rpc.call(method, params).await
    }

    /// The node's genesis hash: which cluster this is (checked against configuration at start).
    pub async fn genesis_hash(&self) -> Result<String, RpcError> {
        let v = self.call("getGenesisHash", json!([])).await?;
        v.as_str().map(str::to_owned).ok_or_else(|| malformed(v.to_string()))
    }

    pub async fn slot(&self) -> Result<u64, RpcError> {
        u64_of(&self.call("getSlot", json!([{"commitment": CONFIRMED}])).await?)
    }

    pub async fn block_height(&self) -> Result<u64, RpcError> {
        u64_of(&self.call("getBlockHeight", json!([{"commitment": CONFIRMED}])).await?)
    }

    /// A recent blockhash and the last block height at which a transaction using it can land.
    pub async fn latest_blockhash(&self) -> Result<([u8; 32], u64), RpcError> {
        let v = self.call("getLatestBlockhash", json!([{"commitment": CONFIRMED}])).await?;
        let hash = bs58::decode(v["value"]["blockhash"].as_str().unwrap_or_default())
            .into_vec()
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| malformed(format!("blockhash in {v}")))?;
        Ok((hash, u64_of(&v["value"]["lastValidBlockHeight"])?))
    }

    pub async fn balance(&self, a: &SolAddress) -> Result<u64, RpcError> {
        let v = self.call("getBalance", json!([a.to_string(), {"commitment": CONFIRMED}])).await?;
        u64_of(&v["value"])
    }

    /// A token account's balance; `None` when the account does not exist.
    pub async fn token_account_balance(&self, account: &SolAddress) -> Result<Option<u64>, RpcError> {
        match self.call("getTokenAccountBalance", json!([account.to_string(), {"commitment": CONFIRMED}])).await {
            Ok(v) => Ok(Some(amount_of(&v["value"]["amount"])?)),
            // -32602: "could not find account" / "not a Token account".
            Err(RpcError::Node { code: -32602, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn minimum_balance_for_rent_exemption(&self, size: u64) -> Result<u64, RpcError> {
        u64_of(&self.call("getMinimumBalanceForRentExemption", json!([size])).await?)
    }

    /// Broadcasts signed wire bytes; the answer is the transaction's signature.
    pub async fn send(&self, wire: &[u8]) -> Result<String, RpcError> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(wire);
        let v = self
            .call("sendTransaction", json!([b64, {"encoding": "base64", "preflightCommitment": CONFIRMED}]))
            .await?;
        v.as_str().map(str::to_owned).ok_or_else(|| malformed(v.to_string()))
    }

    /// Statuses of these signatures (history searched); `None` where the cluster has none.
    pub async fn signature_statuses(&self, signatures: &[String]) -> Result<Vec<Option<SignatureStatus>>, RpcError> {
        let v = self.call("getSignatureStatuses", json!([signatures, {"searchTransactionHistory": true}])).await?;
        let list = v["value"].as_array().ok_or_else(|| malformed(v.to_string()))?;
        list.iter()
            .map(|s| {
                if s.is_null() {
                    return Ok(None);
                }
                Ok(Some(SignatureStatus {
                    slot: u64_of(&s["slot"])?,
                    failed: !s["err"].is_null(),
                    confirmation: s["confirmationStatus"].as_str().unwrap_or("processed").to_owned(),
                }))
            })
            .collect()
    }

    /// Slots in `[from, to]` that have a confirmed block (others were skipped).
    pub async fn blocks(&self, from: u64, to: u64) -> Result<Vec<u64>, RpcError> {
        Ok(u64_list(&self.call("getBlocks", json!([from, to, {"commitment": CONFIRMED}])).await?))
    }

    /// A confirmed block with its transactions; `None` when the slot was skipped or is unknown.
    pub async fn block(&self, slot: u64) -> Result<Option<Block>, RpcError> {
        let config = json!({
            "commitment": CONFIRMED,
            "encoding": "json",
            "transactionDetails": "full",
            "rewards": false,
            "maxSupportedTransactionVersion": 0,
        });
        let v = match self.call("getBlock", json!([slot, config])).await {
            Ok(v) => v,
            // -32007 skipped, -32009 missing in long-term storage, -32004 not available.
            Err(RpcError::Node { code: -32009 | -32007 | -32004, .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        if v.is_null() {
            return Ok(None);
        }
        let transactions = v["transactions"]
            .as_array()
            .map(|txs| txs.iter().map(parse_tx).collect::<Result<Vec<_>, _>>())
            .transpose()?
            .unwrap_or_default();
        Ok(Some(Block {
            slot,
            blockhash: v["blockhash"].as_str().unwrap_or_default().to_owned(),
            previous_blockhash: v["previousBlockhash"].as_str().unwrap_or_default().to_owned(),
            transactions,
        }))
    }

    /// A confirmed transaction with its balances; `None` if the cluster does not know it.
    pub async fn transaction(&self, signature: &str) -> Result<Option<SeenTx>, RpcError> {
        let config = json!({"commitment": CONFIRMED, "encoding": "json", "maxSupportedTransactionVersion": 0});
        let v = self.call("getTransaction", json!([signature, config])).await?;
        if v.is_null() {
            return Ok(None);
        }
        parse_tx(&v).map(Some)
    }

    /// The program that owns an account (`None` if it does not exist).
    pub async fn account_owner(&self, a: &SolAddress) -> Result<Option<String>, RpcError> {
        let v = self
            .call("getAccountInfo", json!([a.to_string(), {"commitment": CONFIRMED, "encoding": "base64"}]))
            .await?;
        Ok(v["value"]["owner"].as_str().map(str::to_owned))
    }

    /// Development nodes only: lamports from the faucet.
    pub async fn request_airdrop(&self, to: &SolAddress, lamports: u64) -> Result<String, RpcError> {
        let v = self.call("requestAirdrop", json!([to.to_string(), lamports])).await?;
        v.as_str().map(str::to_owned).ok_or_else(|| malformed(v.to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn increases_are_read_from_balances_before_and_after() {
        // Shape of a getBlock "json" transaction: a fee payer sends 1 SOL to `dep`, and 5 tokens
        // reach dep's token account (index 2); the payer's own token balance falls.
        let t = json!({
            "transaction": {"signatures": ["sig1"], "message": {"accountKeys": ["payer", "dep", "depAta", "payerAta"]}},
            "meta": {
                "err": null,
                "preBalances": [10_000_000_000u64, 0, 2_039_280, 2_039_280],
                "postBalances": [8_999_995_000u64, 1_000_000_000, 2_039_280, 2_039_280],
                "preTokenBalances": [{"accountIndex": 3, "mint": "M", "owner": "payer", "uiTokenAmount": {"amount": "9"}}],
                "postTokenBalances": [
                    {"accountIndex": 2, "mint": "M", "owner": "dep", "uiTokenAmount": {"amount": "5"}},
                    {"accountIndex": 3, "mint": "M", "owner": "payer", "uiTokenAmount": {"amount": "4"}}
                ]
            }
        });
        let tx = parse_tx(&t).unwrap();
        let inc = tx.increases();
        assert_eq!(inc.len(), 2);
        assert_eq!((inc[0].wallet.as_str(), inc[0].mint.clone(), inc[0].amount), ("dep", None, 1_000_000_000));
        assert_eq!((inc[1].wallet.as_str(), inc[1].account.as_str(), inc[1].amount), ("dep", "depAta", 5));
        assert_eq!(inc[1].mint.as_deref(), Some("M"));

        let mut failed = t.clone();
        failed["meta"]["err"] = json!({"InstructionError": [0, "Custom"]});
        assert!(parse_tx(&failed).unwrap().increases().is_empty(), "a failed transaction credits nothing");
    }
}
