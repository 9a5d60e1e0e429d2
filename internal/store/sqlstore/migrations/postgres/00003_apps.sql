-- +goose Up
-- SAML applications. Searchable and unique fields have their own columns;
-- everything else is the JSON document in config.
CREATE TABLE apps (
    id            TEXT    PRIMARY KEY,
    display_name  TEXT    NOT NULL,
    name_norm     TEXT    COLLATE "C" NOT NULL,
    entity_id     TEXT    COLLATE "C" NOT NULL,
    enabled       BOOLEAN NOT NULL,
    template      TEXT    NOT NULL DEFAULT '',
    managed_by    TEXT    NOT NULL DEFAULT '',
    config        TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    modified_at   BIGINT  NOT NULL,
    version       BIGINT  NOT NULL
);
CREATE UNIQUE INDEX apps_name_norm ON apps(name_norm);
CREATE UNIQUE INDEX apps_entity_id ON apps(entity_id);

-- Each application's own signing certificates. The private key is sealed
-- with the master key, bound to "app_certificates.private_key:<id>".
-- At most one active and one next certificate per application.
CREATE TABLE app_certificates (
    id                  TEXT    PRIMARY KEY,
    app_id              TEXT    NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    status              TEXT    NOT NULL CHECK (status IN ('active', 'next', 'retired')),
    not_before          BIGINT  NOT NULL,
    not_after           BIGINT  NOT NULL,
    cert_pem            TEXT    NOT NULL,
    private_key_sealed  TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL
);
CREATE INDEX app_certificates_app ON app_certificates(app_id);
CREATE UNIQUE INDEX app_certificates_active ON app_certificates(app_id) WHERE status = 'active';
CREATE UNIQUE INDEX app_certificates_next ON app_certificates(app_id) WHERE status = 'next';

-- Users and groups assigned to applications.
CREATE TABLE app_assignments (
    app_id          TEXT    NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    principal_type  TEXT    NOT NULL CHECK (principal_type IN ('user', 'group')),
    principal_id    TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    PRIMARY KEY (app_id, principal_type, principal_id)
);
CREATE INDEX app_assignments_principal ON app_assignments(principal_type, principal_id);

-- A deleted user or group loses its assignments with it.
-- +goose StatementBegin
CREATE FUNCTION app_assignments_forget() RETURNS trigger AS $$
BEGIN
    DELETE FROM app_assignments WHERE principal_type = TG_ARGV[0] AND principal_id = OLD.id;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER app_assignments_user_deleted AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION app_assignments_forget('user');
CREATE TRIGGER app_assignments_group_deleted AFTER DELETE ON groups
    FOR EACH ROW EXECUTE FUNCTION app_assignments_forget('group');

-- +goose Down
DROP TRIGGER app_assignments_group_deleted ON groups;
DROP TRIGGER app_assignments_user_deleted ON users;
DROP FUNCTION app_assignments_forget;
DROP TABLE app_assignments;
DROP TABLE app_certificates;
DROP TABLE apps;
