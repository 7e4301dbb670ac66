-- Issue 4, throughput: an instance decides its next ledger batch (from its view of the ledger,
-- crates/store-postgres/src/ledger_view.rs) while the batch before is still in PostgreSQL, and
-- sends it on a second connection (pipelining). Both ask for the journal head's row lock, and
-- PostgreSQL grants it in the order the requests arrive, which the application cannot
-- guarantee (two backends, two sockets, two cores). A batch decided after one that ends at
-- `after_seq` takes the head with this function instead of a plain `SELECT … FOR UPDATE`:
-- - the head is at `after_seq` or beyond (the batch before committed, or another instance
--   wrote: the batch's own `ledger_expect` then judges): take the lock, waiting as usual;
-- - the lock is held (by the batch before, which will end at `after_seq`): wait for it, in
--   order behind it;
-- - the lock is free and the head is short of `after_seq`: the batch before has not asked for
--   it yet. Give it back (an error escaping a block rolls back its subtransaction, and the row
--   lock with it) and look again, at first at once, then each millisecond. After about 50 ms
--   (the batch before failed, and the application has not been told yet) take it all the
--   same: `ledger_expect` refuses the batch, which runs again the ordinary way.
CREATE FUNCTION ledger_take_head(after_seq bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tries int := 0;
BEGIN
    LOOP
        IF tries >= 35 OR (SELECT seq FROM ledger_head WHERE id = 1) >= after_seq THEN
            PERFORM 1 FROM ledger_head WHERE id = 1 FOR UPDATE;
            RETURN;
        END IF;
        BEGIN
            PERFORM 1 FROM ledger_head WHERE id = 1 FOR UPDATE NOWAIT;
            RAISE EXCEPTION USING ERRCODE = 'PB001';
        EXCEPTION
            WHEN lock_not_available THEN
                PERFORM 1 FROM ledger_head WHERE id = 1 FOR UPDATE;
                RETURN;
            WHEN SQLSTATE 'PB001' THEN
                NULL;
        END;
        tries := tries + 1;
        IF tries > 10 THEN
            PERFORM pg_sleep(0.001);
        END IF;
    END LOOP;
END;
$$;
