//! Reserves (issue 5): what the bank holds on chain, against what its ledger says it should
//! hold. With every on-chain movement ledgered (deposits, withdrawals, network gas), the
//! holdings equal minus the bank's `chain_<chain>` account, so the difference must be zero; a
//! non-zero difference is money the ledger does not explain.

use crate::CustodyService;
use pb_chains::EthAddress;
use pb_chains::eth_rpc::{EthRpc, RpcError};
use pb_ledger::{LedgerError, LedgerService};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserve {
    pub chain: &'static str,
    pub asset: String,
    /// Sum of the hot wallet's and every deposit address's balance, smallest units.
    pub on_chain: u128,
    /// What the ledger says is on chain (minus the `chain_<chain>` account's balance).
    pub expected: i128,
    /// Customers' share of it (expected minus the bank's own fee account).
    pub customer_liabilities: i128,
    pub difference: i128,
}

#[derive(Debug, thiserror::Error)]
pub enum ReservesError {
    #[error("{0}")]
    Rpc(#[from] RpcError),
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    #[error("{0}")]
    Custody(String),
}

pub async fn ethereum_reserves(
    custody: &CustodyService,
    ledger: &LedgerService,
    rpc: &EthRpc,
) -> Result<Reserve, ReservesError> {
    let hot = custody.ethereum_hot_key().map_err(|e| ReservesError::Custody(e.to_string()))?;
    let hot = pb_chains::eth_tx::address_of(&hot).map_err(|e| ReservesError::Custody(e.to_string()))?;
    let mut on_chain = rpc.balance(&hot).await?;
    for a in
        custody.store().all_deposit_addresses("ethereum").await.map_err(|e| ReservesError::Custody(e.to_string()))?
    {
        let address = EthAddress::parse(&a.address).map_err(|e| ReservesError::Custody(e.to_string()))?;
        on_chain = on_chain.saturating_add(rpc.balance(&address).await?);
    }
    let expected = ledger.chain_holdings_expected("ethereum", "ETH").await?;
    let bank_own = ledger.system_balance("fee_ethereum", "ETH").await?;
    let held = i128::try_from(on_chain).unwrap_or(i128::MAX);
    Ok(Reserve {
        chain: "ethereum",
        asset: "ETH".into(),
        on_chain,
        expected,
        customer_liabilities: expected.saturating_sub(bank_own),
        difference: held.saturating_sub(expected),
    })
}

/// The same reconciliation for each ERC-20 token custody handles.
pub async fn ethereum_token_reserves(
    custody: &CustodyService,
    ledger: &LedgerService,
    rpc: &EthRpc,
) -> Result<Vec<Reserve>, ReservesError> {
    let hot = custody.ethereum_hot_key().map_err(|e| ReservesError::Custody(e.to_string()))?;
    let hot = pb_chains::eth_tx::address_of(&hot).map_err(|e| ReservesError::Custody(e.to_string()))?;
    let addresses =
        custody.store().all_deposit_addresses("ethereum").await.map_err(|e| ReservesError::Custody(e.to_string()))?;
    let mut out = Vec::new();
    for (asset, contract) in custody.tokens() {
        let mut on_chain = rpc.token_balance(contract, &hot).await?;
        for a in &addresses {
            let address = EthAddress::parse(&a.address).map_err(|e| ReservesError::Custody(e.to_string()))?;
            on_chain = on_chain.saturating_add(rpc.token_balance(contract, &address).await?);
        }
        let expected = ledger.chain_holdings_expected("ethereum", asset).await?;
        let bank_own = ledger.system_balance("fee_ethereum", asset).await?;
        out.push(Reserve {
            chain: "ethereum",
            asset: asset.clone(),
            on_chain,
            expected,
            customer_liabilities: expected.saturating_sub(bank_own),
            difference: i128::try_from(on_chain).unwrap_or(i128::MAX).saturating_sub(expected),
        });
    }
    Ok(out)
}
