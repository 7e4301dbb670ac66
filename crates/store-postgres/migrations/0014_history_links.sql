-- Issue 4, throughput: each account's history as a chain instead of two indexes (ledger.md,
-- "History"). A journal row names, for each of its two accounts, the seq of the row before it
-- naming that account, and an account the seq of its last row; the batch computes both
-- (pb_domain::ledger::batch) and writes them with the row and the counters it writes anyway.
-- History is read back along the chain from the account (crates/store-postgres/src/ledger.rs),
-- one primary-key lookup per row, at commit as before. The indexes
-- (debit_account_id, seq) and (credit_account_id, seq) cost every transfer two B-tree
-- insertions in the journal head's serial section: dropping them gave the batch endpoint
-- 10.42/10.07× → 11.82/11.15× pgbench on a 2-core machine (bench/RESULTS.md).
ALTER TABLE ledger_transfers ADD COLUMN debit_prev BIGINT, ADD COLUMN credit_prev BIGINT;
ALTER TABLE ledger_accounts ADD COLUMN last_seq BIGINT;

-- The rows already written get their links once, here (a rewrite of the journal: operators,
-- see docs/operations.md); the journal stays append-only after.
ALTER TABLE ledger_transfers DISABLE TRIGGER ledger_transfers_append_only;
UPDATE ledger_transfers AS t SET debit_prev = l.d, credit_prev = l.c
FROM (
    SELECT seq, max(prev) FILTER (WHERE side = 'd') AS d, max(prev) FILTER (WHERE side = 'c') AS c
    FROM (
        SELECT seq, side, lag(seq) OVER (PARTITION BY account ORDER BY seq) AS prev
        FROM (
            SELECT seq, 'd' AS side, debit_account_id AS account FROM ledger_transfers
            UNION ALL
            SELECT seq, 'c', credit_account_id FROM ledger_transfers
        ) AS sides
    ) AS links
    GROUP BY seq
) AS l
WHERE t.seq = l.seq AND (l.d IS NOT NULL OR l.c IS NOT NULL);
ALTER TABLE ledger_transfers ENABLE TRIGGER ledger_transfers_append_only;

UPDATE ledger_accounts AS a SET last_seq = l.last
FROM (
    SELECT account, max(seq) AS last FROM (
        SELECT seq, debit_account_id AS account FROM ledger_transfers
        UNION ALL
        SELECT seq, credit_account_id FROM ledger_transfers
    ) AS sides GROUP BY account
) AS l
WHERE a.id = l.account;

-- A link always points back, so reading along a chain always ends.
ALTER TABLE ledger_transfers ADD CONSTRAINT ledger_transfers_links_point_back
    CHECK (debit_prev < seq AND credit_prev < seq);

DROP INDEX ledger_transfers_debit;
DROP INDEX ledger_transfers_credit;
