-- +goose Up
-- SCIM lists users as a provisioning token sees them (role = '') in id
-- order, with OFFSET paging (startIndex) and a count on every page. This
-- index answers the count and picks a page's ids without reading the rows
-- (sqlstore.QueryUsers); without it each page of a 100,000-user export
-- scanned the table (BenchmarkSCIM100k, docs/performance.md).
CREATE INDEX users_role_id ON users(role, id);

-- +goose Down
DROP INDEX users_role_id;
