package scim

import (
	"strings"

	"github.com/idcenter/idcenter/internal/directory"
)

// Schema and message URNs (RFC 7643, RFC 7644).
const (
	URNUser          = "urn:ietf:params:scim:schemas:core:2.0:User"
	URNEnterprise    = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	URNGroup         = "urn:ietf:params:scim:schemas:core:2.0:Group"
	URNListResponse  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	URNPatchOp       = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	URNError         = "urn:ietf:params:scim:api:messages:2.0:Error"
	URNSearchRequest = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	URNBulkRequest   = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	URNBulkResponse  = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
	URNSPConfig      = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	URNResourceType  = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	URNSchema        = "urn:ietf:params:scim:schemas:core:2.0:Schema"
)

// Attribute types, mutability and returned values of RFC 7643 §7.
const (
	tString   = "string"
	tBool     = "boolean"
	tComplex  = "complex"
	tDateTime = "dateTime"
	tRef      = "reference"
	tBinary   = "binary"

	readWrite = "readWrite"
	readOnly  = "readOnly"
	immutable = "immutable"
	writeOnly = "writeOnly"
)

// Attr describes one attribute; it is also what /Schemas publishes.
type Attr struct {
	Name            string   `json:"name"`
	Type            string   `json:"type"`
	MultiValued     bool     `json:"multiValued"`
	Description     string   `json:"description,omitempty"`
	Required        bool     `json:"required"`
	CaseExact       bool     `json:"caseExact"`
	Mutability      string   `json:"mutability"`
	Returned        string   `json:"returned"`
	Uniqueness      string   `json:"uniqueness"`
	CanonicalValues []string `json:"canonicalValues,omitempty"`
	ReferenceTypes  []string `json:"referenceTypes,omitempty"`
	SubAttributes   []*Attr  `json:"subAttributes,omitempty"`

	// field is the directory.Pred field the store can filter on (empty:
	// filtered in memory only).
	field string
	// fold compares values of a case-insensitive attribute; it is the same
	// normalisation the store applies to its indexed column.
	fold func(string) string
}

// Schema is a resource schema or extension.
type Schema struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Attributes  []*Attr `json:"attributes"`
}

func (s *Schema) attr(name string) *Attr { return findAttr(s.Attributes, name) }

func findAttr(attrs []*Attr, name string) *Attr {
	for _, a := range attrs {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

func (a *Attr) sub(name string) *Attr { return findAttr(a.SubAttributes, name) }

// Attribute constructors keep the schema tables short.
func str(name string) *Attr {
	return &Attr{Name: name, Type: tString, Mutability: readWrite, Returned: "default", Uniqueness: "none"}
}

func (a *Attr) exact() *Attr                       { a.CaseExact = true; return a }
func (a *Attr) required() *Attr                    { a.Required = true; return a }
func (a *Attr) mut(m string) *Attr                 { a.Mutability = m; return a }
func (a *Attr) ret(r string) *Attr                 { a.Returned = r; return a }
func (a *Attr) unique(u string) *Attr              { a.Uniqueness = u; return a }
func (a *Attr) typ(t string) *Attr                 { a.Type = t; return a }
func (a *Attr) multi() *Attr                       { a.MultiValued = true; return a }
func (a *Attr) desc(d string) *Attr                { a.Description = d; return a }
func (a *Attr) canon(v ...string) *Attr            { a.CanonicalValues = v; return a }
func (a *Attr) refs(v ...string) *Attr             { a.ReferenceTypes = v; return a }
func (a *Attr) dbField(f string) *Attr             { a.field = f; return a }
func (a *Attr) folded(f func(string) string) *Attr { a.fold = f; return a }

func complexAttr(name string, subs ...*Attr) *Attr {
	a := str(name).typ(tComplex)
	a.SubAttributes = subs
	return a
}

// multiValue is the common shape of emails, phoneNumbers, ims, photos,
// entitlements, roles and x509Certificates.
func multiValue(name string, valueType string, types ...string) *Attr {
	return complexAttr(name,
		str("value").typ(valueType),
		str("display"),
		str("type").canon(types...),
		str("primary").typ(tBool),
	).multi()
}

func metaAttr() *Attr {
	return complexAttr("meta",
		str("resourceType").exact().mut(readOnly),
		str("created").typ(tDateTime).mut(readOnly).dbField(directory.FieldCreated),
		str("lastModified").typ(tDateTime).mut(readOnly).dbField(directory.FieldLastModified),
		str("location").typ(tRef).mut(readOnly).refs("uri"),
		str("version").exact().mut(readOnly),
	).mut(readOnly)
}

func commonAttrs() []*Attr {
	return []*Attr{
		str("id").exact().mut(readOnly).ret("always").unique("server").dbField(directory.FieldID),
		str("externalId").exact().dbField(directory.FieldExternalID),
		metaAttr(),
	}
}

var userSchema = &Schema{
	ID: URNUser, Name: "User", Description: "User Account",
	Attributes: append(commonAttrs(),
		str("userName").required().unique("server").dbField(directory.FieldUserName).folded(directory.NormalizeUserName).
			desc("Unique identifier for the User, compared case-insensitively."),
		complexAttr("name",
			str("formatted"), str("familyName"), str("givenName"), str("middleName"),
			str("honorificPrefix"), str("honorificSuffix")),
		str("displayName"), str("nickName"),
		str("profileUrl").typ(tRef).refs("external"),
		str("title"), str("userType"), str("preferredLanguage"), str("locale"), str("timezone"),
		str("active").typ(tBool).dbField(directory.FieldActive).
			desc("false disables the user in idcenter: sessions end and no assertion is issued; the user is kept."),
		str("password").mut(writeOnly).ret("never").
			desc("Accepted and ignored: provisioned users sign in through their identity provider, an invitation or a reset."),
		multiValue("emails", tString, "work", "home", "other"),
		multiValue("phoneNumbers", tString, "work", "home", "mobile", "fax", "pager", "other"),
		multiValue("ims", tString, "aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
		multiValue("photos", tRef, "photo", "thumbnail"),
		complexAttr("addresses",
			str("formatted"), str("streetAddress"), str("locality"), str("region"),
			str("postalCode"), str("country"), str("type").canon("work", "home", "other"), str("primary").typ(tBool)).multi(),
		complexAttr("groups",
			str("value").exact().mut(readOnly), str("$ref").typ(tRef).mut(readOnly).refs("Group"),
			str("display").mut(readOnly), str("type").mut(readOnly).canon("direct")).multi().mut(readOnly),
		multiValue("entitlements", tString),
		multiValue("roles", tString),
		multiValue("x509Certificates", tBinary),
	),
}

var enterpriseSchema = &Schema{
	ID: URNEnterprise, Name: "EnterpriseUser", Description: "Enterprise User",
	Attributes: []*Attr{
		str("employeeNumber"), str("costCenter"), str("organization"), str("division"), str("department"),
		complexAttr("manager",
			str("value").exact(), str("$ref").typ(tRef).refs("User"), str("displayName").mut(readOnly)),
	},
}

var groupSchema = &Schema{
	ID: URNGroup, Name: "Group", Description: "Group",
	Attributes: append(commonAttrs(),
		str("displayName").required().unique("server").dbField(directory.FieldDisplayName).folded(directory.NormalizeGroupName),
		complexAttr("members",
			str("value").exact().mut(immutable).dbField(directory.FieldMember),
			str("$ref").typ(tRef).mut(immutable).refs("User"),
			str("display").mut(readOnly),
			str("type").mut(immutable).canon("User")).multi(),
	),
}

// resourceType ties an endpoint to its schemas.
type resourceType struct {
	Name       string
	Endpoint   string
	Schema     *Schema
	Extensions []*Schema
}

var (
	userType  = &resourceType{Name: "User", Endpoint: "/Users", Schema: userSchema, Extensions: []*Schema{enterpriseSchema}}
	groupType = &resourceType{Name: "Group", Endpoint: "/Groups", Schema: groupSchema}
)

// schemaFor returns the schema (core or extension) named by uri; an empty
// uri is the core schema.
func (rt *resourceType) schemaFor(uri string) *Schema {
	if uri == "" || strings.EqualFold(uri, rt.Schema.ID) {
		return rt.Schema
	}
	for _, e := range rt.Extensions {
		if strings.EqualFold(uri, e.ID) {
			return e
		}
	}
	return nil
}

// ref is a resolved attribute path: schema, attribute, optional sub-attribute.
type ref struct {
	schema *Schema
	attr   *Attr
	sub    *Attr
}

func (r ref) String() string {
	s := r.attr.Name
	if r.schema != nil && r.schema != userSchema && r.schema != groupSchema {
		s = r.schema.ID + ":" + s
	}
	if r.sub != nil {
		s += "." + r.sub.Name
	}
	return s
}

// leaf is the attribute the path ends at.
func (r ref) leaf() *Attr {
	if r.sub != nil {
		return r.sub
	}
	return r.attr
}

// resolve finds an attribute path. unknownExt reports that the path names an
// extension schema idcenter does not know (callers may ignore those).
func (rt *resourceType) resolve(uri, name, sub string) (r ref, unknownExt bool, err error) {
	s := rt.schemaFor(uri)
	if s == nil {
		return ref{}, strings.HasPrefix(strings.ToLower(uri), "urn:"), errorf(400, "invalidPath", "unknown schema %q", uri)
	}
	a := s.attr(name)
	if a == nil {
		return ref{}, false, errorf(400, "invalidPath", "unknown attribute %q", joinName(uri, name))
	}
	r = ref{schema: s, attr: a}
	if sub != "" {
		if a.Type != tComplex {
			return ref{}, false, errorf(400, "invalidPath", "%q has no sub-attributes", a.Name)
		}
		if r.sub = a.sub(sub); r.sub == nil {
			return ref{}, false, errorf(400, "invalidPath", "unknown attribute %q", joinName(uri, name+"."+sub))
		}
	}
	return r, false, nil
}

func joinName(uri, name string) string {
	if uri == "" {
		return name
	}
	return uri + ":" + name
}

// splitURN splits "urn:…:User:name.givenName" into its schema URN and the
// attribute path, for the schemas rt knows. A name without a known URN
// prefix is returned unchanged with an empty uri.
func (rt *resourceType) splitURN(s string) (uri, rest string) {
	for _, sc := range append([]*Schema{rt.Schema}, rt.Extensions...) {
		if len(s) > len(sc.ID) && strings.EqualFold(s[:len(sc.ID)], sc.ID) && s[len(sc.ID)] == ':' {
			return sc.ID, s[len(sc.ID)+1:]
		}
		if strings.EqualFold(s, sc.ID) {
			return sc.ID, ""
		}
	}
	return "", s
}
