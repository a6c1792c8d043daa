package realtime

import "encoding/json"

// Event is what agents' connections receive (spec: Event).
type Event struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// EncodeEvent encodes an event for agents' connections.
func EncodeEvent(typ string, data any) ([]byte, error) {
	return json.Marshal(Event{Type: typ, Data: data})
}
