package app_test

import (
	"strings"
	"testing"
)

// TestAppsIncludeAWSRolesThroughAPI: the "include AWS roles" option is an
// application field of the API (create, merge patch, read back).
func TestAppsIncludeAWSRolesThroughAPI(t *testing.T) {
	forEngine(t, func(t *testing.T, s *server) {
		s.must(201, "POST", "/api/v1/apps", map[string]any{
			"displayName": "Data platform", "entityId": "https://data.example.com/saml", "enabled": true,
			"acs": []map[string]any{{"url": "https://data.example.com/saml/acs"}}, "includeAwsRoles": true,
		})
		got := s.must(200, "PATCH", "/api/v1/apps/Data platform", map[string]any{"awsRoleAccounts": []string{"111111111111"}}).json(t)
		if got["includeAwsRoles"] != true || len(got["awsRoleAccounts"].([]any)) != 1 {
			t.Fatalf("patched: %v", got)
		}
		r := s.do("PATCH", "/api/v1/apps/Data platform", adminToken, map[string]any{"includeAwsRoles": false})
		if r.Status != 400 || !strings.Contains(string(r.Body), `"field":"awsRoleAccounts"`) {
			t.Fatalf("selection without the option: %d %s", r.Status, r.Body)
		}
		got = s.must(200, "PATCH", "/api/v1/apps/Data platform", map[string]any{"includeAwsRoles": false, "awsRoleAccounts": nil}).json(t)
		if _, ok := got["includeAwsRoles"]; ok || got["awsRoleAccounts"] != nil {
			t.Fatalf("cleared: %v", got)
		}
	})
}
