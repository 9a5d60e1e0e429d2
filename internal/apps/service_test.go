package apps_test

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

func withACS(url string) apps.CreateRequest {
	r := custom("App", "https://sp.example.com")
	r.ACS = []apps.ACS{{URL: url}}
	return r
}

func TestCreateValidation(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		mod := func(fn func(r *apps.CreateRequest)) apps.CreateRequest {
			r := custom("App", "https://sp.example.com")
			fn(&r)
			return r
		}
		for _, tc := range []struct {
			name   string
			req    apps.CreateRequest
			want   []string
			reason string // part of the first field's reason
		}{
			// ACS locations (SECURITY.md IDP-03): https, or http on loopback only.
			{"javascript ACS", withACS("javascript:alert(document.domain)"), []string{"acs[0].url"}, "https://"},
			{"javascript ACS in capitals", withACS("JavaScript:alert(1)"), []string{"acs[0].url"}, "https://"},
			{"data ACS", withACS("data:text/html,<script>alert(1)</script>"), []string{"acs[0].url"}, ""},
			{"vbscript ACS", withACS("vbscript:msgbox(1)"), []string{"acs[0].url"}, "https://"},
			{"file ACS", withACS("file:///etc/passwd"), []string{"acs[0].url"}, "https://"},
			{"ftp ACS", withACS("ftp://sp.example.com/acs"), []string{"acs[0].url"}, "https://"},
			{"http ACS on a public host", withACS("http://sp.example.com/acs"), []string{"acs[0].url"}, "loopback"},
			{"http ACS on a private address", withACS("http://10.0.0.1/acs"), []string{"acs[0].url"}, "loopback"},
			{"http ACS on a loopback-looking name", withACS("http://127.0.0.1.evil.example/acs"), []string{"acs[0].url"}, "loopback"},
			{"http ACS on mapped private address", withACS("http://[::ffff:10.0.0.1]/acs"), []string{"acs[0].url"}, "loopback"},
			{"markup in ACS", withACS(`https://x/"><script>alert(1)</script>`), []string{"acs[0].url"}, "quotes"},
			{"quote in ACS", withACS(`https://sp.example.com/acs?a='b'`), []string{"acs[0].url"}, "quotes"},
			{"relative ACS", withACS("/saml/acs"), []string{"acs[0].url"}, "absolute"},
			{"scheme-relative ACS", withACS("//sp.example.com/acs"), []string{"acs[0].url"}, "absolute"},
			{"ACS without host", withACS("https:///acs"), []string{"acs[0].url"}, "host"},
			{"ACS with opaque part", withACS("https:sp.example.com"), []string{"acs[0].url"}, "host"},
			{"ACS with credentials", withACS("https://user:pw@sp.example.com/acs"), []string{"acs[0].url"}, "password"},
			{"ACS with fragment", withACS("https://sp.example.com/acs#x"), []string{"acs[0].url"}, "fragment"},
			{"ACS with a space", withACS("https://sp.example.com/a cs"), []string{"acs[0].url"}, "spaces"},
			{"ACS with a newline", withACS("https://sp.example.com/acs\nX: y"), []string{"acs[0].url"}, "spaces"},
			{"ACS with a bad port", withACS("https://sp.example.com:99999999/acs"), []string{"acs[0].url"}, ""},
			{"ACS too long", withACS("https://sp.example.com/" + strings.Repeat("a", apps.MaxURLLen)), []string{"acs[0].url"}, "at most"},
			{"ACS placeholder", withACS("https://heapanalytics.com/saml/finalize/<app-id>/"), []string{"acs[0].url"}, "<app-id>"},
			{"empty ACS URL", withACS("  "), []string{"acs[0].url"}, "required"},
			{"no ACS", mod(func(r *apps.CreateRequest) { r.ACS = nil }), []string{"acs"}, "at least one"},
			{"redirect binding for ACS", mod(func(r *apps.CreateRequest) { r.ACS[0].Binding = "HTTP-Redirect" }), []string{"acs[0].binding"}, "HTTP-POST"},
			{"unknown binding", mod(func(r *apps.CreateRequest) { r.ACS[0].Binding = "SOAP" }), []string{"acs[0].binding"}, ""},
			{"two defaults", mod(func(r *apps.CreateRequest) {
				r.ACS = []apps.ACS{{URL: "https://a.example/acs", Index: 1, Default: true}, {URL: "https://b.example/acs", Index: 2, Default: true}}
			}), []string{"acs"}, "default"},
			{"duplicate index", mod(func(r *apps.CreateRequest) {
				r.ACS = []apps.ACS{{URL: "https://a.example/acs", Index: 3}, {URL: "https://b.example/acs", Index: 3}}
			}), []string{"acs[1].index"}, "acs[0]"},
			{"duplicate ACS", mod(func(r *apps.CreateRequest) {
				r.ACS = []apps.ACS{{URL: "https://a.example/acs"}, {URL: "https://a.example/acs"}}
			}), []string{"acs[1].url"}, "repeats"},
			{"second ACS bad", mod(func(r *apps.CreateRequest) {
				r.ACS = append(r.ACS, apps.ACS{URL: "javascript:alert(1)"})
			}), []string{"acs[1].url"}, ""},
			{"javascript SLO", mod(func(r *apps.CreateRequest) { r.SLOURL = "javascript:alert(1)" }), []string{"sloUrl"}, ""},
			{"SLO binding", mod(func(r *apps.CreateRequest) { r.SLOURL, r.SLOBinding = "https://sp.example.com/slo", "SOAP" }), []string{"sloBinding"}, ""},
			{"javascript start URL", mod(func(r *apps.CreateRequest) { r.StartURL = "javascript:alert(1)" }), []string{"startUrl"}, ""},
			{"http start URL", mod(func(r *apps.CreateRequest) { r.StartURL = "http://sp.example.com/" }), []string{"startUrl"}, "loopback"},

			{"missing name", mod(func(r *apps.CreateRequest) { r.DisplayName = " " }), []string{"displayName"}, "required"},
			{"long name", mod(func(r *apps.CreateRequest) { r.DisplayName = strings.Repeat("n", apps.MaxNameLen+1) }), []string{"displayName"}, "at most"},
			{"missing entity ID", mod(func(r *apps.CreateRequest) { r.EntityID = "" }), []string{"entityId"}, "required"},
			{"entity ID with spaces", mod(func(r *apps.CreateRequest) { r.EntityID = "urn:a b" }), []string{"entityId"}, "spaces"},
			{"entity ID placeholder", mod(func(r *apps.CreateRequest) { r.EntityID = "https://github.com/orgs/<organization>" }), []string{"entityId"}, "<organization>"},
			{"long relay state", mod(func(r *apps.CreateRequest) { r.DefaultRelayState = strings.Repeat("r", 81) }), []string{"defaultRelayState"}, "80 bytes"},
			{"short session", mod(func(r *apps.CreateRequest) { r.SessionDuration = "PT10M" }), []string{"sessionDuration"}, "15 minutes"},
			{"long session", mod(func(r *apps.CreateRequest) { r.SessionDuration = "13h" }), []string{"sessionDuration"}, "12 hours"},
			{"bad session", mod(func(r *apps.CreateRequest) { r.SessionDuration = "an hour" }), []string{"sessionDuration"}, "duration"},
			{"bad ISO session", mod(func(r *apps.CreateRequest) { r.SessionDuration = "P1Y" }), []string{"sessionDuration"}, "unit"},
			{"garbage SP certificate", mod(func(r *apps.CreateRequest) { r.SigningCertificates = []string{"not a certificate"} }), []string{"signingCertificates[0]"}, ""},
			{"signed requests without certificate", mod(func(r *apps.CreateRequest) { r.RequireSignedRequests = true }), []string{"requireSignedRequests"}, "certificate"},
			{"encryption without certificate", mod(func(r *apps.CreateRequest) { r.EncryptAssertions = true }), []string{"encryptAssertions"}, "certificate"},
			{"bad signing mode", mod(func(r *apps.CreateRequest) { r.SigningMode = "neither" }), []string{"signingMode"}, ""},
			{"bad Name ID format", mod(func(r *apps.CreateRequest) { r.NameIDFormat = "kerberos" }), []string{"nameIdFormat"}, ""},
			{"bad Name ID variable", mod(func(r *apps.CreateRequest) { r.NameID = "${user:mail}" }), []string{"nameId"}, "${user:mail} at position 1"},
			{"multi-valued Name ID", mod(func(r *apps.CreateRequest) { r.NameID = "${user:groups}" }), []string{"nameId"}, "multi-valued"},
			{"bad attribute variable", mod(func(r *apps.CreateRequest) {
				r.Attributes = []apps.Attribute{{Name: "ok", Value: "${user:email}"}, {Name: "dept", Value: "${user:givenName} ${path:departmnt}"}}
			}), []string{"attributes[1].value"}, "${path:departmnt} at position 19"},
			{"groups in concatenation", mod(func(r *apps.CreateRequest) {
				r.Attributes = []apps.Attribute{{Name: "g", Value: "g=${user:groups}"}}
			}), []string{"attributes[0].value"}, "${user:groups} at position 3"},
			{"duplicate attribute", mod(func(r *apps.CreateRequest) {
				r.Attributes = []apps.Attribute{{Name: "mail", Value: "${user:email}"}, {Name: "mail", Value: "${user:email}"}}
			}), []string{"attributes[1].name"}, "attributes[0]"},
			{"attribute without name or value", mod(func(r *apps.CreateRequest) {
				r.Attributes = []apps.Attribute{{}}
			}), []string{"attributes[0].name", "attributes[0].value"}, ""},
			{"attribute name format", mod(func(r *apps.CreateRequest) {
				r.Attributes = []apps.Attribute{{Name: "mail", Value: "${user:email}", NameFormat: "xml"}}
			}), []string{"attributes[0].nameFormat"}, ""},
			{"unknown template", mod(func(r *apps.CreateRequest) { r.Template = "nope" }), []string{"template"}, "heap"},
			{"key size", mod(func(r *apps.CreateRequest) { r.KeyBits = 1024 }), []string{"keyBits"}, ""},
			{"heap template needs its app id", apps.CreateRequest{Template: "heap"}, []string{"acs[0].url"}, "<app-id>"},
			{"every problem at once", apps.CreateRequest{Application: apps.Application{
				ACS: []apps.ACS{{URL: "javascript:x"}}, NameID: "${user:x}", SessionDuration: "1m",
			}}, []string{"displayName", "entityId", "acs[0].url", "nameId", "sessionDuration"}, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.svc.Create(ctx, admin, tc.req)
				wantFields(t, err, tc.want...)
				if tc.reason != "" && !strings.Contains(reason(err, tc.want[0]), tc.reason) {
					t.Errorf("%s: reason %q does not mention %q", tc.want[0], reason(err, tc.want[0]), tc.reason)
				}
			})
		}
		if list, _ := f.svc.List(ctx, admin); len(list) != 0 {
			t.Errorf("invalid creates stored %d apps", len(list))
		}
		if evs := events(t, s); len(evs) != 0 {
			t.Errorf("invalid creates wrote %d audit events", len(evs))
		}
	})
}

func TestCreateAcceptsAndNormalises(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		for i, acs := range []string{"https://sp.example.com/acs", "http://localhost:8080/acs", "http://127.0.0.2/acs",
			"http://[::1]:9000/acs", "HTTPS://SP.example.com/acs?x=1&y=2", "https://sp.example.com:8443/saml/acs/"} {
			r := withACS(acs)
			r.DisplayName, r.EntityID = fmt.Sprintf("App %d", i), fmt.Sprintf("urn:sp:%d", i)
			if _, err := f.svc.Create(ctx, admin, r); err != nil {
				t.Errorf("ACS %q refused: %v", acs, err)
			}
		}
		r := custom("  Wiki  ", " https://wiki.example.com/sp ")
		r.ACS = []apps.ACS{{URL: "https://wiki.example.com/acs/2", Index: 2}, {URL: " https://wiki.example.com/acs/5 ", Index: 5, Binding: "post"}}
		r.SessionDuration = "1h30m"
		r.NameIDFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
		r.SLOURL = "https://wiki.example.com/slo"
		r.Attributes = []apps.Attribute{{Name: "mail", Value: "${USER:Email}"}, {Name: "dept", Value: "${path:enterprise.department}", NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"}}
		a := f.app(t, r)
		want := apps.Application{
			ID: a.ID, DisplayName: "Wiki", EntityID: "https://wiki.example.com/sp",
			ACS: []apps.ACS{
				{URL: "https://wiki.example.com/acs/2", Binding: apps.BindingPOST, Index: 2, Default: true},
				{URL: "https://wiki.example.com/acs/5", Binding: apps.BindingPOST, Index: 5},
			},
			SLOURL: "https://wiki.example.com/slo", SLOBinding: apps.BindingRedirect,
			SessionDuration: "PT1H30M", SigningMode: apps.SignBoth,
			NameIDFormat: apps.NameIDPersistent, NameID: "${user:subject}",
			Attributes: []apps.Attribute{
				{Name: "mail", Value: "${user:email}", NameFormat: apps.NameFormatUnspecified},
				{Name: "dept", Value: "${path:enterprise.department}", NameFormat: apps.NameFormatBasic},
			},
			Template: apps.TemplateCustom, Enabled: true, Created: a.Created, LastModified: a.LastModified, Version: 1,
		}
		if d := diff(want, a); d != "" {
			t.Errorf("created (-want +got):\n%s", d)
		}
		got, err := f.svc.Get(ctx, auditor, "WIKI")
		if err != nil {
			t.Fatal(err)
		}
		if d := diff(a, got); d != "" {
			t.Errorf("stored differs from returned (-returned +stored):\n%s", d)
		}
		if got, err := f.svc.ByEntityID(ctx, "https://wiki.example.com/sp"); err != nil || got.ID != a.ID {
			t.Errorf("ByEntityID: %v %v", got.ID, err)
		}
		if _, err := f.svc.ByEntityID(ctx, "https://WIKI.example.com/sp"); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("entity IDs match exactly, got %v", err)
		}
		evs := events(t, s)
		last := evs[len(evs)-1]
		if last.Action != "app.create" || last.TargetID != a.ID || last.Summary["certificate"] == nil {
			t.Errorf("last event %+v", last)
		}
	})
}

func TestConflicts(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		f.app(t, custom("Wiki", "https://wiki.example.com"))
		other := f.app(t, custom("Chat", "https://chat.example.com"))
		for _, tc := range []struct {
			name  string
			err   func() error
			field string
		}{
			{"same name in another case", func() error {
				_, err := f.svc.Create(ctx, admin, custom("WIKI", "https://other.example.com"))
				return err
			}, "displayName"},
			{"same entity ID", func() error {
				_, err := f.svc.Create(ctx, admin, custom("Other", "https://wiki.example.com"))
				return err
			}, "entityId"},
			{"rename onto another", func() error {
				_, err := f.svc.Update(ctx, admin, other.ID, 0, func(a *apps.Application) error { a.DisplayName = "wiki"; return nil })
				return err
			}, "displayName"},
			{"entity ID onto another", func() error {
				_, err := f.svc.Update(ctx, admin, "chat", 0, func(a *apps.Application) error { a.EntityID = "https://wiki.example.com"; return nil })
				return err
			}, "entityId"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var c *errs.Conflict
				if err := tc.err(); !errors.As(err, &c) || c.Kind != "app" || c.Field != tc.field {
					t.Fatalf("error %v, want an app conflict on %s", err, tc.field)
				}
			})
		}
		if list, _ := f.svc.List(ctx, admin); len(list) != 2 {
			t.Errorf("apps after conflicts: %d", len(list))
		}
	})
}

func TestCatalogTemplates(t *testing.T) {
	cat := apps.Catalog()
	if len(cat) < 6 || cat[0].ID != apps.TemplateCustom {
		t.Fatalf("catalog: %d entries, first %q", len(cat), cat[0].ID)
	}
	for _, id := range []string{"custom", "heap", "nops", "aws-account", "slack", "datadog", "github-enterprise"} {
		if _, ok := apps.LookupTemplate(id); !ok {
			t.Errorf("catalog lacks %s", id)
		}
	}
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		fill := strings.NewReplacer("<app-id>", "1234567890", "<workspace>", "acme", "<organization>", "acme",
			"<entity-id-from-nops>", "https://app.nops.io/saml", "https://<acs-url-from-nops>", "https://app.nops.io/saml/acs")
		for _, tpl := range apps.Catalog() {
			t.Run(tpl.ID, func(t *testing.T) {
				req := apps.CreateRequest{Template: tpl.ID, Application: apps.Application{Enabled: true}}
				if tpl.ID == apps.TemplateCustom {
					req = custom("Custom one", "urn:custom")
					req.Template = tpl.ID
				}
				for _, e := range tpl.ACS {
					e.URL = fill.Replace(e.URL)
					req.ACS = append(req.ACS, e)
				}
				if strings.Contains(tpl.EntityID, "<") {
					req.EntityID = fill.Replace(tpl.EntityID)
				}
				if strings.Contains(tpl.StartURL, "<") {
					req.StartURL = fill.Replace(tpl.StartURL)
				}
				a, err := f.svc.Create(ctx, admin, req)
				if err != nil {
					t.Fatalf("template %s with placeholders filled: %v", tpl.ID, err)
				}
				if a.Template != tpl.ID || strings.TrimSpace(tpl.Instructions) == "" {
					t.Errorf("template %q, instructions %q", a.Template, tpl.Instructions)
				}
			})
		}
		heap, err := f.svc.Get(ctx, admin, "Heap")
		if err != nil {
			t.Fatal(err)
		}
		if heap.EntityID != "heapanalytics.com" || heap.ACS[0].URL != "https://heapanalytics.com/saml/finalize/1234567890/" ||
			heap.NameIDFormat != apps.NameIDEmail || heap.NameID != "${user:email}" ||
			diff([]apps.Attribute{{Name: "NameId", Value: "${user:email}", NameFormat: "unspecified"}}, heap.Attributes) != "" {
			t.Errorf("heap: %+v", heap)
		}
		aws, err := f.svc.Get(ctx, admin, "External AWS Account")
		if err != nil {
			t.Fatal(err)
		}
		if aws.EntityID != "urn:amazon:webservices" || aws.ACS[0].URL != "https://signin.aws.amazon.com/saml" ||
			aws.NameIDFormat != apps.NameIDPersistent || aws.NameID != "${user:subject}" {
			t.Errorf("aws: %+v", aws)
		}
		nops, err := f.svc.Get(ctx, admin, "nOps")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, at := range nops.Attributes {
			names = append(names, at.Name+"="+at.Value+";"+at.NameFormat)
		}
		want := []string{"User.Email=${user:email};basic", "User.FirstName=${user:givenName};basic", "User.LastName=${user:familyName};basic"}
		if nops.NameIDFormat != apps.NameIDEmail || nops.NameID != "${user:subject}" || diff(want, names) != "" {
			t.Errorf("nops: %s %s %v", nops.NameIDFormat, nops.NameID, names)
		}
	})
}

func TestCreateFromMetadata(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		spCert := f.app(t, custom("Cert source", "urn:cert-source"))
		cs, err := f.svc.ListCertificates(context.Background(), admin, spCert.ID)
		if err != nil {
			t.Fatal(err)
		}
		pemCert := cs[0].PEM
		der := strings.Join(strings.Split(strings.TrimSpace(pemCert), "\n")[1:len(strings.Split(strings.TrimSpace(pemCert), "\n"))-1], "")
		a := f.app(t, apps.CreateRequest{
			Application: apps.Application{DisplayName: "From metadata", Enabled: true, Attributes: []apps.Attribute{{Name: "uid", Value: "${user:preferredUsername}"}}},
			Metadata: &apps.SPMetadata{
				EntityID: "https://sp.example.org/metadata",
				ACS: []apps.ACS{{URL: "https://sp.example.org/acs/post", Binding: apps.BindingPOST, Index: 1},
					{URL: "https://sp.example.org/acs/other", Binding: apps.BindingPOST, Index: 2, Default: true}},
				SLOURL: "https://sp.example.org/slo", SLOBinding: apps.BindingPOST,
				SigningCertificates: []string{der}, EncryptionCertificate: pemCert, AuthnRequestsSigned: true,
				NameIDFormats: []string{"urn:oasis:names:tc:SAML:2.0:nameid-format:transient"},
			},
		})
		if a.EntityID != "https://sp.example.org/metadata" || len(a.ACS) != 2 || !a.ACS[1].Default || a.ACS[0].Default ||
			a.SLOBinding != apps.BindingPOST || !a.RequireSignedRequests || a.NameIDFormat != apps.NameIDTransient ||
			len(a.SigningCertificates) != 1 || a.SigningCertificates[0] != pemCert || a.EncryptionCertificate != pemCert {
			t.Errorf("from metadata: %+v", a)
		}
	})
}

func TestUpdate(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		a := f.app(t, custom("Wiki", "https://wiki.example.com"))
		up, err := f.svc.Update(ctx, admin, "wiki", 1, func(x *apps.Application) error {
			x.Description = "Team wiki"
			x.Template, x.ID, x.Version = "heap", "other", 99 // ignored
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if up.Version != 2 || up.Description != "Team wiki" || up.Template != apps.TemplateCustom || up.ID != a.ID {
			t.Errorf("updated: %+v", up)
		}
		_, err = f.svc.Update(ctx, admin, "wiki", 1, func(x *apps.Application) error { x.Description = "stale"; return nil })
		var c *errs.Conflict
		if !errors.As(err, &c) || !c.Stale {
			t.Errorf("stale update: %v", err)
		}
		same, err := f.svc.Update(ctx, admin, a.ID, 0, func(x *apps.Application) error { return nil })
		if err != nil || same.Version != 2 {
			t.Errorf("no-op update: %v version %d", err, same.Version)
		}
		_, err = f.svc.Update(ctx, admin, a.ID, 0, func(x *apps.Application) error { x.ACS[0].URL = "javascript:alert(1)"; return nil })
		wantFields(t, err, "acs[0].url")
		if cur, _ := f.svc.Get(ctx, admin, a.ID); cur.ACS[0].URL != "https://sp.example.com/saml/acs" {
			t.Errorf("rejected update changed the ACS to %q", cur.ACS[0].URL)
		}
		if _, err := f.svc.Update(ctx, admin, a.ID, 0, func(x *apps.Application) error { x.Enabled = false; return nil }); err != nil {
			t.Fatal(err)
		}
		if got := actionsOf(events(t, s), "app."); diff([]string{"app.create", "app.update", "app.disable"}, got) != "" {
			t.Errorf("actions %v", got)
		}
		if err := f.svc.Delete(ctx, admin, "WIKI"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Get(ctx, admin, a.ID); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("after delete: %v", err)
		}
		var n int
		if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM app_certificates`).Scan(&n); err != nil || n != 0 {
			t.Errorf("certificates left after delete: %d %v", n, err)
		}
	})
}

func TestAuthorization(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		a := f.app(t, custom("Wiki", "https://wiki.example.com"))
		f.user(t, "alice", "alice@example.com")
		reads := map[string]func() error{
			"get":          func() error { _, err := f.svc.Get(ctx, auditor, a.ID); return err },
			"list":         func() error { _, err := f.svc.List(ctx, auditor); return err },
			"assignments":  func() error { _, err := f.svc.ListAssignments(ctx, auditor, a.ID); return err },
			"certificates": func() error { _, err := f.svc.ListCertificates(ctx, auditor, a.ID); return err },
			"certificate":  func() error { _, err := f.svc.ActiveCertificate(ctx, auditor, a.ID); return err },
			"preview":      func() error { _, err := f.svc.Preview(ctx, auditor, a.ID, "alice"); return err },
		}
		for name, fn := range reads {
			if err := fn(); err != nil {
				t.Errorf("auditor %s: %v", name, err)
			}
		}
		writes := map[string]func() error{
			"create": func() error { _, err := f.svc.Create(ctx, auditor, custom("X", "urn:x")); return err },
			"update": func() error {
				_, err := f.svc.Update(ctx, auditor, a.ID, 0, func(*apps.Application) error { return nil })
				return err
			},
			"delete":   func() error { return f.svc.Delete(ctx, auditor, a.ID) },
			"assign":   func() error { _, err := f.svc.Assign(ctx, auditor, a.ID, "user", "alice"); return err },
			"unassign": func() error { return f.svc.Unassign(ctx, auditor, a.ID, "user", "alice") },
			"add cert": func() error { _, err := f.svc.AddCertificate(ctx, auditor, a.ID, 0); return err },
			"activate": func() error { _, err := f.svc.ActivateCertificate(ctx, auditor, a.ID, "x"); return err },
			"remove":   func() error { return f.svc.RemoveCertificate(ctx, auditor, a.ID, "x") },
		}
		for name, fn := range writes {
			if err := fn(); !errors.Is(err, errs.ErrForbidden) {
				t.Errorf("auditor %s: %v, want forbidden", name, err)
			}
		}
		if _, err := f.svc.Get(ctx, member, a.ID); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("roleless read: %v", err)
		}
	})
}

func TestAssignments(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		wiki := f.app(t, custom("Wiki", "https://wiki.example.com"))
		chat := f.app(t, custom("Chat", "https://chat.example.com"))
		alice := f.user(t, "alice", "alice@example.com")
		bob := f.user(t, "bob", "bob@example.com")
		carol := f.user(t, "carol", "")
		devs := f.group(t, "Developers", "alice", "bob")

		assigned := func(app, user string) bool {
			t.Helper()
			ok, err := f.svc.IsAssigned(ctx, app, user)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if assigned(wiki.ID, alice.ID) {
			t.Fatal("assigned before any assignment")
		}
		if _, err := f.svc.Assign(ctx, admin, "wiki", apps.PrincipalGroup, "developers"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Assign(ctx, admin, wiki.ID, apps.PrincipalUser, carol.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Assign(ctx, admin, "Chat", apps.PrincipalUser, "bob"); err != nil {
			t.Fatal(err)
		}
		// assigning twice changes nothing and writes no event
		again, err := f.svc.Assign(ctx, admin, "Chat", apps.PrincipalUser, "BOB")
		if err != nil || again.PrincipalID != bob.ID || again.PrincipalName != "bob" {
			t.Fatalf("second assign: %+v %v", again, err)
		}
		for _, tc := range []struct {
			app, user string
			want      bool
		}{
			{wiki.ID, alice.ID, true}, {wiki.ID, bob.ID, true}, {wiki.ID, carol.ID, true},
			{chat.ID, alice.ID, false}, {chat.ID, bob.ID, true}, {chat.ID, carol.ID, false},
		} {
			if got := assigned(tc.app, tc.user); got != tc.want {
				t.Errorf("IsAssigned(%s, %s) = %v, want %v", tc.app, tc.user, got, tc.want)
			}
		}
		list, err := f.svc.ListAssignments(ctx, auditor, "wiki")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range list {
			got = append(got, a.PrincipalType+":"+a.PrincipalName)
		}
		if d := diff([]string{"group:Developers", "user:carol"}, got); d != "" {
			t.Errorf("assignments (-want +got):\n%s", d)
		}
		forBob, err := f.svc.ListAppsForUser(ctx, bob.ID)
		if err != nil || len(forBob) != 2 || forBob[0].DisplayName != "Chat" || forBob[1].DisplayName != "Wiki" {
			t.Errorf("apps for bob: %v %v", forBob, err)
		}

		// Removal from the group takes effect at once (SECURITY.md IDP-15).
		if _, err := f.dir.RemoveMembers(ctx, admin, "Developers", []string{"alice"}); err != nil {
			t.Fatal(err)
		}
		if assigned(wiki.ID, alice.ID) {
			t.Error("alice still assigned after leaving the group")
		}
		if forAlice, _ := f.svc.ListAppsForUser(ctx, alice.ID); len(forAlice) != 0 {
			t.Errorf("apps for alice after leaving: %v", forAlice)
		}
		// disabled applications leave the portal
		if _, err := f.svc.Update(ctx, admin, "chat", 0, func(a *apps.Application) error { a.Enabled = false; return nil }); err != nil {
			t.Fatal(err)
		}
		if forBob, _ := f.svc.ListAppsForUser(ctx, bob.ID); len(forBob) != 1 {
			t.Errorf("apps for bob with chat disabled: %v", forBob)
		}

		if err := f.svc.Unassign(ctx, admin, "wiki", "group", "Developers"); err != nil {
			t.Fatal(err)
		}
		if assigned(wiki.ID, bob.ID) {
			t.Error("bob still assigned after unassigning the group")
		}
		if err := f.svc.Unassign(ctx, admin, "wiki", "group", "Developers"); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("unassign twice: %v", err)
		}
		_, err = f.svc.Assign(ctx, admin, "wiki", "user", "nobody")
		wantFields(t, err, "user")
		_, err = f.svc.Assign(ctx, admin, "wiki", "role", "x")
		wantFields(t, err, "principalType")
		if _, err := f.svc.Assign(ctx, admin, "nowhere", "user", "bob"); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("assign to unknown app: %v", err)
		}

		// Deleting a user or group deletes its assignments.
		if _, err := f.svc.Assign(ctx, admin, "wiki", "group", devs.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.dir.DeleteUser(ctx, admin, carol.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.dir.DeleteGroup(ctx, admin, devs.ID); err != nil {
			t.Fatal(err)
		}
		if list, _ := f.svc.ListAssignments(ctx, admin, "wiki"); len(list) != 0 {
			t.Errorf("assignments after deleting their principals: %+v", list)
		}
		want := []string{"app.create", "app.create", "app.assign", "app.assign", "app.assign", "app.disable", "app.unassign", "app.assign"}
		if d := diff(want, actionsOf(events(t, s), "app.")); d != "" {
			t.Errorf("audit (-want +got):\n%s", d)
		}
	})
}

func TestPersistentNameIDs(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		mk := func(name string) apps.Application {
			r := custom(name, "urn:"+name)
			r.NameIDFormat = apps.NameIDPersistent
			return f.app(t, r)
		}
		one, two := mk("one"), mk("two")
		alice := f.user(t, "alice", "alice@example.com")
		bob := f.user(t, "bob", "bob@example.com")
		id := func(app apps.Application, userID string) string {
			t.Helper()
			c, err := f.svc.ClaimsFor(ctx, app, userID)
			if err != nil {
				t.Fatal(err)
			}
			if want := apps.NameIDFormatURN(app.NameIDFormat); c.NameIDFormat != want {
				t.Errorf("format %q, want %q", c.NameIDFormat, want)
			}
			return c.NameID
		}
		a1 := id(one, alice.ID)
		if a1 != id(one, alice.ID) {
			t.Error("persistent Name ID is not stable")
		}
		// A new service over the same master key derives the same value.
		other := &apps.Service{Store: s.Apps(), Keys: testKeyring(t)}
		if c, _ := other.ClaimsFor(ctx, one, alice.ID); c.NameID != a1 {
			t.Error("persistent Name ID depends on more than the master key")
		}
		if a1 == id(two, alice.ID) {
			t.Error("persistent Name IDs are equal across applications")
		}
		if a1 == id(one, bob.ID) {
			t.Error("persistent Name IDs are equal across users")
		}
		if len(a1) != 43 || strings.ContainsAny(a1, "+/=") || strings.Contains(a1, alice.ID) {
			t.Errorf("Name ID %q is not 43 characters of base64url, or reveals the user id", a1)
		}
		// A shared identifier chosen by the admin is used as is.
		shared, err := f.svc.Update(ctx, admin, two.ID, 0, func(a *apps.Application) error { a.NameID = "${user:preferredUsername}"; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if got := id(shared, alice.ID); got != "alice" {
			t.Errorf("shared persistent Name ID = %q", got)
		}
		// transient: random, different every time
		tr := f.app(t, func() apps.CreateRequest { r := custom("tr", "urn:tr"); r.NameIDFormat = "transient"; return r }())
		if x, y := id(tr, alice.ID), id(tr, alice.ID); x == y || len(x) < 20 {
			t.Errorf("transient Name IDs %q %q", x, y)
		}
	})
}

func TestResolve(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		r := custom("Wiki", "urn:wiki")
		r.Attributes = []apps.Attribute{
			{Name: "groups", Value: "${user:groups}", NameFormat: "basic"},
			{Name: "login", Value: "${user:givenName}.${user:familyName}@corp"},
			{Name: "nick", Value: "${path:nickName}"},
		}
		app := f.app(t, r)
		alice := f.user(t, "alice", "alice@example.com")
		f.group(t, "Ops", "alice")
		f.group(t, "Developers", "alice")
		c, err := f.svc.ClaimsFor(ctx, app, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := apps.Claims{
			NameID: "alice@example.com", NameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
			Attributes: []apps.ClaimAttribute{
				{Name: "groups", NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", Values: []string{"Developers", "Ops"}},
				{Name: "login", NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified", Values: []string{"Givenalice.Familyalice@corp"}},
			},
		}
		if d := diff(want, c); d != "" {
			t.Errorf("claims (-want +got):\n%s", d)
		}
		bob := f.user(t, "bob", "")
		if _, err := f.svc.ClaimsFor(ctx, app, bob.ID); err == nil {
			t.Error("an empty Name ID resolved without error")
		}
	})
}

func TestPreview(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		r := custom("Heapish", "heap.example")
		r.Attributes = []apps.Attribute{{Name: "NameId", Value: "${user:email}"}, {Name: "dept", Value: "${path:enterprise.department}"},
			{Name: "who", Value: "${user:givenName} ${user:middleName}"}}
		app := f.app(t, r)
		alice := f.user(t, "alice", "alice@example.com")
		nomail := f.user(t, "nomail", "")
		if _, err := f.dir.UpdateUser(ctx, admin, "alice", 0, func(u *directory.User) error {
			u.Enterprise.Department = "R&D"
			u.Name.MiddleName = "Q"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		f.group(t, "Everyone", "alice", "nomail")
		if _, err := f.svc.Assign(ctx, admin, app.ID, "group", "Everyone"); err != nil {
			t.Fatal(err)
		}

		p, err := f.svc.Preview(ctx, auditor, "heapish", "alice")
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Warnings) != 0 || !p.Assigned || p.NameID != "alice@example.com" || p.Audience != "heap.example" ||
			p.Destination != "https://sp.example.com/saml/acs" || p.SessionDuration != "PT1H" || len(p.Attributes) != 3 || p.UserID != alice.ID {
			t.Errorf("clean preview: %+v", p)
		}

		p, err = f.svc.Preview(ctx, admin, app.ID, nomail.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantWarnings(t, p.Warnings,
			"nomail has no email address",
			"the Name ID is empty for nomail (${user:email} has no value)",
			"attribute NameId has no value",
			"attribute dept has no value",
			"attribute who: ${user:middleName} has no value",
		)
		if len(p.Attributes) != 1 || p.Attributes[0].Name != "who" {
			t.Errorf("attributes with values: %+v", p.Attributes)
		}

		stranger := f.user(t, "stranger", "stranger@example.com")
		if _, err := f.dir.UpdateUser(ctx, admin, stranger.ID, 0, func(u *directory.User) error { u.Active = false; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Update(ctx, admin, app.ID, 0, func(a *apps.Application) error { a.Enabled = false; return nil }); err != nil {
			t.Fatal(err)
		}
		p, err = f.svc.Preview(ctx, admin, app.ID, "stranger")
		if err != nil {
			t.Fatal(err)
		}
		if p.Assigned {
			t.Error("stranger reported assigned")
		}
		wantWarnings(t, p.Warnings, "stranger is not assigned to Heapish", "stranger is disabled", "Heapish is disabled",
			"attribute dept has no value for stranger", `attribute who: ${user:middleName} has no value for stranger, so the value is "Givenstranger "`)

		if _, err := f.svc.Preview(ctx, admin, app.ID, "ghost"); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("preview for unknown user: %v", err)
		}
		if _, err := f.svc.Preview(ctx, admin, app.ID, ""); invalidFields(err) == nil {
			t.Errorf("preview without user: %v", err)
		}
	})
}

func wantWarnings(t *testing.T, got []string, want ...string) {
	t.Helper()
	for _, w := range want {
		found := false
		for _, g := range got {
			if strings.Contains(g, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no warning containing %q in %q", w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d warnings, want %d: %q", len(got), len(want), got)
	}
}

// dump returns every value of every table as text.
func dump(t *testing.T, s *sqlstore.Store) string {
	t.Helper()
	ctx := context.Background()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if s.Dialect().Name == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	rows, err := s.DB().QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		rows, err := s.DB().QueryContext(ctx, `SELECT * FROM `+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				fmt.Fprintf(&b, "%s\t", v)
			}
			b.WriteString("\n")
		}
		rows.Close()
	}
	return b.String()
}

func TestPrivateKeyNotStoredInPlaintext(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		app := f.app(t, custom("Wiki", "urn:wiki"))
		if _, err := f.svc.AddCertificate(ctx, admin, app.ID, 3072); err != nil {
			t.Fatal(err)
		}
		all := dump(t, s)
		if !strings.Contains(all, "BEGIN CERTIFICATE") {
			t.Fatal("the dump does not even hold the certificates; is it dumping the right tables?")
		}
		if strings.Contains(all, "PRIVATE KEY") {
			t.Fatal("a private key is stored in plaintext")
		}
		signer, cert, err := f.svc.SigningKey(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		x, _, _ := apps.ParseCertificate(cert.PEM)
		if !x.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(signer.Public()) {
			t.Fatal("signing key does not match the active certificate")
		}
		if x.Subject.CommonName != "Wiki" || cert.KeyBits != 2048 || x.NotAfter.Sub(x.NotBefore).Hours() < 5*365*24 {
			t.Errorf("certificate CN %q, %d bits, valid %v", x.Subject.CommonName, cert.KeyBits, x.NotAfter.Sub(x.NotBefore))
		}
		// The sealed key is bound to its row: copied to another certificate
		// it does not open.
		cs, _ := f.svc.ListCertificates(ctx, admin, app.ID)
		if _, err := s.DB().ExecContext(ctx, `UPDATE app_certificates SET private_key_sealed =
			(SELECT private_key_sealed FROM app_certificates WHERE id = $1) WHERE id = $2`, cs[1].ID, cs[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.SigningKey(ctx, app.ID); err == nil {
			t.Fatal("a sealed key moved to another row still opened")
		}
	})
}

func TestCertificateRotation(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		app := f.app(t, custom("Wiki", "urn:wiki"))
		statuses := func() []string {
			t.Helper()
			cs, err := f.svc.ListCertificates(ctx, auditor, "wiki")
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, c := range cs {
				out = append(out, c.Status)
			}
			return out
		}
		published := func() []string {
			t.Helper()
			pk, err := f.svc.PublishedCertificates(ctx, app.ID)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, c := range pk.Certificates {
				out = append(out, c.ID)
			}
			// The metadata is signed by the active certificate's key.
			if pk.Active.Status != apps.CertActive || pk.Active.ID != out[0] || pk.Signer == nil {
				t.Errorf("published signer: %+v", pk.Active)
			} else if x, _, err := apps.ParseCertificate(pk.Active.PEM); err != nil || !x.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(pk.Signer.Public()) {
				t.Errorf("published signer does not match the active certificate: %v", err)
			}
			return out
		}
		first, err := f.svc.ActiveCertificate(ctx, auditor, "wiki")
		if err != nil {
			t.Fatal(err)
		}
		if d := diff([]string{"active"}, statuses()); d != "" {
			t.Fatalf("initial: %s", d)
		}
		next, err := f.svc.AddCertificate(ctx, admin, "wiki", 3072)
		if err != nil {
			t.Fatal(err)
		}
		if next.Status != apps.CertNext || next.KeyBits != 3072 {
			t.Errorf("next: %+v", next)
		}
		if d := diff([]string{first.ID, next.ID}, published()); d != "" {
			t.Errorf("published with a next certificate (-want +got):\n%s", d)
		}
		var c *errs.Conflict
		if _, err := f.svc.AddCertificate(ctx, admin, "wiki", 0); !errors.As(err, &c) {
			t.Errorf("second next certificate: %v", err)
		}
		if _, err := f.svc.AddCertificate(ctx, admin, "wiki", 4096); invalidFields(err) == nil {
			t.Errorf("4096-bit key: %v", err)
		}
		if err := f.svc.RemoveCertificate(ctx, admin, "wiki", first.ID); invalidFields(err) == nil {
			t.Errorf("removing the active certificate: %v", err)
		}
		act, err := f.svc.ActivateCertificate(ctx, admin, "wiki", next.ID)
		if err != nil {
			t.Fatal(err)
		}
		if act.ID != next.ID || act.Status != apps.CertActive {
			t.Errorf("activated: %+v", act)
		}
		if d := diff([]string{"active", "retired"}, statuses()); d != "" {
			t.Errorf("after activation (-want +got):\n%s", d)
		}
		if d := diff([]string{next.ID}, published()); d != "" {
			t.Errorf("published after activation (-want +got):\n%s", d)
		}
		if _, cert, err := f.svc.SigningKey(ctx, app.ID); err != nil || cert.ID != next.ID {
			t.Errorf("signing with %s, %v; want %s", cert.ID, err, next.ID)
		}
		// roll back, then forward again
		if _, err := f.svc.ActivateCertificate(ctx, admin, "wiki", first.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ActivateCertificate(ctx, admin, "wiki", next.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ActivateCertificate(ctx, admin, "wiki", "nope"); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("activating an unknown certificate: %v", err)
		}
		if err := f.svc.RemoveCertificate(ctx, admin, "wiki", first.ID); err != nil {
			t.Fatal(err)
		}
		if d := diff([]string{"active"}, statuses()); d != "" {
			t.Errorf("after removal (-want +got):\n%s", d)
		}
		if err := f.svc.RemoveCertificate(ctx, admin, "wiki", first.ID); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("removing twice: %v", err)
		}
		want := []string{"app.create", "app.certificate.add", "app.certificate.activate", "app.certificate.activate",
			"app.certificate.activate", "app.certificate.remove"}
		evs := events(t, s)
		if d := diff(want, actionsOf(evs, "app.")); d != "" {
			t.Errorf("audit (-want +got):\n%s", d)
		}
		for _, e := range evs {
			if strings.Contains(fmt.Sprint(e.Summary), "PRIVATE") {
				t.Errorf("event %s mentions a private key", e.Action)
			}
		}
	})
}

// TestConcurrentRotation: racing rotations leave exactly one active and at
// most one next certificate; the loser gets a conflict, never a second
// active key (the partial unique indexes back the service's checks).
func TestConcurrentRotation(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		app := f.app(t, custom("Wiki", "urn:wiki"))
		errc := make(chan error, 2)
		for range 2 {
			go func() { _, err := f.svc.AddCertificate(ctx, admin, app.ID, 0); errc <- err }()
		}
		var ok, conflicts int
		for range 2 {
			err := <-errc
			var c *errs.Conflict
			switch {
			case err == nil:
				ok++
			case errors.As(err, &c):
				conflicts++
			default:
				t.Fatalf("AddCertificate: %v", err)
			}
		}
		if ok != 1 || conflicts != 1 {
			t.Fatalf("concurrent adds: %d ok, %d conflicts", ok, conflicts)
		}
		cs, _ := f.svc.ListCertificates(ctx, admin, app.ID)
		next := cs[1].ID
		for range 2 {
			go func() { _, err := f.svc.ActivateCertificate(ctx, admin, app.ID, next); errc <- err }()
		}
		for range 2 {
			var c *errs.Conflict
			if err := <-errc; err != nil && !(errors.As(err, &c) && c.Stale) {
				t.Fatalf("ActivateCertificate: %v", err)
			}
		}
		var statuses []string
		cs, _ = f.svc.ListCertificates(ctx, admin, app.ID)
		for _, c := range cs {
			statuses = append(statuses, c.Status)
		}
		if d := diff([]string{"active", "retired"}, statuses); d != "" || cs[0].ID != next {
			t.Errorf("after concurrent activation (-want +got):\n%s", d)
		}
	})
}
