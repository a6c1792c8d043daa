package maildns

import (
	"strings"
	"testing"
)

func TestAlign(t *testing.T) {
	tests := []struct {
		dkim, from string
		want       Alignment
	}{
		{"example.com", "example.com", AlignStrict},
		{"Example.COM.", "example.com", AlignStrict},
		{"mail.example.com", "example.com", AlignRelaxed},
		{"example.com", "chat.example.com", AlignRelaxed},
		{"a.example.co.uk", "b.example.co.uk", AlignRelaxed},
		{"example.co.uk", "other.co.uk", AlignNone},
		{"co.uk", "example.co.uk", AlignNone},
		{"example.net", "example.com", AlignNone},
		{"evilexample.com", "example.com", AlignNone},
		{"example.com", "localhost", AlignNone},
		{"example.com", "", AlignNone},
		{"", "example.com", NoDKIM},
	}
	for _, tc := range tests {
		t.Run(tc.dkim+"/"+tc.from, func(t *testing.T) {
			if got := Align(tc.dkim, tc.from); got != tc.want {
				t.Errorf("Align(%q, %q) = %q, want %q", tc.dkim, tc.from, got, tc.want)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name        string
		cfg         Config
		wantWarning string // "" for none
		wantRecords []string
	}{
		{
			name: "aligned, own relay",
			cfg: Config{MailFrom: "Chat <chat@Shop.Example.com>", DKIMDomain: "shop.example.com",
				DKIMName: "s1._domainkey.shop.example.com", DKIMValue: "v=DKIM1; k=rsa; p=AAA", RelayHost: "smtp.shop.example.com"},
			wantRecords: []string{
				"DKIM TXT s1._domainkey.shop.example.com v=DKIM1; k=rsa; p=AAA",
				"SPF TXT shop.example.com v=spf1 a:smtp.shop.example.com ~all",
				"DMARC TXT _dmarc.shop.example.com v=DMARC1; p=none; rua=mailto:postmaster@shop.example.com",
			},
		},
		{
			name:        "not aligned",
			cfg:         Config{MailFrom: "chat@shop.example.com", DKIMDomain: "mailer.example.net", DKIMName: "s1._domainkey.mailer.example.net", DKIMValue: "v=DKIM1"},
			wantWarning: "PARLEY_DKIM_DOMAIN mailer.example.net is not aligned with the domain shop.example.com of PARLEY_MAIL_FROM",
			wantRecords: []string{
				"DKIM TXT s1._domainkey.mailer.example.net v=DKIM1",
				"SPF TXT shop.example.com v=spf1 mx ~all",
				"DMARC TXT _dmarc.shop.example.com v=DMARC1; p=none; rua=mailto:postmaster@shop.example.com",
			},
		},
		{
			name:        "relay without DKIM",
			cfg:         Config{MailFrom: "chat@shop.example.com", RelayHost: "127.0.0.1"},
			wantWarning: "No DKIM key is configured",
			wantRecords: []string{
				"SPF TXT shop.example.com v=spf1 mx ~all",
				"DMARC TXT _dmarc.shop.example.com v=DMARC1; p=none; rua=mailto:postmaster@shop.example.com",
			},
		},
		{
			name:        "no relay, no DKIM: nothing to warn about",
			cfg:         Config{MailFrom: "parley@localhost"},
			wantRecords: []string{"SPF TXT localhost v=spf1 mx ~all", "DMARC TXT _dmarc.localhost v=DMARC1; p=none; rua=mailto:postmaster@localhost"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Plan(tc.cfg)
			switch {
			case tc.wantWarning == "" && len(s.Warnings) > 0:
				t.Errorf("warnings %q, want none", s.Warnings)
			case tc.wantWarning != "" && (len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], tc.wantWarning)):
				t.Errorf("warnings %q, want one with %q", s.Warnings, tc.wantWarning)
			}
			var got []string
			for _, r := range s.Records {
				got = append(got, r.Purpose+" "+r.Type+" "+r.Name+" "+r.Value)
			}
			if strings.Join(got, "\n") != strings.Join(tc.wantRecords, "\n") {
				t.Errorf("records\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.wantRecords, "\n"))
			}
		})
	}
}
