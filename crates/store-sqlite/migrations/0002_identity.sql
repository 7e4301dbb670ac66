-- Identity and access (issue 3). Times are unix milliseconds. Secrets are stored only as
-- hashes (tokens, API keys, recovery codes), as Argon2id (passwords) or encrypted (TOTP).
CREATE TABLE users (
    id               TEXT PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('individual', 'business', 'staff')),
    email            TEXT NOT NULL,
    email_normalized TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    phone            TEXT,
    password_hash    TEXT NOT NULL,
    email_verified_at INTEGER,
    status           TEXT NOT NULL CHECK (status IN ('active', 'closed')),
    closed_reason    TEXT,
    closed_at        INTEGER,
    staff_role       TEXT CHECK (staff_role IN ('support', 'compliance_officer', 'admin')),
    totp_secret_enc  TEXT,
    totp_enabled_at  INTEGER,
    totp_last_step   INTEGER,
    created_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE businesses (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE business_members (
    business_id TEXT NOT NULL REFERENCES businesses (id),
    user_id     TEXT NOT NULL REFERENCES users (id),
    role        TEXT NOT NULL CHECK (role IN ('admin', 'finance_manager', 'view_only')),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (business_id, user_id)
) STRICT;
CREATE INDEX business_members_user ON business_members (user_id);

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id),
    token_hash      BLOB NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    ip              TEXT,
    user_agent      TEXT,
    mfa_verified_at INTEGER
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE email_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    purpose    TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;

CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id),
    code_hash BLOB NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

CREATE TABLE mfa_challenges (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    expires_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    used_at    INTEGER
) STRICT;

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY NOT NULL,
    business_id  TEXT NOT NULL REFERENCES businesses (id),
    created_by   TEXT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     BLOB NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;
CREATE INDEX api_keys_business ON api_keys (business_id);

-- The outbox for messages to people (emails now, SMS later): written in the transaction that
-- causes them, delivered at least once by the notification dispatcher.
CREATE TABLE notifications (
    id         TEXT PRIMARY KEY NOT NULL,
    channel    TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    sent_at    INTEGER,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
) STRICT;
CREATE INDEX notifications_unsent ON notifications (created_at) WHERE sent_at IS NULL;

-- Append-only security log (ASVS 16). Ids are time-ordered, so they are the cursor.
CREATE TABLE audit_events (
    id              TEXT PRIMARY KEY NOT NULL,
    at              INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    actor_user_id   TEXT,
    subject_user_id TEXT,
    ip              TEXT,
    user_agent      TEXT,
    details         TEXT NOT NULL
) STRICT;
CREATE INDEX audit_events_subject ON audit_events (subject_user_id, id);

-- Append-only means append-only, whatever the application does.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
