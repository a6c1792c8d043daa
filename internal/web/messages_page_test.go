package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

type messagePage struct {
	Messages []model.Message `json:"messages"`
	Older    bool            `json:"older"`
	Newer    bool            `json:"newer"`
}

// longConversation makes a conversation of n messages: the visitor's
// first, then the agent's replies numbered from 1.
func longConversation(t *testing.T, srv *apptest.Server, a apptest.Agent, n int) (convID string, ids []string) {
	t.Helper()
	vc := newConversation(t, srv, srv.Workspace.SiteKey, "Vera", "first message")
	var all messagePage
	srv.Do("GET", "/api/v1/conversations/"+vc.ConversationID+"/messages", a.Token, nil, http.StatusOK, &all)
	for _, m := range all.Messages {
		ids = append(ids, m.ID)
	}
	for i := len(ids); i < n; i++ {
		var m model.Message
		srv.Do("POST", "/api/v1/conversations/"+vc.ConversationID+"/messages", a.Token,
			map[string]string{"body": fmt.Sprintf("reply number %d", i), "kind": "reply"}, http.StatusCreated, &m)
		ids = append(ids, m.ID)
	}
	return vc.ConversationID, ids
}

func pageIDs(p messagePage) []string {
	var ids []string
	for _, m := range p.Messages {
		ids = append(ids, m.ID)
	}
	return ids
}

func TestMessagePagingAPI(t *testing.T) {
	srv, a, _ := setup(t)
	convID, ids := longConversation(t, srv, a, 45)
	path := "/api/v1/conversations/" + convID + "/messages"

	// Scrolling up from the newest while the conversation goes on: every
	// message once, in order.
	var first messagePage
	srv.Do("GET", path+"?limit=10", a.Token, nil, http.StatusOK, &first)
	if !first.Older || first.Newer {
		t.Fatalf("first page: older %v newer %v", first.Older, first.Newer)
	}
	seen := pageIDs(first)
	for p := first; p.Older; {
		srv.Do("POST", path, a.Token, map[string]string{"body": "meanwhile", "kind": "comment"}, http.StatusCreated, nil)
		p = messagePage{}
		srv.Do("GET", path+"?limit=10&before="+url.QueryEscape(seen[0]), a.Token, nil, http.StatusOK, &p)
		seen = append(pageIDs(p), seen...)
	}
	if !slices.Equal(seen, ids) {
		t.Fatalf("paged %d messages, want the %d stored, in order", len(seen), len(ids))
	}
	var newer messagePage
	srv.Do("GET", path+"?after="+url.QueryEscape(ids[len(ids)-1]), a.Token, nil, http.StatusOK, &newer)
	if len(newer.Messages) != 4 || newer.Newer || !newer.Older {
		t.Fatalf("after the first page: %d messages (want the 4 written since), older %v newer %v", len(newer.Messages), newer.Older, newer.Newer)
	}

	// Around a message deep in the history: the page holding it.
	var around messagePage
	srv.Do("GET", path+"?limit=10&around="+url.QueryEscape(ids[7]), a.Token, nil, http.StatusOK, &around)
	if got := pageIDs(around); !slices.Equal(got, ids[2:12]) || !around.Older || !around.Newer {
		t.Fatalf("around the 8th: %d messages, older %v newer %v", len(got), around.Older, around.Newer)
	}

	// Without paging parameters: the whole history, as before.
	var all messagePage
	srv.Do("GET", path, a.Token, nil, http.StatusOK, &all)
	if len(all.Messages) != len(ids)+4 {
		t.Fatalf("whole history: %d messages", len(all.Messages))
	}

	for _, tt := range []struct {
		query  string
		status int
		code   string
	}{
		{"limit=0", 400, "bad_request"},
		{"limit=ten", 400, "bad_request"},
		{"limit=-3", 400, "bad_request"},
		{"limit=", 400, "bad_request"},
		{"before=", 400, "bad_request"},
		{"before=%27%20OR%201%3D1", 400, "bad_request"},
		{"before=zzz", 400, "bad_request"},
		{"after=" + strings.ToUpper(ids[3]), 400, "bad_request"},
		{"around=" + ids[3] + "0", 400, "bad_request"},
		{"before=" + ids[3] + "&after=" + ids[1], 400, "bad_request"},
		{"around=" + model.NewID(), 404, "not_found"},
	} {
		raw := srv.Do("GET", path+"?"+tt.query, a.Token, nil, tt.status, nil)
		if code := apptest.ErrorCode(raw); code != tt.code {
			t.Errorf("%s: code %q, want %q", tt.query, code, tt.code)
		}
	}
	var big messagePage
	srv.Do("GET", path+"?limit=99999999999999999999", a.Token, nil, http.StatusOK, &big)
	if len(big.Messages) != len(ids)+4 {
		t.Errorf("a limit above the maximum: %d messages", len(big.Messages))
	}
}

func TestDashboardConversationPages(t *testing.T) {
	srv, a, b := setup(t)
	convID, ids := longConversation(t, srv, a, 120)
	page := b.get("/dashboard/conversations/" + convID)
	mustContain(t, "newest page", page.Body, `id="msg-`+ids[119]+`"`, `id="msg-`+ids[70]+`"`, `data-testid="load-older"`,
		"?before="+ids[70])
	mustNotContain(t, "newest page", page.Body, `id="msg-`+ids[69]+`"`, `data-testid="load-newer"`)

	// The link of a search result opens the page around the message.
	// "number 9" matches 9 and 90 to 99: eleven messages of the one
	// conversation, of which the page shows the newest three and counts
	// the rest.
	res := b.get("/dashboard/search?q=" + url.QueryEscape("number 9"))
	mustContain(t, "search", res.Body, "at="+ids[99]+"#msg-"+ids[99], "11 results, newest first", "8 older matches in this conversation")
	mustNotContain(t, "search", res.Body, "older ones match too", "at="+ids[96]+"#msg-")
	// 120 messages match: the page shows the newest 100 and says so.
	mustContain(t, "search with more matches than shown", b.get("/dashboard/search?q=number").Body, "The newest 100 results; older ones match too")
	at := b.get("/dashboard/conversations/" + convID + "?status=all&at=" + ids[9])
	mustContain(t, "page at a message", at.Body, `id="msg-`+ids[9]+`"`, `id="msg-`+ids[0]+`"`, `data-testid="load-newer"`)
	mustNotContain(t, "page at a message", at.Body, `data-testid="load-older"`, `id="msg-`+ids[119]+`"`)

	// The pages before and after, as the thread's ends load them.
	older := b.get("/dashboard/partials/messages/" + convID + "?before=" + ids[70])
	mustContain(t, "older page", older.Body, `id="msg-`+ids[20]+`"`, `id="msg-`+ids[69]+`"`, "?before="+ids[20])
	mustNotContain(t, "older page", older.Body, `id="msg-`+ids[19]+`"`, `id="msg-`+ids[70]+`"`)

	// The refetch of an open conversation keeps the range it shows.
	part := b.get("/dashboard/partials/conversation/" + convID + "?from=" + ids[20])
	mustContain(t, "refetch", part.Body, `id="msg-`+ids[20]+`"`, `id="msg-`+ids[119]+`"`)
	mustNotContain(t, "refetch", part.Body, `id="msg-`+ids[19]+`"`)
	part = b.get("/dashboard/partials/conversation/" + convID + "?from=" + ids[0] + "&until=" + ids[30])
	mustContain(t, "refetch up to", part.Body, `id="msg-`+ids[30]+`"`, `data-testid="load-newer"`)
	mustNotContain(t, "refetch up to", part.Body, `id="msg-`+ids[31]+`"`)

	// A message gone since the link was made: the newest page.
	gone := b.get("/dashboard/conversations/" + convID + "?at=" + model.NewID())
	mustContain(t, "unknown message", gone.Body, `id="msg-`+ids[119]+`"`)
}
