package store_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// An agent's picture is stored with its bytes, named on the agent, replaced
// as a whole, left alone by the cleanup of unsent uploads, removed with
// the picture or the agent.
func TestAgentAvatars(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		ws := newWorkspace(t, db, "Acme", at(0))
		other := newWorkspace(t, db, "Other", at(0))
		ann := newAgent(t, db, ws.ID, model.StatusOnline, nil)
		bob := newAgent(t, db, ws.ID, model.StatusOnline, nil)

		first := store.Avatar{ID: model.NewID(), WorkspaceID: ws.ID, AgentID: ann.ID, ContentType: "image/png",
			Data: []byte("\x89PNG\r\n\x1a\n first"), CreatedAt: at(time.Minute)}
		if err := db.SetAgentAvatar(ctx, first); err != nil {
			t.Fatal(err)
		}
		a, err := db.Agent(ctx, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "avatar id", a.AvatarID, first.ID)
		got, err := db.Avatar(ctx, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "content type", got.ContentType, "image/png")
		check(t, "created", got.CreatedAt, stored(at(time.Minute)))
		if !bytes.Equal(got.Data, first.Data) {
			t.Fatalf("data = %q", got.Data)
		}

		// Unsent uploads are cleaned up; pictures are not uploads.
		if _, err := db.DeleteUploadsBefore(ctx, at(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Avatar(ctx, first.ID); err != nil {
			t.Fatalf("picture after the uploads cleanup: %v", err)
		}

		// Replacing drops the old bytes.
		second := store.Avatar{ID: model.NewID(), WorkspaceID: ws.ID, AgentID: ann.ID, ContentType: "image/gif",
			Data: []byte("GIF89a second"), CreatedAt: at(2 * time.Minute)}
		if err := db.SetAgentAvatar(ctx, second); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Avatar(ctx, first.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("old picture: %v, want not found", err)
		}
		bobs := store.Avatar{ID: model.NewID(), WorkspaceID: ws.ID, AgentID: bob.ID, ContentType: "image/webp",
			Data: []byte("RIFF....WEBP"), CreatedAt: at(3 * time.Minute)}
		if err := db.SetAgentAvatar(ctx, bobs); err != nil {
			t.Fatal(err)
		}
		ids, err := db.AvatarIDs(ctx, ws.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "pictures of the workspace", ids, map[string]string{ann.ID: second.ID, bob.ID: bobs.ID})
		ids, err = db.AvatarIDs(ctx, other.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "pictures of another workspace", ids, map[string]string{})

		// An agent of another workspace is not found, and nothing is kept.
		stray := store.Avatar{ID: model.NewID(), WorkspaceID: other.ID, AgentID: ann.ID, ContentType: "image/png",
			Data: []byte("x"), CreatedAt: at(4 * time.Minute)}
		if err := db.SetAgentAvatar(ctx, stray); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("picture for an agent of another workspace: %v, want not found", err)
		}
		if _, err := db.Avatar(ctx, stray.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("stray picture kept: %v", err)
		}
		if _, err := db.Avatar(ctx, second.ID); err != nil {
			t.Fatalf("the agent's picture after a refused one: %v", err)
		}

		// Removed: gone, and the agent has none.
		if err := db.RemoveAgentAvatar(ctx, ann.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Avatar(ctx, second.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("removed picture: %v", err)
		}
		a, _ = db.Agent(ctx, ann.ID)
		check(t, "avatar id after removal", a.AvatarID, "")

		// A removed agent takes their picture along.
		if err := db.DeleteAgent(ctx, bob.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Avatar(ctx, bobs.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("picture of a removed agent: %v", err)
		}
	})
}
