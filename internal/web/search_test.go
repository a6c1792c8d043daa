package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

type searchAnswer struct {
	Results []struct {
		Conversation model.Conversation `json:"conversation"`
		MessageID    *string            `json:"message_id"`
		Snippet      string             `json:"snippet"`
		Highlights   [][2]int           `json:"highlights"`
		At           time.Time          `json:"at"`
	} `json:"results"`
}

// forEachDatabase runs fn on a server over SQLite and one over PostgreSQL.
func forEachDatabase(t *testing.T, fn func(t *testing.T, s *apptest.Server)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, apptest.Start(t, nil)) })
	t.Run("postgres", func(t *testing.T) {
		fn(t, apptest.Start(t, map[string]string{"PARLEY_DATABASE_URL": apptest.Postgres(t)}))
	})
}

func TestSearchAPI(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, s *apptest.Server) {
		ctx := context.Background()
		ann := s.AddAgent("ann@example.com", "Ann")
		s.Do("PUT", "/api/v1/me/status", ann.Token, map[string]string{"status": "online"}, http.StatusOK, nil)

		// A visitor writes, gives a name and email; Ann replies and notes.
		post := func(tok, body, clientID string) model.Message {
			var m model.Message
			s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": tok, "body": body, "client_id": clientID}, http.StatusCreated, &m)
			return m
		}
		zoe := newSession(t, s, s.Workspace.SiteKey, "")
		cafe := post(zoe.VisitorToken, "Bonjour, je voudrais un Café crème s'il vous plaît", "c1")
		conv := cafe.ConversationID
		s.Do("PATCH", "/api/v1/visitors/"+zoe.Visitor.ID, ann.Token, map[string]string{"name": "Zoë Dupont", "email": "zoe.dupont@example.com"}, http.StatusOK, nil)
		var reply, note model.Message
		s.Do("POST", "/api/v1/conversations/"+conv+"/messages", ann.Token, map[string]string{"body": "Your café is on its way"}, http.StatusCreated, &reply)
		s.Do("POST", "/api/v1/conversations/"+conv+"/messages", ann.Token, map[string]string{"body": "Internal: refund the <b>café</b> if late", "kind": "comment"}, http.StatusCreated, &note)

		// Another workspace with the same words.
		other, err := s.App.Chat.CreateWorkspace(ctx, "Other")
		if err != nil {
			t.Fatal(err)
		}
		bob := s.AddAgent("bob@example.com", "Bob", other.ID)
		s.Do("PUT", "/api/v1/me/status", bob.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
		os := newSession(t, s, other.SiteKey, "")
		secret := post(os.VisitorToken, "Café crème secret of Other, Zoë Dupont", "o1")

		search := func(token, q string, extra ...string) searchAnswer {
			t.Helper()
			var out searchAnswer
			path := "/api/v1/search?q=" + url.QueryEscape(q) + strings.Join(extra, "")
			raw := s.Do("GET", path, token, nil, http.StatusOK, &out)
			if out.Results == nil {
				t.Fatalf("%s: results is not a list: %s", path, raw)
			}
			return out
		}
		ids := func(a searchAnswer) []string {
			out := []string{}
			for _, r := range a.Results {
				if r.MessageID == nil {
					out = append(out, "visitor:"+r.Conversation.ID)
				} else {
					out = append(out, *r.MessageID)
				}
			}
			return out
		}
		tests := []struct {
			q    string
			want []string
		}{
			{"cafe", []string{note.ID, reply.ID, cafe.ID}},
			{"CAFÉ CRÈME", []string{cafe.ID}},
			{"creme caf", []string{cafe.ID}},
			{"cafe creme zzz", []string{}},
			{"zoe", []string{"visitor:" + conv}},
			{"dupont@exam", []string{"visitor:" + conv}},
			{"refund", []string{note.ID}},
			{`"café" OR "secret"`, []string{}},
			{`secret`, []string{}},
			{`NEAR(cafe creme)`, []string{}},
			{`caf*`, []string{note.ID, reply.ID, cafe.ID}},
			{`-cafe`, []string{note.ID, reply.ID, cafe.ID}},
			{`creme:cafe`, []string{cafe.ID}},
			{`((("`, []string{}},
			{`'; DROP TABLE messages; --`, []string{}},
		}
		for _, tt := range tests {
			got := ids(search(ann.Token, tt.q))
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("search %q = %v, want %v", tt.q, got, tt.want)
			}
		}
		// Each result says when its message was written.
		for i, r := range search(ann.Token, "cafe").Results {
			if want := []model.Message{note, reply, cafe}[i].CreatedAt; !r.At.Equal(want) {
				t.Errorf("result %d at %v, want its message's %v", i, r.At, want)
			}
		}

		// The result carries the conversation, and a snippet with the
		// searched words marked.
		res := search(ann.Token, "crème").Results[0]
		if res.Conversation.ID != conv || res.Conversation.Visitor.ID != zoe.Visitor.ID {
			t.Errorf("conversation = %+v", res.Conversation)
		}
		if !strings.Contains(res.Snippet, "Café crème") || len(res.Highlights) != 1 {
			t.Fatalf("snippet %q highlights %v", res.Snippet, res.Highlights)
		}
		h := res.Highlights[0]
		if got := string([]rune(res.Snippet)[h[0]:h[1]]); got != "crème" {
			t.Errorf("highlight %v is %q, want crème", h, got)
		}
		if n := search(ann.Token, "refund").Results[0].Snippet; n != "Internal: refund the <b>café</b> if late" {
			t.Errorf("snippet %q: the body's text as written", n)
		}

		// The other workspace sees only its own.
		if got := ids(search(bob.Token, "cafe")); strings.Join(got, ",") != secret.ID {
			t.Errorf("other workspace found %v, want only %s", got, secret.ID)
		}

		// Limits: default 20, at most 100; refused when not a positive number.
		for i := range 25 {
			s.Do("POST", "/api/v1/conversations/"+conv+"/messages", ann.Token, map[string]string{"body": "bulk line " + strings.Repeat("x", i+1)}, http.StatusCreated, nil)
		}
		if n := len(search(ann.Token, "bulk").Results); n != 20 {
			t.Errorf("default limit gave %d results, want 20", n)
		}
		if n := len(search(ann.Token, "bulk", "&limit=3").Results); n != 3 {
			t.Errorf("limit=3 gave %d", n)
		}
		if n := len(search(ann.Token, "bulk", "&limit=1000").Results); n != 25 {
			t.Errorf("limit=1000 gave %d, want all 25 (capped at 100)", n)
		}
		if n := len(search(ann.Token, "bulk", "&limit=99999999999999999999999").Results); n != 25 {
			t.Errorf("a huge limit gave %d", n)
		}
		newest := search(ann.Token, "bulk", "&limit=1").Results[0].Snippet
		if newest != "bulk line "+strings.Repeat("x", 25) {
			t.Errorf("newest first: got %q", newest)
		}
		if n := len(search(ann.Token, "!!! ***").Results); n != 0 {
			t.Errorf("a text without words found %d", n)
		}
		for _, bad := range []string{
			"/api/v1/search",
			"/api/v1/search?q=",
			"/api/v1/search?q=%20%20",
			"/api/v1/search?q=cafe&limit=0",
			"/api/v1/search?q=cafe&limit=-5",
			"/api/v1/search?q=cafe&limit=ten",
			"/api/v1/search?q=" + strings.Repeat("a+", 40),
			"/api/v1/search?q=" + strings.Repeat("a", 501),
			"/api/v1/search?q=%ff%fe",
		} {
			raw := s.Do("GET", bad, ann.Token, nil, http.StatusBadRequest, nil)
			if apptest.ErrorCode(raw) != "bad_request" {
				t.Errorf("%s: %s", bad, raw)
			}
		}
		s.Do("GET", "/api/v1/search?q=cafe", "", nil, http.StatusUnauthorized, nil)
	})
}

// A visitor with neither a name nor an email is found by the label the
// list shows ("Visitor kauc"), written as it is shown or in capitals, or
// by its four characters alone.
func TestSearchByVisitorLabel(t *testing.T) {
	s, ann, b := setup(t)
	s.Do("PUT", "/api/v1/me/status", ann.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	anon := newSession(t, s, s.Workspace.SiteKey, "")
	var m model.Message
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": anon.VisitorToken, "body": "Do you ship abroad?", "client_id": "c1"}, http.StatusCreated, &m)
	label := anon.Visitor.ID[len(anon.Visitor.ID)-4:]
	for _, q := range []string{"Visitor " + label, "VISITOR " + strings.ToUpper(label), label} {
		var out searchAnswer
		s.Do("GET", "/api/v1/search?q="+url.QueryEscape(q), ann.Token, nil, http.StatusOK, &out)
		if len(out.Results) != 1 || out.Results[0].Conversation.ID != m.ConversationID || out.Results[0].Snippet != "Visitor "+label {
			t.Errorf("search %q: %+v", q, out.Results)
		}
	}
	page := b.get("/dashboard/search?q=" + url.QueryEscape("Visitor "+label))
	mustContain(t, "the search page", page.Body, "/dashboard/conversations/"+m.ConversationID)
}

// A search that names a tag in use, in any case, leads to the tag's
// conversations as well as to the messages that hold the word.
func TestSearchNamesATag(t *testing.T) {
	s, ann, b := setup(t)
	convs := []string{
		newConversation(t, s, s.Workspace.SiteKey, "Vera", "My invoice is wrong").ConversationID,
		newConversation(t, s, s.Workspace.SiteKey, "Olaf", "Where is my parcel?").ConversationID,
	}
	for _, id := range convs {
		s.Do("PUT", "/api/v1/conversations/"+id+"/tags", ann.Token, map[string]any{"tags": []string{"Billing"}}, http.StatusOK, nil)
	}
	s.Do("POST", "/api/v1/conversations/"+convs[1]+"/close", ann.Token, nil, http.StatusOK, nil)
	page := b.get("/dashboard/search?q=" + url.QueryEscape("  billing "))
	mustContain(t, "the search page", page.Body, `data-testid="search-tag"`, `href="/dashboard?status=all&amp;tag=Billing"`,
		`<span class="tag">Billing</span>`, "2 in all, 1 open", `data-testid="search-empty"`)
	page = b.get("/dashboard/search?q=invoice")
	mustNotContain(t, "a search naming no tag", page.Body, `data-testid="search-tag"`)
}
