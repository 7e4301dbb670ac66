-- Issue 5: chain deposits. Each (chain, transaction, log index) is recorded once; a deposit is
-- credited at most once (status moves pending → credited under a conditional update, and the
-- ledger transfer carries an idempotency key of the deposit).
CREATE TABLE chain_cursors (
    chain      TEXT PRIMARY KEY NOT NULL,
    next_block INTEGER NOT NULL,
    -- Hash of block next_block - 1, to notice a reorganisation below the cursor.
    last_hash  TEXT
);

CREATE TABLE deposits (
    id           TEXT PRIMARY KEY NOT NULL,
    chain        TEXT NOT NULL,
    asset        TEXT NOT NULL,
    tx_hash      TEXT NOT NULL,
    log_index    INTEGER NOT NULL,
    address      TEXT NOT NULL,
    owner_id     TEXT NOT NULL,
    amount       TEXT NOT NULL,
    block_number INTEGER NOT NULL,
    block_hash   TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'credited', 'dropped', 'reorged')),
    transfer_id  TEXT,
    seen_at      INTEGER NOT NULL,
    decided_at   INTEGER,
    UNIQUE (chain, tx_hash, log_index)
);
CREATE INDEX deposits_owner ON deposits (owner_id, id);
CREATE INDEX deposits_pending ON deposits (chain, status, block_number);
