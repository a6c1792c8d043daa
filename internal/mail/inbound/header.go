package inbound

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"net/mail"
	"regexp"
	"strings"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// splitHeader splits an entity into its header block and body. The header
// ends at the first empty line, or, in a malformed entity, at the first line
// that is neither a header field nor a continuation line: that line starts
// the body, as does the line that takes the block past maxHeaderBytes. A
// leading mbox "From " line is skipped.
func splitHeader(b []byte) (header, body []byte) {
	start := 0
	if bytes.HasPrefix(b, []byte("From ")) {
		start = lineEnd(b, 0)
	}
	for i := start; i < len(b); {
		end := lineEnd(b, i)
		line := bytes.TrimRight(b[i:end], "\r\n")
		switch {
		case len(line) == 0:
			return b[start:i], b[end:]
		case end-start > maxHeaderBytes:
			return b[start:i], b[i:]
		case (line[0] == ' ' || line[0] == '\t') && i > start:
		case isFieldLine(line):
		default:
			return b[start:i], b[i:]
		}
		i = end
	}
	return b[start:], nil
}

// lineEnd returns the index just after the line starting at i, "\n" included.
func lineEnd(b []byte, i int) int {
	if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(b)
}

// isFieldLine reports whether line starts a header field: a name of
// printable ASCII, optionally followed by white space, then a colon.
func isFieldLine(line []byte) bool {
	i := 0
	for i < len(line) && line[i] > ' ' && line[i] < 0x7f && line[i] != ':' {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return i < len(line) && line[i] == ':'
}

// parseHeader parses a header block that splitHeader delimited.
func parseHeader(b []byte) message.Header {
	// Every line was checked, so an error can only come from a rare corner
	// (such as a key that trims to nothing); the fields read so far stand.
	h, _ := textproto.ReadHeader(bufio.NewReader(io.MultiReader(bytes.NewReader(b), strings.NewReader("\r\n"))))
	return message.Header{Header: h}
}

// contentType returns the lower-cased media type and parameters of a part.
// A missing or unreadable Content-Type is text/plain (RFC 2045 section 5.2);
// parameters are read leniently when the field does not parse.
func contentType(h message.Header) (string, map[string]string) {
	v := h.Get("Content-Type")
	if v == "" {
		return "text/plain", map[string]string{}
	}
	t, params, err := h.ContentType()
	if err != nil || params == nil {
		t, params = lenientMediaType(v)
	}
	t = strings.ToLower(t)
	if !strings.Contains(t, "/") {
		t = "text/plain"
	}
	return t, params
}

// contentDisposition returns the lower-cased disposition type and its
// parameters, read leniently.
func contentDisposition(h message.Header) (string, map[string]string) {
	v := h.Get("Content-Disposition")
	if v == "" {
		return "", map[string]string{}
	}
	d, params, err := h.ContentDisposition()
	if err != nil || params == nil {
		d, params = lenientMediaType(v)
	}
	return strings.ToLower(d), params
}

var mediaParam = regexp.MustCompile(`(?i)(?:^|;)\s*(boundary|charset|name|filename|format|delsp|report-type)\s*=\s*(?:"([^"]*)"?|([^;\s]*))`)

// lenientMediaType reads what it can of a malformed Content-Type or
// Content-Disposition value: the type before the first ";" and the
// parameters Parse uses.
func lenientMediaType(v string) (string, map[string]string) {
	t, _, _ := strings.Cut(v, ";")
	params := map[string]string{}
	for _, m := range mediaParam.FindAllStringSubmatch(v, -1) {
		name := strings.ToLower(m[1])
		if _, ok := params[name]; !ok {
			params[name] = m[2] + m[3]
		}
	}
	return strings.TrimSpace(t), params
}

var wordDecoder = mime.WordDecoder{CharsetReader: message.CharsetReader}

// decodeWords decodes RFC 2047 encoded words, leaving the text as it is
// when they do not decode.
func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// headerText returns a field's value with encoded words decoded.
func headerText(h message.Header, name string) string {
	v, err := h.Text(name)
	if err != nil {
		return decodeWords(h.Get(name))
	}
	return v
}

// messageID returns the id of a Message-ID field, without <>.
func messageID(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			v = v[i+1 : i+j]
		}
	}
	v = strings.TrimSpace(v)
	if v == "" || strings.ContainsAny(v, " \t\r\n") {
		return ""
	}
	return v
}

var looseAddress = regexp.MustCompile(`[^\s<>()\[\]",;:@]+@[^\s<>()\[\]",;:@]+`)

// addresses returns the addresses of an address-list field, falling back to
// anything shaped like an address when the field does not parse.
func addresses(h gomail.Header, name string) []*mail.Address {
	var all []*mail.Address
	for _, v := range h.Values(name) {
		if list, err := gomail.ParseAddressList(v); err == nil {
			all = append(all, list...)
			continue
		}
		for _, a := range looseAddress.FindAllString(v, -1) {
			all = append(all, &mail.Address{Address: a})
		}
	}
	return all
}

func firstAddress(h gomail.Header, name string) *mail.Address {
	if list := addresses(h, name); len(list) > 0 {
		a := list[0]
		return &mail.Address{Name: clean(a.Name), Address: clean(a.Address)}
	}
	return nil
}

// recipients returns the lower-cased addresses of To, Cc, Delivered-To and
// X-Original-To, in that order, without duplicates.
func recipients(h gomail.Header) []string {
	var out []string
	seen := map[string]bool{}
	for _, name := range []string{"To", "Cc", "Delivered-To", "X-Original-To"} {
		for _, a := range addresses(h, name) {
			addr := strings.ToLower(clean(a.Address))
			if addr != "" && !seen[addr] {
				seen[addr] = true
				out = append(out, addr)
			}
		}
	}
	return out
}
