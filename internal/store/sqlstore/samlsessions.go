package sqlstore

import (
	"context"
	"time"
)

// SAMLSessionApp is one application a browser session signed in to over
// SAML, with the Name ID it was given (single logout, internal/saml/idp).
type SAMLSessionApp struct {
	SessionID    string
	AppID        string
	NameID       string
	NameIDFormat string
	Created      time.Time
}

// RecordSAMLSessionApp records (or refreshes) that a session signed in to an
// application with the given Name ID.
func (s *Store) RecordSAMLSessionApp(ctx context.Context, x SAMLSessionApp) error {
	_, err := s.DB().ExecContext(ctx, `INSERT INTO saml_session_apps (session_id, app_id, name_id, name_id_format, created_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (session_id, app_id) DO UPDATE SET name_id = excluded.name_id, name_id_format = excluded.name_id_format`,
		x.SessionID, x.AppID, x.NameID, x.NameIDFormat, x.Created.UTC().UnixMicro())
	return err
}

// ListSAMLSessionApps returns the applications a session signed in to,
// oldest first.
func (s *Store) ListSAMLSessionApps(ctx context.Context, sessionID string) ([]SAMLSessionApp, error) {
	rows, err := s.DB().QueryContext(ctx, `SELECT session_id, app_id, name_id, name_id_format, created_at
		FROM saml_session_apps WHERE session_id = $1 ORDER BY created_at, app_id`, sessionID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SAMLSessionApp
	for rows.Next() {
		var x SAMLSessionApp
		var created int64
		if err := rows.Scan(&x.SessionID, &x.AppID, &x.NameID, &x.NameIDFormat, &created); err != nil {
			return nil, err
		}
		x.Created = time.UnixMicro(created).UTC()
		out = append(out, x)
	}
	return out, rows.Err()
}
