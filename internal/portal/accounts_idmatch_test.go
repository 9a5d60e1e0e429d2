package portal_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
)

// TestRolePathPrefersAccountID: the role pages' links name the account by
// its 12-digit id; another account whose *name* is that id must not be
// picked instead (the user would be signed in to the wrong account).
func TestRolePathPrefersAccountID(t *testing.T) {
	s := newCloudSite(t, "")
	ctx := context.Background()
	// "222222222222" is dev's id, and the name of another account that sorts first.
	if _, err := s.a.Cloud.CreateAccount(ctx, audit.System, cloud.Account{ID: "333333333333", Name: "222222222222"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.Cloud.Assign(ctx, audit.System, cloud.AssignRequest{Account: "333333333333", PermissionSet: "ReadOnly",
		PrincipalType: cloud.PrincipalUser, Principal: "alice"}); err != nil {
		t.Fatal(err)
	}
	alice, csrf := s.signedIn(t, "alice")
	if p := alice.post("/start/accounts/222222222222/ReadOnly/keys", url.Values{"csrf": {csrf}}); p.status != 200 {
		t.Fatalf("POST keys: %d", p.status)
	}
	if got := s.fed.Calls(); len(got) != 1 || got[0] != "keys arn:aws:iam::222222222222:role/idcenter-ReadOnly" {
		t.Fatalf("calls: %v, want the role in account 222222222222", got)
	}
}
