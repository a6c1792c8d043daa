package inbound

import "testing"

// sentText is the text part of an email Parley sent (forward's
// email.txt.tmpl).
const sentText = `Kettle & Co.
============

Bonjour Léa,

Vous avez une nouvelle réponse de Kettle & Co.
[nouveau] Ann · 17:22
Oui, la bouilloire est en stock.
Elle part demain.

Reprendre la conversation : https://chat.example.com/chat/AbC123
Répondez à cet e-mail pour répondre.

-- 
Kettle & Co., via Parley
Se désabonner : https://chat.example.com/unsubscribe/XyZ`

func TestCutOwnEmail(t *testing.T) {
	tests := []struct {
		name, in, want string
		cut            bool
	}{
		{"the email pasted under the answer", "D'accord, merci.\n\nBonjour Léa,\n\nVous avez une nouvelle réponse de Kettle & Co.\n[nouveau] Ann · 17:22\nOui, la bouilloire est en stock.\nElle part demain.\n\nReprendre la conversation : https://chat.example.com/chat/AbC123\nRépondez à cet e-mail pour répondre.",
			"D'accord, merci.", true},
		{"re-spaced by the mail client", "Merci !\n\n  Bonjour   Léa,\n\nVous avez une nouvelle réponse de  Kettle & Co.\n\n\nReprendre la conversation :   https://chat.example.com/chat/AbC123",
			"Merci !", true},
		{"from its header", "Top.\r\n\r\nKettle & Co.\r\n============\r\n\r\nBonjour Léa,\r\nSe désabonner : https://chat.example.com/unsubscribe/XyZ",
			"Top.", true},
		{"a message quoted line by line, no link after", "Oui, la bouilloire est en stock.\nElle part demain.\n\nParfait, et la couleur rouge ?",
			"Oui, la bouilloire est en stock.\nElle part demain.\n\nParfait, et la couleur rouge ?", false},
		{"one line of ours, then the link", "Elle part demain.\nSuper. Voici le lien : https://chat.example.com/chat/AbC123",
			"Elle part demain.\nSuper. Voici le lien : https://chat.example.com/chat/AbC123", false},
		{"nothing of ours", "Merci beaucoup !", "Merci beaucoup !", false},
		{"only the email", "Bonjour Léa,\nVous avez une nouvelle réponse de Kettle & Co.\nReprendre la conversation : https://chat.example.com/chat/AbC123", "", true},
	}
	for _, tt := range tests {
		got, cut := CutOwnEmail(tt.in, []string{"an older email\nwith other lines", sentText})
		if got != tt.want || cut != tt.cut {
			t.Errorf("%s: %q, %v; want %q, %v", tt.name, got, cut, tt.want, tt.cut)
		}
	}
}
