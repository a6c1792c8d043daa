package web

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

// Bulk changes: the list's selection mode, where an agent selects several
// conversations and closes, reopens, assigns or tags them at once. Each
// conversation is changed as its own form would change it (the same
// events, notes and webhooks); the answer says how many changed.

// maxBulk is how many conversations one bulk change takes: a page of the
// list and a few more loaded.
const maxBulk = 200

// bulkView is the selection bar's state on a page.
type bulkView struct {
	// Picked are the conversations selected (a refused change keeps them).
	Picked map[string]bool
	// Done says what the last change did; Error why it did not, or not
	// for every conversation.
	Done, Error string
	// TagInput is the tag field's text, kept when refused.
	TagInput string
	// Unshown are the selected conversations the list does not show (past
	// the rows loaded, or gone from the view): the form still sends them.
	Unshown []string
}

// bulkAction changes one conversation; changed is false when it found it
// as asked already.
type bulkAction struct {
	name  string // "close", "reopen", "assign", "tag"
	to    string // assign: the agent's id, "" for nobody
	tag   string // tag: the tag as kept
	apply func(ctx context.Context, id string) (changed bool, err error)
}

func (s *Server) dashBulk(w http.ResponseWriter, r *http.Request, sess *session) {
	st := listOf(r)
	current := r.PostFormValue("conversation")
	ids := pickedIDs(r.PostForm["id"])
	action, problem := s.bulkActionOf(r, sess)
	switch {
	case problem != "":
	case len(ids) == 0:
		problem = "Select the conversations to change first."
	case len(ids) > maxBulk:
		problem = fmt.Sprintf("At most %d conversations can be changed at once; %d are selected.", maxBulk, len(ids))
	}
	if problem != "" {
		s.bulkPage(w, r, sess, st, current, ids, http.StatusBadRequest, problem)
		return
	}
	// Once begun, the change goes to every conversation selected, also
	// when the agent's browser goes away meanwhile.
	ctx := context.WithoutCancel(r.Context())
	// What it frees is handed out once it is done, not to the
	// conversations it is about to change.
	release := s.svc.HoldHandOuts(ctx, sess.agent.WorkspaceID)
	defer release()
	done, same := 0, 0
	var (
		failed []string // what could not be changed
		keep   []string // of those, what is still there to select
	)
	var firstErr error
	for _, id := range ids {
		changed, err := action.apply(ctx, id)
		if err != nil {
			if a := answerOf(err); a.Internal {
				s.logInternal(ctx, "bulk change failed", err, "conversation", id)
			}
			failed = append(failed, id)
			if answerOf(err).Code != chat.CodeNotFound { // gone (erased): no longer selected
				keep = append(keep, id)
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if changed {
			done++
		} else {
			same++
		}
	}
	release()
	if len(failed) > 0 {
		// What failed stays selected, to try again or look into.
		a := answerOf(firstErr)
		msg := fmt.Sprintf("%s %d could not be changed: %s", s.bulkSaid(r.Context(), sess, action, done, same), len(failed), a.text())
		s.bulkPage(w, r, sess, st, current, keep, a.Status, msg)
		return
	}
	q := "bulk=" + action.name + "&n=" + strconv.Itoa(done) + "&same=" + strconv.Itoa(same)
	switch action.name {
	case "assign":
		q += "&to=" + url.QueryEscape(action.to)
	case "tag":
		q += "&added=" + url.QueryEscape(action.tag)
	}
	http.Redirect(w, r, withQuery(st.at(current), q), http.StatusSeeOther)
}

// bulkActionOf reads the change asked (the button pressed) and its field;
// problem says why it cannot be made.
func (s *Server) bulkActionOf(r *http.Request, sess *session) (action bulkAction, problem string) {
	a := sess.agent
	status := func(name, to string) bulkAction {
		return bulkAction{name: name, apply: func(ctx context.Context, id string) (bool, error) {
			return s.svc.ChangeStatus(ctx, a, id, to)
		}}
	}
	switch act := r.PostFormValue("action"); act {
	case "close":
		return status(act, "closed"), ""
	case "reopen":
		return status(act, "open"), ""
	case "assign":
		var to *string
		switch v := r.PostFormValue("agent_id"); v {
		case "?", "-":
			return bulkAction{}, "Choose whom to assign the selected conversations to."
		case "":
		case "me":
			to = &a.ID
		default:
			to = &v
		}
		action = bulkAction{name: act, apply: func(ctx context.Context, id string) (bool, error) {
			return s.svc.ChangeAssignee(ctx, a, id, to)
		}}
		if to != nil {
			action.to = *to
		}
		return action, ""
	case "tag":
		tag, err := chat.NormalizeTag(r.PostFormValue("tag"))
		if err != nil {
			return bulkAction{}, answerOf(err).text()
		}
		return bulkAction{name: act, tag: tag, apply: func(ctx context.Context, id string) (bool, error) {
			return s.svc.ChangeTags(ctx, a, id, tag)
		}}, ""
	default:
		return bulkAction{}, "Choose what to do with the selected conversations."
	}
}

// bulkSaid is what a change did, as the bar says it: "Closed 3
// conversations.", "Assigned to Ana: 2 conversations (1 was already).":
// n changed, same found as asked already.
func (s *Server) bulkSaid(ctx context.Context, sess *session, action bulkAction, n, same int) string {
	count := conversations(n)
	if same > 0 {
		was := "1 was"
		if same > 1 {
			was = strconv.Itoa(same) + " were"
		}
		count += " (" + was + " already)"
	}
	count += "."
	switch action.name {
	case "close":
		return "Closed " + count
	case "reopen":
		return "Reopened " + count
	case "tag":
		return "Tagged " + action.tag + ": " + count
	case "assign":
		switch action.to {
		case "":
			return "Unassigned " + count
		case sess.agent.ID:
			return "Assigned to you: " + count
		}
		agents, err := s.svc.Assignees(ctx, sess.agent)
		if err == nil {
			for _, ag := range agents {
				if ag.ID == action.to {
					return "Assigned to " + ag.Name + ": " + count
				}
			}
		}
		return "Assigned " + count
	}
	return ""
}

// bulkDone reads the answer of a bulk change from the page's query, in
// the server's own words: a link made up to show words of its own shows
// nothing (an agent's name and a tag are shown only as the workspace
// spells them; the counts are the link's).
func (s *Server) bulkDone(ctx context.Context, sess *session, q url.Values) *bulkView {
	n, err := strconv.Atoi(q.Get("n"))
	same, serr := strconv.Atoi(cmp.Or(q.Get("same"), "0"))
	if err != nil || serr != nil || n < 0 || same < 0 || n+same > maxBulk {
		return nil
	}
	action := bulkAction{name: q.Get("bulk"), to: q.Get("to")}
	switch action.name {
	case "close", "reopen", "assign":
	case "tag":
		key := chat.TagKeyOf(q.Get("added"))
		names, err := s.svc.TagNames(ctx, sess.agent)
		if err != nil {
			return nil
		}
		i := slices.IndexFunc(names, func(n string) bool { return model.TagKey(n) == key })
		if i < 0 {
			return nil
		}
		action.tag = names[i]
	default:
		return nil
	}
	return &bulkView{Done: s.bulkSaid(ctx, sess, action, n, same)}
}

// pickedIDs are the selected conversations, each once, in the list's order.
func pickedIDs(raw []string) []string {
	var ids []string
	for _, id := range raw {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// bulkPage shows the list again in selection mode, with what is still to
// change selected and the bar's message.
func (s *Server) bulkPage(w http.ResponseWriter, r *http.Request, sess *session, st listState, current string, ids []string, status int, msg string) {
	b := &bulkView{Picked: make(map[string]bool, len(ids)), Error: msg, TagInput: r.PostFormValue("tag")}
	for _, id := range ids {
		b.Picked[id] = true
	}
	// As many rows as the agent had loaded (the form says), so that what
	// they selected further down is shown again.
	limit := ""
	if n, err := strconv.Atoi(r.PostFormValue("shown")); err == nil && n > chat.DefaultPageSize {
		limit = strconv.Itoa(min(n, chat.MaxPageSize))
	}
	edit := func(p *page) {
		p.Bulk, p.Selecting = b, true
		for _, id := range ids {
			if !slices.ContainsFunc(p.Items, func(it convItem) bool { return it.ID == id }) {
				b.Unshown = append(b.Unshown, id)
			}
		}
	}
	if current != "" {
		if cv, err := s.svc.Conversation(r.Context(), sess.agent, current); err == nil {
			s.conversationPageWith(w, r, sess, status, cv, nil, edit)
			return
		}
	}
	p := &page{Title: "Conversations", Nav: "inbox"}
	s.fillChrome(r.Context(), r, p, sess)
	if err := s.fillList(r.Context(), p, sess, st, "", "", limit, newClock(p.Workspace.Location())); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	edit(p)
	s.render(w, status, "inbox", p)
}

// dashBulkPage answers a reload of the page a refused bulk change showed
// (its address is the form's): the list, selecting.
func (s *Server) dashBulkPage(w http.ResponseWriter, r *http.Request, _ *session) {
	http.Redirect(w, r, "/dashboard?select=1", http.StatusSeeOther)
}

func conversations(n int) string {
	if n == 1 {
		return "1 conversation"
	}
	return strconv.Itoa(n) + " conversations"
}

// Picked tells whether the list's row of conversation id is selected.
func (p *page) Picked(id string) bool { return p.Bulk != nil && p.Bulk.Picked[id] }
