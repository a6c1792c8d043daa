package chat

import (
	"context"
	"fmt"

	"github.com/parleychat/parley/internal/filetype"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// MaxAvatarBytes is the largest picture an agent may upload.
const MaxAvatarBytes = 1 << 20

// AvatarPath is where the picture of this id is served, without a token:
// each upload gets a new id, so the bytes behind a path never change.
func AvatarPath(id string) string { return "/api/widget/v1/avatars/" + id }

// avatarURL is the public address of a stored picture; nil for none.
func (s *Service) avatarURL(id string) *string {
	if id == "" {
		return nil
	}
	u := s.opts.PublicURL + AvatarPath(id)
	return &u
}

// WithAvatar returns a with the address of their picture set.
func (s *Service) WithAvatar(a model.Agent) model.Agent {
	a.AvatarURL = s.avatarURL(a.AvatarID)
	return a
}

func (s *Service) withAvatars(agents []model.Agent) []model.Agent {
	for i := range agents {
		agents[i] = s.WithAvatar(agents[i])
	}
	return agents
}

// SetAvatar makes f the picture of agent id: the actor's own, or any of
// the workspace's agents' for an admin. Only PNG, JPEG, WebP and GIF are
// kept, as their content says, never SVG; at most MaxAvatarBytes.
func (s *Service) SetAvatar(ctx context.Context, actor model.Agent, id string, f UploadFile) (model.Agent, error) {
	a, err := s.avatarOwner(ctx, actor, id)
	if err != nil {
		return a, err
	}
	if len(f.Data) > MaxAvatarBytes {
		return a, newError(CodeTooLarge, fmt.Sprintf("a picture is at most %d MiB", MaxAvatarBytes>>20))
	}
	if len(f.Data) == 0 {
		return a, newError(CodeEmptyFile, "the file is empty")
	}
	name := CleanFilename(f.Filename)
	if name == "" {
		name = "picture"
	}
	t, ok := filetype.Detect(name, f.Data)
	if !ok || !avatarTypes[t.MediaType] {
		return a, newError(CodeUnsupportedType, "a picture is a PNG, JPEG, WebP or GIF image, with a name that matches its content")
	}
	av := store.Avatar{ID: model.NewID(), WorkspaceID: a.WorkspaceID, AgentID: a.ID, ContentType: t.MediaType,
		Data: f.Data, CreatedAt: s.now()}
	if err := s.db.SetAgentAvatar(ctx, av); err != nil {
		return a, notFound(err, "agent")
	}
	a.AvatarID = av.ID
	a = s.WithAvatar(a)
	s.toAgents(a.WorkspaceID, realtime.AgentUpdated, a)
	return a, nil
}

// RemoveAvatar deletes the picture of agent id (the actor's own, or any of
// the workspace's agents' for an admin); their initials show again.
func (s *Service) RemoveAvatar(ctx context.Context, actor model.Agent, id string) (model.Agent, error) {
	a, err := s.avatarOwner(ctx, actor, id)
	if err != nil {
		return a, err
	}
	if err := s.db.RemoveAgentAvatar(ctx, a.ID); err != nil {
		return a, err
	}
	a.AvatarID, a.AvatarURL = "", nil
	s.toAgents(a.WorkspaceID, realtime.AgentUpdated, a)
	return a, nil
}

func (s *Service) avatarOwner(ctx context.Context, actor model.Agent, id string) (model.Agent, error) {
	a, err := s.agentOf(ctx, actor, id)
	if err != nil {
		return a, err
	}
	if a.ID != actor.ID && !actor.IsAdmin() {
		return a, newError(CodeForbidden, "only an admin may change other agents' pictures")
	}
	return a, nil
}

// avatarTypes are the detected types a picture may have.
var avatarTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/webp": true, "image/gif": true}

// Avatar returns a stored picture by id, for anyone: pictures are shown
// to visitors.
func (s *Service) Avatar(ctx context.Context, id string) (store.Avatar, error) {
	av, err := s.db.Avatar(ctx, id)
	return av, notFound(err, "picture")
}

// authorAvatars sets the pictures of the agents who wrote ms (messages of
// one workspace).
func (s *Service) authorAvatars(ctx context.Context, ms []model.Message) ([]model.Message, error) {
	var ids map[string]string
	for i, m := range ms {
		if m.Author.Kind != model.AuthorAgent || m.Author.ID == nil {
			continue
		}
		if ids == nil {
			var err error
			if ids, err = s.db.AvatarIDs(ctx, m.WorkspaceID); err != nil {
				return ms, fmt.Errorf("pictures of message authors: %w", err)
			}
		}
		ms[i].Author.AvatarURL = s.avatarURL(ids[*m.Author.ID])
	}
	return ms, nil
}
