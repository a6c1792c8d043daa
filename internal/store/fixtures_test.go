package store_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// base is the tests' reference time. Its nanoseconds and its zone are
// deliberate: the store keeps microseconds, in UTC.
var base = time.Date(2025, 6, 1, 10, 0, 0, 123456789, time.FixedZone("UTC+2", 2*60*60))

// at returns base moved by d.
func at(d time.Duration) time.Time { return base.Add(d) }

// stored returns a time as it reads back from the store.
func stored(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// storedPtr is stored for an optional time.
func storedPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return new(stored(*t))
}

func newWorkspace(t *testing.T, db *store.DB, name string, created time.Time) model.Workspace {
	t.Helper()
	w := model.Workspace{
		ID:        model.NewID(),
		Name:      name,
		SiteKey:   "site-" + model.NewID(),
		TimeZone:  "Europe/Paris",
		Settings:  model.DefaultSettings(),
		CreatedAt: created,
	}
	if err := db.CreateWorkspace(t.Context(), w); err != nil {
		t.Fatalf("create workspace: %v", err)
	}
	return w
}

// conversationBesideOther makes workspace "W" with a website
// conversation of a new visitor, and a workspace "Other": the start of a
// test that one workspace's reads leave the other's rows out.
func conversationBesideOther(t *testing.T, db *store.DB) (w, other model.Workspace, c model.Conversation) {
	t.Helper()
	w = newWorkspace(t, db, "W", base)
	other = newWorkspace(t, db, "Other", base)
	c = newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
	return w, other, c
}

func newAgent(t *testing.T, db *store.DB, workspaceID, status string, disconnected *time.Time) model.Agent {
	t.Helper()
	id := model.NewID()
	a := model.Agent{
		ID:             id,
		WorkspaceID:    workspaceID,
		Name:           "Agent " + id,
		Email:          id + "@agents.example.com",
		Status:         status,
		PasswordHash:   "hash-" + id,
		DisconnectedAt: disconnected,
		CreatedAt:      base,
	}
	if err := db.CreateAgent(t.Context(), a); err != nil {
		t.Fatalf("create agent: %v", err)
	}
	return a
}

func newVisitor(t *testing.T, db *store.DB, workspaceID string, email *string) model.Visitor {
	t.Helper()
	v := model.Visitor{ID: model.NewID(), WorkspaceID: workspaceID, Email: email, EmailStatus: model.EmailOK, CreatedAt: base}
	if err := db.CreateVisitor(t.Context(), v); err != nil {
		t.Fatalf("create visitor: %v", err)
	}
	return v
}

func newConversation(t *testing.T, db *store.DB, v model.Visitor, channel string, created time.Time) model.Conversation {
	t.Helper()
	c := model.Conversation{
		ID:            model.NewID(),
		WorkspaceID:   v.WorkspaceID,
		Status:        "open",
		Channel:       channel,
		Visitor:       v,
		CreatedAt:     created,
		LastMessageAt: created,
	}
	if err := db.CreateConversation(t.Context(), c); err != nil {
		t.Fatalf("create conversation: %v", err)
	}
	return c
}

// newMessage stores a message by authorKind (model.AuthorVisitor,
// AuthorAgent or AuthorSystem) of the given kind.
// newEmail queues an email of conversation c to its visitor's address to,
// made at created.
func newEmail(t *testing.T, db *store.DB, c model.Conversation, to string, created time.Time) store.Email {
	t.Helper()
	e := store.Email{ID: model.NewID(), WorkspaceID: c.WorkspaceID, ConversationID: c.ID, VisitorID: c.Visitor.ID,
		MessageID: "<" + model.NewID() + "@example.test>", From: "parley@example.test", To: to,
		Raw: []byte("Subject: x\r\n\r\nx\r\n"), NextAttemptAt: created, CreatedAt: created}
	if err := db.CreateEmail(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	return e
}

func newMessage(t *testing.T, db *store.DB, c model.Conversation, authorKind, kind, body string) model.Message {
	t.Helper()
	m := model.Message{
		ID:             model.NewID(),
		WorkspaceID:    c.WorkspaceID,
		ConversationID: c.ID,
		Author:         model.Author{Kind: authorKind},
		Kind:           kind,
		Channel:        model.MsgChannelWidget,
		Body:           body,
		CreatedAt:      base,
	}
	if authorKind == model.AuthorAgent {
		m.Author.ID = new(model.NewID())
		m.Author.Name = new("Ann")
		m.Channel = model.MsgChannelDashboard
	}
	if err := db.CreateMessage(t.Context(), m); err != nil {
		t.Fatalf("create message: %v", err)
	}
	return m
}

// check reports a mismatch of got and want (compared deeply: times must
// match in instant, precision and location) with both dumped readably.
func check[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, dump(reflect.ValueOf(got)), dump(reflect.ValueOf(want)))
	}
}

// dump formats a value with pointers followed and times in full.
func dump(v reflect.Value) string {
	if !v.IsValid() {
		return "<invalid>"
	}
	if tm, ok := v.Interface().(time.Time); ok {
		return tm.Format(time.RFC3339Nano) + " (" + tm.Location().String() + ")"
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "nil"
		}
		return "&" + dump(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return "nil"
		}
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = dump(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Struct:
		parts := make([]string, v.NumField())
		for i := range parts {
			parts[i] = v.Type().Field(i).Name + ":" + dump(v.Field(i))
		}
		return "{" + strings.Join(parts, " ") + "}"
	case reflect.String:
		return fmt.Sprintf("%q", v.String())
	default:
		return fmt.Sprint(v.Interface())
	}
}
