package iac

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/errs"
)

// Model reads the account-access model; *cloud.Service implements it.
type Model interface {
	GetAccount(ctx context.Context, actor audit.Actor, key string) (cloud.Account, error)
	ListAccounts(ctx context.Context, actor audit.Actor) ([]cloud.Account, error)
	ListAssignments(ctx context.Context, actor audit.Actor, accountKey string) ([]cloud.Assignment, error)
	ListPermissionSets(ctx context.Context, actor audit.Actor) ([]cloud.PermissionSet, error)
}

// MetadataSource returns the current IdP metadata XML of the SAML
// application that signs an account's assertions (the account's AppID, or
// the instance's AWS application): the document the IAM SAML provider must
// hold.
type MetadataSource interface {
	IdPMetadata(ctx context.Context, actor audit.Actor, account cloud.Account) ([]byte, error)
}

// Record is what the server keeps of the last render of an account.
type Record struct {
	AccountID  string
	Format     string
	Digest     string // State.Digest()
	State      State
	RenderedAt time.Time
	RenderedBy string // actor name
}

// Store keeps the last render of each account.
type Store interface {
	// GetIAMRender returns the last render of an account, or an error
	// matching errs.ErrNotFound when it was never rendered.
	GetIAMRender(ctx context.Context, accountID string) (Record, error)
	WithIaCTx(ctx context.Context, fn func(Tx) error) error
}

// Tx records a render with its audit event.
type Tx interface {
	audit.Appender
	// PutIAMRender replaces the account's record.
	PutIAMRender(ctx context.Context, r Record) error
}

// Service renders accounts' IAM set-up and reports drift from the last
// render.
type Service struct {
	Model    Model
	Metadata MetadataSource
	Store    Store
	Now      func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Rendered is a rendered document.
type Rendered struct {
	Account     cloud.Account
	Format      string
	FileName    string
	ContentType string
	Body        []byte
	Digest      string
	// Recorded: the render became the account's baseline for Drift.
	Recorded bool
}

// Render renders the account's IAM set-up in format. An admin's render is
// recorded (with an audit event) as the account's last render, the
// baseline "aws check" compares with later; an auditor may render too, to
// read it, without moving that baseline.
func (s *Service) Render(ctx context.Context, actor audit.Actor, accountKey, format string) (Rendered, error) {
	if err := audit.RequireRole(actor, audit.RoleAdmin, audit.RoleAuditor); err != nil {
		return Rendered{}, err
	}
	f, err := ParseFormat(format)
	if err != nil {
		return Rendered{}, err
	}
	in, err := s.input(ctx, actor, accountKey)
	if err != nil {
		return Rendered{}, err
	}
	body, err := Render(in, f)
	if err != nil {
		return Rendered{}, err
	}
	st, err := Summarize(in)
	if err != nil {
		return Rendered{}, err
	}
	rec := Record{AccountID: in.Account.ID, Format: f, Digest: st.Digest(), State: st, RenderedAt: s.now(), RenderedBy: actor.Name}
	out := Rendered{Account: in.Account, Format: f, FileName: FileName(in.Account.ID, f), ContentType: ContentType(f),
		Body: body, Digest: rec.Digest}
	if audit.RequireRole(actor, audit.RoleAdmin) != nil {
		return out, nil
	}
	err = s.Store.WithIaCTx(ctx, func(tx Tx) error {
		if err := tx.PutIAMRender(ctx, rec); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, actor, "account.iam.render", "account", in.Account.ID, in.Account.Name,
			map[string]any{"format": f, "digest": rec.Digest, "roles": len(st.Roles)}))
	})
	if err != nil {
		return Rendered{}, err
	}
	out.Recorded = true
	return out, nil
}

// Drift compares an account's current model with its last render.
type Drift struct {
	AccountID   string `json:"accountId"`
	AccountName string `json:"accountName"`
	// InSync: the last render still describes the model.
	InSync bool `json:"inSync"`
	// Rendered: a render was recorded; RenderedAt, RenderedBy, Format and
	// RecordedDigest describe it.
	Rendered       bool       `json:"rendered"`
	RenderedAt     *time.Time `json:"renderedAt,omitempty"`
	RenderedBy     string     `json:"renderedBy,omitempty"`
	Format         string     `json:"format,omitempty"`
	RecordedDigest string     `json:"recordedDigest,omitempty"`
	CurrentDigest  string     `json:"currentDigest"`
	// Differences say what to re-apply, provider first, then by role.
	Differences []Difference `json:"differences"`
}

// DiffNotRendered is the Difference of an account never rendered.
const DiffNotRendered = "not-rendered"

// Drift reports how the account's current model differs from its last
// render.
func (s *Service) Drift(ctx context.Context, actor audit.Actor, accountKey string) (Drift, error) {
	if err := audit.RequireRole(actor, audit.RoleAdmin, audit.RoleAuditor); err != nil {
		return Drift{}, err
	}
	in, err := s.input(ctx, actor, accountKey)
	if err != nil {
		return Drift{}, err
	}
	return s.drift(ctx, in)
}

// DriftAll reports drift for every account, in account name order.
func (s *Service) DriftAll(ctx context.Context, actor audit.Actor) ([]Drift, error) {
	if err := audit.RequireRole(actor, audit.RoleAdmin, audit.RoleAuditor); err != nil {
		return nil, err
	}
	accounts, err := s.Model.ListAccounts(ctx, actor)
	if err != nil {
		return nil, err
	}
	sets, err := s.permissionSets(ctx, actor)
	if err != nil {
		return nil, err
	}
	out := []Drift{}
	for _, a := range accounts {
		in, err := s.inputFor(ctx, actor, a, sets)
		if err != nil {
			return nil, err
		}
		d, err := s.drift(ctx, in)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func (s *Service) drift(ctx context.Context, in Input) (Drift, error) {
	cur, err := Summarize(in)
	if err != nil {
		return Drift{}, err
	}
	d := Drift{AccountID: in.Account.ID, AccountName: in.Account.Name, CurrentDigest: cur.Digest(), Differences: []Difference{}}
	rec, err := s.Store.GetIAMRender(ctx, in.Account.ID)
	switch {
	case errors.Is(err, errs.ErrNotFound):
		d.Differences = append(d.Differences, Difference{Kind: DiffNotRendered,
			Detail: "never rendered: render the IAM set-up (idcenter aws render --account " + in.Account.ID + ") and apply it"})
		return d, nil
	case err != nil:
		return Drift{}, err
	}
	at := rec.RenderedAt
	d.Rendered, d.RenderedAt, d.RenderedBy, d.Format, d.RecordedDigest = true, &at, rec.RenderedBy, rec.Format, rec.Digest
	if rec.Digest != d.CurrentDigest {
		d.Differences = append(d.Differences, Compare(rec.State, cur)...)
	}
	d.InSync = len(d.Differences) == 0
	return d, nil
}

// input gathers what a render of the account needs.
func (s *Service) input(ctx context.Context, actor audit.Actor, accountKey string) (Input, error) {
	a, err := s.Model.GetAccount(ctx, actor, accountKey)
	if err != nil {
		return Input{}, err
	}
	sets, err := s.permissionSets(ctx, actor)
	if err != nil {
		return Input{}, err
	}
	return s.inputFor(ctx, actor, a, sets)
}

func (s *Service) permissionSets(ctx context.Context, actor audit.Actor) (map[string]cloud.PermissionSet, error) {
	all, err := s.Model.ListPermissionSets(ctx, actor)
	if err != nil {
		return nil, err
	}
	m := make(map[string]cloud.PermissionSet, len(all))
	for _, p := range all {
		m[p.ID] = p
	}
	return m, nil
}

func (s *Service) inputFor(ctx context.Context, actor audit.Actor, a cloud.Account, sets map[string]cloud.PermissionSet) (Input, error) {
	as, err := s.Model.ListAssignments(ctx, actor, a.ID)
	if err != nil {
		return Input{}, err
	}
	in := Input{Account: a}
	seen := map[string]bool{}
	for _, as := range as {
		p, ok := sets[as.PermissionSetID]
		if !ok || seen[p.ID] {
			continue // deleted meanwhile, or already in
		}
		seen[p.ID] = true
		in.PermissionSets = append(in.PermissionSets, p)
	}
	sort.Slice(in.PermissionSets, func(i, j int) bool { return in.PermissionSets[i].Name < in.PermissionSets[j].Name })
	if in.Metadata, err = s.Metadata.IdPMetadata(ctx, actor, a); err != nil {
		return Input{}, err
	}
	return in, nil
}
