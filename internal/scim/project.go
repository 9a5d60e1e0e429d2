package scim

import (
	"strings"
)

// projection is a parsed attributes / excludedAttributes pair.
type projection struct {
	include []ref // empty: the default set
	exclude []ref
}

// parseProjection resolves the comma-separated attribute lists; names that
// resolve to nothing are ignored (RFC 7644 does not make them errors).
func parseProjection(rt *resourceType, attrs, excluded any) projection {
	return projection{include: refs(rt, attrs), exclude: refs(rt, excluded)}
}

func refs(rt *resourceType, v any) []ref {
	var names []string
	switch v := v.(type) {
	case string:
		names = strings.Split(v, ",")
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				names = append(names, strings.Split(s, ",")...)
			}
		}
	}
	var out []ref
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		uri, rest := rt.splitURN(n)
		if uri != "" && rest == "" {
			// A whole extension schema.
			if s := rt.schemaFor(uri); s != nil {
				out = append(out, ref{schema: s})
			}
			continue
		}
		name, sub, _ := strings.Cut(rest, ".")
		r, _, err := rt.resolve(uri, name, sub)
		if err == nil {
			out = append(out, r)
		}
	}
	return out
}

// wants reports whether the projection returns attribute name of the core
// schema (used to skip loading group members and user groups).
func (p projection) wants(s *Schema, name string, byDefault bool) bool {
	for _, r := range p.exclude {
		if r.schema == s && r.attr != nil && r.attr.Name == name && r.sub == nil {
			return false
		}
	}
	if len(p.include) == 0 {
		return byDefault
	}
	for _, r := range p.include {
		if r.schema == s && r.attr != nil && r.attr.Name == name {
			return true
		}
	}
	return false
}

// apply returns obj reduced to the projection. id and schemas are always
// returned; write-only attributes never are (they are never in obj).
func (p projection) apply(rt *resourceType, obj object) object {
	if len(p.include) == 0 && len(p.exclude) == 0 {
		return obj
	}
	out := object{}
	if len(p.include) == 0 {
		for k, v := range obj {
			out[k] = v
		}
	} else {
		out["schemas"], out["id"] = obj["schemas"], obj["id"]
		for _, r := range p.include {
			copyRef(out, obj, r)
		}
	}
	for _, r := range p.exclude {
		if r.attr != nil && r.attr.Returned == "always" {
			continue
		}
		removeRef(out, r)
	}
	return out
}

func copyRef(dst, src object, r ref) {
	if r.attr == nil { // whole extension
		if v, ok := src[r.schema.ID]; ok {
			dst[r.schema.ID] = v
		}
		return
	}
	sc := container(src, r.schema, false)
	v, ok := sc[r.attr.Name]
	if !ok {
		return
	}
	dc := dst
	if r.schema != rt(src) {
		dc = containerCopy(dst, r.schema)
	}
	if r.sub == nil {
		dc[r.attr.Name] = v
		return
	}
	switch v := v.(type) {
	case object:
		o, _ := dc[r.attr.Name].(object)
		if o == nil {
			o = object{}
		}
		if x, ok := v[r.sub.Name]; ok {
			o[r.sub.Name] = x
		}
		dc[r.attr.Name] = o
	case []any:
		// Multi-valued: keep the sub-attribute of each element.
		var arr []any
		prev, _ := dc[r.attr.Name].([]any)
		for i, x := range v {
			e, _ := x.(object)
			o := object{}
			if i < len(prev) {
				o, _ = prev[i].(object)
			}
			if y, ok := e[r.sub.Name]; ok {
				o[r.sub.Name] = y
			}
			arr = append(arr, o)
		}
		dc[r.attr.Name] = arr
	}
}

// rt returns the schema whose attributes sit at the top of obj.
func rt(obj object) *Schema {
	if s, _ := obj["schemas"].([]any); len(s) > 0 && s[0] == URNGroup {
		return groupSchema
	}
	return userSchema
}

func containerCopy(dst object, s *Schema) object {
	c, _ := dst[s.ID].(object)
	if c == nil {
		c = object{}
		dst[s.ID] = c
	}
	return c
}

func removeRef(obj object, r ref) {
	if r.attr == nil {
		delete(obj, r.schema.ID)
		return
	}
	c := container(obj, r.schema, false)
	if r.sub == nil {
		delete(c, r.attr.Name)
		return
	}
	switch v := c[r.attr.Name].(type) {
	case object:
		o := object{}
		for k, x := range v {
			if k != r.sub.Name {
				o[k] = x
			}
		}
		c[r.attr.Name] = o
	case []any:
		arr := make([]any, 0, len(v))
		for _, x := range v {
			e, _ := x.(object)
			o := object{}
			for k, y := range e {
				if k != r.sub.Name {
					o[k] = y
				}
			}
			arr = append(arr, o)
		}
		c[r.attr.Name] = arr
	}
}
