package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

// The list's selection bar: each change goes to every selected
// conversation, the answer says how many in the server's words, and a
// refused change says why, changes nothing and keeps the selection.
func TestDashboardBulk(t *testing.T) {
	srv, ada, b := setup(t)
	ben := srv.AddAgent("ben@example.com", "Ben")
	var convs []string
	for _, name := range []string{"Vera", "Olaf", "Pia"} {
		convs = append(convs, newConversation(t, srv, srv.Workspace.SiteKey, name, "Hello from "+name).ConversationID)
	}
	other, err := srv.App.Chat.CreateWorkspace(t.Context(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	stranger := newConversation(t, srv, other.SiteKey, "Eve", "Not yours").ConversationID
	get := func(id string) model.Conversation {
		t.Helper()
		var c model.Conversation
		srv.Do("GET", "/api/v1/conversations/"+id, ada.Token, nil, http.StatusOK, &c)
		return c
	}
	form := func(action string, ids []string, extra ...string) url.Values {
		v := url.Values{"action": {action}, "id": ids, "filter": {"open"}, "view": {"all"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}

	done := []struct {
		name, notice string
		form         url.Values
		location     string
		check        func(model.Conversation) bool
	}{
		{"tag, typed in another case the second time", "Tagged Refund: 2 conversations.",
			form("tag", convs[:2], "tag", "  Refund "), "/dashboard?bulk=tag&n=2&same=0&added=Refund",
			func(c model.Conversation) bool { return fmt.Sprint(c.Tags) == "[Refund]" }},
		{"assign to a colleague", "Assigned to Ben: 3 conversations.",
			form("assign", convs, "agent_id", ben.ID), "/dashboard?bulk=assign&n=3&same=0&to=" + ben.ID,
			func(c model.Conversation) bool { return c.Assignee != nil && c.Assignee.ID == ben.ID }},
		{"assign to me, a conversation open", "Assigned to you: 2 conversations.",
			form("assign", convs[1:], "agent_id", "me", "conversation", convs[0], "list_tag", "refund"),
			"/dashboard/conversations/" + convs[0] + "?tag=refund&bulk=assign&n=2&same=0&to=" + ada.ID,
			func(c model.Conversation) bool { return c.Assignee != nil && c.Assignee.ID == ada.ID }},
		{"unassign, each id once", "Unassigned 1 conversation.",
			form("assign", []string{convs[2], convs[2], " "}, "agent_id", ""), "/dashboard?bulk=assign&n=1&same=0&to=",
			func(c model.Conversation) bool { return c.Assignee == nil }},
		{"close", "Closed 2 conversations.",
			form("close", convs[:2]), "/dashboard?bulk=close&n=2&same=0",
			func(c model.Conversation) bool { return c.Status == "closed" }},
		{"close again: a colleague was quicker", "Closed 0 conversations (2 were already).",
			form("close", convs[:2]), "/dashboard?bulk=close&n=0&same=2",
			func(c model.Conversation) bool { return c.Status == "closed" }},
		{"reopen from the closed list", "Reopened 2 conversations.",
			form("reopen", convs[:2], "filter", "closed"), "/dashboard?status=closed&bulk=reopen&n=2&same=0",
			func(c model.Conversation) bool { return c.Status == "open" }},
		{"a tag one of them has", "Tagged Refund: 1 conversation (1 was already).",
			form("tag", convs[1:3], "tag", "refund"), "/dashboard?bulk=tag&n=1&same=1&added=refund",
			func(c model.Conversation) bool { return fmt.Sprint(c.Tags) == "[Refund]" }},
	}
	for _, tc := range done {
		t.Run(tc.name, func(t *testing.T) {
			a := b.post("/dashboard/conversations/bulk", tc.form)
			if a.Status != http.StatusSeeOther || a.Location != tc.location {
				t.Fatalf("answer %d %q, want 303 %q\n%s", a.Status, a.Location, tc.location, a.Body)
			}
			for _, id := range tc.form["id"] {
				if strings.TrimSpace(id) == "" {
					continue
				}
				if c := get(id); !tc.check(c) {
					t.Errorf("%s after the change: status %s, assignee %v, tags %v", id, c.Status, c.Assignee, c.Tags)
				}
			}
			page := b.get(a.Location)
			mustContain(t, "the page after", page.Body, `data-testid="bulk-notice">`+tc.notice+`<`)
		})
	}

	refused := []struct {
		name   string
		form   url.Values
		status int
		says   string
		keeps  []string // rows still selected
	}{
		{"nothing selected", form("close", nil), http.StatusBadRequest, "Select the conversations to change first.", nil},
		{"no change chosen", form("explode", convs[:1]), http.StatusBadRequest, "Choose what to do with the selected conversations.", convs[:1]},
		{"nobody chosen to assign to", form("assign", convs[:2], "agent_id", "?"), http.StatusBadRequest, "Choose whom to assign the selected conversations to.", convs[:2]},
		{"a tag the rules refuse", form("tag", convs[:2], "tag", "<b>x</b>"), http.StatusBadRequest, "&lt;b&gt;x&lt;/b&gt;", convs[:2]},
		{"too many", form("close", manyIDs(201)), http.StatusBadRequest, "At most 200 conversations can be changed at once; 201 are selected.", nil},
		{"another workspace's conversation among them", form("close", []string{convs[2], stranger}), http.StatusNotFound,
			"Closed 1 conversation. 1 could not be changed: Not found.", nil},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			a := b.post("/dashboard/conversations/bulk", tc.form)
			if a.Status != tc.status {
				t.Fatalf("answer %d %q, want %d\n%s", a.Status, a.Location, tc.status, a.Body)
			}
			mustContain(t, "the refusal", a.Body, `data-testid="bulk-error">`, tc.says, `class="dash live selecting"`)
			mustNotContain(t, "the refusal", a.Body, "<b>x</b>", `data-testid="bulk-bar" hidden`)
			for _, id := range tc.keeps {
				mustContain(t, "the rows kept", a.Body, `value="`+id+`" aria-label="Select `)
				if !strings.Contains(a.Body, `name="id" value="`+id+`" aria-label="Select Vera" data-testid="pick" checked>`) &&
					!strings.Contains(a.Body, `name="id" value="`+id+`" aria-label="Select Olaf" data-testid="pick" checked>`) {
					t.Errorf("%s is not selected any more", id)
				}
			}
		})
	}
	// A conversation that is not there (another workspace's, an erased
	// one) does not stay selected.
	a0 := b.post("/dashboard/conversations/bulk", form("close", []string{convs[1], stranger}))
	mustNotContain(t, "a conversation that is not there", a0.Body, `value="`+stranger+`"`)

	// Refused, a selected conversation the list does not show (closed, in
	// the list of open ones) is still in the form.
	a := b.post("/dashboard/conversations/bulk", form("tag", []string{convs[0], convs[2]}, "tag", "<b>x</b>"))
	mustContain(t, "a selected conversation not shown", a.Body, `<input type="hidden" name="id" value="`+convs[2]+`" data-unshown>`)
	mustNotContain(t, "a selected conversation not shown", a.Body, `<input type="hidden" name="id" value="`+convs[0]+`" data-unshown>`)
	if r := b.get("/dashboard/conversations/bulk"); r.Status != http.StatusSeeOther || r.Location != "/dashboard?select=1" {
		t.Errorf("a reload of the refusal's page: %d %q", r.Status, r.Location)
	}

	if c := get(convs[0]); fmt.Sprint(c.Tags) != "[Refund]" || c.Status != "open" {
		t.Errorf("a refused change changed %s: tags %v, status %s", convs[0], c.Tags, c.Status)
	}
	if c := get(convs[2]); c.Status != "closed" {
		t.Errorf("the conversation of this workspace was not closed beside the refused one: %s", c.Status)
	}
	var foreign model.Conversation
	srv.Do("GET", "/api/v1/conversations/"+stranger, srv.AddAgent("eve@example.com", "Eve", other.ID).Token, nil, http.StatusOK, &foreign)
	if foreign.Status != "open" {
		t.Errorf("another workspace's conversation was changed: %s", foreign.Status)
	}

	// The notice is the server's words alone: a made-up link shows none.
	for _, q := range []string{"bulk=tag&n=2&added=%3Cscript%3E", "bulk=tag&n=2&added=Nope", "bulk=hack&n=2", "bulk=close&n=99999", "bulk=close&n=x",
		"bulk=close&n=1&same=-1", "bulk=close&n=150&same=51"} {
		page := b.get("/dashboard?" + q)
		mustNotContain(t, q, page.Body, `data-testid="bulk-notice"`, "<script>")
	}
	mustContain(t, "a tag as the workspace spells it", b.get("/dashboard?bulk=tag&n=2&added=REFUND").Body, "Tagged Refund: 2 conversations.")

	// Without the session's token the form is refused, and nothing changes.
	raw := form("close", convs[:1], "csrf", "0000")
	a = b.post("/dashboard/conversations/bulk", raw)
	if a.Status != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d", a.Status)
	}
	if c := get(convs[0]); c.Status != "open" {
		t.Errorf("closed without the CSRF token")
	}

	// The list's selection mode without the script: ?select=1.
	page := b.get("/dashboard?select=1")
	mustContain(t, "selecting", page.Body, `class="dash live selecting"`, `href="/dashboard" data-select-toggle data-testid="select-toggle">Cancel<`,
		`data-testid="bulk-close">Close<`)
	mustNotContain(t, "selecting", page.Body, `data-testid="bulk-bar" hidden`, `data-testid="bulk-reopen"`)
	page = b.get("/dashboard?status=closed")
	mustContain(t, "not selecting", page.Body, `href="/dashboard?status=closed&amp;select=1" data-select-toggle data-testid="select-toggle">Select<`,
		`data-testid="bulk-bar" hidden`, `data-testid="bulk-reopen"`)
	mustNotContain(t, "not selecting", page.Body, `data-testid="bulk-close"`)
}

func manyIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%03d", i)
	}
	return ids
}

// BenchmarkBulkClose measures one bulk change of the list's bar: 200
// conversations closed (or, every other time, reopened) at once, each
// through the same call as its own form, on SQLite.
func BenchmarkBulkClose(b *testing.B) {
	s := apptest.Start(b, map[string]string{"PARLEY_RATE_LIMITS": "off"})
	s.AddAgent("ann@example.com", "Ann")
	form := url.Values{"filter": {"all"}, "view": {"all"}}
	for i := range maxBulkForm {
		form.Add("id", newConversation(b, s, s.Workspace.SiteKey, fmt.Sprint("Visitor ", i), "A question?").ConversationID)
	}
	client := dashboardClient(b, s, "ann@example.com")
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Get(s.URL + "/dashboard")
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		b.Fatal("no CSRF token on the page")
	}
	form.Set("csrf", string(m[1]))
	waitQuiet(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		form.Set("action", []string{"close", "reopen"}[i%2])
		resp, err := client.PostForm(s.URL+"/dashboard/conversations/bulk", form)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			b.Fatalf("bulk %s: status %d", form.Get("action"), resp.StatusCode)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*maxBulkForm), "µs/conversation")
}

// maxBulkForm is the most conversations the bar changes at once.
const maxBulkForm = 200
