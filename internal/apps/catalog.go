package apps

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
)

// TemplateCustom is the catalog entry of a hand-configured application.
const TemplateCustom = "custom"

// Template is a catalog entry: the settings a new application starts from,
// and the setup instructions for the service provider's side. Values the
// admin must supply are marked <like-this>; saving an application that still
// holds a marker fails with a message naming it.
type Template struct {
	ID                string      `json:"id"`
	Name              string      `json:"name"`
	Description       string      `json:"description"`
	EntityID          string      `json:"entityId,omitempty"`
	ACS               []ACS       `json:"acs,omitempty"`
	SLOURL            string      `json:"sloUrl,omitempty"`
	SLOBinding        string      `json:"sloBinding,omitempty"`
	StartURL          string      `json:"startUrl,omitempty"`
	DefaultRelayState string      `json:"defaultRelayState,omitempty"`
	SessionDuration   string      `json:"sessionDuration,omitempty"`
	SigningMode       string      `json:"signingMode,omitempty"`
	NameIDFormat      string      `json:"nameIdFormat"`
	NameID            string      `json:"nameId"`
	Attributes        []Attribute `json:"attributes"`
	Documentation     string      `json:"documentation,omitempty"` // the vendor's SAML documentation
	Instructions      string      `json:"instructions"`            // Markdown
}

// application returns a new application pre-filled from the template.
func (t Template) application() Application {
	return Application{
		DisplayName: t.Name, Description: t.Description, EntityID: t.EntityID,
		ACS: slices.Clone(t.ACS), SLOURL: t.SLOURL, SLOBinding: t.SLOBinding, StartURL: t.StartURL,
		DefaultRelayState: t.DefaultRelayState, SessionDuration: t.SessionDuration, SigningMode: t.SigningMode,
		NameIDFormat: t.NameIDFormat, NameID: t.NameID, Attributes: slices.Clone(t.Attributes),
		Template: t.ID, Enabled: true,
	}
}

//go:embed catalog/*.json
var catalogFS embed.FS

// catalog holds the embedded templates, custom first, then by name.
var catalog = mustLoadCatalog(catalogFS)

func mustLoadCatalog(fsys fs.FS) []Template {
	c, err := loadCatalog(fsys)
	if err != nil {
		panic(err) // embedded data; TestCatalog catches this first
	}
	return c
}

func loadCatalog(fsys fs.FS) ([]Template, error) {
	files, err := fs.Glob(fsys, "catalog/*.json")
	if err != nil {
		return nil, err
	}
	var out []Template
	seen := map[string]string{}
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		var t Template
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("catalog %s: %w", f, err)
		}
		if t.ID == "" || t.Name == "" || strings.TrimSpace(t.Instructions) == "" {
			return nil, fmt.Errorf("catalog %s: id, name and instructions are required", f)
		}
		if prev, dup := seen[t.ID]; dup {
			return nil, fmt.Errorf("catalog %s: id %q already used by %s", f, t.ID, prev)
		}
		seen[t.ID] = f
		out = append(out, t)
	}
	if _, ok := seen[TemplateCustom]; !ok {
		return nil, fmt.Errorf("catalog: no %q template", TemplateCustom)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].ID == TemplateCustom) != (out[j].ID == TemplateCustom) {
			return out[i].ID == TemplateCustom
		}
		return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name)
	})
	return out, nil
}

// Catalog lists the application templates, custom first.
func Catalog() []Template {
	out := make([]Template, len(catalog))
	for i, t := range catalog {
		t.ACS, t.Attributes = slices.Clone(t.ACS), slices.Clone(t.Attributes)
		out[i] = t
	}
	return out
}

// LookupTemplate returns the template with this id (case-insensitive).
func LookupTemplate(id string) (Template, bool) {
	for _, t := range Catalog() {
		if strings.EqualFold(t.ID, strings.TrimSpace(id)) {
			return t, true
		}
	}
	return Template{}, false
}
