package declarative

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
)

// Kinds of cloud changes.
const (
	KindAccount       = "account"
	KindPermissionSet = "permission_set"
)

// Account is one AWS account of the document, matched by its 12-digit id.
// Empty saml_provider and sign_in_url mean idcenter's defaults. The
// application whose key signs the account's assertions (appId in the API)
// is not modelled and is left as it is.
type Account struct {
	ID            string `yaml:"id" json:"id"`
	Name          string `yaml:"name" json:"name"`
	Description   string `yaml:"description,omitempty" json:"description,omitempty"`
	SAMLProvider  string `yaml:"saml_provider,omitempty" json:"saml_provider,omitempty"`
	DefaultRegion string `yaml:"default_region,omitempty" json:"default_region,omitempty"`
	STSRegion     string `yaml:"sts_region,omitempty" json:"sts_region,omitempty"`
	STSEndpoint   string `yaml:"sts_endpoint,omitempty" json:"sts_endpoint,omitempty"`
	SignInURL     string `yaml:"sign_in_url,omitempty" json:"sign_in_url,omitempty"`
}

// PermissionSet is one permission set of the document, matched by name
// (case-insensitively) and described completely.
type PermissionSet struct {
	Name            string `yaml:"name" json:"name"`
	Description     string `yaml:"description,omitempty" json:"description,omitempty"`
	SessionDuration string `yaml:"session_duration,omitempty" json:"session_duration,omitempty"` // ISO 8601, default PT1H
	RelayState      string `yaml:"relay_state,omitempty" json:"relay_state,omitempty"`
	// ManagedPolicies are AWS managed policy ARNs.
	ManagedPolicies  []string    `yaml:"managed_policies,omitempty" json:"managed_policies,omitempty"`
	CustomerPolicies []PolicyRef `yaml:"customer_policies,omitempty" json:"customer_policies,omitempty"`
	// InlinePolicy is the JSON policy document; InlinePolicyFile, a path
	// relative to the document, is read into it by ResolveFiles.
	InlinePolicy        string    `yaml:"inline_policy,omitempty" json:"inline_policy,omitempty"`
	InlinePolicyFile    string    `yaml:"inline_policy_file,omitempty" json:"inline_policy_file,omitempty"`
	PermissionsBoundary *Boundary `yaml:"permissions_boundary,omitempty" json:"permissions_boundary,omitempty"`
	Tags                []Tag     `yaml:"tags,omitempty" json:"tags,omitempty"`
	// RoleName overrides the IAM role name (default idcenter-<name>).
	RoleName string `yaml:"role_name,omitempty" json:"role_name,omitempty"`
}

// PolicyRef names a customer managed policy; path defaults to "/".
type PolicyRef struct {
	Name string `yaml:"name" json:"name"`
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
}

// Boundary is a permissions boundary: one of an AWS managed policy ARN and
// a customer managed policy.
type Boundary struct {
	ManagedPolicyARN string     `yaml:"managed_policy_arn,omitempty" json:"managed_policy_arn,omitempty"`
	CustomerPolicy   *PolicyRef `yaml:"customer_policy,omitempty" json:"customer_policy,omitempty"`
}

// Tag is a tag of the IAM role.
type Tag struct {
	Key   string `yaml:"key" json:"key"`
	Value string `yaml:"value" json:"value"`
}

// AccountAssignment gives a user or a group a permission set in an
// account. The accounts of the document hold every one of their
// assignments: an account it lists loses the assignments it does not.
type AccountAssignment struct {
	Account       string `yaml:"account" json:"account"` // id or name of an account of the document
	PermissionSet string `yaml:"permission_set" json:"permission_set"`
	User          string `yaml:"user,omitempty" json:"user,omitempty"`
	Group         string `yaml:"group,omitempty" json:"group,omitempty"`
}

func (a Account) cleaned() Account {
	for _, p := range []*string{&a.ID, &a.SAMLProvider, &a.DefaultRegion, &a.STSRegion, &a.STSEndpoint, &a.SignInURL} {
		*p = strings.TrimSpace(*p)
	}
	a.Name, a.Description = cleanText(a.Name), cleanText(a.Description)
	return a
}

func (p PermissionSet) cleaned() PermissionSet {
	p.Name, p.Description = strings.TrimSpace(p.Name), cleanText(p.Description)
	for _, s := range []*string{&p.SessionDuration, &p.RelayState, &p.InlinePolicyFile, &p.RoleName} {
		*s = strings.TrimSpace(*s)
	}
	p.ManagedPolicies = trimAll(p.ManagedPolicies)
	p.CustomerPolicies = slices.Clone(p.CustomerPolicies)
	for i := range p.CustomerPolicies {
		p.CustomerPolicies[i] = p.CustomerPolicies[i].cleaned()
	}
	if b := p.PermissionsBoundary; b != nil {
		nb := Boundary{ManagedPolicyARN: strings.TrimSpace(b.ManagedPolicyARN)}
		if b.CustomerPolicy != nil {
			c := b.CustomerPolicy.cleaned()
			nb.CustomerPolicy = &c
		}
		p.PermissionsBoundary = &nb
	}
	p.Tags = slices.Clone(p.Tags)
	for i := range p.Tags {
		p.Tags[i].Key, p.Tags[i].Value = strings.TrimSpace(p.Tags[i].Key), strings.TrimSpace(p.Tags[i].Value)
	}
	return p
}

func (r PolicyRef) cleaned() PolicyRef {
	return PolicyRef{Name: strings.TrimSpace(r.Name), Path: strings.TrimSpace(r.Path)}
}

func (a AccountAssignment) cleaned() AccountAssignment {
	return AccountAssignment{Account: cleanText(a.Account), PermissionSet: strings.TrimSpace(a.PermissionSet),
		User: cleanText(a.User), Group: cleanText(a.Group)}
}

// resolveCloudFiles reads each permission set's inline_policy_file,
// relative to dir, into its inline_policy.
func (d *Document) resolveCloudFiles(dir string, v *errs.Invalid) {
	for i := range d.PermissionSets {
		p := &d.PermissionSets[i]
		if p.InlinePolicyFile == "" {
			continue
		}
		field := fmt.Sprintf("permission_sets[%d].inline_policy_file", i)
		if p.InlinePolicy != "" {
			v.Add(field, "give inline_policy or inline_policy_file, not both")
			continue
		}
		path := p.InlinePolicyFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		b, err := readLimited(path, cloud.MaxInlinePolicyBytes)
		if err != nil {
			v.Add(field, "%v", err)
			continue
		}
		p.InlinePolicy = string(b)
	}
}

// validateCloud records static problems of the cloud part of a cleaned
// document: missing and duplicate ids and names, incomplete assignments.
func (d Document) validateCloud(v *errs.Invalid, f *flagged) {
	f.accounts, f.permissionSets, f.accountAssignments = map[int]bool{}, map[int]bool{}, map[int]bool{}
	ids, names := map[string]int{}, map[string]int{}
	for i, a := range d.Accounts {
		p := fmt.Sprintf("accounts[%d]", i)
		switch j, dup := ids[a.ID]; {
		case a.ID == "":
			v.Add(p+".id", "is required (the 12-digit AWS account id)")
			f.accounts[i] = true
		case dup:
			v.Add(p+".id", "duplicate of accounts[%d]", j)
			f.accounts[i] = true
		default:
			ids[a.ID] = i
		}
		key := cloud.NormalizeName(a.Name)
		switch j, dup := names[key]; {
		case key == "":
			v.Add(p+".name", "is required")
			f.accounts[i] = true
		case dup:
			v.Add(p+".name", "duplicate of accounts[%d] (account names are case-insensitive)", j)
			f.accounts[i] = true
		default:
			names[key] = i
		}
	}
	sets := map[string]int{}
	for i, ps := range d.PermissionSets {
		p := fmt.Sprintf("permission_sets[%d]", i)
		key := cloud.NormalizeName(ps.Name)
		switch j, dup := sets[key]; {
		case key == "":
			v.Add(p+".name", "is required")
			f.permissionSets[i] = true
		case dup:
			v.Add(p+".name", "duplicate of permission_sets[%d] (permission set names are case-insensitive)", j)
			f.permissionSets[i] = true
		default:
			sets[key] = i
		}
		if ps.InlinePolicyFile != "" && ps.InlinePolicy == "" {
			v.Add(p+".inline_policy_file", "was not read: `idcenter apply` reads it relative to the document (Document.ResolveFiles)")
			f.permissionSets[i] = true
		}
	}
	seen := map[string]int{}
	for i, as := range d.AccountAssignments {
		p := fmt.Sprintf("account_assignments[%d]", i)
		if as.Account == "" {
			v.Add(p+".account", "is required (an account id or name)")
			f.accountAssignments[i] = true
		}
		if as.PermissionSet == "" {
			v.Add(p+".permission_set", "is required")
			f.accountAssignments[i] = true
		}
		switch {
		case as.User == "" && as.Group == "":
			v.Add(p, "give the user or the group to assign")
			f.accountAssignments[i] = true
		case as.User != "" && as.Group != "":
			v.Add(p, "give either user or group, not both")
			f.accountAssignments[i] = true
		}
		if f.accountAssignments[i] {
			continue
		}
		key := strings.Join([]string{cloud.NormalizeName(as.Account), cloud.NormalizeName(as.PermissionSet),
			directory.NormalizeUserName(as.User), directory.NormalizeGroupName(as.Group)}, "\x00")
		if j, dup := seen[key]; dup {
			v.Add(p, "duplicate of account_assignments[%d]", j)
			f.accountAssignments[i] = true
			continue
		}
		seen[key] = i
	}
}

// --- plan ---

// cloudState is the cloud part of one apply.
type cloudState struct {
	accounts []cloud.Account
	sets     []cloud.PermissionSet
	setIdx   map[string]int    // NormalizeName → index in sets
	setName  map[string]string // permission set id → name

	fileSets     map[string]string // NormalizeName → the document's spelling
	setSteps     []*setStep
	accountSteps []*accountStep
	delAccounts  []cloud.Account
	delSets      []cloud.PermissionSet

	setIDs map[string]string // NormalizeName → id, existing and created
}

type setStep struct {
	idx     int
	want    PermissionSet
	desired cloud.PermissionSet
	cur     *cloud.PermissionSet
	change  *Change
	noWrite bool
}

type accountStep struct {
	idx         int
	want        Account
	desired     cloud.Account
	cur         *cloud.Account
	change      *Change
	noWrite     bool
	add, remove []assignKey

	ok  bool
	out cloud.Account
}

// assignKey is one assignment of an account: normalised permission set
// name, principal type and normalised principal name; idx is the
// document's entry (-1 for one the document drops).
type assignKey struct {
	set, kind, principal string
	label                string // "PermissionSet:kind:Name", as in the plan
	idx                  int
}

var (
	accountFieldNames = map[string]string{
		"id": "id", "name": "name", "description": "description", "samlProvider": "saml_provider",
		"defaultRegion": "default_region", "stsRegion": "sts_region", "stsEndpoint": "sts_endpoint", "signInUrl": "sign_in_url",
	}
	setFieldNames = map[string]string{
		"name": "name", "description": "description", "sessionDuration": "session_duration", "relayState": "relay_state",
		"managedPolicies": "managed_policies", "customerPolicies": "customer_policies", "inlinePolicy": "inline_policy",
		"permissionsBoundary": "permissions_boundary", "tags": "tags", "roleName": "role_name",
	}
)

func (a *applier) loadCloud(ctx context.Context) error {
	c := &cloudState{setIdx: map[string]int{}, setName: map[string]string{}}
	a.cloud = c
	if a.cloudTx == nil {
		return nil
	}
	var err error
	if c.accounts, err = a.cloudTx.ListAccounts(ctx); err != nil {
		return err
	}
	if c.sets, err = a.cloudTx.ListPermissionSets(ctx); err != nil {
		return err
	}
	for i, p := range c.sets {
		c.setIdx[cloud.NormalizeName(p.Name)] = i
		c.setName[p.ID] = p.Name
	}
	return nil
}

// planCloud compares the document's accounts, permission sets and account
// assignments with the store.
func (a *applier) planCloud(ctx context.Context, doc Document, bad flagged) error {
	c := a.cloud
	if a.cloudSvc == nil {
		if len(doc.Accounts)+len(doc.PermissionSets)+len(doc.AccountAssignments) > 0 {
			a.problems.Add("accounts", "AWS accounts are not available on this server")
		}
		return nil
	}
	c.fileSets = map[string]string{}
	for i, p := range doc.PermissionSets {
		if !bad.permissionSets[i] {
			c.fileSets[cloud.NormalizeName(p.Name)] = p.Name
		}
	}
	fileAccounts := map[string]int{} // account id → index in doc.Accounts
	for i, x := range doc.Accounts {
		if !bad.accounts[i] {
			fileAccounts[x.ID] = i
		}
	}
	for _, x := range c.accounts {
		if _, ok := fileAccounts[x.ID]; !ok && a.cloudDeletable(x.ManagedBy) {
			c.delAccounts = append(c.delAccounts, x)
		}
	}
	for _, p := range c.sets {
		if _, ok := c.fileSets[cloud.NormalizeName(p.Name)]; !ok && a.cloudDeletable(p.ManagedBy) {
			c.delSets = append(c.delSets, p)
		}
	}

	for i, w := range doc.PermissionSets {
		if !bad.permissionSets[i] {
			c.setSteps = append(c.setSteps, a.planSet(i, w))
		}
	}
	byAccount := map[int]*accountStep{} // by index in doc.Accounts
	for i, w := range doc.Accounts {
		if bad.accounts[i] {
			continue
		}
		st := a.planAccount(i, w)
		byAccount[i] = st
		c.accountSteps = append(c.accountSteps, st)
	}

	// Assignments: the document's, grouped by account.
	want := map[*accountStep]map[string]assignKey{}
	for i, as := range doc.AccountAssignments {
		if bad.accountAssignments[i] {
			continue
		}
		p := fmt.Sprintf("account_assignments[%d]", i)
		j, found := docAccount(doc.Accounts, as.Account)
		if !found {
			a.problems.Add(p+".account", "account %q is not in the document's accounts: list it there (the document holds every assignment of the accounts it lists)", as.Account)
			continue
		}
		st := byAccount[j]
		if st == nil {
			continue // the account has problems of its own
		}
		k := assignKey{idx: i}
		setKey, setName, problem := a.setRef(as.PermissionSet)
		if problem != "" {
			a.problems.Add(p+".permission_set", "%s", problem)
			continue
		}
		k.set = setKey
		var who string
		if as.User != "" {
			k.kind = cloud.PrincipalUser
			k.principal, who, problem = a.ref(as.User)
			if problem != "" {
				a.problems.Add(p+".user", "%s", problem)
				continue
			}
		} else {
			k.kind = cloud.PrincipalGroup
			k.principal, who, problem = a.groupRef(as.Group)
			if problem != "" {
				a.problems.Add(p+".group", "%s", problem)
				continue
			}
		}
		k.label = setName + ":" + k.kind + ":" + who
		if want[st] == nil {
			want[st] = map[string]assignKey{}
		}
		if prev, dup := want[st][k.id()]; dup {
			a.problems.Add(p, "duplicate of account_assignments[%d]", prev.idx)
			continue
		}
		want[st][k.id()] = k
	}
	for _, st := range c.accountSteps {
		have := map[string]assignKey{}
		if st.cur != nil {
			list, err := a.cloudTx.ListAccountAssignments(ctx, st.cur.ID)
			if err != nil {
				return err
			}
			for _, as := range list {
				k := assignKey{kind: as.PrincipalType, set: cloud.NormalizeName(as.PermissionSet), idx: -1}
				var who string
				switch as.PrincipalType {
				case cloud.PrincipalUser:
					who = a.idName[as.PrincipalID]
					k.principal = directory.NormalizeUserName(who)
				case cloud.PrincipalGroup:
					who = a.groupName[as.PrincipalID]
					k.principal = directory.NormalizeGroupName(who)
				}
				k.label = as.PermissionSet + ":" + k.kind + ":" + who
				have[k.id()] = k
			}
		}
		st.add, st.remove = assignDiff(want[st], have), assignDiff(have, want[st])
		if st.change == nil && len(st.add)+len(st.remove) > 0 {
			st.change = &Change{Op: OpUpdate, Kind: KindAccount, Name: st.want.Name}
		}
		if st.change != nil {
			for _, k := range st.add {
				st.change.AssignmentsAdded = append(st.change.AssignmentsAdded, k.label)
			}
			for _, k := range st.remove {
				st.change.AssignmentsRemoved = append(st.change.AssignmentsRemoved, k.label)
			}
		}
	}
	return nil
}

func (k assignKey) id() string { return k.set + "\x00" + k.kind + "\x00" + k.principal }

// assignDiff lists the assignments of x missing from y, sorted.
func assignDiff(x, y map[string]assignKey) []assignKey {
	var out []assignKey
	for id, k := range x {
		if _, ok := y[id]; !ok {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(p, q assignKey) int { return strings.Compare(p.id(), q.id()) })
	return out
}

// docAccount finds the document's account an assignment names: by id, else
// by name.
func docAccount(accounts []Account, key string) (int, bool) {
	for i, x := range accounts {
		if x.ID == key {
			return i, true
		}
	}
	for i, x := range accounts {
		if cloud.NormalizeName(x.Name) == cloud.NormalizeName(key) {
			return i, true
		}
	}
	return -1, false
}

// setRef resolves a permission set the document refers to: one of the
// document, or one in the store that stays.
func (a *applier) setRef(name string) (key, canonical, problem string) {
	c := a.cloud
	key = cloud.NormalizeName(name)
	if n, ok := c.fileSets[key]; ok {
		return key, n, ""
	}
	if i, ok := c.setIdx[key]; ok {
		if slices.ContainsFunc(c.delSets, func(p cloud.PermissionSet) bool { return p.ID == c.sets[i].ID }) {
			return "", "", fmt.Sprintf("permission set %q is not in the document and would be deleted", name)
		}
		return key, c.sets[i].Name, ""
	}
	return "", "", fmt.Sprintf("unknown permission set %q: not in the document nor on the server", name)
}

// cloudDeletable reports whether an account or permission set the document
// does not list is deleted: one apply created, or any with Prune.
func (a *applier) cloudDeletable(managedBy string) bool {
	return managedBy == directory.ManagedByApply || a.opts.Prune
}

func (a *applier) planSet(idx int, w PermissionSet) *setStep {
	c := a.cloud
	st := &setStep{idx: idx, want: w}
	if i, ok := c.setIdx[cloud.NormalizeName(w.Name)]; ok {
		st.cur = &c.sets[i]
	}
	st.desired = w.permissionSet()
	if err := cloud.NormalizePermissionSet(&st.desired); err != nil {
		a.addProblems(err, fmt.Sprintf("permission_sets[%d]", idx), setFieldNames)
		st.noWrite = true
	}
	if st.cur == nil {
		st.change = &Change{Op: OpCreate, Kind: KindPermissionSet, Name: w.Name, Fields: diffValues(nil, setValues(st.desired))}
	} else if fields := diffValues(setValues(*st.cur), setValues(st.desired)); fields != nil {
		st.change = &Change{Op: OpUpdate, Kind: KindPermissionSet, Name: w.Name, Fields: fields}
	}
	return st
}

func (a *applier) planAccount(idx int, w Account) *accountStep {
	st := &accountStep{idx: idx, want: w}
	for i := range a.cloud.accounts {
		if a.cloud.accounts[i].ID == w.ID {
			st.cur = &a.cloud.accounts[i]
		}
	}
	st.desired = w.account()
	if err := cloud.NormalizeAccount(&st.desired); err != nil {
		a.addProblems(err, fmt.Sprintf("accounts[%d]", idx), accountFieldNames)
		st.noWrite = true
	}
	if st.cur == nil {
		st.change = &Change{Op: OpCreate, Kind: KindAccount, Name: w.Name, Fields: diffValues(nil, accountValues(st.desired))}
	} else if fields := diffValues(accountValues(*st.cur), accountValues(st.desired)); fields != nil {
		st.change = &Change{Op: OpUpdate, Kind: KindAccount, Name: w.Name, Fields: fields}
	}
	return st
}

// addProblems records the field problems of a validation error at path.
func (a *applier) addProblems(err error, path string, names map[string]string) {
	var inv *errs.Invalid
	if errors.As(err, &inv) {
		for _, p := range inv.Problems {
			a.problems.Add(path+"."+docField(names, p.Field), "%s", p.Reason)
		}
		return
	}
	a.problems.Add(path, "%v", err)
}

// account is the document's account as the cloud service takes it.
func (w Account) account() cloud.Account {
	return cloud.Account{ID: w.ID, Name: w.Name, Description: w.Description, SAMLProvider: w.SAMLProvider,
		DefaultRegion: w.DefaultRegion, STSRegion: w.STSRegion, STSEndpoint: w.STSEndpoint, SignInURL: w.SignInURL,
		ManagedBy: directory.ManagedByApply}
}

// permissionSet is the document's permission set as the cloud service takes it.
func (w PermissionSet) permissionSet() cloud.PermissionSet {
	p := cloud.PermissionSet{Name: w.Name, Description: w.Description, SessionDuration: w.SessionDuration,
		RelayState: w.RelayState, ManagedPolicies: slices.Clone(w.ManagedPolicies), InlinePolicy: w.InlinePolicy,
		RoleName: w.RoleName, ManagedBy: directory.ManagedByApply}
	for _, r := range w.CustomerPolicies {
		p.CustomerPolicies = append(p.CustomerPolicies, cloud.PolicyRef{Name: r.Name, Path: r.Path})
	}
	if b := w.PermissionsBoundary; b != nil {
		p.Boundary = &cloud.Boundary{ManagedPolicyARN: b.ManagedPolicyARN}
		if b.CustomerPolicy != nil {
			p.Boundary.CustomerPolicy = &cloud.PolicyRef{Name: b.CustomerPolicy.Name, Path: b.CustomerPolicy.Path}
		}
	}
	for _, t := range w.Tags {
		p.Tags = append(p.Tags, cloud.Tag{Key: t.Key, Value: t.Value})
	}
	return p
}

// accountValues lists an account's fields by their document names.
func accountValues(x cloud.Account) map[string]string {
	return map[string]string{
		"id": x.ID, "name": x.Name, "description": x.Description, "saml_provider": x.SAMLProvider,
		"default_region": x.DefaultRegion, "sts_region": x.STSRegion, "sts_endpoint": x.STSEndpoint, "sign_in_url": x.SignInURL,
	}
}

// setValues lists a permission set's fields by their document names, each
// as one value; the inline policy is compared as written.
func setValues(p cloud.PermissionSet) map[string]string {
	var customer, tags []string
	for _, r := range p.CustomerPolicies {
		customer = append(customer, policyLabel(r))
	}
	for _, t := range p.Tags {
		tags = append(tags, t.Key+"="+t.Value)
	}
	boundary := ""
	if b := p.Boundary; b != nil {
		boundary = b.ManagedPolicyARN
		if b.CustomerPolicy != nil {
			boundary = "customer:" + policyLabel(*b.CustomerPolicy)
		}
	}
	return map[string]string{
		"name": p.Name, "description": p.Description, "session_duration": p.SessionDuration, "relay_state": p.RelayState,
		"managed_policies": strings.Join(p.ManagedPolicies, " "), "customer_policies": strings.Join(customer, " "),
		"inline_policy": p.InlinePolicy, "permissions_boundary": boundary, "tags": strings.Join(tags, ", "),
		"role_name": p.RoleName,
	}
}

// policyLabel writes a customer managed policy as path + name (/team/Name).
func policyLabel(r cloud.PolicyRef) string {
	path := r.Path
	if path == "" {
		path = "/"
	}
	return path + r.Name
}

// diffValues lists the fields that differ; with cur nil (a create) it lists
// the non-empty fields but the name. Inline policies are shown compacted.
func diffValues(cur, want map[string]string) map[string]FieldChange {
	out := map[string]FieldChange{}
	for k, v := range want {
		if cur == nil && (k == "name" || v == "") || cur != nil && cur[k] == v {
			continue
		}
		fc := FieldChange{From: cur[k], To: v}
		if k == "inline_policy" {
			fc = FieldChange{From: compactJSON(fc.From), To: compactJSON(fc.To)}
		}
		out[k] = fc
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// compactJSON shows a policy document on one line, cut to 200 bytes.
func compactJSON(s string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(s)) == nil {
		s = b.String()
	}
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}

// cloudChanges returns the cloud changes in presentation order: permission
// sets then accounts created or updated, then accounts and permission sets
// deleted.
func (c *cloudState) changes() (upserts, deletes []Change) {
	slices.SortFunc(c.setSteps, func(x, y *setStep) int { return compareCloudNames(x.want.Name, y.want.Name) })
	for _, st := range c.setSteps {
		if st.change != nil {
			upserts = append(upserts, *st.change)
		}
	}
	slices.SortFunc(c.accountSteps, func(x, y *accountStep) int { return compareCloudNames(x.want.Name, y.want.Name) })
	for _, st := range c.accountSteps {
		if st.change != nil {
			upserts = append(upserts, *st.change)
		}
	}
	slices.SortFunc(c.delAccounts, func(x, y cloud.Account) int { return compareCloudNames(x.Name, y.Name) })
	for _, x := range c.delAccounts {
		deletes = append(deletes, Change{Op: OpDelete, Kind: KindAccount, Name: x.Name})
	}
	slices.SortFunc(c.delSets, func(x, y cloud.PermissionSet) int { return compareCloudNames(x.Name, y.Name) })
	for _, x := range c.delSets {
		deletes = append(deletes, Change{Op: OpDelete, Kind: KindPermissionSet, Name: x.Name})
	}
	return upserts, deletes
}

func compareCloudNames(x, y string) int {
	if c := strings.Compare(cloud.NormalizeName(x), cloud.NormalizeName(y)); c != 0 {
		return c
	}
	return strings.Compare(x, y)
}

// --- execute ---

// executeCloud deletes the accounts the document drops (freeing their
// names), writes the permission sets and accounts, makes each account's
// assignments match, then deletes the permission sets the document drops.
func (a *applier) executeCloud(ctx context.Context) error {
	c := a.cloud
	if a.cloudSvc == nil {
		return nil
	}
	c.setIDs = map[string]string{}
	for _, p := range c.sets {
		c.setIDs[cloud.NormalizeName(p.Name)] = p.ID
	}
	for _, x := range c.delAccounts {
		if err := a.cloudSvc.DeleteAccountTx(ctx, a.cloudTx, a.actor, x); err != nil {
			if err := a.deleteFailed("accounts", x.Name, err); err != nil {
				return err
			}
		}
	}
	for _, st := range c.setSteps {
		if err := a.upsertSet(ctx, st); err != nil {
			return err
		}
	}
	for _, st := range c.accountSteps {
		if err := a.upsertAccount(ctx, st); err != nil {
			return err
		}
	}
	for _, st := range c.accountSteps {
		if err := a.syncAccountAssignments(ctx, st); err != nil {
			return err
		}
	}
	for _, x := range c.delSets {
		delete(c.setIDs, cloud.NormalizeName(x.Name))
		if err := a.cloudSvc.DeletePermissionSetTx(ctx, a.cloudTx, a.actor, x); err != nil {
			if err := a.deleteFailed("permission_sets", x.Name, err); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *applier) upsertSet(ctx context.Context, st *setStep) error {
	if st.noWrite {
		return nil
	}
	var out cloud.PermissionSet
	var err error
	switch {
	case st.cur == nil:
		out, err = a.cloudSvc.CreatePermissionSetTx(ctx, a.cloudTx, a.actor, st.desired)
	case st.change != nil:
		d := st.desired
		out, err = a.cloudSvc.UpdatePermissionSetTx(ctx, a.cloudTx, a.actor, *st.cur, st.cur.Version, func(p *cloud.PermissionSet) error {
			d.ManagedBy = p.ManagedBy // an existing set keeps its owner
			*p = d
			return nil
		})
	default:
		out = *st.cur
	}
	if err != nil {
		return a.failed(err, fmt.Sprintf("permission_sets[%d]", st.idx), setFieldNames, KindPermissionSet, st.want.Name)
	}
	a.cloud.setIDs[cloud.NormalizeName(out.Name)] = out.ID
	return nil
}

func (a *applier) upsertAccount(ctx context.Context, st *accountStep) error {
	if st.noWrite {
		return nil
	}
	var err error
	switch {
	case st.cur == nil:
		st.out, err = a.cloudSvc.CreateAccountTx(ctx, a.cloudTx, a.actor, st.desired)
	case st.change != nil && len(st.change.Fields) > 0:
		d := st.desired
		st.out, err = a.cloudSvc.UpdateAccountTx(ctx, a.cloudTx, a.actor, *st.cur, st.cur.Version, func(x *cloud.Account) error {
			x.Name, x.Description, x.SAMLProvider, x.DefaultRegion = d.Name, d.Description, d.SAMLProvider, d.DefaultRegion
			x.STSRegion, x.STSEndpoint, x.SignInURL = d.STSRegion, d.STSEndpoint, d.SignInURL
			return nil
		})
	default:
		st.out = *st.cur
	}
	if err != nil {
		return a.failed(err, fmt.Sprintf("accounts[%d]", st.idx), accountFieldNames, KindAccount, st.want.Name)
	}
	st.ok = true
	return nil
}

func (a *applier) syncAccountAssignments(ctx context.Context, st *accountStep) error {
	if !st.ok {
		return nil
	}
	for _, op := range []struct {
		keys []assignKey
		add  bool
	}{{st.add, true}, {st.remove, false}} {
		for _, k := range op.keys {
			setID := a.cloud.setIDs[k.set]
			principal := a.groupID(k.principal)
			if k.kind == cloud.PrincipalUser {
				principal = a.userID(k.principal)
			}
			if setID == "" || principal == "" {
				continue // failed to be created, or deleted already
			}
			_, err := a.cloudSvc.ChangeAssignmentTx(ctx, a.cloudTx, a.actor, cloud.AssignRequest{
				Account: st.out.ID, PermissionSet: setID, PrincipalType: k.kind, Principal: principal}, op.add)
			path := fmt.Sprintf("accounts[%d]", st.idx)
			if k.idx >= 0 {
				path = fmt.Sprintf("account_assignments[%d]", k.idx)
			}
			if err := a.failedFn(err, path, func(string) string { return "" }, KindAccount, st.want.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// --- export ---

// exportCloud adds the accounts, permission sets and account assignments
// to doc; userNames and groupNames map ids to names.
func (s *Service) exportCloud(ctx context.Context, doc *Document, userNames, groupNames map[string]string) error {
	if s.Cloud == nil {
		return nil
	}
	r := s.Cloud.Store
	accounts, err := r.ListAccounts(ctx)
	if err != nil {
		return err
	}
	sets, err := r.ListPermissionSets(ctx)
	if err != nil {
		return err
	}
	assigned, err := r.ListAccountAssignments(ctx, "")
	if err != nil {
		return err
	}
	accountName := map[string]string{}
	slices.SortFunc(accounts, func(x, y cloud.Account) int { return compareCloudNames(x.Name, y.Name) })
	for _, x := range accounts {
		accountName[x.ID] = x.Name
		doc.Accounts = append(doc.Accounts, exportAccount(x))
	}
	slices.SortFunc(sets, func(x, y cloud.PermissionSet) int { return compareCloudNames(x.Name, y.Name) })
	for _, p := range sets {
		doc.PermissionSets = append(doc.PermissionSets, exportPermissionSet(p))
	}
	for _, as := range assigned {
		out := AccountAssignment{Account: accountName[as.AccountID], PermissionSet: as.PermissionSet}
		switch as.PrincipalType {
		case cloud.PrincipalUser:
			out.User = userNames[as.PrincipalID]
		case cloud.PrincipalGroup:
			out.Group = groupNames[as.PrincipalID]
		}
		if out.Account == "" || out.User == "" && out.Group == "" {
			continue
		}
		doc.AccountAssignments = append(doc.AccountAssignments, out)
	}
	slices.SortFunc(doc.AccountAssignments, func(x, y AccountAssignment) int {
		if c := compareCloudNames(x.Account, y.Account); c != 0 {
			return c
		}
		if c := compareCloudNames(x.PermissionSet, y.PermissionSet); c != 0 {
			return c
		}
		if c := compareGroupNames(x.Group, y.Group); c != 0 {
			return c
		}
		return compareUserNames(x.User, y.User)
	})
	return nil
}

// exportAccount writes an account, leaving out the defaults.
func exportAccount(x cloud.Account) Account {
	out := Account{ID: x.ID, Name: x.Name, Description: x.Description, SAMLProvider: x.SAMLProvider,
		DefaultRegion: x.DefaultRegion, STSRegion: x.STSRegion, STSEndpoint: x.STSEndpoint, SignInURL: x.SignInURL}
	if out.SAMLProvider == cloud.DefaultSAMLProvider {
		out.SAMLProvider = ""
	}
	if out.SignInURL == cloud.DefaultSignInURL {
		out.SignInURL = ""
	}
	return out
}

// exportPermissionSet writes a permission set, its session duration in
// full and customer policy paths only when not "/".
func exportPermissionSet(p cloud.PermissionSet) PermissionSet {
	out := PermissionSet{Name: p.Name, Description: p.Description, SessionDuration: p.SessionDuration,
		RelayState: p.RelayState, ManagedPolicies: slices.Clone(p.ManagedPolicies), InlinePolicy: p.InlinePolicy,
		RoleName: p.RoleName}
	ref := func(r cloud.PolicyRef) PolicyRef {
		if r.Path == "/" {
			r.Path = ""
		}
		return PolicyRef{Name: r.Name, Path: r.Path}
	}
	for _, r := range p.CustomerPolicies {
		out.CustomerPolicies = append(out.CustomerPolicies, ref(r))
	}
	if b := p.Boundary; b != nil {
		out.PermissionsBoundary = &Boundary{ManagedPolicyARN: b.ManagedPolicyARN}
		if b.CustomerPolicy != nil {
			r := ref(*b.CustomerPolicy)
			out.PermissionsBoundary.CustomerPolicy = &r
		}
	}
	for _, t := range p.Tags {
		out.Tags = append(out.Tags, Tag{Key: t.Key, Value: t.Value})
	}
	return out
}
