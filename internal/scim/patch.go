package scim

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// Limits on PATCH requests.
const (
	maxPatchOps   = 1000
	maxPathLen    = 1024
	maxMultiValue = 10000 // elements of one multi-valued attribute in a request
)

// patchOp is one operation of a PatchOp request.
type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// patchRequest is the PatchOp message.
type patchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

// target is a resolved PATCH path.
type target struct {
	ref    ref
	filter node // value selection filter, may be nil
	sub    *Attr
}

// patcher applies operations to a resource object. On POST and PUT it also
// builds the object from the request (readOnly values are then ignored, as
// RFC 7643 §2.2 asks, instead of refused).
type patcher struct {
	rt             *resourceType
	obj            object
	ignoreReadOnly bool
}

// applyOps applies a PatchOp request's operations in order.
func (p *patcher) applyOps(req patchRequest) error {
	if len(req.Operations) == 0 {
		return errorf(400, "invalidValue", "Operations is empty")
	}
	if len(req.Operations) > maxPatchOps {
		return errorf(400, "invalidValue", "at most %d operations per request", maxPatchOps)
	}
	for i, op := range req.Operations {
		var v any
		if len(op.Value) > 0 {
			dec := json.NewDecoder(strings.NewReader(string(op.Value)))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				return errorf(400, "invalidSyntax", "operation %d: value is not JSON", i+1)
			}
		}
		if err := p.apply(strings.ToLower(strings.TrimSpace(op.Op)), strings.TrimSpace(op.Path), v); err != nil {
			if se, ok := err.(*Error); ok {
				se.Detail = "operation " + strconv.Itoa(i+1) + " (" + op.Op + " " + op.Path + "): " + se.Detail
			}
			return err
		}
	}
	return nil
}

// apply performs one operation.
func (p *patcher) apply(op, path string, v any) error {
	switch op {
	case "add", "replace", "remove":
	default:
		return errorf(400, "invalidSyntax", "op must be add, replace or remove, not %q", op)
	}
	if path == "" {
		if op == "remove" {
			return errorf(400, "noTarget", "remove needs a path")
		}
		m, ok := v.(object)
		if !ok {
			return errorf(400, "invalidValue", "without a path the value must be an object of attributes")
		}
		return p.applyObject(op, "", m)
	}
	if len(path) > maxPathLen {
		return errorf(400, "invalidPath", "the path is longer than %d bytes", maxPathLen)
	}
	// A path naming an extension schema holds an object of its attributes.
	if uri, rest := p.rt.splitURN(path); uri != "" && rest == "" {
		if op == "remove" {
			return p.removeSchema(uri)
		}
		m, ok := v.(object)
		if !ok {
			return errorf(400, "invalidValue", "the value for %s must be an object", uri)
		}
		return p.applyObject(op, uri, m)
	}
	t, skip, err := p.resolvePath(path)
	if err != nil || skip {
		return err
	}
	return p.applyTarget(op, t, v)
}

// applyObject applies op to each member of a path-less value. Keys may be
// attribute names, dotted sub-attribute paths ("name.givenName") or
// URN-qualified names, and an extension URN key holds an object of its own.
func (p *patcher) applyObject(op, uri string, m object) error {
	for key, v := range m {
		if strings.EqualFold(key, "schemas") {
			continue
		}
		path := key
		if uri != "" {
			path = uri + ":" + key
		}
		if u, rest := p.rt.splitURN(path); u != "" && rest == "" {
			sub, ok := v.(object)
			if !ok {
				return errorf(400, "invalidValue", "the value for %s must be an object", u)
			}
			if err := p.applyObject(op, u, sub); err != nil {
				return err
			}
			continue
		}
		t, skip, err := p.resolvePath(path)
		if err != nil {
			if p.ignoreReadOnly {
				// Unknown attributes in a POST or PUT body are ignored.
				if se, ok := err.(*Error); ok && se.ScimType == "invalidPath" {
					continue
				}
			}
			return err
		}
		if skip {
			continue
		}
		if err := p.applyTarget(op, t, v); err != nil {
			return err
		}
	}
	return nil
}

// resolvePath parses a PATCH path. skip reports a path into an extension
// schema idcenter does not know; such operations are ignored so a client's
// custom attributes do not fail the whole request.
func (p *patcher) resolvePath(path string) (t target, skip bool, err error) {
	parsed, perr := parsePath(path)
	if perr != nil {
		// Paths like "urn:…:User:manager" parse; anything else is malformed.
		return t, false, errorf(400, "invalidPath", "%q is not a valid attribute path", path)
	}
	ap := parsed.AttributePath
	r, unknownExt, err := p.rt.resolve(ap.URI(), ap.AttributeName, ap.SubAttributeName())
	if err != nil {
		if unknownExt {
			return t, true, nil
		}
		return t, false, err
	}
	t.ref = r
	if parsed.ValueExpression != nil {
		if r.sub != nil || !r.attr.MultiValued || r.attr.Type != tComplex {
			return t, false, errorf(400, "invalidPath", "%s cannot take a value filter", r)
		}
		c := &compiler{rt: p.rt}
		f, err := c.compile(parsed.ValueExpression, &r)
		if err != nil {
			return t, false, errorf(400, "invalidPath", "%s", err.(*Error).Detail)
		}
		t.filter = f
		if parsed.SubAttribute != nil {
			if t.sub = r.attr.sub(*parsed.SubAttribute); t.sub == nil {
				return t, false, errorf(400, "invalidPath", "%s has no sub-attribute %q", r.attr.Name, *parsed.SubAttribute)
			}
		}
	} else if r.sub != nil {
		t.sub, t.ref.sub = r.sub, nil
	}
	return t, false, nil
}

func parsePath(s string) (pth filter.Path, err error) {
	defer func() {
		if recover() != nil {
			err = errorf(400, "invalidPath", "bad path")
		}
	}()
	return filter.ParsePath([]byte(s))
}

func (p *patcher) removeSchema(uri string) error {
	s := p.rt.schemaFor(uri)
	if s == nil || s == p.rt.Schema {
		return errorf(400, "invalidPath", "cannot remove %s", uri)
	}
	delete(p.obj, s.ID)
	return nil
}

// checkMutable refuses writes to readOnly attributes (or drops them quietly
// on POST and PUT).
func (p *patcher) writable(t target) (bool, error) {
	a := t.ref.attr
	leaf := a
	if t.sub != nil {
		leaf = t.sub
	}
	if a.Mutability == readOnly || leaf.Mutability == readOnly {
		if p.ignoreReadOnly {
			return false, nil
		}
		return false, errorf(400, "mutability", "%s is read-only", t.ref)
	}
	if a.Mutability == writeOnly {
		// password: accepted and dropped (see the schema's description).
		return false, nil
	}
	return true, nil
}

func (p *patcher) applyTarget(op string, t target, v any) error {
	if op != "remove" && t.filter == nil && t.sub == nil && t.ref.attr.Mutability == readOnly &&
		v != nil && reflect.DeepEqual(container(p.obj, t.ref.schema, false)[t.ref.attr.Name], v) {
		// Setting a read-only attribute to the value it already has changes
		// nothing: Okta renames a group with a path-less replace that repeats
		// its id ({"op":"replace","value":{"id":"…","displayName":"…"}}).
		// Any other value is still refused (SCIM-06).
		return nil
	}
	ok, err := p.writable(t)
	if err != nil || !ok {
		return err
	}
	a := t.ref.attr
	c := container(p.obj, t.ref.schema, op != "remove")
	name := a.Name

	if op == "remove" {
		return p.remove(c, t, v)
	}
	if v == nil {
		// add/replace with null: remove (a lenient reading many clients rely on).
		return p.remove(c, t, nil)
	}

	switch {
	case t.filter != nil:
		return p.setFiltered(op, c, t, v)
	case a.MultiValued && t.sub == nil:
		vals, err := coerceMulti(a, v)
		if err != nil {
			return err
		}
		if op == "replace" {
			c[name] = dedupe(vals)
		} else {
			cur, _ := c[name].([]any)
			c[name] = dedupe(append(append([]any{}, cur...), vals...))
		}
		fixPrimary(c, name, vals)
	case a.MultiValued: // emails.value without a filter: every element
		val, err := coerce(t.sub, v)
		if err != nil {
			return err
		}
		arr, _ := c[name].([]any)
		for _, x := range arr {
			if e, ok := x.(object); ok {
				e[t.sub.Name] = val
			}
		}
	case t.sub != nil:
		val, err := coerce(t.sub, v)
		if err != nil {
			return err
		}
		obj, _ := c[name].(object)
		if obj == nil {
			obj = object{}
			c[name] = obj
		}
		obj[t.sub.Name] = val
	case a.Type == tComplex:
		val, err := coerce(a, v)
		if err != nil {
			return err
		}
		// add and replace both merge sub-attributes (RFC 7644 §3.5.2.1, .3).
		obj, _ := c[name].(object)
		if obj == nil {
			obj = object{}
		}
		for k, x := range val.(object) {
			if x == nil {
				delete(obj, k)
			} else {
				obj[k] = x
			}
		}
		c[name] = obj
	default:
		val, err := coerce(a, v)
		if err != nil {
			return err
		}
		c[name] = val
	}
	return nil
}

// setFiltered handles add/replace on attr[filter](.sub). When nothing
// matches, a new element built from the filter's equality terms is added:
// Entra ID sends replace on emails[type eq "work"].value for users that have
// no work email yet and expects the value to appear (RFC 7644 would answer
// noTarget).
func (p *patcher) setFiltered(op string, c object, t target, v any) error {
	name := t.ref.attr.Name
	arr, _ := c[name].([]any)
	matched := false
	for i, x := range arr {
		e, ok := x.(object)
		if !ok || !t.filter.match(e) {
			continue
		}
		matched = true
		if t.sub != nil {
			val, err := coerce(t.sub, v)
			if err != nil {
				return err
			}
			e[t.sub.Name] = val
			continue
		}
		val, err := coerce(t.ref.attr.asSingle(), v)
		if err != nil {
			return err
		}
		if op == "replace" {
			arr[i] = val
		} else {
			for k, y := range val.(object) {
				e[k] = y
			}
		}
	}
	if matched {
		c[name] = arr
		return nil
	}
	elem := object{}
	seed(t.filter, elem)
	if t.sub != nil {
		val, err := coerce(t.sub, v)
		if err != nil {
			return err
		}
		elem[t.sub.Name] = val
	} else {
		val, err := coerce(t.ref.attr.asSingle(), v)
		if err != nil {
			return err
		}
		for k, y := range val.(object) {
			elem[k] = y
		}
	}
	c[name] = append(arr, elem)
	fixPrimary(c, name, []any{elem})
	return nil
}

// seed copies the equality terms of a value filter into a new element.
func seed(n node, e object) {
	switch n := n.(type) {
	case *cmpNode:
		if n.op == filter.EQ && n.ref.sub != nil && n.val != nil {
			e[n.ref.sub.Name] = n.val
		}
	case *logicNode:
		if n.and {
			seed(n.l, e)
			seed(n.r, e)
		}
	}
}

func (p *patcher) remove(c object, t target, v any) error {
	a := t.ref.attr
	name := a.Name
	if a.Required && t.sub == nil && t.filter == nil {
		return errorf(400, "mutability", "%s is required and cannot be removed", t.ref)
	}
	switch {
	case t.filter != nil:
		arr, _ := c[name].([]any)
		var keep []any
		for _, x := range arr {
			e, ok := x.(object)
			if ok && t.filter.match(e) {
				if t.sub != nil {
					delete(e, t.sub.Name)
					keep = append(keep, e)
				}
				continue
			}
			keep = append(keep, x)
		}
		setOrDelete(c, name, keep)
	case a.MultiValued && t.sub == nil && v != nil:
		// {"op":"remove","path":"members","value":[{"value":"id"}, …]}
		// (JumpCloud, Azure): remove the listed elements.
		vals, err := coerceMulti(a, v)
		if err != nil {
			return err
		}
		arr, _ := c[name].([]any)
		var keep []any
		drop := newElemIndex(vals)
		for _, x := range arr {
			if !drop.contains(x) {
				keep = append(keep, x)
			}
		}
		setOrDelete(c, name, keep)
	case a.MultiValued && t.sub != nil:
		arr, _ := c[name].([]any)
		for _, x := range arr {
			if e, ok := x.(object); ok {
				delete(e, t.sub.Name)
			}
		}
	case t.sub != nil:
		if obj, ok := c[name].(object); ok {
			delete(obj, t.sub.Name)
			if len(obj) == 0 {
				delete(c, name)
			}
		}
	default:
		delete(c, name)
	}
	return nil
}

func setOrDelete(c object, name string, vals []any) {
	if len(vals) == 0 {
		delete(c, name)
	} else {
		c[name] = vals
	}
}

// containsElem matches elements by their value sub-attribute when both
// have one (members, emails), else by deep equality.
func containsElem(list []any, x any) bool {
	xe, _ := x.(object)
	for _, y := range list {
		ye, _ := y.(object)
		if xe != nil && ye != nil && xe["value"] != nil && ye["value"] != nil {
			if reflect.DeepEqual(xe["value"], ye["value"]) {
				return true
			}
			continue
		}
		if reflect.DeepEqual(x, y) {
			return true
		}
	}
	return false
}

// dedupe drops repeated elements (same value), keeping the last one's
// other sub-attributes.
func dedupe(vals []any) []any {
	// Walk from the end: an element stays when no later one matches it.
	later := newElemIndex(nil)
	keep := make([]bool, len(vals))
	for i := len(vals) - 1; i >= 0; i-- {
		keep[i] = !later.contains(vals[i])
		later.add(vals[i])
	}
	var out []any
	for i, x := range vals {
		if keep[i] {
			out = append(out, x)
		}
	}
	return out
}

// elemIndex answers containsElem for many elements in constant time each
// when they have a string value (members, emails, … always do after
// coerce); others are compared one by one as containsElem does. Without it
// dedupe and removal were quadratic: adding one member to a group of
// 10,000 took 4.5 s of CPU, and a 1 MiB PATCH of repeated 10,000-member
// adds minutes (found by FuzzPatch stalling).
type elemIndex struct {
	values map[string]bool
	others []any // elements without a string value
}

func newElemIndex(list []any) *elemIndex {
	ix := &elemIndex{values: make(map[string]bool, len(list))}
	for _, x := range list {
		ix.add(x)
	}
	return ix
}

func stringValue(x any) (string, bool) {
	e, _ := x.(object)
	v, ok := e["value"].(string)
	return v, ok
}

func (ix *elemIndex) add(x any) {
	if v, ok := stringValue(x); ok {
		ix.values[v] = true
	} else {
		ix.others = append(ix.others, x)
	}
}

// contains is containsElem(list, x): an element with a string value
// matches exactly the elements with the same string value (never one
// without a value, which DeepEqual would not match either).
func (ix *elemIndex) contains(x any) bool {
	if v, ok := stringValue(x); ok {
		return ix.values[v]
	}
	return containsElem(ix.others, x)
}

// fixPrimary keeps at most one primary element: the newest wins.
func fixPrimary(c object, name string, added []any) {
	newPrimary := false
	for _, x := range added {
		if e, ok := x.(object); ok && e["primary"] == true {
			newPrimary = true
		}
	}
	if !newPrimary {
		return
	}
	arr, _ := c[name].([]any)
	for _, x := range arr {
		if e, ok := x.(object); ok && e["primary"] == true && !containsElem(added, e) {
			delete(e, "primary")
		}
	}
}

// asSingle is a multi-valued attribute's element type.
func (a *Attr) asSingle() *Attr {
	b := *a
	b.MultiValued = false
	return &b
}

// coerceMulti coerces a value for a multi-valued attribute; a single
// element is accepted as a list of one.
func coerceMulti(a *Attr, v any) ([]any, error) {
	arr, ok := v.([]any)
	if !ok {
		arr = []any{v}
	}
	if len(arr) > maxMultiValue {
		return nil, errorf(400, "invalidValue", "%s: at most %d values", a.Name, maxMultiValue)
	}
	single := a.asSingle()
	out := make([]any, 0, len(arr))
	for _, x := range arr {
		if x == nil {
			continue
		}
		val, err := coerce(single, x)
		if err != nil {
			return nil, err
		}
		out = append(out, val)
	}
	return out, nil
}

// coerce checks v against a's type and returns its canonical form: sub-
// attribute names canonical, string booleans ("True") as booleans, a plain
// string given for a complex attribute as its value sub-attribute (Entra
// sends the manager that way).
func coerce(a *Attr, v any) (any, error) {
	if a.MultiValued {
		vals, err := coerceMulti(a, v)
		return vals, err
	}
	switch a.Type {
	case tComplex:
		if s, ok := v.(string); ok && a.sub("value") != nil {
			v = object{"value": s}
		}
		m, ok := v.(object)
		if !ok {
			return nil, errorf(400, "invalidValue", "%s must be an object", a.Name)
		}
		out := object{}
		for k, x := range m {
			sub := a.sub(k)
			if sub == nil || x == nil {
				continue // unknown sub-attributes are ignored
			}
			if sub.Mutability == readOnly {
				continue
			}
			val, err := coerce(sub, x)
			if err != nil {
				return nil, err
			}
			out[sub.Name] = val
		}
		return out, nil
	case tBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		return nil, errorf(400, "invalidValue", "%s must be a boolean", a.Name)
	default:
		switch x := v.(type) {
		case string:
			return x, nil
		case json.Number:
			// Some clients send employeeNumber and the like as numbers.
			return x.String(), nil
		}
		return nil, errorf(400, "invalidValue", "%s must be a string", a.Name)
	}
}
