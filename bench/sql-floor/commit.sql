-- One commit: :n transfers between random accounts, carried by :k requests (:k idempotency
-- keys). The batch endpoint is k = 1, n = 100; micro-batched single transfers are k = n.
-- Pseudo-random accounts come from hashint8 of a per-commit seed, so every statement of the
-- commit sees the same transfers without a temporary table.
\set s random(1, 1000000000000)
BEGIN;
SELECT id, flags, debits_pending, debits_posted, credits_pending, credits_posted FROM accounts
    WHERE id = ANY (ARRAY(SELECT abs(hashint8(:s::bigint * 1000 + g)) % 10000 + 1 FROM generate_series(1, :n) g
                          UNION SELECT abs(hashint8(:s::bigint * 1000 + 500 + g)) % 10000 + 1 FROM generate_series(1, :n) g))
    ORDER BY id FOR UPDATE;
UPDATE accounts a SET debits_posted = a.debits_posted + v.dr, credits_posted = a.credits_posted + v.cr
    FROM (SELECT id, sum(dr) AS dr, sum(cr) AS cr FROM (
              SELECT abs(hashint8(:s::bigint * 1000 + g)) % 10000 + 1 AS id, 1 AS dr, 0 AS cr FROM generate_series(1, :n) g
              UNION ALL
              SELECT abs(hashint8(:s::bigint * 1000 + 500 + g)) % 10000 + 1, 0, 1 FROM generate_series(1, :n) g) AS legs
          GROUP BY id) AS v
    WHERE a.id = v.id;
INSERT INTO transfers (seq, id, debit_account_id, credit_account_id, amount, asset, created_at, hash)
    SELECT q, lpad(to_hex(q), 32, '0')::uuid, abs(hashint8(:s::bigint * 1000 + g)) % 10000 + 1,
           abs(hashint8(:s::bigint * 1000 + 500 + g)) % 10000 + 1, 1, 'USD', 0, '\x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'::bytea
    FROM (SELECT nextval('transfer_seq') AS q, g FROM generate_series(1, :n) g) AS t;
INSERT INTO idempotency_keys (digest, owner_id, key, fingerprint, outcome, created_at)
    SELECT sha256(convert_to(o, 'UTF8') || '\x00'::bytea || convert_to(k, 'UTF8')), o, k, '\x00'::bytea, 'ok', 0
    FROM (SELECT 'c' || :client_id AS o, :s::text || '-' || g AS k FROM generate_series(1, :k) g) AS x;
END;
