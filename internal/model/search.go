package model

import "time"

// SearchResult is a match of an agent's search: a message of a
// conversation (MessageID set) or its visitor's name or email (MessageID
// nil). Snippet is plain text; Highlights are the spans of the searched
// words in it, as [start, end) offsets in Unicode code points.
type SearchResult struct {
	Conversation Conversation `json:"conversation"`
	MessageID    *string      `json:"message_id"`
	Snippet      string       `json:"snippet"`
	Highlights   [][2]int     `json:"highlights"`
	// At is when the message was written, or for a match on the visitor's
	// name or email, when their conversation was last active.
	At time.Time `json:"at"`
	// Author and Note are the matching message's author and whether it is
	// an internal note (nil and false for a match on the visitor), for the
	// dashboard's page; the API's result does not carry them.
	Author *Author `json:"-"`
	Note   bool    `json:"-"`
}
