package chat

import "testing"

func TestCannedVariables(t *testing.T) {
	for _, tt := range []struct {
		body          string
		saved, sendOK bool // accepted in a canned reply; accepted in a reply
	}{
		{"Hi {{visitor.first_name}}, {{agent.name}} here.", true, false},
		{"Hi {{ visitor.first_name | there }}!", true, false},
		{"From all of us at {{workspace.name}}", true, false},
		{"Write to {{visitor.email}}", true, false},
		{"Hi {{name}}", false, true},             // not a variable: refused when saved
		{"Hi {{visitor.nickname}}", false, true}, // likewise
		{"Hi {{}}", false, true},                 //
		{"Hi Vera, {{ and }} braces stay", false, true},
		{"No variables at all", true, true},
		{"Template code: {x} and { {y} }", true, true},
		{"{{visitor.name | }}", true, false}, // an empty fallback
	} {
		if err := checkCannedVariables(tt.body); (err == nil) != tt.saved {
			t.Errorf("canned %q: %v, want accepted %v", tt.body, err, tt.saved)
		} else if err != nil && ErrorCode(err) != CodeInvalidVariable {
			t.Errorf("canned %q: code %q", tt.body, ErrorCode(err))
		}
		if err := checkFilledIn(tt.body); (err == nil) != tt.sendOK {
			t.Errorf("reply %q: %v, want accepted %v", tt.body, err, tt.sendOK)
		}
	}
}
