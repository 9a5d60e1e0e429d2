package adminapi

import (
	"net/http"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/tokens"
)

// SCIMTokenInput creates a SCIM token. Without expiresAt the token lives
// one year (tokens.SCIMDefaultLifetime); at most two years are allowed.
type SCIMTokenInput struct {
	Name      string     `json:"name"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// SCIMToken is a SCIM token's record as listed, with the expiry warning.
type SCIMToken struct {
	tokens.Token
	// ExpiringSoon is true while the token is usable but expires within 30
	// days (tokens.ExpiringSoon): time to create its successor.
	ExpiringSoon bool `json:"expiringSoon"`
}

// CreatedSCIMToken is a new SCIM token with its secret, shown once, and the
// SCIM base URL to configure in the identity provider next to it.
type CreatedSCIMToken struct {
	SCIMToken
	Secret      string `json:"token"`
	SCIMBaseURL string `json:"scimBaseUrl"`
}

// scimTokenRoutes are the SCIM token operations; table() includes them.
// They manage tokens of role scim only. GET /tokens lists them too, and
// DELETE /tokens/{token} revokes any token, but POST /tokens refuses to
// create one: SCIM tokens get their lifetime rules here.
func (a *API) scimTokenRoutes() []route {
	return []route{
		{Method: "GET", Path: "/scim/tokens", ID: "listSCIMTokens", Tag: "scim", Summary: "List SCIM provisioning tokens, newest first", Access: accessAdmin,
			Status: 200, Resp: List[SCIMToken]{}, h: a.listSCIMTokens},
		{Method: "POST", Path: "/scim/tokens", ID: "createSCIMToken", Tag: "scim",
			Summary: "Create a SCIM provisioning token (the secret is returned once; default expiry 1 year, at most 2)", Access: accessAdmin,
			Body: SCIMTokenInput{}, Status: 201, Resp: CreatedSCIMToken{}, h: a.createSCIMToken},
		{Method: "DELETE", Path: "/scim/tokens/{token}", ID: "revokeSCIMToken", Tag: "scim", Summary: "Revoke a SCIM provisioning token", Access: accessAdmin,
			Status: 200, Resp: SCIMToken{}, h: a.revokeSCIMToken},
	}
}

func scimView(t tokens.Token, now time.Time) SCIMToken {
	return SCIMToken{Token: t, ExpiringSoon: tokens.ExpiringSoon(t, now)}
}

func (a *API) listSCIMTokens(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	ts, err := a.Tokens.ListSCIM(r.Context(), actor)
	if err != nil {
		return err
	}
	now := time.Now()
	out := make([]SCIMToken, 0, len(ts))
	for _, t := range ts {
		out = append(out, scimView(t, now))
	}
	httpx.WriteJSON(w, 200, List[SCIMToken]{Items: out})
	return nil
}

func (a *API) createSCIMToken(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var in SCIMTokenInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	t, secret, err := a.Tokens.CreateSCIM(r.Context(), actor, tokens.SCIMRequest{Name: in.Name, ExpiresAt: in.ExpiresAt})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 201, CreatedSCIMToken{SCIMToken: scimView(t, time.Now()), Secret: secret, SCIMBaseURL: a.BaseURL + tokens.SCIMBasePath})
	return nil
}

func (a *API) revokeSCIMToken(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	t, err := a.Tokens.RevokeSCIM(r.Context(), actor, r.PathValue("token"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, scimView(t, time.Now()))
	return nil
}
