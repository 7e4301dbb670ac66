-- The least work any design meeting ledger.md must do in PostgreSQL, with nothing of ours
-- around it (no HTTP, no Rust, no hash chain lock, no outbox row per transfer, no foreign keys).
-- It is generous on purpose: a floor for the cost of the real thing, not a model of it.
CREATE TABLE accounts (
    id              BIGINT PRIMARY KEY,
    flags           BIGINT NOT NULL DEFAULT 0,
    debits_pending  NUMERIC(39, 0) NOT NULL DEFAULT 0,
    debits_posted   NUMERIC(39, 0) NOT NULL DEFAULT 0,
    credits_pending NUMERIC(39, 0) NOT NULL DEFAULT 0,
    credits_posted  NUMERIC(39, 0) NOT NULL DEFAULT 0
);
INSERT INTO accounts (id, credits_posted) SELECT g, 1000000000000 FROM generate_series(1, 10000) g;
-- The journal: an id to look a transfer up by. Each account's history is a chain of links in
-- the rows (migration 0014), which costs no index: the floor leaves the links out.
CREATE TABLE transfers (
    seq               BIGINT PRIMARY KEY,
    id                UUID NOT NULL UNIQUE,
    debit_account_id  BIGINT NOT NULL,
    credit_account_id BIGINT NOT NULL,
    amount            NUMERIC(39, 0) NOT NULL,
    asset             TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    hash              BYTEA NOT NULL
);
CREATE SEQUENCE transfer_seq CACHE 1000;
-- Exactly once: one key per request, written with its answer in the transaction that made it,
-- found by a digest of its owner and key (as the service's, migration 0012).
CREATE TABLE idempotency_keys (
    digest      BYTEA PRIMARY KEY,
    owner_id    TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint BYTEA NOT NULL,
    outcome     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
VACUUM ANALYZE;
