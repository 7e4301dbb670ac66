//! Account statements: opening balance, the posted movements of a period, closing balance.
//! Built from the balance each journal row carries, and checked to add up before it is shown.

use crate::{LedgerError, LedgerService};
use pb_domain::StoreError;
use pb_domain::identity::caller::Caller;
use pb_domain::ledger::account::{Account, AccountId};
use pb_domain::ledger::transfer::Transfer;

/// A statement longer than this is refused: ask for a shorter period.
pub const MAX_STATEMENT_LINES: u32 = 10_000;

#[derive(Debug, Clone)]
pub struct StatementLine {
    pub transfer: Transfer,
    /// Signed for this account: positive in, negative out.
    pub amount: i128,
    pub balance_after: i128,
}

#[derive(Debug, Clone)]
pub struct Statement {
    pub account: Account,
    pub from_ms: i64,
    pub to_ms: i64,
    pub opening: i128,
    pub closing: i128,
    pub lines: Vec<StatementLine>,
}

fn line(account: AccountId, t: Transfer) -> Option<StatementLine> {
    let amount = i128::try_from(t.amount).ok()?;
    let (amount, after) = if t.credit_account_id == account {
        (amount, t.credit_balance_after?)
    } else {
        (-amount, t.debit_balance_after?)
    };
    Some(StatementLine { transfer: t, amount, balance_after: after })
}

impl LedgerService {
    /// The statement of `[from_ms, to_ms)` for an account the caller may read.
    pub async fn statement(
        &self,
        caller: &Caller,
        id: AccountId,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Statement, LedgerError> {
        if from_ms >= to_ms {
            return Err(LedgerError::invalid("from", "must be before `to`"));
        }
        let account = self.account(caller, id).await?;
        let rows = self.store().posted_between(id, from_ms, to_ms, MAX_STATEMENT_LINES + 1).await?;
        if rows.len() > MAX_STATEMENT_LINES as usize {
            return Err(LedgerError::StatementTooLarge { max_lines: MAX_STATEMENT_LINES });
        }
        let unreadable =
            || LedgerError::Store(StoreError::Other(format!("statement of {id:?}: a line has no balance")));
        let lines: Vec<StatementLine> =
            rows.into_iter().map(|t| line(id, t).ok_or_else(unreadable)).collect::<Result<_, _>>()?;
        let opening = match lines.first() {
            Some(first) => first.balance_after - first.amount,
            None => match self.store().last_posted_before(id, from_ms).await? {
                Some(t) => line(id, t).ok_or_else(unreadable)?.balance_after,
                None => 0,
            },
        };
        // Each line's balance must follow from the one before: a statement that does not add up
        // is an incident, not something to show a customer.
        let mut running = opening;
        for l in &lines {
            running += l.amount;
            if running != l.balance_after {
                tracing::error!(account = %id.to_api(), transfer = %l.transfer.id.to_api(), "statement does not reconcile");
                return Err(LedgerError::Store(StoreError::Other("statement does not reconcile".into())));
            }
        }
        Ok(Statement { account, from_ms, to_ms, opening, closing: running, lines })
    }
}
