package realtime

import "encoding/json"

// Publisher delivers encoded frames to open connections: the Hub of this
// node, or a Bus that reaches every node. The chat service and the
// forwarding engine publish through it; nothing else does.
type Publisher interface {
	ToAgents(workspaceID string, frame []byte)
	ToVisitor(visitorID string, frame []byte)
	ToWidgets(workspaceID string, frame []byte)
	// Revoke closes the connections (dashboards, or a visitor's widgets) a
	// revocation names, on every node, and returns how many were open on
	// this one.
	Revoke(r Revocation) int
}

// EventType names an event pushed to agents' dashboards (spec: Event).
type EventType string

// The events of agents' dashboards.
const (
	MessageCreated      EventType = "message.created"
	MessageUpdated      EventType = "message.updated"
	ConversationUpdated EventType = "conversation.updated"
	VisitorUpdated      EventType = "visitor.updated"
	// Beyond the contract (docs/api.md): an agent was invited or changed
	// (status, name, role), or was removed.
	AgentUpdated EventType = "agent.updated"
	AgentRemoved EventType = "agent.removed"
	// VisitorDeleted: a visitor was erased (data {"id"}); their
	// conversations are gone with them.
	VisitorDeleted EventType = "visitor.deleted"
	// ConversationDeleted: retention deleted a conversation (data {"id"}).
	ConversationDeleted EventType = "conversation.deleted"
	// VisitorTyping: a visitor is typing (data {"conversation_id",
	// "preview"}); never stored.
	VisitorTyping EventType = "visitor.typing"
	// AgentTyping: an agent is writing a reply in a conversation (data
	// {"conversation_id", "agent": {"id", "name"}}), so that colleagues
	// with it open do not answer at the same time; never stored.
	AgentTyping EventType = "agent.typing"
	// WebhookDisabled: a webhook failed for too long and was disabled
	// (data {"id"}).
	WebhookDisabled EventType = "webhook.disabled"
)

// The events that webhooks subscribe to (spec v1.1: Integrations). Those
// also pushed to dashboards are above.
const (
	ConversationCreated EventType = "conversation.created"
	EmailSent           EventType = "email.sent"
	EmailBounced        EventType = "email.bounced"
)

// WebhookEvents are the event types a webhook may subscribe to, in the
// order they are offered.
var WebhookEvents = []EventType{ConversationCreated, MessageCreated, ConversationUpdated, EmailSent, EmailBounced}

// FrameType names a frame pushed to visitors' widgets (spec: widget
// protocol, server → widget).
type FrameType string

// The frames of visitors' widgets.
const (
	FrameMessage FrameType = "message" // a new public message
	FrameAgents  FrameType = "agents"  // agent availability changed
	FrameContact FrameType = "contact" // the contact was saved
	FrameError   FrameType = "error"   // a frame was refused
	FrameTyping  FrameType = "typing"  // an agent is typing
	FrameSeen    FrameType = "seen"    // the team read the conversation
)

// Event is what agents' connections receive (spec: Event).
type Event struct {
	Type EventType `json:"type"`
	Data any       `json:"data"`
	// By is, on a conversation.updated that assigned the conversation
	// (or gave it back to nobody), the agent who did: dashboards announce
	// an assignment to the one it was given to, unless they made it.
	By string `json:"by,omitempty"`
	// Auto is set on the conversation.updated of a waiting conversation
	// handed out by automatic assignment (no visitor message came with
	// it): dashboards announce it to the agent it was given to.
	Auto bool `json:"auto,omitempty"`
}

// EncodeEvent encodes an event for agents' connections.
func EncodeEvent(typ EventType, data any) ([]byte, error) {
	return json.Marshal(Event{Type: typ, Data: data})
}
