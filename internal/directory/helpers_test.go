package directory_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
)

// fakeHasher stands in for the argon2id hasher: a short password fails the
// policy, anything else gets a recognisable, non-reversible "hash".
type fakeHasher struct{}

func (fakeHasher) Hash(password string) (string, error) {
	if len(password) < 8 {
		return "", errs.Invalidf("password", "must be at least 8 characters")
	}
	sum := sha256.Sum256([]byte(password))
	return "fake$" + hex.EncodeToString(sum[:]), nil
}

var (
	admin      = audit.Actor{Type: audit.ActorUser, ID: "actor-admin", Name: "root", Role: directory.RoleAdmin}
	tokenAdmin = audit.Actor{Type: audit.ActorToken, ID: "actor-token", Name: "ci", Role: directory.RoleAdmin}
	auditor    = audit.Actor{Type: audit.ActorUser, ID: "actor-auditor", Name: "watcher", Role: directory.RoleAuditor}
	member     = audit.Actor{Type: audit.ActorUser, ID: "actor-member", Name: "pat"}
	roleless   = audit.Actor{Type: audit.ActorToken, ID: "actor-roleless", Name: "stray"}
)

func newService(s *sqlstore.Store) *directory.Service {
	return &directory.Service{Store: s.Directory(), Hasher: fakeHasher{}}
}

// diff compares with go-cmp; nil and empty slices are equal.
func diff(want, got any, opts ...cmp.Option) string {
	return cmp.Diff(want, got, append(opts, cmpopts.EquateEmpty())...)
}

func mustCreateUser(t testing.TB, svc *directory.Service, u directory.User) directory.User {
	t.Helper()
	out, err := svc.CreateUser(context.Background(), admin, u)
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", u.UserName, err)
	}
	return out
}

func mustCreateGroup(t testing.TB, svc *directory.Service, name string, members ...string) directory.Group {
	t.Helper()
	g, err := svc.CreateGroup(context.Background(), admin, directory.Group{DisplayName: name}, members)
	if err != nil {
		t.Fatalf("CreateGroup(%q): %v", name, err)
	}
	return g
}

// events returns every audit event, oldest first.
func events(t testing.TB, s *sqlstore.Store) []audit.Event {
	t.Helper()
	var out []audit.Event
	f := audit.Filter{Limit: 1000}
	for {
		page, next, err := s.ListAudit(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if next == "" {
			break
		}
		f.Cursor = next
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func actions(evs []audit.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Action)
	}
	return out
}

// invalidFields returns the sorted, de-duplicated fields of an *errs.Invalid,
// or nil when err is not one.
func invalidFields(err error) []string {
	var v *errs.Invalid
	if !errors.As(err, &v) {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range v.Problems {
		if !seen[p.Field] {
			seen[p.Field] = true
			out = append(out, p.Field)
		}
	}
	sort.Strings(out)
	return out
}

func wantFields(t testing.TB, err error, want ...string) {
	t.Helper()
	sort.Strings(want)
	if d := diff(want, invalidFields(err)); d != "" {
		t.Errorf("error %v: invalid fields (-want +got):\n%s", err, d)
	}
}

func wantStale(t testing.TB, err error, kind string) {
	t.Helper()
	var c *errs.Conflict
	if !errors.As(err, &c) {
		t.Fatalf("error = %v, want a stale *errs.Conflict", err)
	}
	if d := diff(errs.Conflict{Kind: kind, Stale: true}, *c); d != "" {
		t.Errorf("conflict (-want +got):\n%s", d)
	}
}

func userCount(t testing.TB, s *sqlstore.Store) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
