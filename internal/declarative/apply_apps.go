package declarative

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/saml"
)

// Tx is the transaction one apply runs in: the directory's and the
// applications' at once (sqlstore.Tx is both), so users, groups and
// applications change together or not at all.
type Tx interface {
	directory.Tx
	apps.Tx
}

type appStep struct {
	idx     int
	key     string // apps.NormalizeName
	want    Application
	req     apps.CreateRequest
	desired apps.Application // what the applications service would store
	cur     *apps.Application
	change  *Change
	noWrite bool // rejected by validation: planned but not written
	// fromMetadata is set when the ACS URLs, or the SP certificates, come
	// from the SP metadata rather than the document.
	acsFromMetadata, certsFromMetadata bool

	addUsers, removeUsers, addGroups, removeGroups []string // normalised names, sorted

	ok  bool
	out apps.Application
}

// planApps compares the document's applications with the store.
func (a *applier) planApps(ctx context.Context, doc Document, bad flagged) error {
	fileApps := map[string]bool{}
	for i, w := range doc.Applications {
		if !bad.apps[i] {
			fileApps[apps.NormalizeName(w.Name)] = true
		}
	}
	a.fileAppNames = fileApps
	for _, x := range a.apps {
		if fileApps[apps.NormalizeName(x.DisplayName)] || (x.ManagedBy != directory.ManagedByApply && !a.opts.Prune) {
			continue
		}
		a.delApps = append(a.delApps, x)
	}
	for i, w := range doc.Applications {
		if bad.apps[i] {
			continue
		}
		st := &appStep{idx: i, key: apps.NormalizeName(w.Name), want: w}
		if j, ok := a.appIdx[st.key]; ok {
			st.cur = &a.apps[j]
		}
		if err := a.planApp(ctx, st); err != nil {
			return err
		}
		a.appSteps = append(a.appSteps, st)
	}
	return nil
}

func (a *applier) planApp(ctx context.Context, st *appStep) error {
	w, p := st.want, fmt.Sprintf("applications[%d]", st.idx)
	if a.appSvc == nil {
		a.problems.Add(p, "applications are not available on this server")
		st.noWrite = true
		return nil
	}
	var md *apps.SPMetadata
	switch {
	case w.SPMetadataURL != "" && (w.SPMetadata != "" || w.SPMetadataFile != ""):
		a.problems.Add(p+".sp_metadata_url", "give one of sp_metadata_url, sp_metadata_file and sp_metadata")
		st.noWrite = true
	case w.SPMetadataURL != "":
		r := a.fetched[st.idx]
		md = r.md
		if r.err == nil && md != nil {
			signer := ""
			if st.cur != nil {
				signer = st.cur.SPMetadataSigningCertificate
			}
			r.err = a.appSvc.CheckMetadata(md, signer)
		}
		if r.err != nil || md == nil {
			msg := "could not be fetched"
			if r.err != nil {
				msg = r.err.Error()
				var inv *errs.Invalid
				if errors.As(r.err, &inv) && len(inv.Problems) == 1 {
					msg = inv.Problems[0].Reason
				}
			}
			a.problems.Add(p+".sp_metadata_url", "%s", msg)
			st.noWrite, md = true, nil
		}
	case w.SPMetadataFile != "" && w.SPMetadata == "":
		a.problems.Add(p+".sp_metadata_file", "was not read: `idcenter apply` reads it relative to the document (Document.ResolveFiles)")
		st.noWrite = true
	case w.SPMetadata != "":
		field := p + ".sp_metadata"
		if w.SPMetadataFile != "" {
			field = p + ".sp_metadata_file"
		}
		parsed, err := saml.ParseSPMetadata([]byte(w.SPMetadata))
		if err == nil {
			md, err = saml.AppMetadata(parsed)
		}
		if err != nil {
			a.problems.Add(field, "%v", err)
			st.noWrite = true
		}
	}
	st.acsFromMetadata = len(w.ACSURLs) == 0 && md != nil && len(md.ACS) > 0
	st.certsFromMetadata = len(w.SPSigningCertificates) == 0 && md != nil && len(md.SigningCertificates) > 0

	template := w.Template
	if st.cur != nil && template != "" && !strings.EqualFold(template, st.cur.Template) {
		a.problems.Add(p+".template", "cannot change: application %q was created from template %q (delete it and apply again to re-create it)", st.cur.DisplayName, st.cur.Template)
		st.noWrite = true
	}
	st.req = w.request(template, md)
	desired, err := apps.Build(st.req)
	if err != nil {
		var inv *errs.Invalid
		if !errors.As(err, &inv) {
			return err
		}
		for _, pr := range inv.Problems {
			a.problems.Add(p+"."+st.docField(pr.Field), "%s", pr.Reason)
		}
		st.noWrite = true
	}
	st.desired = desired
	if !st.noWrite {
		// An entity ID held by an application that stays and is not this one.
		if i, ok := a.entityIdx[desired.EntityID]; ok {
			holder := a.apps[i]
			if (st.cur == nil || holder.ID != st.cur.ID) && !slices.ContainsFunc(a.delApps, func(x apps.Application) bool { return x.ID == holder.ID }) &&
				!a.fileApp(apps.NormalizeName(holder.DisplayName)) {
				a.problems.Add(p+".entity_id", "%q is the entity ID of application %q, which is not in the document", desired.EntityID, holder.DisplayName)
				st.noWrite = true
			}
		}
	}

	// Assignments.
	wantUsers, wantGroups := map[string]string{}, map[string]string{}
	for j, u := range w.Assignments.Users {
		if u == "" {
			continue
		}
		key, canonical, problem := a.ref(u)
		if problem != "" {
			a.problems.Add(fmt.Sprintf("%s.assignments.users[%d]", p, j), "%s", problem)
			continue
		}
		wantUsers[key] = canonical
	}
	for j, g := range w.Assignments.Groups {
		if g == "" {
			continue
		}
		key, canonical, problem := a.groupRef(g)
		if problem != "" {
			a.problems.Add(fmt.Sprintf("%s.assignments.groups[%d]", p, j), "%s", problem)
			continue
		}
		wantGroups[key] = canonical
	}
	haveUsers, haveGroups := map[string]string{}, map[string]string{}
	if st.cur != nil {
		list, err := a.atx.ListAppAssignments(ctx, st.cur.ID)
		if err != nil {
			return err
		}
		for _, as := range list {
			switch as.PrincipalType {
			case apps.PrincipalUser:
				if n, ok := a.idName[as.PrincipalID]; ok {
					haveUsers[directory.NormalizeUserName(n)] = n
				}
			case apps.PrincipalGroup:
				if n, ok := a.groupName[as.PrincipalID]; ok {
					haveGroups[directory.NormalizeGroupName(n)] = n
				}
			}
		}
	}
	var added, removed []string
	var names []string
	st.addUsers, names = difference(wantUsers, haveUsers)
	added = append(added, prefixed(apps.PrincipalUser, names)...)
	st.addGroups, names = difference(wantGroups, haveGroups)
	added = append(added, prefixed(apps.PrincipalGroup, names)...)
	st.removeUsers, names = difference(haveUsers, wantUsers)
	removed = append(removed, prefixed(apps.PrincipalUser, names)...)
	st.removeGroups, names = difference(haveGroups, wantGroups)
	removed = append(removed, prefixed(apps.PrincipalGroup, names)...)

	ch := &Change{Kind: KindApp, Name: w.Name, AssignmentsAdded: added, AssignmentsRemoved: removed}
	if st.cur == nil {
		ch.Op, ch.Fields = OpCreate, diffApp(apps.Application{}, desired, true)
	} else {
		ch.Op, ch.Fields = OpUpdate, diffApp(*st.cur, desired, false)
		if len(ch.Fields) == 0 && len(added)+len(removed) == 0 {
			return nil
		}
	}
	st.change = ch
	return nil
}

func (a *applier) fileApp(key string) bool { return a.fileAppNames[key] }

func prefixed(kind string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = kind + ":" + n
	}
	return out
}

// groupRef resolves a group name the document refers to: a group of the
// document, or a directory group that stays.
func (a *applier) groupRef(name string) (key, canonical, problem string) {
	key = directory.NormalizeGroupName(name)
	if n, ok := a.fileGroups[key]; ok {
		return key, n, ""
	}
	if i, ok := a.groupIdx[key]; ok {
		if slices.ContainsFunc(a.delGroups, func(g directory.Group) bool { return g.ID == a.groups[i].ID }) {
			return "", "", fmt.Sprintf("group %q is not in the document and would be deleted", name)
		}
		return key, a.groups[i].DisplayName, ""
	}
	return "", "", fmt.Sprintf("unknown group %q: not in the document nor in the directory", name)
}

// request turns the document's application into what the applications
// service creates from.
func (w Application) request(template string, md *apps.SPMetadata) apps.CreateRequest {
	in := apps.Application{
		DisplayName: w.Name, Description: w.Description, EntityID: w.EntityID,
		SLOURL: w.SLOURL, StartURL: w.StartURL, DefaultRelayState: w.RelayState,
		SessionDuration: w.SessionDuration, NameIDFormat: w.NameIDFormat, NameID: w.NameID,
		SigningMode: w.Sign, RequireSignedRequests: w.RequireSignedRequests,
		SigningCertificates: slices.Clone(w.SPSigningCertificates),
		Enabled:             w.IsEnabled(), ManagedBy: directory.ManagedByApply,
		SPMetadataURL: w.SPMetadataURL,
	}
	for i, u := range w.ACSURLs {
		in.ACS = append(in.ACS, apps.ACS{URL: u, Binding: apps.BindingPOST, Index: i, Default: i == 0})
	}
	for _, at := range w.Attributes {
		in.Attributes = append(in.Attributes, apps.Attribute{Name: at.Name, Value: at.Value, NameFormat: at.Format})
	}
	return apps.CreateRequest{Application: in, Template: template, Metadata: md}
}

var indexed = regexp.MustCompile(`^([A-Za-z]+)\[(\d+)\](?:\.([A-Za-z]+))?$`)

// docField maps a field of an applications-service error to the document.
func (st *appStep) docField(field string) string {
	plain := map[string]string{
		"displayName": "name", "description": "description", "entityId": "entity_id", "sloUrl": "slo_url",
		"sloBinding": "slo_url", "startUrl": "start_url", "defaultRelayState": "relay_state",
		"sessionDuration": "session_duration", "requireSignedRequests": "require_signed_requests",
		"signingMode": "sign", "nameIdFormat": "name_id_format", "nameId": "name_id", "attributes": "attributes",
		"template": "template", "enabled": "enabled", "spMetadataUrl": "sp_metadata_url",
	}
	meta := "sp_metadata"
	switch {
	case st.want.SPMetadataURL != "":
		meta = "sp_metadata_url"
	case st.want.SPMetadataFile != "":
		meta = "sp_metadata_file"
	}
	if field == "spMetadata" {
		return meta
	}
	switch field {
	case "acs":
		if st.acsFromMetadata {
			return meta
		}
		return "acs_urls"
	case "signingCertificates":
		if st.certsFromMetadata {
			return meta
		}
		return "sp_signing_certificates"
	case "encryptionCertificate", "encryptAssertions":
		return meta
	}
	if n, ok := plain[field]; ok {
		return n
	}
	if m := indexed.FindStringSubmatch(field); m != nil {
		switch m[1] {
		case "acs":
			if st.acsFromMetadata {
				return meta
			}
			return "acs_urls[" + m[2] + "]"
		case "signingCertificates":
			if st.certsFromMetadata {
				return meta
			}
			return "sp_signing_certificates[" + m[2] + "]"
		case "attributes":
			sub := m[3]
			if sub == "nameFormat" {
				sub = "format"
			}
			if sub == "" {
				return "attributes[" + m[2] + "]"
			}
			return "attributes[" + m[2] + "]." + sub
		}
	}
	if field == "" {
		return "name"
	}
	return field
}

// appText lists the application's fields compared as one value each, in the
// document's names.
func appValues(x apps.Application) map[string]string {
	certs := make([]string, 0, len(x.SigningCertificates))
	for _, p := range x.SigningCertificates {
		certs = append(certs, certLabel(p))
	}
	attrs := make([]string, 0, len(x.Attributes))
	for _, at := range x.Attributes {
		attrs = append(attrs, at.Name+"="+at.Value+";"+at.NameFormat)
	}
	return map[string]string{
		"name": x.DisplayName, "description": x.Description, "entity_id": x.EntityID,
		"acs_urls": strings.Join(acsURLs(x), " "), "slo_url": x.SLOURL, "start_url": x.StartURL,
		"relay_state": x.DefaultRelayState, "session_duration": x.SessionDuration,
		"name_id_format": x.NameIDFormat, "name_id": x.NameID, "attributes": strings.Join(attrs, ", "),
		"sign": x.SigningMode, "require_signed_requests": strconv.FormatBool(x.RequireSignedRequests),
		"sp_signing_certificates": strings.Join(certs, " "), "enabled": strconv.FormatBool(x.Enabled),
		"sp_metadata_url": x.SPMetadataURL,
	}
}

// certLabel names an SP certificate in a plan by the start of its SHA-256
// fingerprint.
func certLabel(pem string) string {
	c, _, err := apps.ParseCertificate(pem)
	if err != nil {
		return "(unreadable)"
	}
	fp := apps.Fingerprint(c)
	if len(fp) > 23 {
		fp = fp[:23] + "…"
	}
	return "sha256:" + fp
}

// acsURLs lists the ACS URLs with the default first, then by index.
func acsURLs(x apps.Application) []string {
	acs := slices.Clone(x.ACS)
	slices.SortStableFunc(acs, func(p, q apps.ACS) int {
		switch {
		case p.Default != q.Default:
			if p.Default {
				return -1
			}
			return 1
		}
		return p.Index - q.Index
	})
	out := make([]string, len(acs))
	for i, e := range acs {
		out[i] = e.URL
	}
	return out
}

// diffApp lists the fields that differ between cur and want. On create the
// name (the change's name), empty values and defaults are left out.
func diffApp(cur, want apps.Application, create bool) map[string]FieldChange {
	from, to := appValues(cur), appValues(want)
	if create {
		from = map[string]string{}
	}
	out := map[string]FieldChange{}
	for k, v := range to {
		if create && (k == "name" || v == "" || v == "false" || (k == "enabled" && v == "true")) {
			continue
		}
		if from[k] != v {
			out[k] = FieldChange{From: from[k], To: v}
		}
	}
	if create && !want.Enabled {
		out["enabled"] = FieldChange{To: "false"}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// upsertApp creates or updates one application of the document.
func (a *applier) upsertApp(ctx context.Context, st *appStep) error {
	p := fmt.Sprintf("applications[%d]", st.idx)
	if st.noWrite {
		return nil
	}
	var err error
	switch {
	case st.cur == nil:
		st.out, err = a.appSvc.CreateTx(ctx, a.atx, a.actor, st.req)
	case st.change != nil && len(st.change.Fields) > 0:
		d := st.desired
		st.out, err = a.appSvc.UpdateTx(ctx, a.atx, a.actor, *st.cur, st.cur.Version, func(x *apps.Application) error {
			x.DisplayName, x.Description, x.EntityID = d.DisplayName, d.Description, d.EntityID
			if !slices.Equal(acsURLs(*x), acsURLs(d)) {
				x.ACS = slices.Clone(d.ACS)
			}
			if x.SLOURL != d.SLOURL {
				x.SLOURL, x.SLOBinding = d.SLOURL, d.SLOBinding
			}
			x.StartURL, x.DefaultRelayState, x.SessionDuration = d.StartURL, d.DefaultRelayState, d.SessionDuration
			x.NameIDFormat, x.NameID, x.Attributes = d.NameIDFormat, d.NameID, slices.Clone(d.Attributes)
			x.SigningMode, x.RequireSignedRequests = d.SigningMode, d.RequireSignedRequests
			x.SigningCertificates, x.Enabled = slices.Clone(d.SigningCertificates), d.Enabled
			x.SPMetadataURL = d.SPMetadataURL
			return nil
		})
	default:
		st.out = *st.cur
	}
	if err != nil {
		return a.failedFn(err, p, st.docField, KindApp, st.want.Name)
	}
	st.ok = true
	return nil
}

// syncAssignments makes the application's assignments match the document.
func (a *applier) syncAssignments(ctx context.Context, st *appStep) error {
	if !st.ok {
		return nil
	}
	p := fmt.Sprintf("applications[%d].assignments", st.idx)
	for _, op := range []struct {
		keys  []string
		kind  string
		add   bool
		idOf  func(string) string
		field string
	}{
		{st.addUsers, apps.PrincipalUser, true, a.userID, ".users"},
		{st.addGroups, apps.PrincipalGroup, true, a.groupID, ".groups"},
		{st.removeUsers, apps.PrincipalUser, false, a.userID, ".users"},
		{st.removeGroups, apps.PrincipalGroup, false, a.groupID, ".groups"},
	} {
		for _, k := range op.keys {
			id := op.idOf(k)
			if id == "" {
				continue // failed to be created, or deleted already
			}
			var err error
			if op.add {
				_, err = a.appSvc.AssignTx(ctx, a.atx, a.actor, st.out, op.kind, id)
			} else {
				err = a.appSvc.UnassignTx(ctx, a.atx, a.actor, st.out, op.kind, id)
			}
			if err != nil {
				if err := a.failedFn(err, p+op.field, func(string) string { return "" }, KindApp, st.want.Name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (a *applier) userID(key string) string {
	if id := a.ids[key]; id != "" && !a.deletedID[id] {
		return id
	}
	return ""
}

func (a *applier) groupID(key string) string { return a.groupIDs[key] }

// fetchedMetadata is the result of fetching one sp_metadata_url.
type fetchedMetadata struct {
	md  *apps.SPMetadata
	err error
}

// fetchMetadata fetches the sp_metadata_url of every application of doc
// (each URL once), before the apply's transaction: a slow service provider
// must not hold the store's writer.
func (s *Service) fetchMetadata(ctx context.Context, doc Document) map[int]fetchedMetadata {
	fetch := s.FetchSPMetadata
	if fetch == nil {
		fetch = func(ctx context.Context, u string) (*apps.SPMetadata, error) {
			md, err := saml.FetchSPMetadata(ctx, u, saml.FetchOptions{})
			if err != nil {
				return nil, err
			}
			return saml.AppMetadata(md)
		}
	}
	out := map[int]fetchedMetadata{}
	byURL := map[string]fetchedMetadata{}
	for i, w := range doc.Applications {
		w.SPMetadataURL = strings.TrimSpace(w.SPMetadataURL)
		if w.SPMetadataURL == "" || s.Apps == nil {
			continue
		}
		r, ok := byURL[w.SPMetadataURL]
		if !ok {
			r.md, r.err = fetch(ctx, w.SPMetadataURL)
			if r.md != nil {
				r.md.URL = w.SPMetadataURL
			}
			byURL[w.SPMetadataURL] = r
		}
		out[i] = r
	}
	return out
}
