-- +goose Up
-- Browser sessions. The cookie carries a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    id            TEXT    PRIMARY KEY,
    token_hash    TEXT    NOT NULL UNIQUE,
    user_id       TEXT    NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_methods  TEXT    NOT NULL DEFAULT '',
    mfa           INTEGER NOT NULL DEFAULT 0,
    client_ip     TEXT    NOT NULL DEFAULT '',
    user_agent    TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Failure counters for throttling and lockout, per account and per client IP.
CREATE TABLE login_throttle (
    key              TEXT    PRIMARY KEY,
    failures         INTEGER NOT NULL,
    last_failure_at  INTEGER NOT NULL,
    locked_until     INTEGER
);

-- Single-use, expiring tokens: invitations, password resets, pending
-- sign-ins between factors, WebAuthn challenges. Only hashes are stored.
CREATE TABLE one_time_tokens (
    token_hash  TEXT    PRIMARY KEY,
    kind        TEXT    NOT NULL,
    user_id     TEXT    REFERENCES users(id) ON DELETE CASCADE,
    data        TEXT    NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX one_time_tokens_user ON one_time_tokens(user_id, kind);

-- TOTP: the seed sealed with the master key; last_step blocks replays.
CREATE TABLE totp_credentials (
    user_id       TEXT    PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret_sealed TEXT    NOT NULL,
    confirmed_at  INTEGER,
    last_step     INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE webauthn_credentials (
    id             TEXT    PRIMARY KEY,
    user_id        TEXT    NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id  TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    data           TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials(user_id);

CREATE TABLE recovery_codes (
    user_id     TEXT    NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    used_at     INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

-- "Remember this browser" for the MFA-when-context-changes policy.
CREATE TABLE remembered_devices (
    token_hash  TEXT    PRIMARY KEY,
    user_id     TEXT    NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX remembered_devices_user ON remembered_devices(user_id);

-- +goose Down
DROP TABLE remembered_devices;
DROP TABLE recovery_codes;
DROP TABLE webauthn_credentials;
DROP TABLE totp_credentials;
DROP TABLE one_time_tokens;
DROP TABLE login_throttle;
DROP TABLE sessions;
