-- Issue 4, throughput. Measured on the batch path, each a share of PostgreSQL's work per batch,
-- all of it done under the journal head's lock:
-- 1. The outbox is the journal (pb_domain::ledger::outbox): the relay derives each event from
--    its transfer row, so the copy in ledger_outbox goes. Positions were already journal seqs,
--    so consumers' cursors carry over and nothing undelivered is lost.
DROP TABLE ledger_outbox;

-- 2. Two foreign-key checks per journal row (a lookup and a KEY SHARE lock on each account,
--    which the batch holds FOR UPDATE already) cost ~17% of a 100-transfer commit. What they
--    guarded stays guarded: the engine refuses unknown accounts under that lock, `ledger verify`
--    reports a transfer naming an unknown account, and accounts can no longer be deleted at all
--    (closing one is a flag).
ALTER TABLE ledger_transfers
    DROP CONSTRAINT ledger_transfers_debit_account_id_fkey,
    DROP CONSTRAINT ledger_transfers_credit_account_id_fkey;
CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rows of % are never deleted', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER ledger_accounts_never_deleted BEFORE DELETE OR TRUNCATE ON ledger_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();

-- 3. The hold-expiry query runs every second. Its generic plan guesses a third of the journal
--    for `expires_at <= $1` and starts parallel workers to scan a partial index that holds
--    only holds: 15 ms idle, ~90 ms under load (pg_stat_statements, bench/). The journal is
--    only ever read by index or in seq order, so it never gets parallel workers.
ALTER TABLE ledger_transfers SET (parallel_workers = 0);
