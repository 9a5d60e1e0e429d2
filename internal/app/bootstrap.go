package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/keys"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/tokens"
)

// GeneratedTokenTTL is how long a printed bootstrap token stays valid.
const GeneratedTokenTTL = 7 * 24 * time.Hour

// initInstance loads the master key and, on an empty store, creates the
// instance, the first administrator and the bootstrap token in one
// transaction. Only the replica whose insert of the instance row wins does
// this; every later start only checks the master key.
func (a *App) initInstance(ctx context.Context, out io.Writer) error {
	cfg := a.Config
	in, err := a.Store.GetInstance(ctx)
	switch {
	case err == nil:
		return a.loadKey(in, false)
	case !errors.Is(err, errs.ErrNotFound):
		return fmt.Errorf("read instance: %w", err)
	}
	k, generated, err := keys.LoadOrCreate(cfg.MasterKeyFile, cfg.DataDir, true)
	if err != nil {
		return err
	}
	if generated {
		a.Log.Info("generated master key", "path", cfg.DataDir+"/"+keys.MasterKeyFile)
	}
	a.Keys = k
	b := cfg.Bootstrap
	var password, tokenSecret string
	if b.AdminPasswordFile != "" {
		if password, err = readSecretFile(b.AdminPasswordFile); err != nil {
			return fmt.Errorf("IDCENTER_ADMIN_PASSWORD_FILE: %w", err)
		}
	}
	if b.TokenFile != "" {
		if tokenSecret, err = readSecretFile(b.TokenFile); err != nil {
			return fmt.Errorf("IDCENTER_BOOTSTRAP_TOKEN_FILE: %w", err)
		}
	}
	generatedToken := tokenSecret == ""
	var created bool
	var setupLink string
	err = a.Store.WithTx(ctx, func(tx *sqlstore.Tx) error {
		in = sqlstore.Instance{ID: uuid.Must(uuid.NewV7()).String(), KeyCheck: k.KeyCheck(), CreatedAt: time.Now().UTC()}
		if created, err = tx.CreateInstance(ctx, in); err != nil || !created {
			return err
		}
		if err := tx.AppendAudit(ctx, audit.New(ctx, audit.System, "instance.create", "instance", in.ID, "", nil)); err != nil {
			return err
		}
		if b.AdminUsername != "" {
			u := directory.User{UserName: b.AdminUsername, Active: true, Role: directory.RoleAdmin, DisplayName: "Administrator"}
			if b.AdminEmail != "" {
				u.Emails = []directory.MultiValue{{Value: b.AdminEmail, Primary: true}}
			}
			u, err := a.Directory.CreateUserTx(ctx, tx, audit.System, u)
			if err != nil {
				return fmt.Errorf("create admin user: %w", err)
			}
			if err := a.Directory.SetPasswordTx(ctx, tx, audit.System, u, password); err != nil {
				return fmt.Errorf("admin password: %w", err)
			}
		}
		if b.AdminUsername == "" {
			// No administrator from the environment: create "admin" without a
			// password and a single-use setup link to choose one.
			u, err := a.Directory.CreateUserTx(ctx, tx, audit.System, directory.User{
				UserName: "admin", Active: true, Role: directory.RoleAdmin, DisplayName: "Administrator"})
			if err != nil {
				return fmt.Errorf("create admin user: %w", err)
			}
			token, hash := authn.NewToken()
			now := time.Now().UTC()
			if err := tx.InsertOneTimeToken(ctx, authn.OneTimeToken{Kind: authn.KindInvitation, UserID: u.ID,
				Created: now, Expires: now.Add(a.Config.Auth.InviteTTL)}, hash); err != nil {
				return err
			}
			if err := tx.AppendAudit(ctx, audit.New(ctx, audit.System, "user.invitation.create", "user", u.ID, u.UserName, nil)); err != nil {
				return err
			}
			setupLink = a.Config.PublicURL() + "/invite/" + token
		}
		req := tokens.CreateRequest{Name: "bootstrap", Role: audit.RoleAdmin, Secret: tokenSecret}
		if generatedToken {
			exp := time.Now().UTC().Add(GeneratedTokenTTL)
			req.ExpiresAt = &exp
		}
		var secret string
		if _, secret, err = a.Tokens.CreateTx(ctx, tx, audit.System, req); err != nil {
			return fmt.Errorf("bootstrap token: %w", err)
		}
		tokenSecret = secret
		return nil
	})
	if err != nil {
		return err
	}
	if !created {
		// Another replica initialised the instance first.
		in, err := a.Store.GetInstance(ctx)
		if err != nil {
			return err
		}
		return a.loadKey(in, false)
	}
	a.Log.Info("initialised new instance", "instance_id", in.ID, "engine", a.Store.Dialect().Name)
	if b.AdminUsername != "" {
		a.Log.Info("created administrator", "username", b.AdminUsername)
	}
	if setupLink != "" {
		fmt.Fprintf(out, "\nSet up the first administrator (username: admin) in your browser, once, within %s:\n\n    %s\n",
			a.Config.Auth.InviteTTL, setupLink)
	}
	if generatedToken {
		printBootstrap(out, a.Config.PublicURL(), tokenSecret)
	} else {
		a.Log.Info("created admin API token from IDCENTER_BOOTSTRAP_TOKEN_FILE", "name", "bootstrap")
	}
	return nil
}

// loadKey loads the master key of an existing instance and refuses to start
// when it is not the key the instance was created with.
func (a *App) loadKey(in sqlstore.Instance, _ bool) error {
	cfg := a.Config
	b := cfg.Bootstrap
	if b.AdminUsername != "" || b.TokenFile != "" {
		a.Log.Info("instance already initialised; bootstrap settings ignored", "instance_id", in.ID)
	}
	k, generated, err := keys.LoadOrCreate(cfg.MasterKeyFile, cfg.DataDir, false)
	if err != nil {
		return fmt.Errorf("instance %s exists but its master key is missing: %w (set IDCENTER_MASTER_KEY_FILE to the key it was created with)", in.ID, err)
	}
	_ = generated
	if !k.VerifyKeyCheck(in.KeyCheck) {
		return fmt.Errorf("the master key does not match the one instance %s was created with; refusing to start", in.ID)
	}
	a.Keys = k
	return nil
}

func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

func printBootstrap(out io.Writer, baseURL, secret string) {
	fmt.Fprintf(out, `
idcenter: a new instance was initialised.

One-time bootstrap token (admin role, valid for 7 days, never shown again):

    %s

Sign in from the CLI:

    echo '%s' | idcenter login --url %s --token-stdin
    idcenter users list

or call the API directly:

    curl -H 'Authorization: Bearer %s' %s/api/v1/whoami

Create your own named token (idcenter tokens create --name me --role admin) and revoke this one
(idcenter tokens revoke bootstrap) when you are set up.

`, secret, secret, baseURL, secret, baseURL)
}
