-- The ledger (issue 4, ledger.md). SQLite has no 128-bit integers: amounts and counters are
-- decimal TEXT, computed in Rust (u128, checked). Ids are hyphenated UUID text.
CREATE TABLE ledger_accounts (
    id              TEXT PRIMARY KEY NOT NULL,
    asset           TEXT NOT NULL,
    owner_id        TEXT NOT NULL,
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    parent_id       TEXT REFERENCES ledger_accounts (id),
    flags           INTEGER NOT NULL,
    debits_pending  TEXT NOT NULL DEFAULT '0',
    debits_posted   TEXT NOT NULL DEFAULT '0',
    credits_pending TEXT NOT NULL DEFAULT '0',
    credits_posted  TEXT NOT NULL DEFAULT '0',
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX ledger_accounts_owner ON ledger_accounts (owner_id, id);
CREATE UNIQUE INDEX ledger_accounts_system ON ledger_accounts (code, asset) WHERE owner_id = 'bank';

CREATE TABLE ledger_transfers (
    seq                  INTEGER PRIMARY KEY NOT NULL,
    id                   TEXT NOT NULL UNIQUE,
    debit_account_id     TEXT NOT NULL REFERENCES ledger_accounts (id),
    credit_account_id    TEXT NOT NULL REFERENCES ledger_accounts (id),
    amount               TEXT NOT NULL,
    asset                TEXT NOT NULL,
    code                 TEXT NOT NULL,
    flags                INTEGER NOT NULL,
    pending_id           TEXT REFERENCES ledger_transfers (id),
    expires_at           INTEGER,
    description          TEXT,
    metadata             TEXT NOT NULL,
    debit_balance_after  TEXT,
    credit_balance_after TEXT,
    created_at           INTEGER NOT NULL,
    prev_hash            BLOB NOT NULL,
    hash                 BLOB NOT NULL
) STRICT;
CREATE UNIQUE INDEX ledger_transfers_resolution ON ledger_transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account_id, seq);
CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account_id, seq);
CREATE INDEX ledger_transfers_expiring ON ledger_transfers (expires_at) WHERE expires_at IS NOT NULL;
CREATE TRIGGER ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers
BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only'); END;
CREATE TRIGGER ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers
BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only'); END;

CREATE TABLE ledger_head (
    id   INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB NOT NULL
) STRICT;
INSERT INTO ledger_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

CREATE TABLE idempotency_keys (
    owner_id    TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    outcome     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (owner_id, key)
) STRICT;
