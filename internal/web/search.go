package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

// Search: the API's GET /api/v1/search, and the dashboard's results page.

func (s *Server) search(w http.ResponseWriter, r *http.Request, a model.Agent) {
	limit, ok := searchLimit(w, r)
	if !ok {
		return
	}
	results, err := s.svc.Search(r.Context(), a, r.URL.Query().Get("q"), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

// searchLimit reads the limit parameter: absent is the default, above the
// maximum is the maximum, anything but a positive number is refused.
func searchLimit(w http.ResponseWriter, r *http.Request) (int, bool) {
	raw := r.URL.Query().Get("limit")
	if raw == "" {
		return 0, true
	}
	n, err := strconv.Atoi(raw)
	if errors.Is(err, strconv.ErrRange) && raw[0] != '-' {
		return chat.MaxSearchLimit, true // above the maximum, however far
	}
	if err != nil || n < 1 {
		writeError(w, http.StatusBadRequest, chat.CodeBadRequest, "limit is a number from 1 to 100")
		return 0, false
	}
	return n, true
}
