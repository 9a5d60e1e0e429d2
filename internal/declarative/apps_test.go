package declarative

import (
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/keys"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

// Key generation dominates test time: every certificate shares one key.
var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
)

func testKey(bits int) (*rsa.PrivateKey, error) {
	keyOnce.Do(func() {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return key, nil
}

func testKeyring(t testing.TB) *keys.Keyring {
	t.Helper()
	k, err := keys.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const spMetadataXML = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://meta.example.com/sp">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://meta.example.com/slo"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://meta.example.com/acs" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
`

// appsDoc adds two applications to baseDoc: one written out, one from SP
// metadata in a file next to the document.
const appsDoc = baseDoc + `
applications:
  - name: Wiki
    description: The team wiki
    entity_id: https://wiki.example.com/saml
    acs_urls: [https://wiki.example.com/acs, https://wiki.example.com/acs2]
    session_duration: 8h
    name_id_format: persistent
    attributes:
      - {name: email, value: '${user:email}', format: basic}
      - {name: groups, value: '${user:groups}'}
    sign: assertion
    assignments:
      users: [carol]
      groups: [Developers]
  - name: Meta
    sp_metadata_file: sp.xml
    assignments:
      users: [alice]
`

func (e *env) applyFile(doc string, opts Options) (Plan, error) {
	e.t.Helper()
	dir := e.t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sp.xml"), []byte(spMetadataXML), 0o600); err != nil {
		e.t.Fatal(err)
	}
	d, err := Parse([]byte(doc))
	if err != nil {
		e.t.Fatalf("Parse: %v", err)
	}
	if err := d.ResolveFiles(dir); err != nil {
		e.t.Fatalf("ResolveFiles: %v", err)
	}
	return e.svc.Apply(e.ctx, e.actor, d, opts)
}

func (e *env) app(name string) apps.Application {
	e.t.Helper()
	a, err := e.apps.Get(e.ctx, e.actor, name)
	if err != nil {
		e.t.Fatalf("Get(%s): %v", name, err)
	}
	return a
}

func (e *env) appNames() []string {
	e.t.Helper()
	list, err := e.apps.List(e.ctx, e.actor)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, a := range list {
		out = append(out, a.DisplayName)
	}
	return out
}

// assigned lists an application's assignments as "user:NAME" and "group:NAME".
func (e *env) assigned(app string) []string {
	e.t.Helper()
	list, err := e.apps.ListAssignments(e.ctx, e.actor, app)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, a := range list {
		out = append(out, a.PrincipalType+":"+a.PrincipalName)
	}
	slices.Sort(out)
	return out
}

func appChanges(p Plan) []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.Kind == KindApp {
			out = append(out, c)
		}
	}
	return out
}

func TestApplyApplicationsCreate(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		before := len(e.actions())
		plan, err := e.applyFile(appsDoc, Options{})
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		want := []Change{
			{Op: OpCreate, Kind: KindApp, Name: "Meta", Fields: map[string]FieldChange{
				"entity_id": fc("", "https://meta.example.com/sp"), "acs_urls": fc("", "https://meta.example.com/acs"),
				"slo_url": fc("", "https://meta.example.com/slo"), "session_duration": fc("", "PT1H"),
				"name_id_format": fc("", "persistent"), "name_id": fc("", "${user:subject}"), "sign": fc("", "both")},
				AssignmentsAdded: []string{"user:alice"}},
			{Op: OpCreate, Kind: KindApp, Name: "Wiki", Fields: map[string]FieldChange{
				"description": fc("", "The team wiki"), "entity_id": fc("", "https://wiki.example.com/saml"),
				"acs_urls": fc("", "https://wiki.example.com/acs https://wiki.example.com/acs2"), "session_duration": fc("", "PT8H"),
				"name_id_format": fc("", "persistent"), "name_id": fc("", "${user:subject}"),
				"attributes": fc("", "email=${user:email};basic, groups=${user:groups};unspecified"), "sign": fc("", "assertion")},
				AssignmentsAdded: []string{"user:carol", "group:Developers"}},
		}
		if diff := cmp.Diff(want, appChanges(plan)); diff != "" {
			t.Errorf("application changes (-want +got):\n%s", diff)
		}
		if !strings.Contains(plan.String(), "+ application Wiki: description \"The team wiki\"") ||
			!strings.Contains(plan.String(), "assignments +user:carol +group:Developers") {
			t.Errorf("plan text:\n%s", plan)
		}
		if diff := cmp.Diff([]string{"Meta", "Wiki"}, e.appNames()); diff != "" {
			t.Errorf("applications (-want +got):\n%s", diff)
		}
		wiki := e.app("Wiki")
		if wiki.ManagedBy != directory.ManagedByApply || !wiki.Enabled || wiki.Template != apps.TemplateCustom {
			t.Errorf("Wiki: managedBy %q, enabled %v, template %q", wiki.ManagedBy, wiki.Enabled, wiki.Template)
		}
		if d, ok := wiki.DefaultACS(); !ok || d.URL != "https://wiki.example.com/acs" {
			t.Errorf("Wiki default ACS = %+v", d)
		}
		if _, err := e.apps.ActiveCertificate(e.ctx, e.actor, "Wiki"); err != nil {
			t.Errorf("Wiki has no signing certificate: %v", err)
		}
		if diff := cmp.Diff([]string{"group:Developers", "user:carol"}, e.assigned("Wiki")); diff != "" {
			t.Errorf("Wiki assignments (-want +got):\n%s", diff)
		}
		want2 := map[string]int{"user.create": 3, "group.create": 2, "group.member.add": 2, "app.create": 2, "app.assign": 3, ActionApply: 1}
		if diff := cmp.Diff(want2, counted(e.actions()[before:])); diff != "" {
			t.Errorf("audit actions (-want +got):\n%s", diff)
		}

		// Again: nothing to do; and the export leaves certificates out.
		if plan, err := e.applyFile(appsDoc, Options{}); err != nil || len(plan.Changes) != 0 {
			t.Errorf("second apply: %v %v", err, plan)
		}
		if out := e.export(); strings.Contains(out, "CERTIFICATE") || !strings.Contains(out, "applications:") {
			t.Errorf("export:\n%s", out)
		}
	})
}

func TestApplyApplicationsUpdate(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		if _, err := e.applyFile(appsDoc, Options{}); err != nil {
			t.Fatal(err)
		}
		changed := strings.NewReplacer(
			"session_duration: 8h", "session_duration: 2h",
			"sign: assertion", "sign: both\n    enabled: false",
			"users: [carol]", "users: [bob]",
			"groups: [Developers]", "groups: []",
			"acs_urls: [https://wiki.example.com/acs, https://wiki.example.com/acs2]", "acs_urls: [https://wiki.example.com/acs2]",
		).Replace(appsDoc)
		plan, err := e.applyFile(changed, Options{})
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		want := []Change{{Op: OpUpdate, Kind: KindApp, Name: "Wiki", Fields: map[string]FieldChange{
			"acs_urls":         fc("https://wiki.example.com/acs https://wiki.example.com/acs2", "https://wiki.example.com/acs2"),
			"session_duration": fc("PT8H", "PT2H"), "sign": fc("assertion", "both"), "enabled": fc("true", "false")},
			AssignmentsAdded: []string{"user:bob"}, AssignmentsRemoved: []string{"user:carol", "group:Developers"}}}
		if diff := cmp.Diff(want, appChanges(plan)); diff != "" {
			t.Errorf("application changes (-want +got):\n%s", diff)
		}
		if line := plan.Changes[0].String(); !strings.Contains(line, `session_duration "PT8H" → "PT2H"`) || !strings.Contains(line, "enabled true → false") ||
			!strings.Contains(line, "assignments +user:bob -user:carol -group:Developers") {
			t.Errorf("plan line: %s", line)
		}
		wiki := e.app("Wiki")
		if wiki.Enabled || wiki.SessionDuration != "PT2H" || len(wiki.ACS) != 1 || wiki.ACS[0].URL != "https://wiki.example.com/acs2" {
			t.Errorf("Wiki after update: %+v", wiki)
		}
		if diff := cmp.Diff([]string{"user:bob"}, e.assigned("Wiki")); diff != "" {
			t.Errorf("Wiki assignments (-want +got):\n%s", diff)
		}
		if plan, err := e.applyFile(changed, Options{}); err != nil || len(plan.Changes) != 0 {
			t.Errorf("second apply: %v %v", err, plan)
		}
	})
}

func TestExportApplyApplicationsIsNoop(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.handMade()
		heap, err := e.apps.Create(e.ctx, e.actor, apps.CreateRequest{Template: "heap", Application: apps.Application{
			ACS: []apps.ACS{{URL: "https://heapanalytics.com/saml/finalize/42/"}}, Enabled: true}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.apps.Assign(e.ctx, e.actor, heap.ID, apps.PrincipalGroup, "Hand Group"); err != nil {
			t.Fatal(err)
		}
		// A second application from the same template, with a field the
		// template sets emptied by hand and an SLO binding the document does
		// not model.
		other, err := e.apps.Create(e.ctx, e.actor, apps.CreateRequest{Template: "heap", Application: apps.Application{
			DisplayName: "Heap EU", EntityID: "heap-eu", SLOURL: "https://eu.example.com/slo", SLOBinding: apps.BindingPOST,
			ACS: []apps.ACS{{URL: "https://eu.example.com/acs", Index: 3}, {URL: "https://eu.example.com/acs0", Index: 1, Default: true}}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.apps.Update(e.ctx, e.actor, other.ID, 0, func(a *apps.Application) error {
			a.Description, a.Attributes = "", nil
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.apps.Assign(e.ctx, e.actor, other.ID, apps.PrincipalUser, "hand"); err != nil {
			t.Fatal(err)
		}
		out := e.export()
		if !strings.Contains(out, "template: heap") || strings.Count(out, "template:") != 1 || strings.Contains(out, "CERTIFICATE") {
			t.Errorf("export:\n%s", out)
		}
		d, err := Parse([]byte(out))
		if err != nil {
			t.Fatalf("Parse(export): %v\n%s", err, out)
		}
		before := len(e.actions())
		plan, err := e.svc.Apply(e.ctx, e.actor, d, Options{Prune: true})
		if err != nil {
			t.Fatalf("Apply(export): %v", err)
		}
		if len(plan.Changes) != 0 || len(e.actions()) != before {
			t.Errorf("apply of the export changed something:\n%s\n%s", plan, out)
		}
		if got := e.app("Heap EU"); got.SLOBinding != apps.BindingPOST || got.ManagedBy != "" {
			t.Errorf("Heap EU after apply: SLO binding %q, managedBy %q", got.SLOBinding, got.ManagedBy)
		}
	})
}

func TestApplyApplicationsReject(t *testing.T) {
	for _, tc := range []struct {
		name    string
		doc     string
		wantErr []string // "field: reason substring"
	}{
		{name: "http ACS on a public host", doc: `
applications:
  - name: Bad
    entity_id: bad
    acs_urls: [https://ok.example.com/acs, http://sp.example.com/acs]
`, wantErr: []string{"applications[0].acs_urls[1]: must use https"}},
		{name: "unknown variable", doc: `
applications:
  - name: Bad
    entity_id: bad
    acs_urls: [https://sp.example.com/acs]
    name_id: '${user:nope}'
    attributes:
      - {name: dept, value: '${user:departement}'}
`, wantErr: []string{"applications[0].name_id: ${user:nope} at position 1: is not a user variable",
			"applications[0].attributes[0].value: ${user:departement} at position 1: is not a user variable"}},
		{name: "unknown references", doc: `
applications:
  - name: Bad
    entity_id: bad
    acs_urls: [https://sp.example.com/acs]
    assignments: {users: [nobody], groups: [Nothing]}
`, wantErr: []string{"applications[0].assignments.users[0]: unknown user", "applications[0].assignments.groups[0]: unknown group"}},
		{name: "bad sign and duplicates", doc: `
applications:
  - name: A
    entity_id: same
    acs_urls: [https://sp.example.com/acs]
    sign: everything
  - name: a
    entity_id: other
    acs_urls: [https://sp.example.com/acs]
`, wantErr: []string{"applications[0].sign: must be", "applications[1].name: duplicate of applications[0]"}},
		{name: "template and metadata", doc: `
applications:
  - name: Bad
    template: nope
    sp_metadata: "<x/>"
`, wantErr: []string{"applications[0].sp_metadata: ", "applications[0].template: unknown template"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
				e := newEnv(t, st)
				users, actions := e.usernames(), len(e.actions())
				// A valid user in the same document is not written either.
				_, err := e.applyErr("users:\n  - username: dave\n"+tc.doc, Options{})
				ps := problems(t, err)
				for _, want := range tc.wantErr {
					field, reason, _ := strings.Cut(want, ": ")
					if !slices.ContainsFunc(ps, func(p errs.FieldError) bool { return p.Field == field && strings.Contains(p.Reason, reason) }) {
						t.Errorf("no problem %q in %v", want, ps)
					}
				}
				if diff := cmp.Diff(users, e.usernames()); diff != "" || len(e.actions()) != actions || len(e.appNames()) != 0 {
					t.Errorf("something was written: users %s, actions %d → %d, apps %v", diff, actions, len(e.actions()), e.appNames())
				}
			})
		})
	}
}

func TestApplyApplicationsPrune(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		if _, err := e.apps.Create(e.ctx, e.actor, apps.CreateRequest{Application: apps.Application{
			DisplayName: "By Hand", EntityID: "hand", ACS: []apps.ACS{{URL: "https://hand.example.com/acs"}}, Enabled: true}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.applyFile(appsDoc, Options{}); err != nil {
			t.Fatal(err)
		}
		// Meta dropped: apply created it, so it goes; By Hand stays.
		noMeta := strings.Replace(appsDoc[:strings.Index(appsDoc, "  - name: Meta")], "users:\n",
			"users:\n  - username: root\n    email: root@example.com\n    role: admin\n", 1)
		plan := e.apply(noMeta, Options{})
		if diff := cmp.Diff([]Change{{Op: OpDelete, Kind: KindApp, Name: "Meta"}}, appChanges(plan)); diff != "" {
			t.Errorf("application changes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"By Hand", "Wiki"}, e.appNames()); diff != "" {
			t.Errorf("applications (-want +got):\n%s", diff)
		}
		// With prune, the hand-made application goes too.
		plan = e.apply(noMeta, Options{Prune: true})
		if diff := cmp.Diff([]Change{{Op: OpDelete, Kind: KindApp, Name: "By Hand"}}, appChanges(plan)); diff != "" {
			t.Errorf("application changes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"Wiki"}, e.appNames()); diff != "" {
			t.Errorf("applications (-want +got):\n%s", diff)
		}
		// A group an application is assigned cannot be dropped with it kept.
		_, err := e.applyErr(strings.Replace(noMeta, "  - name: Developers\n    description: People who write code\n    members: [bob, alice]\n", "", 1), Options{})
		if ps := problems(t, err); !slices.ContainsFunc(ps, func(p errs.FieldError) bool {
			return p.Field == "applications[0].assignments.groups[0]" && strings.Contains(p.Reason, "would be deleted")
		}) {
			t.Errorf("problems = %v", ps)
		}
	})
}
