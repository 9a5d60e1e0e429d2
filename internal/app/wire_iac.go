package app

import (
	"context"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/awsfed"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/iac"
	"github.com/idcenter/idcenter/internal/saml"
)

// wireIaC builds the IAM set-up renderer (GET /api/v1/accounts/{account}/iam
// and its drift check) over the cloud model, the applications' signed IdP
// metadata and the iam_renders table.
func (a *App) wireIaC() *iac.Service {
	return &iac.Service{
		Model:    a.Cloud,
		Metadata: iacMetadata{apps: a.Apps, fed: a.Federation, base: a.Config.PublicURL()},
		Store:    a.Store.IaC(),
	}
}

// iacMetadata is the IdP metadata of the application that signs an
// account's assertions, exactly as its metadata URL and the admin API serve
// it (saml.AppIdPMetadata). The application is found (or created) by the
// same rule the federation signs with (awsfed.Service.AWSApplication).
type iacMetadata struct {
	apps *apps.Service
	fed  *awsfed.Service
	base string
}

func (m iacMetadata) IdPMetadata(ctx context.Context, actor audit.Actor, acct cloud.Account) ([]byte, error) {
	// An administrator's render creates the AWS application on first need
	// (as a sign-in would); an auditor's read never writes.
	var app apps.Application
	var err error
	if actor.Type == audit.ActorSystem || actor.Role == audit.RoleAdmin {
		app, err = m.fed.AWSApplication(ctx, acct)
	} else {
		var ok bool
		if app, ok, err = m.fed.FindAWSApplication(ctx, acct); err == nil && !ok {
			err = errs.Invalidf("appId", "account %s has no SAML application to trust yet: an administrator's render creates it", acct.ID)
		}
	}
	if err != nil {
		return nil, err
	}
	pub, err := m.apps.PublishedCertificates(ctx, app.ID)
	if err != nil {
		return nil, err
	}
	return saml.AppIdPMetadata(m.base, app, pub)
}
