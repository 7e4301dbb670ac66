-- Issue 5: withdrawals. The row is created once per ledger hold (its id is the hold's), the
-- signed transaction is stored before it is broadcast (so a crash re-sends the same bytes),
-- and the hot wallet's next nonce is kept here so concurrent withdrawals never collide or gap.
CREATE TABLE withdrawals (
    id          TEXT PRIMARY KEY NOT NULL,
    owner_id    TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    chain       TEXT NOT NULL,
    asset       TEXT NOT NULL,
    to_address  TEXT NOT NULL,
    amount      TEXT NOT NULL,
    fee         TEXT NOT NULL,
    hold_ids    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('requested', 'signed', 'broadcast', 'confirmed', 'failed')),
    nonce       BIGINT,
    raw_tx      TEXT,
    tx_hash     TEXT,
    -- Earlier hashes of the same nonce (fee bumps): any of them may be the one mined.
    old_hashes  TEXT NOT NULL DEFAULT '',
    max_fee     TEXT,
    tip         TEXT,
    failure     TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX withdrawals_owner ON withdrawals (owner_id, id);
CREATE INDEX withdrawals_status ON withdrawals (chain, status, id);

CREATE TABLE custody_nonces (
    chain      TEXT NOT NULL,
    address    TEXT NOT NULL,
    next_nonce BIGINT NOT NULL,
    PRIMARY KEY (chain, address)
);
