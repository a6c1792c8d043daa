package model

import "time"

// Delivery statuses of an agent reply: sent through Messenger or Instagram
// (ChannelDelivery.Status), or forwarded by email (Forwarded.Status, and
// the status of the email in the outbox). Only Meta reports delivered, and
// only mail bounces.
const (
	DeliveryQueued    = "queued"
	DeliverySent      = "sent"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	DeliveryBounced   = "bounced"
)

// TagHumanAgent is the Meta message tag that lets a person (never a bot)
// answer up to 7 days after the person's last message, past the 24-hour
// standard messaging window.
const TagHumanAgent = "HUMAN_AGENT"

// ChannelDelivery is the Messenger/Instagram side of a message. For an agent
// reply: its delivery through Meta's Send API (queued, sent, delivered, or
// failed with the error shown to agents). For a person's message: Meta's
// message id and the quick-reply or postback payload, when there was one.
type ChannelDelivery struct {
	Status    string     `json:"status,omitempty"`
	Error     string     `json:"error,omitempty"`
	Tag       string     `json:"tag,omitempty"`
	Attempts  int        `json:"attempts,omitempty"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
	MessageID string     `json:"message_id,omitempty"`
	Payload   string     `json:"payload,omitempty"`
}

// ChannelPerson is the channel identity of a visitor: the person's
// page-scoped id on Messenger (PSID) or Instagram (IGSID).
type ChannelPerson struct {
	Visitor          Visitor
	Channel          string
	ExternalID       string
	ProfileCheckedAt *time.Time
}

// ChannelReplyUpdate is a change of an agent reply's delivery.
type ChannelReplyUpdate struct {
	Status    string
	Error     string // "" clears it
	MessageID string // Meta's mid once sent ("" keeps the stored one)
	SentAt    *time.Time
	Tag       *string    // nil keeps the stored tag
	NextTry   *time.Time // for Status queued: when to try (again)
}
