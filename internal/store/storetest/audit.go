package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
)

var (
	root   = audit.Actor{Type: audit.ActorUser, ID: "u-root", Name: "root"}
	ci     = audit.Actor{Type: audit.ActorToken, ID: "t-ci", Name: "ci"}
	system = audit.System
)

// auditFixture appends ten events, one minute apart, oldest first.
func auditFixture(t *testing.T, s *sqlstore.Store) []audit.Event {
	t.Helper()
	specs := []struct {
		actor                    audit.Actor
		action, ttype, tid, name string
	}{
		{root, "user.create", "user", "u-1", "alice"},
		{root, "user.update", "user", "u-1", "alice"},
		{ci, "group.create", "group", "g-1", "eng"},
		{ci, "group.member.add", "group", "g-1", "eng"},
		{system, "user.password.set", "user", "u-2", "bob"},
		{root, "user.disable", "user", "u-2", "bob"},
		{ci, "token.create", "token", "t-9", "deploy"},
		{root, "users.export", "", "", ""},
		{root, "user.delete", "user", "u-1", "alice"},
		{ci, "group.member.remove", "group", "g-1", "eng"},
	}
	var evs []audit.Event
	for i, sp := range specs {
		ev := audit.Event{
			ID: newID(), Time: t0.Add(time.Duration(i) * time.Minute), Actor: sp.actor, Action: sp.action,
			TargetType: sp.ttype, TargetID: sp.tid, TargetName: sp.name,
			RequestID: fmt.Sprintf("req-%d", i), ClientIP: "192.0.2.7",
		}
		if i%2 == 0 {
			ev.Summary = map[string]any{"displayName": map[string]any{"from": "old", "to": "new"}, "note": "ünïcode ✓"}
		}
		evs = append(evs, ev)
	}
	inTx(t, s, func(tx *sqlstore.Tx) error {
		for _, ev := range evs {
			if err := tx.AppendAudit(context.Background(), ev); err != nil {
				return err
			}
		}
		return nil
	})
	// The store reads actors without their role.
	for i := range evs {
		evs[i].Actor.Role = ""
	}
	return evs
}

// pick returns evs[i] for each index, in the given order.
func pick(evs []audit.Event, idx ...int) []audit.Event {
	out := []audit.Event{}
	for _, i := range idx {
		out = append(out, evs[i])
	}
	return out
}

func testAuditFilters(t *testing.T, s *sqlstore.Store) {
	evs := auditFixture(t, s)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	for _, tc := range []struct {
		name   string
		filter audit.Filter
		want   []int // newest first
	}{
		{"everything", audit.Filter{}, []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		{"since is inclusive", audit.Filter{Since: at(7)}, []int{9, 8, 7}},
		{"until is exclusive", audit.Filter{Until: at(3)}, []int{2, 1, 0}},
		{"since and until", audit.Filter{Since: at(2), Until: at(5)}, []int{4, 3, 2}},
		{"between two events", audit.Filter{Since: at(2).Add(time.Second), Until: at(3)}, nil},
		{"actor id", audit.Filter{ActorID: "t-ci"}, []int{9, 6, 3, 2}},
		{"actor name", audit.Filter{ActorID: "root"}, []int{8, 7, 5, 1, 0}},
		{"system actor by name", audit.Filter{ActorID: "idcenter"}, []int{4}},
		{"unknown actor", audit.Filter{ActorID: "nobody"}, nil},
		{"exact action", audit.Filter{Action: "user.create"}, []int{0}},
		{"exact action is not a prefix", audit.Filter{Action: "user"}, nil},
		{"prefix with dot", audit.Filter{Action: "user."}, []int{8, 5, 4, 1, 0}},
		{"prefix with star", audit.Filter{Action: "user.*"}, []int{8, 5, 4, 1, 0}},
		{"nested prefix", audit.Filter{Action: "group.member.*"}, []int{9, 3}},
		{"prefix without dot", audit.Filter{Action: "users.*"}, []int{7}},
		{"prefix underscore is literal", audit.Filter{Action: "user_*"}, nil},
		{"target id", audit.Filter{Target: "u-1"}, []int{8, 1, 0}},
		{"target name", audit.Filter{Target: "bob"}, []int{5, 4}},
		{"unknown target", audit.Filter{Target: "carol"}, nil},
		{"everything combined", audit.Filter{ActorID: "root", Action: "user.*", Target: "alice", Since: at(1), Until: at(9)}, []int{8, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{1, 3, 100} {
				f := tc.filter
				f.Limit = limit
				got := allAudit(t, s, f)
				if d := diff(pick(evs, tc.want...), got); d != "" {
					t.Errorf("limit %d (-want +got):\n%s", limit, d)
				}
			}
		})
	}
	t.Run("time is set when missing", func(t *testing.T) {
		before := time.Now().UTC().Add(-time.Second)
		inTx(t, s, func(tx *sqlstore.Tx) error {
			return tx.AppendAudit(context.Background(), audit.Event{Actor: root, Action: "late.event"})
		})
		got := allAudit(t, s, audit.Filter{Action: "late.event"})
		if len(got) != 1 || got[0].ID == "" || got[0].Time.Before(before) || got[0].Time.After(time.Now().Add(time.Second)) {
			t.Errorf("event without id and time stored as %+v", got)
		}
	})
}

func testAuditPaging(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	evs := auditFixture(t, s)
	for _, tc := range []struct {
		name   string
		filter audit.Filter
		pages  [][]int
	}{
		{"all, three per page", audit.Filter{Limit: 3}, [][]int{{9, 8, 7}, {6, 5, 4}, {3, 2, 1}, {0}}},
		{"all, five per page", audit.Filter{Limit: 5}, [][]int{{9, 8, 7, 6, 5}, {4, 3, 2, 1, 0}}},
		{"filtered, two per page", audit.Filter{Action: "user.*", Limit: 2}, [][]int{{8, 5}, {4, 1}, {0}}},
		{"one page", audit.Filter{Limit: 10}, [][]int{{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.filter
			for i, want := range tc.pages {
				page, next, err := s.ListAudit(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if d := diff(pick(evs, want...), page); d != "" {
					t.Errorf("page %d (-want +got):\n%s", i, d)
				}
				if last := i == len(tc.pages)-1; last != (next == "") {
					t.Fatalf("page %d: next = %q, last page = %v", i, next, last)
				}
				f.Cursor = next
			}
		})
	}
	t.Run("bad cursor", func(t *testing.T) {
		for _, c := range []string{"!!", "bm90LWEtbnVtYmVy"} { // not base64; base64 of "not-a-number"
			_, _, err := s.ListAudit(ctx, audit.Filter{Cursor: c, Limit: 3})
			if d := diff([]string{"cursor"}, invalidFields(err)); d != "" {
				t.Errorf("cursor %q: error %v (-want +got):\n%s", c, err, d)
			}
		}
	})
	t.Run("zero limit", func(t *testing.T) {
		page, next, err := s.ListAudit(ctx, audit.Filter{})
		if err != nil || len(page) != len(evs) || next != "" {
			t.Errorf("ListAudit with no limit = %d events, next %q, %v", len(page), next, err)
		}
	})
}

func testAuditAppendOnly(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	evs := auditFixture(t, s)
	before := allAudit(t, s, audit.Filter{})
	for _, tc := range []struct {
		name string
		sql  string
		args []any
	}{
		{"update one", `UPDATE audit_events SET action = 'user.nothing' WHERE id = $1`, []any{evs[0].ID}},
		{"update all", `UPDATE audit_events SET actor_name = 'someone-else'`, nil},
		{"update time", `UPDATE audit_events SET at = at + 1`, nil},
		{"delete one", `DELETE FROM audit_events WHERE id = $1`, []any{evs[3].ID}},
		{"delete old", `DELETE FROM audit_events WHERE at < $1`, []any{t0.Add(time.Hour).UnixMicro()}},
		{"delete all", `DELETE FROM audit_events`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.DB().ExecContext(ctx, tc.sql, tc.args...)
			if err == nil {
				n, _ := res.RowsAffected()
				t.Errorf("%s succeeded (%d rows); the audit trail must refuse it", tc.sql, n)
			}
		})
	}
	if d := diff(before, allAudit(t, s, audit.Filter{})); d != "" {
		t.Errorf("audit trail changed (-before +after):\n%s", d)
	}
}
