package web_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/parleychat/parley/internal/apptest"
)

// get fetches a URL as it is on the wire: setting Accept-Encoding turns
// off the client's own transparent gzip.
func get(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

func decodeBody(t *testing.T, encoding string, body []byte) []byte {
	t.Helper()
	var rd io.Reader
	switch encoding {
	case "":
		return body
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		rd = zr
	case "br":
		rd = brotli.NewReader(bytes.NewReader(body))
	default:
		t.Fatalf("unexpected Content-Encoding %q", encoding)
	}
	out, err := io.ReadAll(rd)
	if err != nil {
		t.Fatalf("decode %s body: %v", encoding, err)
	}
	return out
}

// Every static asset is served precompressed by Accept-Encoding, with
// Vary, a strong ETag per encoding that answers 304, and the cache
// lifetime of its URL.
func TestStaticAssets(t *testing.T) {
	srv := apptest.Start(t, nil)

	// The dashboard names its assets with their content hash.
	_, login := get(t, srv.URL+"/dashboard/login", nil)
	css := regexp.MustCompile(`href="(/dashboard/static/dashboard\.css\?v=[0-9a-f]+)"`).FindSubmatch(login)
	js := regexp.MustCompile(`src="(/dashboard/static/dashboard\.js\?v=[0-9a-f]+)"`).FindSubmatch(login)
	if css == nil || js == nil {
		t.Fatalf("login page names no versioned assets:\n%s", login)
	}
	// Parley's own pages name the widget by version; sites keep /widget.js.
	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": srv.Workspace.SiteKey}, http.StatusOK, &sess)
	_, chat := get(t, srv.URL+"/chat/"+sess.VisitorToken, nil)
	versioned := regexp.MustCompile(`src="` + regexp.QuoteMeta(srv.URL) + `(/widget/widget\.[0-9a-f]{12}\.js)"`).FindSubmatch(chat)
	if versioned == nil {
		t.Fatalf("the chat link page names no versioned widget:\n%s", chat)
	}
	// The widget is served minified (its bytes: TestAssetsMinified).
	var wantWidget []byte

	type asset struct {
		path, cache, contentType string
		want                     []byte // nil: not checked byte for byte
	}
	assets := []asset{
		{"/widget.js", "public, max-age=300, stale-while-revalidate=86400", "text/javascript; charset=utf-8", wantWidget},
		{string(versioned[1]), "public, max-age=31536000, immutable", "text/javascript; charset=utf-8", wantWidget},
		{"/widget/widget.000000000000.js", "no-cache", "text/javascript; charset=utf-8", wantWidget},
		{string(css[1]), "public, max-age=31536000, immutable", "text/css; charset=utf-8", nil},
		{string(js[1]), "public, max-age=31536000, immutable", "text/javascript; charset=utf-8", nil},
		{"/dashboard/static/dashboard.css", "no-cache", "text/css; charset=utf-8", nil},
	}
	encodings := []struct{ accept, want string }{
		{"", ""},
		{"identity", ""},
		{"gzip", "gzip"},
		{"gzip, deflate, br, zstd", "br"},
		{"br", "br"},
		{"br;q=0, gzip;q=0.8", "gzip"},
	}
	for _, a := range assets {
		var plain []byte
		for _, e := range encodings {
			h := map[string]string{}
			if e.accept != "" {
				h["Accept-Encoding"] = e.accept
			}
			res, body := get(t, srv.URL+a.path, h)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s (%s): %d", a.path, e.accept, res.StatusCode)
			}
			if got := res.Header.Get("Content-Encoding"); got != e.want {
				t.Errorf("GET %s with Accept-Encoding %q: Content-Encoding %q, want %q", a.path, e.accept, got, e.want)
			}
			if got := res.Header.Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("GET %s: Vary %q, want Accept-Encoding", a.path, got)
			}
			if got := res.Header.Get("Cache-Control"); got != a.cache {
				t.Errorf("GET %s: Cache-Control %q, want %q", a.path, got, a.cache)
			}
			if got := res.Header.Get("Content-Type"); got != a.contentType {
				t.Errorf("GET %s: Content-Type %q, want %q", a.path, got, a.contentType)
			}
			decoded := decodeBody(t, e.want, body)
			if plain == nil {
				plain = decoded
				if a.want != nil && !bytes.Equal(plain, a.want) {
					t.Errorf("GET %s: body differs from the embedded file", a.path)
				}
			} else if !bytes.Equal(decoded, plain) {
				t.Errorf("GET %s with %q: decoded body differs from the plain one", a.path, e.accept)
			}
			if e.want != "" && len(body) >= len(plain) {
				t.Errorf("GET %s with %q: %d bytes on the wire for %d plain", a.path, e.accept, len(body), len(plain))
			}

			etag := res.Header.Get("ETag")
			if !regexp.MustCompile(`^"[0-9a-f]{12}(-br|-gz)?"$`).MatchString(etag) {
				t.Fatalf("GET %s: ETag %q is not a strong content tag", a.path, etag)
			}
			h["If-None-Match"] = etag
			res, body = get(t, srv.URL+a.path, h)
			if res.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Errorf("GET %s with If-None-Match %s: %d, %d bytes; want 304, empty", a.path, etag, res.StatusCode, len(body))
			}
			if got := res.Header.Get("ETag"); got != etag {
				t.Errorf("304 of %s: ETag %q, want %q", a.path, got, etag)
			}
			h["If-None-Match"] = `"0000"`
			if res, _ := get(t, srv.URL+a.path, h); res.StatusCode != http.StatusOK {
				t.Errorf("GET %s with a stale If-None-Match: %d, want 200", a.path, res.StatusCode)
			}
		}
	}
	// A versioned URL names the bytes it serves (minified): the hash in it is
	// theirs, so an upgrade that changes them changes the URL.
	for _, path := range []string{string(versioned[1]), string(js[1]), string(css[1])} {
		_, body := get(t, srv.URL+path, nil)
		sum := sha256.Sum256(body)
		if want := hex.EncodeToString(sum[:6]); !regexp.MustCompile(`[.=]` + want + `(\.js)?$`).MatchString(path) {
			t.Errorf("%s serves bytes whose hash starts %s", path, want)
		}
	}

	// Each encoding has its own tag: a cached gzip copy is no brotli copy.
	r1, _ := get(t, srv.URL+"/widget.js", map[string]string{"Accept-Encoding": "gzip"})
	r2, _ := get(t, srv.URL+"/widget.js", map[string]string{"Accept-Encoding": "br"})
	if r1.Header.Get("ETag") == r2.Header.Get("ETag") {
		t.Errorf("gzip and brotli share the ETag %s", r1.Header.Get("ETag"))
	}
	if r, _ := get(t, srv.URL+"/widget.js", map[string]string{"Accept-Encoding": "br", "If-None-Match": r1.Header.Get("ETag")}); r.StatusCode != http.StatusOK {
		t.Errorf("brotli request with the gzip ETag: %d, want 200", r.StatusCode)
	}
	if got := r2.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("/widget.js: Access-Control-Allow-Origin %q", got)
	}
	for _, p := range []string{"/widget/other.js", "/widget/widget.js", "/dashboard/static/missing.css"} {
		if r, _ := get(t, srv.URL+p, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.StatusCode)
		}
	}
}

// TestFavicon: the icon browsers ask every page for is there (no 404 in
// the console of the demo page, a chat link or an error page), and the
// dashboard's pages name it.
func TestFavicon(t *testing.T) {
	srv := apptest.Start(t, nil)
	res, body := get(t, srv.URL+"/favicon.ico", nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/svg+xml" || !bytes.HasPrefix(body, []byte("<svg")) {
		t.Fatalf("/favicon.ico: %d %q %.40q", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	_, page := get(t, srv.URL+"/dashboard/login", nil)
	m := regexp.MustCompile(`<link rel="icon" href="([^"]+)" type="image/svg\+xml">`).FindSubmatch(page)
	if m == nil {
		t.Fatal("the sign-in page names no icon")
	}
	if res, _ := get(t, srv.URL+string(m[1]), nil); res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("%s: %d %q", m[1], res.StatusCode, res.Header.Get("Content-Type"))
	}
}
