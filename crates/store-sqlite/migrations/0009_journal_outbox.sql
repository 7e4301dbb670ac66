-- Issue 4: the outbox is the journal (pb_domain::ledger::outbox). The relay derives each event
-- from its transfer row; positions were already journal seqs, so cursors carry over.
DROP TABLE ledger_outbox;
-- Accounts are never deleted (closing one is a flag), whatever the application does.
CREATE TRIGGER ledger_accounts_never_deleted BEFORE DELETE ON ledger_accounts
BEGIN
    SELECT RAISE(ABORT, 'rows of ledger_accounts are never deleted');
END;
