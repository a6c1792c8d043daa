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

// visitorColumns are read from "visitors v" joined with visitorAddressJoin:
// the email status is that of the visitor's address in the workspace.
const visitorColumns = `v.id, v.workspace_id, v.name, v.email, COALESCE(ea.status, 'ok'), ea.source, ea.changed_at, ea.detail,
	v.online, v.left_at, v.last_active_at, v.created_at, v.email_source, v.user_id,
	v.locale, v.time_zone, v.referrer, v.browser, v.os, v.page_url, v.page_title, v.page_at, v.language, v.token_generation`

// visitorAddressJoin follows "visitors v" wherever visitorColumns are read.
const visitorAddressJoin = ` LEFT JOIN email_addresses ea ON ea.workspace_id = v.workspace_id AND ea.address = v.email_key`

type visitorScan struct {
	name, email  sql.NullString
	statusSource sql.NullString
	detail       sql.NullString
	changed      sql.NullInt64
	userID       sql.NullString
	online       int
	left, active sql.NullInt64
	created      int64
	emailSource  sql.NullString

	locale, timeZone, referrer, browser, os sql.NullString
	pageURL, pageTitle                      sql.NullString
	pageAt                                  sql.NullInt64
	language                                sql.NullString
}

// visitorColumnCount is the number of visitorColumns: the destinations
// appendDest adds.
const visitorColumnCount = 24

func (vs *visitorScan) dest(v *model.Visitor) []any {
	return vs.appendDest(make([]any, 0, visitorColumnCount), v)
}

// appendDest appends the scan destinations of visitorColumns to dest.
func (vs *visitorScan) appendDest(dest []any, v *model.Visitor) []any {
	return append(dest, &v.ID, &v.WorkspaceID, &vs.name, &vs.email, &v.EmailStatus, &vs.statusSource, &vs.changed, &vs.detail,
		&vs.online, &vs.left, &vs.active, &vs.created, &vs.emailSource, &vs.userID,
		&vs.locale, &vs.timeZone, &vs.referrer, &vs.browser, &vs.os, &vs.pageURL, &vs.pageTitle, &vs.pageAt, &vs.language, &v.TokenGeneration)
}

func (vs *visitorScan) fill(v *model.Visitor) {
	v.EmailStatusSource, v.EmailStatusDetail = vs.statusSource.String, vs.detail.String
	v.EmailStatusChangedAt = fromNullMicros(vs.changed)
	v.Name = nullString(vs.name)
	v.Email = nullString(vs.email)
	v.EmailSource = nullString(vs.emailSource)
	v.Online = vs.online != 0
	v.LeftAt = fromNullMicros(vs.left)
	v.LastActiveAt = fromNullMicros(vs.active)
	v.CreatedAt = fromMicros(vs.created)
	v.UserID = nullString(vs.userID)
	v.Locale, v.TimeZone, v.Referrer = nullString(vs.locale), nullString(vs.timeZone), nullString(vs.referrer)
	v.Browser, v.OS = nullString(vs.browser), nullString(vs.os)
	v.Page = nil
	if vs.pageURL.Valid && vs.pageAt.Valid {
		v.Page = &model.Page{URL: vs.pageURL.String, Title: vs.pageTitle.String, At: fromMicros(vs.pageAt.Int64)}
	}
	v.Language = vs.language.String
}

func scanVisitor(row interface{ Scan(...any) error }) (model.Visitor, error) {
	var (
		v  model.Visitor
		vs visitorScan
	)
	err := row.Scan(vs.dest(&v)...)
	if errors.Is(err, sql.ErrNoRows) {
		return v, ErrNotFound
	}
	if err != nil {
		return v, err
	}
	vs.fill(&v)
	return v, nil
}

// emailKey is the stored key of an optional address (visitors.email_key).
func emailKey(email *string) any {
	if email == nil || model.EmailKey(*email) == "" {
		return nil
	}
	return model.EmailKey(*email)
}

// CreateVisitor inserts a visitor with its context. Its email status is
// that of its address (v.EmailStatus is not stored). A visitor with a page
// has it in its pages too: run it in a transaction then (it writes two
// tables).
func (s *Store) CreateVisitor(ctx context.Context, v model.Visitor) error {
	var pageURL, pageTitle, pageAt any
	if v.Page != nil {
		pageURL, pageTitle, pageAt = v.Page.URL, v.Page.Title, micros(v.Page.At)
	}
	_, err := s.exec(ctx, `INSERT INTO visitors (id, workspace_id, name, email, email_key, email_source, online, left_at, last_active_at, created_at, language,
		locale, time_zone, referrer, browser, os, page_url, page_title, page_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ID, v.WorkspaceID, v.Name, v.Email, emailKey(v.Email), v.EmailSource, boolInt(v.Online), nullMicros(v.LeftAt), nullMicros(v.LastActiveAt), micros(v.CreatedAt), nullIfEmpty(v.Language),
		v.Locale, v.TimeZone, v.Referrer, v.Browser, v.OS, pageURL, pageTitle, pageAt)
	if err != nil {
		return fmt.Errorf("create visitor: %w", err)
	}
	if v.Page != nil {
		if err := s.insertPage(ctx, v.WorkspaceID, v.ID, *v.Page); err != nil {
			return fmt.Errorf("create visitor: %w", err)
		}
	}
	return nil
}

// Visitor returns a visitor of a workspace.
func (s *Store) Visitor(ctx context.Context, workspaceID, id string) (model.Visitor, error) {
	v, err := scanVisitor(s.queryRow(ctx, `SELECT `+visitorColumns+` FROM visitors v`+visitorAddressJoin+` WHERE v.id = ? AND v.workspace_id = ?`, id, workspaceID))
	if err != nil {
		return v, fmt.Errorf("get visitor %s: %w", id, err)
	}
	return v, nil
}

// VisitorByID returns a visitor whatever its workspace (for widget tokens,
// which name the visitor and are checked by signature).
func (s *Store) VisitorByID(ctx context.Context, id string) (model.Visitor, error) {
	v, err := scanVisitor(s.queryRow(ctx, `SELECT `+visitorColumns+` FROM visitors v`+visitorAddressJoin+` WHERE v.id = ?`, id))
	if err != nil {
		return v, fmt.Errorf("get visitor %s: %w", id, err)
	}
	return v, nil
}

// VisitorWithLatestConversation is VisitorByID with the id of the
// visitor's newest conversation on channel ("" when they have none), read
// in the same query: what a returning widget's session needs.
func (s *Store) VisitorWithLatestConversation(ctx context.Context, id, channel string) (model.Visitor, string, error) {
	var conv sql.NullString
	v, err := scanVisitor(withExtra{s.queryRow(ctx, `SELECT `+visitorColumns+`,
		(SELECT c.id FROM conversations c`+newestConversation+`)
		FROM visitors v`+visitorAddressJoin+` WHERE v.id = ?`, id, channel, id), []any{&conv}})
	if err != nil {
		return v, "", fmt.Errorf("get visitor %s: %w", id, err)
	}
	return v, conv.String, nil
}

// VisitorKeyByID returns a visitor's key whatever its workspace (for
// widget connections, which need nothing else of it).
func (s *Store) VisitorKeyByID(ctx context.Context, id string) (model.VisitorKey, error) {
	var (
		k      model.VisitorKey
		active sql.NullInt64
	)
	err := s.queryRow(ctx, `SELECT id, workspace_id, token_generation, last_active_at FROM visitors WHERE id = ?`, id).Scan(&k.ID, &k.WorkspaceID, &k.TokenGeneration, &active)
	k.LastActiveAt = fromNullMicros(active)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return k, fmt.Errorf("get visitor %s: %w", id, err)
	}
	return k, nil
}

// VisitorByUserID returns the visitor a workspace's site identified as
// userID.
func (s *Store) VisitorByUserID(ctx context.Context, workspaceID, userID string) (model.Visitor, error) {
	v, err := scanVisitor(s.queryRow(ctx, `SELECT `+visitorColumns+` FROM visitors v`+visitorAddressJoin+` WHERE v.workspace_id = ? AND v.user_id = ?`, workspaceID, userID))
	if err != nil {
		return v, fmt.Errorf("get visitor by user id: %w", err)
	}
	return v, nil
}

// SetVisitorUserID makes a visitor the site's user userID. Another visitor
// of the workspace with that user id already: ErrDuplicate.
func (s *Store) SetVisitorUserID(ctx context.Context, id, userID string) error {
	if _, err := s.exec(ctx, `UPDATE visitors SET user_id = ? WHERE id = ?`, userID, id); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("set user id of visitor %s: %w", id, ErrDuplicate)
		}
		return fmt.Errorf("set user id of visitor %s: %w", id, err)
	}
	return nil
}

// UpdateVisitorContact stores a visitor's name, email and how the email
// was learned (the same address keeps its source). The visitor's email
// status follows: it is that of the (new) address.
func (s *Store) UpdateVisitorContact(ctx context.Context, v model.Visitor) error {
	_, err := s.exec(ctx, `UPDATE visitors SET name = ?,
		email_source = CASE WHEN CAST(? AS TEXT) IS NULL THEN NULL WHEN email IS NULL OR LOWER(email) <> LOWER(?) THEN CAST(? AS TEXT) ELSE email_source END,
		email = ?, email_key = ?
		WHERE id = ? AND workspace_id = ?`,
		v.Name, v.Email, v.Email, v.EmailSource, v.Email, emailKey(v.Email), v.ID, v.WorkspaceID)
	if err != nil {
		return fmt.Errorf("update visitor %s: %w", v.ID, err)
	}
	return s.syncIdentified(ctx, v.ID)
}

// SetVisitorEmailIfNone gives a visitor who has no email yet the address
// found in their conversation, and reports whether it did (false: the
// visitor got an email meanwhile).
func (s *Store) SetVisitorEmailIfNone(ctx context.Context, id, email, source string) (bool, error) {
	res, err := s.exec(ctx, `UPDATE visitors SET email = ?, email_key = ?, email_source = ?
		WHERE id = ? AND (email IS NULL OR email = '')`, email, emailKey(&email), source, id)
	if err != nil {
		return false, fmt.Errorf("set email of visitor %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("set email of visitor %s: %w", id, err)
	}
	if n != 1 {
		return false, nil
	}
	return true, s.syncIdentified(ctx, id)
}

// visitorOwnColumns are visitorColumns read from "visitors" alone (a
// RETURNING clause names its table, not an alias): the email status is
// that of a visitor without an address ("ok", no source).
var visitorOwnColumns = strings.ReplaceAll(strings.Replace(visitorColumns,
	`COALESCE(ea.status, 'ok'), ea.source, ea.changed_at, ea.detail`, `'ok', NULL, NULL, NULL`, 1), "v.", "visitors.")

// SetVisitorOnline marks a visitor online and active at `at` (last_active_at
// never moves backwards) and returns the visitor as written, in the same
// statement, with whether they are returning: MarkReturned at `at` would
// mark one of their conversations (an email was sent in it by then, and
// they had not come back since). The email status of a visitor with an
// address is its address's: such a visitor is read again for it.
func (s *Store) SetVisitorOnline(ctx context.Context, id string, at time.Time) (model.Visitor, bool, error) {
	if s.commits != nil { // a write: the writer's
		o, err := alone(ctx, s.commits, func(tx *Store) (online, error) {
			v, returning, err := tx.SetVisitorOnline(ctx, id, at)
			return online{v, returning}, err
		})
		return o.v, o.returning, err
	}
	var returning bool
	v, err := scanVisitor(withExtra{s.queryRow(ctx, `UPDATE visitors SET online = 1,
		last_active_at = CASE WHEN last_active_at IS NULL OR last_active_at < ? THEN ? ELSE last_active_at END
		WHERE id = ?
		RETURNING `+visitorOwnColumns+`, EXISTS (SELECT 1 FROM conversations c WHERE c.visitor_id = visitors.id AND `+awaitingReturn("c")+`)`,
		micros(at), micros(at), id, micros(at)), []any{&returning}})
	if err == nil && v.Email != nil {
		v, err = s.VisitorByID(ctx, id)
	}
	if err != nil {
		return v, false, fmt.Errorf("set visitor %s online: %w", id, err)
	}
	return v, returning, nil
}

// online is what SetVisitorOnline returns.
type online struct {
	v         model.Visitor
	returning bool
}

// SetVisitorLeft marks a visitor offline, gone since leftAt (left_at never
// moves backwards: a late, older leave keeps the newer one).
func (s *Store) SetVisitorLeft(ctx context.Context, id string, leftAt time.Time) error {
	if _, err := s.exec(ctx, `UPDATE visitors SET online = 0,
		left_at = CASE WHEN left_at IS NULL OR left_at < ? THEN ? ELSE left_at END
		WHERE id = ?`, micros(leftAt), micros(leftAt), id); err != nil {
		return fmt.Errorf("set visitor %s left: %w", id, err)
	}
	return nil
}

// TouchVisitor moves a visitor's last_active_at forward.
func (s *Store) TouchVisitor(ctx context.Context, id string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE visitors SET last_active_at = ? WHERE id = ? AND (last_active_at IS NULL OR last_active_at < ?)`, micros(at), id, micros(at)); err != nil {
		return fmt.Errorf("touch visitor %s: %w", id, err)
	}
	return nil
}

// TouchedVisitor is v as TouchVisitor(v.ID, at) leaves it.
func TouchedVisitor(v model.Visitor, at time.Time) model.Visitor {
	if t := fromMicros(micros(at)); v.LastActiveAt == nil || v.LastActiveAt.Before(t) {
		v.LastActiveAt = &t
	}
	return v
}

// NextVisitorTokenGeneration ends the visitor's credential: it increments
// the generation every visitor token and continue link of the visitor must
// carry, and returns the new one.
func (s *Store) NextVisitorTokenGeneration(ctx context.Context, workspaceID, id string) (int, error) {
	if s.commits != nil { // a write: the writer's
		return alone(ctx, s.commits, func(tx *Store) (int, error) { return tx.NextVisitorTokenGeneration(ctx, workspaceID, id) })
	}
	var gen int
	err := s.queryRow(ctx, `UPDATE visitors SET token_generation = token_generation + 1 WHERE id = ? AND workspace_id = ? RETURNING token_generation`, id, workspaceID).Scan(&gen)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("reset the token of visitor %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("reset the token of visitor %s: %w", id, err)
	}
	return gen, nil
}

// LastEmailToVisitor returns when the newest email to a visitor was queued;
// ErrNotFound when none was.
func (s *Store) LastEmailToVisitor(ctx context.Context, visitorID string) (time.Time, error) {
	var last sql.NullInt64
	if err := s.queryRow(ctx, `SELECT MAX(created_at) FROM emails WHERE visitor_id = ?`, visitorID).Scan(&last); err != nil {
		return time.Time{}, fmt.Errorf("last email to visitor %s: %w", visitorID, err)
	}
	if !last.Valid {
		return time.Time{}, fmt.Errorf("last email to visitor %s: %w", visitorID, ErrNotFound)
	}
	return fromMicros(last.Int64), nil
}

// OnlineVisitorIDs lists visitors marked online (used at start-up, when no
// connection survived the restart).
func (s *Store) OnlineVisitorIDs(ctx context.Context) ([]string, error) {
	ids, err := s.ids(ctx, `SELECT id FROM visitors WHERE online = 1`)
	if err != nil {
		return nil, fmt.Errorf("list online visitors: %w", err)
	}
	return ids, nil
}

// DeleteSilentVisitors deletes up to limit visitors made before cutoff and
// not active since who never wrote: no conversation, no email or name, no
// channel identity, no open connection on any node. It returns how many it
// deleted.
func (s *Store) DeleteSilentVisitors(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	res, err := s.exec(ctx, `DELETE FROM visitors WHERE id IN (
		SELECT v.id FROM visitors v
		WHERE v.created_at < ? AND v.email IS NULL AND v.external_id IS NULL AND v.name IS NULL
		  AND v.online = 0 AND (v.last_active_at IS NULL OR v.last_active_at < ?)
		  AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.visitor_id = v.id)
		  AND NOT EXISTS (SELECT 1 FROM presence p WHERE p.kind = 'visitor' AND p.subject_id = v.id)
		LIMIT ?)`, micros(cutoff), micros(cutoff), limit)
	if err != nil {
		return 0, fmt.Errorf("delete silent visitors: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete silent visitors: %w", err)
	}
	return int(n), nil
}

// SetVisitorLanguage records the language the widget speaks to a visitor
// (the emails written to them later are in it).
func (s *Store) SetVisitorLanguage(ctx context.Context, visitorID, language string) error {
	if _, err := s.exec(ctx, `UPDATE visitors SET language = ? WHERE id = ?`, language, visitorID); err != nil {
		return fmt.Errorf("set language of visitor %s: %w", visitorID, err)
	}
	return nil
}
