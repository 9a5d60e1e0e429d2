package iac

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// MaxMetadataBytes bounds the IdP metadata a render accepts (AWS takes
// documents of 1,000 bytes to 10 MB; idcenter's are a few kilobytes).
const MaxMetadataBytes = 1 << 20

// State summarises a render: what the documents make exist in the account.
// It is what the server records at each render and what drift is computed
// from; it leaves out what changes without consequence (the metadata's
// validUntil and signature).
type State struct {
	AccountID string        `json:"accountId"`
	Provider  ProviderState `json:"provider"`
	Roles     []RoleState   `json:"roles"`
}

// ProviderState is the IAM SAML provider: its name, the audience its roles'
// trust policies require, and the IdP metadata's entity ID, SSO URL and
// signing certificates (SHA-256 fingerprints of the DER, sorted).
type ProviderState struct {
	Name         string   `json:"name"`
	Audience     string   `json:"audience"`
	EntityID     string   `json:"entityId"`
	SSOURL       string   `json:"ssoUrl,omitempty"`
	Certificates []string `json:"certificates"`
}

// Fingerprint is a digest of the metadata content the provider depends on.
func (p ProviderState) Fingerprint() string {
	sum := sha256.Sum256([]byte(p.EntityID + "\n" + p.SSOURL + "\n" + strings.Join(p.Certificates, "\n")))
	return hex.EncodeToString(sum[:])
}

// RoleState is one role: its name, permission set, maximum session in
// seconds, attached managed policy ARNs, a digest of the inline policy
// (canonical JSON), the boundary ARN and the tags.
type RoleState struct {
	Name            string            `json:"name"`
	PermissionSet   string            `json:"permissionSet"`
	SessionSeconds  int               `json:"sessionSeconds"`
	ManagedPolicies []string          `json:"managedPolicies,omitempty"`
	InlinePolicy    string            `json:"inlinePolicy,omitempty"` // SHA-256 of the canonical JSON
	Boundary        string            `json:"permissionsBoundary,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
}

// Summarize returns the State a render of in produces.
func Summarize(in Input) (State, error) {
	p, err := buildPlan(in)
	if err != nil {
		return State{}, err
	}
	return p.state(), nil
}

func (p plan) state() State {
	s := State{AccountID: p.account.ID, Provider: p.provider, Roles: []RoleState{}}
	for _, r := range p.roles {
		rs := RoleState{Name: r.name, PermissionSet: r.permissionSet, SessionSeconds: r.seconds,
			ManagedPolicies: r.managedPolicies, Boundary: r.boundary}
		if r.inline != nil {
			sum := sha256.Sum256(r.inline)
			rs.InlinePolicy = hex.EncodeToString(sum[:])
		}
		if len(r.tags) > 0 {
			rs.Tags = map[string]string{}
			for _, t := range r.tags {
				rs.Tags[t.Key] = t.Value
			}
		}
		s.Roles = append(s.Roles, rs)
	}
	sort.Slice(s.Roles, func(i, j int) bool { return s.Roles[i].Name < s.Roles[j].Name })
	return s
}

// Digest is a SHA-256 of the state's canonical JSON: equal digests, no drift.
func (s State) Digest() string {
	b, _ := marshal(s)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ParseMetadata reads what the provider depends on from SAML IdP metadata:
// the entity ID, the first SSO location and the signing certificates of the
// IDPSSODescriptor (a signature's own certificate is not among them).
func ParseMetadata(doc []byte) (ProviderState, error) {
	var p ProviderState
	if len(bytes.TrimSpace(doc)) == 0 {
		return p, errors.New("no IdP metadata")
	}
	if len(doc) > MaxMetadataBytes {
		return p, fmt.Errorf("IdP metadata is larger than %d bytes", MaxMetadataBytes)
	}
	var ed struct {
		XMLName  xml.Name `xml:"EntityDescriptor"`
		EntityID string   `xml:"entityID,attr"`
		IdP      []struct {
			Keys []struct {
				Use   string   `xml:"use,attr"`
				Certs []string `xml:"KeyInfo>X509Data>X509Certificate"`
			} `xml:"KeyDescriptor"`
			SSO []struct {
				Location string `xml:"Location,attr"`
			} `xml:"SingleSignOnService"`
		} `xml:"IDPSSODescriptor"`
	}
	if err := xml.Unmarshal(doc, &ed); err != nil {
		return p, fmt.Errorf("IdP metadata is not an EntityDescriptor: %v", err)
	}
	if len(ed.IdP) == 0 || ed.EntityID == "" {
		return p, errors.New("IdP metadata has no entityID or no IDPSSODescriptor")
	}
	p.EntityID = ed.EntityID
	seen := map[string]bool{}
	for _, d := range ed.IdP {
		if p.SSOURL == "" && len(d.SSO) > 0 {
			p.SSOURL = d.SSO[0].Location
		}
		for _, k := range d.Keys {
			if k.Use != "" && k.Use != "signing" {
				continue
			}
			for _, c := range k.Certs {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c), ""))
				if err != nil {
					return p, fmt.Errorf("IdP metadata: a signing certificate is not base64: %v", err)
				}
				sum := sha256.Sum256(der)
				fp := hex.EncodeToString(sum[:])
				if !seen[fp] {
					seen[fp] = true
					p.Certificates = append(p.Certificates, fp)
				}
			}
		}
	}
	if len(p.Certificates) == 0 {
		return p, errors.New("IdP metadata publishes no signing certificate")
	}
	sort.Strings(p.Certificates)
	return p, nil
}

// Difference is one way the current model differs from the last render.
type Difference struct {
	// Kind: provider, role-added, role-removed or role-changed.
	Kind string `json:"kind"`
	// Role is the IAM role name (empty for the provider).
	Role string `json:"role,omitempty"`
	// Detail says what changed, in plain words.
	Detail string `json:"detail"`
}

// Kinds of Difference.
const (
	DiffProvider    = "provider"
	DiffRoleAdded   = "role-added"
	DiffRoleRemoved = "role-removed"
	DiffRoleChanged = "role-changed"
)

// Compare lists what changed from the recorded state to the current one,
// provider first, then roles by name.
func Compare(recorded, current State) []Difference {
	var out []Difference
	rp, cp := recorded.Provider, current.Provider
	if rp.Name != cp.Name {
		out = append(out, Difference{Kind: DiffProvider, Detail: fmt.Sprintf("re-apply: SAML provider renamed from %s to %s (every role's trust policy names it)", rp.Name, cp.Name)})
	}
	if rp.Audience != cp.Audience {
		out = append(out, Difference{Kind: DiffProvider, Detail: fmt.Sprintf("re-apply: trust policies' SAML:aud changed from %s to %s", rp.Audience, cp.Audience)})
	}
	if rp.Fingerprint() != cp.Fingerprint() {
		var what []string
		if rp.EntityID != cp.EntityID {
			what = append(what, "entity ID "+rp.EntityID+" → "+cp.EntityID)
		}
		if rp.SSOURL != cp.SSOURL {
			what = append(what, "SSO URL "+rp.SSOURL+" → "+cp.SSOURL)
		}
		added, removed := diffSets(rp.Certificates, cp.Certificates)
		for _, c := range added {
			what = append(what, "signing certificate "+short(c)+" added")
		}
		for _, c := range removed {
			what = append(what, "signing certificate "+short(c)+" removed")
		}
		out = append(out, Difference{Kind: DiffProvider, Detail: "re-apply: provider metadata changed (" + strings.Join(what, "; ") + ")"})
	}

	rec := map[string]RoleState{}
	for _, r := range recorded.Roles {
		rec[r.Name] = r
	}
	cur := map[string]RoleState{}
	for _, r := range current.Roles {
		cur[r.Name] = r
	}
	var names []string
	for n := range rec {
		names = append(names, n)
	}
	for n := range cur {
		if _, ok := rec[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		r, inRec := rec[n]
		c, inCur := cur[n]
		switch {
		case !inRec:
			out = append(out, Difference{Kind: DiffRoleAdded, Role: n, Detail: "role added (permission set " + c.PermissionSet + " is now assigned in the account)"})
		case !inCur:
			out = append(out, Difference{Kind: DiffRoleRemoved, Role: n, Detail: "role removed (permission set " + r.PermissionSet + " is no longer assigned in the account)"})
		default:
			for _, d := range compareRole(r, c) {
				out = append(out, Difference{Kind: DiffRoleChanged, Role: n, Detail: d})
			}
		}
	}
	return out
}

func compareRole(r, c RoleState) []string {
	var out []string
	if r.PermissionSet != c.PermissionSet {
		out = append(out, "now from permission set "+c.PermissionSet+" (was "+r.PermissionSet+")")
	}
	if r.SessionSeconds != c.SessionSeconds {
		out = append(out, fmt.Sprintf("session duration changed from %s to %s", seconds(r.SessionSeconds), seconds(c.SessionSeconds)))
	}
	added, removed := diffSets(r.ManagedPolicies, c.ManagedPolicies)
	for _, p := range added {
		out = append(out, "managed policy "+p+" attached")
	}
	for _, p := range removed {
		out = append(out, "managed policy "+p+" detached")
	}
	switch {
	case r.InlinePolicy == c.InlinePolicy:
	case r.InlinePolicy == "":
		out = append(out, "inline policy added")
	case c.InlinePolicy == "":
		out = append(out, "inline policy removed")
	default:
		out = append(out, "inline policy changed")
	}
	switch {
	case r.Boundary == c.Boundary:
	case r.Boundary == "":
		out = append(out, "permissions boundary "+c.Boundary+" set")
	case c.Boundary == "":
		out = append(out, "permissions boundary "+r.Boundary+" removed")
	default:
		out = append(out, "permissions boundary changed from "+r.Boundary+" to "+c.Boundary)
	}
	var keys []string
	for k := range r.Tags {
		keys = append(keys, k)
	}
	for k := range c.Tags {
		if _, ok := r.Tags[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		rv, inR := r.Tags[k]
		cv, inC := c.Tags[k]
		switch {
		case !inR:
			out = append(out, fmt.Sprintf("tag %s=%s added", k, cv))
		case !inC:
			out = append(out, fmt.Sprintf("tag %s removed", k))
		case rv != cv:
			out = append(out, fmt.Sprintf("tag %s changed from %s to %s", k, rv, cv))
		}
	}
	return out
}

// diffSets returns the members of b not in a, and of a not in b, sorted.
func diffSets(a, b []string) (added, removed []string) {
	in := func(s []string, x string) bool {
		for _, y := range s {
			if y == x {
				return true
			}
		}
		return false
	}
	for _, x := range b {
		if !in(a, x) {
			added = append(added, x)
		}
	}
	for _, x := range a {
		if !in(b, x) {
			removed = append(removed, x)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed
}

// short shows a certificate fingerprint as SHA-256 and its first 8 bytes.
func short(fp string) string {
	if len(fp) > 16 {
		fp = fp[:16]
	}
	var b strings.Builder
	for i := 0; i < len(fp); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(fp[i:min(i+2, len(fp))])
	}
	return "SHA256 " + b.String() + "…"
}

func seconds(s int) string {
	if s%3600 == 0 {
		return fmt.Sprintf("%dh", s/3600)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
}
