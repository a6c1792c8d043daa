package web

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"path"
)

// The dashboard's embedded static files (scripts, styles, images), served
// with a content hash in their URL so they can be cached for good.

//go:embed static/*
var staticFS embed.FS

var staticFiles = loadStatic()

// loadStatic reads and compresses the embedded dashboard assets.
func loadStatic() map[string]*asset {
	files := map[string]*asset{}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(fmt.Sprintf("read embedded dashboard assets: %v", err))
	}
	types := map[string]string{
		".js":  "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8",
		".svg": "image/svg+xml",
	}
	for _, e := range entries {
		body, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(fmt.Sprintf("read embedded dashboard asset %s: %v", e.Name(), err))
		}
		ct := types[path.Ext(e.Name())]
		if ct == "" {
			ct = "application/octet-stream"
		}
		files[e.Name()] = newAsset(e.Name(), ct, body)
	}
	return files
}

// staticURL is the versioned URL of an embedded asset.
func staticURL(name string) (string, error) {
	f, ok := staticFiles[name]
	if !ok {
		return "", fmt.Errorf("no dashboard asset %q", name)
	}
	return "/dashboard/static/" + name + "?v=" + f.version(), nil
}

func (s *Server) dashStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := staticFiles[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	cache := "no-cache"
	if r.URL.Query().Get("v") == f.version() {
		cache = cacheImmutable
	}
	f.serve(w, r, cache)
}

// favicon answers the icon browsers ask every page of the site for (the
// demo page, a chat link, an error page): the dashboard's, an SVG, which
// the dashboard's pages also name in their head.
func (s *Server) favicon(w http.ResponseWriter, r *http.Request) {
	staticFiles["favicon.svg"].serve(w, r, "public, max-age=86400")
}
