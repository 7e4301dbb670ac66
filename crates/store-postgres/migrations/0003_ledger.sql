-- The ledger (issue 4, ledger.md). Amounts are NUMERIC(39,0): any u128, exactly.
CREATE TABLE ledger_accounts (
    id              UUID PRIMARY KEY,
    asset           TEXT NOT NULL,
    owner_id        TEXT NOT NULL,
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    parent_id       UUID REFERENCES ledger_accounts (id),
    flags           BIGINT NOT NULL,
    debits_pending  NUMERIC(39, 0) NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    debits_posted   NUMERIC(39, 0) NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending NUMERIC(39, 0) NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    credits_posted  NUMERIC(39, 0) NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    created_at      BIGINT NOT NULL,
    -- The no-overdraft promise, enforced by the database as well as the engine.
    CHECK (flags & 1 = 0 OR debits_posted + debits_pending <= credits_posted)
);
CREATE INDEX ledger_accounts_owner ON ledger_accounts (owner_id, id);
-- The bank's own accounts: one per purpose and asset.
CREATE UNIQUE INDEX ledger_accounts_system ON ledger_accounts (code, asset) WHERE owner_id = 'bank';

-- The journal: append-only, hash-chained in seq order.
CREATE TABLE ledger_transfers (
    seq                  BIGINT PRIMARY KEY,
    id                   UUID NOT NULL UNIQUE,
    debit_account_id     UUID NOT NULL REFERENCES ledger_accounts (id),
    credit_account_id    UUID NOT NULL REFERENCES ledger_accounts (id),
    amount               NUMERIC(39, 0) NOT NULL CHECK (amount >= 0),
    asset                TEXT NOT NULL,
    code                 TEXT NOT NULL,
    flags                BIGINT NOT NULL,
    pending_id           UUID REFERENCES ledger_transfers (id),
    expires_at           BIGINT,
    description          TEXT,
    metadata             TEXT NOT NULL,
    debit_balance_after  TEXT,
    credit_balance_after TEXT,
    created_at           BIGINT NOT NULL,
    prev_hash            BYTEA NOT NULL,
    hash                 BYTEA NOT NULL
);
-- A pending transfer is resolved at most once, whatever the application does.
CREATE UNIQUE INDEX ledger_transfers_resolution ON ledger_transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account_id, seq);
CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account_id, seq);
CREATE INDEX ledger_transfers_expiring ON ledger_transfers (expires_at) WHERE expires_at IS NOT NULL;
CREATE TRIGGER ledger_transfers_append_only BEFORE UPDATE OR DELETE ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

CREATE TABLE ledger_head (
    id   SMALLINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO ledger_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

-- Idempotency-Key records, written in the same transaction as what they guard.
CREATE TABLE idempotency_keys (
    owner_id    TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint BYTEA NOT NULL,
    outcome     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (owner_id, key)
);
