// Package sqlite opens idcenter's embedded default store: a SQLite database
// file in the data directory, through the pure-Go modernc.org/sqlite driver.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"

	"github.com/pressly/goose/v3"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/idcenter/idcenter/internal/store/sqlstore"
)

// FileName is the database file inside the data directory.
const FileName = "idcenter.db"

// Dialect is SQLite's dialect.
var Dialect = &sqlstore.Dialect{Name: "sqlite", Goose: goose.DialectSQLite3, Classify: classify}

var uniqueMsg = regexp.MustCompile(`UNIQUE constraint failed: (.+?)(?: \(|$)`)

func classify(err error) (sqlstore.ErrorKind, string) {
	var e *msqlite.Error
	if !errors.As(err, &e) {
		return sqlstore.ErrOther, ""
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		if m := uniqueMsg.FindStringSubmatch(e.Error()); m != nil {
			return sqlstore.ErrUnique, m[1]
		}
		return sqlstore.ErrUnique, ""
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
		sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
		return sqlstore.ErrUnavailable, ""
	}
	return sqlstore.ErrOther, ""
}

// Open opens (creating if needed) the database in dataDir. Writes go through
// one connection with BEGIN IMMEDIATE; reads use a separate pool. WAL,
// foreign keys, a busy timeout and synchronous=FULL are set on every
// connection.
func Open(ctx context.Context, dataDir string) (*sqlstore.Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	return OpenFile(ctx, filepath.Join(dataDir, FileName))
}

// OpenFile opens the database at path.
func OpenFile(ctx context.Context, path string) (*sqlstore.Store, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(FULL)"} {
		q.Add("_pragma", p)
	}
	dsn := "file:" + path + "?" + q.Encode()
	wdb, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	wdb.SetMaxOpenConns(1)
	rdb, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		wdb.Close()
		return nil, err
	}
	rdb.SetMaxOpenConns(8)
	s := sqlstore.New(Dialect, rdb, wdb)
	if err := wdb.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, nil
}
