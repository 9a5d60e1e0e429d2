package app_test

import (
	"encoding/pem"
	"strings"
	"testing"
)

func TestAppsThroughAPI(t *testing.T) {
	forEngine(t, func(t *testing.T, s *server) {
		cat := s.must(200, "GET", "/api/v1/catalog", nil).json(t)
		items := cat["items"].([]any)
		if len(items) < 6 || items[0].(map[string]any)["id"] != "custom" {
			t.Fatalf("catalog: %v", cat)
		}

		// From the Heap template; the placeholder must be filled in.
		bad := s.do("POST", "/api/v1/apps", adminToken, map[string]any{"template": "heap"})
		if bad.Status != 400 || !strings.Contains(string(bad.Body), `"field":"acs[0].url"`) || !strings.Contains(string(bad.Body), "app-id") {
			t.Fatalf("heap without its app id: %d %s", bad.Status, bad.Body)
		}
		heap := s.must(201, "POST", "/api/v1/apps", map[string]any{
			"template": "heap",
			"acs":      []any{map[string]any{"url": "https://heapanalytics.com/saml/finalize/42/"}},
		})
		h := heap.json(t)
		if h["displayName"] != "Heap" || h["entityId"] != "heapanalytics.com" || h["nameId"] != "${user:email}" ||
			h["enabled"] != true || heap.Header.Get("Location") != "/api/v1/apps/"+h["id"].(string) || heap.Header.Get("ETag") != `"1"` {
			t.Fatalf("created: %v %v", h, heap.Header)
		}

		// Every ACS negative is a 400 naming the field (SECURITY.md IDP-03).
		for _, acs := range []string{"javascript:alert(document.domain)", "data:text/html,<script>alert(1)</script>",
			"http://sp.example.com/acs", `https://x/"><script>alert(1)</script>`} {
			r := s.do("POST", "/api/v1/apps", adminToken, map[string]any{
				"displayName": "Bad", "entityId": "urn:bad", "acs": []any{map[string]any{"url": acs}},
			})
			if r.Status != 400 || !strings.Contains(string(r.Body), `"field":"acs[0].url"`) {
				t.Errorf("ACS %q: %d %s", acs, r.Status, r.Body)
			}
		}
		badExpr := s.do("POST", "/api/v1/apps", adminToken, map[string]any{
			"displayName": "Bad", "entityId": "urn:bad", "acs": []any{map[string]any{"url": "https://sp.example.com/acs"}},
			"attributes": []any{map[string]any{"name": "x", "value": "${user:mail}"}},
		})
		if badExpr.Status != 400 || !strings.Contains(string(badExpr.Body), `${user:mail} at position 1`) {
			t.Errorf("bad expression: %d %s", badExpr.Status, badExpr.Body)
		}
		dup := s.do("POST", "/api/v1/apps", adminToken, map[string]any{
			"displayName": "HEAP", "entityId": "urn:other", "acs": []any{map[string]any{"url": "https://sp.example.com/acs"}},
		})
		if dup.Status != 409 || !strings.Contains(string(dup.Body), "displayName") {
			t.Errorf("duplicate name: %d %s", dup.Status, dup.Body)
		}

		// merge patch with If-Match
		p := s.must(200, "PATCH", "/api/v1/apps/heap", map[string]any{
			"description": "Analytics", "attributes": []any{map[string]any{"name": "groups", "value": "${user:groups}"}},
			"template": "custom", "id": "ignored",
		}, "If-Match", `"1"`).json(t)
		if p["description"] != "Analytics" || p["version"] != float64(2) || p["template"] != "heap" || p["id"] != h["id"] {
			t.Fatalf("patched: %v", p)
		}
		if r := s.do("PATCH", "/api/v1/apps/heap", adminToken, map[string]any{"description": "x"}, "If-Match", `"1"`); r.Status != 409 {
			t.Errorf("stale If-Match: %d %s", r.Status, r.Body)
		}
		if r := s.do("PATCH", "/api/v1/apps/heap", adminToken, map[string]any{"startUrl": "javascript:alert(1)"}); r.Status != 400 ||
			!strings.Contains(string(r.Body), `"field":"startUrl"`) {
			t.Errorf("javascript start URL: %d %s", r.Status, r.Body)
		}
		if r := s.do("PATCH", "/api/v1/apps/heap", adminToken, map[string]any{"bogus": 1}); r.Status != 400 {
			t.Errorf("unknown patch field: %d %s", r.Status, r.Body)
		}

		// assignments
		s.must(201, "POST", "/api/v1/users", map[string]any{"userName": "alice", "emails": []any{map[string]any{"value": "alice@example.com"}}})
		s.must(201, "POST", "/api/v1/groups", map[string]any{"displayName": "Analysts", "members": []string{"alice"}})
		s.must(200, "POST", "/api/v1/apps/heap/assignments", map[string]any{"group": "analysts"})
		if r := s.do("POST", "/api/v1/apps/heap/assignments", adminToken, map[string]any{"user": "a", "group": "b"}); r.Status != 400 {
			t.Errorf("user and group: %d", r.Status)
		}
		if r := s.do("POST", "/api/v1/apps/heap/assignments", adminToken, map[string]any{"user": "ghost"}); r.Status != 400 ||
			!strings.Contains(string(r.Body), `"field":"user"`) {
			t.Errorf("unknown user: %d %s", r.Status, r.Body)
		}
		as := s.must(200, "GET", "/api/v1/apps/heap/assignments", nil).json(t)["items"].([]any)
		if len(as) != 1 || as[0].(map[string]any)["principalName"] != "Analysts" {
			t.Fatalf("assignments: %v", as)
		}
		pv := s.must(200, "GET", "/api/v1/apps/heap/preview?user=alice", nil).json(t)
		if pv["nameId"] != "alice@example.com" || pv["assigned"] != true || len(pv["warnings"].([]any)) != 0 {
			t.Fatalf("preview: %v", pv)
		}
		attrs := pv["attributes"].([]any)
		if len(attrs) != 1 || attrs[0].(map[string]any)["values"].([]any)[0] != "Analysts" {
			t.Fatalf("preview attributes: %v", attrs)
		}
		if r := s.do("GET", "/api/v1/apps/heap/preview", adminToken, nil); r.Status != 400 {
			t.Errorf("preview without user: %d", r.Status)
		}
		s.must(204, "DELETE", "/api/v1/apps/heap/assignments/group/Analysts", nil)
		pv = s.must(200, "GET", "/api/v1/apps/heap/preview?user=alice", nil).json(t)
		if pv["assigned"] != false || !strings.Contains(string(s.must(200, "GET", "/api/v1/apps/heap/preview?user=alice", nil).Body), "not assigned") {
			t.Fatalf("preview after unassign: %v", pv)
		}
		if r := s.do("DELETE", "/api/v1/apps/heap/assignments/role/x", adminToken, nil); r.Status != 400 {
			t.Errorf("bad assignment type: %d", r.Status)
		}

		// certificates
		pemRes := s.must(200, "GET", "/api/v1/apps/heap/certificate.pem", nil)
		if ct := pemRes.Header.Get("Content-Type"); ct != "application/x-pem-file" {
			t.Errorf("certificate content type %q", ct)
		}
		if b, _ := pem.Decode(pemRes.Body); b == nil || b.Type != "CERTIFICATE" {
			t.Fatalf("certificate.pem: %s", pemRes.Body)
		}
		if strings.Contains(pemRes.Header.Get("Content-Disposition"), "Heap") {
			t.Errorf("user text in Content-Disposition: %q", pemRes.Header.Get("Content-Disposition"))
		}
		next := s.must(201, "POST", "/api/v1/apps/heap/certificates", nil).json(t)
		if next["status"] != "next" || next["keyBits"] != float64(2048) {
			t.Fatalf("next certificate: %v", next)
		}
		if r := s.do("POST", "/api/v1/apps/heap/certificates", adminToken, map[string]any{"keyBits": 3072}); r.Status != 409 {
			t.Errorf("second next certificate: %d %s", r.Status, r.Body)
		}
		certs := s.must(200, "GET", "/api/v1/apps/heap/certificates", nil).json(t)["items"].([]any)
		if len(certs) != 2 || strings.Contains(string(s.must(200, "GET", "/api/v1/apps/heap/certificates", nil).Body), "PRIVATE") {
			t.Fatalf("certificates: %v", certs)
		}
		oldID := certs[0].(map[string]any)["id"].(string)
		nextID := next["id"].(string)
		if r := s.do("DELETE", "/api/v1/apps/heap/certificates/"+oldID, adminToken, nil); r.Status != 400 {
			t.Errorf("removing the active certificate: %d %s", r.Status, r.Body)
		}
		act := s.must(200, "POST", "/api/v1/apps/heap/certificates/"+nextID+"/activate", nil).json(t)
		if act["status"] != "active" {
			t.Fatalf("activated: %v", act)
		}
		s.must(204, "DELETE", "/api/v1/apps/heap/certificates/"+oldID, nil)
		s.must(404, "DELETE", "/api/v1/apps/heap/certificates/"+oldID, nil)
		if got := s.must(200, "GET", "/api/v1/apps/heap/certificate.pem", nil).Body; string(got) != next["pem"] {
			t.Error("certificate.pem is not the newly active certificate")
		}

		list := s.must(200, "GET", "/api/v1/apps", nil).json(t)["items"].([]any)
		if len(list) != 1 {
			t.Fatalf("apps: %v", list)
		}
		s.must(204, "DELETE", "/api/v1/apps/"+h["id"].(string), nil)
		s.must(404, "GET", "/api/v1/apps/heap", nil)

		ev := string(s.must(200, "GET", "/api/v1/audit-events?action=app.*&limit=1000", nil).Body)
		for _, action := range []string{"app.create", "app.update", "app.assign", "app.unassign", "app.certificate.add",
			"app.certificate.activate", "app.certificate.remove", "app.delete"} {
			if !strings.Contains(ev, `"action":"`+action+`"`) {
				t.Errorf("audit trail lacks %s", action)
			}
		}
		if strings.Contains(ev, "PRIVATE KEY") {
			t.Error("audit trail holds a private key")
		}
	})
}
