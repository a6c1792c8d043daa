package chat

import (
	"context"
	"errors"
	"regexp"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// CodeInvalidShortcut refuses a canned reply's shortcut.
const CodeInvalidShortcut = "invalid_shortcut"

var shortcutPattern = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// CannedPatch changes a canned reply; a field left out stays.
type CannedPatch struct {
	Shortcut *string `json:"shortcut"`
	Body     *string `json:"body"`
}

// CannedReplies lists the workspace's canned replies, by shortcut. Every
// agent sees them all.
func (s *Service) CannedReplies(ctx context.Context, a model.Agent) ([]model.CannedReply, error) {
	return s.db.CannedReplies(ctx, a.WorkspaceID)
}

// CreateCanned adds a canned reply for the whole workspace. Any agent may:
// they own it, and an admin may change anyone's.
func (s *Service) CreateCanned(ctx context.Context, a model.Agent, shortcut, body string) (model.CannedReply, error) {
	c := model.CannedReply{ID: model.NewID(), WorkspaceID: a.WorkspaceID, CreatedBy: &a.ID, CreatedAt: s.now()}
	c.UpdatedAt = c.CreatedAt
	if err := setCanned(&c, &shortcut, &body); err != nil {
		return c, err
	}
	if err := s.db.CreateCanned(ctx, c); err != nil {
		return c, cannedError(err, c.Shortcut)
	}
	return c, nil
}

// UpdateCanned changes a canned reply the agent owns (or any, for an admin).
func (s *Service) UpdateCanned(ctx context.Context, a model.Agent, id string, p CannedPatch) (model.CannedReply, error) {
	c, err := s.ownCanned(ctx, a, id)
	if err != nil {
		return c, err
	}
	if err := setCanned(&c, p.Shortcut, p.Body); err != nil {
		return c, err
	}
	c.UpdatedAt = s.now()
	if err := s.db.UpdateCanned(ctx, c); err != nil {
		return c, cannedError(err, c.Shortcut)
	}
	return c, nil
}

// DeleteCanned deletes a canned reply the agent owns (or any, for an admin).
func (s *Service) DeleteCanned(ctx context.Context, a model.Agent, id string) error {
	if _, err := s.ownCanned(ctx, a, id); err != nil {
		return err
	}
	return notFound(s.db.DeleteCanned(ctx, a.WorkspaceID, id), "canned reply")
}

func (s *Service) ownCanned(ctx context.Context, a model.Agent, id string) (model.CannedReply, error) {
	c, err := s.db.Canned(ctx, a.WorkspaceID, id)
	if err != nil {
		return c, notFound(err, "canned reply")
	}
	if !MayEditCanned(a, c) {
		return c, newError(CodeForbidden, "only an admin may change a canned reply another agent made")
	}
	return c, nil
}

// MayEditCanned reports whether an agent may change or delete a canned
// reply: their own, or any for an admin.
func MayEditCanned(a model.Agent, c model.CannedReply) bool {
	return (c.CreatedBy != nil && *c.CreatedBy == a.ID) || a.IsAdmin()
}

// setCanned validates and applies a new shortcut and body (nil: unchanged).
func setCanned(c *model.CannedReply, shortcut, body *string) error {
	if shortcut != nil {
		if !shortcutPattern.MatchString(*shortcut) {
			return newError(CodeInvalidShortcut, "a shortcut is 1 to 32 of a-z, 0-9, _ and -")
		}
		c.Shortcut = *shortcut
	}
	if body != nil {
		b, err := checkBody(*body)
		if err != nil {
			return err
		}
		if err := checkCannedVariables(b); err != nil {
			return err
		}
		c.Body = b
	}
	return nil
}

func cannedError(err error, shortcut string) error {
	if errors.Is(err, store.ErrDuplicate) {
		return newError(CodeDuplicate, "the shortcut /"+shortcut+" is taken in this workspace")
	}
	return notFound(err, "canned reply")
}
