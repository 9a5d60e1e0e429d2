// Package postgres opens idcenter's PostgreSQL store through pgx. Several
// idcenter replicas can share one database: all state lives in it.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/idcenter/idcenter/internal/store/sqlstore"
)

// Dialect is PostgreSQL's dialect.
var Dialect = &sqlstore.Dialect{
	Name: "postgres", Goose: goose.DialectPostgres, Classify: classify,
	SessionLocker: func() (lock.SessionLocker, error) { return lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300)) },
}

func classify(err error) (sqlstore.ErrorKind, string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return sqlstore.ErrUnique, pe.ConstraintName
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "57P"), pe.Code == "53300", pe.Code == "53100":
			return sqlstore.ErrUnavailable, ""
		}
		return sqlstore.ErrOther, ""
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) ||
		errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "conn closed") ||
		strings.Contains(err.Error(), "unexpected EOF") || strings.Contains(err.Error(), "failed to connect") {
		return sqlstore.ErrUnavailable, ""
	}
	return sqlstore.ErrOther, ""
}

// Open connects to the database at dsn (postgres://…).
func Open(ctx context.Context, dsn string) (*sqlstore.Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres DSN: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > 5*time.Second {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	cfg.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	s := sqlstore.New(Dialect, db, db)
	s.OnClose(pool.Close)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to postgres %s: %w", redact(cfg.ConnConfig.Host, cfg.ConnConfig.Database), err)
	}
	return s, nil
}

func redact(host, db string) string { return host + "/" + db }
