package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/channels/meta/metatest"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// With automatic assignment on, a conversation a visitor starts, or
// reopens with nobody on it, goes to the online agent with the fewest
// open conversations; invisible and offline agents get none.
func TestAutoAssign(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann") // admin
		bob := s.AddAgent("bob@example.com", "Bob")
		cat := s.AddAgent("cat@example.com", "Cat")
		status := func(a apptest.Agent, st string) {
			s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": st}, http.StatusOK, nil)
		}
		status(ann, "online")
		status(bob, "online")
		status(cat, "invisible")
		write := func(tok, body string) model.Conversation {
			t.Helper()
			var m model.Message
			s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": tok, "body": body}, http.StatusCreated, &m)
			var c model.Conversation
			s.Do("GET", "/api/v1/conversations/"+m.ConversationID, ann.Token, nil, http.StatusOK, &c)
			return c
		}
		assignee := func(c model.Conversation) string {
			if c.Assignee == nil {
				return ""
			}
			return c.Assignee.Name
		}

		// Off (the default): nobody gets it.
		first := newSession(t, s, s.Workspace.SiteKey, "")
		c0 := write(first.VisitorToken, "Hello?")
		if c0.Assignee != nil {
			t.Fatalf("assigned with the setting off: %+v", c0.Assignee)
		}
		// Only an admin turns it on; the settings say so.
		s.Do("PUT", "/api/v1/settings", bob.Token, map[string]any{"auto_assign": true}, http.StatusForbidden, nil)
		var st model.Settings
		s.Do("PUT", "/api/v1/settings", ann.Token, map[string]any{"auto_assign": true}, http.StatusOK, &st)
		if !st.AutoAssign {
			t.Fatal("auto_assign not saved")
		}
		// A patch without the field leaves it on.
		s.Do("PUT", "/api/v1/settings", ann.Token, map[string]any{"typing_preview": false}, http.StatusOK, &st)
		if !st.AutoAssign {
			t.Fatal("a patch without auto_assign turned it off")
		}

		// Ann and Bob have nothing open: Ann first (by name), then Bob,
		// then Ann again; Cat (invisible) never. A second message of the
		// same conversation changes nothing.
		var got, tokens []string
		var convs []model.Conversation
		for i := range 3 {
			v := newSession(t, s, s.Workspace.SiteKey, "")
			tokens = append(tokens, v.VisitorToken)
			c := write(v.VisitorToken, "Question "+string(rune('A'+i)))
			write(v.VisitorToken, "Anyone?")
			c2 := model.Conversation{}
			s.Do("GET", "/api/v1/conversations/"+c.ID, ann.Token, nil, http.StatusOK, &c2)
			if assignee(c2) != assignee(c) {
				t.Errorf("a second message moved it from %q to %q", assignee(c), assignee(c2))
			}
			got = append(got, assignee(c))
			convs = append(convs, c)
		}
		if strings.Join(got, ",") != "Ann,Bob,Ann" {
			t.Fatalf("assigned to %v, want Ann, Bob, Ann", got)
		}
		// The line in the conversation says so, for agents.
		var msgs struct{ Messages []model.Message }
		s.Do("GET", "/api/v1/conversations/"+convs[0].ID+"/messages", ann.Token, nil, http.StatusOK, &msgs)
		found := false
		for _, m := range msgs.Messages {
			found = found || m.Kind == model.KindEvent && strings.HasPrefix(m.Body, "Assigned automatically to Ann")
		}
		if !found {
			t.Errorf("no line saying it was assigned: %+v", msgs.Messages)
		}

		// Closed conversations do not count: Ann's two closed, Ann is
		// the least busy again.
		for _, c := range []model.Conversation{convs[0], convs[2]} {
			s.Do("POST", "/api/v1/conversations/"+c.ID+"/close", ann.Token, nil, http.StatusOK, nil)
		}
		if c := write(newSession(t, s, s.Workspace.SiteKey, "").VisitorToken, "Next"); assignee(c) != "Ann" {
			t.Errorf("with Bob's one open and Ann's none: %q, want Ann", assignee(c))
		}

		// A closed conversation nobody has, reopened by its visitor, is
		// given; one somebody has stays theirs.
		s.Do("POST", "/api/v1/conversations/"+c0.ID+"/close", ann.Token, nil, http.StatusOK, nil)
		status(ann, "offline")
		if c := write(first.VisitorToken, "Back again"); c.ID != c0.ID || assignee(c) != "Bob" {
			t.Errorf("reopened unassigned with only Bob online: %q, want Bob", assignee(c))
		}
		if c := write(tokens[0], "Me again"); c.ID != convs[0].ID || assignee(c) != "Ann" {
			t.Errorf("reopened, Ann's: %q, want Ann's still", assignee(c))
		}

		// Nobody online: it waits unassigned, until its visitor writes
		// again once somebody is.
		status(bob, "offline")
		waiting := newSession(t, s, s.Workspace.SiteKey, "").VisitorToken
		cw := write(waiting, "Hello?")
		if cw.Assignee != nil {
			t.Errorf("assigned to %q with nobody online", assignee(cw))
		}
		status(bob, "online")
		// Without a limit the queue is not handed out: it goes on when
		// its visitor writes.
		handedOut(t, s)
		s.Do("GET", "/api/v1/conversations/"+cw.ID, ann.Token, nil, http.StatusOK, &cw)
		if cw.Assignee != nil {
			t.Errorf("handed out to %q without a limit", assignee(cw))
		}
		if c := write(waiting, "Still there?"); assignee(c) != "Bob" {
			t.Errorf("a waiting conversation written in again with Bob online: %q, want Bob", assignee(c))
		}
	})
}

// Of agents with as many open conversations, the one given one the
// longest ago is next: a team that closes each conversation quickly
// still shares them out.
func TestAutoAssignTakesTurns(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, s *apptest.Server) {
		ann, _ := assigningTeam(t, s)
		var got []string
		for range 4 {
			tok := newSession(t, s, s.Workspace.SiteKey, "").VisitorToken
			var m model.Message
			s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": tok, "body": "Hi"}, http.StatusCreated, &m)
			var c model.Conversation
			s.Do("POST", "/api/v1/conversations/"+m.ConversationID+"/close", ann.Token, nil, http.StatusOK, &c)
			if c.Assignee == nil {
				t.Fatal("not assigned")
			}
			got = append(got, c.Assignee.Name)
		}
		if strings.Join(got, ",") != "Ann,Bob,Ann,Bob" {
			t.Errorf("given to %v, want Ann, Bob, Ann, Bob", got)
		}
	})
}

// A Messenger conversation is given as a website one is.
func TestAutoAssignMessenger(t *testing.T) {
	t.Parallel()
	p, ada := channelServer(t)
	p.Do("PUT", "/api/v1/me/status", ada.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	p.Do("PUT", "/api/v1/settings", ada.Token, map[string]any{"auto_assign": true}, http.StatusOK, nil)
	body := metatest.Payload(t, "messenger_text", map[string]string{"PAGE_ID": channelPage.ID, "PSID": "4455667799",
		"MID": "m_assign1", "TIME": metatest.Millis(time.Now()), "TEXT": "Is the shop open on Sunday?"})
	if status, out := p.PostWebhook(t, body, channelPage.AppSecret); status != http.StatusOK {
		t.Fatalf("webhook: %d %s", status, out)
	}
	apptest.Eventually(t, 10*time.Second, "the Messenger conversation, Ada's", func() bool {
		for _, c := range listConversations(t, p.Server, ada.Token) {
			if c.Channel == "messenger" {
				return c.Assignee != nil && c.Assignee.ID == ada.ID
			}
		}
		return false
	})
}

// Conversations started at the same moment are shared out as if one came
// after the other.
func TestAutoAssignAtOnce(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, s *apptest.Server) {
		ann, _ := assigningTeam(t, s)
		const n = 20
		tokens := make([]string, n)
		for i := range tokens {
			tokens[i] = newSession(t, s, s.Workspace.SiteKey, "").VisitorToken
		}
		var wg sync.WaitGroup
		for _, tok := range tokens {
			wg.Go(func() {
				s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": tok, "body": "Hello?"}, http.StatusCreated, nil)
			})
		}
		wg.Wait()
		got := map[string]int{}
		for _, c := range listConversations(t, s, ann.Token) {
			if c.Assignee == nil {
				t.Fatalf("conversation %s not assigned", c.ID)
			}
			got[c.Assignee.Name]++
		}
		if got["Ann"] != n/2 || got["Bob"] != n/2 {
			t.Errorf("shared out %v, want %d each", got, n/2)
		}
	})
}

// On PostgreSQL an agent removed while a conversation is being given to
// them costs the visitor nothing: the removal waits for the message, or
// the message's choice waits for the removal and takes somebody else.
func TestAutoAssignWhileTheAgentIsRemoved(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_DATABASE_URL": apptest.Postgres(t)})
	ann, bob := assigningTeam(t, s)
	// Ann has one open, Bob none: Bob is next.
	var first model.Message
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": newSession(t, s, s.Workspace.SiteKey, "").VisitorToken, "body": "One"}, http.StatusCreated, &first)
	var c model.Conversation
	s.Do("GET", "/api/v1/conversations/"+first.ConversationID, ann.Token, nil, http.StatusOK, &c)
	if c.Assignee == nil || c.Assignee.ID != ann.ID {
		t.Fatalf("first conversation given to %+v, want Ann", c.Assignee)
	}

	tok := newSession(t, s, s.Workspace.SiteKey, "").VisitorToken
	removing := make(chan struct{})
	removed := make(chan error, 1)
	go func() {
		removed <- s.App.DB.InTx(t.Context(), func(tx *store.Store) error {
			if err := tx.DeleteAgent(t.Context(), bob.ID); err != nil {
				return err
			}
			close(removing)
			time.Sleep(time.Second) // the removal is not committed yet
			return nil
		})
	}()
	<-removing
	var m model.Message
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": tok, "body": "Two"}, http.StatusCreated, &m)
	if err := <-removed; err != nil {
		t.Fatalf("removal: %v", err)
	}
	s.Do("GET", "/api/v1/conversations/"+m.ConversationID, ann.Token, nil, http.StatusOK, &c)
	if c.Assignee == nil || c.Assignee.ID != ann.ID {
		t.Errorf("second conversation given to %+v, want Ann (Bob was being removed)", c.Assignee)
	}
}

// handedOut waits until the hand-outs asked for so far are done.
func handedOut(t *testing.T, s *apptest.Server) {
	t.Helper()
	apptest.Eventually(t, 10*time.Second, "the hand-outs done", s.App.Chat.HandOutsIdle)
}

// assigningTeam adds Ann (an admin) and Bob, both online, and turns
// automatic assignment on.
func assigningTeam(t *testing.T, s *apptest.Server) (ann, bob apptest.Agent) {
	t.Helper()
	ann = s.AddAgent("ann@example.com", "Ann")
	bob = s.AddAgent("bob@example.com", "Bob")
	for _, a := range []apptest.Agent{ann, bob} {
		s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	}
	s.Do("PUT", "/api/v1/settings", ann.Token, map[string]any{"auto_assign": true}, http.StatusOK, nil)
	return ann, bob
}

// Conversations whose visitor waits while nobody online has room are
// handed out, the longest waiting first, as soon as somebody has: an agent
// coming online, an agent at the limit closing one, a larger limit saved.
// Answered, closed and just unassigned conversations are not.
func TestAutoAssignHandsOutWaiting(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann") // admin
		bob := s.AddAgent("bob@example.com", "Bob")
		status := func(a apptest.Agent, st string) {
			s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": st}, http.StatusOK, nil)
		}
		for _, a := range []apptest.Agent{ann, bob} {
			status(a, "offline")
		}
		var st model.Settings
		s.Do("PUT", "/api/v1/settings", ann.Token, map[string]any{"auto_assign": true, "auto_assign_limit": 2}, http.StatusOK, &st)
		if !st.AutoAssign || st.AutoAssignLimit != 2 {
			t.Fatalf("settings %+v, want auto_assign with a limit of 2", st)
		}
		for _, bad := range []any{-1, 1001, "two", 2.5} {
			s.Do("PUT", "/api/v1/settings", ann.Token, map[string]any{"auto_assign_limit": bad}, http.StatusBadRequest, nil)
		}
		s.Do("PUT", "/api/v1/settings", bob.Token, map[string]any{"auto_assign_limit": 5}, http.StatusForbidden, nil)

		// Visitors may write while nobody is online.
		s.Do("PUT", "/api/v1/settings", ann.Token, map[string]any{"contact_form": map[string]any{"offline_requires_form": false}}, http.StatusOK, nil)
		tokens := map[string]string{} // conversation → its visitor's token
		start := func(body string) string {
			t.Helper()
			tok := newSession(t, s, s.Workspace.SiteKey, "").VisitorToken
			var m model.Message
			s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": tok, "body": "I am " + body}, http.StatusCreated, &m)
			tokens[m.ConversationID] = tok
			return m.ConversationID
		}
		assignee := func(id string) string {
			t.Helper()
			var c model.Conversation
			s.Do("GET", "/api/v1/conversations/"+id, ann.Token, nil, http.StatusOK, &c)
			if c.Assignee == nil {
				return ""
			}
			return c.Assignee.Name
		}
		want := func(when string, ids []string, names ...string) {
			t.Helper()
			handedOut(t, s)
			var got []string
			for _, id := range ids {
				got = append(got, assignee(id))
			}
			if strings.Join(got, ",") != strings.Join(names, ",") {
				t.Errorf("%s: assignees %q, want %q", when, got, names)
			}
		}

		a, b, c, d := start("Ava"), start("Ben"), start("Cy"), start("Dee")
		answered, closed := start("Eve"), start("Fay")
		s.Do("POST", "/api/v1/conversations/"+answered+"/messages", ann.Token, map[string]string{"body": "We will be back at nine.", "kind": "reply"}, http.StatusCreated, nil)
		s.Do("PUT", "/api/v1/conversations/"+answered+"/assignee", ann.Token, map[string]any{"agent_id": nil}, http.StatusOK, nil)
		s.Do("POST", "/api/v1/conversations/"+closed+"/close", ann.Token, nil, http.StatusOK, nil)
		all := []string{a, b, c, d, answered, closed}
		want("nobody online", all, "", "", "", "", "", "")

		status(ann, "online")
		want("Ann online, room for two", all, "Ann", "Ann", "", "", "", "")
		status(bob, "online")
		want("Bob online too", all, "Ann", "Ann", "Bob", "Bob", "", "")

		// A new conversation while both are full waits; Ann closing one
		// gives it to her.
		g := start("Gus")
		want("both full", []string{g}, "")
		s.Do("POST", "/api/v1/conversations/"+a+"/close", ann.Token, nil, http.StatusOK, nil)
		want("Ann closed one", []string{g}, "Ann")

		// Unassigned by its agent: not handed out again, but Bob has room
		// for the next one waiting.
		h := start("Hal")
		want("both full again", []string{h}, "")
		s.Do("PUT", "/api/v1/conversations/"+d+"/assignee", bob.Token, map[string]any{"agent_id": nil}, http.StatusOK, nil)
		want("Bob let one go", []string{d, h}, "", "Bob")
		// A larger limit: room for both, and the one let go is still not
		// handed out, until its visitor writes: then it goes to Ann, as
		// busy as Bob and given one longer ago.
		s.Do("PUT", "/api/v1/settings", ann.Token, map[string]any{"auto_assign_limit": 3}, http.StatusOK, nil)
		want("limit three", []string{d, answered}, "", "")
		s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": tokens[d], "body": "Hello again?"}, http.StatusCreated, nil)
		want("its visitor wrote again", []string{d}, "Ann")

		// The line says who and why.
		var msgs struct{ Messages []model.Message }
		s.Do("GET", "/api/v1/conversations/"+c+"/messages", ann.Token, nil, http.StatusOK, &msgs)
		found := false
		for _, m := range msgs.Messages {
			found = found || m.Kind == model.KindEvent && m.Body == "Assigned automatically to Bob, the online agent with the fewest open conversations."
		}
		if !found {
			t.Errorf("no line saying it was handed out: %+v", msgs.Messages)
		}

		// Bob removed: his conversations wait for somebody, and Ann, once
		// she closed one, has room for one of them (the visitor who waited
		// longer).
		s.Do("POST", "/api/v1/conversations/"+b+"/close", ann.Token, nil, http.StatusOK, nil)
		s.Do("DELETE", "/api/v1/agents/"+bob.ID, ann.Token, nil, http.StatusNoContent, nil)
		want("Bob removed", []string{c, h}, "Ann", "")
	})
}

// A bulk close frees its agent's room once it is done: the waiting
// conversations it closes are not handed out on the way.
func TestHandOutAfterABulkClose(t *testing.T) {
	eachDB(t, map[string]string{"PARLEY_RATE_LIMITS": "off"}, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann") // admin
		s.Do("PUT", "/api/v1/me/status", ann.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
		s.Do("PUT", "/api/v1/settings", ann.Token, map[string]any{"auto_assign": true, "auto_assign_limit": 1}, http.StatusOK, nil)
		const spam = 100
		ids := []string{newConversation(t, s, s.Workspace.SiteKey, "Mine", "Mine").ConversationID}
		for i := range spam {
			ids = append(ids, newConversation(t, s, s.Workspace.SiteKey, "Spam", fmt.Sprint("Spam ", i)).ConversationID)
		}
		ids = append(ids, newConversation(t, s, s.Workspace.SiteKey, "Vera", "A real question").ConversationID)
		handedOut(t, s)
		b := newBrowser(t, s)
		b.login("ann@example.com")
		a := b.post("/dashboard/conversations/bulk", url.Values{"action": {"close"}, "id": ids[:1+spam], "filter": {"open"}, "view": {"all"}})
		if a.Status != http.StatusSeeOther {
			t.Fatalf("bulk close: %d %s", a.Status, a.Body)
		}
		handedOut(t, s)
		for i, id := range ids {
			var msgs struct{ Messages []model.Message }
			s.Do("GET", "/api/v1/conversations/"+id+"/messages", ann.Token, nil, http.StatusOK, &msgs)
			given := false
			for _, m := range msgs.Messages {
				given = given || strings.HasPrefix(m.Body, "Assigned automatically to Ann")
			}
			if want := i == 0 || i == len(ids)-1; given != want {
				t.Errorf("conversation %d (%s): given automatically %v, want %v", i, id, given, want)
			}
		}
	})
}

// Two agents coming online at once share the queue within the limit, and
// each waiting conversation is handed out once.
func TestHandOutAtOnce(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann") // admin
		bob := s.AddAgent("bob@example.com", "Bob")
		s.Do("PUT", "/api/v1/settings", ann.Token, map[string]any{"auto_assign": true, "auto_assign_limit": 10,
			"contact_form": map[string]any{"offline_requires_form": false}}, http.StatusOK, nil)
		const n = 20
		for range n {
			tok := newSession(t, s, s.Workspace.SiteKey, "").VisitorToken
			s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": tok, "body": "Hello?"}, http.StatusCreated, nil)
		}
		var wg sync.WaitGroup
		for _, a := range []apptest.Agent{ann, bob} {
			wg.Go(func() {
				s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
			})
		}
		wg.Wait()
		handedOut(t, s)
		got := map[string]int{}
		for _, c := range listConversations(t, s, ann.Token) {
			if c.Assignee == nil {
				t.Errorf("conversation %s not handed out", c.ID)
				continue
			}
			got[c.Assignee.Name]++
			var msgs struct{ Messages []model.Message }
			s.Do("GET", "/api/v1/conversations/"+c.ID+"/messages", ann.Token, nil, http.StatusOK, &msgs)
			lines := 0
			for _, m := range msgs.Messages {
				if m.Kind == model.KindEvent && strings.HasPrefix(m.Body, "Assigned automatically") {
					lines++
				}
			}
			if lines != 1 {
				t.Errorf("conversation %s: %d lines of automatic assignment, want 1", c.ID, lines)
			}
		}
		if got["Ann"] != n/2 || got["Bob"] != n/2 {
			t.Errorf("shared out %v, want %d each", got, n/2)
		}
	})
}
