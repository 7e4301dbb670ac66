-- Leases for workers that run on one instance at a time (architecture.md).
-- Times are unix milliseconds so both stores compare them the same way.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL
);
