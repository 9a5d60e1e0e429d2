// Package declarative is the configuration-as-code engine behind
// `idcenter apply` and `idcenter export`. It parses a YAML (or JSON) document
// describing the desired users, groups, memberships, SAML applications
// (with their assignments) and AWS accounts, permission sets and account
// assignments, compares it with the store, and plans and applies the
// difference in one store transaction through the directory, applications
// and cloud services, so every change writes its usual audit event. It deletes only objects it created itself unless asked to prune.
// Passwords and other secrets never appear in the document.
package declarative

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/unicode/norm"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/saml"
)

// Version is the only document version this package reads and writes.
const Version = 1

// Document is the desired state: every user, group, application, AWS
// account and permission set it lists, with every listed field, and the
// assignments of the accounts it lists.
type Document struct {
	// Version must be 1 when present; 0 means omitted.
	Version            int                 `yaml:"version,omitempty" json:"version,omitempty"`
	Users              []User              `yaml:"users,omitempty" json:"users,omitempty"`
	Groups             []Group             `yaml:"groups,omitempty" json:"groups,omitempty"`
	Applications       []Application       `yaml:"applications,omitempty" json:"applications,omitempty"`
	Accounts           []Account           `yaml:"accounts,omitempty" json:"accounts,omitempty"`
	PermissionSets     []PermissionSet     `yaml:"permission_sets,omitempty" json:"permission_sets,omitempty"`
	AccountAssignments []AccountAssignment `yaml:"account_assignments,omitempty" json:"account_assignments,omitempty"`
}

// User is one user of the document. An omitted field means empty, except
// Active, which defaults to true. Attributes the document does not model
// (secondary emails, phone numbers, addresses, …) are left as they are.
type User struct {
	Username          string `yaml:"username" json:"username"`
	Email             string `yaml:"email,omitempty" json:"email,omitempty"` // the primary email
	GivenName         string `yaml:"given_name,omitempty" json:"given_name,omitempty"`
	FamilyName        string `yaml:"family_name,omitempty" json:"family_name,omitempty"`
	MiddleName        string `yaml:"middle_name,omitempty" json:"middle_name,omitempty"`
	DisplayName       string `yaml:"display_name,omitempty" json:"display_name,omitempty"`
	NickName          string `yaml:"nick_name,omitempty" json:"nick_name,omitempty"`
	Title             string `yaml:"title,omitempty" json:"title,omitempty"`
	UserType          string `yaml:"user_type,omitempty" json:"user_type,omitempty"`
	PreferredLanguage string `yaml:"preferred_language,omitempty" json:"preferred_language,omitempty"`
	Locale            string `yaml:"locale,omitempty" json:"locale,omitempty"`
	Timezone          string `yaml:"timezone,omitempty" json:"timezone,omitempty"`
	ExternalID        string `yaml:"external_id,omitempty" json:"external_id,omitempty"`
	EmployeeNumber    string `yaml:"employee_number,omitempty" json:"employee_number,omitempty"`
	CostCenter        string `yaml:"cost_center,omitempty" json:"cost_center,omitempty"`
	Organization      string `yaml:"organization,omitempty" json:"organization,omitempty"`
	Division          string `yaml:"division,omitempty" json:"division,omitempty"`
	Department        string `yaml:"department,omitempty" json:"department,omitempty"`
	Manager           string `yaml:"manager,omitempty" json:"manager,omitempty"` // the manager's username
	Role              string `yaml:"role,omitempty" json:"role,omitempty"`       // admin, auditor or empty
	Active            *bool  `yaml:"active,omitempty" json:"active,omitempty"`   // nil means true
}

// IsActive reports the effective value of Active.
func (u User) IsActive() bool { return u.Active == nil || *u.Active }

// Group is one group of the document. Members (usernames) is the complete
// membership of the group.
type Group struct {
	Name        string   `yaml:"name" json:"name"`
	Description string   `yaml:"description,omitempty" json:"description,omitempty"`
	ExternalID  string   `yaml:"external_id,omitempty" json:"external_id,omitempty"`
	Members     []string `yaml:"members,omitempty" json:"members,omitempty"`
}

// Application is one SAML application of the document. Fields left empty
// take the value of the template (when the document names one), then of the
// SP metadata file, then the applications service's default, in the same
// way `idcenter apps create` fills them. idcenter's own signing
// certificates are generated and never appear in the document.
type Application struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Template is a catalog id; omitted means custom for a new application
	// and the application's own template for an existing one. It cannot
	// change once the application exists.
	Template string `yaml:"template,omitempty" json:"template,omitempty"`
	EntityID string `yaml:"entity_id,omitempty" json:"entity_id,omitempty"`
	// ACSURLs are the HTTP-POST assertion consumer services; the first is
	// the default.
	ACSURLs         []string `yaml:"acs_urls,omitempty" json:"acs_urls,omitempty"`
	SLOURL          string   `yaml:"slo_url,omitempty" json:"slo_url,omitempty"`
	StartURL        string   `yaml:"start_url,omitempty" json:"start_url,omitempty"`
	RelayState      string   `yaml:"relay_state,omitempty" json:"relay_state,omitempty"`
	SessionDuration string   `yaml:"session_duration,omitempty" json:"session_duration,omitempty"`
	NameIDFormat    string   `yaml:"name_id_format,omitempty" json:"name_id_format,omitempty"`
	NameID          string   `yaml:"name_id,omitempty" json:"name_id,omitempty"`
	// Attributes is the complete list of attribute mappings.
	Attributes []AppAttribute `yaml:"attributes,omitempty" json:"attributes,omitempty"`
	// Sign is response, assertion or both (the default).
	Sign                  string `yaml:"sign,omitempty" json:"sign,omitempty"`
	RequireSignedRequests bool   `yaml:"require_signed_requests,omitempty" json:"require_signed_requests,omitempty"`
	// SPSigningCertificates are the SP's request-signing certificates, PEM.
	SPSigningCertificates []string `yaml:"sp_signing_certificates,omitempty" json:"sp_signing_certificates,omitempty"`
	// SPMetadataFile is the SP's metadata XML, a path relative to the
	// document; ResolveFiles reads it into SPMetadata before Apply (the
	// server applying the document cannot read the client's files).
	SPMetadataFile string `yaml:"sp_metadata_file,omitempty" json:"sp_metadata_file,omitempty"`
	// SPMetadata is the SP's metadata XML itself: the content of
	// SPMetadataFile once read, or written inline without a file.
	SPMetadata string `yaml:"sp_metadata,omitempty" json:"sp_metadata,omitempty"`
	// SPMetadataURL is an https URL the server fetches the SP's metadata
	// from when applying (saml.FetchSPMetadata); the application remembers
	// it and the server refreshes the metadata from it periodically. Not
	// together with SPMetadata or SPMetadataFile.
	SPMetadataURL string         `yaml:"sp_metadata_url,omitempty" json:"sp_metadata_url,omitempty"`
	Enabled       *bool          `yaml:"enabled,omitempty" json:"enabled,omitempty"` // nil means true
	Assignments   AppAssignments `yaml:"assignments,omitempty" json:"assignments,omitzero"`
}

// IsEnabled reports the effective value of Enabled.
func (a Application) IsEnabled() bool { return a.Enabled == nil || *a.Enabled }

// AppAttribute maps one SAML attribute to a value expression.
type AppAttribute struct {
	Name  string `yaml:"name" json:"name"`
	Value string `yaml:"value" json:"value"`
	// Format is basic, uri or unspecified (the default).
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
}

// AppAssignments is the complete set of users (usernames) and groups (group
// names) assigned to an application.
type AppAssignments struct {
	Users  []string `yaml:"users,omitempty" json:"users,omitempty"`
	Groups []string `yaml:"groups,omitempty" json:"groups,omitempty"`
}

// ResolveFiles reads each application's sp_metadata_file, relative to dir,
// into its sp_metadata, so the document no longer depends on files (the
// server applying it cannot read the client's); sp_metadata_file stays, so
// problems with the metadata still name it. Problems are returned at once
// as an *errs.Invalid naming applications[i].sp_metadata_file.
func (d *Document) ResolveFiles(dir string) error {
	v := &errs.Invalid{}
	for i := range d.Applications {
		a := &d.Applications[i]
		if a.SPMetadataFile == "" {
			continue
		}
		p := fmt.Sprintf("applications[%d].sp_metadata_file", i)
		path := a.SPMetadataFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		b, err := readLimited(path, saml.MaxMetadataBytes)
		if err != nil {
			v.Add(p, "%v", err)
			continue
		}
		a.SPMetadata = string(b)
	}
	d.resolveCloudFiles(dir, v)
	return v.Err()
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// Parse decodes a YAML or JSON document strictly: unknown keys, values of the
// wrong type, a password key, several documents in one stream and an empty
// input are errors. Every problem is reported at once as an *errs.Invalid
// whose fields are document paths (users[2].foo) and whose reasons start with
// the line number. Parse does not check references or duplicates; Validate
// and Service.Apply do.
func Parse(data []byte) (Document, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return Document{}, errEmpty()
		}
		return Document{}, yamlError(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return Document{}, yamlError(err)
	default:
		return Document{}, errs.Invalidf("document", "line %d: only one YAML document is allowed", extra.Line)
	}
	if len(root.Content) == 0 || isNull(root.Content[0]) {
		return Document{}, errEmpty()
	}
	c := checker{v: &errs.Invalid{}, seen: map[checked]bool{}}
	c.check(root.Content[0], reflect.TypeFor[Document](), "")
	if err := c.v.Err(); err != nil {
		return Document{}, err
	}
	// The walk above accepts only what Document can hold; decoding with
	// KnownFields is a second line of defence and also bounds alias expansion.
	var doc Document
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return Document{}, yamlError(err)
	}
	return doc, nil
}

func errEmpty() error {
	return errs.Invalidf("document", "is empty (an empty configuration is written `version: 1`)")
}

// yamlError turns a decoder error into an *errs.Invalid.
func yamlError(err error) error {
	v := &errs.Invalid{}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, e := range te.Errors {
			v.Add("document", "%s", e)
		}
		return v
	}
	v.Add("document", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	return v
}

// Marshal writes d as YAML with two-space indentation.
func (d Document) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checker walks a YAML node tree against the Go type it will decode into,
// collecting unknown keys and kind mismatches with their paths and lines.
type checker struct {
	v    *errs.Invalid
	seen map[checked]bool // aliased nodes already checked, so aliases cost nothing
}

type checked struct {
	n *yaml.Node
	t reflect.Type
}

func (c *checker) add(path string, n *yaml.Node, format string, args ...any) {
	if path == "" {
		path = "document"
	}
	c.v.Add(path, "line %d: %s", n.Line, fmt.Sprintf(format, args...))
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// check verifies n against t. The walk follows the type, so its depth is
// bounded by the type's even when aliases make the node graph cyclic.
func (c *checker) check(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			c.add(path, n, "unresolved alias")
			return
		}
		k := checked{n.Alias, t}
		if c.seen[k] {
			return
		}
		c.seen[k] = true
		n = n.Alias
	}
	if isNull(n) {
		return // decodes to the zero value
	}
	switch t.Kind() {
	case reflect.Pointer:
		c.check(n, t.Elem(), path)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			c.add(path, n, "must be a mapping")
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			p := key.Value
			if path != "" {
				p = path + "." + key.Value
			}
			ft, ok := fields[key.Value]
			switch {
			case ok && key.Kind == yaml.ScalarNode:
				c.check(val, ft, p)
			case strings.Contains(strings.ToLower(key.Value), "password"):
				c.add(p, key, "passwords never go in the configuration file; set one with `idcenter users set-password USER --password-stdin` (or the API) instead")
			case key.Value == "<<":
				c.add(p, key, "merge keys are not supported")
			default:
				c.add(p, key, "unknown key %q", key.Value)
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.add(path, n, "must be a list")
			return
		}
		for i, e := range n.Content {
			c.check(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!binary" {
			c.add(path, n, "must be a string")
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			c.add(path, n, "must be true or false")
		}
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			c.add(path, n, "must be an integer")
		}
	}
}

// yamlFields maps the YAML key of each field of struct type t to its type.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// cleanText mirrors the directory's normalisation of text fields (NFC,
// trimmed), so a plan compares what the directory would store.
func cleanText(s string) string { return norm.NFC.String(strings.TrimSpace(s)) }

// cleaned returns u with its text normalised the way the directory stores it.
func (u User) cleaned() User {
	for _, p := range []*string{
		&u.Username, &u.GivenName, &u.FamilyName, &u.MiddleName, &u.DisplayName, &u.NickName,
		&u.Title, &u.UserType, &u.PreferredLanguage, &u.Locale, &u.Timezone, &u.ExternalID,
		&u.EmployeeNumber, &u.CostCenter, &u.Organization, &u.Division, &u.Department, &u.Manager,
	} {
		*p = cleanText(*p)
	}
	u.Email = strings.TrimSpace(u.Email)
	return u
}

func (g Group) cleaned() Group {
	g.Name, g.Description, g.ExternalID = cleanText(g.Name), cleanText(g.Description), cleanText(g.ExternalID)
	g.Members = append([]string(nil), g.Members...)
	for i := range g.Members {
		g.Members[i] = cleanText(g.Members[i])
	}
	return g
}

func (a Application) cleaned() Application {
	for _, p := range []*string{&a.Name, &a.Description, &a.Template, &a.EntityID, &a.SLOURL, &a.StartURL,
		&a.SessionDuration, &a.NameIDFormat, &a.NameID, &a.Sign, &a.SPMetadataFile, &a.SPMetadataURL} {
		*p = strings.TrimSpace(*p)
	}
	a.Name, a.Description = cleanText(a.Name), cleanText(a.Description)
	a.ACSURLs = trimAll(a.ACSURLs)
	a.SPSigningCertificates = trimAll(a.SPSigningCertificates)
	a.Attributes = append([]AppAttribute(nil), a.Attributes...)
	for i := range a.Attributes {
		at := &a.Attributes[i]
		at.Name, at.Value, at.Format = cleanText(at.Name), strings.TrimSpace(at.Value), strings.TrimSpace(at.Format)
	}
	a.Assignments.Users = trimAll(a.Assignments.Users)
	for i := range a.Assignments.Users {
		a.Assignments.Users[i] = cleanText(a.Assignments.Users[i])
	}
	a.Assignments.Groups = trimAll(a.Assignments.Groups)
	for i := range a.Assignments.Groups {
		a.Assignments.Groups[i] = cleanText(a.Assignments.Groups[i])
	}
	return a
}

func trimAll(s []string) []string {
	if s == nil {
		return nil
	}
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = strings.TrimSpace(x)
	}
	return out
}

func (d Document) cleaned() Document {
	out := Document{Version: d.Version, Users: make([]User, len(d.Users)), Groups: make([]Group, len(d.Groups)),
		Applications: make([]Application, len(d.Applications))}
	for i, a := range d.Applications {
		out.Applications[i] = a.cleaned()
	}
	for i, u := range d.Users {
		out.Users[i] = u.cleaned()
	}
	for i, g := range d.Groups {
		out.Groups[i] = g.cleaned()
	}
	for _, a := range d.Accounts {
		out.Accounts = append(out.Accounts, a.cleaned())
	}
	for _, p := range d.PermissionSets {
		out.PermissionSets = append(out.PermissionSets, p.cleaned())
	}
	for _, a := range d.AccountAssignments {
		out.AccountAssignments = append(out.AccountAssignments, a.cleaned())
	}
	return out
}

// Validate checks what can be checked without the directory: the version,
// required names, duplicate usernames, emails and group names (compared
// case-insensitively), roles, self-management and duplicate members. It
// returns every problem at once as an *errs.Invalid. Field formats and
// lengths, and references to users that are not in the document, are checked
// by Service.Apply (also in a dry run).
func (d Document) Validate() error {
	v := &errs.Invalid{}
	d.cleaned().validate(v)
	return v.Err()
}

// flagged marks entries of a document that static validation rejected.
type flagged struct {
	users, groups map[int]bool // no name, or a duplicate name: not planned at all
	apps          map[int]bool // no name, a duplicate name or entity ID: not planned at all
	emails        map[int]bool // email already used earlier in the document: not written
	// accounts, permissionSets and accountAssignments: no id or name, a
	// duplicate, an incomplete assignment: not planned at all.
	accounts, permissionSets, accountAssignments map[int]bool
}

// validate records static problems of a cleaned document in v and returns the
// entries that must be left out of the plan or of its execution.
func (d Document) validate(v *errs.Invalid) flagged {
	f := flagged{users: map[int]bool{}, groups: map[int]bool{}, emails: map[int]bool{}, apps: map[int]bool{}}
	if d.Version != 0 && d.Version != Version {
		v.Add("version", "must be %d", Version)
	}
	names, emails := map[string]int{}, map[string]int{}
	for i, u := range d.Users {
		p := fmt.Sprintf("users[%d]", i)
		key := directory.NormalizeUserName(u.Username)
		switch j, dup := names[key]; {
		case key == "":
			v.Add(p+".username", "is required")
			f.users[i] = true
		case dup:
			v.Add(p+".username", "duplicate of users[%d] (usernames are case-insensitive)", j)
			f.users[i] = true
		default:
			names[key] = i
		}
		if u.Email != "" {
			ek := directory.NormalizeEmail(u.Email)
			if j, dup := emails[ek]; dup {
				v.Add(p+".email", "same as users[%d].email (emails are case-insensitive)", j)
				f.emails[i] = true
			} else {
				emails[ek] = i
			}
		}
		switch u.Role {
		case directory.RoleNone, directory.RoleAdmin, directory.RoleAuditor:
		default:
			v.Add(p+".role", "must be %q, %q or omitted", directory.RoleAdmin, directory.RoleAuditor)
		}
		if u.Manager != "" && directory.NormalizeUserName(u.Manager) == key {
			v.Add(p+".manager", "a user cannot be their own manager")
		}
	}
	groups := map[string]int{}
	for i, g := range d.Groups {
		p := fmt.Sprintf("groups[%d]", i)
		key := directory.NormalizeGroupName(g.Name)
		switch j, dup := groups[key]; {
		case key == "":
			v.Add(p+".name", "is required")
			f.groups[i] = true
		case dup:
			v.Add(p+".name", "duplicate of groups[%d] (group names are case-insensitive)", j)
			f.groups[i] = true
		default:
			groups[key] = i
		}
		members := map[string]int{}
		for j, m := range g.Members {
			mk := directory.NormalizeUserName(m)
			switch k, dup := members[mk]; {
			case mk == "":
				v.Add(fmt.Sprintf("%s.members[%d]", p, j), "is empty")
			case dup:
				v.Add(fmt.Sprintf("%s.members[%d]", p, j), "duplicate of members[%d]", k)
			default:
				members[mk] = j
			}
		}
	}
	appNames, entityIDs := map[string]int{}, map[string]int{}
	for i, a := range d.Applications {
		p := fmt.Sprintf("applications[%d]", i)
		key := apps.NormalizeName(a.Name)
		switch j, dup := appNames[key]; {
		case key == "":
			v.Add(p+".name", "is required")
			f.apps[i] = true
		case dup:
			v.Add(p+".name", "duplicate of applications[%d] (application names are case-insensitive)", j)
			f.apps[i] = true
		default:
			appNames[key] = i
		}
		if a.EntityID != "" {
			if j, dup := entityIDs[a.EntityID]; dup {
				v.Add(p+".entity_id", "same as applications[%d].entity_id", j)
				f.apps[i] = true
			} else {
				entityIDs[a.EntityID] = i
			}
		}
		switch a.Sign {
		case "", apps.SignResponse, apps.SignAssertion, apps.SignBoth:
		default:
			v.Add(p+".sign", "must be %q, %q or %q", apps.SignResponse, apps.SignAssertion, apps.SignBoth)
		}
		dupNames(v, p+".assignments.users", a.Assignments.Users, directory.NormalizeUserName)
		dupNames(v, p+".assignments.groups", a.Assignments.Groups, directory.NormalizeGroupName)
	}
	d.validateCloud(v, &f)
	return f
}

// dupNames reports empty and repeated names in a list at path.
func dupNames(v *errs.Invalid, path string, names []string, normalize func(string) string) {
	seen := map[string]int{}
	for j, n := range names {
		k := normalize(n)
		switch prev, dup := seen[k]; {
		case k == "":
			v.Add(fmt.Sprintf("%s[%d]", path, j), "is empty")
		case dup:
			v.Add(fmt.Sprintf("%s[%d]", path, j), "duplicate of %s[%d]", path[strings.LastIndex(path, ".")+1:], prev)
		default:
			seen[k] = j
		}
	}
}
