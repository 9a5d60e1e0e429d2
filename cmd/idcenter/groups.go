package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/idcenter/idcenter/client"
)

// GroupsCmd groups the group commands.
type GroupsCmd struct {
	List         GroupsListCmd         `cmd:"" aliases:"ls" help:"List groups."`
	Get          GroupsGetCmd          `cmd:"" help:"Show a group."`
	Create       GroupsCreateCmd       `cmd:"" help:"Create a group."`
	Update       GroupsUpdateCmd       `cmd:"" help:"Rename a group or change its description."`
	Delete       GroupsDeleteCmd       `cmd:"" aliases:"rm" help:"Delete a group (its members' accounts stay)."`
	AddMember    GroupsAddMemberCmd    `cmd:"" name:"add-member" help:"Add users to a group."`
	RemoveMember GroupsRemoveMemberCmd `cmd:"" name:"remove-member" help:"Remove users from a group."`
	Members      GroupsMembersCmd      `cmd:"" help:"List a group's members."`
}

// GroupsListCmd lists groups.
type GroupsListCmd struct {
	Prefix string `help:"Only names starting with this prefix."`
	Member string `help:"Only groups this user (userName or id) belongs to." placeholder:"USER"`
	pageFlags
}

// Run lists groups.
func (c *GroupsListCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	opts := client.GroupListOptions{Prefix: c.Prefix, Member: c.Member, Cursor: c.Cursor, Limit: c.Limit}
	ctx := context.Background()
	var groups []client.Group
	var next string
	if c.All {
		groups, err = api.AllGroups(ctx, opts)
	} else {
		groups, next, err = api.ListGroups(ctx, opts)
	}
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		err = g.printJSON(nonNil(groups))
	} else {
		t := newTable(g.Stdout, "NAME", "MEMBERS", "DESCRIPTION", "ID")
		for _, gr := range groups {
			t.row(gr.DisplayName, fmt.Sprint(gr.MemberCount), gr.Description, gr.ID)
		}
		err = t.flush()
	}
	g.moreHint(next)
	return err
}

// GroupsGetCmd shows a group.
type GroupsGetCmd struct {
	Group string `arg:"" help:"Group name or id."`
}

// Run shows the group.
func (c *GroupsGetCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	gr, err := api.GetGroup(context.Background(), c.Group)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(gr)
	}
	d := newDetails(g.Stdout)
	d.add("Name", gr.DisplayName)
	d.add("ID", gr.ID)
	d.add("Description", gr.Description)
	d.add("Members", fmt.Sprint(gr.MemberCount))
	d.add("External ID", gr.ExternalID)
	d.add("Managed by", gr.ManagedBy)
	d.add("Created", fmtTime(gr.Created))
	d.add("Last modified", fmtTime(gr.LastModified))
	d.add("Version", fmt.Sprint(gr.Version))
	return d.flush()
}

// GroupsCreateCmd creates a group.
type GroupsCreateCmd struct {
	Name        string   `arg:"" help:"Name of the new group."`
	Description string   `help:"What the group is for."`
	ExternalID  string   `name:"external-id" help:"Identifier in an external system." placeholder:"ID"`
	Member      []string `sep:"none" help:"Initial member (userName or id); repeat for more." placeholder:"USER"`
}

// Run creates the group.
func (c *GroupsCreateCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	gr, err := api.CreateGroup(context.Background(),
		client.Group{DisplayName: c.Name, Description: c.Description, ExternalID: c.ExternalID}, c.Member)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(gr)
	}
	g.printf("Created group %s with %d member(s) (id %s).\n", oneLine(gr.DisplayName), gr.MemberCount, gr.ID)
	return nil
}

// GroupsUpdateCmd changes a group with a merge patch of the flags given.
type GroupsUpdateCmd struct {
	Group       string  `arg:"" help:"Group name or id."`
	Name        *string `help:"New name." placeholder:"NEW"`
	Description *string `help:"New description (\"\" clears it)."`
	ExternalID  *string `name:"external-id" help:"New external id (\"\" clears it)." placeholder:"ID"`
	IfVersion   int64   `name:"if-version" help:"Only update if the group is still at this version (see 'groups get'); otherwise fail with 409." placeholder:"N"`
}

// Run updates the group.
func (c *GroupsUpdateCmd) Run(g *Globals) error {
	patch := map[string]any{}
	if c.Name != nil {
		patch["displayName"] = *c.Name
	}
	if c.Description != nil {
		patch["description"] = *c.Description
	}
	if c.ExternalID != nil {
		patch["externalId"] = *c.ExternalID
	}
	if len(patch) == 0 {
		return errors.New("nothing to update: give --name, --description or --external-id")
	}
	api, err := g.api()
	if err != nil {
		return err
	}
	gr, err := api.UpdateGroup(context.Background(), c.Group, patch, c.IfVersion)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(gr)
	}
	g.printf("Updated group %s (version %d).\n", oneLine(gr.DisplayName), gr.Version)
	return nil
}

// GroupsDeleteCmd deletes a group.
type GroupsDeleteCmd struct {
	Group string `arg:"" help:"Group name or id."`
}

// Run deletes the group.
func (c *GroupsDeleteCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	if err := api.DeleteGroup(context.Background(), c.Group); err != nil {
		return err
	}
	if !g.jsonOutput() {
		g.printf("Deleted group %s.\n", oneLine(c.Group))
	}
	return nil
}

// GroupsAddMemberCmd adds users to a group.
type GroupsAddMemberCmd struct {
	Group string   `arg:"" help:"Group name or id."`
	Users []string `arg:"" name:"user" help:"userNames or ids to add."`
}

// Run adds the users.
func (c *GroupsAddMemberCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	gr, err := api.AddMembers(context.Background(), c.Group, c.Users)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(gr)
	}
	g.printf("Group %s now has %d member(s).\n", oneLine(gr.DisplayName), gr.MemberCount)
	return nil
}

// GroupsRemoveMemberCmd removes users from a group, one request each.
type GroupsRemoveMemberCmd struct {
	Group string   `arg:"" help:"Group name or id."`
	Users []string `arg:"" name:"user" help:"userNames or ids to remove."`
}

// Run removes the users, stopping at the first failure.
func (c *GroupsRemoveMemberCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	for i, u := range c.Users {
		if err := api.RemoveMember(context.Background(), c.Group, u); err != nil {
			if i > 0 {
				return fmt.Errorf("removing %s (after removing %d user(s)): %w", oneLine(u), i, err)
			}
			return err
		}
		if !g.jsonOutput() {
			g.printf("Removed %s from %s.\n", oneLine(u), oneLine(c.Group))
		}
	}
	return nil
}

// GroupsMembersCmd lists a group's members.
type GroupsMembersCmd struct {
	Group string `arg:"" help:"Group name or id."`
	pageFlags
}

// Run lists the members.
func (c *GroupsMembersCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	opts := client.PageOptions{Cursor: c.Cursor, Limit: c.Limit}
	ctx := context.Background()
	var members []client.Member
	var next string
	if c.All {
		members, err = api.AllMembers(ctx, c.Group, opts)
	} else {
		members, next, err = api.ListMembers(ctx, c.Group, opts)
	}
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		err = g.printJSON(nonNil(members))
	} else {
		t := newTable(g.Stdout, "USERNAME", "DISPLAY NAME", "ID")
		for _, m := range members {
			t.row(m.UserName, m.DisplayName, m.UserID)
		}
		err = t.flush()
	}
	g.moreHint(next)
	return err
}
