package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/idcenter/idcenter/internal/httpx"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// applyMergePatch applies an RFC 7396 JSON merge patch to *dst: objects merge
// recursively, null removes a member, anything else replaces. The result is
// decoded strictly, so unknown fields and wrong types are 400s.
func applyMergePatch[T any](dst *T, patch map[string]any) error {
	cur, err := json.Marshal(dst)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(cur, &doc); err != nil {
		return err
	}
	merged := mergeObjects(doc, patch)
	b, err := json.Marshal(merged)
	if err != nil {
		return err
	}
	var next T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&next); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return httpx.Badf("field %q: expected %s, got JSON %s", typ.Field, typ.Type, typ.Value)
		}
		return httpx.Badf("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	*dst = next
	return nil
}

func mergeObjects(target, patch map[string]any) map[string]any {
	if target == nil {
		target = map[string]any{}
	}
	for k, v := range patch {
		if v == nil {
			delete(target, k)
			continue
		}
		if pv, ok := v.(map[string]any); ok {
			tv, _ := target[k].(map[string]any)
			target[k] = mergeObjects(tv, pv)
			continue
		}
		target[k] = v
	}
	return target
}
