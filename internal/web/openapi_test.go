package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/parleychat/parley/internal/apptest"
)

// notServedYet are operations of spec/api-1.1.md that the document
// describes and this build does not serve yet. Each must answer 404 until
// it is served; the test fails as soon as one is registered, so that the
// entry is removed here and the route is checked like the others.
var notServedYet = []string{}

// undescribed are registered routes under the described prefixes that are
// not API operations.
var undescribed = map[string]string{
	"OPTIONS /api/widget/v1/": "the CORS preflight of every widget call, answered for the browser",
}

type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

func fetchOpenAPI(t *testing.T, s *apptest.Server) []byte {
	t.Helper()
	resp, err := http.Get(s.URL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return raw
}

// TestOpenAPIIsValid checks the served document against the OpenAPI 3.1
// schema and that its references resolve.
func TestOpenAPIIsValid(t *testing.T) {
	s := apptest.Start(t, nil)
	raw := fetchOpenAPI(t, s)
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", v)
	}
	if _, err := doc.BuildV3Model(); err != nil {
		t.Fatalf("build the model (unresolved references?): %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  %s at %s (%s)", se.Reason, se.FieldPath, se.KeywordLocation)
			}
		}
	}
	ids := map[string]string{}
	var d struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	for path, item := range d.Paths {
		for method, op := range item {
			if prev, dup := ids[op.OperationID]; dup || op.OperationID == "" {
				t.Errorf("%s %s: operationId %q empty or also used by %s", method, path, op.OperationID, prev)
			}
			ids[op.OperationID] = method + " " + path
		}
	}
}

var param = regexp.MustCompile(`\{[^}]+\}`)

// TestOpenAPICoversTheRoutes fails when a route of /api/v1 or
// /api/widget/v1 is registered without a description, or a described route
// is not served: asked without credentials, it must answer anything but
// the 404 not_found of an unknown route (401, 400 or 405 show that the
// route exists).
func TestOpenAPICoversTheRoutes(t *testing.T) {
	s := apptest.Start(t, nil)
	var doc openAPIDoc
	if err := json.Unmarshal(fetchOpenAPI(t, s), &doc); err != nil {
		t.Fatal(err)
	}
	described := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			described[strings.ToUpper(method)+" "+path] = true
		}
	}

	registered := map[string]bool{}
	for _, route := range s.App.Web.Routes() {
		method, path, ok := strings.Cut(route, " ")
		if !ok {
			method, path = "", route
		}
		if !strings.HasPrefix(path, "/api/v1/") && !strings.HasPrefix(path, "/api/widget/v1/") {
			continue
		}
		registered[route] = true
		if _, skip := undescribed[route]; skip {
			continue
		}
		if method == "" {
			t.Errorf("route %q takes every method: give it one, and describe it", route)
			continue
		}
		if !described[route] {
			t.Errorf("route %q is registered but not described in /api/openapi.json (internal/web/openapi.go)", route)
		}
	}
	for route := range undescribed {
		if !registered[route] {
			t.Errorf("undescribed lists %q, which is not registered any more", route)
		}
	}

	for route := range described {
		method, path, _ := strings.Cut(route, " ")
		pending := slices.Contains(notServedYet, route)
		if pending && registered[route] {
			t.Errorf("%s is served now: remove it from notServedYet", route)
			continue
		}
		url := s.URL + param.ReplaceAllString(path, "0000000000000000")
		var body io.Reader
		if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
			body = strings.NewReader("{}")
		}
		req, err := http.NewRequest(method, url, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", route, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// A 404 with a domain's code (unknown_site for a missing site
		// key) or its own words (a missing picture) comes from the
		// route's handler; a route that does not exist answers not_found,
		// "no such endpoint".
		missing := resp.StatusCode == http.StatusNotFound && apptest.ErrorCode(raw) == "not_found" &&
			strings.Contains(string(raw), "no such endpoint")
		switch {
		case pending && !missing:
			t.Errorf("%s answers %d %s though it is listed as not served yet", route, resp.StatusCode, raw)
		case !pending && missing:
			t.Errorf("%s is described but the server answers 404 %s", route, raw)
		}
	}
	for _, route := range notServedYet {
		if !described[route] {
			t.Errorf("notServedYet lists %q, which the document does not describe", route)
		}
	}
}

// TestOpenAPIDescribesTheAnswers: real answers of the agent API, read as
// a client generated from the document would, match their description
// (fields, types, required ones).
func TestOpenAPIDescribesTheAnswers(t *testing.T) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	s, a, sess, first := chattingOn(t, map[string]string{"PARLEY_WEBHOOK_ALLOW_PRIVATE": "1"})
	doc, err := libopenapi.NewDocument(fetchOpenAPI(t, s))
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	var hook struct {
		Webhook struct{ ID string } `json:"webhook"`
	}
	s.Do("POST", "/api/v1/webhooks", a.Token, map[string]any{"url": receiver.URL, "events": []string{"message.created"}}, http.StatusCreated, &hook)
	conv := first.ConversationID
	s.Do("POST", "/api/v1/conversations/"+conv+"/messages", a.Token, map[string]string{"body": "Hello Vera", "kind": "reply"}, http.StatusCreated, nil)
	apptest.Eventually(t, 10*time.Second, "a delivery in the log", func() bool {
		var log struct{ Deliveries []json.RawMessage }
		s.Do("GET", "/api/v1/webhooks/"+hook.Webhook.ID+"/deliveries", a.Token, nil, http.StatusOK, &log)
		return len(log.Deliveries) > 0
	})

	s.Do("POST", "/api/v1/me/tokens", a.Token, map[string]any{"name": "never", "expires_in_days": 0, "password": apptest.AgentPassword}, http.StatusCreated, nil)
	s.Do("POST", "/api/v1/me/tokens", a.Token, map[string]any{"name": "a month", "expires_in_days": 30, "password": apptest.AgentPassword}, http.StatusCreated, nil)

	for _, path := range []string{
		"/api/v1/me",
		"/api/v1/me/tokens",
		"/api/v1/conversations",
		"/api/v1/conversations/" + conv,
		"/api/v1/conversations/" + conv + "/messages",
		"/api/v1/visitors/" + sess.Visitor.ID,
		"/api/v1/webhooks",
		"/api/v1/webhooks/" + hook.Webhook.ID + "/deliveries",
		"/api/v1/tags",
	} {
		req, err := http.NewRequest("GET", s.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+a.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
			continue
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		req.URL.Host, req.URL.Scheme = "", "" // matched against the document's paths alone
		if ok, verrs := v.ValidateHttpResponse(req, resp); !ok {
			for _, e := range verrs {
				t.Errorf("GET %s: %s: %s", path, e.Message, e.Reason)
				for _, se := range e.SchemaValidationErrors {
					t.Errorf("  %s at %s", se.Reason, se.FieldPath)
				}
			}
			t.Logf("GET %s answered %s", path, body)
		}
	}
}
