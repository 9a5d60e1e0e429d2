package apps

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/idcenter/idcenter/internal/directory"
)

// ${path:…} covers a subset of SCIM attribute paths over a user (names are
// case-insensitive):
//
//	single-valued   id userName displayName nickName profileUrl title userType
//	                preferredLanguage locale timezone active externalId
//	                name.{formatted,familyName,givenName,middleName,honorificPrefix,honorificSuffix}
//	                enterprise.{employeeNumber,costCenter,organization,division,department}
//	                enterprise.manager.{value,displayName}
//	multi-valued    emails phoneNumbers ims photos entitlements roles x509Certificates
//	                (sub-attributes value, display, type, primary; default value)
//	                addresses (formatted, streetAddress, locality, region,
//	                postalCode, country, type, primary; default formatted)
//
// A multi-valued attribute without a filter yields every value
// (emails.value); with a filter of the form [SUB eq VALUE] it yields the
// first match only, so emails[primary eq true].value and
// addresses[type eq "work"].locality are single-valued. VALUE is true,
// false, a "quoted string" or a bare word; strings compare without case.

type compiledPath struct {
	canonical string
	multi     bool
	get       func(u *directory.User, groups []directory.Group) []string
}

type singleAttr struct {
	name string
	get  func(u *directory.User) string
}

var singleAttrs = map[string]singleAttr{}

type multiAttr struct {
	name    string
	subs    []string // canonical sub-attribute names
	def     string   // default sub-attribute
	records func(u *directory.User) []map[string]string
}

var multiAttrs = map[string]multiAttr{}

func init() {
	single := func(name string, get func(u *directory.User) string) {
		singleAttrs[strings.ToLower(name)] = singleAttr{name, get}
	}
	single("id", func(u *directory.User) string { return u.ID })
	single("userName", func(u *directory.User) string { return u.UserName })
	single("displayName", func(u *directory.User) string { return u.DisplayName })
	single("nickName", func(u *directory.User) string { return u.NickName })
	single("profileUrl", func(u *directory.User) string { return u.ProfileURL })
	single("title", func(u *directory.User) string { return u.Title })
	single("userType", func(u *directory.User) string { return u.UserType })
	single("preferredLanguage", func(u *directory.User) string { return u.PreferredLanguage })
	single("locale", func(u *directory.User) string { return u.Locale })
	single("timezone", func(u *directory.User) string { return u.Timezone })
	single("active", func(u *directory.User) string { return strconv.FormatBool(u.Active) })
	single("externalId", func(u *directory.User) string { return u.ExternalID })
	single("name.formatted", func(u *directory.User) string { return u.Name.Formatted })
	single("name.familyName", func(u *directory.User) string { return u.Name.FamilyName })
	single("name.givenName", func(u *directory.User) string { return u.Name.GivenName })
	single("name.middleName", func(u *directory.User) string { return u.Name.MiddleName })
	single("name.honorificPrefix", func(u *directory.User) string { return u.Name.HonorificPrefix })
	single("name.honorificSuffix", func(u *directory.User) string { return u.Name.HonorificSuffix })
	single("enterprise.employeeNumber", func(u *directory.User) string { return u.Enterprise.EmployeeNumber })
	single("enterprise.costCenter", func(u *directory.User) string { return u.Enterprise.CostCenter })
	single("enterprise.organization", func(u *directory.User) string { return u.Enterprise.Organization })
	single("enterprise.division", func(u *directory.User) string { return u.Enterprise.Division })
	single("enterprise.department", func(u *directory.User) string { return u.Enterprise.Department })
	single("enterprise.manager.value", func(u *directory.User) string { return u.Enterprise.ManagerID })
	single("enterprise.manager.displayName", func(u *directory.User) string { return u.Enterprise.ManagerName })

	mvSubs := []string{"value", "display", "type", "primary"}
	mv := func(name string, vals func(u *directory.User) []directory.MultiValue) {
		multiAttrs[strings.ToLower(name)] = multiAttr{name: name, subs: mvSubs, def: "value",
			records: func(u *directory.User) []map[string]string {
				var out []map[string]string
				for _, v := range vals(u) {
					out = append(out, map[string]string{"value": v.Value, "display": v.Display, "type": v.Type,
						"primary": strconv.FormatBool(v.Primary)})
				}
				return out
			}}
	}
	mv("emails", func(u *directory.User) []directory.MultiValue { return u.Emails })
	mv("phoneNumbers", func(u *directory.User) []directory.MultiValue { return u.PhoneNumbers })
	mv("ims", func(u *directory.User) []directory.MultiValue { return u.IMs })
	mv("photos", func(u *directory.User) []directory.MultiValue { return u.Photos })
	mv("entitlements", func(u *directory.User) []directory.MultiValue { return u.Entitlements })
	mv("roles", func(u *directory.User) []directory.MultiValue { return u.Roles })
	mv("x509Certificates", func(u *directory.User) []directory.MultiValue { return u.X509Certificates })
	multiAttrs["addresses"] = multiAttr{name: "addresses",
		subs: []string{"formatted", "streetAddress", "locality", "region", "postalCode", "country", "type", "primary"},
		def:  "formatted",
		records: func(u *directory.User) []map[string]string {
			var out []map[string]string
			for _, a := range u.Addresses {
				out = append(out, map[string]string{"formatted": a.Formatted, "streetAddress": a.StreetAddress,
					"locality": a.Locality, "region": a.Region, "postalCode": a.PostalCode, "country": a.Country,
					"type": a.Type, "primary": strconv.FormatBool(a.Primary)})
			}
			return out
		}}
}

func (m multiAttr) sub(name string) (string, bool) {
	for _, s := range m.subs {
		if strings.EqualFold(s, name) {
			return s, true
		}
	}
	return "", false
}

// PathAttributes lists the attribute paths ${path:…} accepts, for help text.
func PathAttributes() []string {
	var out []string
	for _, a := range singleAttrs {
		out = append(out, a.name)
	}
	for _, m := range multiAttrs {
		out = append(out, m.name)
	}
	sort.Strings(out)
	return out
}

func parsePath(s string) (compiledPath, error) {
	if strings.TrimSpace(s) == "" {
		return compiledPath{}, errors.New("names no attribute; write e.g. ${path:title} or ${path:enterprise.department}")
	}
	if strings.ContainsAny(s, " \t") && !strings.Contains(s, "[") {
		return compiledPath{}, errors.New("must not contain spaces")
	}
	head, filter, rest, hasFilter, err := splitFilter(s)
	if err != nil {
		return compiledPath{}, err
	}
	if !hasFilter {
		if a, ok := singleAttrs[strings.ToLower(s)]; ok {
			get := a.get
			return compiledPath{canonical: a.name, get: func(u *directory.User, _ []directory.Group) []string { return one(get(u)) }}, nil
		}
		head, rest, _ = strings.Cut(s, ".")
		if rest != "" {
			rest = "." + rest
		}
	}
	m, ok := multiAttrs[strings.ToLower(head)]
	if !ok {
		if hasFilter {
			return compiledPath{}, fmt.Errorf("filters apply to multi-valued attributes only (emails, phoneNumbers, addresses, …), not %q", head)
		}
		return compiledPath{}, fmt.Errorf("is not a supported user attribute (supported: %s)", strings.Join(PathAttributes(), ", "))
	}
	sub := m.def
	if rest != "" {
		name, ok := strings.CutPrefix(rest, ".")
		if !ok || name == "" {
			return compiledPath{}, fmt.Errorf("expects .SUBATTRIBUTE after %s", m.name)
		}
		if sub, ok = m.sub(name); !ok {
			return compiledPath{}, fmt.Errorf("%s has no sub-attribute %q (it has %s)", m.name, name, strings.Join(m.subs, ", "))
		}
	}
	records := m.records
	if !hasFilter {
		return compiledPath{canonical: m.name + "." + sub, multi: true, get: func(u *directory.User, _ []directory.Group) []string {
			var out []string
			for _, r := range records(u) {
				out = append(out, r[sub])
			}
			return out
		}}, nil
	}
	fattr, fval, canonicalFilter, err := parseFilter(m, filter)
	if err != nil {
		return compiledPath{}, err
	}
	return compiledPath{canonical: m.name + "[" + canonicalFilter + "]." + sub, get: func(u *directory.User, _ []directory.Group) []string {
		for _, r := range records(u) {
			if strings.EqualFold(r[fattr], fval) {
				return one(r[sub])
			}
		}
		return nil
	}}, nil
}

// splitFilter splits "emails[type eq \"work\"].value" into its head, filter
// and rest (".value").
func splitFilter(s string) (head, filter, rest string, ok bool, err error) {
	i := strings.IndexByte(s, '[')
	if i < 0 {
		if strings.ContainsAny(s, "]\"") {
			return "", "", "", false, errors.New(`has "]" or a quote without a filter`)
		}
		return s, "", "", false, nil
	}
	quoted := false
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '"':
			quoted = !quoted
		case ']':
			if !quoted {
				if strings.ContainsAny(s[j+1:], "[]\"") {
					return "", "", "", false, errors.New("has more than one filter")
				}
				return s[:i], s[i+1 : j], s[j+1:], true, nil
			}
		}
	}
	return "", "", "", false, errors.New(`has a filter without its closing "]"`)
}

// parseFilter parses "SUB eq VALUE".
func parseFilter(m multiAttr, f string) (attr, value, canonical string, err error) {
	f = strings.TrimSpace(f)
	name, rest, _ := strings.Cut(f, " ")
	op, val, _ := strings.Cut(strings.TrimSpace(rest), " ")
	val = strings.TrimSpace(val)
	if name == "" || op == "" || val == "" {
		return "", "", "", fmt.Errorf(`has a filter %q that is not of the form [SUB eq VALUE]`, f)
	}
	attr, ok := m.sub(name)
	if !ok {
		return "", "", "", fmt.Errorf("filters %s on %q, which it does not have (it has %s)", m.name, name, strings.Join(m.subs, ", "))
	}
	if !strings.EqualFold(op, "eq") {
		return "", "", "", fmt.Errorf("has a filter operator %q; only eq is supported", op)
	}
	switch {
	case strings.HasPrefix(val, `"`):
		if len(val) < 2 || !strings.HasSuffix(val, `"`) || strings.Count(val, `"`) != 2 {
			return "", "", "", fmt.Errorf("has a filter value %s that is not one quoted string", val)
		}
		val = val[1 : len(val)-1]
	case strings.ContainsAny(val, ` "`):
		return "", "", "", fmt.Errorf("has a filter value %q with spaces; quote it", val)
	}
	if attr == "primary" {
		val = strings.ToLower(val)
		if val != "true" && val != "false" {
			return "", "", "", fmt.Errorf("compares primary with %q; use true or false", val)
		}
		return attr, val, attr + " eq " + val, nil
	}
	return attr, val, attr + ` eq "` + val + `"`, nil
}
