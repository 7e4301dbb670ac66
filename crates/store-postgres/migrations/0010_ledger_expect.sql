-- Issue 4, throughput: a ledger batch may be decided from an instance's view of the head and
-- its accounts (crates/store-postgres/src/ledger_view.rs), skipping the round trip that reads
-- and locks them. Its closing statement asserts that view with this function: false (or NULL)
-- aborts the whole statement, and the transaction with it, as a serialization failure
-- (SQLSTATE 40001), which the application answers by running the batch again the ordinary way.
CREATE FUNCTION ledger_expect(ok boolean) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'ledger_expect: the ledger moved since this batch was decided'
            USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN true;
END;
$$;
