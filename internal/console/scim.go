package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/tokens"
	"github.com/idcenter/idcenter/internal/web"
)

// scimNav is the sidebar label of the provisioning page.
const scimNav = "Provisioning (SCIM)"

// scimLifetimes are the lifetimes the create form offers, in days; the
// default is the service's one-year default.
var scimLifetimes = []int{30, 90, 180, 365, 730}

// scimTokenRow is a SCIM token as the table shows it.
type scimTokenRow struct {
	tokens.Token
	Status       string // "active", "expired" or "revoked"
	ExpiringSoon bool   // active, expires within tokens.ExpiryWarning
}

type scimPage struct {
	frame
	BaseURL   string
	Tokens    []scimTokenRow
	Lifetimes []int
	Name      string // the create form's values
	Lifetime  int
	Errors    map[string]string // per input id
}

// scimCreatedPage shows a new token's secret, this once.
type scimCreatedPage struct {
	frame
	BaseURL string
	Token   scimTokenRow
	Secret  string
}

func (c *Console) scimBaseURL() string { return c.BaseURL + tokens.SCIMBasePath }

func scimRow(t tokens.Token, now time.Time) scimTokenRow {
	row := scimTokenRow{Token: t, Status: "active", ExpiringSoon: tokens.ExpiringSoon(t, now)}
	switch {
	case t.RevokedAt != nil:
		row.Status = "revoked"
	case !t.Active(now):
		row.Status = "expired"
	}
	return row
}

func (c *Console) scimTokens(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	c.renderSCIM(w, r, actor, http.StatusOK, "", 365, nil, "")
}

// renderSCIM shows the provisioning page with the create form's values and
// errors.
func (c *Console) renderSCIM(w http.ResponseWriter, r *http.Request, actor audit.Actor, status int, name string, lifetime int,
	fields map[string]string, errText string) {
	list, err := c.Tokens.ListSCIM(r.Context(), actor)
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	d := scimPage{frame: newFrame(scimNav), BaseURL: c.scimBaseURL(), Lifetimes: scimLifetimes, Name: name, Lifetime: lifetime, Errors: fields}
	now := time.Now()
	for _, t := range list {
		d.Tokens = append(d.Tokens, scimRow(t, now))
	}
	c.render(w, r, status, "console_scim", web.Page{Title: scimNav, Error: errText, Data: d})
}

var scimTokenFields = map[string]field{
	"name":      {"token-name", "Name"},
	"expiresAt": {"token-lifetime", "Expires after"},
}

func (c *Console) createSCIMToken(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	days, err := strconv.Atoi(r.PostFormValue("lifetime"))
	if err != nil || !slices.Contains(scimLifetimes, days) {
		c.renderSCIM(w, r, actor, http.StatusBadRequest, name, 365, map[string]string{"token-lifetime": "Choose one of the offered lifetimes."},
			"Check the highlighted fields.")
		return
	}
	exp := time.Now().Add(time.Duration(days) * 24 * time.Hour).UTC().Truncate(time.Second)
	t, secret, err := c.Tokens.CreateSCIM(r.Context(), actor, tokens.SCIMRequest{Name: name, ExpiresAt: &exp})
	if fields, general, status, ok := formError(err, scimTokenFields); ok {
		c.renderSCIM(w, r, actor, status, name, days, fields, general)
		return
	}
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	// The secret is rendered into this response only (never a redirect
	// URL); browser pages are sent with Cache-Control: no-store.
	c.render(w, r, http.StatusOK, "console_scim_created", web.Page{Title: "SCIM token created",
		Data: scimCreatedPage{frame: newFrame(scimNav), BaseURL: c.scimBaseURL(), Token: scimRow(t, time.Now()), Secret: secret}})
}

func (c *Console) revokeSCIMToken(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if _, err := c.Tokens.RevokeSCIM(r.Context(), actor, r.PathValue("id")); err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, "/console/scim", "scim-token-revoked")
}
