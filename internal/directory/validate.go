package directory

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/idcenter/idcenter/internal/errs"
)

// Limits on directory fields.
const (
	MaxUserNameLen  = 128
	MaxEmailLen     = 254
	MaxNameFieldLen = 256
	MaxGroupNameLen = 128
	MaxDescLen      = 1024
	MaxMultiValues  = 50
)

var folder = cases.Fold()

// NormalizeUserName returns the comparison key of a userName: Unicode NFC,
// trimmed, case-folded. The store keeps it in its own unique, indexed column.
func NormalizeUserName(s string) string {
	return folder.String(norm.NFC.String(strings.TrimSpace(s)))
}

// NormalizeEmail returns the comparison key of an email address.
func NormalizeEmail(s string) string { return NormalizeUserName(s) }

// NormalizeGroupName returns the comparison key of a group display name.
func NormalizeGroupName(s string) string { return NormalizeUserName(s) }

func cleanText(s string) string { return norm.NFC.String(strings.TrimSpace(s)) }

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

func checkText(v *errs.Invalid, field, s string, max int) {
	if utf8.RuneCountInString(s) > max {
		v.Add(field, "must be at most %d characters", max)
	}
	if hasControl(s) {
		v.Add(field, "must not contain control characters")
	}
}

// validEmail reports whether s is a bare address (no display name).
func validEmail(s string) bool {
	if s == "" || len(s) > MaxEmailLen || strings.ContainsAny(s, " <>\"") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

// normalizeUser cleans u in place and returns every problem found.
func normalizeUser(u *User) error {
	v := &errs.Invalid{}
	u.UserName = cleanText(u.UserName)
	switch {
	case u.UserName == "":
		v.Add("userName", "is required")
	case utf8.RuneCountInString(u.UserName) > MaxUserNameLen:
		v.Add("userName", "must be at most %d characters", MaxUserNameLen)
	case hasControl(u.UserName):
		v.Add("userName", "must not contain control characters")
	}
	for _, f := range []struct {
		name string
		p    *string
	}{
		{"name.formatted", &u.Name.Formatted}, {"name.familyName", &u.Name.FamilyName},
		{"name.givenName", &u.Name.GivenName}, {"name.middleName", &u.Name.MiddleName},
		{"name.honorificPrefix", &u.Name.HonorificPrefix}, {"name.honorificSuffix", &u.Name.HonorificSuffix},
		{"displayName", &u.DisplayName}, {"nickName", &u.NickName}, {"profileUrl", &u.ProfileURL},
		{"title", &u.Title}, {"userType", &u.UserType}, {"preferredLanguage", &u.PreferredLanguage},
		{"locale", &u.Locale}, {"timezone", &u.Timezone}, {"externalId", &u.ExternalID},
		{"enterprise.employeeNumber", &u.Enterprise.EmployeeNumber}, {"enterprise.costCenter", &u.Enterprise.CostCenter},
		{"enterprise.organization", &u.Enterprise.Organization}, {"enterprise.division", &u.Enterprise.Division},
		{"enterprise.department", &u.Enterprise.Department}, {"enterprise.managerId", &u.Enterprise.ManagerID},
	} {
		*f.p = cleanText(*f.p)
		checkText(v, f.name, *f.p, MaxNameFieldLen)
	}
	switch u.Role {
	case RoleNone, RoleAdmin, RoleAuditor:
	default:
		v.Add("role", "must be one of \"admin\", \"auditor\" or empty")
	}
	// Emails: bare addresses, at most one primary; if none is marked, the
	// first becomes primary.
	primaries := 0
	for i := range u.Emails {
		e := &u.Emails[i]
		e.Value = strings.TrimSpace(e.Value)
		if !validEmail(e.Value) {
			v.Add("emails", "%q is not a valid email address", e.Value)
		}
		if e.Primary {
			primaries++
		}
	}
	if primaries > 1 {
		v.Add("emails", "at most one email can be primary")
	}
	if primaries == 0 && len(u.Emails) > 0 {
		u.Emails[0].Primary = true
	}
	for _, mv := range []struct {
		name string
		vals []MultiValue
	}{
		{"emails", u.Emails}, {"phoneNumbers", u.PhoneNumbers}, {"ims", u.IMs}, {"photos", u.Photos},
		{"entitlements", u.Entitlements}, {"roles", u.Roles}, {"x509Certificates", u.X509Certificates},
	} {
		if len(mv.vals) > MaxMultiValues {
			v.Add(mv.name, "at most %d values", MaxMultiValues)
		}
		for _, x := range mv.vals {
			if mv.name != "x509Certificates" {
				checkText(v, mv.name, x.Value, MaxNameFieldLen)
			} else if len(x.Value) > 16384 {
				v.Add(mv.name, "certificate too long")
			}
		}
	}
	if len(u.Addresses) > MaxMultiValues {
		v.Add("addresses", "at most %d values", MaxMultiValues)
	}
	return v.Err()
}

func normalizeGroup(g *Group) error {
	v := &errs.Invalid{}
	g.DisplayName = cleanText(g.DisplayName)
	g.Description = cleanText(g.Description)
	g.ExternalID = cleanText(g.ExternalID)
	switch {
	case g.DisplayName == "":
		v.Add("displayName", "is required")
	default:
		checkText(v, "displayName", g.DisplayName, MaxGroupNameLen)
	}
	if utf8.RuneCountInString(g.Description) > MaxDescLen {
		v.Add("description", "must be at most %d characters", MaxDescLen)
	}
	checkText(v, "externalId", g.ExternalID, MaxNameFieldLen)
	return v.Err()
}
