package reply

import (
	"strings"
	"testing"
)

// TestRuleExamples checks that every entry of the language tables
// recognises the line it exists for, in the place mail clients put it.
func TestRuleExamples(t *testing.T) {
	const reply = "Thanks, that works."
	for _, l := range languages {
		t.Run(l.code, func(t *testing.T) {
			for _, group := range [][]rule{l.openers, l.verbs, l.verbsInside} {
				for _, r := range group {
					// No quote follows: the words alone must make it an attribution.
					in := reply + "\n\n" + r.example + "\n\nOld message"
					if got := Text(in); got != reply {
						t.Errorf("attribution %q (for %q): got %q", r.example, r.text, got)
					}
					if !strings.Contains(strings.ToLower(r.example), r.text) {
						t.Errorf("example %q does not hold %q", r.example, r.text)
					}
				}
			}
			for _, group := range []struct {
				rules []rule
				set   map[string]bool
			}{{l.from, fromFields}, {l.fields, otherFields}} {
				for _, r := range group.rules {
					if got := fieldName(r.example); got != r.text || !group.set[got] {
						t.Errorf("field %q: name %q, want %q", r.example, got, r.text)
					}
				}
			}
			if len(l.from) > 0 && len(l.fields) >= 2 {
				block := l.from[0].example + "\n" + l.fields[0].example + "\n" + l.fields[1].example + "\n" + l.fields[2].example
				if got := Text(reply + "\n\n" + block + "\n\nOld message"); got != reply {
					t.Errorf("header block:\n%s\ngot %q", block, got)
				}
			}
			for _, group := range [][]rule{l.separators, l.separatorLines, l.separatorDated} {
				for _, r := range group {
					if !isSeparator(r.example) {
						t.Errorf("separator %q not recognised", r.example)
					}
					if got := Text(reply + "\n\n" + r.example + "\nOld message"); got != reply {
						t.Errorf("separator %q: got %q", r.example, got)
					}
				}
			}
			for _, r := range l.signatures {
				if k := signatures.match(r.example); k != strongSignature {
					t.Errorf("signature %q: kind %d, want strong", r.example, k)
				}
				if got := Text(reply + "\n\n" + r.example + "\n\nSome Shop\nOld message"); got != reply {
					t.Errorf("signature %q: got %q", r.example, got)
				}
			}
		})
	}
}

func TestSignatureRules(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"typeapp with a link", "Yes please.\n\nSent from TypeApp ‹http://www.typeapp.com/r›\nOn Jan 4, 2016, at 19:03, ACME <reply@acme.example> wrote:\nOld", "Yes please."},
		{"typeapp link below", "Yes please.\n\nSent from TypeApp\n<http://www.typeapp.com/r?b=12345>\n\nOld", "Yes please."},
		{"sent from my desk mid-text stays", "Hello,\nSent from my desk, because the shop is closed.\nSee you", "Hello,\nSent from my desk, because the shop is closed.\nSee you"},
		{"unknown device mid-text stays", "Hello,\nSent from my desk\nand more text here", "Hello,\nSent from my desk\nand more text here"},
		{"unknown device at the end is a signature", "Hello\n\nSent from my Fairphone 4", "Hello"},
		{"unknown device above a quote is a signature", "Hello\n\nSent from my Fairphone 4\n\n> old", "Hello"},
		{"generic signature above an attribution", "Hello\n\nEnvoyé de mon Fairphone\n\nLe 4 janv. 2016 à 19:03, ACME <reply@acme.example> a écrit :\nOld", "Hello"},
		{"chinese", "好的，谢谢。\n\n发自我的iPhone\n\n------------------ 原始邮件 ------------------\n发件人: ACME", "好的，谢谢。"},
		{"japanese", "了解しました。\n\niPhoneから送信\n\n2016/01/04 19:03、ACME <reply@acme.example>のメール:\n\n> 古い", "了解しました。"},
		{"a sentence on shipping stays", "Der Artikel wurde gestern gesendet.\nDanke", "Der Artikel wurde gestern gesendet.\nDanke"},
		{"android wrote separator", "Ok\n\n---- Jane Doe wrote ----\n\nOld", "Ok"},
		{"android wrote separator fr", "D'accord\n\n---- ACME a écrit ----\n\nAncien", "D'accord"},
		{"orange webmail", "Merci\n\n> Message du 04/01/16 19:03\n> De : ACME\n\nMessage du 04/01/16 19:03\nDe : ACME", "Merci"},
		{"outlook zh full-width colons", "收到\n\n发件人：ACME <reply@acme.example>\n发送时间：2016年1月4日 19:03\n收件人：Jane\n主题：订单\n\n旧邮件", "收到"},
		{"attribution with a mailto link", "Fine\n\nOn Mon, Jan 4, 2016 at 7:03 PM ACME <mailto:reply@acme.example> wrote:\nOld", "Fine"},
		{"attribution split before the address", "Fine\n\nEl lun, 4 ene 2016 a las 19:03, ACME Soporte\n<reply@acme.example> escribió:\nOld", "Fine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.in); got != tt.want {
				t.Errorf("Text(%q)\n got: %q\nwant: %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestUnsure(t *testing.T) {
	long := strings.Repeat("A line of my own answer about the order.\n", 12)
	tests := []struct {
		name   string
		in     string
		unsure bool
	}{
		{"short text", "Hello\nThanks", false},
		{"long text alone", long, false},
		{"long text with a quote", long + "\n> old", false},
		{"unknown header block at the end", long + "\nΑπό: ACME <reply@acme.example>\nΣτάλθηκε: Δευτέρα\nΠρος: Jane\nΘέμα: Παραγγελία\n\nOld text", true},
		{"unknown attribution at the end", long + "\nΣτις 4/1/2016 19:03, ο χρήστης ACME <reply@acme.example> έγραψε:\nOld text", true},
		{"unknown separator at the end", long + "\n-------- Αρχικό μήνυμα --------\nOld text", true},
		{"fields in the first half", "Order: 1\nName: Jane\nEmail: jane@example.com\n" + long, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ExtractText(tt.in)
			if r.Unsure != tt.unsure {
				t.Errorf("Unsure = %v, want %v", r.Unsure, tt.unsure)
			}
			if tt.unsure && r.Text != strings.TrimSpace(tt.in) {
				t.Errorf("an unsure text must be kept whole, got %q", r.Text)
			}
		})
	}
}
