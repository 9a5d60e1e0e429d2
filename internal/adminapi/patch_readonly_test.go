package adminapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/cloud"
)

// TestMergePatchReadOnlyIgnoresCase: encoding/json matches object keys to
// fields ignoring case, so the server-owned fields must be dropped from a
// patch whatever their spelling ("managedby", "ManagedBy", …).
func TestMergePatchReadOnlyIgnoresCase(t *testing.T) {
	for _, body := range []string{
		`{"managedby": "apply", "description": "x"}`,
		`{"ManagedBy": "apply", "description": "x"}`,
		`{"MANAGEDBY": "apply", "description": "x"}`,
	} {
		r := httptest.NewRequest("PATCH", "/api/v1/accounts/prod", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/merge-patch+json")
		got, err := mergePatchUpdate(r, readOnlyCloudFields, func(_ int64, mutate func(*cloud.Account) error) (cloud.Account, error) {
			a := cloud.Account{ID: "111111111111", Name: "prod", SAMLProvider: "idcenter"} // created by hand
			return a, mutate(&a)
		})
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if got.ManagedBy != "" || got.Description != "x" {
			t.Fatalf("%s: managedBy %q description %q: a read-only field was patched", body, got.ManagedBy, got.Description)
		}
	}
}
