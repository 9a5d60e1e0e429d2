package session_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/session"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func create(t *testing.T, st *sqlstore.Store, s *session.Service, userID string) (session.Session, string) {
	t.Helper()
	var sess session.Session
	var tok string
	err := st.WithSessionTx(context.Background(), func(tx session.Tx) error {
		var err error
		sess, tok, err = s.CreateTx(context.Background(), tx, session.NewRequest{UserID: userID, Methods: []string{"PASSWORD"}, ClientIP: "192.0.2.7", UserAgent: "Mozilla/5.0 Chrome/156"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return sess, tok
}

func TestSessions(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		ck := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
		s := &session.Service{Store: st, Absolute: 8 * time.Hour, Idle: time.Hour, Now: ck.Now}
		dir := &directory.Service{Store: st.Directory(), Now: ck.Now}
		u, _ := dir.CreateUser(ctx, audit.System, directory.User{UserName: "bob", Active: true})
		v, _ := dir.CreateUser(ctx, audit.System, directory.User{UserName: "eve", Active: true})

		sess, tok := create(t, st, s, u.ID)
		if len(tok) < 40 {
			t.Fatalf("token too short: %q", tok)
		}
		if got, err := s.Validate(ctx, tok); err != nil || got.ID != sess.ID || got.Methods[0] != "PASSWORD" {
			t.Fatalf("validate: %+v %v", got, err)
		}
		// the token is not stored, only its hash
		var n int
		st.DB().QueryRow(`SELECT COUNT(*) FROM sessions WHERE token_hash = $1`, tok).Scan(&n)
		if n != 0 {
			t.Fatal("raw token stored")
		}
		for _, bad := range []string{"", "x", tok + "x", strings.Repeat("a", 200), session.HashToken(tok)} {
			if _, err := s.Validate(ctx, bad); !errors.Is(err, session.ErrNoSession) {
				t.Errorf("Validate(%.10q) = %v", bad, err)
			}
		}
		// idle timeout: activity keeps it alive, an hour of silence ends it
		ck.Add(50 * time.Minute)
		if _, err := s.Validate(ctx, tok); err != nil {
			t.Fatalf("within idle window: %v", err)
		}
		ck.Add(50 * time.Minute)
		if _, err := s.Validate(ctx, tok); err != nil {
			t.Fatalf("activity did not extend idle window: %v", err)
		}
		ck.Add(61 * time.Minute)
		if _, err := s.Validate(ctx, tok); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("idle session accepted: %v", err)
		}
		// absolute timeout, even with constant activity
		_, tok2 := create(t, st, s, u.ID)
		for i := 0; i < 15; i++ {
			ck.Add(30 * time.Minute)
			if _, err := s.Validate(ctx, tok2); err != nil {
				t.Fatalf("at %d×30m: %v", i+1, err)
			}
		}
		ck.Add(30 * time.Minute)
		if _, err := s.Validate(ctx, tok2); !errors.Is(err, session.ErrNoSession) {
			t.Fatal("session outlived its absolute timeout")
		}
		// a user ends only their own sessions
		s3, tok3 := create(t, st, s, u.ID)
		eve := audit.Actor{Type: "user", ID: v.ID, Name: "eve"}
		if err := s.End(ctx, eve, v.ID, s3.ID, "x"); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("eve ended bob's session: %v", err)
		}
		list, _ := s.List(ctx, u.ID)
		if len(list) != 1 || list[0].ID != s3.ID {
			t.Fatalf("live sessions: %+v", list)
		}
		if err := s.End(ctx, audit.Actor{Type: "user", ID: u.ID}, u.ID, s3.ID, "ended by user"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Validate(ctx, tok3); !errors.Is(err, session.ErrNoSession) {
			t.Fatal("ended session still valid")
		}
		// EndAllForUser
		_, t4 := create(t, st, s, u.ID)
		_, t5 := create(t, st, s, u.ID)
		if n, err := s.EndAllForUser(ctx, audit.System, u.ID, "admin"); err != nil || n < 2 {
			t.Fatalf("EndAllForUser = %d, %v", n, err)
		}
		for _, tk := range []string{t4, t5} {
			if _, err := s.Validate(ctx, tk); !errors.Is(err, session.ErrNoSession) {
				t.Fatal("session survived EndAllForUser")
			}
		}
		// rotation: a new session replacing an old one revokes it
		old, oldTok := create(t, st, s, u.ID)
		err := st.WithSessionTx(ctx, func(tx session.Tx) error {
			_, _, err := s.CreateTx(ctx, tx, session.NewRequest{UserID: u.ID, Replaces: old.ID})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Validate(ctx, oldTok); !errors.Is(err, session.ErrNoSession) {
			t.Fatal("replaced session still valid")
		}
		// deleting the user deletes their sessions
		_, t6 := create(t, st, s, v.ID)
		if err := dir.DeleteUser(ctx, audit.System, "eve"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Validate(ctx, t6); !errors.Is(err, session.ErrNoSession) {
			t.Fatal("session of deleted user valid")
		}
	})
}

func TestDescribe(t *testing.T) {
	for ua, want := range map[string]string{
		"": "Unknown browser", "Mozilla/5.0 (X11) AppleWebKit Chrome/156.0 Safari/537.36": "Chrome",
		"Mozilla/5.0 Firefox/130.0": "Firefox", "Mozilla/5.0 Chrome/1 Safari/1 Edg/1": "Edge",
	} {
		if got := session.Describe(ua); got != want {
			t.Errorf("Describe(%q) = %q, want %q", ua, got, want)
		}
	}
}

func FuzzValidateToken(f *testing.F) {
	f.Add("")
	f.Add("abc")
	f.Fuzz(func(t *testing.T, tok string) {
		if len(session.HashToken(tok)) != 64 {
			t.Fatal("hash length")
		}
	})
}

func TestPurgeExpired(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		ck := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
		s := &session.Service{Store: st, Absolute: time.Hour, Idle: time.Hour, Now: ck.Now}
		dir := &directory.Service{Store: st.Directory(), Now: ck.Now}
		u, _ := dir.CreateUser(ctx, audit.System, directory.User{UserName: "zed", Active: true})
		_, oldTok := create(t, st, s, u.ID)
		ck.Add(48 * time.Hour)
		_, newTok := create(t, st, s, u.ID)
		n, err := st.PurgeExpired(ctx, ck.Now())
		if err != nil || n != 1 {
			t.Fatalf("PurgeExpired = %d, %v; want 1", n, err)
		}
		var left int
		st.DB().QueryRow(`SELECT COUNT(*) FROM sessions`).Scan(&left)
		if left != 1 {
			t.Fatalf("%d sessions left", left)
		}
		if _, err := s.Validate(ctx, newTok); err != nil {
			t.Fatalf("live session purged: %v", err)
		}
		_ = oldTok
	})
}
