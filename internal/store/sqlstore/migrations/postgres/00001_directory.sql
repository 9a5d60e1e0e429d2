-- +goose Up
-- Normalised keys use the "C" collation so ordering and LIKE prefix
-- matches agree with SQLite byte order and can use the indexes.
-- Times are Unix microseconds (UTC) on both engines, so ordering, range
-- filters and round-trips behave identically.
CREATE TABLE instance (
    singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
    instance_id  TEXT    NOT NULL,
    key_check    TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL
);

CREATE TABLE users (
    id                  TEXT    PRIMARY KEY,
    user_name           TEXT    NOT NULL,
    user_name_norm      TEXT    COLLATE "C" NOT NULL,
    email_norm          TEXT    COLLATE "C",
    external_id         TEXT    NOT NULL DEFAULT '',
    active              BOOLEAN NOT NULL,
    role                TEXT    NOT NULL DEFAULT '',
    managed_by          TEXT    NOT NULL DEFAULT '',
    given_name          TEXT    NOT NULL DEFAULT '',
    family_name         TEXT    NOT NULL DEFAULT '',
    display_name        TEXT    NOT NULL DEFAULT '',
    manager_id          TEXT    REFERENCES users(id) ON DELETE SET NULL,
    attributes          TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    modified_at         BIGINT  NOT NULL,
    version             BIGINT  NOT NULL
);
CREATE UNIQUE INDEX users_user_name_norm ON users(user_name_norm);
CREATE UNIQUE INDEX users_email_norm ON users(email_norm);
CREATE INDEX users_external_id ON users(external_id);
CREATE INDEX users_manager_id ON users(manager_id);

CREATE TABLE passwords (
    user_id     TEXT    PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    hash        TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL
);

CREATE TABLE groups (
    id                 TEXT    PRIMARY KEY,
    display_name       TEXT    NOT NULL,
    display_name_norm  TEXT    COLLATE "C" NOT NULL,
    description        TEXT    NOT NULL DEFAULT '',
    external_id        TEXT    NOT NULL DEFAULT '',
    managed_by         TEXT    NOT NULL DEFAULT '',
    created_at         BIGINT  NOT NULL,
    modified_at        BIGINT  NOT NULL,
    version            BIGINT  NOT NULL
);
CREATE UNIQUE INDEX groups_display_name_norm ON groups(display_name_norm);

CREATE TABLE group_members (
    group_id    TEXT    NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id     TEXT    NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);

CREATE TABLE api_tokens (
    id            TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    hash          TEXT    NOT NULL,
    hint          TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    created_by    TEXT    NOT NULL DEFAULT '',
    expires_at    BIGINT,
    revoked_at    BIGINT,
    last_used_at  BIGINT
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens(hash);
CREATE UNIQUE INDEX api_tokens_name ON api_tokens(name);

CREATE TABLE audit_events (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    at           BIGINT  NOT NULL,
    actor_type   TEXT    NOT NULL,
    actor_id     TEXT    NOT NULL DEFAULT '',
    actor_name   TEXT    NOT NULL DEFAULT '',
    action       TEXT    NOT NULL,
    target_type  TEXT    NOT NULL DEFAULT '',
    target_id    TEXT    NOT NULL DEFAULT '',
    target_name  TEXT    NOT NULL DEFAULT '',
    summary      TEXT    NOT NULL DEFAULT '{}',
    request_id   TEXT    NOT NULL DEFAULT '',
    client_ip    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_action ON audit_events(action);
CREATE INDEX audit_events_target ON audit_events(target_id);
CREATE INDEX audit_events_actor ON audit_events(actor_id);

-- The audit trail is append-only: the database itself refuses changes.
-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- +goose Down
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only;
DROP TABLE api_tokens;
DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE passwords;
DROP TABLE users;
DROP TABLE instance;
