-- Idempotency-Keys are forgotten after IDEMPOTENCY_KEY_RETENTION_HOURS (docs/ledger.md): one
-- instance at a time deletes those taken before then (pb_ledger::forget_idempotency_keys).
-- They are found by created_at through a BRIN index: keys are written in created_at order, so
-- a block range summarises well, and a row inserted into a block range not yet summarised (the
-- table's end, where new keys go) costs the index a look at its range map: about 0.3 µs per
-- key, measured (bench/README.md). A B-tree would add an entry to every key's insert, on the
-- path of every money-moving request.
CREATE INDEX idempotency_keys_created ON idempotency_keys USING brin (created_at);
