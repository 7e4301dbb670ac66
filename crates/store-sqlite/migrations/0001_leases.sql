-- Leases for workers that run on one instance at a time (architecture.md).
-- Times are unix milliseconds (INTEGER) so SQLite and PostgreSQL compare them the same way.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY NOT NULL,
    holder      TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    acquired_at INTEGER NOT NULL
) STRICT;
