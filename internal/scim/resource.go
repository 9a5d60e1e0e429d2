package scim

import (
	"strconv"
	"time"

	"github.com/idcenter/idcenter/internal/directory"
)

// A resource is handled as a JSON object with canonical attribute names:
// core attributes at the top level, extension attributes under their schema
// URN. Filters, projection and PATCH all work on this form; the directory
// types are converted to and from it at the edges.
type object = map[string]any

func timeString(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// etag is the weak entity tag of a resource version.
func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

func setString(m object, key, v string) {
	if v != "" {
		m[key] = v
	}
}

func multiToJSON(vals []directory.MultiValue) []any {
	out := make([]any, 0, len(vals))
	for _, v := range vals {
		e := object{"value": v.Value}
		setString(e, "display", v.Display)
		setString(e, "type", v.Type)
		if v.Primary {
			e["primary"] = true
		}
		out = append(out, e)
	}
	return out
}

func multiFromJSON(v any) []directory.MultiValue {
	arr, _ := v.([]any)
	var out []directory.MultiValue
	for _, x := range arr {
		e, _ := x.(object)
		if e == nil {
			continue
		}
		out = append(out, directory.MultiValue{
			Value: getString(e, "value"), Display: getString(e, "display"),
			Type: getString(e, "type"), Primary: getBool(e, "primary"),
		})
	}
	return out
}

func getString(m object, key string) string {
	s, _ := m[key].(string)
	return s
}

func getBool(m object, key string) bool {
	b, _ := m[key].(bool)
	return b
}

func getObject(m object, key string) object {
	o, _ := m[key].(object)
	return o
}

// userObject renders u. base is the SCIM base URL for meta.location.
func userObject(u directory.User, base string) object {
	m := object{"id": u.ID, "userName": u.UserName, "active": u.Active}
	setString(m, "externalId", u.ExternalID)
	name := object{}
	setString(name, "formatted", u.Name.Formatted)
	setString(name, "familyName", u.Name.FamilyName)
	setString(name, "givenName", u.Name.GivenName)
	setString(name, "middleName", u.Name.MiddleName)
	setString(name, "honorificPrefix", u.Name.HonorificPrefix)
	setString(name, "honorificSuffix", u.Name.HonorificSuffix)
	if len(name) > 0 {
		m["name"] = name
	}
	setString(m, "displayName", u.DisplayName)
	setString(m, "nickName", u.NickName)
	setString(m, "profileUrl", u.ProfileURL)
	setString(m, "title", u.Title)
	setString(m, "userType", u.UserType)
	setString(m, "preferredLanguage", u.PreferredLanguage)
	setString(m, "locale", u.Locale)
	setString(m, "timezone", u.Timezone)
	for key, vals := range map[string][]directory.MultiValue{
		"emails": u.Emails, "phoneNumbers": u.PhoneNumbers, "ims": u.IMs, "photos": u.Photos,
		"entitlements": u.Entitlements, "roles": u.Roles, "x509Certificates": u.X509Certificates,
	} {
		if len(vals) > 0 {
			m[key] = multiToJSON(vals)
		}
	}
	if len(u.Addresses) > 0 {
		var addrs []any
		for _, a := range u.Addresses {
			e := object{}
			setString(e, "formatted", a.Formatted)
			setString(e, "streetAddress", a.StreetAddress)
			setString(e, "locality", a.Locality)
			setString(e, "region", a.Region)
			setString(e, "postalCode", a.PostalCode)
			setString(e, "country", a.Country)
			setString(e, "type", a.Type)
			if a.Primary {
				e["primary"] = true
			}
			addrs = append(addrs, e)
		}
		m["addresses"] = addrs
	}
	schemas := []any{URNUser}
	ent := object{}
	setString(ent, "employeeNumber", u.Enterprise.EmployeeNumber)
	setString(ent, "costCenter", u.Enterprise.CostCenter)
	setString(ent, "organization", u.Enterprise.Organization)
	setString(ent, "division", u.Enterprise.Division)
	setString(ent, "department", u.Enterprise.Department)
	if u.Enterprise.ManagerID != "" {
		mgr := object{"value": u.Enterprise.ManagerID, "$ref": base + "/Users/" + u.Enterprise.ManagerID}
		setString(mgr, "displayName", u.Enterprise.ManagerName)
		ent["manager"] = mgr
	}
	if len(ent) > 0 {
		m[URNEnterprise] = ent
		schemas = append(schemas, URNEnterprise)
	}
	m["schemas"] = schemas
	m["meta"] = object{
		"resourceType": "User", "created": timeString(u.Created), "lastModified": timeString(u.LastModified),
		"location": base + "/Users/" + u.ID, "version": etag(u.Version),
	}
	return m
}

// applyUserObject copies every client-writable attribute of m onto u; an
// attribute missing from m is cleared (PUT semantics; PATCH builds m from
// the current state first). Identity, role and bookkeeping fields are kept.
func applyUserObject(m object, u *directory.User) {
	u.UserName = getString(m, "userName")
	u.ExternalID = getString(m, "externalId")
	name := getObject(m, "name")
	u.Name = directory.Name{
		Formatted: getString(name, "formatted"), FamilyName: getString(name, "familyName"),
		GivenName: getString(name, "givenName"), MiddleName: getString(name, "middleName"),
		HonorificPrefix: getString(name, "honorificPrefix"), HonorificSuffix: getString(name, "honorificSuffix"),
	}
	u.DisplayName = getString(m, "displayName")
	u.NickName = getString(m, "nickName")
	u.ProfileURL = getString(m, "profileUrl")
	u.Title = getString(m, "title")
	u.UserType = getString(m, "userType")
	u.PreferredLanguage = getString(m, "preferredLanguage")
	u.Locale = getString(m, "locale")
	u.Timezone = getString(m, "timezone")
	if b, ok := m["active"].(bool); ok {
		u.Active = b
	} else {
		u.Active = true // RFC 7643 leaves the default open; an absent flag means active
	}
	u.Emails = multiFromJSON(m["emails"])
	u.PhoneNumbers = multiFromJSON(m["phoneNumbers"])
	u.IMs = multiFromJSON(m["ims"])
	u.Photos = multiFromJSON(m["photos"])
	u.Entitlements = multiFromJSON(m["entitlements"])
	u.Roles = multiFromJSON(m["roles"])
	u.X509Certificates = multiFromJSON(m["x509Certificates"])
	u.Addresses = nil
	addrs, _ := m["addresses"].([]any)
	for _, x := range addrs {
		e, _ := x.(object)
		if e == nil {
			continue
		}
		u.Addresses = append(u.Addresses, directory.Address{
			Formatted: getString(e, "formatted"), StreetAddress: getString(e, "streetAddress"),
			Locality: getString(e, "locality"), Region: getString(e, "region"), PostalCode: getString(e, "postalCode"),
			Country: getString(e, "country"), Type: getString(e, "type"), Primary: getBool(e, "primary"),
		})
	}
	ent := getObject(m, URNEnterprise)
	u.Enterprise = directory.Enterprise{
		EmployeeNumber: getString(ent, "employeeNumber"), CostCenter: getString(ent, "costCenter"),
		Organization: getString(ent, "organization"), Division: getString(ent, "division"),
		Department: getString(ent, "department"), ManagerID: getString(getObject(ent, "manager"), "value"),
	}
}

// groupObject renders g with its members (nil: members not loaded).
func groupObject(g directory.Group, members []directory.Member, base string) object {
	m := object{"schemas": []any{URNGroup}, "id": g.ID, "displayName": g.DisplayName}
	setString(m, "externalId", g.ExternalID)
	if members != nil {
		list := make([]any, 0, len(members))
		for _, mb := range members {
			e := object{"value": mb.UserID, "$ref": base + "/Users/" + mb.UserID, "type": "User"}
			display := mb.DisplayName
			if display == "" {
				display = mb.UserName
			}
			setString(e, "display", display)
			list = append(list, e)
		}
		m["members"] = list
	}
	m["meta"] = object{
		"resourceType": "Group", "created": timeString(g.Created), "lastModified": timeString(g.LastModified),
		"location": base + "/Groups/" + g.ID, "version": etag(g.Version),
	}
	return m
}

// memberIDs lists the member values of a group object, in order, once each.
func memberIDs(m object) []string {
	arr, _ := m["members"].([]any)
	seen := map[string]bool{}
	var out []string
	for _, x := range arr {
		e, _ := x.(object)
		v := getString(e, "value")
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
