package apps_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

// TestScheduledActivation: a next certificate with activateAt becomes the
// active one when ActivateDue runs at or after that time, not before, and
// only once.
func TestScheduledActivation(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		clock := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		f := newFixture(t, s)
		f.svc.Now = func() time.Time { return clock }
		app := f.app(t, custom("Wiki", "urn:wiki"))
		first, err := f.svc.ActiveCertificate(ctx, admin, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.AddScheduledCertificate(ctx, admin, app.ID, 0, clock); invalidFields(err) == nil {
			t.Errorf("activateAt now: %v", err)
		}
		if _, err := f.svc.AddScheduledCertificate(ctx, admin, app.ID, 0, clock.Add(-time.Hour)); invalidFields(err) == nil {
			t.Errorf("activateAt in the past: %v", err)
		}
		at := clock.Add(24 * time.Hour)
		next, err := f.svc.AddScheduledCertificate(ctx, admin, app.ID, 0, at)
		if err != nil {
			t.Fatal(err)
		}
		if next.ActivateAt == nil || !next.ActivateAt.Equal(at) {
			t.Fatalf("activateAt = %v, want %v", next.ActivateAt, at)
		}
		statuses := func() map[string]string {
			t.Helper()
			cs, err := f.svc.ListCertificates(ctx, admin, app.ID)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]string{}
			for _, c := range cs {
				out[c.ID] = c.Status
				if c.ID == next.ID && c.Status == apps.CertNext && (c.ActivateAt == nil || !c.ActivateAt.Equal(at)) {
					t.Errorf("stored activateAt = %v, want %v", c.ActivateAt, at)
				}
			}
			return out
		}

		// not yet due
		if n, err := f.svc.ActivateDue(ctx, at.Add(-time.Microsecond)); err != nil || n != 0 {
			t.Fatalf("ActivateDue before the time: %d, %v", n, err)
		}
		if d := diff(map[string]string{first.ID: apps.CertActive, next.ID: apps.CertNext}, statuses()); d != "" {
			t.Fatalf("before the time (-want +got):\n%s", d)
		}

		// due
		if n, err := f.svc.ActivateDue(ctx, at); err != nil || n != 1 {
			t.Fatalf("ActivateDue at the time: %d, %v", n, err)
		}
		if d := diff(map[string]string{first.ID: apps.CertRetired, next.ID: apps.CertActive}, statuses()); d != "" {
			t.Fatalf("after activation (-want +got):\n%s", d)
		}
		if _, cert, err := f.svc.SigningKey(ctx, app.ID); err != nil || cert.ID != next.ID {
			t.Errorf("signing with %s, %v; want %s", cert.ID, err, next.ID)
		}
		cs, _ := f.svc.ListCertificates(ctx, admin, app.ID)
		for _, c := range cs {
			if c.ActivateAt != nil {
				t.Errorf("certificate %s (%s) still scheduled at %v", c.ID, c.Status, c.ActivateAt)
			}
		}

		// idempotent
		if n, err := f.svc.ActivateDue(ctx, at.Add(time.Hour)); err != nil || n != 0 {
			t.Fatalf("ActivateDue again: %d, %v", n, err)
		}
		evs := events(t, s)
		if d := diff([]string{"app.create", "app.certificate.add", "app.certificate.activate"}, actionsOf(evs, "app.")); d != "" {
			t.Errorf("audit (-want +got):\n%s", d)
		}
		last := evs[len(evs)-1]
		if last.Actor.Type != audit.ActorSystem {
			t.Errorf("activation actor = %+v, want the system", last.Actor)
		}
	})
}

// TestScheduledActivationManualFirst: an admin who activates a scheduled
// certificate early cancels the schedule; ActivateDue then does nothing.
func TestScheduledActivationManualFirst(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		clock := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		f := newFixture(t, s)
		f.svc.Now = func() time.Time { return clock }
		app := f.app(t, custom("Wiki", "urn:wiki"))
		first, _ := f.svc.ActiveCertificate(ctx, admin, app.ID)
		next, err := f.svc.AddScheduledCertificate(ctx, admin, app.ID, 0, clock.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ActivateCertificate(ctx, admin, app.ID, next.ID); err != nil {
			t.Fatal(err)
		}
		// roll back: first active, next retired (no longer scheduled)
		if _, err := f.svc.ActivateCertificate(ctx, admin, app.ID, first.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := f.svc.ActivateDue(ctx, clock.Add(2*time.Hour)); err != nil || n != 0 {
			t.Fatalf("ActivateDue after a manual switch: %d, %v", n, err)
		}
		if c, _ := f.svc.ActiveCertificate(ctx, admin, app.ID); c.ID != first.ID {
			t.Errorf("active = %s, want %s", c.ID, first.ID)
		}
	})
}

// TestScheduledActivationConcurrent: two replicas running ActivateDue at
// once activate the certificate exactly once.
func TestScheduledActivationConcurrent(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		clock := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		f := newFixture(t, s)
		f.svc.Now = func() time.Time { return clock }
		other := newFixture(t, s) // a second replica over the same database
		other.svc.Now = f.svc.Now
		var nexts []string
		for _, name := range []string{"Wiki", "Chat", "Mail"} {
			app := f.app(t, custom(name, "urn:"+name))
			c, err := f.svc.AddScheduledCertificate(ctx, admin, app.ID, 0, clock.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			nexts = append(nexts, c.ID)
		}
		due := clock.Add(time.Hour)
		var wg sync.WaitGroup
		counts := make([]int, 2)
		errsOut := make([]error, 2)
		for i, svc := range []*apps.Service{f.svc, other.svc} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				counts[i], errsOut[i] = svc.ActivateDue(ctx, due)
			}()
		}
		wg.Wait()
		for i, err := range errsOut {
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
		}
		if got := counts[0] + counts[1]; got != len(nexts) {
			t.Errorf("activated %d+%d, want %d in all", counts[0], counts[1], len(nexts))
		}
		var activations int
		for _, e := range events(t, s) {
			if e.Action == "app.certificate.activate" {
				activations++
			}
		}
		if activations != len(nexts) {
			t.Errorf("%d activation events, want %d", activations, len(nexts))
		}
		for _, id := range nexts {
			var found bool
			apps_, _ := f.svc.List(ctx, admin)
			for _, a := range apps_ {
				if c, _ := f.svc.ActiveCertificate(ctx, admin, a.ID); c.ID == id {
					found = true
				}
			}
			if !found {
				t.Errorf("certificate %s is not active", id)
			}
		}
	})
}
