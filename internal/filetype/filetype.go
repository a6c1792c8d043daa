// Package filetype decides whether a file may be kept and served, from its
// content and an allowlist, never from a denylist of names: images (PNG,
// JPEG, GIF, WebP), PDF, plain text, CSV, ZIP and office documents (Office
// Open XML, OpenDocument, and the older binary Office formats). Email
// attachments use it; uploads can use the same list.
package filetype

import (
	"archive/zip"
	"bytes"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"
)

// Type is an allowed file type.
type Type struct {
	MediaType  string   // what the file is served as
	Extensions []string // names it may carry (lower case, with the dot)
}

var (
	png  = Type{"image/png", []string{".png"}}
	jpeg = Type{"image/jpeg", []string{".jpg", ".jpeg", ".jpe", ".jfif"}}
	gif  = Type{"image/gif", []string{".gif"}}
	webp = Type{"image/webp", []string{".webp"}}
	pdf  = Type{"application/pdf", []string{".pdf"}}
	text = Type{"text/plain; charset=utf-8", []string{".txt", ".text", ".log", ".md"}}
	csv  = Type{"text/csv; charset=utf-8", []string{".csv"}}
	zipT = Type{"application/zip", []string{".zip"}}
	// Office Open XML and OpenDocument files are ZIP archives; each is
	// recognised by the part that names it.
	docx = Type{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", []string{".docx"}}
	xlsx = Type{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", []string{".xlsx"}}
	pptx = Type{"application/vnd.openxmlformats-officedocument.presentationml.presentation", []string{".pptx"}}
	odt  = Type{"application/vnd.oasis.opendocument.text", []string{".odt"}}
	ods  = Type{"application/vnd.oasis.opendocument.spreadsheet", []string{".ods"}}
	odp  = Type{"application/vnd.oasis.opendocument.presentation", []string{".odp"}}
	// The binary Office formats share one container (OLE compound file).
	doc = Type{"application/msword", []string{".doc"}}
	xls = Type{"application/vnd.ms-excel", []string{".xls"}}
	ppt = Type{"application/vnd.ms-powerpoint", []string{".ppt"}}
)

// Detect returns the allowed type of a file from its content, and checks
// that its name fits that type: a name whose extension (after trailing dots
// and spaces, which Windows drops) belongs to another type is refused, and
// a name without an extension is allowed. It returns false for anything
// else: HTML, XML, SVG, scripts, executables, unknown binary data.
func Detect(name string, data []byte) (Type, bool) {
	ext := Extension(name)
	t, ok := sniff(ext, data)
	if !ok {
		return Type{}, false
	}
	if ext == "" {
		return t, true
	}
	for _, e := range t.Extensions {
		if e == ext {
			return t, true
		}
	}
	return Type{}, false
}

// Extension returns the lower-cased extension of a file name as a file
// system would see it: trailing dots and spaces dropped, "" when none.
func Extension(name string) string {
	name = strings.TrimRight(strings.ReplaceAll(name, "\\", "/"), ". \t")
	return strings.ToLower(path.Ext(path.Base(name)))
}

// sniff recognises the content. ext chooses among the types whose content
// looks the same (text or CSV, a ZIP or the document it holds).
func sniff(ext string, data []byte) (Type, bool) {
	switch {
	case bytes.HasPrefix(data, []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")):
		switch ext {
		case ".doc":
			return doc, true
		case ".xls":
			return xls, true
		case ".ppt":
			return ppt, true
		}
		return Type{}, false // other compound files (.msi among them)
	}
	switch ct := http.DetectContentType(data); ct {
	case "image/png":
		return png, true
	case "image/jpeg":
		return jpeg, true
	case "image/gif":
		return gif, true
	case "image/webp":
		return webp, true
	case "application/pdf":
		return pdf, true
	case "application/zip":
		return zipType(data)
	case "text/plain; charset=utf-8":
		// DetectContentType calls text anything without binary bytes in
		// its first 512; the whole file must be text.
		if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
			return Type{}, false
		}
		if ext == ".csv" {
			return csv, true
		}
		return text, true
	}
	return Type{}, false
}

// zipType tells an office document from a plain ZIP by its parts. A file
// that does not open as a ZIP archive is refused.
func zipType(data []byte) (Type, bool) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return Type{}, false
	}
	names := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		names[f.Name] = f
	}
	switch {
	case names["word/document.xml"] != nil:
		return docx, true
	case names["xl/workbook.xml"] != nil:
		return xlsx, true
	case names["ppt/presentation.xml"] != nil:
		return pptx, true
	case names["mimetype"] != nil:
		// OpenDocument: the first part, stored, names the type.
		if f := names["mimetype"]; f.UncompressedSize64 < 100 {
			if rc, err := f.Open(); err == nil {
				var b [100]byte
				n, _ := rc.Read(b[:])
				rc.Close()
				switch strings.TrimSpace(string(b[:n])) {
				case odt.MediaType:
					return odt, true
				case ods.MediaType:
					return ods, true
				case odp.MediaType:
					return odp, true
				}
			}
		}
	}
	return zipT, true
}
