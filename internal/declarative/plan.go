package declarative

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Operations and kinds of a Change.
const (
	OpCreate = "create"
	OpUpdate = "update"
	OpDelete = "delete"

	KindUser  = "user"
	KindGroup = "group"
	KindApp   = "application"
)

// Plan is what an apply changes, in the order it is presented: users created
// or updated, groups created or updated (with their memberships),
// applications created or updated (with their assignments), applications
// deleted, groups deleted, users deleted; sorted by name within each step.
type Plan struct {
	Changes []Change `json:"changes"`
	// Applied is true when the plan was carried out (not a dry run).
	Applied bool `json:"applied"`
}

// Change is one object created, updated or deleted.
type Change struct {
	Op   string `json:"op"`   // create, update, delete
	Kind string `json:"kind"` // user, group, application
	Name string `json:"name"` // username, group name or application name
	// Fields maps the document's field names to their old and new values
	// (From is empty on create); nil on delete.
	Fields map[string]FieldChange `json:"fields,omitempty"`
	// MembersAdded and MembersRemoved list usernames (groups only).
	MembersAdded   []string `json:"membersAdded,omitempty"`
	MembersRemoved []string `json:"membersRemoved,omitempty"`
	// AssignmentsAdded and AssignmentsRemoved list "user:NAME" and
	// "group:NAME" for applications, "PERMISSION_SET:user:NAME" and
	// "PERMISSION_SET:group:NAME" for accounts.
	AssignmentsAdded   []string `json:"assignmentsAdded,omitempty"`
	AssignmentsRemoved []string `json:"assignmentsRemoved,omitempty"`
}

// FieldChange is one field's value before and after. Booleans are "true" or
// "false".
type FieldChange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Counts returns how many objects the plan creates, updates and deletes.
func (p Plan) Counts() (created, updated, deleted int) {
	for _, c := range p.Changes {
		switch c.Op {
		case OpCreate:
			created++
		case OpUpdate:
			updated++
		case OpDelete:
			deleted++
		}
	}
	return created, updated, deleted
}

// fieldOrder is the order fields are shown in: the document's order.
var fieldOrder = []string{
	"username", "id", "name", "email", "given_name", "family_name", "middle_name", "display_name", "nick_name",
	"title", "user_type", "preferred_language", "locale", "timezone", "description", "external_id",
	"employee_number", "cost_center", "organization", "division", "department", "manager", "role", "active",
	"saml_provider", "default_region", "sts_region", "sts_endpoint", "sign_in_url", "managed_policies",
	"customer_policies", "inline_policy", "permissions_boundary", "tags", "role_name",
	"template", "entity_id", "acs_urls", "slo_url", "start_url", "relay_state", "session_duration",
	"name_id_format", "name_id", "attributes", "sign", "require_signed_requests", "sp_signing_certificates", "enabled",
}

// String renders the plan for people: one line per object, starting with
// "+" (create), "~" (update) or "-" (delete), such as
//
//	~ user bob: email "a@example.com" → "b@example.com", active true → false
//	~ group Developers: members +alice -carol
//
// then a blank line and "Plan: 1 to create, 2 to update, 0 to delete." (or
// "Applied: …" after a real apply). An empty plan is "No changes.".
func (p Plan) String() string {
	if len(p.Changes) == 0 {
		return "No changes."
	}
	var b strings.Builder
	for _, c := range p.Changes {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	cr, up, de := p.Counts()
	if p.Applied {
		fmt.Fprintf(&b, "\nApplied: %d created, %d updated, %d deleted.", cr, up, de)
	} else {
		fmt.Fprintf(&b, "\nPlan: %d to create, %d to update, %d to delete.", cr, up, de)
	}
	return b.String()
}

// String renders one change on one line.
func (c Change) String() string {
	sym := map[string]string{OpCreate: "+", OpUpdate: "~", OpDelete: "-"}[c.Op]
	if sym == "" {
		sym = "?"
	}
	var parts []string
	seen := map[string]bool{}
	field := func(name string, fc FieldChange) {
		seen[name] = true
		if c.Op == OpCreate {
			parts = append(parts, name+" "+renderValue(name, fc.To))
			return
		}
		parts = append(parts, name+" "+renderValue(name, fc.From)+" → "+renderValue(name, fc.To))
	}
	for _, name := range fieldOrder {
		if fc, ok := c.Fields[name]; ok {
			field(name, fc)
		}
	}
	var rest []string // fields unknown to fieldOrder, for completeness
	for name := range c.Fields {
		if !seen[name] {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	for _, name := range rest {
		field(name, c.Fields[name])
	}
	if len(c.MembersAdded)+len(c.MembersRemoved) > 0 {
		m := make([]string, 0, len(c.MembersAdded)+len(c.MembersRemoved))
		for _, n := range c.MembersAdded {
			m = append(m, "+"+quoteName(n))
		}
		for _, n := range c.MembersRemoved {
			m = append(m, "-"+quoteName(n))
		}
		parts = append(parts, "members "+strings.Join(m, " "))
	}
	if len(c.AssignmentsAdded)+len(c.AssignmentsRemoved) > 0 {
		m := make([]string, 0, len(c.AssignmentsAdded)+len(c.AssignmentsRemoved))
		quote := quotePrincipal
		if c.Kind == KindAccount {
			quote = quoteAccountAssignment
		}
		for _, n := range c.AssignmentsAdded {
			m = append(m, "+"+quote(n))
		}
		for _, n := range c.AssignmentsRemoved {
			m = append(m, "-"+quote(n))
		}
		parts = append(parts, "assignments "+strings.Join(m, " "))
	}
	line := sym + " " + c.Kind + " " + quoteName(c.Name)
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, ", ")
	}
	return line
}

// quotePrincipal renders "user:NAME" with the name quoted when needed.
func quotePrincipal(s string) string {
	kind, name, _ := strings.Cut(s, ":")
	return kind + ":" + quoteName(name)
}

// quoteAccountAssignment renders "PERMISSION_SET:user:NAME" (permission
// set names hold no ":").
func quoteAccountAssignment(s string) string {
	set, principal, _ := strings.Cut(s, ":")
	return quoteName(set) + ":" + quotePrincipal(principal)
}

func renderValue(field, v string) string {
	switch field {
	case "active", "enabled", "require_signed_requests":
		return v
	}
	return strconv.Quote(v)
}

// quoteName quotes a name when it would be ambiguous or unsafe on a line.
func quoteName(s string) string {
	if s == "" || strings.ContainsAny(s, " \",:") {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsGraphic(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
