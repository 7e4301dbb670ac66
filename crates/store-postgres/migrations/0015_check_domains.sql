-- Issue 4, throughput: the one-column CHECK constraints of the tables that every batch writes
-- become domains, with the same rules. PostgreSQL reads a table's CHECK constraints back from
-- their stored text (`stringToNode`) and plans them again in every statement that writes the
-- table (ExecRelCheck, once per execution): nine expressions in every batch's closing
-- statement, about 3% of its backend's time for single transfers (bench/RESULTS.md). A
-- domain's constraints are read and planned once per connection (its type cache), and are
-- checked only on the columns a statement assigns. Measured alone, a 30-row counters UPDATE:
-- 0.167-0.174 ms against 0.182-0.191 ms.
--
-- What stays a table CHECK spans columns: the no-overdraft promise on accounts and the journal's
-- links pointing back.
--
-- The domains get their rules after the columns take them, so that no table is rewritten
-- (PostgreSQL rewrites a table whose column moves to a domain that has constraints); adding a
-- domain's constraint reads every row of every column of that domain once, as a table CHECK
-- added without NOT VALID does. Operators: the journal is read once, under lock
-- (docs/operations.md).
CREATE DOMAIN ledger_units AS NUMERIC(39, 0);
CREATE DOMAIN sha256_digest AS BYTEA;
CREATE DOMAIN ledger_head_id AS SMALLINT;

ALTER TABLE ledger_accounts
    DROP CONSTRAINT ledger_accounts_debits_pending_check,
    DROP CONSTRAINT ledger_accounts_debits_posted_check,
    DROP CONSTRAINT ledger_accounts_credits_pending_check,
    DROP CONSTRAINT ledger_accounts_credits_posted_check,
    ALTER COLUMN debits_pending TYPE ledger_units,
    ALTER COLUMN debits_posted TYPE ledger_units,
    ALTER COLUMN credits_pending TYPE ledger_units,
    ALTER COLUMN credits_posted TYPE ledger_units;
ALTER TABLE ledger_transfers
    DROP CONSTRAINT ledger_transfers_amount_check,
    ALTER COLUMN amount TYPE ledger_units;
ALTER TABLE idempotency_keys
    DROP CONSTRAINT idempotency_keys_digest_length,
    ALTER COLUMN digest TYPE sha256_digest;
ALTER TABLE ledger_head
    DROP CONSTRAINT ledger_head_id_check,
    ALTER COLUMN id TYPE ledger_head_id;

-- Amounts and counters are never negative; a key's digest is a SHA-256; the head is one row.
ALTER DOMAIN ledger_units ADD CONSTRAINT ledger_units_not_negative CHECK (VALUE >= 0);
ALTER DOMAIN sha256_digest ADD CONSTRAINT sha256_digest_length CHECK (length(VALUE) = 32);
ALTER DOMAIN ledger_head_id ADD CONSTRAINT ledger_head_id_one CHECK (VALUE = 1);
