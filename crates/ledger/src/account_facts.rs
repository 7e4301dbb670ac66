//! What never changes about an account, its owner and its asset, remembered per instance: a
//! transfer request needs no read before the batch (which checks balances and `closed` under
//! lock), and the outbox relay needs no lookup per event.

use pb_domain::StoreError;
use pb_domain::ledger::AssetCode;
use pb_domain::ledger::account::AccountId;
use pb_domain::ledger::store::LedgerStore;
use std::collections::HashMap;
use std::sync::Mutex;

const MAX_REMEMBERED: usize = 200_000;

#[derive(Debug, Default)]
pub struct AccountFacts {
    known: Mutex<HashMap<AccountId, (String, AssetCode)>>,
}

impl AccountFacts {
    /// The account's owner and asset, or `None` if there is no such account.
    pub async fn of(&self, store: &dyn LedgerStore, id: AccountId) -> Result<Option<(String, AssetCode)>, StoreError> {
        if let Some(f) = self.known.lock().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(Some(f));
        }
        let Some(a) = store.account(id).await? else { return Ok(None) };
        if let Ok(mut m) = self.known.lock() {
            if m.len() >= MAX_REMEMBERED {
                m.clear();
            }
            m.insert(id, (a.owner.clone(), a.asset.clone()));
        }
        Ok(Some((a.owner, a.asset)))
    }
}
