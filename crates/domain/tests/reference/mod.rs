//! The reference: what the ledger must do, written as plainly as possible (four counters per
//! account, a list of holds), with the failure codes in the order ledger.md and the engine
//! check them. The engine (crates/domain/tests/ledger_model.rs) and the store-backed write path
//! (crates/ledger/tests/model) must agree with it after every step; each uses part of it.
#![allow(dead_code)]

use pb_domain::ledger::account::Balances;
use pb_domain::ledger::transfer::TransferError;

#[derive(Debug, Clone)]
pub struct Account {
    pub asset: &'static str,
    /// No overdraft (`debits_must_not_exceed_credits`); the outside world has none.
    pub limited: bool,
    pub closed: bool,
    pub balances: Balances,
    /// Journal rows that name this account.
    pub rows: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldState {
    Pending,
    Posted,
    Voided,
}

#[derive(Debug, Clone)]
pub struct Hold {
    pub from: usize,
    pub to: usize,
    pub amount: u128,
    pub expires: i64,
    pub state: HoldState,
}

#[derive(Debug, Clone, Default)]
pub struct Reference {
    pub accounts: Vec<Account>,
    pub holds: Vec<Hold>,
    /// Committed journal rows.
    pub rows: usize,
}

impl Reference {
    pub fn open(&mut self, asset: &'static str, limited: bool) -> usize {
        self.accounts.push(Account { asset, limited, closed: false, balances: Balances::default(), rows: 0 });
        self.accounts.len() - 1
    }

    fn row(&mut self, from: usize, to: usize) {
        self.rows += 1;
        self.accounts[from].rows += 1;
        self.accounts[to].rows += 1;
    }

    /// A transfer, or a hold (`Some(timeout)`) that expires at `now + timeout`.
    pub fn transfer(
        &mut self,
        from: usize,
        to: usize,
        amount: u128,
        hold: Option<i64>,
        now: i64,
    ) -> Result<(), TransferError> {
        if from == to {
            return Err(TransferError::AccountsMustBeDifferent);
        }
        let (d, c) = (&self.accounts[from], &self.accounts[to]);
        if d.asset != c.asset {
            return Err(TransferError::AccountsMustHaveTheSameAsset);
        }
        if d.closed {
            return Err(TransferError::DebitAccountClosed);
        }
        if c.closed {
            return Err(TransferError::CreditAccountClosed);
        }
        let b = d.balances;
        if d.limited && b.debits_posted + b.debits_pending + amount > b.credits_posted {
            return Err(TransferError::InsufficientFunds);
        }
        match hold {
            Some(timeout) => {
                self.accounts[from].balances.debits_pending += amount;
                self.accounts[to].balances.credits_pending += amount;
                self.holds.push(Hold { from, to, amount, expires: now + timeout, state: HoldState::Pending });
            }
            None => {
                self.accounts[from].balances.debits_posted += amount;
                self.accounts[to].balances.credits_posted += amount;
            }
        }
        self.row(from, to);
        Ok(())
    }

    /// Posts (`Some(part)`, `None` part meaning all of it) or voids (`None`) hold `hold`.
    pub fn resolve(&mut self, hold: usize, post: Option<Option<u128>>, now: i64) -> Result<(), TransferError> {
        let Some(h) = self.holds.get(hold).cloned() else {
            return Err(TransferError::PendingTransferNotFound);
        };
        match h.state {
            HoldState::Posted => return Err(TransferError::PendingTransferAlreadyPosted),
            HoldState::Voided => return Err(TransferError::PendingTransferAlreadyVoided),
            HoldState::Pending => {}
        }
        if post.is_some() && h.expires <= now {
            return Err(TransferError::PendingTransferExpired);
        }
        let amount = post.map_or(0, |part| part.unwrap_or(h.amount));
        if amount > h.amount {
            return Err(TransferError::ExceedsPendingTransferAmount);
        }
        if post.is_some() && self.accounts[h.from].closed {
            return Err(TransferError::DebitAccountClosed);
        }
        if post.is_some() && self.accounts[h.to].closed {
            return Err(TransferError::CreditAccountClosed);
        }
        self.accounts[h.from].balances.debits_pending -= h.amount;
        self.accounts[h.to].balances.credits_pending -= h.amount;
        self.accounts[h.from].balances.debits_posted += amount;
        self.accounts[h.to].balances.credits_posted += amount;
        self.holds[hold].state = if post.is_some() { HoldState::Posted } else { HoldState::Voided };
        self.row(h.from, h.to);
        Ok(())
    }

    /// Legs that all succeed or none does: the failing leg's code, `linked_event_failed` for
    /// every other.
    pub fn linked(&mut self, legs: &[(usize, usize, u128)], now: i64) -> Vec<Result<(), TransferError>> {
        let mut trial = self.clone();
        for (i, &(from, to, amount)) in legs.iter().enumerate() {
            if let Err(e) = trial.transfer(from, to, amount, None, now) {
                return (0..legs.len())
                    .map(|j| Err(if j == i { e } else { TransferError::LinkedEventFailed }))
                    .collect();
            }
        }
        *self = trial;
        legs.iter().map(|_| Ok(())).collect()
    }

    /// Whether `close` succeeds: an open account at zero with nothing pending.
    pub fn close(&mut self, account: usize) -> bool {
        let a = &mut self.accounts[account];
        let b = a.balances;
        let empty = b.debits_posted == b.credits_posted && b.debits_pending == 0 && b.credits_pending == 0;
        if a.closed || !empty {
            return false;
        }
        a.closed = true;
        true
    }

    /// Holds past their timeout and still pending, as the expiry worker finds them.
    pub fn expired(&self, now: i64) -> Vec<usize> {
        (0..self.holds.len())
            .filter(|&h| self.holds[h].state == HoldState::Pending && self.holds[h].expires <= now)
            .collect()
    }

    /// Accounts an operation moves money on, besides the outside world (which has no limit,
    /// so operations on it commute); `None` for a hold that does not exist.
    pub fn hold_accounts(&self, hold: usize) -> Option<[usize; 2]> {
        self.holds.get(hold).map(|h| [h.from, h.to])
    }
}
