package scim

import (
	"encoding/json"
	"strings"
	"time"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/idcenter/idcenter/internal/directory"
)

// Limits on filters (SCIM-05): long or deeply nested filters are refused
// before the parser sees them.
const (
	maxFilterLen   = 4096
	maxFilterDepth = 16
	maxFilterTerms = 64
)

// node is a compiled filter: attribute paths resolved against the schema,
// compare values checked against the attribute type.
type node interface {
	match(obj object) bool
}

type cmpNode struct {
	ref  ref
	op   filter.CompareOperator
	val  any  // string, bool, time.Time or nil
	elem bool // inside a value path: evaluated on one element
}

type logicNode struct {
	and  bool
	l, r node
}

type notNode struct{ n node }

// valuePathNode is attr[filter] (the filter's paths are sub-attributes).
type valuePathNode struct {
	ref    ref
	filter node
}

// compiler turns a parsed filter into nodes for one resource type.
type compiler struct {
	rt    *resourceType
	terms int
}

// parseFilter parses and compiles a filter; every problem is an
// invalidFilter error.
func parseFilter(rt *resourceType, s string) (node, error) {
	if len(s) > maxFilterLen {
		return nil, errorf(400, "invalidFilter", "the filter is longer than %d bytes", maxFilterLen)
	}
	if d := nesting(s); d > maxFilterDepth {
		return nil, errorf(400, "invalidFilter", "the filter nests deeper than %d levels", maxFilterDepth)
	}
	expr, err := parseExpr(s)
	if err != nil {
		return nil, errorf(400, "invalidFilter", "the filter is not valid RFC 7644 syntax: %s", s)
	}
	c := &compiler{rt: rt}
	return c.compile(expr, nil)
}

// parseExpr runs the parser, which is not hardened against every input: a
// panic is a syntax error.
func parseExpr(s string) (e filter.Expression, err error) {
	defer func() {
		if recover() != nil {
			e, err = nil, errorf(400, "invalidFilter", "the filter is not valid")
		}
	}()
	return filter.ParseFilter([]byte(s))
}

// nesting returns the deepest bracket nesting outside string literals.
func nesting(s string) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '(' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == ')' || c == ']':
			depth--
		}
	}
	return deepest
}

// compile resolves e. parent is set inside a value path: attribute names are
// then sub-attributes of parent.
func (c *compiler) compile(e filter.Expression, parent *ref) (node, error) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		l, err := c.compile(e.Left, parent)
		if err != nil {
			return nil, err
		}
		r, err := c.compile(e.Right, parent)
		if err != nil {
			return nil, err
		}
		return &logicNode{and: strings.EqualFold(string(e.Operator), "and"), l: l, r: r}, nil
	case *filter.NotExpression:
		n, err := c.compile(e.Expression, parent)
		if err != nil {
			return nil, err
		}
		return &notNode{n: n}, nil
	case *filter.ValuePath:
		if parent != nil {
			return nil, errorf(400, "invalidFilter", "value filters cannot nest")
		}
		r, err := c.path(e.AttributePath, nil)
		if err != nil {
			return nil, err
		}
		if r.sub != nil || r.attr.Type != tComplex || !r.attr.MultiValued {
			return nil, errorf(400, "invalidFilter", "%s is not a multi-valued complex attribute", r)
		}
		f, err := c.compile(e.ValueFilter, &r)
		if err != nil {
			return nil, err
		}
		return &valuePathNode{ref: r, filter: f}, nil
	case *filter.AttributeExpression:
		c.terms++
		if c.terms > maxFilterTerms {
			return nil, errorf(400, "invalidFilter", "the filter has more than %d comparisons", maxFilterTerms)
		}
		r, err := c.path(e.AttributePath, parent)
		if err != nil {
			return nil, err
		}
		n, err := c.comparison(r, filter.CompareOperator(strings.ToLower(string(e.Operator))), e.CompareValue)
		if err != nil {
			return nil, err
		}
		n.elem = parent != nil
		return n, nil
	}
	return nil, errorf(400, "invalidFilter", "unsupported filter expression")
}

func (c *compiler) path(p filter.AttributePath, parent *ref) (ref, error) {
	var r ref
	if parent != nil {
		if p.URIPrefix != nil || p.SubAttribute != nil {
			return r, errorf(400, "invalidFilter", "inside %s[…] only its sub-attributes can be compared", parent.attr.Name)
		}
		sub := parent.attr.sub(p.AttributeName)
		if sub == nil {
			return r, errorf(400, "invalidFilter", "%s has no sub-attribute %q", parent.attr.Name, p.AttributeName)
		}
		r = ref{schema: parent.schema, attr: parent.attr, sub: sub}
	} else {
		var err error
		r, _, err = c.rt.resolve(p.URI(), p.AttributeName, p.SubAttributeName())
		if err != nil {
			return r, errorf(400, "invalidFilter", "%s", err.(*Error).Detail)
		}
	}
	if leaf := r.leaf(); leaf.Returned == "never" || leaf.Mutability == writeOnly {
		return r, errorf(400, "invalidFilter", "%s cannot be used in a filter", leaf.Name)
	}
	if r.schema == userSchema && r.attr.Name == "groups" {
		// A user's groups are not part of the object the filter is evaluated
		// on (loading them for every candidate would cost a query per user),
		// so the filter would silently match nothing: refuse it instead.
		return r, errorf(400, "invalidFilter", "groups cannot be used in a filter: filter /Groups on members instead")
	}
	return r, nil
}

func (c *compiler) comparison(r ref, op filter.CompareOperator, v any) (*cmpNode, error) {
	a := r.leaf()
	if a.Type == tComplex && r.sub == nil {
		// "emails eq x" compares the value sub-attribute.
		if sub := a.sub("value"); sub != nil {
			r.sub, a = sub, sub
		} else {
			return nil, errorf(400, "invalidFilter", "%s is complex: name one of its sub-attributes", r)
		}
	}
	switch op {
	case filter.PR:
		return &cmpNode{ref: r, op: op}, nil
	case filter.EQ, filter.NE, filter.CO, filter.SW, filter.EW, filter.GT, filter.GE, filter.LT, filter.LE:
	default:
		return nil, errorf(400, "invalidFilter", "unknown operator %q", op)
	}
	if v == nil {
		if op != filter.EQ && op != filter.NE {
			return nil, errorf(400, "invalidFilter", "null can only be compared with eq or ne")
		}
		return &cmpNode{ref: r, op: op}, nil
	}
	switch a.Type {
	case tBool:
		b, ok := v.(bool)
		if s, isStr := v.(string); isStr {
			switch strings.ToLower(s) {
			case "true":
				b, ok = true, true
			case "false":
				b, ok = false, true
			}
		}
		if !ok {
			return nil, errorf(400, "invalidFilter", "%s is a boolean", r)
		}
		if op != filter.EQ && op != filter.NE {
			return nil, errorf(400, "invalidFilter", "%s is a boolean: only eq and ne apply", r)
		}
		return &cmpNode{ref: r, op: op, val: b}, nil
	case tDateTime:
		s, ok := v.(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		if !ok || err != nil {
			return nil, errorf(400, "invalidFilter", "%s is a dateTime: compare it with an RFC 3339 string", r)
		}
		switch op {
		case filter.CO, filter.SW, filter.EW:
			return nil, errorf(400, "invalidFilter", "%s is a dateTime: use eq, ne, gt, ge, lt or le", r)
		}
		return &cmpNode{ref: r, op: op, val: t.UTC()}, nil
	default:
		s, ok := v.(string)
		if !ok {
			return nil, errorf(400, "invalidFilter", "%s is a string: compare it with a quoted string", r)
		}
		// The parser keeps JSON escapes as written; decode them.
		var dec string
		if err := json.Unmarshal([]byte(`"`+s+`"`), &dec); err != nil {
			return nil, errorf(400, "invalidFilter", "bad escape in the string %q", s)
		}
		// No stored value holds a NUL (the directory refuses control
		// characters), and PostgreSQL refuses NUL in a text parameter: a
		// 400 here instead of a 500 from the store (found by FuzzFilter).
		if strings.ContainsRune(dec, 0) {
			return nil, errorf(400, "invalidFilter", "a string in a filter cannot contain U+0000")
		}
		if a.Type == tBinary && op != filter.EQ && op != filter.NE {
			return nil, errorf(400, "invalidFilter", "%s is binary: only eq and ne apply", r)
		}
		return &cmpNode{ref: r, op: op, val: dec}, nil
	}
}

// --- evaluation ---

func (n *logicNode) match(o object) bool {
	if n.and {
		return n.l.match(o) && n.r.match(o)
	}
	return n.l.match(o) || n.r.match(o)
}

func (n *notNode) match(o object) bool { return !n.n.match(o) }

func (n *valuePathNode) match(o object) bool {
	arr, _ := container(o, n.ref.schema, false)[n.ref.attr.Name].([]any)
	for _, x := range arr {
		if e, ok := x.(object); ok && n.filter.match(e) {
			return true
		}
	}
	return false
}

// match evaluates the comparison on a resource, or on one element of a
// multi-valued attribute when the node sits inside a value path (then the
// element holds the sub-attribute directly).
func (n *cmpNode) match(o object) bool {
	vals := n.values(o)
	if n.op == filter.PR {
		for _, v := range vals {
			if present(v) {
				return true
			}
		}
		return false
	}
	if n.val == nil { // eq null / ne null
		pr := false
		for _, v := range vals {
			pr = pr || present(v)
		}
		return pr == (n.op == filter.NE)
	}
	if n.op == filter.NE {
		for _, v := range vals {
			if compare(n.ref.leaf(), v, filter.EQ, n.val) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if compare(n.ref.leaf(), v, n.op, n.val) {
			return true
		}
	}
	return false
}

// values collects the attribute's values in o.
func (n *cmpNode) values(o object) []any {
	if n.elem { // inside a value path o is the element itself
		return []any{o[n.ref.sub.Name]}
	}
	v, ok := container(o, n.ref.schema, false)[n.ref.attr.Name]
	if !ok {
		return nil
	}
	if n.ref.sub == nil {
		if arr, ok := v.([]any); ok {
			return arr
		}
		return []any{v}
	}
	switch v := v.(type) {
	case object:
		return []any{v[n.ref.sub.Name]}
	case []any:
		out := make([]any, 0, len(v))
		for _, x := range v {
			if e, ok := x.(object); ok {
				out = append(out, e[n.ref.sub.Name])
			}
		}
		return out
	}
	return nil
}

func present(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case object:
		return len(v) > 0
	}
	return true
}

// compare applies op to an actual value and the filter's value.
func compare(a *Attr, actual any, op filter.CompareOperator, want any) bool {
	switch w := want.(type) {
	case bool:
		b, ok := actual.(bool)
		return ok && (b == w) == (op == filter.EQ)
	case time.Time:
		s, _ := actual.(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return false
		}
		switch op {
		case filter.EQ:
			return t.Equal(w)
		case filter.GT:
			return t.After(w)
		case filter.GE:
			return !t.Before(w)
		case filter.LT:
			return t.Before(w)
		case filter.LE:
			return !t.After(w)
		}
		return false
	case string:
		s, ok := actual.(string)
		if !ok {
			return false
		}
		if !a.CaseExact {
			fold := a.fold
			if fold == nil {
				fold = directory.NormalizeUserName
			}
			s, w = fold(s), fold(w)
		}
		switch op {
		case filter.EQ:
			return s == w
		case filter.CO:
			return strings.Contains(s, w)
		case filter.SW:
			return strings.HasPrefix(s, w)
		case filter.EW:
			return strings.HasSuffix(s, w)
		case filter.GT:
			return s > w
		case filter.GE:
			return s >= w
		case filter.LT:
			return s < w
		case filter.LE:
			return s <= w
		}
	}
	return false
}

// container returns the object holding schema's attributes in o (the
// extension's sub-object), creating it when create is set.
func container(o object, s *Schema, create bool) object {
	if s == nil || s == userSchema || s == groupSchema {
		return o
	}
	c, _ := o[s.ID].(object)
	if c == nil {
		c = object{}
		if create {
			o[s.ID] = c
		}
	}
	return c
}

// --- translation to the store ---

// pred translates n into a store predicate. exact reports that the store's
// answer is exactly the filter's; otherwise the predicate selects a superset
// and the caller evaluates n on each candidate.
func pred(n node) (p directory.Pred, exact bool) {
	switch n := n.(type) {
	case *logicNode:
		lp, le := pred(n.l)
		rp, re := pred(n.r)
		if n.and {
			return directory.And(lp, rp), le && re
		}
		if !le || !re {
			return directory.True, false
		}
		return directory.Or(lp, rp), true
	case *notNode:
		p, e := pred(n.n)
		if !e {
			return directory.True, false
		}
		return directory.Not(p), true
	case *valuePathNode:
		// members[value eq "…"] is a membership test.
		if c, ok := n.filter.(*cmpNode); ok && c.ref.sub != nil && c.ref.sub.field != "" {
			return pred(c)
		}
		return directory.True, false
	case *cmpNode:
		f := n.ref.leaf().field
		if f == "" {
			return directory.True, false
		}
		switch n.op {
		case filter.PR:
			return directory.Cmp(f, "pr", nil), true
		case filter.GT, filter.GE, filter.LT, filter.LE:
			if _, isTime := n.val.(time.Time); !isTime {
				// String ordering differs between the engines' collations.
				return directory.True, false
			}
		}
		if t, ok := n.val.(time.Time); ok && t.Nanosecond()%1000 != 0 {
			return subMicroTime(f, n.op, t), true
		}
		switch n.op {
		case filter.CO, filter.SW, filter.EW, filter.NE:
			if f == directory.FieldMember {
				return directory.True, false
			}
		}
		if n.val == nil || n.val == "" {
			// Absent and empty differ in memory but not in the columns.
			return directory.True, false
		}
		return directory.Cmp(f, string(n.op), n.val), true
	}
	return directory.True, false
}

// subMicroTime translates a comparison with a time that has digits below the
// microsecond. The store keeps times to the microsecond, so no stored time
// equals it, and "> t" and ">= t" both mean "> t truncated" (found by
// FuzzFilter: the columns compared the truncated value, memory the exact one).
func subMicroTime(field string, op filter.CompareOperator, t time.Time) directory.Pred {
	floor := t.Truncate(time.Microsecond)
	switch op {
	case filter.EQ:
		return directory.Not(directory.True)
	case filter.GT, filter.GE:
		return directory.Cmp(field, "gt", floor)
	case filter.LT, filter.LE:
		return directory.Cmp(field, "le", floor)
	}
	return directory.True // ne
}
