package scim

import (
	"net/http"
	"strings"

	"github.com/idcenter/idcenter/internal/audit"
)

// The discovery documents advertise exactly what the handlers do.

func (h *Handler) serviceProviderConfig(w http.ResponseWriter, r *http.Request, _ audit.Actor) error {
	writeJSON(w, http.StatusOK, object{
		"schemas":          []string{URNSPConfig},
		"documentationUri": "https://github.com/idcenter/idcenter/blob/main/docs/scim.md",
		"patch":            object{"supported": true},
		"bulk":             object{"supported": true, "maxOperations": BulkMaxOperations, "maxPayloadSize": BulkMaxPayloadSize},
		"filter":           object{"supported": true, "maxResults": MaxResults},
		"changePassword":   object{"supported": false},
		"sort":             object{"supported": false},
		"etag":             object{"supported": true},
		"authenticationSchemes": []object{{
			"type": "oauthbearertoken", "name": "Bearer token",
			"description": "A SCIM token created by an idcenter administrator (idcenter scim-tokens create), sent as Authorization: Bearer <token>.",
			"primary":     true,
		}},
		"meta": object{"resourceType": "ServiceProviderConfig", "location": h.base() + "/ServiceProviderConfig"},
	})
	return nil
}

func (h *Handler) resourceTypeObject(rt *resourceType) object {
	o := object{
		"schemas": []string{URNResourceType}, "id": rt.Name, "name": rt.Name,
		"endpoint": rt.Endpoint, "description": rt.Schema.Description, "schema": rt.Schema.ID,
		"meta": object{"resourceType": "ResourceType", "location": h.base() + "/ResourceTypes/" + rt.Name},
	}
	var ext []object
	for _, e := range rt.Extensions {
		ext = append(ext, object{"schema": e.ID, "required": false})
	}
	if ext != nil {
		o["schemaExtensions"] = ext
	}
	return o
}

func (h *Handler) resourceTypes(w http.ResponseWriter, r *http.Request, _ audit.Actor) error {
	items := []object{h.resourceTypeObject(userType), h.resourceTypeObject(groupType)}
	writeJSON(w, http.StatusOK, listResponse(items, len(items), 1))
	return nil
}

func (h *Handler) resourceType(w http.ResponseWriter, r *http.Request, _ audit.Actor) error {
	for _, rt := range []*resourceType{userType, groupType} {
		if strings.EqualFold(rt.Name, r.PathValue("name")) {
			writeJSON(w, http.StatusOK, h.resourceTypeObject(rt))
			return nil
		}
	}
	return errorf(http.StatusNotFound, "", "no resource type %q", r.PathValue("name"))
}

func (h *Handler) schemaObject(s *Schema) object {
	return object{
		"schemas": []string{URNSchema}, "id": s.ID, "name": s.Name, "description": s.Description,
		"attributes": s.Attributes,
		"meta":       object{"resourceType": "Schema", "location": h.base() + "/Schemas/" + s.ID},
	}
}

var allSchemas = []*Schema{userSchema, enterpriseSchema, groupSchema}

func (h *Handler) schemas(w http.ResponseWriter, r *http.Request, _ audit.Actor) error {
	var items []object
	for _, s := range allSchemas {
		items = append(items, h.schemaObject(s))
	}
	writeJSON(w, http.StatusOK, listResponse(items, len(items), 1))
	return nil
}

func (h *Handler) schema(w http.ResponseWriter, r *http.Request, _ audit.Actor) error {
	for _, s := range allSchemas {
		if strings.EqualFold(s.ID, r.PathValue("id")) {
			writeJSON(w, http.StatusOK, h.schemaObject(s))
			return nil
		}
	}
	return errorf(http.StatusNotFound, "", "no schema %q", r.PathValue("id"))
}
