package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"unicode/utf8"
)

// JSON bodies: reading them with a size limit, writing answers and the
// error shape of spec/api.md.

// errorBody is the error shape of spec/api.md.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if w.Header().Get("Cache-Control") == "" {
		// Answers are private unless a handler said otherwise.
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

// decode reads a JSON body into v with a size limit; it answers the error
// itself and returns false when the body is unusable.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes))
			return false
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusRequestTimeout, "request_timeout", "the request body came too slowly")
			return false
		}
		writeError(w, http.StatusBadRequest, "bad_request", "could not read request body")
		return false
	}
	if !utf8.Valid(raw) {
		writeError(w, http.StatusBadRequest, "bad_request", "request body is not valid UTF-8")
		return false
	}
	if hasEscapedNUL(raw) {
		writeError(w, http.StatusBadRequest, "bad_request", errNUL)
		return false
	}
	if err := json.Unmarshal(raw, v); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", jsonProblem(err))
		return false
	}
	return true
}

// errNUL refuses text holding the NUL character: no person writes one,
// PostgreSQL cannot store one, and mail must not carry one (RFC 5322).
const errNUL = `text must not contain the NUL character (\u0000)`

// hasEscapedNUL reports whether a JSON text holds a string with the NUL
// character, which JSON can only write escaped: \u0000 outside another
// escape (a raw NUL byte is not JSON, and json.Unmarshal refuses it).
func hasEscapedNUL(raw []byte) bool {
	if !bytes.Contains(raw, []byte(`\u0000`)) {
		return false
	}
	for i := 0; i < len(raw)-1; i++ {
		if raw[i] != '\\' {
			continue
		}
		if raw[i+1] == 'u' && bytes.HasPrefix(raw[i+2:], []byte("0000")) {
			return true
		}
		i++ // the escaped character, which may be a backslash
	}
	return false
}

// jsonProblem says what is wrong with a body that did not decode, in the
// API's terms: a value of the wrong type names its field and the JSON kind
// it must be, never the Go type it was to fill.
func jsonProblem(err error) string {
	var typ *json.UnmarshalTypeError
	if !errors.As(err, &typ) {
		return "malformed JSON: " + err.Error()
	}
	want := jsonKind(typ.Type)
	if typ.Field == "" {
		return "the body must be " + want + ", not " + article(typ.Value)
	}
	return fmt.Sprintf("%q must be %s, not %s", typ.Field, want, article(typ.Value))
}

// jsonKind names the JSON value a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a JSON value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another JSON value"
}

// article puts "a" or "an" before the name of a JSON kind ("array",
// "number", "string", "bool", "object").
func article(kind string) string {
	switch kind {
	case "array", "object":
		return "an " + kind
	case "bool":
		return "true or false"
	}
	if n, ok := strings.CutPrefix(kind, "number "); ok {
		return "the number " + n // out of the field's range
	}
	return "a " + kind
}
