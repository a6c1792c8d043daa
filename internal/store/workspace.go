package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/model"
)

const workspaceColumns = `id, name, site_key, time_zone, email_forwarding, offline_requires_form, online_form, agents_unavailable_since, created_at, identity_verification, retention_days, typing_preview,
	widget_color, widget_position, widget_greeting, widget_away_message, default_locale, auto_assign, auto_assign_limit`

// workspaceScan holds a workspace row's scan destinations, for reads that
// scan it beside other columns (MessageTarget).
type workspaceScan struct {
	w                                 model.Workspace
	offlineForm, identity, prev, auto int
	unavailable                       sql.NullInt64
	created                           int64
}

// dest is the destinations of workspaceColumns, then extra.
func (t *workspaceScan) dest(extra ...any) []any {
	w := &t.w
	return append(extra[:len(extra):len(extra)], &w.ID, &w.Name, &w.SiteKey, &w.TimeZone, &w.Settings.EmailForwarding,
		&t.offlineForm, &w.Settings.ContactForm.Online, &t.unavailable, &t.created, &t.identity, &w.Settings.RetentionDays, &t.prev,
		&w.Settings.Widget.Color, &w.Settings.Widget.Position, &w.Settings.Widget.Greeting, &w.Settings.Widget.AwayMessage,
		&w.Settings.DefaultLocale, &t.auto, &w.Settings.AutoAssignLimit)
}

// fill finishes the workspace once the row is scanned.
func (t *workspaceScan) fill() model.Workspace {
	w := t.w
	w.Settings.ContactForm.OfflineRequiresForm = t.offlineForm != 0
	w.Settings.IdentityVerification = t.identity != 0
	w.Settings.TypingPreview = t.prev != 0
	w.Settings.AutoAssign = t.auto != 0
	w.AgentsUnavailableSince = fromNullMicros(t.unavailable)
	w.CreatedAt = fromMicros(t.created)
	return w
}

func scanWorkspace(row interface{ Scan(...any) error }) (model.Workspace, error) {
	var t workspaceScan
	err := row.Scan(t.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return t.w, ErrNotFound
	}
	if err != nil {
		return t.w, err
	}
	return t.fill(), nil
}

// qualified prefixes each column of a list with a table's alias.
func qualified(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// CreateWorkspace inserts a workspace.
func (s *Store) CreateWorkspace(ctx context.Context, w model.Workspace) error {
	def := model.DefaultSettings()
	if w.Settings.Widget.Color == "" {
		w.Settings.Widget.Color = def.Widget.Color
	}
	if w.Settings.Widget.Position == "" {
		w.Settings.Widget.Position = def.Widget.Position
	}
	if w.Settings.DefaultLocale == "" {
		w.Settings.DefaultLocale = def.DefaultLocale
	}
	_, err := s.exec(ctx, `INSERT INTO workspaces (`+workspaceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		w.ID, w.Name, w.SiteKey, w.TimeZone, w.Settings.EmailForwarding,
		boolInt(w.Settings.ContactForm.OfflineRequiresForm), w.Settings.ContactForm.Online,
		nullMicros(w.AgentsUnavailableSince), micros(w.CreatedAt), boolInt(w.Settings.IdentityVerification), w.Settings.RetentionDays, boolInt(w.Settings.TypingPreview),
		w.Settings.Widget.Color, w.Settings.Widget.Position, w.Settings.Widget.Greeting, w.Settings.Widget.AwayMessage, w.Settings.DefaultLocale,
		boolInt(w.Settings.AutoAssign), w.Settings.AutoAssignLimit)
	if err != nil {
		return fmt.Errorf("create workspace: %w", err)
	}
	return nil
}

// Workspace returns a workspace by id.
func (s *Store) Workspace(ctx context.Context, id string) (model.Workspace, error) {
	w, err := scanWorkspace(s.queryRow(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE id = ?`, id))
	if err != nil {
		return w, fmt.Errorf("get workspace %s: %w", id, err)
	}
	return w, nil
}

// SiteWorkspace returns the workspace a widget's site key belongs to, with
// whether any of its agents is available (online or invisible), read in
// the same query: what a widget's session needs.
func (s *Store) SiteWorkspace(ctx context.Context, key string) (model.Workspace, bool, error) {
	w, avail, err := s.workspaceAvailable(ctx, "site_key", key)
	if err != nil {
		return w, false, fmt.Errorf("get workspace by site key: %w", err)
	}
	return w, avail, nil
}

// WorkspaceAvailable is Workspace with whether any of its agents is
// available, read in the same query: what a visitor's message needs.
func (s *Store) WorkspaceAvailable(ctx context.Context, id string) (model.Workspace, bool, error) {
	w, avail, err := s.workspaceAvailable(ctx, "id", id)
	if err != nil {
		return w, false, fmt.Errorf("get workspace %s: %w", id, err)
	}
	return w, avail, nil
}

// workspaceAvailable reads the workspace whose column (a name written in
// this file, never input) is value, and whether any of its agents is
// available (online or invisible).
func (s *Store) workspaceAvailable(ctx context.Context, column, value string) (model.Workspace, bool, error) {
	var avail int
	w, err := scanWorkspace(withExtra{s.queryRow(ctx, `SELECT `+workspaceColumns+`,
		CASE WHEN EXISTS (SELECT 1 FROM agents a WHERE a.workspace_id = workspaces.id AND a.status IN ('online', 'invisible')) THEN 1 ELSE 0 END
		FROM workspaces WHERE `+column+` = ?`, value), []any{&avail}})
	return w, avail != 0, err
}

// WorkspaceByName returns a workspace by its name (the first created, when
// several share it).
func (s *Store) WorkspaceByName(ctx context.Context, name string) (model.Workspace, error) {
	w, err := scanWorkspace(s.queryRow(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE name = ? ORDER BY created_at LIMIT 1`, name))
	if err != nil {
		return w, fmt.Errorf("get workspace %q: %w", name, err)
	}
	return w, nil
}

// Workspaces lists every workspace, oldest first.
func (s *Store) Workspaces(ctx context.Context) ([]model.Workspace, error) {
	rows, err := s.query(ctx, `SELECT `+workspaceColumns+` FROM workspaces ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	defer rows.Close()
	var out []model.Workspace
	for rows.Next() {
		w, err := scanWorkspace(rows)
		if err != nil {
			return nil, fmt.Errorf("list workspaces: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// UpdateSettings stores a workspace's settings.
func (s *Store) UpdateSettings(ctx context.Context, workspaceID string, st model.Settings) error {
	res, err := s.exec(ctx, `UPDATE workspaces SET email_forwarding = ?, offline_requires_form = ?, online_form = ?,
		identity_verification = ?, retention_days = ?, typing_preview = ?, widget_color = ?, widget_position = ?, widget_greeting = ?,
		widget_away_message = ?, default_locale = ?, auto_assign = ?, auto_assign_limit = ? WHERE id = ?`,
		st.EmailForwarding, boolInt(st.ContactForm.OfflineRequiresForm), st.ContactForm.Online,
		boolInt(st.IdentityVerification), st.RetentionDays, boolInt(st.TypingPreview), st.Widget.Color, st.Widget.Position, st.Widget.Greeting,
		st.Widget.AwayMessage, st.DefaultLocale, boolInt(st.AutoAssign), st.AutoAssignLimit, workspaceID)
	if err != nil {
		return fmt.Errorf("update settings of %s: %w", workspaceID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update settings of %s: %w", workspaceID, ErrNotFound)
	}
	return nil
}

// SetAgentsUnavailableSince records when agent availability last turned
// false (nil when agents are available).
func (s *Store) SetAgentsUnavailableSince(ctx context.Context, workspaceID string, since *time.Time) error {
	if _, err := s.exec(ctx, `UPDATE workspaces SET agents_unavailable_since = ? WHERE id = ?`, nullMicros(since), workspaceID); err != nil {
		return fmt.Errorf("set agents availability of %s: %w", workspaceID, err)
	}
	return nil
}

// RenameWorkspace changes a workspace's name.
func (s *Store) RenameWorkspace(ctx context.Context, workspaceID, name string) error {
	res, err := s.exec(ctx, `UPDATE workspaces SET name = ? WHERE id = ?`, name, workspaceID)
	if err != nil {
		return fmt.Errorf("rename workspace %s: %w", workspaceID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("rename workspace %s: %w", workspaceID, ErrNotFound)
	}
	return nil
}

// SetTimeZone changes a workspace's time zone (an IANA name).
func (s *Store) SetTimeZone(ctx context.Context, workspaceID, tz string) error {
	if _, err := s.exec(ctx, `UPDATE workspaces SET time_zone = ? WHERE id = ?`, tz, workspaceID); err != nil {
		return fmt.Errorf("set time zone of %s: %w", workspaceID, err)
	}
	return nil
}

// LockWorkspace locks a workspace's row until the transaction ends, so that
// rules spanning its agents (one admin at least) hold under concurrent
// changes. On SQLite every write transaction is serialised already.
func (s *Store) LockWorkspace(ctx context.Context, workspaceID string) error {
	if _, err := s.exec(ctx, `UPDATE workspaces SET name = name WHERE id = ?`, workspaceID); err != nil {
		return fmt.Errorf("lock workspace %s: %w", workspaceID, err)
	}
	return nil
}

// IdentitySecret returns a workspace's sealed identity secret ("" when it
// has none yet).
func (s *Store) IdentitySecret(ctx context.Context, workspaceID string) (string, error) {
	var sealed sql.NullString
	err := s.queryRow(ctx, `SELECT identity_secret_enc FROM workspaces WHERE id = ?`, workspaceID).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("identity secret of %s: %w", workspaceID, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("identity secret of %s: %w", workspaceID, err)
	}
	return sealed.String, nil
}

// SetIdentitySecret stores a workspace's sealed identity secret. With
// ifNone it stores it only when the workspace has none, so that two first
// reads at once agree on one secret; it reports whether it stored it.
func (s *Store) SetIdentitySecret(ctx context.Context, workspaceID, sealed string, ifNone bool) (bool, error) {
	q := `UPDATE workspaces SET identity_secret_enc = ? WHERE id = ?`
	if ifNone {
		q += ` AND identity_secret_enc IS NULL`
	}
	res, err := s.exec(ctx, q, sealed, workspaceID)
	if err != nil {
		return false, fmt.Errorf("set identity secret of %s: %w", workspaceID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
