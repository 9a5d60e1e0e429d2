-- +goose Up
-- The last rendered IAM set-up of each AWS account (issue 6, "IAM set-up as
-- code"): a digest and a JSON summary of what the rendered CloudFormation or
-- Terraform makes exist (the SAML provider's metadata fingerprint, the roles
-- with their policies). "idcenter aws check" compares the current model with
-- it. One row per account, replaced at each render.
CREATE TABLE iam_renders (
    account_id   TEXT    PRIMARY KEY REFERENCES cloud_accounts(id) ON DELETE CASCADE,
    format       TEXT    NOT NULL,
    digest       TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    rendered_at  BIGINT  NOT NULL,
    rendered_by  TEXT    NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE iam_renders;
