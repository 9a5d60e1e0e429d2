package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/tokens"
)

func ptr(t time.Time) *time.Time { return &t }

func insertToken(t testing.TB, s *sqlstore.Store, tok tokens.Token, hash string) {
	t.Helper()
	inTx(t, s, func(tx *sqlstore.Tx) error { return tx.InsertToken(context.Background(), tok, hash) })
}

func testTokenGet(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	ci := tokens.Token{
		ID: newID(), Name: "ci", Role: "admin", Hint: "idc_abcd", CreatedAt: t0, CreatedBy: "root",
		ExpiresAt: ptr(t0.Add(90 * 24 * time.Hour)),
	}
	reader := tokens.Token{ID: newID(), Name: "reader", Role: "auditor", Hint: "idc_wxyz", CreatedAt: t0.Add(time.Hour)}
	insertToken(t, s, ci, tokens.Hash("secret-ci"))
	insertToken(t, s, reader, tokens.Hash("secret-reader"))

	for _, tc := range []struct {
		name string
		get  func() (tokens.Token, error)
		want *tokens.Token // nil: not found
	}{
		{"by hash", func() (tokens.Token, error) { return s.GetTokenByHash(ctx, tokens.Hash("secret-ci")) }, &ci},
		{"by hash, other token", func() (tokens.Token, error) { return s.GetTokenByHash(ctx, tokens.Hash("secret-reader")) }, &reader},
		{"by id", func() (tokens.Token, error) { return s.GetToken(ctx, ci.ID) }, &ci},
		{"by name", func() (tokens.Token, error) { return s.GetToken(ctx, "reader") }, &reader},
		{"unknown hash", func() (tokens.Token, error) { return s.GetTokenByHash(ctx, tokens.Hash("nope")) }, nil},
		{"the secret is not the hash", func() (tokens.Token, error) { return s.GetTokenByHash(ctx, "secret-ci") }, nil},
		{"unknown id", func() (tokens.Token, error) { return s.GetToken(ctx, newID()) }, nil},
		{"name is case-sensitive", func() (tokens.Token, error) { return s.GetToken(ctx, "CI") }, nil},
		{"within a transaction", func() (tok tokens.Token, err error) {
			err = s.WithTx(ctx, func(tx *sqlstore.Tx) error { tok, err = tx.GetToken(ctx, "ci"); return err })
			return tok, err
		}, &ci},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.get()
			if tc.want == nil {
				wantNotFound(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(*tc.want, got); d != "" {
				t.Errorf("token (-want +got):\n%s", d)
			}
		})
	}
	t.Run("list newest first", func(t *testing.T) {
		got, err := s.ListTokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := diff([]tokens.Token{reader, ci}, got); d != "" {
			t.Errorf("ListTokens (-want +got):\n%s", d)
		}
	})
}

func testTokenUnique(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	tok := tokens.Token{ID: newID(), Name: "deploy", Role: "admin", Hint: "idc_1234", CreatedAt: t0}
	insertToken(t, s, tok, tokens.Hash("s1"))
	for _, tc := range []struct {
		name string
		tok  tokens.Token
		hash string
		want errs.Conflict
	}{
		{"same name", tokens.Token{ID: newID(), Name: "deploy", Role: "auditor", CreatedAt: t0}, tokens.Hash("s2"),
			errs.Conflict{Kind: "token", Field: "name", Value: "deploy"}},
		{"same secret", tokens.Token{ID: newID(), Name: "deploy-2", Role: "auditor", CreatedAt: t0}, tokens.Hash("s1"),
			errs.Conflict{Kind: "token", Field: "secret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.WithTx(ctx, func(tx *sqlstore.Tx) error { return tx.InsertToken(ctx, tc.tok, tc.hash) })
			wantConflict(t, err, tc.want)
		})
	}
	got, err := s.ListTokens(ctx)
	if err != nil || len(got) != 1 {
		t.Errorf("tokens after conflicts = %d, %v; want 1", len(got), err)
	}
}

func testTokenRevoke(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	tok := tokens.Token{ID: newID(), Name: "to-revoke", Role: "admin", Hint: "idc_rrrr", CreatedAt: t0}
	insertToken(t, s, tok, tokens.Hash("revoke-me"))
	first, second := t0.Add(time.Hour), t0.Add(2*time.Hour)
	for _, tc := range []struct {
		name string
		id   string
		at   time.Time
		want bool
	}{
		{"first revocation", tok.ID, first, true},
		{"second revocation changes nothing", tok.ID, second, false},
		{"unknown token", newID(), second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var changed bool
			inTx(t, s, func(tx *sqlstore.Tx) error {
				var err error
				changed, err = tx.RevokeToken(ctx, tc.id, tc.at)
				return err
			})
			if changed != tc.want {
				t.Errorf("RevokeToken = %v, want %v", changed, tc.want)
			}
			got, err := s.GetTokenByHash(ctx, tokens.Hash("revoke-me"))
			if err != nil {
				t.Fatal(err)
			}
			if got.RevokedAt == nil || !got.RevokedAt.Equal(first) {
				t.Errorf("RevokedAt = %v, want %v (the first revocation)", got.RevokedAt, first)
			}
		})
	}
}

func testTokenTouch(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	tok := tokens.Token{ID: newID(), Name: "busy", Role: "admin", Hint: "idc_bbbb", CreatedAt: t0}
	idle := tokens.Token{ID: newID(), Name: "idle", Role: "admin", Hint: "idc_iiii", CreatedAt: t0}
	insertToken(t, s, tok, tokens.Hash("busy"))
	insertToken(t, s, idle, tokens.Hash("idle"))
	use := t0.Add(time.Hour)
	for _, tc := range []struct {
		name     string
		at       time.Time
		interval time.Duration
		want     time.Time
	}{
		{"first use is recorded", use, time.Minute, use},
		{"use within the interval is not", use.Add(30 * time.Second), time.Minute, use},
		{"use at the interval boundary is not", use.Add(time.Minute), time.Minute, use},
		{"use after the interval is", use.Add(61 * time.Second), time.Minute, use.Add(61 * time.Second)},
		{"an earlier time never moves it back", use, 0, use.Add(61 * time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.TouchToken(ctx, tok.ID, tc.at, tc.at.Add(-tc.interval)); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetToken(ctx, tok.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.LastUsedAt == nil || !got.LastUsedAt.Equal(tc.want) {
				t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, tc.want)
			}
		})
	}
	got, err := s.GetToken(ctx, idle.ID)
	if err != nil || got.LastUsedAt != nil {
		t.Errorf("untouched token LastUsedAt = %v, %v; want nil", got.LastUsedAt, err)
	}
	if err := s.TouchToken(ctx, newID(), use, use); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("TouchToken(unknown) = %v, want errs.ErrNotFound", err)
	}
}
