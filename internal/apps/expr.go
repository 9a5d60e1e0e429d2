package apps

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/idcenter/idcenter/internal/directory"
)

// MaxExprLen is the longest expression accepted, in bytes.
const MaxExprLen = 1024

// Expr is a parsed attribute-mapping expression: literal text and variables
// in AWS IAM Identity Center's syntax, concatenated. "${" always starts a
// variable; any other text, "$" and "}" included, is literal.
//
//	${user:email}
//	${user:givenName}.${user:familyName}@corp.example
//	${path:enterprise.department}
//	${path:emails[primary eq true].value}
//	${user:groups}
//
// An expression that is a single multi-valued variable (${user:groups},
// ${user:groupIds}, or a path over a multi-valued attribute without a
// filter) yields every value; anything else yields at most one string.
type Expr struct {
	parts []exprPart
}

type exprPart struct {
	lit string
	v   *exprVar // nil for literal text
}

// exprVar is one resolved variable.
type exprVar struct {
	ns, name string // canonical namespace ("user", "path") and name
	pos      int    // 1-based character position of "${" in the source
	multi    bool
	get      func(u *directory.User, groups []directory.Group) []string
}

func (v *exprVar) String() string { return "${" + v.ns + ":" + v.name + "}" }

// ExprError is a problem with an expression, naming the variable at fault
// and its 1-based character position.
type ExprError struct {
	Pos    int    // 1-based character position; 0 for the whole expression
	Var    string // the variable as written, e.g. "${user:mail}"
	Reason string
}

func (e *ExprError) Error() string {
	if e.Var == "" {
		return e.Reason
	}
	return fmt.Sprintf("%s at position %d: %s", e.Var, e.Pos, e.Reason)
}

// ParseExpr parses an expression. The error is an *ExprError.
func ParseExpr(src string) (*Expr, error) {
	if len(src) > MaxExprLen {
		return nil, &ExprError{Reason: fmt.Sprintf("is longer than %d bytes", MaxExprLen)}
	}
	e := &Expr{}
	lit := strings.Builder{}
	i := 0
	for i < len(src) {
		j := strings.Index(src[i:], "${")
		if j < 0 {
			lit.WriteString(src[i:])
			break
		}
		lit.WriteString(src[i : i+j])
		start := i + j
		pos := utf8.RuneCountInString(src[:start]) + 1
		end := closingBrace(src, start+2)
		if end < 0 {
			return nil, &ExprError{Pos: pos, Var: shorten(src[start:]), Reason: `has no closing "}"`}
		}
		written := src[start : end+1]
		v, err := resolveVar(src[start+2:end], pos, written)
		if err != nil {
			return nil, err
		}
		if lit.Len() > 0 {
			e.parts = append(e.parts, exprPart{lit: lit.String()})
			lit.Reset()
		}
		e.parts = append(e.parts, exprPart{v: v})
		i = end + 1
	}
	if lit.Len() > 0 {
		e.parts = append(e.parts, exprPart{lit: lit.String()})
	}
	if len(e.parts) > 1 {
		for _, p := range e.parts {
			if p.v != nil && p.v.multi {
				return nil, &ExprError{Pos: p.v.pos, Var: p.v.String(),
					Reason: "is multi-valued and must be the whole expression, not combined with other text or variables"}
			}
		}
	}
	return e, nil
}

// closingBrace returns the index of the "}" that ends the variable whose
// body starts at i, skipping quoted filter values; -1 when there is none.
func closingBrace(s string, i int) int {
	quoted := false
	for ; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case '}':
			if !quoted {
				return i
			}
		}
	}
	return -1
}

func shorten(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		return string([]rune(s)[:39]) + "…"
	}
	return s
}

// String returns the expression in canonical form: variable names in the
// documented case, filter values quoted.
func (e *Expr) String() string {
	var b strings.Builder
	for _, p := range e.parts {
		if p.v != nil {
			b.WriteString(p.v.String())
		} else {
			b.WriteString(p.lit)
		}
	}
	return b.String()
}

// MultiValued reports whether the expression yields several values.
func (e *Expr) MultiValued() bool {
	return len(e.parts) == 1 && e.parts[0].v != nil && e.parts[0].v.multi
}

// Vars lists the variables of the expression in canonical form.
func (e *Expr) Vars() []string {
	var out []string
	for _, p := range e.parts {
		if p.v != nil {
			out = append(out, p.v.String())
		}
	}
	return out
}

// Uses reports whether the expression uses the variable (canonical form).
func (e *Expr) Uses(v string) bool {
	for _, p := range e.parts {
		if p.v != nil && p.v.String() == v {
			return true
		}
	}
	return false
}

// Eval evaluates the expression for u, a member of groups. A single-valued
// expression that evaluates to "" yields no value.
func (e *Expr) Eval(u directory.User, groups []directory.Group) []string {
	if e.MultiValued() {
		return nonEmpty(e.parts[0].v.get(&u, groups))
	}
	var b strings.Builder
	for _, p := range e.parts {
		if p.v == nil {
			b.WriteString(p.lit)
			continue
		}
		if vals := p.v.get(&u, groups); len(vals) > 0 {
			b.WriteString(vals[0])
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return []string{b.String()}
}

// EmptyVars lists the variables that have no value for u.
func (e *Expr) EmptyVars(u directory.User, groups []directory.Group) []string {
	var out []string
	for _, p := range e.parts {
		if p.v != nil && len(nonEmpty(p.v.get(&u, groups))) == 0 {
			out = append(out, p.v.String())
		}
	}
	return out
}

// Evaluate parses expr and evaluates it for user, a member of groups.
func Evaluate(expr string, user directory.User, groups []directory.Group) ([]string, error) {
	e, err := ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	return e.Eval(user, groups), nil
}

func nonEmpty(vals []string) []string {
	var out []string
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func one(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// --- user: variables ---

type userVar struct {
	name  string
	multi bool
	get   func(u *directory.User, groups []directory.Group) []string
}

// userVars are the ${user:…} variables, keyed by lower-case name.
var userVars = map[string]userVar{}

// UserVariables lists the ${user:…} variables in their documented case.
var UserVariables = []string{"subject", "email", "givenName", "familyName", "middleName", "name", "preferredUsername", "groups", "groupIds"}

func init() {
	add := func(name string, multi bool, get func(u *directory.User, groups []directory.Group) []string) {
		userVars[strings.ToLower(name)] = userVar{name, multi, get}
	}
	add("subject", false, func(u *directory.User, _ []directory.Group) []string { return one(u.ID) })
	add("email", false, func(u *directory.User, _ []directory.Group) []string { return one(u.PrimaryEmail()) })
	add("givenName", false, func(u *directory.User, _ []directory.Group) []string { return one(u.Name.GivenName) })
	add("familyName", false, func(u *directory.User, _ []directory.Group) []string { return one(u.Name.FamilyName) })
	add("middleName", false, func(u *directory.User, _ []directory.Group) []string { return one(u.Name.MiddleName) })
	add("name", false, func(u *directory.User, _ []directory.Group) []string { return one(fullName(u)) })
	add("preferredUsername", false, func(u *directory.User, _ []directory.Group) []string { return one(u.UserName) })
	add("groups", true, func(_ *directory.User, gs []directory.Group) []string {
		out := make([]string, 0, len(gs))
		for _, g := range gs {
			out = append(out, g.DisplayName)
		}
		return out
	})
	add("groupIds", true, func(_ *directory.User, gs []directory.Group) []string {
		out := make([]string, 0, len(gs))
		for _, g := range gs {
			out = append(out, g.ID)
		}
		return out
	})
}

// fullName is the formatted name, else given, middle and family names.
func fullName(u *directory.User) string {
	if u.Name.Formatted != "" {
		return u.Name.Formatted
	}
	return strings.Join(strings.Fields(u.Name.GivenName+" "+u.Name.MiddleName+" "+u.Name.FamilyName), " ")
}

func resolveVar(body string, pos int, written string) (*exprVar, error) {
	fail := func(format string, args ...any) error {
		return &ExprError{Pos: pos, Var: shorten(written), Reason: fmt.Sprintf(format, args...)}
	}
	ns, name, ok := strings.Cut(body, ":")
	if !ok || strings.TrimSpace(ns) == "" {
		return nil, fail(`is not a variable; write ${user:NAME} or ${path:ATTRIBUTE}`)
	}
	switch strings.ToLower(ns) {
	case "user":
		uv, ok := userVars[strings.ToLower(name)]
		if !ok {
			return nil, fail("is not a user variable; use one of %s", strings.Join(UserVariables, ", "))
		}
		return &exprVar{ns: "user", name: uv.name, pos: pos, multi: uv.multi, get: uv.get}, nil
	case "path":
		p, err := parsePath(name)
		if err != nil {
			return nil, fail("%s", err.Error())
		}
		return &exprVar{ns: "path", name: p.canonical, pos: pos, multi: p.multi, get: p.get}, nil
	}
	return nil, fail(`has an unknown namespace %q; use user: or path:`, ns)
}
