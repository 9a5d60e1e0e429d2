package declarative

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
)

// Service plans and applies documents, and exports the directory as one.
type Service struct {
	// Directory makes every change, so each writes its usual audit event.
	Directory *directory.Service
	// Store runs the apply transaction and the export reads; nil means
	// Directory.Store. When Apps is set, its transactions must also be
	// apps.Tx (see Tx), as sqlstore's are.
	Store directory.Store
	// Apps makes every application change; nil means the server has no
	// applications, and a document listing some is refused.
	Apps *apps.Service
	// FetchSPMetadata fetches an application's sp_metadata_url before the
	// apply's transaction starts; nil means saml.FetchSPMetadata with its
	// defaults (tests replace it).
	FetchSPMetadata apps.MetadataFetcher
	// Cloud makes every change to AWS accounts, permission sets and account
	// assignments; nil means the server has none, and a document listing
	// some is refused. When set, the store's transactions must also be
	// cloud.Tx, as sqlstore's are.
	Cloud *cloud.Service
}

// Options modify Apply.
type Options struct {
	// DryRun plans and validates everything, then rolls back: nothing is
	// written, not even an audit event.
	DryRun bool
	// Prune deletes every user, group, application, account and
	// permission set that is not in the document, not only those apply
	// created; users and groups provisioned through SCIM
	// (directory.ManagedBySCIM) are kept.
	Prune bool
}

// ActionApply is the audit action of the summary event of an apply.
const ActionApply = "config.apply"

// errDryRun rolls back the transaction of a dry run.
var errDryRun = errors.New("declarative: dry run")

func (s *Service) store() directory.Store {
	if s.Store != nil {
		return s.Store
	}
	return s.Directory.Store
}

// Apply makes the directory match doc in one transaction and returns the
// plan. Users and groups in doc are matched by username and group name
// (case-insensitively), created when missing and updated to match otherwise;
// objects that apply created and doc no longer lists are deleted, as is
// everything else not listed when opts.Prune is set, except users and groups
// provisioned through SCIM. Objects in doc are updated but never change
// owner: a SCIM-provisioned user stays managed by SCIM. Apply never deletes
// the actor's own account. Every problem with the document, including those the
// directory finds when writing (email format, lengths, the last active
// administrator), is returned at once as an *errs.Invalid, and then nothing
// is changed. Only administrators may apply.
func (s *Service) Apply(ctx context.Context, actor audit.Actor, doc Document, opts Options) (Plan, error) {
	if err := audit.RequireRole(actor, audit.RoleAdmin); err != nil {
		return Plan{}, err
	}
	var changes []Change
	fetched := s.fetchMetadata(ctx, doc) // network before the transaction, never inside it
	err := s.store().WithTx(ctx, func(tx directory.Tx) error {
		a := &applier{dir: s.Directory, appSvc: s.Apps, tx: tx, actor: actor, opts: opts, problems: &errs.Invalid{}, fetched: fetched}
		if s.Apps != nil {
			atx, ok := tx.(Tx)
			if !ok {
				return errors.New("declarative: the store's transactions do not hold applications")
			}
			a.atx = atx
		}
		if s.Cloud != nil {
			ctx, ok := tx.(cloud.Tx)
			if !ok {
				return errors.New("declarative: the store's transactions do not hold accounts")
			}
			a.cloudSvc, a.cloudTx = s.Cloud, ctx
		}
		if err := a.load(ctx); err != nil {
			return err
		}
		if err := a.plan(ctx, doc.cleaned()); err != nil {
			return err
		}
		// The plan is executed even when it already has problems: the
		// directory's own validation then reports the rest, and the
		// transaction is rolled back either way.
		if err := a.execute(ctx); err != nil {
			return err
		}
		if err := a.problems.Err(); err != nil {
			return err
		}
		changes = a.changes
		if opts.DryRun {
			return errDryRun
		}
		if len(changes) == 0 {
			return nil
		}
		cr, up, de := Plan{Changes: changes}.Counts()
		summary := map[string]any{"created": cr, "updated": up, "deleted": de, "prune": opts.Prune}
		return tx.AppendAudit(ctx, audit.New(ctx, actor, ActionApply, "config", "", "", summary))
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return Plan{}, err
	}
	if changes == nil {
		changes = []Change{}
	}
	return Plan{Changes: changes, Applied: !opts.DryRun}, nil
}

// applier holds one apply: the directory as read in the transaction, the
// plan, and what execution has done so far.
type applier struct {
	dir      *directory.Service
	appSvc   *apps.Service // nil: no applications
	tx       directory.Tx
	atx      Tx             // tx, when appSvc is set
	cloudSvc *cloud.Service // nil: no accounts
	cloudTx  cloud.Tx       // tx, when cloudSvc is set
	cloud    *cloudState
	actor    audit.Actor
	opts     Options
	problems *errs.Invalid
	fetched  map[int]fetchedMetadata // by application index: sp_metadata_url results

	// The directory before the apply.
	users     []directory.User
	userIdx   map[string]int    // normalised username → index in users
	emailIdx  map[string]int    // normalised primary email → index in users
	idName    map[string]string // user id → username
	groups    []directory.Group
	groupIdx  map[string]int    // normalised group name → index in groups
	groupName map[string]string // group id → display name
	apps      []apps.Application
	appIdx    map[string]int // apps.NormalizeName → index in apps
	entityIdx map[string]int // entity ID → index in apps

	// The plan.
	fileUsers  map[string]*userStep // normalised username → the document's user
	userSteps  []*userStep
	groupSteps []*groupStep
	delUsers   []directory.User
	delGroups  []directory.Group
	fileGroups map[string]string // normalised group name → the document's spelling
	appSteps   []*appStep
	delApps    []apps.Application
	// fileAppNames are the normalised names of the document's applications.
	fileAppNames map[string]bool
	deleting     map[string]bool // normalised usernames of users to delete
	earlyDelete  map[string]bool // of those, the ones whose email a document user takes
	changes      []Change

	// Execution.
	ids       map[string]string // normalised username → id, existing and created users
	groupIDs  map[string]string // normalised group name → id, existing and created groups
	deletedID map[string]bool
}

type userStep struct {
	idx     int    // in the document
	key     string // normalised username
	want    User   // cleaned; Manager in its canonical spelling
	cur     *directory.User
	change  *Change
	manager string // normalised username of the manager; "" when none or unknown
	// emailHolder is the document user whose current email this one takes;
	// it must change its email first.
	emailHolder *userStep
	noWrite     bool // rejected by validation: planned but not written

	done         bool
	deferManager bool // created before its manager existed (a cycle of new users)
	out          directory.User
}

type groupStep struct {
	idx         int
	want        Group
	cur         *directory.Group
	change      *Change
	add, remove []string // normalised usernames, sorted

	ok  bool // created or updated; memberships can follow
	out directory.Group
}

// Field names in directory errors → the document's names.
var (
	userFieldNames = map[string]string{
		"userName": "username", "emails": "email", "name.givenName": "given_name", "name.familyName": "family_name",
		"name.middleName": "middle_name", "displayName": "display_name", "nickName": "nick_name", "title": "title",
		"userType": "user_type", "preferredLanguage": "preferred_language", "locale": "locale", "timezone": "timezone",
		"externalId": "external_id", "enterprise.employeeNumber": "employee_number",
		"enterprise.costCenter": "cost_center", "enterprise.organization": "organization",
		"enterprise.division": "division", "enterprise.department": "department", "enterprise.managerId": "manager",
		"email": "email", "role": "role", "active": "active",
	}
	groupFieldNames = map[string]string{
		"displayName": "name", "description": "description", "externalId": "external_id", "members": "members",
	}
)

func (a *applier) load(ctx context.Context) error {
	var err error
	if a.users, err = listUsers(ctx, a.tx); err != nil {
		return err
	}
	if a.groups, err = listGroups(ctx, a.tx); err != nil {
		return err
	}
	a.userIdx, a.emailIdx, a.idName = map[string]int{}, map[string]int{}, map[string]string{}
	for i, u := range a.users {
		a.userIdx[directory.NormalizeUserName(u.UserName)] = i
		a.idName[u.ID] = u.UserName
		if e := u.PrimaryEmail(); e != "" {
			a.emailIdx[directory.NormalizeEmail(e)] = i
		}
	}
	a.groupIdx, a.groupName = map[string]int{}, map[string]string{}
	for i, g := range a.groups {
		a.groupIdx[directory.NormalizeGroupName(g.DisplayName)] = i
		a.groupName[g.ID] = g.DisplayName
	}
	if err := a.loadCloud(ctx); err != nil {
		return err
	}
	a.appIdx, a.entityIdx = map[string]int{}, map[string]int{}
	if a.atx == nil {
		return nil
	}
	if a.apps, err = a.atx.ListApps(ctx); err != nil {
		return err
	}
	for i, x := range a.apps {
		a.appIdx[apps.NormalizeName(x.DisplayName)] = i
		a.entityIdx[x.EntityID] = i
	}
	return nil
}

// plan compares the cleaned document with the directory, records every
// problem it can find without writing, and builds the list of changes.
func (a *applier) plan(ctx context.Context, doc Document) error {
	bad := doc.validate(a.problems)

	a.fileUsers = map[string]*userStep{}
	for i, u := range doc.Users {
		if bad.users[i] {
			continue
		}
		st := &userStep{idx: i, key: directory.NormalizeUserName(u.Username), want: u, noWrite: bad.emails[i]}
		if j, ok := a.userIdx[st.key]; ok {
			st.cur = &a.users[j]
		}
		a.fileUsers[st.key] = st
		a.userSteps = append(a.userSteps, st)
	}
	a.fileGroups = map[string]string{}
	for i, g := range doc.Groups {
		if !bad.groups[i] {
			a.fileGroups[directory.NormalizeGroupName(g.Name)] = g.Name
		}
	}

	// Deletions: what apply created and the document dropped, or with Prune
	// everything the document does not list, except what an identity
	// provider provisions through SCIM: that is its to delete.
	a.deleting, a.earlyDelete = map[string]bool{}, map[string]bool{}
	for _, u := range a.users {
		key := directory.NormalizeUserName(u.UserName)
		if a.fileUsers[key] != nil || !a.deletable(u.ManagedBy) {
			continue
		}
		if a.actor.Type == audit.ActorUser && u.ID == a.actor.ID {
			a.problems.Add("users", "%q is your own account: it is not in the document and would be deleted", u.UserName)
			continue
		}
		a.delUsers = append(a.delUsers, u)
		a.deleting[key] = true
	}
	for _, g := range a.groups {
		if _, ok := a.fileGroups[directory.NormalizeGroupName(g.DisplayName)]; ok || !a.deletable(g.ManagedBy) {
			continue
		}
		a.delGroups = append(a.delGroups, g)
	}

	for _, st := range a.userSteps {
		a.planUser(st)
	}
	for i, g := range doc.Groups {
		if bad.groups[i] {
			continue
		}
		st, err := a.planGroup(ctx, i, g)
		if err != nil {
			return err
		}
		a.groupSteps = append(a.groupSteps, st)
	}
	if err := a.planApps(ctx, doc, bad); err != nil {
		return err
	}
	if err := a.planCloud(ctx, doc, bad); err != nil {
		return err
	}

	// The changes, in presentation order.
	slices.SortFunc(a.userSteps, func(x, y *userStep) int { return cmp.Compare(x.key, y.key) })
	for _, st := range a.userSteps {
		if st.change != nil {
			a.changes = append(a.changes, *st.change)
		}
	}
	slices.SortFunc(a.groupSteps, func(x, y *groupStep) int { return compareGroupNames(x.want.Name, y.want.Name) })
	for _, st := range a.groupSteps {
		if st.change != nil {
			a.changes = append(a.changes, *st.change)
		}
	}
	slices.SortFunc(a.appSteps, func(x, y *appStep) int { return compareAppNames(x.want.Name, y.want.Name) })
	for _, st := range a.appSteps {
		if st.change != nil {
			a.changes = append(a.changes, *st.change)
		}
	}
	cloudUpserts, cloudDeletes := a.cloud.changes()
	a.changes = append(a.changes, cloudUpserts...)
	a.changes = append(a.changes, cloudDeletes...)
	slices.SortFunc(a.delApps, func(x, y apps.Application) int { return compareAppNames(x.DisplayName, y.DisplayName) })
	for _, x := range a.delApps {
		a.changes = append(a.changes, Change{Op: OpDelete, Kind: KindApp, Name: x.DisplayName})
	}
	slices.SortFunc(a.delGroups, func(x, y directory.Group) int { return compareGroupNames(x.DisplayName, y.DisplayName) })
	for _, g := range a.delGroups {
		a.changes = append(a.changes, Change{Op: OpDelete, Kind: KindGroup, Name: g.DisplayName})
	}
	slices.SortFunc(a.delUsers, func(x, y directory.User) int { return compareUserNames(x.UserName, y.UserName) })
	for _, u := range a.delUsers {
		a.changes = append(a.changes, Change{Op: OpDelete, Kind: KindUser, Name: u.UserName})
	}
	return nil
}

// deletable reports whether a user or group the document does not list is
// deleted: one apply manages, or with Prune any but SCIM-provisioned ones.
func (a *applier) deletable(managedBy string) bool {
	switch managedBy {
	case directory.ManagedByApply:
		return true
	case directory.ManagedBySCIM:
		return false
	}
	return a.opts.Prune
}

func compareUserNames(x, y string) int {
	return cmp.Or(cmp.Compare(directory.NormalizeUserName(x), directory.NormalizeUserName(y)), cmp.Compare(x, y))
}

func compareAppNames(x, y string) int {
	return cmp.Or(cmp.Compare(apps.NormalizeName(x), apps.NormalizeName(y)), cmp.Compare(x, y))
}

func compareGroupNames(x, y string) int {
	return cmp.Or(cmp.Compare(directory.NormalizeGroupName(x), directory.NormalizeGroupName(y)), cmp.Compare(x, y))
}

// ref resolves a username the document refers to (a manager or a member): a
// user of the document, or a directory user that stays. It returns the
// normalised username and its canonical spelling, or why it cannot be used.
func (a *applier) ref(name string) (key, canonical, problem string) {
	key = directory.NormalizeUserName(name)
	if st := a.fileUsers[key]; st != nil {
		return key, st.want.Username, ""
	}
	if i, ok := a.userIdx[key]; ok {
		if a.deleting[key] {
			return "", "", fmt.Sprintf("user %q is not in the document and would be deleted", name)
		}
		return key, a.users[i].UserName, ""
	}
	return "", "", fmt.Sprintf("unknown user %q: not in the document nor in the directory", name)
}

func (a *applier) planUser(st *userStep) {
	p := fmt.Sprintf("users[%d]", st.idx)
	if st.want.Manager != "" {
		key, canonical, problem := a.ref(st.want.Manager)
		if problem != "" {
			a.problems.Add(p+".manager", "%s", problem)
			st.want.Manager = ""
		} else {
			st.manager, st.want.Manager = key, canonical
		}
	}
	if st.want.Email != "" && !st.noWrite {
		if i, ok := a.emailIdx[directory.NormalizeEmail(st.want.Email)]; ok && (st.cur == nil || a.users[i].ID != st.cur.ID) {
			holder := a.users[i].UserName
			hk := directory.NormalizeUserName(holder)
			switch {
			case a.fileUsers[hk] != nil:
				// Static validation rules out the holder keeping this
				// email, so the holder's update frees it.
				st.emailHolder = a.fileUsers[hk]
			case a.deleting[hk]:
				a.earlyDelete[hk] = true
			default:
				a.problems.Add(p+".email", "%q is the email of user %q, which is not in the document", st.want.Email, holder)
				st.noWrite = true
			}
		}
	}
	if st.cur == nil {
		st.change = &Change{Op: OpCreate, Kind: KindUser, Name: st.want.Username, Fields: diffUser(User{}, st.want, true)}
		return
	}
	if fields := diffUser(exportUser(*st.cur, a.idName), st.want, false); len(fields) > 0 {
		st.change = &Change{Op: OpUpdate, Kind: KindUser, Name: st.want.Username, Fields: fields}
	}
}

func (a *applier) planGroup(ctx context.Context, idx int, g Group) (*groupStep, error) {
	st := &groupStep{idx: idx, want: g}
	if i, ok := a.groupIdx[directory.NormalizeGroupName(g.Name)]; ok {
		st.cur = &a.groups[i]
	}
	want := map[string]string{} // normalised username → canonical
	for j, m := range g.Members {
		if m == "" {
			continue // reported by validate
		}
		key, canonical, problem := a.ref(m)
		if problem != "" {
			a.problems.Add(fmt.Sprintf("groups[%d].members[%d]", idx, j), "%s", problem)
			continue
		}
		want[key] = canonical
	}
	have := map[string]string{}
	var cur Group
	if st.cur != nil {
		members, err := listMembers(ctx, a.tx, st.cur.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			have[directory.NormalizeUserName(m.UserName)] = m.UserName
		}
		cur = exportGroup(*st.cur, nil)
	}
	var added, removed []string
	st.add, added = difference(want, have)
	st.remove, removed = difference(have, want)

	ch := &Change{Kind: KindGroup, Name: g.Name, MembersAdded: added, MembersRemoved: removed}
	switch {
	case st.cur == nil:
		ch.Op, ch.Fields = OpCreate, diffGroup(Group{}, g, true)
	default:
		ch.Op, ch.Fields = OpUpdate, diffGroup(cur, g, false)
		if len(ch.Fields) == 0 && len(added)+len(removed) == 0 {
			return st, nil
		}
	}
	st.change = ch
	return st, nil
}

// difference returns the keys of a missing from b, sorted, and their names.
func difference(a, b map[string]string) (keys, names []string) {
	for k := range a {
		if _, ok := b[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		names = append(names, a[k])
	}
	return keys, names
}

// userText lists the user's text fields compared one to one.
var userText = []struct {
	name string
	get  func(*User) *string
}{
	{"username", func(u *User) *string { return &u.Username }},
	{"email", func(u *User) *string { return &u.Email }},
	{"given_name", func(u *User) *string { return &u.GivenName }},
	{"family_name", func(u *User) *string { return &u.FamilyName }},
	{"middle_name", func(u *User) *string { return &u.MiddleName }},
	{"display_name", func(u *User) *string { return &u.DisplayName }},
	{"nick_name", func(u *User) *string { return &u.NickName }},
	{"title", func(u *User) *string { return &u.Title }},
	{"user_type", func(u *User) *string { return &u.UserType }},
	{"preferred_language", func(u *User) *string { return &u.PreferredLanguage }},
	{"locale", func(u *User) *string { return &u.Locale }},
	{"timezone", func(u *User) *string { return &u.Timezone }},
	{"external_id", func(u *User) *string { return &u.ExternalID }},
	{"employee_number", func(u *User) *string { return &u.EmployeeNumber }},
	{"cost_center", func(u *User) *string { return &u.CostCenter }},
	{"organization", func(u *User) *string { return &u.Organization }},
	{"division", func(u *User) *string { return &u.Division }},
	{"department", func(u *User) *string { return &u.Department }},
	{"role", func(u *User) *string { return &u.Role }},
}

// diffUser lists the fields that differ between cur and want. On create the
// username (the change's name) and a default active are left out.
func diffUser(cur, want User, create bool) map[string]FieldChange {
	out := map[string]FieldChange{}
	for _, f := range userText {
		from, to := *f.get(&cur), *f.get(&want)
		if from != to && !(create && f.name == "username") {
			out[f.name] = FieldChange{From: from, To: to}
		}
	}
	if directory.NormalizeUserName(cur.Manager) != directory.NormalizeUserName(want.Manager) {
		out["manager"] = FieldChange{From: cur.Manager, To: want.Manager}
	}
	switch {
	case create && !want.IsActive():
		out["active"] = FieldChange{To: "false"}
	case !create && cur.IsActive() != want.IsActive():
		out["active"] = FieldChange{From: strconv.FormatBool(cur.IsActive()), To: strconv.FormatBool(want.IsActive())}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func diffGroup(cur, want Group, create bool) map[string]FieldChange {
	out := map[string]FieldChange{}
	for _, f := range []struct{ name, from, to string }{
		{"name", cur.Name, want.Name},
		{"description", cur.Description, want.Description},
		{"external_id", cur.ExternalID, want.ExternalID},
	} {
		if f.from != f.to && !(create && f.name == "name") {
			out[f.name] = FieldChange{From: f.from, To: f.to}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// execute carries out the plan through the directory service. Validation
// problems are collected and execution goes on, so one run reports them
// all; any other error stops it.
func (a *applier) execute(ctx context.Context) error {
	a.ids, a.deletedID, a.groupIDs = map[string]string{}, map[string]bool{}, map[string]string{}
	for _, u := range a.users {
		a.ids[directory.NormalizeUserName(u.UserName)] = u.ID
	}
	for _, g := range a.groups {
		a.groupIDs[directory.NormalizeGroupName(g.DisplayName)] = g.ID
	}
	// Users whose email a document user takes go before that user comes.
	for _, u := range a.delUsers {
		if a.earlyDelete[directory.NormalizeUserName(u.UserName)] {
			if err := a.deleteUser(ctx, u); err != nil {
				return err
			}
		}
	}
	if err := a.upsertUsers(ctx); err != nil {
		return err
	}
	for _, st := range a.groupSteps {
		if err := a.upsertGroup(ctx, st); err != nil {
			return err
		}
	}
	for _, st := range a.groupSteps {
		if err := a.syncMembers(ctx, st); err != nil {
			return err
		}
	}
	// Applications go first, so a new one may take the entity ID of one
	// the document dropped.
	for _, x := range a.delApps {
		if err := a.appSvc.DeleteTx(ctx, a.atx, a.actor, x); err != nil {
			if err := a.deleteFailed("applications", x.DisplayName, err); err != nil {
				return err
			}
		}
	}
	for _, st := range a.appSteps {
		if err := a.upsertApp(ctx, st); err != nil {
			return err
		}
	}
	for _, st := range a.appSteps {
		if err := a.syncAssignments(ctx, st); err != nil {
			return err
		}
	}
	// Accounts after users and groups, so they can be assigned; before
	// groups and users are deleted, so the plan's removals are audited.
	if err := a.executeCloud(ctx); err != nil {
		return err
	}
	for _, g := range a.delGroups {
		delete(a.groupIDs, directory.NormalizeGroupName(g.DisplayName))
		if err := a.dir.DeleteGroupTx(ctx, a.tx, a.actor, g); err != nil {
			if err := a.deleteFailed("groups", g.DisplayName, err); err != nil {
				return err
			}
		}
	}
	for _, u := range a.delUsers {
		if err := a.deleteUser(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

// upsertUsers creates and updates the document's users. A user goes after
// the new user who manages them and after the document user whose current
// email they take; a cycle of new managers is broken by setting one manager
// afterwards, a cycle of emails is reported.
func (a *applier) upsertUsers(ctx context.Context) error {
	var pending []*userStep
	for _, st := range a.userSteps {
		if st.change != nil {
			pending = append(pending, st)
		} else {
			st.done = true
		}
	}
	blocked := func(st *userStep) bool {
		if h := st.emailHolder; h != nil && h != st && !h.done {
			return true
		}
		m := a.fileUsers[st.manager]
		return m != nil && m != st && m.cur == nil && !m.done && !st.deferManager
	}
	for len(pending) > 0 {
		var rest []*userStep
		for _, st := range pending {
			if blocked(st) {
				rest = append(rest, st)
				continue
			}
			if err := a.upsertUser(ctx, st); err != nil {
				return err
			}
		}
		if len(rest) < len(pending) {
			pending = rest
			continue
		}
		// Only cycles are left: break the first one.
		st := rest[0]
		if h := st.emailHolder; h != nil && !h.done {
			a.problems.Add(fmt.Sprintf("users[%d].email", st.idx),
				"%q is the current email of %q, and the emails form a cycle; apply the change in two steps", st.want.Email, h.want.Username)
			rest = rest[1:] // not written; users waiting for it are reported in turn
		} else {
			st.deferManager = true
		}
		pending = rest
	}
	for _, st := range a.userSteps {
		mgr := a.ids[st.manager]
		if !st.deferManager || st.out.ID == "" || mgr == "" {
			continue
		}
		_, err := a.dir.UpdateUserTx(ctx, a.tx, a.actor, st.out, st.out.Version, func(u *directory.User) error {
			u.Enterprise.ManagerID = mgr
			return nil
		})
		if err := a.failed(err, fmt.Sprintf("users[%d]", st.idx), userFieldNames, KindUser, st.want.Username); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) upsertUser(ctx context.Context, st *userStep) error {
	st.done = true
	if st.noWrite {
		return nil
	}
	managerID := ""
	switch {
	case st.deferManager && st.cur != nil:
		managerID = st.cur.Enterprise.ManagerID
	case st.deferManager:
	case st.manager != "":
		managerID = a.ids[st.manager] // empty when the manager failed to be created
	}
	var out directory.User
	var err error
	if st.cur == nil {
		u := directory.User{ManagedBy: directory.ManagedByApply}
		st.want.applyTo(&u, managerID)
		out, err = a.dir.CreateUserTx(ctx, a.tx, a.actor, u)
	} else {
		out, err = a.dir.UpdateUserTx(ctx, a.tx, a.actor, *st.cur, st.cur.Version, func(u *directory.User) error {
			st.want.applyTo(u, managerID)
			return nil
		})
	}
	if err != nil {
		return a.failed(err, fmt.Sprintf("users[%d]", st.idx), userFieldNames, KindUser, st.want.Username)
	}
	st.out = out
	a.ids[st.key] = out.ID
	return nil
}

// applyTo sets the attributes the document manages on u.
func (w User) applyTo(u *directory.User, managerID string) {
	u.UserName = w.Username
	u.Name.GivenName, u.Name.FamilyName, u.Name.MiddleName = w.GivenName, w.FamilyName, w.MiddleName
	u.DisplayName, u.NickName, u.Title, u.UserType = w.DisplayName, w.NickName, w.Title, w.UserType
	u.PreferredLanguage, u.Locale, u.Timezone, u.ExternalID = w.PreferredLanguage, w.Locale, w.Timezone, w.ExternalID
	e := &u.Enterprise
	e.EmployeeNumber, e.CostCenter, e.Organization, e.Division, e.Department = w.EmployeeNumber, w.CostCenter, w.Organization, w.Division, w.Department
	e.ManagerID = managerID
	u.Role = w.Role
	u.Active = w.IsActive()
	setPrimaryEmail(u, w.Email)
}

// setPrimaryEmail makes email the primary address of u, replacing the old
// primary and keeping the other addresses; an empty email removes them all,
// since the document's email is the user's only address it knows of.
func setPrimaryEmail(u *directory.User, email string) {
	if email == "" {
		u.Emails = nil
		return
	}
	if u.PrimaryEmail() == email {
		return
	}
	old := -1 // the address PrimaryEmail returns: the primary, else the first
	for i, e := range u.Emails {
		if e.Primary {
			old = i
			break
		}
	}
	if old < 0 && len(u.Emails) > 0 {
		old = 0
	}
	first := directory.MultiValue{Value: email, Primary: true}
	if old >= 0 {
		first.Type = u.Emails[old].Type
	}
	out := []directory.MultiValue{first}
	for i, e := range u.Emails {
		if i == old || directory.NormalizeEmail(e.Value) == directory.NormalizeEmail(email) {
			continue
		}
		e.Primary = false
		out = append(out, e)
	}
	u.Emails = out
}

func (a *applier) upsertGroup(ctx context.Context, st *groupStep) error {
	w := st.want
	var err error
	switch {
	case st.cur == nil:
		g := directory.Group{DisplayName: w.Name, Description: w.Description, ExternalID: w.ExternalID, ManagedBy: directory.ManagedByApply}
		st.out, err = a.dir.CreateGroupTx(ctx, a.tx, a.actor, g)
	case st.change != nil && len(st.change.Fields) > 0:
		st.out, err = a.dir.UpdateGroupTx(ctx, a.tx, a.actor, *st.cur, st.cur.Version, func(g *directory.Group) error {
			g.DisplayName, g.Description, g.ExternalID = w.Name, w.Description, w.ExternalID
			return nil
		})
	default:
		st.out = *st.cur
	}
	if err != nil {
		return a.failed(err, fmt.Sprintf("groups[%d]", st.idx), groupFieldNames, KindGroup, w.Name)
	}
	st.ok = true
	a.groupIDs[directory.NormalizeGroupName(w.Name)] = st.out.ID
	return nil
}

func (a *applier) syncMembers(ctx context.Context, st *groupStep) error {
	if !st.ok {
		return nil
	}
	ids := func(keys []string) []string {
		var out []string
		for _, k := range keys {
			// Users that failed to be created, or were deleted already
			// (leaving their groups with them), are skipped.
			if id := a.ids[k]; id != "" && !a.deletedID[id] {
				out = append(out, id)
			}
		}
		return out
	}
	p := fmt.Sprintf("groups[%d]", st.idx)
	if add := ids(st.add); len(add) > 0 {
		if _, err := a.dir.AddMembersTx(ctx, a.tx, a.actor, st.out, add); err != nil {
			if err := a.failed(err, p, groupFieldNames, KindGroup, st.want.Name); err != nil {
				return err
			}
		}
	}
	if remove := ids(st.remove); len(remove) > 0 {
		if _, err := a.dir.RemoveMembersTx(ctx, a.tx, a.actor, st.out, remove); err != nil {
			if err := a.failed(err, p, groupFieldNames, KindGroup, st.want.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *applier) deleteUser(ctx context.Context, u directory.User) error {
	if a.deletedID[u.ID] {
		return nil
	}
	if err := a.dir.DeleteUserTx(ctx, a.tx, a.actor, u); err != nil {
		return a.deleteFailed("users", u.UserName, err)
	}
	a.deletedID[u.ID] = true
	return nil
}

// failed records err from writing the document's object at path. It returns
// nil when execution can go on (a validation problem, found before anything
// was written) and an error when it must stop: a unique-field conflict, after
// which the transaction is unusable, is returned with the problems so far.
func (a *applier) failed(err error, path string, names map[string]string, kind, name string) error {
	return a.failedFn(err, path, func(f string) string { return docField(names, f) }, kind, name)
}

// failedFn is failed with a function mapping error fields to the
// document's; an empty result names path itself.
func (a *applier) failedFn(err error, path string, field func(string) string, kind, name string) error {
	if err == nil {
		return nil
	}
	at := func(f string) string {
		if d := field(f); d != "" {
			return path + "." + d
		}
		return path
	}
	var inv *errs.Invalid
	if errors.As(err, &inv) {
		for _, p := range inv.Problems {
			a.problems.Add(at(p.Field), "%s", p.Reason)
		}
		return nil
	}
	var cf *errs.Conflict
	if errors.As(err, &cf) && !cf.Stale {
		a.problems.Add(at(cf.Field), "%s", cf.Error())
		return a.problems
	}
	return fmt.Errorf("apply %s %q: %w", kind, name, err)
}

// deleteFailed records err from deleting an object the document leaves out.
func (a *applier) deleteFailed(field, name string, err error) error {
	var inv *errs.Invalid
	if errors.As(err, &inv) {
		for _, p := range inv.Problems {
			a.problems.Add(field, "cannot delete %q: %s", name, p.Reason)
		}
		return nil
	}
	kind := map[string]string{"users": KindUser, "groups": KindGroup, "applications": KindApp,
		"accounts": KindAccount, "permission_sets": KindPermissionSet}[field]
	return fmt.Errorf("delete %s %q: %w", kind, name, err)
}

func docField(names map[string]string, field string) string {
	if n, ok := names[field]; ok {
		return n
	}
	if field == "" {
		return "document"
	}
	return field
}
