package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults", env: nil, check: func(t *testing.T, c Config) {
			if c.HTTPAddr != "127.0.0.1:8080" || c.PublicURL != "http://localhost:8080" || c.DatabaseURL != "sqlite:./data/parley.db" {
				t.Errorf("defaults: %+v", c)
			}
			if c.ForwardLeftAfter != 5*time.Minute || c.ForwardIdleAfter != 30*time.Minute || c.ForwardQuiet != 30*time.Second || c.AgentAwayAfter != 2*time.Minute {
				t.Errorf("durations: %+v", c)
			}
			if c.LogFormat != "text" {
				t.Errorf("log format %q, want text", c.LogFormat)
			}
			if c.MailFrom != "parley@localhost" || c.InboundDomain != "reply.localhost" {
				t.Errorf("mail: %+v", c)
			}
		}},
		{name: "shrunk timings", env: map[string]string{"PARLEY_FORWARD_LEFT_AFTER": "2s", "PARLEY_AGENT_AWAY_AFTER": "1s"}, check: func(t *testing.T, c Config) {
			if c.ForwardLeftAfter != 2*time.Second || c.AgentAwayAfter != time.Second {
				t.Errorf("got %v %v", c.ForwardLeftAfter, c.AgentAwayAfter)
			}
			if c.VisitorGrace > time.Second {
				t.Errorf("grace %v must stay under half of LEFT_AFTER", c.VisitorGrace)
			}
		}},
		{name: "metrics address", env: map[string]string{"PARLEY_METRICS_ADDR": "127.0.0.1:9090"}, check: func(t *testing.T, c Config) {
			if c.MetricsAddr != "127.0.0.1:9090" {
				t.Errorf("got %q", c.MetricsAddr)
			}
		}},
		{name: "metrics address without port", env: map[string]string{"PARLEY_METRICS_ADDR": "localhost"}, wantErr: "PARLEY_METRICS_ADDR"},
		{name: "metrics on the public listener", env: map[string]string{"PARLEY_METRICS_ADDR": "127.0.0.1:8080"}, wantErr: "must differ from PARLEY_HTTP_ADDR"},
		{name: "trailing slash", env: map[string]string{"PARLEY_PUBLIC_URL": "https://chat.example.com/"}, check: func(t *testing.T, c Config) {
			if c.PublicURL != "https://chat.example.com" {
				t.Errorf("got %q", c.PublicURL)
			}
		}},
		{name: "public URL follows the listener", env: map[string]string{"PARLEY_HTTP_ADDR": "127.0.0.1:18297"}, check: func(t *testing.T, c Config) {
			if c.PublicURL != "http://localhost:18297" {
				t.Errorf("got %q", c.PublicURL)
			}
		}},
		{name: "public URL given", env: map[string]string{"PARLEY_HTTP_ADDR": "127.0.0.1:18297", "PARLEY_PUBLIC_URL": "https://chat.example.com"}, check: func(t *testing.T, c Config) {
			if c.PublicURL != "https://chat.example.com" {
				t.Errorf("got %q", c.PublicURL)
			}
		}},
		{name: "bad duration", env: map[string]string{"PARLEY_FORWARD_QUIET": "soon"}, wantErr: "PARLEY_FORWARD_QUIET"},
		{name: "memory limit", env: map[string]string{"PARLEY_MEMORY_LIMIT": "512MiB"}, check: func(t *testing.T, c Config) {
			if c.MemoryLimit != 512<<20 {
				t.Errorf("MemoryLimit = %d", c.MemoryLimit)
			}
		}},
		{name: "memory limit off", env: map[string]string{"PARLEY_MEMORY_LIMIT": "off"}, check: func(t *testing.T, c Config) {
			if c.MemoryLimit != -1 {
				t.Errorf("MemoryLimit = %d", c.MemoryLimit)
			}
		}},
		{name: "memory limit default", env: nil, check: func(t *testing.T, c Config) {
			if c.MemoryLimit != 0 || c.ForwardPerAddressDaily != 50 {
				t.Errorf("MemoryLimit = %d, ForwardPerAddressDaily = %d", c.MemoryLimit, c.ForwardPerAddressDaily)
			}
		}},
		{name: "rate limits and proxies by default", env: nil, check: func(t *testing.T, c Config) {
			if !c.RateLimits || len(c.TrustedProxies) != 0 {
				t.Errorf("RateLimits = %v, TrustedProxies = %v", c.RateLimits, c.TrustedProxies)
			}
		}},
		{name: "rate limits off", env: map[string]string{"PARLEY_RATE_LIMITS": "off"}, check: func(t *testing.T, c Config) {
			if c.RateLimits {
				t.Error("RateLimits on")
			}
		}},
		{name: "rate limits neither on nor off", env: map[string]string{"PARLEY_RATE_LIMITS": "false"}, wantErr: "PARLEY_RATE_LIMITS"},
		{name: "trusted proxies", env: map[string]string{"PARLEY_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.10 ::ffff:172.16.0.0/108,fd00::/8"}, check: func(t *testing.T, c Config) {
			var got []string
			for _, p := range c.TrustedProxies {
				got = append(got, p.String())
			}
			if strings.Join(got, " ") != "10.0.0.0/8 192.168.1.10/32 172.16.0.0/12 fd00::/8" {
				t.Errorf("TrustedProxies = %v", got)
			}
		}},
		{name: "bad trusted proxy", env: map[string]string{"PARLEY_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}, wantErr: "PARLEY_TRUSTED_PROXIES"},
		{name: "bad memory limit", env: map[string]string{"PARLEY_MEMORY_LIMIT": "lots"}, wantErr: "PARLEY_MEMORY_LIMIT"},
		{name: "bad memory unit", env: map[string]string{"PARLEY_MEMORY_LIMIT": "512MB"}, wantErr: "PARLEY_MEMORY_LIMIT"},
		{name: "bad per-address limit", env: map[string]string{"PARLEY_FORWARD_MAX_PER_ADDRESS": "0"}, wantErr: "PARLEY_FORWARD_MAX_PER_ADDRESS"},
		{name: "no relay connections", env: map[string]string{"PARLEY_SMTP_CONNECTIONS": "0"}, wantErr: "PARLEY_SMTP_CONNECTIONS"},
		{name: "too many relay connections", env: map[string]string{"PARLEY_SMTP_CONNECTIONS": "65"}, wantErr: "PARLEY_SMTP_CONNECTIONS"},
		{name: "negative duration", env: map[string]string{"PARLEY_FORWARD_IDLE_AFTER": "-1s"}, wantErr: "PARLEY_FORWARD_IDLE_AFTER"},
		{name: "bad level", env: map[string]string{"PARLEY_LOG_LEVEL": "loud"}, wantErr: "PARLEY_LOG_LEVEL"},
		{name: "json logs", env: map[string]string{"PARLEY_LOG_FORMAT": "JSON"}, check: func(t *testing.T, c Config) {
			if c.LogFormat != "json" {
				t.Errorf("got %q", c.LogFormat)
			}
		}},
		{name: "bad log format", env: map[string]string{"PARLEY_LOG_FORMAT": "xml"}, wantErr: "PARLEY_LOG_FORMAT"},
		{name: "bad url", env: map[string]string{"PARLEY_PUBLIC_URL": "chat.example.com"}, wantErr: "PARLEY_PUBLIC_URL"},
		{name: "public URL without a host", env: map[string]string{"PARLEY_PUBLIC_URL": "https://:443"}, wantErr: "with a host"},
		{name: "public URL under a path", env: map[string]string{"PARLEY_PUBLIC_URL": "https://example.com/support/"}, wantErr: "not under a path"},
		{name: "public URL with a query", env: map[string]string{"PARLEY_PUBLIC_URL": "https://chat.example.com?x=1"}, wantErr: "alone"},
		{name: "short secret", env: map[string]string{"PARLEY_SECRET": "abc"}, wantErr: "PARLEY_SECRET"},
		{name: "short inbound secret", env: map[string]string{"PARLEY_INBOUND_SECRET": "hook-secret"}, wantErr: "PARLEY_INBOUND_SECRET must be at least 16"},
		{name: "inbound secret", env: map[string]string{"PARLEY_INBOUND_SECRET": "0123456789abcdef"}, check: func(t *testing.T, c Config) {
			if c.InboundSecret != "0123456789abcdef" {
				t.Errorf("got %q", c.InboundSecret)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want mention of %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

// FuzzParsePrefixes: any PARLEY_TRUSTED_PROXIES value is either refused
// or read into masked prefixes.
func FuzzParsePrefixes(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.168.1.10, ::1", "::ffff:10.0.0.0/104", "10.0.0.0/33", "fe80::1%eth0", ",,", "1.2.3.4/0", "::ffff:0.0.0.0/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ps, err := ParsePrefixes(raw)
		if err != nil {
			return
		}
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() {
				t.Fatalf("%q gave %v", raw, p)
			}
		}
	})
}

func TestLocalURL(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"127.0.0.1:8080", "http://localhost:8080"},
		{":9000", "http://localhost:9000"},
		{"0.0.0.0:80", "http://localhost:80"},
		{"[::]:9000", "http://localhost:9000"},
		{"[::1]:9000", "http://localhost:9000"},
		{"localhost:3000", "http://localhost:3000"},
		{"192.168.1.5:9000", "http://192.168.1.5:9000"},
		{"[2001:db8::1]:9000", "http://[2001:db8::1]:9000"},
		{"chat.internal:8081", "http://chat.internal:8081"},
		{"no port", "http://localhost:8080"},
	}
	for _, tc := range tests {
		if got := localURL(tc.addr); got != tc.want {
			t.Errorf("localURL(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// Unknown names the PARLEY_* variables no setting reads, with the one each
// most likely misspells; every variable of the README's configuration
// tables is known.
func TestUnknown(t *testing.T) {
	env := []string{"PATH=/bin", "PARLEY_SMPT_URL=smtp://x:25", "PARLEY_HTTP_ADDR=127.0.0.1:1", "PARLEY_SECRET=", "PARLEY_NO_SUCH_KNOB=1",
		"PARLEY_TEST_POSTGRES_URL=postgres://x", "PARLEY_BENCH_BURST=10", "PARLEY_SCREENSHOTS=/tmp"}
	unknown, closest := Unknown(env)
	if got, want := strings.Join(unknown, ","), "PARLEY_SMPT_URL,PARLEY_NO_SUCH_KNOB"; got != want {
		t.Fatalf("unknown %s, want %s", got, want)
	}
	if closest[0] != "PARLEY_SMTP_URL" || closest[1] != "" {
		t.Errorf("closest %q, want PARLEY_SMTP_URL and none", closest)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(PARLEY_[A-Z0-9_]+)`").FindAllStringSubmatch(string(readme), -1) {
		documented = append(documented, m[1]+"=1")
	}
	if len(documented) < 30 {
		t.Fatalf("found %d variables in the README's tables", len(documented))
	}
	if unknown, _ := Unknown(documented); len(unknown) > 0 {
		t.Errorf("documented but read by no setting: %s", unknown)
	}
}
