package tokens_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
	"github.com/idcenter/idcenter/internal/tokens"
)

var (
	admin   = audit.Actor{Type: audit.ActorUser, ID: "actor-admin", Name: "root", Role: audit.RoleAdmin}
	auditor = audit.Actor{Type: audit.ActorUser, ID: "actor-auditor", Name: "watcher", Role: audit.RoleAuditor}
	member  = audit.Actor{Type: audit.ActorUser, ID: "actor-member", Name: "pat"}
)

// clock is a settable time source for Service.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newService(s *sqlstore.Store) (*tokens.Service, *clock) {
	c := &clock{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	return &tokens.Service{Store: s, Now: c.Now}, c
}

func ptr(t time.Time) *time.Time { return &t }

func events(t testing.TB, s *sqlstore.Store) []audit.Event {
	t.Helper()
	evs, _, err := s.ListAudit(context.Background(), audit.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return evs // newest first
}

func TestAuthenticate(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc, clk := newService(s)
		ctx := context.Background()
		create := func(name, role string, expires *time.Time) (tokens.Token, string) {
			tok, secret, err := svc.Create(ctx, admin, tokens.CreateRequest{Name: name, Role: role, ExpiresAt: expires})
			if err != nil {
				t.Fatalf("Create(%s): %v", name, err)
			}
			return tok, secret
		}
		fresh, freshSecret := create("fresh", audit.RoleAdmin, nil)
		reader, readerSecret := create("reader", audit.RoleAuditor, nil)
		revoked, revokedSecret := create("revoked", audit.RoleAdmin, nil)
		if _, err := svc.Revoke(ctx, admin, revoked.ID); err != nil {
			t.Fatal(err)
		}
		_, expiringSecret := create("expiring", audit.RoleAdmin, ptr(clk.Now().Add(time.Hour)))
		_, ownSecret, err := svc.Create(ctx, admin, tokens.CreateRequest{Name: "bootstrap", Role: audit.RoleAdmin, Secret: "operator-chosen-secret-0123456789"})
		if err != nil || ownSecret != "operator-chosen-secret-0123456789" {
			t.Fatalf("Create with an operator secret = %q, %v", ownSecret, err)
		}

		flipped := []byte(freshSecret)
		flipped[len(flipped)-1] ^= 1
		for _, tc := range []struct {
			name    string
			advance time.Duration // moves the clock before authenticating
			secret  string
			want    *audit.Actor // nil: errs.ErrUnauthenticated
		}{
			{"fresh admin token", 0, freshSecret, &audit.Actor{Type: audit.ActorToken, ID: fresh.ID, Name: "fresh", Role: audit.RoleAdmin}},
			{"fresh auditor token", 0, readerSecret, &audit.Actor{Type: audit.ActorToken, ID: reader.ID, Name: "reader", Role: audit.RoleAuditor}},
			{"operator-chosen secret", 0, ownSecret, &audit.Actor{Type: audit.ActorToken, Name: "bootstrap", Role: audit.RoleAdmin}},
			{"expiring token before expiry", 59 * time.Minute, expiringSecret, &audit.Actor{Type: audit.ActorToken, Name: "expiring", Role: audit.RoleAdmin}},
			{"revoked", 0, revokedSecret, nil},
			{"expired at the instant", time.Minute, expiringSecret, nil},
			{"expired", time.Hour, expiringSecret, nil},
			{"fresh token later", 0, freshSecret, &audit.Actor{Type: audit.ActorToken, ID: fresh.ID, Name: "fresh", Role: audit.RoleAdmin}},
			{"unknown", 0, tokens.NewSecret(), nil},
			{"one bit off", 0, string(flipped), nil},
			{"empty", 0, "", nil},
			{"prefix only", 0, tokens.Prefix, nil},
			{"garbage", 0, "garbage", nil},
			{"garbage with the prefix", 0, tokens.Prefix + "!!!!'; DROP TABLE api_tokens;--", nil},
			{"the stored hash", 0, tokens.Hash(freshSecret), nil},
			{"the hint", 0, fresh.Hint, nil},
			{"surrounded by spaces", 0, " " + freshSecret + " ", nil},
			{"too long", 0, freshSecret + strings.Repeat("x", 300), nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				clk.Advance(tc.advance)
				got, err := svc.Authenticate(ctx, tc.secret)
				if tc.want == nil {
					if !errors.Is(err, errs.ErrUnauthenticated) {
						t.Errorf("Authenticate = %+v, %v; want errs.ErrUnauthenticated", got, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if d := cmp.Diff(*tc.want, got, cmpopts.IgnoreFields(audit.Actor{}, "ID")); d != "" {
					t.Errorf("actor (-want +got):\n%s", d)
				}
				if got.ID == "" || tc.want.ID != "" && got.ID != tc.want.ID {
					t.Errorf("actor id = %q, want %q", got.ID, tc.want.ID)
				}
			})
		}
		// The clock has moved past the expiry; the expiring token stays dead.
		if _, err := svc.Authenticate(ctx, expiringSecret); !errors.Is(err, errs.ErrUnauthenticated) {
			t.Errorf("expired token authenticated later: %v", err)
		}
	})
}

// TestLastUsed: authentication records use at most once a minute.
func TestLastUsed(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc, clk := newService(s)
		ctx := context.Background()
		tok, secret, err := svc.Create(ctx, admin, tokens.CreateRequest{Name: "used", Role: audit.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		start := clk.Now()
		for _, st := range []struct {
			name    string
			advance time.Duration
			want    time.Time
		}{
			{"first use", 0, start},
			{"30 s later", 30 * time.Second, start},
			{"60 s later", 30 * time.Second, start},
			{"61 s later", time.Second, start.Add(61 * time.Second)},
			{"10 min later", 10 * time.Minute, start.Add(661 * time.Second)},
		} {
			t.Run(st.name, func(t *testing.T) {
				clk.Advance(st.advance)
				if _, err := svc.Authenticate(ctx, secret); err != nil {
					t.Fatal(err)
				}
				got, err := s.GetToken(ctx, tok.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.LastUsedAt == nil || !got.LastUsedAt.Equal(st.want) {
					t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, st.want)
				}
			})
		}
	})
}

// TestSecretNotStored: the database holds the secret's hash, never the
// secret; neither the token row nor the audit trail contains it.
func TestSecretNotStored(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc, _ := newService(s)
		ctx := context.Background()
		tok, secret, err := svc.Create(ctx, admin, tokens.CreateRequest{Name: "secretive", Role: audit.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, tokens.Prefix) || len(secret) < 40 {
			t.Errorf("secret %q: want %q and at least 40 characters", secret, tokens.Prefix)
		}
		if tok.Hint != secret[:8] {
			t.Errorf("hint = %q, want the first 8 characters of the secret", tok.Hint)
		}
		var hash string
		if err := s.DB().QueryRowContext(ctx, `SELECT hash FROM api_tokens WHERE id = $1`, tok.ID).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		if hash == secret || strings.Contains(hash, secret[len(tokens.Prefix):]) || hash != tokens.Hash(secret) {
			t.Errorf("stored hash %q: want SHA-256 of the secret, not the secret", hash)
		}
		// Grep every table for the secret, and for its random part.
		for _, table := range tables(t, s) {
			for _, cell := range dump(t, s, table) {
				if strings.Contains(cell, secret[len(tokens.Prefix):]) {
					t.Errorf("table %s holds the secret: %q", table, cell)
				}
			}
		}
	})
}

// tables lists the store's tables.
func tables(t *testing.T, s *sqlstore.Store) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if s.Dialect().Name == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	rows, err := s.DB().QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		out = append(out, name)
	}
	if len(out) < 5 {
		t.Fatalf("found only tables %v", out)
	}
	return out
}

// dump returns every cell of table as text.
func dump(t *testing.T, s *sqlstore.Store, table string) []string {
	t.Helper()
	rows, err := s.DB().QueryContext(context.Background(), `SELECT * FROM `+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		cells := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range cells {
			ptrs[i] = &cells[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		for _, c := range cells {
			out = append(out, c.String)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCreateValidation(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc, clk := newService(s)
		ctx := context.Background()
		if _, _, err := svc.Create(ctx, admin, tokens.CreateRequest{Name: "taken", Role: audit.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		before := len(events(t, s))
		for _, tc := range []struct {
			name string
			req  tokens.CreateRequest
			want []string // invalid fields; nil: a name conflict
		}{
			{"empty name", tokens.CreateRequest{Role: audit.RoleAdmin}, []string{"name"}},
			{"blank name", tokens.CreateRequest{Name: "   ", Role: audit.RoleAdmin}, []string{"name"}},
			{"name too long", tokens.CreateRequest{Name: strings.Repeat("n", 65), Role: audit.RoleAdmin}, []string{"name"}},
			{"no role", tokens.CreateRequest{Name: "r1"}, []string{"role"}},
			{"unknown role", tokens.CreateRequest{Name: "r2", Role: "root"}, []string{"role"}},
			{"expiry in the past", tokens.CreateRequest{Name: "e1", Role: audit.RoleAdmin, ExpiresAt: ptr(clk.Now().Add(-time.Second))}, []string{"expiresAt"}},
			{"expiry now", tokens.CreateRequest{Name: "e2", Role: audit.RoleAdmin, ExpiresAt: ptr(clk.Now())}, []string{"expiresAt"}},
			{"short secret", tokens.CreateRequest{Name: "s1", Role: audit.RoleAdmin, Secret: "too-short"}, []string{"secret"}},
			{"everything", tokens.CreateRequest{Role: "x", Secret: "x"}, []string{"name", "role", "secret"}},
			{"duplicate name", tokens.CreateRequest{Name: "taken", Role: audit.RoleAuditor}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tok, secret, err := svc.Create(ctx, admin, tc.req)
				if secret != "" || tok.ID != "" {
					t.Errorf("failed Create returned token %q and a secret", tok.ID)
				}
				if tc.want == nil {
					var c *errs.Conflict
					if !errors.As(err, &c) || c.Kind != "token" || c.Field != "name" {
						t.Errorf("error = %v, want a token name conflict", err)
					}
					return
				}
				var v *errs.Invalid
				if !errors.As(err, &v) {
					t.Fatalf("error = %v, want *errs.Invalid", err)
				}
				var fields []string
				for _, p := range v.Problems {
					fields = append(fields, p.Field)
				}
				if d := cmp.Diff(tc.want, fields); d != "" {
					t.Errorf("fields (-want +got):\n%s", d)
				}
			})
		}
		if n := len(events(t, s)) - before; n != 0 {
			t.Errorf("failed creates wrote %d audit events", n)
		}
		if list, err := s.ListTokens(ctx); err != nil || len(list) != 1 {
			t.Errorf("tokens = %d, %v; want 1", len(list), err)
		}
	})
}

func TestRoles(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc, _ := newService(s)
		ctx := context.Background()
		tok, _, err := svc.Create(ctx, admin, tokens.CreateRequest{Name: "target", Role: audit.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		before := len(events(t, s))
		for _, actor := range []audit.Actor{auditor, member, {Type: audit.ActorToken, ID: "x", Name: "roleless"}} {
			for _, op := range []struct {
				name string
				do   func() error
			}{
				{"Create", func() error {
					_, _, err := svc.Create(ctx, actor, tokens.CreateRequest{Name: "escalate", Role: audit.RoleAdmin})
					return err
				}},
				{"List", func() error { _, err := svc.List(ctx, actor); return err }},
				{"Revoke", func() error { _, err := svc.Revoke(ctx, actor, tok.ID); return err }},
			} {
				t.Run(fmt.Sprintf("%s/%s", actor.Name, op.name), func(t *testing.T) {
					if err := op.do(); !errors.Is(err, errs.ErrForbidden) {
						t.Errorf("error = %v, want errs.ErrForbidden", err)
					}
				})
			}
		}
		got, err := s.GetToken(ctx, tok.ID)
		if err != nil || got.RevokedAt != nil {
			t.Errorf("token after forbidden calls: revoked %v, %v", got.RevokedAt, err)
		}
		if n := len(events(t, s)) - before; n != 0 {
			t.Errorf("forbidden calls wrote %d audit events", n)
		}
	})
}

func TestCreateListRevokeAudited(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc, clk := newService(s)
		ctx := audit.WithRequest(context.Background(), audit.RequestInfo{RequestID: "req-7", ClientIP: "203.0.113.5"})
		exp := clk.Now().Add(24 * time.Hour)
		first, secret, err := svc.Create(ctx, admin, tokens.CreateRequest{Name: "  deploy  ", Role: audit.RoleAdmin, ExpiresAt: &exp})
		if err != nil {
			t.Fatal(err)
		}
		want := tokens.Token{
			ID: first.ID, Name: "deploy", Role: audit.RoleAdmin, Hint: secret[:8],
			CreatedAt: clk.Now(), CreatedBy: "root", ExpiresAt: &exp,
		}
		if d := cmp.Diff(want, first); d != "" {
			t.Errorf("created token (-want +got):\n%s", d)
		}
		clk.Advance(time.Minute)
		second, _, err := svc.Create(ctx, admin, tokens.CreateRequest{Name: "audit-reader", Role: audit.RoleAuditor})
		if err != nil {
			t.Fatal(err)
		}
		list, err := svc.List(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]tokens.Token{second, first}, list); d != "" {
			t.Errorf("List, newest first (-want +got):\n%s", d)
		}

		clk.Advance(time.Minute)
		revokedAt := clk.Now()
		for i, key := range []string{"deploy", first.ID} { // by name, then by id: the second changes nothing
			clk.Advance(time.Minute)
			got, err := svc.Revoke(ctx, admin, key)
			if err != nil {
				t.Fatalf("Revoke(%s): %v", key, err)
			}
			wantAt := revokedAt.Add(time.Minute)
			if got.RevokedAt == nil || !got.RevokedAt.Equal(wantAt) {
				t.Errorf("revocation %d: RevokedAt = %v, want %v", i+1, got.RevokedAt, wantAt)
			}
		}
		if _, err := svc.Revoke(ctx, admin, "no-such-token"); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("Revoke(unknown) = %v, want errs.ErrNotFound", err)
		}

		evs := events(t, s)
		type row struct{ Action, Target, Actor, RequestID, ClientIP string }
		var got []row
		for _, e := range evs {
			got = append(got, row{e.Action, e.TargetID + "/" + e.TargetName, e.Actor.Name, e.RequestID, e.ClientIP})
			if strings.Contains(fmt.Sprint(e.Summary), secret[len(tokens.Prefix):]) {
				t.Errorf("event %s summary holds the secret", e.Action)
			}
		}
		wantRows := []row{
			{"token.revoke", first.ID + "/deploy", "root", "req-7", "203.0.113.5"},
			{"token.create", second.ID + "/audit-reader", "root", "req-7", "203.0.113.5"},
			{"token.create", first.ID + "/deploy", "root", "req-7", "203.0.113.5"},
		}
		if d := cmp.Diff(wantRows, got); d != "" {
			t.Errorf("audit events, newest first (-want +got):\n%s", d)
		}
		if role := evs[2].Summary["role"]; role != audit.RoleAdmin {
			t.Errorf("token.create summary role = %v, want admin", role)
		}
	})
}
