-- An account's history is read along its chain of links (0011; ledger.md, "History"), as on
-- PostgreSQL, not through an index per side: each index took a random page per transfer, which
-- SQLite writes whole to its WAL at commit and again at checkpoint.
DROP INDEX ledger_transfers_debit;
DROP INDEX ledger_transfers_credit;
