package client

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func TestSCIMTokenRequests(t *testing.T) {
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tok := Token{ID: "t1", Name: "okta", Role: RoleSCIM, Hint: "idc_abcd", CreatedAt: created, ExpiresAt: &exp}
	for _, tc := range []struct {
		name    string
		status  int
		resp    string
		call    func(c *Client) (any, error)
		want    recorded
		wantOut any
	}{
		{
			name: "create with the default expiry", status: 201,
			resp: `{"id":"t1","name":"okta","role":"scim","hint":"idc_abcd","createdAt":"2026-01-02T03:04:05Z","expiresAt":"2027-01-01T00:00:00Z",` +
				`"expiringSoon":false,"token":"idc_abcdefg","scimBaseUrl":"https://id.example.com/scim/v2"}`,
			call: func(c *Client) (any, error) {
				return c.CreateSCIMToken(context.Background(), SCIMTokenRequest{Name: "okta"})
			},
			want: recorded{Method: "POST", Path: "/api/v1/scim/tokens", Body: `{"name":"okta"}`},
			wantOut: CreatedSCIMToken{SCIMToken: SCIMToken{Token: tok}, Secret: "idc_abcdefg",
				SCIMBaseURL: "https://id.example.com/scim/v2"},
		},
		{
			name: "create with an expiry", status: 201, resp: `{"id":"t1","name":"okta","role":"scim","hint":"idc_abcd","createdAt":"2026-01-02T03:04:05Z","expiresAt":"2027-01-01T00:00:00Z","token":"s"}`,
			call: func(c *Client) (any, error) {
				return c.CreateSCIMToken(context.Background(), SCIMTokenRequest{Name: "okta", ExpiresAt: &exp})
			},
			want:    recorded{Method: "POST", Path: "/api/v1/scim/tokens", Body: `{"name":"okta","expiresAt":"2027-01-01T00:00:00Z"}`},
			wantOut: CreatedSCIMToken{SCIMToken: SCIMToken{Token: tok}, Secret: "s"},
		},
		{
			name: "list", status: 200,
			resp:    `{"items":[{"id":"t1","name":"okta","role":"scim","hint":"idc_abcd","createdAt":"2026-01-02T03:04:05Z","expiresAt":"2027-01-01T00:00:00Z","expiringSoon":true}]}`,
			call:    func(c *Client) (any, error) { return c.ListSCIMTokens(context.Background()) },
			want:    recorded{Method: "GET", Path: "/api/v1/scim/tokens"},
			wantOut: []SCIMToken{{Token: tok, ExpiringSoon: true}},
		},
		{
			name: "revoke escapes the key", status: 200,
			resp:    `{"id":"t1","name":"okta","role":"scim","hint":"idc_abcd","createdAt":"2026-01-02T03:04:05Z","expiresAt":"2027-01-01T00:00:00Z"}`,
			call:    func(c *Client) (any, error) { return c.RevokeSCIMToken(context.Background(), "okta/2026") },
			want:    recorded{Method: "DELETE", Path: "/api/v1/scim/tokens/okta/2026", RawPath: "/api/v1/scim/tokens/okta%2F2026"},
			wantOut: SCIMToken{Token: tok},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, reqs := fake(t, tc.status, "application/json", tc.resp)
			out, err := tc.call(c)
			if err != nil {
				t.Fatal(err)
			}
			if len(*reqs) != 1 {
				t.Fatalf("%d requests", len(*reqs))
			}
			got := (*reqs)[0]
			if got.Method != tc.want.Method || got.Path != tc.want.Path || got.RawPath != tc.want.RawPath || got.Body != tc.want.Body {
				t.Errorf("request %s %s (%s) %s; want %s %s (%s) %s", got.Method, got.Path, got.RawPath, got.Body,
					tc.want.Method, tc.want.Path, tc.want.RawPath, tc.want.Body)
			}
			if !reflect.DeepEqual(out, tc.wantOut) {
				t.Errorf("out = %#v\nwant  %#v", out, tc.wantOut)
			}
		})
	}
	c, _ := fake(t, 200, "application/json", `{}`)
	if _, err := c.RevokeSCIMToken(context.Background(), ""); err == nil {
		t.Error("RevokeSCIMToken(\"\"): want an error")
	}
}
