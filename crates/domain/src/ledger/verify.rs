//! `protocol-bank ledger verify`: every invariant of ledger.md, recomputed from the journal.

use super::account::{Account, AccountId, Balances};
use super::hash::{GENESIS, chain};
use super::store::ChainedTransfer;
use super::transfer::TransferId;
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub accounts: usize,
    pub transfers: usize,
    /// Empty when the ledger is sound.
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// How far back in time a journal row may be from a row before it, in milliseconds. A row's
/// time is its batch's clock, so rows of different instances interleave by as much as their
/// clocks disagree (NTP keeps them within milliseconds). A store may rely on it: PostgreSQL
/// reads a statement back along an account's history only this much past its start
/// (crates/store-postgres/src/ledger.rs). `verify` reports a row beyond it.
pub const MAX_CLOCK_SKEW_MS: i64 = 60_000;

pub fn verify(accounts: &[Account], transfers: &[ChainedTransfer]) -> VerifyReport {
    let mut problems = Vec::new();
    let mut computed: HashMap<AccountId, Balances> = accounts.iter().map(|a| (a.id, Balances::default())).collect();
    let mut pending: HashMap<TransferId, (AccountId, AccountId, u128)> = HashMap::new();
    let mut resolved: HashSet<TransferId> = HashSet::new();
    let mut prev = GENESIS;
    let mut expected_seq = 1;
    let mut last_seq: HashMap<AccountId, i64> = HashMap::new();
    let mut latest = i64::MIN;
    for row in transfers {
        let t = &row.transfer;
        if row.seq != expected_seq {
            problems.push(format!(
                "transfer sequence jumps from {} to {} (a row was deleted or inserted)",
                expected_seq - 1,
                row.seq
            ));
        }
        expected_seq = row.seq + 1;
        if row.prev_hash.as_slice() != prev.as_slice() {
            problems.push(format!(
                "transfer {} (seq {}): previous hash does not match the chain",
                t.id.to_api(),
                row.seq
            ));
        }
        let recomputed = chain(&prev, t);
        if row.hash.as_slice() != recomputed.as_slice() {
            problems.push(format!("transfer {} (seq {}): hash mismatch: the row was changed", t.id.to_api(), row.seq));
        }
        prev = row.hash.as_slice().try_into().unwrap_or(recomputed);
        if t.created_at < latest.saturating_sub(MAX_CLOCK_SKEW_MS) {
            problems.push(format!(
                "transfer {} (seq {}): its time is {} ms before an earlier row's (instances' clocks disagree)",
                t.id.to_api(),
                row.seq,
                latest - t.created_at
            ));
        }
        latest = latest.max(t.created_at);
        // Each account's history chain: a row links to the row before it naming the account.
        for (side, id, link) in
            [("debit", t.debit_account_id, row.debit_prev), ("credit", t.credit_account_id, row.credit_prev)]
        {
            let before = last_seq.insert(id, row.seq);
            if link != before {
                problems.push(format!(
                    "transfer {} (seq {}): its {side} account's history link is {link:?}, the account's previous row is {before:?}",
                    t.id.to_api(),
                    row.seq
                ));
            }
        }

        let (debit, credit, amount) = match t.pending_id {
            Some(pid) => {
                if !resolved.insert(pid) {
                    problems.push(format!("pending transfer {} resolved more than once", pid.to_api()));
                }
                let Some((d, c, reserved)) = pending.get(&pid).copied() else {
                    problems.push(format!(
                        "transfer {} resolves unknown pending transfer {}",
                        t.id.to_api(),
                        pid.to_api()
                    ));
                    continue;
                };
                for (id, side_debit) in [(d, true), (c, false)] {
                    if let Some(b) = computed.get_mut(&id) {
                        if side_debit {
                            b.debits_pending = b.debits_pending.saturating_sub(reserved);
                        } else {
                            b.credits_pending = b.credits_pending.saturating_sub(reserved);
                        }
                    }
                }
                if t.flags.void_pending {
                    continue;
                }
                (d, c, t.amount)
            }
            None => (t.debit_account_id, t.credit_account_id, t.amount),
        };
        if t.flags.pending {
            pending.insert(t.id, (debit, credit, t.amount));
        }
        let Some(d) = computed.get_mut(&debit) else {
            problems.push(format!("transfer {} debits unknown account {}", t.id.to_api(), debit.to_api()));
            continue;
        };
        if t.flags.pending {
            d.debits_pending = d.debits_pending.saturating_add(amount);
        } else {
            d.debits_posted = d.debits_posted.saturating_add(amount);
        }
        let Some(c) = computed.get_mut(&credit) else {
            problems.push(format!("transfer {} credits unknown account {}", t.id.to_api(), credit.to_api()));
            continue;
        };
        if t.flags.pending {
            c.credits_pending = c.credits_pending.saturating_add(amount);
        } else {
            c.credits_posted = c.credits_posted.saturating_add(amount);
        }
    }

    let mut per_asset: BTreeMap<&str, Balances> = BTreeMap::new();
    for a in accounts {
        let expected = computed.get(&a.id).copied().unwrap_or_default();
        if a.balances != expected {
            problems.push(format!(
                "account {}: stored counters {:?} differ from its transfers {:?}",
                a.id.to_api(),
                a.balances,
                expected
            ));
        }
        let last = last_seq.get(&a.id).copied();
        if a.last_seq != last {
            problems.push(format!(
                "account {}: its history starts at seq {:?}, its last transfer is {last:?}",
                a.id.to_api(),
                a.last_seq
            ));
        }
        if a.flags.debits_must_not_exceed_credits
            && a.balances.debits_posted.saturating_add(a.balances.debits_pending) > a.balances.credits_posted
        {
            problems.push(format!("account {} is overdrawn despite its no-overdraft flag", a.id.to_api()));
        }
        let sum = per_asset.entry(a.asset.as_str()).or_default();
        sum.debits_pending = sum.debits_pending.saturating_add(a.balances.debits_pending);
        sum.debits_posted = sum.debits_posted.saturating_add(a.balances.debits_posted);
        sum.credits_pending = sum.credits_pending.saturating_add(a.balances.credits_pending);
        sum.credits_posted = sum.credits_posted.saturating_add(a.balances.credits_posted);
    }
    for (asset, sum) in per_asset {
        if sum.debits_posted != sum.credits_posted || sum.debits_pending != sum.credits_pending {
            problems.push(format!("asset {asset}: debits and credits do not balance ({sum:?})"));
        }
    }
    VerifyReport { accounts: accounts.len(), transfers: transfers.len(), problems }
}
