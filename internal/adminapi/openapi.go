package adminapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"
)

// OpenAPI builds the OpenAPI 3.1 document from the route table, with JSON
// schemas derived from the Go types the handlers encode and decode.
func (a *API) OpenAPI() map[string]any {
	g := &schemaGen{defs: map[string]any{}}
	paths := map[string]any{}
	for _, rt := range a.table() {
		item, _ := paths[Prefix+rt.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[Prefix+rt.Path] = item
		}
		item[strings.ToLower(rt.Method)] = g.operation(rt)
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "idcenter admin API",
			"version":     "1",
			"description": "Manage the directory, API tokens, the audit trail and declarative configuration. Errors are RFC 9457 problem documents.",
		},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "An API token (idcenter tokens create)."},
			},
		},
		"security": []any{map[string]any{"bearer": []any{}}},
	}
}

var (
	openapiOnce sync.Once
	openapiJSON []byte
)

func (a *API) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	openapiOnce.Do(func() { openapiJSON, _ = json.MarshalIndent(a.OpenAPI(), "", "  ") })
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openapiJSON)
}

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

var problemRef = map[string]any{"$ref": "#/components/schemas/Problem"}

func (g *schemaGen) operation(rt route) map[string]any {
	op := map[string]any{
		"operationId": rt.ID, "summary": rt.Summary, "tags": []any{rt.Tag},
		"description": "Requires role: " + strings.ReplaceAll(rt.Access, ",", " or ") + ".",
	}
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"},
			"description": "id or name"})
	}
	for _, q := range rt.Query {
		params = append(params, map[string]any{"name": q.Name, "in": "query", "schema": map[string]any{"type": q.Type}, "description": q.Desc})
	}
	for _, h := range rt.Headers {
		params = append(params, map[string]any{"name": h.Name, "in": "header", "schema": map[string]any{"type": h.Type}, "description": h.Desc})
	}
	if params != nil {
		op["parameters"] = params
	}
	if rt.Body != nil {
		media := rt.BodyMedia
		if media == "" {
			media = "application/json"
		}
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{media: map[string]any{"schema": g.schema(reflect.TypeOf(rt.Body))}}}
	}
	resp := map[string]any{"description": http.StatusText(rt.Status)}
	if rt.Resp != nil {
		media := rt.RespMedia
		if media == "" {
			media = "application/json"
		}
		resp["content"] = map[string]any{media: map[string]any{"schema": g.schema(reflect.TypeOf(rt.Resp))}}
	}
	responses := map[string]any{itoa(rt.Status): resp}
	g.schema(reflect.TypeOf(problem{}))
	for _, s := range []int{400, 401, 403, 404, 409, 413, 503} {
		responses[itoa(s)] = map[string]any{"description": http.StatusText(s),
			"content": map[string]any{"application/problem+json": map[string]any{"schema": problemRef}}}
	}
	op["responses"] = responses
	return op
}

// problem mirrors httpx.Problem for the schema (named Problem).
type problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Instance  string       `json:"instance,omitempty"`
	RequestID string       `json:"requestId,omitempty"`
	Errors    []fieldError `json:"errors,omitempty"`
}

type fieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

type schemaGen struct {
	defs map[string]any
}

var timeType = reflect.TypeOf(time.Time{})

// schema returns the JSON schema of t; named structs go to components.
func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Pointer:
		return g.schema(t.Elem())
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": true}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := schemaName(t)
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = map[string]any{} // break recursion
			props := map[string]any{}
			g.fields(t, props)
			g.defs[name] = map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			g.fields(ft, props)
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
	}
}

func schemaName(t reflect.Type) string {
	name := t.Name()
	if i := strings.Index(name, "["); i >= 0 { // List[pkg.T] → TList
		inner := name[i+1 : len(name)-1]
		if j := strings.LastIndex(inner, "."); j >= 0 {
			inner = inner[j+1:]
		}
		name = inner + name[:i]
	}
	if name == "problem" {
		return "Problem"
	}
	if name == "fieldError" {
		return "FieldError"
	}
	return name
}
