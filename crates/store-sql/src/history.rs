//! An account's history as both stores read it: back along its chain of links (each journal
//! row names the previous row of each of its two accounts, each account its last row;
//! docs/ledger.md, "History"), one primary-key lookup per row instead of an index per side.

/// The link back from journal row `t` along account `$1`'s side of it.
pub const PREV: &str = "CASE WHEN t.debit_account_id = $1 THEN t.debit_prev ELSE t.credit_prev END";

/// Account `$1`'s history, newest first, along its chain: a recursive CTE `walk` of each row's
/// seq, link back, time, and whether it posted on the account's side; `go_on` says whether to
/// follow a row's link.
pub fn walk(go_on: &str) -> String {
    let row = format!(
        "t.seq, {PREV}, t.created_at,
         CASE WHEN t.debit_account_id = $1 THEN t.debit_balance_after ELSE t.credit_balance_after END IS NOT NULL"
    );
    format!(
        "walk (wseq, wprev, wat, posted) AS (
             SELECT {row} FROM ledger_transfers t WHERE t.seq = (SELECT last_seq FROM ledger_accounts WHERE id = $1)
             UNION ALL
             SELECT {row} FROM walk JOIN ledger_transfers t ON t.seq = walk.wprev WHERE {go_on})"
    )
}

/// A statement reads back along the chain this much past its start, so that a row whose
/// batch's clock ran behind an earlier row's is still found (`ledger verify` reports rows
/// further out of time order).
pub const CLOCK_SKEW_MS: i64 = pb_domain::ledger::verify::MAX_CLOCK_SKEW_MS;
