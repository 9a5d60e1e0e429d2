package awsfed_test

import (
	"context"
	"errors"
	"testing"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
)

// TestDisabledAWSApplication: "a disabled application signs nobody in"
// (docs/applications.md) holds for the portal's console sign-in and access
// keys too: disabling the AWS application stops its key signing any role's
// assertion, and nothing reaches STS.
func TestDisabledAWSApplication(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	ro := e.role(e.alice, prodID, "ReadOnly")
	if _, err := e.a.Federation.ConsoleSignIn(ctx, e.alice.ID, ro); err != nil {
		t.Fatalf("enabled: %v", err)
	}
	if _, err := e.a.Apps.Update(ctx, audit.System, e.awsApp.ID, 0, func(a *apps.Application) error {
		a.Enabled = false
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Federation.ConsoleSignIn(ctx, e.alice.ID, ro); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("console sign-in with the AWS application disabled: got %v, want forbidden", err)
	}
	if _, err := e.a.Federation.AccessKeys(ctx, e.alice.ID, ro); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("access keys with the AWS application disabled: got %v, want forbidden", err)
	}
}
