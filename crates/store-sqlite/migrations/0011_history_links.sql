-- Each account's history as a chain (ledger.md, "History"): a journal row names the seq of the
-- row before it for each of its two accounts, and an account the seq of its last row. SQLite
-- keeps its two history indexes for reading; the links are written here too so that one
-- `ledger verify` checks the same ledger on either store.
ALTER TABLE ledger_transfers ADD COLUMN debit_prev INTEGER;
ALTER TABLE ledger_transfers ADD COLUMN credit_prev INTEGER;
ALTER TABLE ledger_accounts ADD COLUMN last_seq INTEGER;

-- The rows already written get their links once, here; the journal stays append-only after.
DROP TRIGGER ledger_transfers_no_update;
UPDATE ledger_transfers SET debit_prev = l.d, credit_prev = l.c
FROM (
    SELECT seq, max(CASE side WHEN 'd' THEN prev END) AS d, max(CASE side WHEN 'c' THEN prev END) AS c
    FROM (
        SELECT seq, side, lag(seq) OVER (PARTITION BY account ORDER BY seq) AS prev
        FROM (
            SELECT seq, 'd' AS side, debit_account_id AS account FROM ledger_transfers
            UNION ALL
            SELECT seq, 'c', credit_account_id FROM ledger_transfers
        )
    )
    GROUP BY seq
) AS l
WHERE l.seq = ledger_transfers.seq;
CREATE TRIGGER ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers
BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only'); END;

UPDATE ledger_accounts SET last_seq = l.last
FROM (
    SELECT account, max(seq) AS last FROM (
        SELECT seq, debit_account_id AS account FROM ledger_transfers
        UNION ALL
        SELECT seq, credit_account_id FROM ledger_transfers
    ) GROUP BY account
) AS l
WHERE l.account = ledger_accounts.id;
