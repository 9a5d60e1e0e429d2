package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/idcenter/idcenter/client"
)

// AppsCmd groups the SAML application commands.
type AppsCmd struct {
	List         AppsListCmd         `cmd:"" aliases:"ls" help:"List SAML applications."`
	Get          AppsGetCmd          `cmd:"" help:"Show an application."`
	Create       AppsCreateCmd       `cmd:"" help:"Create an application from a catalog template or by hand."`
	Update       AppsUpdateCmd       `cmd:"" help:"Change an application; only the settings given as flags change."`
	Delete       AppsDeleteCmd       `cmd:"" aliases:"rm" help:"Delete an application with its certificates and assignments."`
	Assign       AppsAssignCmd       `cmd:"" help:"Give a user, or every member of a group, access to an application."`
	Unassign     AppsUnassignCmd     `cmd:"" help:"Remove a user's or group's access to an application."`
	Assignments  AppsAssignmentsCmd  `cmd:"" help:"List the users and groups assigned to an application."`
	Certificate  AppsCertificateCmd  `cmd:"" help:"Print the application's active signing certificate (PEM)."`
	Metadata     AppsMetadataCmd     `cmd:"" help:"Print the application's IdP metadata XML (give it to the service provider)."`
	Certificates AppsCertificatesCmd `cmd:"" help:"List and rotate an application's signing certificates."`
	Preview      AppsPreviewCmd      `cmd:"" help:"Show the Name ID and attributes a user would receive, with warnings."`
	Events       AppsEventsCmd       `cmd:"" help:"Recent SAML sign-in and sign-out events, each failure with its reason and the setting that fixes it."`
	Catalog      AppsCatalogCmd      `cmd:"" help:"List the application templates, or show one with its setup instructions."`
}

// AppSettings are the flags shared by apps create and apps update. Only the
// flags given are sent. In help text "$$" stands for a literal "$".
type AppSettings struct {
	Description           *string  `help:"What the application is for."`
	EntityID              *string  `name:"entity-id" help:"The service provider's entity ID (its SAML audience)." placeholder:"ID"`
	ACS                   []string `name:"acs" sep:"none" help:"Assertion consumer service URL (https; http only for loopback); repeat for more, the first is the default. Replaces all ACS URLs." placeholder:"URL"`
	SLOURL                *string  `name:"slo-url" help:"The service provider's single logout URL (\"\" removes it)." placeholder:"URL"`
	SLOBinding            *string  `name:"slo-binding" help:"Binding of the SLO URL: HTTP-Redirect (default) or HTTP-POST." placeholder:"BINDING"`
	StartURL              *string  `name:"start-url" help:"Application start URL: the portal sends users there (SP-initiated sign-in)." placeholder:"URL"`
	RelayState            *string  `name:"relay-state" help:"Default RelayState of IdP-initiated sign-in (at most 80 bytes)." placeholder:"STATE"`
	SessionDuration       *string  `name:"session-duration" help:"Session duration, ISO 8601 or Go syntax, 15m to 12h (default PT1H)." placeholder:"DURATION"`
	SigningMode           *string  `name:"signing-mode" help:"What idcenter signs: response, assertion or both (default)." placeholder:"MODE"`
	NameIDFormat          *string  `name:"name-id-format" help:"Name ID format: emailAddress, persistent, transient or unspecified." placeholder:"FORMAT"`
	NameID                *string  `name:"name-id" help:"Name ID value expression, e.g. '$${user:email}' (quote it for the shell)." placeholder:"EXPR"`
	Attribute             []string `sep:"none" help:"Attribute mapping NAME=EXPR[;FORMAT], e.g. 'email=$${user:email};basic' (FORMAT basic, uri or unspecified); repeat for more. Replaces all mappings." placeholder:"MAPPING"`
	SPCertificate         []string `name:"sp-certificate" sep:"none" help:"File holding a signing certificate of the service provider (PEM); repeat for more. Replaces them all." placeholder:"FILE"`
	RequireSignedRequests *bool    `name:"require-signed-requests" negatable:"" help:"Refuse AuthnRequests not signed with an SP certificate."`
	EncryptionCertificate *string  `name:"encryption-certificate" help:"File holding the service provider's encryption certificate (PEM)." placeholder:"FILE"`
	EncryptAssertions     *bool    `name:"encrypt-assertions" negatable:"" help:"Encrypt assertions for the service provider."`
	IncludeAWSRoles       *bool    `name:"include-aws-roles" negatable:"" help:"Add the AWS Role attribute: one value per role the user holds in cloud accounts."`
	AWSRoleAccount        []string `name:"aws-role-account" sep:"none" help:"With --include-aws-roles: only roles in this account (12-digit id); repeat for more. Replaces the list; none means all accounts." placeholder:"ID"`
}

// addTo adds the settings given as flags to an application object or merge patch.
func (s *AppSettings) addTo(m map[string]any) error {
	set := func(key string, v *string) {
		if v != nil {
			m[key] = *v
		}
	}
	set("description", s.Description)
	set("entityId", s.EntityID)
	set("sloUrl", s.SLOURL)
	set("sloBinding", s.SLOBinding)
	set("startUrl", s.StartURL)
	set("defaultRelayState", s.RelayState)
	set("sessionDuration", s.SessionDuration)
	set("signingMode", s.SigningMode)
	set("nameIdFormat", s.NameIDFormat)
	if s.NameIDFormat != nil && s.NameID == nil {
		m["nameId"] = "" // the server picks the format's default expression
	}
	set("nameId", s.NameID)
	if s.IncludeAWSRoles != nil {
		m["includeAwsRoles"] = *s.IncludeAWSRoles
		if !*s.IncludeAWSRoles {
			m["awsRoleAccounts"] = []string{} // the selection goes with the option
		}
	}
	if len(s.AWSRoleAccount) > 0 {
		m["awsRoleAccounts"] = s.AWSRoleAccount
	}
	if len(s.ACS) > 0 {
		acs := make([]map[string]any, len(s.ACS))
		for i, u := range s.ACS {
			acs[i] = map[string]any{"url": u, "index": i, "isDefault": i == 0}
		}
		m["acs"] = acs
	}
	if len(s.Attribute) > 0 {
		attrs := make([]client.AppAttribute, len(s.Attribute))
		for i, a := range s.Attribute {
			at, err := parseAttribute(a)
			if err != nil {
				return err
			}
			attrs[i] = at
		}
		m["attributes"] = attrs
	}
	if len(s.SPCertificate) > 0 {
		var certs []string
		for _, f := range s.SPCertificate {
			b, err := readCertFile("--sp-certificate", f)
			if err != nil {
				return err
			}
			certs = append(certs, b)
		}
		m["signingCertificates"] = certs
	}
	if s.EncryptionCertificate != nil {
		b := ""
		if *s.EncryptionCertificate != "" {
			var err error
			if b, err = readCertFile("--encryption-certificate", *s.EncryptionCertificate); err != nil {
				return err
			}
		}
		m["encryptionCertificate"] = b
	}
	if s.RequireSignedRequests != nil {
		m["requireSignedRequests"] = *s.RequireSignedRequests
	}
	if s.EncryptAssertions != nil {
		m["encryptAssertions"] = *s.EncryptAssertions
	}
	return nil
}

// maxCertFileBytes bounds a certificate file.
const maxCertFileBytes = 64 << 10

func readCertFile(flag, path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	if st.Size() > maxCertFileBytes {
		return "", fmt.Errorf("%s %s: larger than %d bytes; is it a certificate?", flag, path, maxCertFileBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	return string(b), nil
}

// parseAttribute reads NAME=EXPR[;FORMAT]. The format suffix is recognised
// only when it names a format, so expressions may contain ";".
func parseAttribute(s string) (client.AppAttribute, error) {
	name, expr, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(expr) == "" {
		return client.AppAttribute{}, fmt.Errorf("--attribute %q: want NAME=EXPR[;FORMAT], e.g. 'email=${user:email};basic'", oneLine(s))
	}
	format := ""
	if i := strings.LastIndex(expr, ";"); i >= 0 {
		switch f := strings.ToLower(strings.TrimSpace(expr[i+1:])); f {
		case "basic", "uri", "unspecified":
			format, expr = f, expr[:i]
		}
	}
	return client.AppAttribute{Name: strings.TrimSpace(name), Value: strings.TrimSpace(expr), NameFormat: format}, nil
}

// AppsListCmd lists applications.
type AppsListCmd struct{}

// Run lists the applications.
func (c *AppsListCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	list, err := api.ListApps(context.Background())
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(nonNil(list))
	}
	t := newTable(g.Stdout, "NAME", "TEMPLATE", "ENABLED", "ENTITY ID", "ID")
	for _, a := range list {
		t.row(a.DisplayName, a.Template, yesNo(a.Enabled), a.EntityID, a.ID)
	}
	return t.flush()
}

// AppsGetCmd shows an application.
type AppsGetCmd struct {
	App string `arg:"" help:"Application name or id."`
}

// Run shows the application.
func (c *AppsGetCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	a, err := api.GetApp(context.Background(), c.App)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(a)
	}
	return printApp(g, a)
}

func printApp(g *Globals, a client.App) error {
	d := newDetails(g.Stdout)
	d.add("Name", a.DisplayName)
	d.add("ID", a.ID)
	d.add("Description", a.Description)
	d.add("Template", a.Template)
	d.add("Enabled", yesNo(a.Enabled))
	d.add("Entity ID", a.EntityID)
	d.add("SP metadata URL", a.SPMetadataURL)
	if a.IncludeAWSRoles {
		accts := "all accounts"
		if len(a.AWSRoleAccounts) > 0 {
			accts = strings.Join(a.AWSRoleAccounts, ", ")
		}
		d.add("AWS roles", "included ("+accts+")")
	}
	if r := a.MetadataRefresh; r != nil {
		if r.RefreshedAt != nil {
			d.add("Metadata refreshed", r.RefreshedAt.UTC().Format(time.RFC3339))
		}
		if r.Error != "" {
			d.add("Metadata refresh error", r.Error)
		}
	}
	for _, e := range a.ACS {
		v := fmt.Sprintf("%s (index %d", e.URL, e.Index)
		if e.Default {
			v += ", default"
		}
		d.add("ACS URL", v+")")
	}
	if a.SLOURL != "" {
		d.add("SLO URL", a.SLOURL+" ("+shortBinding(a.SLOBinding)+")")
	}
	d.add("Start URL", a.StartURL)
	d.add("Relay state", a.DefaultRelayState)
	d.add("Session", a.SessionDuration)
	d.add("Signing", a.SigningMode)
	d.add("SP certificates", fmt.Sprint(len(a.SigningCertificates)))
	d.add("Signed requests", map[bool]string{true: "required", false: "optional"}[a.RequireSignedRequests])
	d.add("Encryption", map[bool]string{true: "assertions encrypted", false: "none"}[a.EncryptAssertions])
	d.add("Name ID", a.NameID+" ("+a.NameIDFormat+")")
	for _, at := range a.Attributes {
		d.add("Attribute", at.Name+" = "+at.Value+" ("+at.NameFormat+")")
	}
	d.add("IdP entity ID", a.IdPEntityID)
	d.add("IdP SSO URL", a.IdPSSOURL)
	d.add("IdP SLO URL", a.IdPSLOURL)
	d.add("IdP metadata", a.IdPMetadataURL)
	d.add("IdP start URL", a.IdPStartURL)
	d.add("Created", fmtTime(a.Created))
	d.add("Last modified", fmtTime(a.LastModified))
	d.add("Version", fmt.Sprint(a.Version))
	return d.flush()
}

func shortBinding(b string) string {
	if i := strings.LastIndex(b, ":"); i >= 0 {
		return b[i+1:]
	}
	return b
}

// AppsCreateCmd creates an application.
type AppsCreateCmd struct {
	Name       string `arg:"" help:"Display name of the new application."`
	Template   string `default:"custom" help:"Catalog template to start from (see 'idcenter apps catalog')." placeholder:"ID"`
	KeyBits    int    `name:"key-bits" help:"Size of the generated signing key: 2048 (default) or 3072." placeholder:"BITS"`
	Disabled   bool   `help:"Create the application disabled (nobody can sign in to it until enabled)."`
	SPMetadata string `name:"sp-metadata" help:"The service provider's SAML metadata: an XML file, - for stdin, or an https:// URL the server fetches; fills entity ID, ACS and SLO URLs, certificates and Name ID formats. Flags given win." placeholder:"FILE"`
	AppSettings
}

// Run creates the application.
func (c *AppsCreateCmd) Run(g *Globals) error {
	m := map[string]any{"displayName": c.Name}
	if err := c.AppSettings.addTo(m); err != nil {
		return err
	}
	var app client.App
	if err := roundTrip(m, &app); err != nil {
		return err
	}
	api, err := g.api()
	if err != nil {
		return err
	}
	req := client.AppRequest{Template: c.Template, KeyBits: c.KeyBits, Disabled: c.Disabled, App: app}
	if strings.HasPrefix(strings.ToLower(c.SPMetadata), "https://") {
		req.SPMetadataURL = c.SPMetadata
	} else if strings.HasPrefix(strings.ToLower(c.SPMetadata), "http://") {
		return errors.New("--sp-metadata: the server fetches metadata over https only")
	} else if c.SPMetadata != "" {
		var b []byte
		if c.SPMetadata == "-" {
			b, err = io.ReadAll(io.LimitReader(g.Stdin, 1<<20))
		} else {
			b, err = os.ReadFile(c.SPMetadata)
		}
		if err != nil {
			return fmt.Errorf("--sp-metadata: %w", err)
		}
		req.SPMetadata = string(b)
	}
	a, err := api.CreateApp(context.Background(), req)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(a)
	}
	g.printf("Created application %s (id %s).\n", oneLine(a.DisplayName), a.ID)
	return nil
}

// AppsUpdateCmd changes an application with a merge patch of the flags given.
type AppsUpdateCmd struct {
	App       string  `arg:"" help:"Application name or id."`
	Name      *string `help:"New display name." placeholder:"NEW"`
	Disabled  *bool   `help:"Disable the application (--disabled) or enable it (--disabled=false)."`
	IfVersion int64   `name:"if-version" help:"Only update if the application is still at this version (see 'apps get'); otherwise fail with 409." placeholder:"N"`
	AppSettings
}

// Run updates the application.
func (c *AppsUpdateCmd) Run(g *Globals) error {
	patch := map[string]any{}
	if c.Name != nil {
		patch["displayName"] = *c.Name
	}
	if c.Disabled != nil {
		patch["enabled"] = !*c.Disabled
	}
	if err := c.AppSettings.addTo(patch); err != nil {
		return err
	}
	if len(patch) == 0 {
		return errors.New("nothing to update: give at least one setting (see 'idcenter apps update --help')")
	}
	api, err := g.api()
	if err != nil {
		return err
	}
	a, err := api.UpdateApp(context.Background(), c.App, patch, c.IfVersion)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(a)
	}
	g.printf("Updated application %s (version %d).\n", oneLine(a.DisplayName), a.Version)
	return nil
}

// AppsDeleteCmd deletes an application.
type AppsDeleteCmd struct {
	App string `arg:"" help:"Application name or id."`
}

// Run deletes the application.
func (c *AppsDeleteCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	if err := api.DeleteApp(context.Background(), c.App); err != nil {
		return err
	}
	if !g.jsonOutput() {
		g.printf("Deleted application %s.\n", oneLine(c.App))
	}
	return nil
}

// principalFlags name the user or the group of an assignment.
type principalFlags struct {
	User  string `xor:"principal" required:"" help:"The user (userName or id)." placeholder:"USER"`
	Group string `xor:"principal" required:"" help:"The group (name or id)." placeholder:"GROUP"`
}

func (p principalFlags) principal() (string, string) {
	if p.Group != "" {
		return client.PrincipalGroup, p.Group
	}
	return client.PrincipalUser, p.User
}

// AppsAssignCmd assigns a user or a group.
type AppsAssignCmd struct {
	App string `arg:"" help:"Application name or id."`
	principalFlags
}

// Run assigns the user or group.
func (c *AppsAssignCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	kind, who := c.principal()
	as, err := api.AssignApp(context.Background(), c.App, kind, who)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(as)
	}
	g.printf("Assigned %s %s to %s.\n", kind, oneLine(as.PrincipalName), oneLine(c.App))
	return nil
}

// AppsUnassignCmd removes an assignment.
type AppsUnassignCmd struct {
	App string `arg:"" help:"Application name or id."`
	principalFlags
}

// Run removes the assignment.
func (c *AppsUnassignCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	kind, who := c.principal()
	if err := api.UnassignApp(context.Background(), c.App, kind, who); err != nil {
		return err
	}
	if !g.jsonOutput() {
		g.printf("Unassigned %s %s from %s.\n", kind, oneLine(who), oneLine(c.App))
	}
	return nil
}

// AppsAssignmentsCmd lists assignments.
type AppsAssignmentsCmd struct {
	App string `arg:"" help:"Application name or id."`
}

// Run lists the assignments.
func (c *AppsAssignmentsCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	list, err := api.ListAppAssignments(context.Background(), c.App)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(nonNil(list))
	}
	t := newTable(g.Stdout, "TYPE", "NAME", "ID")
	for _, a := range list {
		t.row(a.PrincipalType, a.PrincipalName, a.PrincipalID)
	}
	return t.flush()
}

// AppsCertificateCmd prints the active certificate.
type AppsCertificateCmd struct {
	App string `arg:"" help:"Application name or id."`
}

// Run prints the PEM.
func (c *AppsCertificateCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	b, err := api.AppCertificatePEM(context.Background(), c.App)
	if err != nil {
		return err
	}
	_, err = g.Stdout.Write(b)
	return err
}

// AppsMetadataCmd prints the IdP metadata.
type AppsMetadataCmd struct {
	App string `arg:"" help:"Application name or id."`
}

// Run prints the XML.
func (c *AppsMetadataCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	b, err := api.AppMetadata(context.Background(), c.App)
	if err != nil {
		return err
	}
	_, err = g.Stdout.Write(b)
	return err
}

// AppsCertificatesCmd groups the certificate rotation commands.
type AppsCertificatesCmd struct {
	List     AppsCertListCmd     `cmd:"" aliases:"ls" help:"List the signing certificates: active, next and retired."`
	Add      AppsCertAddCmd      `cmd:"" help:"Generate the next certificate; metadata publishes it beside the active one."`
	Activate AppsCertActivateCmd `cmd:"" help:"Sign with a certificate from now on; the active one is retired."`
	Remove   AppsCertRemoveCmd   `cmd:"" aliases:"rm" help:"Remove a next or retired certificate."`
}

// AppsCertListCmd lists certificates.
type AppsCertListCmd struct {
	App string `arg:"" help:"Application name or id."`
}

// Run lists the certificates.
func (c *AppsCertListCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	list, err := api.ListAppCertificates(context.Background(), c.App)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(nonNil(list))
	}
	t := newTable(g.Stdout, "STATUS", "EXPIRES", "KEY", "ID", "SHA-256")
	for _, ct := range list {
		t.row(ct.Status, fmtTime(ct.NotAfter), fmt.Sprintf("RSA %d", ct.KeyBits), ct.ID, ct.SHA256)
	}
	return t.flush()
}

// AppsCertAddCmd adds the next certificate.
type AppsCertAddCmd struct {
	App        string `arg:"" help:"Application name or id."`
	KeyBits    int    `name:"key-bits" help:"Key size: 2048 (default) or 3072." placeholder:"BITS"`
	ActivateAt string `name:"activate-at" help:"Activate the certificate by itself at this time (RFC 3339, e.g. 2030-01-02T15:04:05Z; in the future)." placeholder:"TIME"`
}

// Run adds the certificate.
func (c *AppsCertAddCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	var at time.Time
	if c.ActivateAt != "" {
		if at, err = time.Parse(time.RFC3339, c.ActivateAt); err != nil {
			return fmt.Errorf("--activate-at: %q is not an RFC 3339 time (e.g. 2030-01-02T15:04:05Z)", c.ActivateAt)
		}
	}
	ct, err := api.AddScheduledAppCertificate(context.Background(), c.App, c.KeyBits, at)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(ct)
	}
	g.printf("Added next certificate %s (expires %s).\n", ct.ID, fmtTime(ct.NotAfter))
	if ct.ActivateAt != nil {
		g.printf("It becomes the active certificate at %s; make sure the service provider has the new metadata by then.\n", fmtTime(*ct.ActivateAt))
		return nil
	}
	g.notef("Once the service provider has the new metadata, run 'idcenter apps certificates activate %s %s'.\n", oneLine(c.App), ct.ID)
	return nil
}

// AppsCertActivateCmd activates a certificate.
type AppsCertActivateCmd struct {
	App         string `arg:"" help:"Application name or id."`
	Certificate string `arg:"" help:"Certificate id (see 'apps certificates list')."`
}

// Run activates the certificate.
func (c *AppsCertActivateCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	ct, err := api.ActivateAppCertificate(context.Background(), c.App, c.Certificate)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(ct)
	}
	g.printf("Certificate %s is now active.\n", ct.ID)
	return nil
}

// AppsCertRemoveCmd removes a certificate.
type AppsCertRemoveCmd struct {
	App         string `arg:"" help:"Application name or id."`
	Certificate string `arg:"" help:"Certificate id (see 'apps certificates list')."`
}

// Run removes the certificate.
func (c *AppsCertRemoveCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	if err := api.RemoveAppCertificate(context.Background(), c.App, c.Certificate); err != nil {
		return err
	}
	if !g.jsonOutput() {
		g.printf("Removed certificate %s.\n", oneLine(c.Certificate))
	}
	return nil
}

// AppsPreviewCmd previews what a user would receive.
type AppsPreviewCmd struct {
	App  string `arg:"" help:"Application name or id."`
	User string `required:"" help:"The user (userName or id)." placeholder:"USER"`
	XML  bool   `name:"xml" help:"Print the SAML Response with the assertion the user would receive (signed, not encrypted)."`
}

// Run shows the preview.
func (c *AppsPreviewCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	p, err := api.PreviewApp(context.Background(), c.App, c.User)
	if err != nil {
		return err
	}
	if c.XML {
		if p.AssertionXML == "" {
			return errors.New("the server returned no assertion XML (see the warnings: idcenter apps preview without --xml)")
		}
		_, err := io.WriteString(g.Stdout, strings.TrimRight(p.AssertionXML, "\n")+"\n")
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(p)
	}
	d := newDetails(g.Stdout)
	d.add("Application", p.AppName)
	d.add("User", p.UserName)
	d.add("Assigned", yesNo(p.Assigned))
	d.add("Audience", p.Audience)
	d.add("Destination", p.Destination)
	d.add("Session", p.SessionDuration)
	d.add("Name ID", p.NameID)
	d.add("Name ID format", p.NameIDFormat)
	for _, a := range p.Attributes {
		d.add("Attribute", a.Name+" = "+strings.Join(a.Values, ", "))
	}
	for _, w := range p.Warnings {
		d.add("Warning", w)
	}
	return d.flush()
}

// AppsCatalogCmd lists templates or shows one.
type AppsCatalogCmd struct {
	Template string `arg:"" optional:"" help:"Show this template with its setup instructions."`
}

// Run lists or shows templates.
func (c *AppsCatalogCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	list, err := api.Catalog(context.Background())
	if err != nil {
		return err
	}
	if c.Template == "" {
		if g.jsonOutput() {
			return g.printJSON(nonNil(list))
		}
		t := newTable(g.Stdout, "ID", "NAME", "ENTITY ID")
		for _, tpl := range list {
			t.row(tpl.ID, tpl.Name, tpl.EntityID)
		}
		return t.flush()
	}
	for _, tpl := range list {
		if !strings.EqualFold(tpl.ID, c.Template) {
			continue
		}
		if g.jsonOutput() {
			return g.printJSON(tpl)
		}
		d := newDetails(g.Stdout)
		d.add("Template", tpl.ID)
		d.add("Name", tpl.Name)
		d.add("Entity ID", tpl.EntityID)
		for _, e := range tpl.ACS {
			d.add("ACS URL", e.URL)
		}
		d.add("Start URL", tpl.StartURL)
		d.add("Name ID", tpl.NameID+" ("+tpl.NameIDFormat+")")
		for _, at := range tpl.Attributes {
			d.add("Attribute", at.Name+" = "+at.Value+" ("+at.NameFormat+")")
		}
		d.add("Documentation", tpl.Documentation)
		if err := d.flush(); err != nil {
			return err
		}
		g.printf("\n%s", safeText(tpl.Instructions))
		return nil
	}
	return fmt.Errorf("no template %q; see 'idcenter apps catalog'", oneLine(c.Template))
}

// safeText keeps newlines but drops other control characters, so
// server-supplied multi-line text prints safely.
func safeText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x200b && r <= 0x200f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return -1
		}
		return r
	}, s)
}
