package declarative

import (
	"context"
	"slices"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
)

// pageSize is how many rows each directory read asks for.
const pageSize = 1000

// Export returns every user, group, application, AWS account, permission
// set and account assignment as a document, sorted by name, with empty fields and the default active: true left out. idcenter's
// own signing certificates and the SP metadata an application was created
// from are not part of it. Applying the result changes nothing.
// Administrators and auditors may export.
func (s *Service) Export(ctx context.Context, actor audit.Actor) (Document, error) {
	if err := audit.RequireRole(actor, audit.RoleAdmin, audit.RoleAuditor); err != nil {
		return Document{}, err
	}
	r := s.store()
	users, err := listUsers(ctx, r)
	if err != nil {
		return Document{}, err
	}
	groups, err := listGroups(ctx, r)
	if err != nil {
		return Document{}, err
	}
	names := make(map[string]string, len(users))
	for _, u := range users {
		names[u.ID] = u.UserName
	}
	doc := Document{Version: Version}
	slices.SortFunc(users, func(x, y directory.User) int { return compareUserNames(x.UserName, y.UserName) })
	for _, u := range users {
		doc.Users = append(doc.Users, exportUser(u, names))
	}
	slices.SortFunc(groups, func(x, y directory.Group) int { return compareGroupNames(x.DisplayName, y.DisplayName) })
	for _, g := range groups {
		members, err := listMembers(ctx, r, g.ID)
		if err != nil {
			return Document{}, err
		}
		doc.Groups = append(doc.Groups, exportGroup(g, members))
	}
	groupNames := make(map[string]string, len(groups))
	for _, g := range groups {
		groupNames[g.ID] = g.DisplayName
	}
	if err := s.exportCloud(ctx, &doc, names, groupNames); err != nil {
		return Document{}, err
	}
	if s.Apps == nil {
		return doc, nil
	}
	list, err := s.Apps.Store.ListApps(ctx)
	if err != nil {
		return Document{}, err
	}
	slices.SortFunc(list, func(x, y apps.Application) int { return compareAppNames(x.DisplayName, y.DisplayName) })
	for _, x := range list {
		assigned, err := s.Apps.Store.ListAppAssignments(ctx, x.ID)
		if err != nil {
			return Document{}, err
		}
		doc.Applications = append(doc.Applications, exportApp(x, assigned, names, groupNames))
	}
	return doc, nil
}

// exportApp projects an application and its assignments onto the
// document's fields. Its template is named only when the document, filled
// from that template, gives back the application: a field the template sets
// but the application has emptied could not be written otherwise.
func exportApp(x apps.Application, assigned []apps.Assignment, userNames, groupNames map[string]string) Application {
	out := Application{
		Name: x.DisplayName, Description: x.Description, EntityID: x.EntityID, ACSURLs: acsURLs(x),
		SLOURL: x.SLOURL, StartURL: x.StartURL, RelayState: x.DefaultRelayState,
		SessionDuration: x.SessionDuration, NameIDFormat: x.NameIDFormat, NameID: x.NameID,
		Sign: x.SigningMode, RequireSignedRequests: x.RequireSignedRequests,
		SPSigningCertificates: slices.Clone(x.SigningCertificates),
		SPMetadataURL:         x.SPMetadataURL,
	}
	for _, at := range x.Attributes {
		f := at.NameFormat
		if f == apps.NameFormatUnspecified {
			f = ""
		}
		out.Attributes = append(out.Attributes, AppAttribute{Name: at.Name, Value: at.Value, Format: f})
	}
	if !x.Enabled {
		out.Enabled = new(false)
	}
	for _, as := range assigned {
		switch as.PrincipalType {
		case apps.PrincipalUser:
			if n, ok := userNames[as.PrincipalID]; ok {
				out.Assignments.Users = append(out.Assignments.Users, n)
			}
		case apps.PrincipalGroup:
			if n, ok := groupNames[as.PrincipalID]; ok {
				out.Assignments.Groups = append(out.Assignments.Groups, n)
			}
		}
	}
	slices.SortFunc(out.Assignments.Users, compareUserNames)
	slices.SortFunc(out.Assignments.Groups, compareGroupNames)
	if x.Template != "" && x.Template != apps.TemplateCustom {
		withTemplate := out
		withTemplate.Template = x.Template
		if got, err := apps.Build(withTemplate.request(x.Template, nil)); err == nil && diffApp(x, got, false) == nil {
			out.Template = x.Template
		}
	}
	return out
}

// exportUser projects u onto the document's fields; names maps user ids to
// usernames, for the manager (left out when it no longer resolves).
func exportUser(u directory.User, names map[string]string) User {
	out := User{
		Username:          u.UserName,
		Email:             u.PrimaryEmail(),
		GivenName:         u.Name.GivenName,
		FamilyName:        u.Name.FamilyName,
		MiddleName:        u.Name.MiddleName,
		DisplayName:       u.DisplayName,
		NickName:          u.NickName,
		Title:             u.Title,
		UserType:          u.UserType,
		PreferredLanguage: u.PreferredLanguage,
		Locale:            u.Locale,
		Timezone:          u.Timezone,
		ExternalID:        u.ExternalID,
		EmployeeNumber:    u.Enterprise.EmployeeNumber,
		CostCenter:        u.Enterprise.CostCenter,
		Organization:      u.Enterprise.Organization,
		Division:          u.Enterprise.Division,
		Department:        u.Enterprise.Department,
		Manager:           names[u.Enterprise.ManagerID],
		Role:              u.Role,
	}
	if !u.Active {
		out.Active = new(false)
	}
	return out
}

// exportGroup projects g and its members onto the document's fields.
func exportGroup(g directory.Group, members []directory.Member) Group {
	out := Group{Name: g.DisplayName, Description: g.Description, ExternalID: g.ExternalID}
	for _, m := range members {
		out.Members = append(out.Members, m.UserName)
	}
	slices.SortFunc(out.Members, compareUserNames)
	return out
}

func listUsers(ctx context.Context, r directory.Reader) ([]directory.User, error) {
	var out []directory.User
	f := directory.UserFilter{Limit: pageSize}
	for {
		page, next, err := r.ListUsers(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" || next == f.Cursor {
			return out, nil
		}
		f.Cursor = next
	}
}

func listGroups(ctx context.Context, r directory.Reader) ([]directory.Group, error) {
	var out []directory.Group
	f := directory.GroupFilter{Limit: pageSize}
	for {
		page, next, err := r.ListGroups(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" || next == f.Cursor {
			return out, nil
		}
		f.Cursor = next
	}
}

func listMembers(ctx context.Context, r directory.Reader, groupID string) ([]directory.Member, error) {
	var out []directory.Member
	cursor := ""
	for {
		page, next, err := r.ListMembers(ctx, groupID, cursor, pageSize)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" || next == cursor {
			return out, nil
		}
		cursor = next
	}
}
