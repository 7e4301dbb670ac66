//! What an idempotency key remembers of a command's outcome (ledger.md, "Exactly once").
//!
//! Each result is stored as the transfer's id or its failure code, not the whole transfer: the
//! journal row it names is immutable, so a replay reads it back and answers exactly what the
//! first attempt did. Storing whole transfers wrote a second copy of the journal (about 40 KB
//! of JSON per 100-transfer batch request, compressed by PostgreSQL under the batch's account
//! locks). Outcomes stored in that older form still decode.

use super::store::Results;
use super::transfer::{Transfer, TransferError, TransferId};
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Id(TransferId),
    /// The form written before ids alone were stored.
    Full(Box<Transfer>),
}

pub type StoredResults = Vec<Result<Stored, TransferError>>;

pub fn encode(results: &Results) -> String {
    let ids: Vec<Result<TransferId, TransferError>> =
        results.iter().map(|r| r.as_ref().map(|t| t.id).map_err(|e| *e)).collect();
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_owned())
}

// Two plain attempts rather than `#[serde(untagged)]`, whose buffering cannot hold the
// transfer's u128/i128 amounts.
pub fn decode(outcome: &str) -> Result<StoredResults, StoreError> {
    if let Ok(ids) = serde_json::from_str::<Vec<Result<TransferId, TransferError>>>(outcome) {
        return Ok(ids.into_iter().map(|r| r.map(Stored::Id)).collect());
    }
    serde_json::from_str::<Results>(outcome)
        .map(|full| full.into_iter().map(|r| r.map(|t| Stored::Full(Box::new(t)))).collect())
        .map_err(|e| StoreError::Other(format!("stored idempotent outcome unreadable: {e}")))
}

/// The ids a replay must read back from the journal.
pub fn ids_to_read(stored: &StoredResults) -> impl Iterator<Item = TransferId> + '_ {
    stored.iter().filter_map(|r| match r {
        Ok(Stored::Id(id)) => Some(*id),
        _ => None,
    })
}

/// The first answer again, given the journal rows named by `ids_to_read`.
pub fn replay(
    stored: StoredResults,
    read: &std::collections::HashMap<TransferId, Transfer>,
) -> Result<Results, StoreError> {
    stored
        .into_iter()
        .map(|r| match r {
            Ok(Stored::Id(id)) => {
                read.get(&id).cloned().map(Ok).ok_or_else(|| {
                    StoreError::Other(format!("replayed transfer {} is not in the journal", id.to_api()))
                })
            }
            Ok(Stored::Full(t)) => Ok(Ok(*t)),
            Err(e) => Ok(Err(e)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::account::AccountId;

    fn transfer() -> Transfer {
        Transfer {
            id: TransferId::new(),
            debit_account_id: AccountId::new(),
            credit_account_id: AccountId::new(),
            amount: 250,
            asset: "USD".into(),
            code: "transfer".into(),
            flags: Default::default(),
            pending_id: None,
            expires_at: None,
            description: Some("rent".into()),
            metadata: Default::default(),
            debit_balance_after: Some(750),
            credit_balance_after: Some(250),
            created_at: 7,
        }
    }

    #[test]
    fn ids_and_codes_are_stored_and_replayed_from_the_journal() {
        let t = transfer();
        let results: Results = vec![Ok(t.clone()), Err(TransferError::InsufficientFunds)];
        let text = encode(&results);
        assert!(!text.contains("rent"), "only the id is stored: {text}");
        let stored = decode(&text).expect("decodes");
        assert_eq!(ids_to_read(&stored).collect::<Vec<_>>(), [t.id]);
        let read = [(t.id, t.clone())].into_iter().collect();
        assert_eq!(replay(stored, &read).expect("replays"), results);
    }

    #[test]
    fn whole_transfers_stored_by_earlier_versions_still_replay() {
        let t = transfer();
        let results: Results = vec![Ok(t.clone()), Err(TransferError::LinkedEventFailed)];
        let old = serde_json::to_string(&results).expect("encodes");
        let stored = decode(&old).expect("decodes the older form");
        assert_eq!(ids_to_read(&stored).count(), 0);
        assert_eq!(replay(stored, &Default::default()).expect("replays"), results);
    }

    #[test]
    fn a_missing_journal_row_is_an_error_not_a_different_answer() {
        let t = transfer();
        let stored = decode(&encode(&vec![Ok(t)])).expect("decodes");
        assert!(replay(stored, &Default::default()).is_err());
    }
}
