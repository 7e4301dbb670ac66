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
    email_verified_at BIGINT,
    status           TEXT NOT NULL CHECK (status IN ('active', 'closed')),
    closed_reason    TEXT,
    closed_at        BIGINT,
    staff_role       TEXT CHECK (staff_role IN ('support', 'compliance_officer', 'admin')),
    totp_secret_enc  TEXT,
    totp_enabled_at  BIGINT,
    totp_last_step   BIGINT,
    created_at       BIGINT NOT NULL
);

CREATE TABLE businesses (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE business_members (
    business_id TEXT NOT NULL REFERENCES businesses (id),
    user_id     TEXT NOT NULL REFERENCES users (id),
    role        TEXT NOT NULL CHECK (role IN ('admin', 'finance_manager', 'view_only')),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (business_id, user_id)
);
CREATE INDEX business_members_user ON business_members (user_id);

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id),
    token_hash      BYTEA NOT NULL UNIQUE,
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    revoked_at      BIGINT,
    ip              TEXT,
    user_agent      TEXT,
    mfa_verified_at BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE email_tokens (
    token_hash BYTEA PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    purpose    TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id),
    code_hash BYTEA NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE mfa_challenges (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    expires_at BIGINT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    used_at    BIGINT
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY NOT NULL,
    business_id  TEXT NOT NULL REFERENCES businesses (id),
    created_by   TEXT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     BYTEA NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_keys_business ON api_keys (business_id);

-- The outbox for messages to people (emails now, SMS later): written in the transaction that
-- causes them, delivered at least once by the notification dispatcher.
CREATE TABLE notifications (
    id         TEXT PRIMARY KEY NOT NULL,
    channel    TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at    BIGINT,
    attempts   BIGINT NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX notifications_unsent ON notifications (created_at) WHERE sent_at IS NULL;

-- Append-only security log (ASVS 16). Ids are time-ordered, so they are the cursor.
CREATE TABLE audit_events (
    id              TEXT PRIMARY KEY NOT NULL,
    at              BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    actor_user_id   TEXT,
    subject_user_id TEXT,
    ip              TEXT,
    user_agent      TEXT,
    details         TEXT NOT NULL
);
CREATE INDEX audit_events_subject ON audit_events (subject_user_id, id);

-- Append-only means append-only, whatever the application does.
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
