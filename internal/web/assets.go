package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// The dashboard's embedded static files (scripts, styles, images), served
// with a content hash in their URL so they can be cached for good.

// startTime is the modification time of every embedded file.
var startTime = time.Now()

//go:embed static/*
var staticFS embed.FS

// staticFile is one embedded asset with its content hash (for cache busting).
type staticFile struct {
	body        []byte
	contentType string
	hash        string
}

var staticFiles = loadStatic()

func loadStatic() map[string]staticFile {
	files := map[string]staticFile{}
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
		sum := sha256.Sum256(body)
		ct := types[path.Ext(e.Name())]
		if ct == "" {
			ct = "application/octet-stream"
		}
		files[e.Name()] = staticFile{body: body, contentType: ct, hash: hex.EncodeToString(sum[:6])}
	}
	return files
}

// staticURL is the versioned URL of an embedded asset.
func staticURL(name string) (string, error) {
	f, ok := staticFiles[name]
	if !ok {
		return "", fmt.Errorf("no dashboard asset %q", name)
	}
	return "/dashboard/static/" + name + "?v=" + f.hash, nil
}

func (s *Server) dashStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := staticFiles[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	if r.URL.Query().Get("v") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, r.PathValue("file"), startTime, bytes.NewReader(f.body))
}
