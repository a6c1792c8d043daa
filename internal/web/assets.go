package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/evanw/esbuild/pkg/api"
)

// Static assets (widget.js, the dashboard's script and style sheet) are
// minified and compressed once, with gzip and brotli at their best levels,
// and served as they are. This work (about a quarter of a second of CPU for
// all of them) is not done when the process starts, which every command
// and test binary would pay: serve does it in the background as it starts
// listening (CompressAssets), and a request that comes first does it for
// its asset.

// Cache lifetimes of the assets.
const (
	// cacheImmutable is for versioned URLs: the content hash is in the URL,
	// so a new version is a new URL.
	cacheImmutable = "public, max-age=31536000, immutable"
	// cacheSnippet is for /widget.js, the URL embedding sites keep: a page
	// view within five minutes uses the cached copy, a later one uses it too
	// while the browser revalidates it in the background (a 304 when
	// nothing changed), so an upgrade reaches visitors within a page view.
	cacheSnippet = "public, max-age=300, stale-while-revalidate=86400"
)

// asset is one static file ready to serve: its source, the bytes served
// (the source minified, for a script or style sheet) with the content hash
// that versions its URL, and their gzip and brotli encodings. Both are
// made on first use.
type asset struct {
	name        string
	contentType string
	source      []byte

	minified sync.Once
	raw      []byte // served as it is, when the client takes no encoding
	hash     string // the first 12 hex digits of the SHA-256 of raw

	compressed sync.Once
	gz, br     []byte // set by compress; nil for an encoding that is no smaller
}

// newAsset keeps source; it is minified and compressed on first use.
func newAsset(name, contentType string, source []byte) *asset {
	return &asset{name: name, contentType: contentType, source: source}
}

// plain returns the bytes served and their hash, minifying the source the
// first time.
func (a *asset) plain() (raw []byte, hash string) {
	a.minified.Do(func() {
		a.raw = minify(a.name, a.source)
		sum := sha256.Sum256(a.raw)
		a.hash = hex.EncodeToString(sum[:6])
	})
	return a.raw, a.hash
}

// version is the content hash that versions the asset's URL.
func (a *asset) version() string {
	_, hash := a.plain()
	return hash
}

// encodings returns the gzip and brotli encodings, compressing the file
// the first time. An encoding that does not make the file smaller, or
// that failed, is nil, and the file is then sent as it is.
func (a *asset) encodings() (gz, br []byte) {
	a.compressed.Do(func() {
		raw, _ := a.plain()
		var err error
		if a.gz, a.br, err = compress(raw); err != nil {
			// Only a compressor's bug can get here: the file is then
			// served as it is.
			slog.Error("compress a static asset", "asset", a.name, "err", err)
		}
	})
	return a.gz, a.br
}

// minify removes a script's or style sheet's comments and spaces and
// shortens its local names, with esbuild, keeping the syntax of the
// browsers the sources are written for (ES2017: no optional chaining, no
// ?? in what a visitor's browser runs). Top-level names stay (esbuild keeps
// a script's globals). Another file, or one esbuild cannot parse, is served
// as it is.
func minify(name string, source []byte) []byte {
	var loader api.Loader
	switch path.Ext(name) {
	case ".js":
		loader = api.LoaderJS
	case ".css":
		loader = api.LoaderCSS
	default:
		return source
	}
	res := api.Transform(string(source), api.TransformOptions{
		Loader:            loader,
		Target:            api.ES2017,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		Charset:           api.CharsetUTF8,
		LegalComments:     api.LegalCommentsNone,
	})
	if len(res.Errors) > 0 {
		// Only an asset esbuild cannot read gets here, which the tests
		// would have caught: it is then served as written.
		slog.Error("minify a static asset", "asset", name, "err", res.Errors[0].Text)
		return source
	}
	return res.Code
}

// compress encodes body with gzip and brotli at their best levels.
func compress(body []byte) (gzipped, brotlied []byte, err error) {
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, nil, fmt.Errorf("gzip: %w", err)
	}
	if _, err := zw.Write(body); err != nil {
		return nil, nil, fmt.Errorf("gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, nil, fmt.Errorf("gzip: %w", err)
	}
	if gz.Len() < len(body) {
		gzipped = gz.Bytes()
	}

	var br bytes.Buffer
	bw := brotli.NewWriterLevel(&br, brotli.BestCompression)
	if _, err := bw.Write(body); err != nil {
		return gzipped, nil, fmt.Errorf("brotli: %w", err)
	}
	if err := bw.Close(); err != nil {
		return gzipped, nil, fmt.Errorf("brotli: %w", err)
	}
	if br.Len() < len(body) {
		brotlied = br.Bytes()
	}
	return gzipped, brotlied, nil
}

// CompressAssets compresses the embedded assets that are not yet, so
// that the first visitors do not wait for it. serve runs it in the
// background as it starts.
func CompressAssets() {
	widgetAsset.encodings()
	for _, a := range staticFiles {
		a.encodings()
	}
}

// serve answers a GET or HEAD with the best encoding the client accepts,
// a strong ETag per encoding (a 304 to a matching If-None-Match) and the
// given Cache-Control.
func (a *asset) serve(w http.ResponseWriter, r *http.Request, cacheControl string) {
	body, tag := a.plain()
	encoding := ""
	gz, br := a.encodings()
	switch pickEncoding(r.Header.Get("Accept-Encoding"), br != nil, gz != nil) {
	case "br":
		body, encoding, tag = br, "br", tag+"-br"
	case "gzip":
		body, encoding, tag = gz, "gzip", tag+"-gz"
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", cacheControl)
	h.Add("Vary", "Accept-Encoding")
	h.Set("ETag", `"`+tag+`"`)
	if encoding != "" {
		h.Set("Content-Encoding", encoding)
	}
	// A zero modification time leaves out Last-Modified: the ETag decides.
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(body))
}

// pickEncoding chooses br over gzip over the identity, among the codings
// Accept-Encoding gives a non-zero quality (RFC 9110 §12.5.3).
func pickEncoding(accept string, haveBr, haveGzip bool) string {
	q := map[string]float64{}
	star, hasStar := 0.0, false
	for _, part := range strings.Split(accept, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding == "" {
			continue
		}
		weight := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					f = 0
				}
				weight = f
			}
		}
		if coding == "*" {
			star, hasStar = weight, true
			continue
		}
		q[coding] = weight
	}
	accepts := func(c string) bool {
		if w, ok := q[c]; ok {
			return w > 0
		}
		return hasStar && star > 0
	}
	switch {
	case haveBr && accepts("br"):
		return "br"
	case haveGzip && (accepts("gzip") || accepts("x-gzip")):
		return "gzip"
	}
	return ""
}
