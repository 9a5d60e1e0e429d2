package apps

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idcenter/idcenter/internal/directory"
)

func exprUser() directory.User {
	return directory.User{
		ID: "0190c1f8-0000-7000-8000-000000000001", UserName: "alice",
		Name:        directory.Name{GivenName: "Alice", FamilyName: "Liddell", MiddleName: "P"},
		DisplayName: "Alice L.", Title: "Engineer", Active: true,
		Emails: []directory.MultiValue{
			{Value: "alice@work.example", Type: "work", Primary: true},
			{Value: "alice@home.example", Type: "home"},
		},
		PhoneNumbers: []directory.MultiValue{{Value: "+1 555 0100", Type: "mobile"}},
		Addresses:    []directory.Address{{Locality: "Paris", Country: "FR", Type: "work"}, {Locality: "Lyon", Type: "home"}},
		Enterprise:   directory.Enterprise{Department: "R&D", CostCenter: "42", ManagerID: "m1", ManagerName: "Bob"},
	}
}

var exprGroups = []directory.Group{{ID: "g1", DisplayName: "Developers"}, {ID: "g2", DisplayName: "Ops"}}

func TestEvaluate(t *testing.T) {
	for _, tc := range []struct {
		name, expr string
		want       []string
	}{
		{"subject", "${user:subject}", []string{"0190c1f8-0000-7000-8000-000000000001"}},
		{"email is the primary", "${user:email}", []string{"alice@work.example"}},
		{"given name", "${user:givenName}", []string{"Alice"}},
		{"family name", "${user:familyName}", []string{"Liddell"}},
		{"middle name", "${user:middleName}", []string{"P"}},
		{"name joins the parts", "${user:name}", []string{"Alice P Liddell"}},
		{"preferred username", "${user:preferredUsername}", []string{"alice"}},
		{"groups are names", "${user:groups}", []string{"Developers", "Ops"}},
		{"group ids", "${user:groupIds}", []string{"g1", "g2"}},
		{"concatenation", "${user:givenName}.${user:familyName}@corp", []string{"Alice.Liddell@corp"}},
		{"literal only", "static-value", []string{"static-value"}},
		{"dollar without brace is literal", "$5 and } too", []string{"$5 and } too"}},
		{"case-insensitive names", "${USER:EMAIL}", []string{"alice@work.example"}},
		{"path department", "${path:enterprise.department}", []string{"R&D"}},
		{"path title", "${path:title}", []string{"Engineer"}},
		{"path name", "${path:name.givenName}", []string{"Alice"}},
		{"path manager", "${path:enterprise.manager.displayName}", []string{"Bob"}},
		{"path primary email", "${path:emails[primary eq true].value}", []string{"alice@work.example"}},
		{"path typed email", `${path:emails[type eq "home"].value}`, []string{"alice@home.example"}},
		{"path bare filter value", `${path:emails[type eq HOME].value}`, []string{"alice@home.example"}},
		{"path all emails", "${path:emails}", []string{"alice@work.example", "alice@home.example"}},
		{"path all email types", "${path:emails.type}", []string{"work", "home"}},
		{"path address locality", `${path:addresses[type eq "work"].locality}`, []string{"Paris"}},
		{"path filter with no match", `${path:emails[type eq "other"].value}`, nil},
		{"path active", "${path:active}", []string{"true"}},
		{"empty single value is no value", "${path:nickName}", nil},
		{"concatenation keeps literals around empty", "x-${path:nickName}-y", []string{"x--y"}},
		{"filter in concatenation", "${path:emails[primary eq true].value}/${user:givenName}", []string{"alice@work.example/Alice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Evaluate(tc.expr, exprUser(), exprGroups)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("Evaluate(%q) (-want +got):\n%s", tc.expr, d)
			}
		})
	}
}

func TestParseExprErrors(t *testing.T) {
	for _, tc := range []struct {
		name, expr string
		pos        int
		variable   string
		reason     string
	}{
		{"unknown user variable", "${user:mail}", 1, "${user:mail}", "is not a user variable"},
		{"position counts characters", "é-${user:nope}", 3, "${user:nope}", "is not a user variable"},
		{"unknown namespace", "x${org:name}", 2, "${org:name}", "unknown namespace"},
		{"no namespace", "${email}", 1, "${email}", "is not a variable"},
		{"empty variable", "${}", 1, "${}", "is not a variable"},
		{"unterminated", "a${user:email", 2, "${user:email", `no closing "}"`},
		{"unknown path", "${path:shoeSize}", 1, "${path:shoeSize}", "is not a supported user attribute"},
		{"empty path", "${path:}", 1, "${path:}", "names no attribute"},
		{"bad sub-attribute", "${path:emails.colour}", 1, "${path:emails.colour}", `no sub-attribute "colour"`},
		{"filter on single attribute", "${path:title[type eq x]}", 1, "${path:title[type eq x]}", "multi-valued attributes only"},
		{"bad filter operator", "${path:emails[type ne x].value}", 1, "${path:emails[type ne x].value}", `operator "ne"`},
		{"incomplete filter", "${path:emails[type eq].value}", 1, "${path:emails[type eq].value}", "not of the form"},
		{"unknown filter attribute", "${path:emails[kind eq x].value}", 1, "${path:emails[kind eq x].value}", `on "kind"`},
		{"primary needs a boolean", "${path:emails[primary eq yes].value}", 1, "${path:emails[primary eq yes].value}", "use true or false"},
		{"unclosed filter", `${path:emails[type eq "x}`, 1, `${path:emails[type eq "x}`, `no closing "}"`},
		{"groups in concatenation", "groups:${user:groups}", 8, "${user:groups}", "multi-valued"},
		{"two multi-valued", "${user:groups}${user:groupIds}", 1, "${user:groups}", "multi-valued"},
		{"multi-valued path in concatenation", "${path:emails}!", 1, "${path:emails.value}", "multi-valued"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseExpr(tc.expr)
			var ee *ExprError
			if !errors.As(err, &ee) {
				t.Fatalf("ParseExpr(%q) = %v, want an *ExprError", tc.expr, err)
			}
			if ee.Pos != tc.pos || ee.Var != tc.variable || !strings.Contains(ee.Reason, tc.reason) {
				t.Errorf("ParseExpr(%q) = pos %d var %q reason %q; want pos %d var %q reason containing %q",
					tc.expr, ee.Pos, ee.Var, ee.Reason, tc.pos, tc.variable, tc.reason)
			}
			if !strings.Contains(err.Error(), tc.variable) {
				t.Errorf("message %q does not name %s", err.Error(), tc.variable)
			}
		})
	}
	if _, err := ParseExpr(strings.Repeat("a", MaxExprLen+1)); err == nil {
		t.Error("overlong expression accepted")
	}
}

func TestExprCanonicalForm(t *testing.T) {
	for in, want := range map[string]string{
		"${USER:GivenName} ${user:FAMILYNAME}":      "${user:givenName} ${user:familyName}",
		"${path:Enterprise.DEPARTMENT}":             "${path:enterprise.department}",
		"${path:emails}":                            "${path:emails.value}",
		"${path:EMAILS[ Primary  eq  TRUE ].Value}": "${path:emails[primary eq true].value}",
		"${path:addresses[type eq work]}":           `${path:addresses[type eq "work"].formatted}`,
		`${path:emails[type eq "a}b"].value}`:       `${path:emails[type eq "a}b"].value}`,
	} {
		e, err := ParseExpr(in)
		if err != nil {
			t.Fatalf("ParseExpr(%q): %v", in, err)
		}
		if got := e.String(); got != want {
			t.Errorf("ParseExpr(%q).String() = %q, want %q", in, got, want)
		}
	}
}

func TestExprMultiValued(t *testing.T) {
	for expr, want := range map[string]bool{
		"${user:groups}": true, "${user:groupIds}": true, "${path:emails}": true, "${path:roles.value}": true,
		"${user:email}": false, "${path:emails[primary eq true].value}": false, "lit": false, "": false,
	} {
		e, err := ParseExpr(expr)
		if err != nil {
			t.Fatal(err)
		}
		if e.MultiValued() != want {
			t.Errorf("%q: MultiValued = %v, want %v", expr, e.MultiValued(), want)
		}
	}
}

// FuzzParseExpr: the parser never panics, accepted expressions have a
// canonical form that parses to itself, and evaluation never panics and
// honours the single-value rule.
func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{
		"", "${user:email}", "${user:givenName}.${user:familyName}@corp", "${user:groups}", "${path:enterprise.department}",
		"${path:emails[primary eq true].value}", `${path:addresses[type eq "work"].locality}`, "${", "${}", "$${user:email}}",
		"${path:emails[type eq \"}\"].value}", "${path:emails[", "${user:", "${path:emails]", "${user:groups}x", "é${user:name}",
		"${path:emails[type eq \"a\" ].display}", "${PATH:X509CERTIFICATES}", "\x00${user:subject}",
	} {
		f.Add(s)
	}
	u := exprUser()
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpr(s)
		if err != nil {
			var ee *ExprError
			if !errors.As(err, &ee) {
				t.Fatalf("error %T is not an *ExprError", err)
			}
			return
		}
		canon := e.String()
		e2, err := ParseExpr(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, s, err)
		}
		if e2.String() != canon {
			t.Fatalf("canonical form is not stable: %q → %q", canon, e2.String())
		}
		vals := e.Eval(u, exprGroups)
		if !e.MultiValued() && len(vals) > 1 {
			t.Fatalf("single-valued %q yielded %d values", s, len(vals))
		}
		_ = e.EmptyVars(u, exprGroups)
	})
}
