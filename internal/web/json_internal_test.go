package web

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONProblem(t *testing.T) {
	type body struct {
		Email string   `json:"email"`
		Count int8     `json:"count"`
		Tags  []string `json:"tags"`
		Flag  *bool    `json:"flag"`
		Inner struct {
			Name string `json:"name"`
		} `json:"inner"`
	}
	tests := []struct{ raw, want string }{
		{`[]`, "the body must be an object, not an array"},
		{`"x"`, "the body must be an object, not a string"},
		{`{"email":["a"]}`, `"email" must be a string, not an array`},
		{`{"email":1}`, `"email" must be a string, not a number`},
		{`{"count":"3"}`, `"count" must be a number, not a string`},
		{`{"count":300}`, `"count" must be a number, not the number 300`},
		{`{"tags":{}}`, `"tags" must be an array, not an object`},
		{`{"flag":"yes"}`, `"flag" must be true or false, not a string`},
		{`{"inner":{"name":false}}`, `"inner.name" must be a string, not true or false`},
		{`{"email":`, "malformed JSON: unexpected end of JSON input"},
	}
	for _, tc := range tests {
		var b body
		err := json.Unmarshal([]byte(tc.raw), &b)
		if err == nil {
			t.Fatalf("%s: decoded", tc.raw)
		}
		got := jsonProblem(err)
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.raw, got, tc.want)
		}
		if strings.Contains(got, "Go ") || strings.Contains(got, "struct") {
			t.Errorf("%s: %q names Go's types", tc.raw, got)
		}
	}
}

func TestHasEscapedNUL(t *testing.T) {
	tests := []struct {
		raw  string
		want bool
	}{
		{`{"body":"hello"}`, false},
		{`{"body":"a\u0000b"}`, true},
		{`{"body":"\u0000"}`, true},
		{`{"body":"typed \\u0000"}`, false}, // a backslash, then text
		{`{"body":"both \\\u0000"}`, true},  // a backslash, then NUL
		{`{"body":"\\\\u0000"}`, false},     // two backslashes, then text
		{`{"body":"\u00000"}`, true},        // NUL, then a zero
		{`{"body":"\u0001 \u00e9"}`, false}, // other escapes
		{`{"body":"ends with \\"}`, false},  // an escape at the end
	}
	for _, tc := range tests {
		if got := hasEscapedNUL([]byte(tc.raw)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.raw, got, tc.want)
		}
		// The check agrees with what the JSON decodes to.
		var v struct{ Body string }
		if err := json.Unmarshal([]byte(tc.raw), &v); err != nil {
			t.Fatalf("%s: %v", tc.raw, err)
		}
		if strings.Contains(v.Body, "\x00") != tc.want {
			t.Errorf("%s decodes to %q: the table is wrong", tc.raw, v.Body)
		}
	}
}
