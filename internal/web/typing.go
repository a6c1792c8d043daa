package web

import (
	"context"
	"encoding/json"
	"net/http"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
)

// Typing indicators and the visitor's pages: the agent's typing call and
// WebSocket frame, and the list of a visitor's last pages.

// postTyping: the agent is typing in a conversation (never stored).
func (s *Server) postTyping(w http.ResponseWriter, r *http.Request, a model.Agent) {
	if err := s.svc.AgentTyping(r.Context(), a, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// visitorPages lists a visitor's last pages, newest first.
func (s *Server) visitorPages(w http.ResponseWriter, r *http.Request, a model.Agent) {
	pages, err := s.svc.VisitorPages(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"pages": pages})
}

// agentClientFrame is a frame an agent's connection sends.
type agentClientFrame struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id"`
}

// agentFrame handles a frame of an agent's connection: only typing.
func (s *Server) agentFrame(ctx context.Context, a model.Agent, conn *realtime.Conn, raw []byte) {
	var f agentClientFrame
	if !utf8.Valid(raw) || json.Unmarshal(raw, &f) != nil {
		conn.Push(encodeFrame(errorFrame{Type: realtime.FrameError, Code: "bad_frame", Message: "frame is not a JSON object of the agent protocol"}))
		return
	}
	if hasEscapedNUL(raw) {
		conn.Push(encodeFrame(errorFrame{Type: realtime.FrameError, Code: "bad_frame", Message: errNUL}))
		return
	}
	if f.Type != "typing" {
		conn.Push(encodeFrame(errorFrame{Type: realtime.FrameError, Code: "bad_frame", Message: "unknown frame type " + quoteShort(f.Type)}))
		return
	}
	if err := s.svc.AgentTyping(ctx, a, f.ConversationID); err != nil {
		s.failFrame(ctx, conn, "", err, "agent", a.ID, "type", f.Type)
	}
}
