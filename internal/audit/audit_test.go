package audit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

func TestRequireRole(t *testing.T) {
	for _, tc := range []struct {
		name  string
		actor audit.Actor
		roles []string
		want  error
	}{
		{"admin for admin", audit.Actor{Type: audit.ActorUser, Role: audit.RoleAdmin}, []string{audit.RoleAdmin}, nil},
		{"auditor for admin or auditor", audit.Actor{Type: audit.ActorToken, Role: audit.RoleAuditor}, []string{audit.RoleAdmin, audit.RoleAuditor}, nil},
		{"auditor for admin", audit.Actor{Type: audit.ActorUser, Role: audit.RoleAuditor}, []string{audit.RoleAdmin}, errs.ErrForbidden},
		{"no role", audit.Actor{Type: audit.ActorUser}, []string{audit.RoleAdmin, audit.RoleAuditor}, errs.ErrForbidden},
		{"empty role list", audit.Actor{Type: audit.ActorUser, Role: audit.RoleAdmin}, nil, errs.ErrForbidden},
		{"role in another case", audit.Actor{Type: audit.ActorUser, Role: "Admin"}, []string{audit.RoleAdmin}, errs.ErrForbidden},
		{"a user named system is not the system", audit.Actor{Type: audit.ActorUser, Name: "idcenter"}, []string{audit.RoleAdmin}, errs.ErrForbidden},
		{"system holds every role", audit.System, []string{audit.RoleAdmin}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := audit.RequireRole(tc.actor, tc.roles...); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("RequireRole = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewRecordsRequest(t *testing.T) {
	actor := audit.Actor{Type: audit.ActorUser, ID: "u-1", Name: "root", Role: audit.RoleAdmin}
	ctx := audit.WithRequest(context.Background(), audit.RequestInfo{RequestID: "req-1", ClientIP: "192.0.2.1"})
	got := audit.New(ctx, actor, "user.create", "user", "u-2", "alice", map[string]any{"k": "v"})
	want := audit.Event{
		Actor: actor, Action: "user.create", TargetType: "user", TargetID: "u-2", TargetName: "alice",
		Summary: map[string]any{"k": "v"}, RequestID: "req-1", ClientIP: "192.0.2.1",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("event (-want +got):\n%s", d)
	}
	if ri := audit.RequestFrom(context.Background()); ri != (audit.RequestInfo{}) {
		t.Errorf("RequestFrom(empty context) = %+v", ri)
	}
}

// TestServiceList: admins and auditors read the trail through the service;
// others may not, and the page size is bounded.
func TestServiceList(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		const total = 150
		base := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		if err := s.WithTx(ctx, func(tx *sqlstore.Tx) error {
			for i := range total {
				ev := audit.New(ctx, audit.System, "user.create", "user", fmt.Sprintf("u-%d", i), "", nil)
				ev.Time = base.Add(time.Duration(i) * time.Second)
				if err := tx.AppendAudit(ctx, ev); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		svc := &audit.Service{Store: s}
		for _, tc := range []struct {
			name     string
			actor    audit.Actor
			limit    int
			wantN    int
			wantNext bool
			wantErr  error
		}{
			{"admin, default page", audit.Actor{Type: audit.ActorUser, Role: audit.RoleAdmin}, 0, 100, true, nil},
			{"auditor, small page", audit.Actor{Type: audit.ActorToken, Role: audit.RoleAuditor}, 7, 7, true, nil},
			{"negative limit", audit.Actor{Type: audit.ActorUser, Role: audit.RoleAdmin}, -1, 100, true, nil},
			{"limit above the maximum", audit.Actor{Type: audit.ActorUser, Role: audit.RoleAdmin}, 5000, 100, true, nil},
			{"limit covering everything", audit.Actor{Type: audit.ActorUser, Role: audit.RoleAdmin}, 1000, total, false, nil},
			{"user without a role", audit.Actor{Type: audit.ActorUser, Name: "pat"}, 10, 0, false, errs.ErrForbidden},
			{"token without a role", audit.Actor{Type: audit.ActorToken, Name: "stray"}, 10, 0, false, errs.ErrForbidden},
		} {
			t.Run(tc.name, func(t *testing.T) {
				evs, next, err := svc.List(ctx, tc.actor, audit.Filter{Limit: tc.limit})
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) || len(evs) != 0 {
						t.Errorf("List = %d events, %v; want none, %v", len(evs), err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) != tc.wantN || (next != "") != tc.wantNext {
					t.Errorf("List = %d events, next %q; want %d, next %v", len(evs), next, tc.wantN, tc.wantNext)
				}
				if len(evs) > 0 && evs[0].TargetID != fmt.Sprintf("u-%d", total-1) {
					t.Errorf("first event targets %s, want the newest (u-%d)", evs[0].TargetID, total-1)
				}
			})
		}
	})
}
