-- Issue 4: the transactional outbox and staff adjustments (maker-checker).

-- One event per committed transfer, written in the transfer's transaction. `position` is the
-- transfer's journal seq, so positions commit in order (see pb_domain::ledger::outbox).
CREATE TABLE ledger_outbox (
    position   BIGINT PRIMARY KEY,
    id         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE outbox_cursors (
    consumer TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);

-- A correction proposed by one staff member and decided by another. The ledger transfer it
-- produces is in ledger_transfers; this row is the request and its four-eyes trail.
CREATE TABLE ledger_adjustments (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL,
    asset       TEXT NOT NULL,
    amount      TEXT NOT NULL,
    direction   TEXT NOT NULL CHECK (direction IN ('credit', 'debit')),
    reason      TEXT NOT NULL,
    corrects    TEXT,
    status      TEXT NOT NULL CHECK (status IN ('pending_approval', 'posted', 'failed', 'rejected')),
    maker       TEXT NOT NULL,
    checker     TEXT CHECK (checker IS NULL OR checker <> maker),
    transfer_id TEXT,
    failure     TEXT,
    created_at  BIGINT NOT NULL,
    decided_at  BIGINT
);
CREATE INDEX ledger_adjustments_status ON ledger_adjustments (status, id);

-- Decided is final; nothing is ever deleted.
CREATE FUNCTION adjustments_decided_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.status <> 'pending_approval' THEN
        RAISE EXCEPTION 'ledger_adjustments: a decided adjustment cannot change';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_adjustments_decided_once BEFORE UPDATE OR DELETE ON ledger_adjustments
    FOR EACH ROW EXECUTE FUNCTION adjustments_decided_once();
