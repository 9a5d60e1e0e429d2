-- +goose Up
-- Account access (issue 6): AWS accounts, permission sets (role templates)
-- and assignments of users or groups to (account, permission set) pairs.
-- The less-queried fields of accounts and permission sets live in a JSON
-- document, like users' attributes.
CREATE TABLE cloud_accounts (
    id           TEXT    PRIMARY KEY,
    name         TEXT    NOT NULL,
    name_norm    TEXT    NOT NULL,
    attributes   TEXT    NOT NULL,
    managed_by   TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    modified_at  BIGINT  NOT NULL,
    version      BIGINT  NOT NULL
);
CREATE UNIQUE INDEX cloud_accounts_name_norm ON cloud_accounts(name_norm);

CREATE TABLE permission_sets (
    id           TEXT    PRIMARY KEY,
    name         TEXT    NOT NULL,
    name_norm    TEXT    NOT NULL,
    attributes   TEXT    NOT NULL,
    managed_by   TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    modified_at  BIGINT  NOT NULL,
    version      BIGINT  NOT NULL
);
CREATE UNIQUE INDEX permission_sets_name_norm ON permission_sets(name_norm);

-- principal_key is "user:<id>" or "group:<id>"; user_id / group_id carry the
-- foreign key so deleting the principal deletes its assignments.
CREATE TABLE account_assignments (
    account_id         TEXT    NOT NULL REFERENCES cloud_accounts(id) ON DELETE CASCADE,
    permission_set_id  TEXT    NOT NULL REFERENCES permission_sets(id) ON DELETE CASCADE,
    principal_key      TEXT    NOT NULL,
    user_id            TEXT    REFERENCES users(id) ON DELETE CASCADE,
    group_id           TEXT    REFERENCES groups(id) ON DELETE CASCADE,
    created_at         BIGINT  NOT NULL,
    PRIMARY KEY (account_id, permission_set_id, principal_key),
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);
CREATE INDEX account_assignments_user ON account_assignments(user_id);
CREATE INDEX account_assignments_group ON account_assignments(group_id);
CREATE INDEX account_assignments_permission_set ON account_assignments(permission_set_id);

-- +goose Down
DROP TABLE account_assignments;
DROP TABLE permission_sets;
DROP TABLE cloud_accounts;
