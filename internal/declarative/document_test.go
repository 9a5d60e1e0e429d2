package declarative

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idcenter/idcenter/internal/errs"
)

const sampleYAML = `# The sample from docs/config-reference.md, shortened.
version: 1
users:
  - username: alice
    email: alice@example.com
    given_name: Alice
    family_name: Smith
    display_name: Alice Smith
    role: admin
  - username: bob
    email: bob@example.com
    manager: alice
    employee_number: "00123"
    active: false
groups:
  - name: Developers
    description: People who write code
    members: [alice, bob]
`

const sampleJSON = `{
	"version": 1,
	"users": [
		{"username": "alice", "email": "alice@example.com", "given_name": "Alice", "family_name": "Smith",
		 "display_name": "Alice Smith", "role": "admin"},
		{"username": "bob", "email": "bob@example.com", "manager": "alice", "employee_number": "00123", "active": false}
	],
	"groups": [{"name": "Developers", "description": "People who write code", "members": ["alice", "bob"]}]
}`

var sampleDoc = Document{
	Version: 1,
	Users: []User{
		{Username: "alice", Email: "alice@example.com", GivenName: "Alice", FamilyName: "Smith", DisplayName: "Alice Smith", Role: "admin"},
		{Username: "bob", Email: "bob@example.com", Manager: "alice", EmployeeNumber: "00123", Active: new(false)},
	},
	Groups: []Group{{Name: "Developers", Description: "People who write code", Members: []string{"alice", "bob"}}},
}

// problems returns the problems of an *errs.Invalid, failing the test for any
// other error.
func problems(t *testing.T, err error) []errs.FieldError {
	t.Helper()
	var inv *errs.Invalid
	if !errors.As(err, &inv) {
		t.Fatalf("error = %v (%T), want *errs.Invalid", err, err)
	}
	return inv.Problems
}

func fields(ps []errs.FieldError) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Field)
	}
	slices.Sort(out)
	return out
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want Document
		// wantErr lists expected problems as "field: reason substring".
		wantErr []string
	}{
		{name: "yaml", in: sampleYAML, want: sampleDoc},
		{name: "json", in: sampleJSON, want: sampleDoc},
		{name: "minimal", in: "version: 1\n", want: Document{Version: 1}},
		{name: "null lists", in: "users:\ngroups:\n", want: Document{}},
		{name: "numbers stay text", in: "users:\n  - username: 42\n    cost_center: 0x10\n    employee_number: 00017\n    title: 1e3\n",
			want: Document{Users: []User{{Username: "42", CostCenter: "0x10", EmployeeNumber: "00017", Title: "1e3"}}}},
		{name: "anchors and aliases", in: "groups:\n  - name: a\n    members: &m [x, y]\n  - name: b\n    members: *m\n",
			want: Document{Groups: []Group{{Name: "a", Members: []string{"x", "y"}}, {Name: "b", Members: []string{"x", "y"}}}}},
		{name: "unknown top-level key", in: "version: 1\nroles: []\n",
			wantErr: []string{`roles: line 2: unknown key "roles"`}},
		{name: "unknown application key", in: "applications:\n  - name: A\n    acsUrls: [https://sp.example.com/acs]\n",
			wantErr: []string{`applications[0].acsUrls: line 3: unknown key "acsUrls"`}},
		{name: "application attribute of the wrong type", in: "applications:\n  - name: A\n    attributes: [email]\n",
			wantErr: []string{`applications[0].attributes[0]: line 3: must be a mapping`}},
		{name: "assignments not a mapping", in: "applications:\n  - name: A\n    assignments: [alice]\n",
			wantErr: []string{`applications[0].assignments: line 3: must be a mapping`}},
		{name: "certificate private key", in: "applications:\n  - name: A\n    signing_key: x\n",
			wantErr: []string{`applications[0].signing_key: line 3: unknown key "signing_key"`}},
		{name: "unknown user key", in: "users:\n  - username: a\n  - username: b\n    emial: b@example.com\n",
			wantErr: []string{`users[1].emial: line 4: unknown key "emial"`}},
		{name: "camelCase key", in: "users:\n  - username: a\n    givenName: A\n",
			wantErr: []string{`users[0].givenName: line 3: unknown key`}},
		{name: "password", in: "users:\n  - username: a\n    password: hunter2\n",
			wantErr: []string{"users[0].password: line 3: passwords never go in the configuration file"}},
		{name: "password hash", in: "users:\n  - username: a\n    password_hash: $argon2id$x\n",
			wantErr: []string{"users[0].password_hash: line 3: passwords never go"}},
		{name: "every problem at once", in: "users:\n  - username: a\n    password: x\n    foo: 1\ngroups:\n  - name: g\n    members: alice\n",
			wantErr: []string{"users[0].password: line 3", `users[0].foo: line 4: unknown key "foo"`, "groups[0].members: line 7: must be a list"}},
		{name: "users not a list", in: "users: alice\n", wantErr: []string{"users: line 1: must be a list"}},
		{name: "user not a mapping", in: "users: [alice]\n", wantErr: []string{"users[0]: line 1: must be a mapping"}},
		{name: "active not a bool", in: "users:\n  - username: a\n    active: \"yes\"\n", wantErr: []string{"users[0].active: line 3: must be true or false"}},
		{name: "string field is a list", in: "users:\n  - username: [a]\n", wantErr: []string{"users[0].username: line 2: must be a string"}},
		{name: "version not an integer", in: "version: one\n", wantErr: []string{"version: line 1: must be an integer"}},
		{name: "root not a mapping", in: "- a\n", wantErr: []string{"document: line 1: must be a mapping"}},
		{name: "merge key", in: "users:\n  - &a {username: a}\n  - <<: *a\n    username: b\n", wantErr: []string{"users[1].<<: line 3: merge keys are not supported"}},
		{name: "recursive alias", in: "users: &a [*a]\n", wantErr: []string{"users[0]: line 1: must be a mapping"}},
		{name: "duplicate key", in: "version: 1\nversion: 1\n", wantErr: []string{`document: line 2: mapping key "version" already defined`}},
		{name: "two documents", in: "version: 1\n---\nversion: 1\n", wantErr: []string{"document: line 2: only one YAML document"}},
		{name: "empty", in: "", wantErr: []string{"document: is empty"}},
		{name: "only comments", in: "# nothing\n", wantErr: []string{"document: is empty"}},
		{name: "null", in: "null\n", wantErr: []string{"document: is empty"}},
		{name: "syntax error", in: "users:\n  - username: a\n   bad indent: [\n", wantErr: []string{"document: line"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("Parse (-want +got):\n%s", diff)
				}
				return
			}
			ps := problems(t, err)
			if len(ps) != len(tc.wantErr) {
				t.Fatalf("got %d problems %v, want %d %q", len(ps), ps, len(tc.wantErr), tc.wantErr)
			}
			for i, want := range tc.wantErr {
				if got := ps[i].Field + ": " + ps[i].Reason; !strings.HasPrefix(got, want) && !strings.Contains(got, want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got, want)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  Document
		want []string // fields with problems, sorted
	}{
		{name: "valid", doc: sampleDoc},
		{name: "version", doc: Document{Version: 2}, want: []string{"version"}},
		{name: "missing names", doc: Document{Users: []User{{Username: " "}}, Groups: []Group{{}}},
			want: []string{"groups[0].name", "users[0].username"}},
		{name: "duplicate usernames differ in case", doc: Document{Users: []User{{Username: "alice"}, {Username: "ALICE "}}},
			want: []string{"users[1].username"}},
		{name: "duplicate emails differ in case", doc: Document{Users: []User{{Username: "a", Email: "x@example.com"}, {Username: "b", Email: "X@Example.com"}}},
			want: []string{"users[1].email"}},
		{name: "duplicate groups", doc: Document{Groups: []Group{{Name: "Devs"}, {Name: "devs"}}}, want: []string{"groups[1].name"}},
		{name: "duplicate and empty members", doc: Document{Groups: []Group{{Name: "g", Members: []string{"a", "A", ""}}}},
			want: []string{"groups[0].members[1]", "groups[0].members[2]"}},
		{name: "role", doc: Document{Users: []User{{Username: "a", Role: "root"}}}, want: []string{"users[0].role"}},
		{name: "own manager", doc: Document{Users: []User{{Username: "a", Manager: "A"}}}, want: []string{"users[0].manager"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.doc.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if diff := cmp.Diff(tc.want, fields(problems(t, err))); diff != "" {
				t.Errorf("problem fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	doc := sampleDoc
	doc.Users = append(slices.Clone(doc.Users), User{Username: "odd", Title: "true", Department: "null", NickName: "  spaced  ", DisplayName: "line\nbreak", CostCenter: "007"})
	b, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(Marshal()): %v\n%s", err, b)
	}
	if diff := cmp.Diff(doc, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s\n%s", diff, b)
	}
}

func TestPlanString(t *testing.T) {
	plan := Plan{Changes: []Change{
		{Op: OpCreate, Kind: KindUser, Name: "alice", Fields: map[string]FieldChange{
			"role": {To: "admin"}, "email": {To: "alice@example.com"}, "active": {To: "false"}}},
		{Op: OpUpdate, Kind: KindUser, Name: "bob", Fields: map[string]FieldChange{
			"email": {From: "a@example.com", To: "b@example.com"}, "active": {From: "true", To: "false"}}},
		{Op: OpUpdate, Kind: KindGroup, Name: "Devs", MembersAdded: []string{"alice"}, MembersRemoved: []string{"carol"}},
		{Op: OpCreate, Kind: KindGroup, Name: "Ops Team", Fields: map[string]FieldChange{"description": {To: "On \"call\""}},
			MembersAdded: []string{"alice", "mary ann"}},
		{Op: OpDelete, Kind: KindGroup, Name: "Old"},
		{Op: OpDelete, Kind: KindUser, Name: "carol"},
	}}
	want := `+ user alice: email "alice@example.com", role "admin", active false
~ user bob: email "a@example.com" → "b@example.com", active true → false
~ group Devs: members +alice -carol
+ group "Ops Team": description "On \"call\"", members +alice +"mary ann"
- group Old
- user carol

Plan: 2 to create, 2 to update, 2 to delete.`
	if diff := cmp.Diff(want, plan.String()); diff != "" {
		t.Errorf("String (-want +got):\n%s", diff)
	}
	plan.Applied = true
	if got, want := plan.String(), "Applied: 2 created, 2 updated, 2 deleted."; !strings.HasSuffix(got, want) {
		t.Errorf("applied String ends %q, want %q", got[strings.LastIndex(got, "\n")+1:], want)
	}
	if got := (Plan{}).String(); got != "No changes." {
		t.Errorf("empty plan String = %q", got)
	}
}

// FuzzParse checks that Parse never panics, that whatever it accepts can be
// validated and marshalled, and that marshalling round-trips.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		sampleYAML, sampleJSON, "version: 1\n", "", "users: &a [*a]\n", "users:\n  - username: a\n    password: x\n",
		"groups:\n  - name: g\n    members: &m [a, b]\n  - name: h\n    members: *m\n", "{\"users\": [{\"username\": 1}]}",
		"users:\n  - username: \"\\u00e9\"\n    active: false\n    manager: \"\\t\"\n", "- [\n", "a: !!binary aGk=\n",
		"applications:\n  - name: A\n    acs_urls: [https://sp.example.com/acs]\n    attributes:\n      - {name: email, value: '${user:email}', format: basic}\n    enabled: false\n    assignments: {users: [a], groups: [g]}\n",
		"applications:\n  - name: A\n    assignments:\n      users: &u [a]\n      groups: *u\n    sp_signing_certificates: [1]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data)
		if err != nil {
			var inv *errs.Invalid
			if !errors.As(err, &inv) {
				t.Fatalf("Parse error %T is not *errs.Invalid: %v", err, err)
			}
			return
		}
		_ = doc.Validate()
		b, err := doc.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(Marshal(doc)): %v\n%s", err, b)
		}
		if diff := cmp.Diff(doc, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s\n%s", diff, b)
		}
	})
}
