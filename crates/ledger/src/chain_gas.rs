//! Network gas the bank pays (withdrawals, sweeps) in the ledger: the bank's `fee_<chain>`
//! account (where customers' network fees were credited) pays the `chain_<chain>` account,
//! because the chain's holdings shrank by the gas. With every on-chain movement ledgered this
//! way, what the bank holds on a chain equals minus the `chain_<chain>` balance — the
//! invariant `custody reserves` checks.

use crate::{LedgerError, LedgerService};
use pb_domain::ledger::Amount;
use pb_domain::ledger::store::{Command, Idempotency};
use pb_domain::ledger::transfer::{TransferFlags, TransferId, TransferRequest};
use std::collections::BTreeMap;

impl LedgerService {
    /// Records the gas of one mined transaction, once (keyed by its hash).
    pub async fn record_network_gas(
        &self,
        chain: &str,
        asset: &str,
        tx_hash: &str,
        wei: u128,
    ) -> Result<(), LedgerError> {
        let Ok(amount) = Amount::new(wei) else { return Ok(()) };
        let asset = self.assets().get(asset).ok_or_else(|| LedgerError::UnknownAsset(asset.to_owned()))?.code.clone();
        let now = self.now_ms();
        let fee = self.store().system_account(&format!("fee_{chain}"), &asset, now).await?;
        let holdings = self.store().system_account(&format!("chain_{chain}"), &asset, now).await?;
        let request = TransferRequest {
            id: TransferId::new(),
            debit_account_id: fee.id,
            credit_account_id: holdings.id,
            amount: Some(amount),
            asset: Some(asset),
            code: "network_gas".into(),
            flags: TransferFlags::default(),
            pending_id: None,
            timeout_ms: None,
            description: Some(format!("{chain} network gas")),
            metadata: BTreeMap::from([("tx_hash".to_owned(), tx_hash.to_owned())]),
        };
        let key = Idempotency {
            owner: "bank".into(),
            key: format!("gas:{chain}:{tx_hash}"),
            fingerprint: tx_hash.as_bytes().to_vec(),
        };
        self.submit_all(Command { idempotency: Some(key), requests: vec![request] }).await
    }

    /// The posted balance of one of the bank's own accounts.
    pub async fn system_balance(&self, code: &str, asset: &str) -> Result<i128, LedgerError> {
        let asset = self.assets().get(asset).ok_or_else(|| LedgerError::UnknownAsset(asset.to_owned()))?.code.clone();
        Ok(self.store().system_account(code, &asset, self.now_ms()).await?.balances.posted())
    }

    /// The bank's `chain_<chain>` account balance for an asset: minus what it should hold on chain.
    pub async fn chain_holdings_expected(&self, chain: &str, asset: &str) -> Result<i128, LedgerError> {
        let asset = self.assets().get(asset).ok_or_else(|| LedgerError::UnknownAsset(asset.to_owned()))?.code.clone();
        let holdings = self.store().system_account(&format!("chain_{chain}"), &asset, self.now_ms()).await?;
        Ok(holdings.balances.posted().saturating_neg())
    }
}
