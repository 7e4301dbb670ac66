-- Idempotency-Keys are forgotten after IDEMPOTENCY_KEY_RETENTION_HOURS (docs/ledger.md): the
-- retention worker finds those taken before then by created_at.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
