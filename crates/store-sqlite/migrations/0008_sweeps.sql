-- Issue 5: sweeps of deposit addresses into the hot wallet, one open sweep per address.
CREATE TABLE sweeps (
    tx_hash    TEXT PRIMARY KEY NOT NULL,
    chain      TEXT NOT NULL,
    address    TEXT NOT NULL,
    amount     TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('broadcast', 'confirmed', 'failed')),
    created_at INTEGER NOT NULL
);
CREATE INDEX sweeps_open ON sweeps (chain, address, status);
