package app

import (
	"github.com/idcenter/idcenter/internal/awsfed"
)

// wireFederation builds the AWS federation (internal/awsfed): signed
// assertions for the roles users hold in cloud accounts, console sign-in
// and STS access keys (a.Federation, a cloud.Federation for the portal),
// and the AWS Role attribute of aws-account applications and of
// applications with "include AWS roles" (apps.Service.Roles). It needs
// a.Apps and a.Cloud.
//
// Federation.Audit is left unset: the portal, which calls the Federation,
// records aws.console.signin, aws.credentials.issue and their failures
// itself, so the Federation's own events would be duplicates.
func (a *App) wireFederation() {
	a.Federation = &awsfed.Service{
		Apps: a.Apps, Roles: a.Cloud, Users: a.Store.Apps(), BaseURL: a.Config.PublicURL(), Log: a.Log,
	}
	a.Apps.Roles = a.Federation
}
