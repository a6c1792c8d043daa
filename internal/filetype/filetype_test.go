package filetype_test

import (
	"archive/zip"
	"bytes"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/parleychat/parley/internal/filetype"
)

func zipWith(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encoded(t *testing.T, enc func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := enc(&b, image.NewRGBA(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDetect(t *testing.T) {
	pngData := encoded(t, func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) })
	jpegData := encoded(t, func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) })
	gifData := encoded(t, func(b *bytes.Buffer, m image.Image) error { return gif.Encode(b, m, nil) })
	webpData := []byte("RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00\x30\x01\x00\x9d\x01\x2a\x01\x00\x01\x00")
	pdfData := []byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")
	ole := append([]byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"), make([]byte, 504)...)
	docx := zipWith(t, map[string]string{"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"})
	xlsx := zipWith(t, map[string]string{"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"})
	pptx := zipWith(t, map[string]string{"[Content_Types].xml": "<Types/>", "ppt/presentation.xml": "<p/>"})
	odt := zipWith(t, map[string]string{"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<x/>"})
	plainZip := zipWith(t, map[string]string{"notes.txt": "hello"})

	tests := []struct {
		name string
		data []byte
		want string // media type; "" is refused
	}{
		{"photo.png", pngData, "image/png"},
		{"photo.PNG", pngData, "image/png"},
		{"photo.jpg", jpegData, "image/jpeg"},
		{"photo.jpeg", jpegData, "image/jpeg"},
		{"anim.gif", gifData, "image/gif"},
		{"pic.webp", webpData, "image/webp"},
		{"invoice.pdf", pdfData, "application/pdf"},
		{"notes.txt", []byte("Hello,\nhere are my notes.\n"), "text/plain; charset=utf-8"},
		{"orders.csv", []byte("id,total\n1,9.90\n"), "text/csv; charset=utf-8"},
		{"archive.zip", plainZip, "application/zip"},
		{"letter.docx", docx, docx0},
		{"sheet.xlsx", xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{"slides.pptx", pptx, "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
		{"letter.odt", odt, "application/vnd.oasis.opendocument.text"},
		{"old.doc", ole, "application/msword"},
		{"old.xls", ole, "application/vnd.ms-excel"},
		{"no extension", pngData, "image/png"},

		// The name must fit the content.
		{"evil.html.", []byte("harmless looking text"), ""},
		{"evil.html", []byte("harmless looking text"), ""},
		{"evil.html. . ", []byte("harmless looking text"), ""},
		{"page.shtml", []byte("<!--#exec cmd=\"ls\" -->"), ""},
		{"photo.png.exe", pngData, ""},
		{"photo.html", pngData, ""},
		{"notes.docx", plainZip, ""},
		{"installer.msi", ole, ""},
		{"macro.doc.exe", ole, ""},

		// Content that is never allowed, whatever the name.
		{"page.txt", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), ""},
		{"page.xhtml", []byte(`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>`), ""},
		{"data.xml", []byte(`<?xml version="1.0"?><a/>`), ""},
		{"image.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), ""},
		{"run.txt", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), ""},
		{"elf", []byte("\x7fELF\x02\x01\x01\x00"), ""},
		{"binary.txt", []byte("text then \x00\x01\x02 binary"), ""},
		{"latin1.txt", append([]byte("caf"), 0xe9), ""},
		{"broken.zip", []byte("PK\x03\x04garbage"), ""},
		{"empty.txt", nil, "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		got, ok := filetype.Detect(tt.name, tt.data)
		if tt.want == "" {
			if ok {
				t.Errorf("Detect(%q) = %q, want refused", tt.name, got.MediaType)
			}
			continue
		}
		if !ok || got.MediaType != tt.want {
			t.Errorf("Detect(%q) = %q, %v; want %q", tt.name, got.MediaType, ok, tt.want)
		}
	}
}

const docx0 = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

func TestExtension(t *testing.T) {
	for in, want := range map[string]string{
		"a.PDF": ".pdf", "evil.html.": ".html", "evil.html . ": ".html", `C:\dir\x.txt`: ".txt",
		"noext": "", ".hidden": ".hidden", "dir/a.b/c": "",
	} {
		if got := filetype.Extension(in); got != want {
			t.Errorf("Extension(%q) = %q, want %q", in, got, want)
		}
	}
}
