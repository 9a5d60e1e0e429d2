// Package sqlstore is idcenter's one SQL implementation of the domain store
// interfaces. The same statements run on SQLite (modernc.org/sqlite) and
// PostgreSQL (pgx): placeholders are $n on both, times are Unix microseconds,
// and the few real differences (error classification, goose dialect,
// migrations) live in a Dialect value supplied by the engine packages.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/idcenter/idcenter/internal/errs"
)

//go:embed migrations
var migrations embed.FS

// ErrorKind classifies a driver error.
type ErrorKind int

// Error kinds.
const (
	ErrOther ErrorKind = iota
	ErrUnique
	ErrUnavailable
)

// Dialect is what differs between the engines.
type Dialect struct {
	Name  string        // "sqlite" or "postgres"
	Goose goose.Dialect // migration dialect
	// Classify says what kind of error err is and, for unique violations,
	// which index was violated (index name or "table.column").
	Classify func(err error) (ErrorKind, string)
	// SessionLocker serialises migrations across replicas (nil: none needed).
	SessionLocker func() (lock.SessionLocker, error)
}

// MigrationsFS returns the embedded migrations of one engine.
func MigrationsFS(engine string) fs.FS {
	sub, err := fs.Sub(migrations, "migrations/"+engine)
	if err != nil {
		panic(err)
	}
	return sub
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Store is the SQL store. Reads outside a transaction go to the read pool;
// WithTx runs on the write pool (a single connection on SQLite).
type Store struct {
	conn
	rdb, wdb *sql.DB
	closers  []func()
}

// OnClose registers fn to run after the pools are closed.
func (s *Store) OnClose(fn func()) { s.closers = append(s.closers, fn) }

// conn carries the query methods; Store uses it over the read pool and Tx
// over a transaction.
type conn struct {
	q       querier
	dialect *Dialect
}

// Tx is a store transaction; it implements every domain Tx interface.
type Tx struct {
	conn
}

// New wraps the pools. rdb and wdb may be the same pool.
func New(d *Dialect, rdb, wdb *sql.DB) *Store {
	return &Store{conn: conn{q: rdb, dialect: d}, rdb: rdb, wdb: wdb}
}

// Dialect returns the engine's dialect.
func (s *Store) Dialect() *Dialect { return s.dialect }

// DB returns the write pool. It exists for tests that must reach past the
// typed methods with raw SQL (for example to prove that the database itself
// refuses to change audit events); application code never uses it.
func (s *Store) DB() *sql.DB { return s.wdb }

// Close closes the pools.
func (s *Store) Close() error {
	err := s.wdb.Close()
	if s.rdb != s.wdb {
		err = errors.Join(err, s.rdb.Close())
	}
	for _, fn := range s.closers {
		fn()
	}
	return err
}

func (s *Store) provider() (*goose.Provider, error) {
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if s.dialect.SessionLocker != nil {
		l, err := s.dialect.SessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(l))
	}
	return goose.NewProvider(s.dialect.Goose, s.wdb, MigrationsFS(s.dialect.Name), opts...)
}

// Migrate applies pending migrations and returns how many ran. Concurrent
// replicas on PostgreSQL serialise on an advisory lock.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	p, err := s.provider()
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), s.wrap(fmt.Errorf("migrate: %w", err))
	}
	return len(res), nil
}

// Ready reports nil when the store answers and every migration is applied.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.rdb.PingContext(ctx); err != nil {
		return s.wrap(err)
	}
	p, err := s.provider()
	if err != nil {
		return err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return s.wrap(err)
	}
	if pending {
		return errors.New("migrations pending")
	}
	return nil
}

// SchemaVersion returns the newest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	p, err := s.provider()
	if err != nil {
		return 0, err
	}
	return p.GetDBVersion(ctx)
}

// WithTx runs fn in a read-write transaction, committing when fn returns nil.
// If fn panics the transaction is rolled back before the panic continues, so
// the connection (SQLite's only writer) is not left inside it.
func (s *Store) WithTx(ctx context.Context, fn func(*Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(&Tx{conn: conn{q: tx, dialect: s.dialect}}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(err)
	}
	return nil
}

// wrap turns driver errors into domain errors: lost connections and I/O
// failures become errs.ErrUnavailable; the driver text stays in the chain for
// the log but never reaches a client.
func (c *conn) wrap(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return errs.ErrNotFound
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if kind, _ := c.dialect.Classify(err); kind == ErrUnavailable {
		return fmt.Errorf("%w: %w", errs.ErrUnavailable, err)
	}
	return err
}

// uniqueFields maps violated unique indexes to the field a client sent.
var uniqueFields = map[string][2]string{
	"users_user_name_norm":                          {"user", "userName"},
	"users.user_name_norm":                          {"user", "userName"},
	"users_email_norm":                              {"user", "email"},
	"users.email_norm":                              {"user", "email"},
	"groups_display_name_norm":                      {"group", "displayName"},
	"groups.display_name_norm":                      {"group", "displayName"},
	"api_tokens_name":                               {"token", "name"},
	"api_tokens.name":                               {"token", "name"},
	"api_tokens_hash":                               {"token", "secret"},
	"api_tokens.hash":                               {"token", "secret"},
	"group_members_pkey":                            {"member", "userId"},
	"group_members.group_id":                        {"member", "userId"},
	"group_members.group_id, group_members.user_id": {"member", "userId"},
}

// writeErr maps a failed write: unique violations become *errs.Conflict.
func (c *conn) writeErr(err error, value string) error {
	if err == nil {
		return nil
	}
	kind, index := c.dialect.Classify(err)
	if kind == ErrUnique {
		if f, ok := uniqueFields[index]; ok {
			return &errs.Conflict{Kind: f[0], Field: f[1], Value: value}
		}
		return &errs.Conflict{Kind: "object", Field: index}
	}
	return c.wrap(err)
}

func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}

func ptrTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}
