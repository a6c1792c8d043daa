package forward

import "testing"

// BenchmarkDecide decides a 15-message conversation (2 pending replies) that is due: the
// most expensive outcome, since it also selects the email's messages.
func BenchmarkDecide(b *testing.B) {
	snap := longChat()
	now := at(50, 0)
	b.ReportAllocs()
	for b.Loop() {
		if d := Decide(now, snap, ModeUnread, DefaultTimings); d.Outcome != Send {
			b.Fatalf("Decide = %s", d.Outcome)
		}
	}
}

// BenchmarkDecideWait is the common case: re-evaluation after an activity frame.
func BenchmarkDecideWait(b *testing.B) {
	snap := longChat()
	snap.Online = true
	now := at(16, 0)
	b.ReportAllocs()
	for b.Loop() {
		if d := Decide(now, snap, ModeUnread, DefaultTimings); d.Outcome != Wait {
			b.Fatalf("Decide = %s", d.Outcome)
		}
	}
}

// BenchmarkCompose composes and renders the email of the 15-message conversation in
// transcript mode (all 15 messages).
func BenchmarkCompose(b *testing.B) {
	in := composeInput(b, longChat(), ModeTranscript)
	b.ReportAllocs()
	for b.Loop() {
		e, err := Compose(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}
