-- +goose Up
-- The applications each browser session signed in to over SAML, with the
-- Name ID each was given: single logout propagates to them. Rows go with
-- their session (and their application).
CREATE TABLE saml_session_apps (
    session_id      TEXT    NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    app_id          TEXT    NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    name_id         TEXT    NOT NULL,
    name_id_format  TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER  NOT NULL,
    PRIMARY KEY (session_id, app_id)
);
CREATE INDEX saml_session_apps_app ON saml_session_apps(app_id);

-- +goose Down
DROP TABLE saml_session_apps;
