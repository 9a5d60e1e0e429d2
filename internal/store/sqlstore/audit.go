package sqlstore

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
)

// AppendAudit appends an event. It runs inside the caller's transaction, so
// the event commits or rolls back with the change it records.
func (c *conn) AppendAudit(ctx context.Context, e audit.Event) error {
	if e.ID == "" {
		e.ID = uuid.Must(uuid.NewV7()).String()
	}
	if e.Time.IsZero() {
		e.Time = timeNow()
	}
	summary := "{}"
	if len(e.Summary) > 0 {
		b, err := json.Marshal(e.Summary)
		if err != nil {
			return err
		}
		summary = string(b)
	}
	_, err := c.q.ExecContext(ctx, `INSERT INTO audit_events (id, at, actor_type, actor_id, actor_name, action,
		target_type, target_id, target_name, summary, request_id, client_ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		e.ID, micros(e.Time), e.Actor.Type, e.Actor.ID, e.Actor.Name, e.Action,
		e.TargetType, e.TargetID, e.TargetName, summary, e.RequestID, e.ClientIP)
	return c.wrap(err)
}

// ListAudit lists events newest first.
func (c *conn) ListAudit(ctx context.Context, f audit.Filter) ([]audit.Event, string, error) {
	f.Limit = pageLimit(f.Limit)
	var a args
	var where []string
	if !f.Since.IsZero() {
		where = append(where, "at >= "+a.add(micros(f.Since)))
	}
	if !f.Until.IsZero() {
		where = append(where, "at < "+a.add(micros(f.Until)))
	}
	if f.ActorID != "" {
		p := a.add(f.ActorID)
		where = append(where, "(actor_id = "+p+" OR actor_name = "+p+")")
	}
	if f.Action != "" {
		if prefix, ok := strings.CutSuffix(f.Action, "*"); ok {
			where = append(where, "action LIKE "+a.add(likePrefix(prefix))+` ESCAPE '\'`)
		} else if strings.HasSuffix(f.Action, ".") {
			where = append(where, "action LIKE "+a.add(likePrefix(f.Action))+` ESCAPE '\'`)
		} else {
			where = append(where, "action = "+a.add(f.Action))
		}
	}
	if f.Target != "" {
		p := a.add(f.Target)
		where = append(where, "(target_id = "+p+" OR target_name = "+p+")")
	}
	if f.Cursor != "" {
		key, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		seq, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			return nil, "", errs.Invalidf("cursor", "is not a cursor this server issued")
		}
		where = append(where, "seq < "+a.add(seq))
	}
	q := `SELECT seq, id, at, actor_type, actor_id, actor_name, action, target_type, target_id, target_name,
		summary, request_id, client_ip FROM audit_events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq DESC LIMIT " + a.add(f.Limit+1)
	rows, err := c.q.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, "", c.wrap(err)
	}
	defer rows.Close()
	var out []audit.Event
	var seqs []int64
	for rows.Next() {
		var e audit.Event
		var seq, at int64
		var summary string
		if err := rows.Scan(&seq, &e.ID, &at, &e.Actor.Type, &e.Actor.ID, &e.Actor.Name, &e.Action, &e.TargetType,
			&e.TargetID, &e.TargetName, &summary, &e.RequestID, &e.ClientIP); err != nil {
			return nil, "", c.wrap(err)
		}
		e.Time = fromMicros(at)
		if summary != "{}" {
			_ = json.Unmarshal([]byte(summary), &e.Summary)
		}
		out, seqs = append(out, e), append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", c.wrap(err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = encodeCursor(strconv.FormatInt(seqs[f.Limit-1], 10))
	}
	return out, next, nil
}
