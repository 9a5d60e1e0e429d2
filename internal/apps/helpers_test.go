package apps_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/keys"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
)

var (
	admin   = audit.Actor{Type: audit.ActorUser, ID: "actor-admin", Name: "root", Role: directory.RoleAdmin}
	auditor = audit.Actor{Type: audit.ActorUser, ID: "actor-auditor", Name: "watcher", Role: directory.RoleAuditor}
	member  = audit.Actor{Type: audit.ActorUser, ID: "actor-member", Name: "pat"}
)

// Key generation dominates test time; tests draw from a small pool of keys
// generated once (each certificate is still new: serial, validity, CN).
var (
	keyPoolOnce sync.Once
	keyPool     map[int][]*rsa.PrivateKey
	keyPoolMu   sync.Mutex
	keyPoolNext int
)

func pooledKey(bits int) (*rsa.PrivateKey, error) {
	keyPoolOnce.Do(func() {
		keyPool = map[int][]*rsa.PrivateKey{}
		for _, b := range []int{2048, 2048, 2048, 3072} {
			k, err := rsa.GenerateKey(rand.Reader, b)
			if err != nil {
				panic(err)
			}
			keyPool[b] = append(keyPool[b], k)
		}
	})
	keyPoolMu.Lock()
	defer keyPoolMu.Unlock()
	ks := keyPool[bits]
	keyPoolNext++
	return ks[keyPoolNext%len(ks)], nil
}

func testKeyring(t testing.TB) *keys.Keyring {
	t.Helper()
	k, err := keys.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type fixture struct {
	store *sqlstore.Store
	svc   *apps.Service
	dir   *directory.Service
}

func newFixture(t testing.TB, s *sqlstore.Store) fixture {
	return fixture{
		store: s,
		svc:   &apps.Service{Store: s.Apps(), Keys: testKeyring(t), GenerateKey: pooledKey},
		dir:   &directory.Service{Store: s.Directory()},
	}
}

func (f fixture) user(t testing.TB, name string, email string) directory.User {
	t.Helper()
	u := directory.User{UserName: name, Active: true, Name: directory.Name{GivenName: "Given" + name, FamilyName: "Family" + name}}
	if email != "" {
		u.Emails = []directory.MultiValue{{Value: email}}
	}
	out, err := f.dir.CreateUser(context.Background(), admin, u)
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return out
}

func (f fixture) group(t testing.TB, name string, members ...string) directory.Group {
	t.Helper()
	g, err := f.dir.CreateGroup(context.Background(), admin, directory.Group{DisplayName: name}, members)
	if err != nil {
		t.Fatalf("CreateGroup(%q): %v", name, err)
	}
	return g
}

// custom returns a valid hand-made application request.
func custom(name, entityID string) apps.CreateRequest {
	return apps.CreateRequest{Application: apps.Application{
		DisplayName: name, EntityID: entityID, Enabled: true,
		ACS: []apps.ACS{{URL: "https://sp.example.com/saml/acs"}},
	}}
}

func (f fixture) app(t testing.TB, req apps.CreateRequest) apps.Application {
	t.Helper()
	a, err := f.svc.Create(context.Background(), admin, req)
	if err != nil {
		t.Fatalf("Create(%q): %v", req.DisplayName, err)
	}
	return a
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

func actionsOf(evs []audit.Event, prefix string) []string {
	var out []string
	for _, e := range evs {
		if len(e.Action) >= len(prefix) && e.Action[:len(prefix)] == prefix {
			out = append(out, e.Action)
		}
	}
	return out
}

func diff(want, got any, opts ...cmp.Option) string {
	return cmp.Diff(want, got, append(opts, cmpopts.EquateEmpty())...)
}

// invalidFields returns the sorted, de-duplicated fields of an *errs.Invalid.
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

// reason returns the reason given for field in an *errs.Invalid.
func reason(err error, field string) string {
	var v *errs.Invalid
	if errors.As(err, &v) {
		for _, p := range v.Problems {
			if p.Field == field {
				return p.Reason
			}
		}
	}
	return ""
}
