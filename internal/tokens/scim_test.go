package tokens_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
	"github.com/idcenter/idcenter/internal/tokens"
)

func invalidFields(t *testing.T, err error) []string {
	t.Helper()
	var v *errs.Invalid
	if !errors.As(err, &v) {
		t.Fatalf("error = %v, want *errs.Invalid", err)
	}
	var fields []string
	for _, p := range v.Problems {
		fields = append(fields, p.Field)
	}
	return fields
}

// TestSCIMTokenExpiry: one year by default, at most two, in the future.
func TestSCIMTokenExpiry(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc, clk := newService(s)
		ctx := context.Background()
		now := clk.Now()

		def, secret, err := svc.CreateSCIM(ctx, admin, tokens.SCIMRequest{Name: "  okta  "})
		if err != nil {
			t.Fatal(err)
		}
		if def.Name != "okta" || def.Role != audit.RoleSCIM || secret == "" || def.Hint != secret[:8] {
			t.Errorf("created %+v with secret %q", def, secret)
		}
		if want := now.Add(365 * 24 * time.Hour); def.ExpiresAt == nil || !def.ExpiresAt.Equal(want) {
			t.Errorf("default expiry = %v, want %v (one year)", def.ExpiresAt, want)
		}
		if stored, err := s.GetToken(ctx, def.ID); err != nil || stored.ExpiresAt == nil || !stored.ExpiresAt.Equal(*def.ExpiresAt) {
			t.Errorf("stored expiry = %v, %v; want %v", stored.ExpiresAt, err, def.ExpiresAt)
		}

		for _, tc := range []struct {
			name    string
			expires time.Time
			ok      bool
		}{
			{"90 days", now.Add(90 * 24 * time.Hour), true},
			{"exactly the maximum", now.Add(tokens.SCIMMaxLifetime), true},
			{"a second past the maximum", now.Add(tokens.SCIMMaxLifetime + time.Second), false},
			{"ten years", now.AddDate(10, 0, 0), false},
			{"now", now, false},
			{"in the past", now.Add(-time.Hour), false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				exp := tc.expires
				tok, secret, err := svc.CreateSCIM(ctx, admin, tokens.SCIMRequest{Name: "t-" + tc.name, ExpiresAt: &exp})
				if !tc.ok {
					if d := cmp.Diff([]string{"expiresAt"}, invalidFields(t, err)); d != "" || secret != "" {
						t.Errorf("fields (-want +got):\n%s", d)
					}
					return
				}
				if err != nil || tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(exp) {
					t.Errorf("CreateSCIM = %v, %v; want expiry %v", tok.ExpiresAt, err, exp)
				}
			})
		}
		if d := cmp.Diff([]string{"name"}, invalidFields(t, func() error {
			_, _, err := svc.CreateSCIM(ctx, admin, tokens.SCIMRequest{Name: " "})
			return err
		}())); d != "" {
			t.Errorf("blank name (-want +got):\n%s", d)
		}
		var cf *errs.Conflict
		if _, _, err := svc.CreateSCIM(ctx, admin, tokens.SCIMRequest{Name: "okta"}); !errors.As(err, &cf) || cf.Field != "name" {
			t.Errorf("duplicate name: %v, want a name conflict", err)
		}
	})
}

// TestSCIMTokensAreSeparate: the admin token path never creates a SCIM
// token, SCIM tokens authenticate with role scim, several work at once, and
// the SCIM revoke only touches SCIM tokens.
func TestSCIMTokensAreSeparate(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc, clk := newService(s)
		ctx := context.Background()

		_, secret, err := svc.Create(ctx, admin, tokens.CreateRequest{Name: "sneaky", Role: audit.RoleSCIM})
		if d := cmp.Diff([]string{"role"}, invalidFields(t, err)); d != "" || secret != "" {
			t.Errorf("Create(role scim) (-want +got):\n%s", d)
		}

		adm, admSecret, err := svc.Create(ctx, admin, tokens.CreateRequest{Name: "deploy", Role: audit.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		old, oldSecret, err := svc.CreateSCIM(ctx, admin, tokens.SCIMRequest{Name: "entra-old"})
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		next, nextSecret, err := svc.CreateSCIM(ctx, admin, tokens.SCIMRequest{Name: "entra-new"})
		if err != nil {
			t.Fatal(err)
		}

		// Both SCIM tokens authenticate at once (rotation without downtime).
		for _, tc := range []struct {
			secret string
			want   audit.Actor
		}{
			{oldSecret, audit.Actor{Type: audit.ActorToken, ID: old.ID, Name: "entra-old", Role: audit.RoleSCIM}},
			{nextSecret, audit.Actor{Type: audit.ActorToken, ID: next.ID, Name: "entra-new", Role: audit.RoleSCIM}},
			{admSecret, audit.Actor{Type: audit.ActorToken, ID: adm.ID, Name: "deploy", Role: audit.RoleAdmin}},
		} {
			got, err := svc.Authenticate(ctx, tc.secret)
			if err != nil || got != tc.want {
				t.Errorf("Authenticate = %+v, %v; want %+v", got, err, tc.want)
			}
		}
		// A SCIM actor holds no admin API role.
		scimActor, _ := svc.Authenticate(ctx, oldSecret)
		if err := audit.RequireRole(scimActor, audit.RoleAdmin, audit.RoleAuditor); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("RequireRole(scim actor, admin, auditor) = %v, want errs.ErrForbidden", err)
		}

		scimList, err := svc.ListSCIM(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		// Authentication recorded the last use of each.
		used := clk.Now()
		next.LastUsedAt, old.LastUsedAt = &used, &used
		if d := cmp.Diff([]tokens.Token{next, old}, scimList); d != "" {
			t.Errorf("ListSCIM, newest first (-want +got):\n%s", d)
		}
		if all, err := svc.List(ctx, admin); err != nil || len(all) != 3 {
			t.Errorf("List = %d tokens, %v; want all 3", len(all), err)
		}

		// The SCIM revoke does not reach the admin token, by id or name.
		for _, key := range []string{adm.ID, "deploy"} {
			if _, err := svc.RevokeSCIM(ctx, admin, key); !errors.Is(err, errs.ErrNotFound) {
				t.Errorf("RevokeSCIM(%s) = %v, want errs.ErrNotFound", key, err)
			}
		}
		if _, err := svc.Authenticate(ctx, admSecret); err != nil {
			t.Errorf("admin token after RevokeSCIM attempts: %v", err)
		}

		// Rotation: revoking the old token leaves the new one working.
		before := len(events(t, s))
		got, err := svc.RevokeSCIM(ctx, admin, "entra-old")
		if err != nil || got.RevokedAt == nil || got.ID != old.ID {
			t.Fatalf("RevokeSCIM = %+v, %v", got, err)
		}
		if _, err := svc.Authenticate(ctx, oldSecret); !errors.Is(err, errs.ErrUnauthenticated) {
			t.Errorf("revoked SCIM token: %v", err)
		}
		if _, err := svc.Authenticate(ctx, nextSecret); err != nil {
			t.Errorf("the other SCIM token after the rotation: %v", err)
		}
		evs := events(t, s)
		if len(evs)-before != 1 || evs[0].Action != "token.revoke" || evs[0].TargetName != "entra-old" {
			t.Errorf("revocation events: %d, newest %+v", len(evs)-before, evs[0])
		}
		// The generic revoke ends SCIM tokens too.
		if _, err := svc.Revoke(ctx, admin, next.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, nextSecret); !errors.Is(err, errs.ErrUnauthenticated) {
			t.Errorf("SCIM token after Revoke: %v", err)
		}

		// Expiry ends a SCIM token like any other.
		exp := clk.Now().Add(time.Hour)
		_, shortSecret, err := svc.CreateSCIM(ctx, admin, tokens.SCIMRequest{Name: "short", ExpiresAt: &exp})
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
		if _, err := svc.Authenticate(ctx, shortSecret); !errors.Is(err, errs.ErrUnauthenticated) {
			t.Errorf("expired SCIM token: %v", err)
		}

		// The creation event names the role and the expiry, never the secret.
		for _, e := range events(t, s) {
			if e.Action == "token.create" && e.TargetName == "entra-new" {
				if e.Summary["role"] != audit.RoleSCIM || e.Summary["expiresAt"] == nil {
					t.Errorf("token.create summary = %v", e.Summary)
				}
				if strings.Contains(fmt.Sprint(e.Summary), nextSecret[len(tokens.Prefix):]) {
					t.Error("token.create event holds the secret")
				}
			}
		}
	})
}

// TestSCIMTokenRoles: only administrators manage SCIM tokens; a SCIM token
// cannot manage tokens either.
func TestSCIMTokenRoles(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc, _ := newService(s)
		ctx := context.Background()
		tok, _, err := svc.CreateSCIM(ctx, admin, tokens.SCIMRequest{Name: "target"})
		if err != nil {
			t.Fatal(err)
		}
		scim := audit.Actor{Type: audit.ActorToken, ID: tok.ID, Name: "target", Role: audit.RoleSCIM}
		before := len(events(t, s))
		for _, actor := range []audit.Actor{auditor, member, scim} {
			for _, op := range []struct {
				name string
				do   func() error
			}{
				{"CreateSCIM", func() error { _, _, err := svc.CreateSCIM(ctx, actor, tokens.SCIMRequest{Name: "more"}); return err }},
				{"ListSCIM", func() error { _, err := svc.ListSCIM(ctx, actor); return err }},
				{"RevokeSCIM", func() error { _, err := svc.RevokeSCIM(ctx, actor, tok.ID); return err }},
				{"Create", func() error {
					_, _, err := svc.Create(ctx, actor, tokens.CreateRequest{Name: "escalate", Role: audit.RoleAdmin})
					return err
				}},
			} {
				t.Run(actor.Name+"/"+op.name, func(t *testing.T) {
					if err := op.do(); !errors.Is(err, errs.ErrForbidden) {
						t.Errorf("error = %v, want errs.ErrForbidden", err)
					}
				})
			}
		}
		if n := len(events(t, s)) - before; n != 0 {
			t.Errorf("forbidden calls wrote %d audit events", n)
		}
	})
}

func TestExpiringSoon(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	day := 24 * time.Hour
	for _, tc := range []struct {
		name string
		tok  tokens.Token
		want bool
	}{
		{"never expires", tokens.Token{}, false},
		{"in a year", tokens.Token{ExpiresAt: at(365 * day)}, false},
		{"in 31 days", tokens.Token{ExpiresAt: at(31 * day)}, false},
		{"in exactly 30 days", tokens.Token{ExpiresAt: at(30 * day)}, true},
		{"in 29 days", tokens.Token{ExpiresAt: at(29 * day)}, true},
		{"in a minute", tokens.Token{ExpiresAt: at(time.Minute)}, true},
		{"expires now", tokens.Token{ExpiresAt: at(0)}, false},
		{"expired", tokens.Token{ExpiresAt: at(-day)}, false},
		{"revoked, expiring in 10 days", tokens.Token{ExpiresAt: at(10 * day), RevokedAt: at(-time.Hour)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tokens.ExpiringSoon(tc.tok, now); got != tc.want {
				t.Errorf("ExpiringSoon = %v, want %v", got, tc.want)
			}
		})
	}
}
