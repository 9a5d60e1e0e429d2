-- +goose Up
-- SP metadata fetched by URL is refreshed periodically (apps.Service.RefreshMetadata).
-- metadata_url: where it is fetched from ('' = not refreshed).
-- metadata_checked_at: last refresh attempt, Unix microseconds; a guarded
--   UPDATE of it claims the next refresh, so one replica does it per interval.
-- metadata_refreshed_at: last successful refresh. metadata_error: why the
--   last attempt failed ('' when it succeeded).
ALTER TABLE apps ADD COLUMN metadata_url TEXT NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN metadata_checked_at BIGINT;
ALTER TABLE apps ADD COLUMN metadata_refreshed_at BIGINT;
ALTER TABLE apps ADD COLUMN metadata_error TEXT NOT NULL DEFAULT '';
CREATE INDEX apps_metadata_due ON apps(metadata_checked_at) WHERE metadata_url <> '';

-- +goose Down
DROP INDEX apps_metadata_due;
ALTER TABLE apps DROP COLUMN metadata_error;
ALTER TABLE apps DROP COLUMN metadata_refreshed_at;
ALTER TABLE apps DROP COLUMN metadata_checked_at;
ALTER TABLE apps DROP COLUMN metadata_url;
