package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// PagesKept is how many of a visitor's pages are kept: adding one more
// removes the oldest.
const PagesKept = 50

// ContextUpdate is what a widget's session tells about its visitor; a nil
// field leaves the stored value as it is.
type ContextUpdate struct {
	Locale, TimeZone, Referrer, Browser, OS *string
}

// UpdateVisitorContext stores the fields of u that are set.
func (s *Store) UpdateVisitorContext(ctx context.Context, visitorID string, u ContextUpdate) error {
	if u == (ContextUpdate{}) {
		return nil
	}
	if _, err := s.exec(ctx, `UPDATE visitors SET locale = COALESCE(?, locale), time_zone = COALESCE(?, time_zone),
		referrer = COALESCE(?, referrer), browser = COALESCE(?, browser), os = COALESCE(?, os) WHERE id = ?`,
		u.Locale, u.TimeZone, u.Referrer, u.Browser, u.OS, visitorID); err != nil {
		return fmt.Errorf("update context of visitor %s: %w", visitorID, err)
	}
	return nil
}

// AddVisitorPage makes p the visitor's current page and adds it to their
// pages, keeping the last PagesKept, and reports whether anything changed.
// The page the visitor is on already (same address and title: a reload, a
// reconnection) changes nothing; the same address with a new title (a
// single-page site sets it after navigating) renames the current page
// instead of adding one. Run it in a transaction: it writes two tables.
func (s *Store) AddVisitorPage(ctx context.Context, workspaceID, visitorID string, p model.Page) (bool, error) {
	var curURL, curTitle sql.NullString
	err := s.queryRow(ctx, `SELECT page_url, page_title FROM visitors WHERE id = ? AND workspace_id = ?`, visitorID, workspaceID).Scan(&curURL, &curTitle)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("add page of visitor %s: %w", visitorID, ErrNotFound)
	}
	if err != nil {
		return false, fmt.Errorf("add page of visitor %s: %w", visitorID, err)
	}
	sameURL := curURL.Valid && curURL.String == p.URL
	if sameURL && curTitle.String == p.Title {
		return false, nil
	}
	if sameURL {
		if _, err := s.exec(ctx, `UPDATE visitors SET page_title = ? WHERE id = ?`, p.Title, visitorID); err != nil {
			return false, fmt.Errorf("rename page of visitor %s: %w", visitorID, err)
		}
		if _, err := s.exec(ctx, `UPDATE visitor_pages SET title = ? WHERE id = (
			SELECT id FROM visitor_pages WHERE visitor_id = ? ORDER BY at DESC, id DESC LIMIT 1) AND url = ?`, p.Title, visitorID, p.URL); err != nil {
			return false, fmt.Errorf("rename page of visitor %s: %w", visitorID, err)
		}
		return true, nil
	}
	if _, err := s.exec(ctx, `UPDATE visitors SET page_url = ?, page_title = ?, page_at = ? WHERE id = ?`,
		p.URL, p.Title, micros(p.At), visitorID); err != nil {
		return false, fmt.Errorf("set page of visitor %s: %w", visitorID, err)
	}
	if err := s.insertPage(ctx, workspaceID, visitorID, p); err != nil {
		return false, err
	}
	if _, err := s.exec(ctx, `DELETE FROM visitor_pages WHERE visitor_id = ? AND id NOT IN (
		SELECT id FROM visitor_pages WHERE visitor_id = ? ORDER BY at DESC, id DESC LIMIT ?)`, visitorID, visitorID, PagesKept); err != nil {
		return false, fmt.Errorf("prune pages of visitor %s: %w", visitorID, err)
	}
	return true, nil
}

// insertPage adds p to the visitor's pages.
func (s *Store) insertPage(ctx context.Context, workspaceID, visitorID string, p model.Page) error {
	if _, err := s.exec(ctx, `INSERT INTO visitor_pages (id, workspace_id, visitor_id, url, title, at) VALUES (?, ?, ?, ?, ?, ?)`,
		model.NewID(), workspaceID, visitorID, p.URL, p.Title, micros(p.At)); err != nil {
		return fmt.Errorf("add page of visitor %s: %w", visitorID, err)
	}
	return nil
}

// VisitorPages lists a visitor's kept pages, newest first.
func (s *Store) VisitorPages(ctx context.Context, workspaceID, visitorID string) ([]model.Page, error) {
	rows, err := s.query(ctx, `SELECT url, title, at FROM visitor_pages WHERE visitor_id = ? AND workspace_id = ?
		ORDER BY at DESC, id DESC LIMIT ?`, visitorID, workspaceID, PagesKept)
	if err != nil {
		return nil, fmt.Errorf("list pages of visitor %s: %w", visitorID, err)
	}
	defer rows.Close()
	out := []model.Page{}
	for rows.Next() {
		var (
			p  model.Page
			at int64
		)
		if err := rows.Scan(&p.URL, &p.Title, &at); err != nil {
			return nil, fmt.Errorf("list pages of visitor %s: %w", visitorID, err)
		}
		p.At = fromMicros(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeleteExpiredPages removes, in workspaces with a retention period, the
// pages visited longer ago than it, as of now, and returns how many. A
// visitor's current page is kept with the visitor.
func (s *Store) DeleteExpiredPages(ctx context.Context, now time.Time) (int, error) {
	res, err := s.exec(ctx, `DELETE FROM visitor_pages WHERE id IN (
		SELECT p.id FROM visitor_pages p JOIN workspaces w ON w.id = p.workspace_id
		WHERE w.retention_days > 0 AND p.at < ? - w.retention_days * 86400000000)`, micros(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired pages: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// VisitorConversations lists up to limit conversations of a visitor of a
// workspace, the latest activity first.
func (s *Store) VisitorConversations(ctx context.Context, workspaceID, visitorID string, limit int) ([]model.Conversation, error) {
	rows, err := s.query(ctx, conversationSelect+` WHERE c.visitor_id = ? AND c.workspace_id = ? ORDER BY c.last_message_at DESC, c.id DESC LIMIT ?`,
		visitorID, workspaceID, limit)
	if err != nil {
		return nil, fmt.Errorf("list conversations of visitor %s: %w", visitorID, err)
	}
	defer rows.Close()
	var out []model.Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, fmt.Errorf("list conversations of visitor %s: %w", visitorID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
