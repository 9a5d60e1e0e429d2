package scim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"

	"github.com/idcenter/idcenter/internal/audit"
)

// Bulk limits, advertised in /ServiceProviderConfig (RFC 7644 §3.7, SCIM-05).
const (
	BulkMaxOperations  = 100
	BulkMaxPayloadSize = 1 << 20
)

type bulkOp struct {
	Method  string          `json:"method"`
	BulkID  string          `json:"bulkId"`
	Version string          `json:"version"`
	Path    string          `json:"path"`
	Data    json.RawMessage `json:"data"`
}

type bulkRequest struct {
	Schemas      []string `json:"schemas"`
	FailOnErrors int      `json:"failOnErrors"`
	Operations   []bulkOp `json:"Operations"`
}

var (
	bulkRefRE  = regexp.MustCompile(`"bulkId:([^"\\]+)"`)
	bulkPathRE = regexp.MustCompile(`^/(Users|Groups)(/[^/?#]+)?$`)
)

// bulk runs each operation as its own request through the same handlers,
// with the caller's token, so every operation is authorized, validated and
// audited exactly like a single request. "bulkId:x" references are replaced
// by the id the operation with bulkId x created; operations whose references
// are not yet resolved wait for a later pass, and what never resolves (a
// reference cycle or an unknown bulkId) fails with 409.
func (h *Handler) bulk(w http.ResponseWriter, r *http.Request, _ audit.Actor) error {
	if r.ContentLength > BulkMaxPayloadSize {
		return errorf(http.StatusRequestEntityTooLarge, "tooLarge", "a bulk request may be at most %d bytes", BulkMaxPayloadSize)
	}
	r.Body = http.MaxBytesReader(w, r.Body, BulkMaxPayloadSize)
	var req bulkRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if len(req.Operations) == 0 {
		return errorf(http.StatusBadRequest, "invalidValue", "Operations is empty")
	}
	if len(req.Operations) > BulkMaxOperations {
		return errorf(http.StatusRequestEntityTooLarge, "tooMany", "a bulk request may hold at most %d operations", BulkMaxOperations)
	}
	ids := map[string]string{} // bulkId → created id
	seen := map[string]bool{}
	for i, op := range req.Operations {
		if op.BulkID == "" {
			continue
		}
		if seen[op.BulkID] {
			return errorf(http.StatusBadRequest, "invalidValue", "operation %d repeats bulkId %q", i+1, op.BulkID)
		}
		seen[op.BulkID] = true
	}
	results := make([]object, len(req.Operations))
	done := make([]bool, len(req.Operations))
	errorsSoFar := 0
	stop := false
	for progress := true; progress && !stop; {
		progress = false
		for i, op := range req.Operations {
			if done[i] || stop {
				continue
			}
			data, path, ready := resolveBulkRefs(op, ids)
			if !ready {
				continue
			}
			done[i], progress = true, true
			res := h.bulkOne(r, op, path, data)
			results[i] = res
			status, _ := strconv.Atoi(res["status"].(string))
			if status >= 400 {
				errorsSoFar++
				if req.FailOnErrors > 0 && errorsSoFar >= req.FailOnErrors {
					stop = true
				}
			} else if op.BulkID != "" && strings.EqualFold(op.Method, "POST") {
				if loc, _ := res["location"].(string); loc != "" {
					ids[op.BulkID] = loc[strings.LastIndex(loc, "/")+1:]
				}
			}
		}
	}
	var out []object
	for i, op := range req.Operations {
		switch {
		case results[i] != nil:
			out = append(out, results[i])
		case !stop:
			out = append(out, bulkResult(op, "", http.StatusConflict, errorBody(errorf(http.StatusConflict, "invalidValue",
				"bulkId references that cannot be resolved (unknown bulkId or a cycle)"))))
		}
	}
	writeJSON(w, http.StatusOK, object{"schemas": []string{URNBulkResponse}, "Operations": out})
	return nil
}

// resolveBulkRefs substitutes known bulkIds; ready is false while some are
// unknown.
func resolveBulkRefs(op bulkOp, ids map[string]string) (data []byte, path string, ready bool) {
	ready = true
	sub := func(b []byte) []byte {
		return bulkRefRE.ReplaceAllFunc(b, func(m []byte) []byte {
			id, ok := ids[string(bulkRefRE.FindSubmatch(m)[1])]
			if !ok {
				ready = false
				return m
			}
			return []byte(`"` + id + `"`)
		})
	}
	data = sub(op.Data)
	path = op.Path
	if i := strings.Index(path, "bulkId:"); i >= 0 {
		if id, ok := ids[path[i+len("bulkId:"):]]; ok {
			path = path[:i] + id
		} else {
			ready = false
		}
	}
	return data, path, ready
}

func (h *Handler) bulkOne(r *http.Request, op bulkOp, path string, data []byte) object {
	method := strings.ToUpper(op.Method)
	switch method {
	case "POST", "PUT", "PATCH", "DELETE":
	default:
		return bulkResult(op, "", http.StatusBadRequest, errorBody(errorf(400, "invalidSyntax", "method must be POST, PUT, PATCH or DELETE")))
	}
	m := bulkPathRE.FindStringSubmatch(path)
	if m == nil || (method == "POST") != (m[2] == "") || strings.HasSuffix(path, "/.search") {
		return bulkResult(op, "", http.StatusBadRequest, errorBody(errorf(400, "invalidPath", "path %q is not a Users or Groups resource for %s", path, method)))
	}
	sub, err := http.NewRequestWithContext(r.Context(), method, Prefix+path, bytes.NewReader(data))
	if err != nil {
		return bulkResult(op, "", http.StatusBadRequest, errorBody(errorf(400, "invalidPath", "bad path %q", path)))
	}
	sub.Header.Set("Authorization", r.Header.Get("Authorization"))
	sub.Header.Set("Content-Type", "application/scim+json")
	if op.Version != "" {
		sub.Header.Set("If-Match", op.Version)
	}
	rec := httptest.NewRecorder()
	h.mux.ServeHTTP(rec, sub)
	location := rec.Header().Get("Location")
	if location == "" && method != "POST" && rec.Code < 300 {
		location = h.base() + path
	}
	var body object
	if rec.Code >= 400 {
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
	}
	res := bulkResult(op, location, rec.Code, body)
	if v := rec.Header().Get("ETag"); v != "" {
		res["version"] = v
	}
	return res
}

func bulkResult(op bulkOp, location string, status int, response object) object {
	res := object{"method": strings.ToUpper(op.Method), "status": strconv.Itoa(status)}
	if op.BulkID != "" {
		res["bulkId"] = op.BulkID
	}
	if location != "" {
		res["location"] = location
	}
	if response != nil {
		res["response"] = response
	}
	return res
}

func errorBody(e *Error) object {
	b := object{"schemas": []string{URNError}, "status": strconv.Itoa(e.Status), "detail": e.Detail}
	if e.ScimType != "" {
		b["scimType"] = e.ScimType
	}
	return b
}
