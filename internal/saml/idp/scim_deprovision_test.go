package idp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/tokens"
)

// TestSCIMDeprovisioningEndsAccess is SECURITY SCIM-07 end to end: an
// identity provider deactivates (PATCH active:false) and then deletes a user
// through /scim/v2 while the user holds browser sessions; every session ends
// at once, SSO to the application stops, re-activation does not bring the
// old sessions back.
func TestSCIMDeprovisioningEndsAccess(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		_, secret, err := e.a.Tokens.CreateSCIM(ctx, audit.System, tokens.SCIMRequest{Name: "okta"})
		if err != nil {
			t.Fatal(err)
		}
		scim := func(method, path, body string) (int, map[string]any) {
			t.Helper()
			req, _ := http.NewRequest(method, e.srv.URL+"/scim/v2"+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("Content-Type", "application/scim+json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
			return res.StatusCode, m
		}
		status, list := scim("GET", "/Users?filter="+url.QueryEscape(`userName eq "alice"`), "")
		res, _ := list["Resources"].([]any)
		if status != 200 || len(res) != 1 {
			t.Fatalf("lookup: %d %v", status, list)
		}
		id := res[0].(map[string]any)["id"].(string)

		start := "/saml/apps/" + e.appID + "/start"
		laptop, phone := e.browser(), e.browser()
		laptop.signIn("alice", "/start")
		phone.signIn("alice", "/start")
		e.verify(laptop.deliver(laptop.open(start)))

		status, _ = scim("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"replace","value":{"active":false}}]}`)
		if status != 200 {
			t.Fatalf("deactivate: %d", status)
		}
		signedOut := func(b *browser, when string) {
			t.Helper()
			if pg := b.open(start); pg.status != http.StatusSeeOther || !strings.HasPrefix(pg.header.Get("Location"), "/signin") ||
				strings.Contains(pg.body, "SAMLResponse") {
				t.Errorf("%s: start URL answered %d %q", when, pg.status, pg.header.Get("Location"))
			}
			if pg := b.get("/start"); pg.status != http.StatusSeeOther {
				t.Errorf("%s: portal answered %d", when, pg.status)
			}
		}
		signedOut(laptop, "after deactivation")
		signedOut(phone, "after deactivation")
		if evs := e.events("user.disable"); len(evs) != 1 || evs[0].Actor.Name != "okta" || evs[0].Summary["sessionsEnded"] != float64(2) {
			t.Errorf("audit: %+v", evs)
		}
		// A disabled user cannot sign in again.
		b := e.browser()
		pg := b.get("/signin")
		m := csrfRE.FindStringSubmatch(pg.body)
		if res := b.post("/signin/password", url.Values{"csrf": {m[1]}, "username": {"alice"}, "password": {password}}); res.status == http.StatusSeeOther {
			t.Errorf("disabled user signed in: %s", res.header.Get("Location"))
		}

		// Re-activation does not resurrect the old sessions.
		if status, _ = scim("PATCH", "/Users/"+id, `{"Operations":[{"op":"Replace","path":"active","value":"True"}]}`); status != 200 {
			t.Fatalf("reactivate: %d", status)
		}
		signedOut(laptop, "after re-activation")

		// DELETE removes the user; a fresh session of theirs ends too.
		fresh := e.browser()
		fresh.signIn("alice", "/start")
		if status, _ = scim("DELETE", "/Users/"+id, ""); status != http.StatusNoContent {
			t.Fatalf("delete: %d", status)
		}
		signedOut(fresh, "after delete")
		if status, _ = scim("GET", "/Users/"+id, ""); status != http.StatusNotFound {
			t.Errorf("deleted user: %d", status)
		}
	})
}
