package relay

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		raw  string
		want Endpoint
	}{
		{"smtp://mail.example.com:587", Endpoint{Host: "mail.example.com", Port: "587"}},
		{"smtp://mail.example.com", Endpoint{Host: "mail.example.com", Port: "25"}},
		{"smtps://mail.example.com", Endpoint{Host: "mail.example.com", Port: "465", ImplicitTLS: true}},
		{"SMTPS://Mail.Example.com:2465/", Endpoint{Host: "Mail.Example.com", Port: "2465", ImplicitTLS: true}},
		{"smtp://ann:p%40ss%3Aw%2Frd@mail.example.com:587", Endpoint{Host: "mail.example.com", Port: "587", Username: "ann", Password: "p@ss:w/rd"}},
		{"smtp://ann%40example.com:pw@[::1]:25", Endpoint{Host: "::1", Port: "25", Username: "ann@example.com", Password: "pw"}},
		{"smtp://127.0.0.1:2525?insecure_skip_verify=1", Endpoint{Host: "127.0.0.1", Port: "2525", InsecureSkipVerify: true}},
		{"smtp://127.0.0.1:2525?insecure_skip_verify=false", Endpoint{Host: "127.0.0.1", Port: "2525"}},
	}
	for _, tc := range tests {
		got, err := ParseURL(tc.raw)
		if err != nil || got != tc.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.raw, got, err, tc.want)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct {
		raw     string
		wantErr string
	}{
		{"", "empty"},
		{"  ", "empty"},
		{"mail.example.com:25", "scheme"},
		{"//mail.example.com:25", "no scheme"},
		{"http://mail.example.com", `scheme "http"`},
		{"smtp:mail.example.com", "want smtp://host:port"},
		{"smtp://", "no host"},
		{"smtp://:25", "no host"},
		{"smtp://mail.example.com:", "empty port"},
		{"smtp://mail.example.com:0", `port "0"`},
		{"smtp://mail.example.com:65536", `port "65536"`},
		{"smtp://ann:hunter2@mail.example.com:x25", "check the port"},
		{"127.0.0.1:25", "no scheme"},
		// A password with / or # (Amazon SES's often have a /), not
		// percent-encoded: the parser's reason would quote a piece of it.
		{"smtp://AKIA:hunter2/abc+def@email-smtp.example.com:587", "percent-encode"},
		{"smtp://apikey:hunter2#cd@mail.example.com:587", "percent-encode"},
		{"smtp://ann:hunter2@mail.example.com:25/relay", "path"},
		{"smtp://ann:hunter2@mail.example.com:25#frag", "fragment"},
		{"smtp://ann@mail.example.com:25", "no password"},
		{"smtp://ann:@mail.example.com:25", "no password"},
		{"smtp://:hunter2@mail.example.com:25", "no user name"},
		{"smtp://ann:hunter2@mail.example.com:25?tls=1", `"tls" unknown`},
		{"smtp://ann:hunter2@mail.example.com:25?insecure_skip_verify=maybe", "want 1 or 0"},
		{"smtp://ann:hunter2 x@mail.example.com:25", "percent-encode"},
		{"smtp://ann:hunter2%zz@mail.example.com:25", "percent-encode"},
	}
	for _, tc := range tests {
		_, err := ParseURL(tc.raw)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("ParseURL(%q) error %v, want it to say %q", tc.raw, err, tc.wantErr)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseURL(%q) error %q shows the password", tc.raw, err)
		}
	}
}

func TestEndpointString(t *testing.T) {
	ep, err := ParseURL("smtps://ann:hunter2@mail.example.com?insecure_skip_verify=1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ep.String(), "smtps://ann:xxxxx@mail.example.com:465?insecure_skip_verify=1"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
