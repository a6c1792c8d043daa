package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/chat"
)

// The Mentions view lists the conversations whose notes named the agent,
// over the API (mentioned=me) and in the dashboard, with its count; a
// reply, a note naming a colleague, the agent's own note and another
// workspace's notes do not count, and an erased conversation leaves it.
func TestMentionsView(t *testing.T) {
	bothDatabases(t, func(t *testing.T, env map[string]string) {
		srv := apptest.Start(t, env)
		ada := srv.AddAgent("ada@example.com", "Ada Lovelace")
		ben := srv.AddAgent("ben@example.com", "Ben Okafor")
		other, err := srv.App.Chat.CreateWorkspace(t.Context(), "Other")
		if err != nil {
			t.Fatal(err)
		}
		eve := srv.AddAgent("eve@example.com", "Eve", other.ID)

		var convs []visitorConv
		for _, name := range []string{"Vera", "Olaf", "Pia", "Quinn"} {
			convs = append(convs, newConversation(t, srv, srv.Workspace.SiteKey, name, "Hello from "+name))
		}
		stranger := newConversation(t, srv, other.SiteKey, "Sol", "Hello")
		post := func(token, conv, kind, body string, want int) {
			t.Helper()
			srv.Do("POST", "/api/v1/conversations/"+conv+"/messages", token, map[string]string{"kind": kind, "body": body}, want, nil)
		}
		post(ben.Token, convs[0].ConversationID, "comment", "@Ada can you take this one?", http.StatusCreated)
		post(ben.Token, convs[1].ConversationID, "comment", "Asking @ada lovelace, and @Ada again.", http.StatusCreated)
		post(ben.Token, convs[2].ConversationID, "reply", "@Ada will answer you", http.StatusCreated) // a reply
		post(ada.Token, convs[3].ConversationID, "comment", "@Ada reminder to self", http.StatusCreated)
		post(ada.Token, convs[3].ConversationID, "comment", "@Ben Okafor yours", http.StatusCreated)
		post(eve.Token, stranger.ConversationID, "comment", "@Ada Lovelace?", http.StatusCreated) // no Ada there
		post(ben.Token, convs[0].ConversationID, "comment", "write to ada@example.com", http.StatusCreated)

		list := func(token, query string, want int) []string {
			t.Helper()
			var l chat.ConversationList
			srv.Do("GET", "/api/v1/conversations?"+query, token, nil, want, &l)
			var ids []string
			for _, c := range l.Conversations {
				ids = append(ids, c.ID)
			}
			return ids
		}
		same := func(what string, got []string, want ...string) {
			t.Helper()
			if len(got) != len(want) {
				t.Fatalf("%s: %v, want %v", what, got, want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s: %v, want %v", what, got, want)
				}
			}
		}
		same("Ada's mentions", list(ada.Token, "mentioned=me", http.StatusOK), convs[0].ConversationID, convs[1].ConversationID)
		same("Ben's mentions", list(ben.Token, "mentioned=me", http.StatusOK), convs[3].ConversationID)
		same("Eve's mentions", list(eve.Token, "mentioned=me", http.StatusOK))
		same("one a page", list(ada.Token, "mentioned=me&limit=1", http.StatusOK), convs[0].ConversationID)
		list(ada.Token, "mentioned="+ada.ID, http.StatusBadRequest)

		// The dashboard's view and its count, which follows the status.
		b := newBrowser(t, srv)
		b.login("ada@example.com")
		page := b.get("/dashboard?view=mentions")
		if page.Status != http.StatusOK {
			t.Fatalf("mentions view: %d", page.Status)
		}
		mustContain(t, "the mentions view", page.Body, `aria-current="page" data-testid="view-mentions"`,
			`data-testid="count-mentions">2<`, "/dashboard/conversations/"+convs[0].ConversationID+"?view=mentions",
			"/dashboard/conversations/"+convs[1].ConversationID+"?view=mentions")
		mustNotContain(t, "the mentions view", page.Body, convs[2].ConversationID, convs[3].ConversationID)
		srv.Do("POST", "/api/v1/conversations/"+convs[0].ConversationID+"/close", ada.Token, nil, http.StatusOK, nil)
		page = b.get("/dashboard?view=mentions")
		mustContain(t, "the open mentions after a close", page.Body, `data-testid="count-mentions">1<`)
		mustNotContain(t, "the open mentions after a close", page.Body, convs[0].ConversationID)
		page = b.get("/dashboard?view=mentions&status=closed")
		mustContain(t, "the closed mentions", page.Body, `data-testid="count-mentions">1<`, convs[0].ConversationID)

		// An erased conversation leaves the view; then it is empty.
		srv.Do("DELETE", "/api/v1/visitors/"+convs[1].VisitorID, ada.Token, nil, http.StatusNoContent, nil)
		same("Ada's open mentions after an erasure", list(ada.Token, "mentioned=me", http.StatusOK))
		page = b.get("/dashboard?" + url.Values{"view": {"mentions"}}.Encode())
		mustContain(t, "the empty mentions view", page.Body, `data-testid="count-mentions">0<`,
			"No open conversations where a note mentions you.", `data-testid="mentions-hint"`)
	})
}
