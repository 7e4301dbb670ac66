-- Issue 5: custody. The master seed sealed with a key derived from SECRET_KEY (never the
-- plain seed), and the deposit addresses derived from it, one per owner and chain.
CREATE TABLE custody_seed (
    id         BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    sealed     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE custody_counters (
    chain      TEXT PRIMARY KEY NOT NULL,
    next_index BIGINT NOT NULL
);

CREATE TABLE deposit_addresses (
    chain            TEXT NOT NULL,
    address          TEXT NOT NULL,
    owner_id         TEXT NOT NULL,
    derivation_index BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (chain, address),
    UNIQUE (chain, owner_id),
    UNIQUE (chain, derivation_index)
);
