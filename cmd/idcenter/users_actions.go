package main

import (
	"context"

	"github.com/idcenter/idcenter/client"
)

// UsersInviteCmd emails a user an invitation link.
type UsersInviteCmd struct {
	User string `arg:"" help:"userName or id."`
}

// Run sends the invitation.
func (c *UsersInviteCmd) Run(g *Globals) error {
	return userAction(g, c.User, (*client.Client).SendInvitation)
}

// UsersResetPasswordCmd forces a password reset.
type UsersResetPasswordCmd struct {
	User string `arg:"" help:"userName or id."`
}

// Run removes the password, ends the sessions and emails a reset link.
func (c *UsersResetPasswordCmd) Run(g *Globals) error {
	return userAction(g, c.User, (*client.Client).ForcePasswordReset)
}

// UsersUnlockCmd clears a lockout.
type UsersUnlockCmd struct {
	User string `arg:"" help:"userName or id."`
}

// Run unlocks the account.
func (c *UsersUnlockCmd) Run(g *Globals) error {
	return userAction(g, c.User, (*client.Client).UnlockUser)
}

// UsersSignOutCmd ends every session of a user.
type UsersSignOutCmd struct {
	User string `arg:"" help:"userName or id."`
}

// Run signs the user out everywhere.
func (c *UsersSignOutCmd) Run(g *Globals) error {
	return userAction(g, c.User, (*client.Client).EndUserSessions)
}

func userAction(g *Globals, user string, do func(*client.Client, context.Context, string) (client.ActionResult, error)) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	res, err := do(api, context.Background(), user)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(res)
	}
	if res.Count > 0 {
		g.printf("%s: %s (%d).\n", oneLine(res.UserName), oneLine(res.Result), res.Count)
	} else {
		g.printf("%s: %s.\n", oneLine(res.UserName), oneLine(res.Result))
	}
	return nil
}
