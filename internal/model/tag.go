package model

import (
	"encoding/json"
	"slices"
	"strings"

	"golang.org/x/text/cases"
)

// MaxTags is the most tags a conversation has; MaxTagLength the most
// characters of one.
const (
	MaxTags      = 10
	MaxTagLength = 32
)

// Tags are a conversation's tags, each as the workspace first spelled it,
// in the order of SortTags. Their JSON is always an array: [] for none.
type Tags []string

// MarshalJSON writes no tags as [] rather than null.
func (t Tags) MarshalJSON() ([]byte, error) {
	if t == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]string(t))
}

// TagKey is how tags compare: "Billing" and "billing" are one tag. name
// is a tag as the domain accepted it (trimmed, NFC).
func TagKey(name string) string {
	return cases.Fold().String(name) // a Caser is not shared between goroutines
}

// SortTags orders tags without regard to letter case (the same letters in
// another case after, by their bytes, so that the order is stable).
func SortTags(tags []string) {
	c := cases.Fold()
	slices.SortFunc(tags, func(a, b string) int {
		if d := strings.Compare(c.String(a), c.String(b)); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
}

// WorkspaceTag is a tag in use in a workspace, with how many of its
// conversations carry it: open ones, and in all.
type WorkspaceTag struct {
	Name              string `json:"name"`
	OpenConversations int    `json:"open_conversations"`
	Conversations     int    `json:"conversations"`
}
