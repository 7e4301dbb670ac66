//! Reserves (issue 5): what the bank holds on chain, against what its ledger says it should
//! hold. With every on-chain movement ledgered (deposits, withdrawals, network gas), the
//! holdings equal minus the bank's `chain_<chain>` account, so the difference must be zero; a
//! non-zero difference is money the ledger does not explain.

use crate::CustodyService;
use pb_chains::eth_rpc::{EthRpc, RpcError};
use pb_chains::sol_programs::associated_token_address;
use pb_chains::{EthAddress, SolAddress};
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
    reserve(ledger, "ethereum", "ETH", on_chain).await
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
        out.push(reserve(ledger, "ethereum", asset, on_chain).await?);
    }
    Ok(out)
}

/// Solana: SOL in the hot wallet and every deposit address (system accounts), and each SPL
/// token in their associated token accounts. Rent locked in token accounts is not counted: the
/// ledger books it as network cost when the bank pays it.
pub async fn solana_reserves(
    custody: &CustodyService,
    ledger: &LedgerService,
    solana: &crate::SolanaCustody,
) -> Result<Vec<Reserve>, ReservesError> {
    let hot = custody.solana_hot_keypair().map_err(|e| ReservesError::Custody(e.to_string()))?.address();
    let mut wallets = vec![hot];
    for a in custody.store().all_deposit_addresses("solana").await.map_err(|e| ReservesError::Custody(e.to_string()))? {
        wallets.push(SolAddress::parse(&a.address).map_err(|e| ReservesError::Custody(e.to_string()))?);
    }
    let mut out = Vec::new();
    let mut sol = 0u128;
    for w in &wallets {
        sol = sol.saturating_add(u128::from(solana.rpc.balance(w).await?));
    }
    out.push(reserve(ledger, "solana", "SOL", sol).await?);
    for token in &solana.tokens {
        let mut held = 0u128;
        for w in &wallets {
            let ata = associated_token_address(w, &token.mint);
            held = held.saturating_add(u128::from(solana.rpc.token_account_balance(&ata).await?.unwrap_or(0)));
        }
        out.push(reserve(ledger, "solana", &token.asset, held).await?);
    }
    Ok(out)
}

async fn reserve(
    ledger: &LedgerService,
    chain: &'static str,
    asset: &str,
    on_chain: u128,
) -> Result<Reserve, ReservesError> {
    let expected = ledger.chain_holdings_expected(chain, asset).await?;
    let bank_own = ledger.system_balance(&format!("fee_{chain}"), asset).await?;
    Ok(Reserve {
        chain,
        asset: asset.to_owned(),
        on_chain,
        expected,
        customer_liabilities: expected.saturating_sub(bank_own),
        difference: i128::try_from(on_chain).unwrap_or(i128::MAX).saturating_sub(expected),
    })
}
