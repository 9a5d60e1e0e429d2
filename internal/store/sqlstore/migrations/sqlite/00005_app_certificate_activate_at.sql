-- +goose Up
-- A next certificate may be scheduled: the janitor activates it once
-- activate_at (Unix microseconds) has passed. NULL: activated by hand.
ALTER TABLE app_certificates ADD COLUMN activate_at INTEGER;
CREATE INDEX app_certificates_due ON app_certificates(activate_at) WHERE status = 'next' AND activate_at IS NOT NULL;

-- +goose Down
DROP INDEX app_certificates_due;
ALTER TABLE app_certificates DROP COLUMN activate_at;
