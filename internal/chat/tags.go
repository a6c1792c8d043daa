package chat

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// CodeInvalidTag refuses a tag that is empty, too long or holds a
// character tags do not, and an 11th tag; the message names the tag.
const CodeInvalidTag = "invalid_tag"

// NormalizeTag returns a tag as Parley keeps it: trimmed, in Unicode's
// composed form (NFC), runs of spaces made one; 1 to 32 letters, digits,
// spaces and "-", "_", ".", "/". Anything else is refused with
// CodeInvalidTag. A typed tag is shown back to agents, so the rule keeps
// out what would make it look like something else (control, invisible and
// bidirectional characters, punctuation, a combining mark on no letter).
func NormalizeTag(raw string) (string, error) {
	var (
		b    strings.Builder
		prev rune
	)
	for _, r := range strings.TrimSpace(norm.NFC.String(raw)) {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' || r == '-' || r == '_' || r == '.' || r == '/' ||
			unicode.IsMark(r) && (unicode.IsLetter(prev) || unicode.IsMark(prev)) &&
				// marks that show nothing (a grapheme joiner, a variation
				// selector) would make "Billing" two tags that look alike
				!unicode.Is(unicode.Variation_Selector, r) && !unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
		if !ok {
			return "", newError(CodeInvalidTag, fmt.Sprintf("tag %q: a tag holds only letters, digits, spaces and - _ . /", raw))
		}
		if r == ' ' && prev == ' ' {
			continue
		}
		b.WriteRune(r)
		prev = r
	}
	name := b.String()
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "", newError(CodeInvalidTag, fmt.Sprintf("tag %q is empty: a tag has 1 to %d characters", raw, model.MaxTagLength))
	case n > model.MaxTagLength:
		return "", newError(CodeInvalidTag, fmt.Sprintf("tag %q is longer than %d characters", raw, model.MaxTagLength))
	}
	return name, nil
}

// normalizeTags checks a conversation's new tags: each as NormalizeTag
// keeps it, the same tag in another case once (its first spelling), at
// most model.MaxTags.
func normalizeTags(raw []string) ([]string, error) {
	var (
		out  []string
		keys = map[string]bool{}
	)
	for _, r := range raw {
		name, err := NormalizeTag(r)
		if err != nil {
			return nil, err
		}
		key := model.TagKey(name)
		if keys[key] {
			continue
		}
		if len(out) == model.MaxTags {
			return nil, newError(CodeInvalidTag, fmt.Sprintf("a conversation has at most %d tags: %q is one too many", model.MaxTags, name))
		}
		keys[key] = true
		out = append(out, name)
	}
	return out, nil
}

// SetTags makes tags the conversation's tags, replacing those it had (none
// removes them all). Any agent may tag. A tag already used in the
// workspace keeps the spelling it was first given.
func (s *Service) SetTags(ctx context.Context, a model.Agent, conversationID string, tags []string) (model.Conversation, error) {
	names, err := normalizeTags(tags)
	if err != nil {
		return model.Conversation{}, err
	}
	c, _, err := s.editTags(ctx, a, conversationID, func(model.Tags) []string { return names })
	return c, err
}

// AddTag gives the conversation one more tag (nothing changes when it has
// it already, in any case).
func (s *Service) AddTag(ctx context.Context, a model.Agent, conversationID, tag string) (model.Conversation, error) {
	c, _, err := s.addTag(ctx, a, conversationID, tag)
	return c, err
}

// addTag is AddTag, telling whether the conversation changed.
func (s *Service) addTag(ctx context.Context, a model.Agent, conversationID, tag string) (model.Conversation, bool, error) {
	name, err := NormalizeTag(tag)
	if err != nil {
		return model.Conversation{}, false, err
	}
	var refused error
	c, changed, err := s.editTags(ctx, a, conversationID, func(current model.Tags) []string {
		names, err := normalizeTags(append(slices.Clone([]string(current)), name))
		if refused = err; err != nil {
			return current
		}
		return names
	})
	if err == nil && refused != nil {
		return c, false, refused
	}
	return c, changed, err
}

// TagKeyOf is the key (model.TagKey) of a tag as typed, in any case, with
// any spacing or composition: what names a tag to remove or to list.
func TagKeyOf(typed string) string {
	return model.TagKey(strings.Join(strings.Fields(norm.NFC.String(typed)), " "))
}

// RemoveTag takes a tag off the conversation, whatever its case; a tag it
// does not have changes nothing.
func (s *Service) RemoveTag(ctx context.Context, a model.Agent, conversationID, tag string) (model.Conversation, error) {
	key := TagKeyOf(tag)
	c, _, err := s.editTags(ctx, a, conversationID, func(current model.Tags) []string {
		return slices.DeleteFunc(slices.Clone([]string(current)), func(t string) bool { return model.TagKey(t) == key })
	})
	return c, err
}

// editTags replaces the conversation's tags by what next makes of them,
// in a transaction that holds the conversation, so that two agents adding
// a tag each at once keep both. A change tells the dashboards and the
// webhooks (conversation.updated); none tells nobody.
func (s *Service) editTags(ctx context.Context, a model.Agent, conversationID string, next func(current model.Tags) []string) (model.Conversation, bool, error) {
	var (
		c       model.Conversation
		changed bool
	)
	hooks := s.hooks()
	err := s.db.InTx(ctx, func(tx *store.Store) error {
		changed = false
		if err := tx.LockConversation(ctx, a.WorkspaceID, conversationID); err != nil {
			return notFound(err, "conversation")
		}
		before, err := tx.Conversation(ctx, a.WorkspaceID, conversationID)
		if err != nil {
			return notFound(err, "conversation")
		}
		c = before
		names := next(before.Tags)
		if sameTags(before.Tags, names) {
			return nil
		}
		if c.Tags, err = tx.SetConversationTags(ctx, a.WorkspaceID, conversationID, names); err != nil {
			return notFound(err, "conversation")
		}
		if sameTags(before.Tags, c.Tags) { // another case of the same tags, spelled as before
			return nil
		}
		changed = true
		return hooks.emit(ctx, tx, a.WorkspaceID, conversationID, realtime.ConversationUpdated, c)
	})
	if err != nil {
		return model.Conversation{}, false, err
	}
	if changed {
		hooks.done()
		s.log.Debug("conversation tagged", "conversation", conversationID, "agent", a.ID, "tags", len(c.Tags))
		s.toAgents(a.WorkspaceID, realtime.ConversationUpdated, c)
	}
	return c, changed, nil
}

// sameTags reports whether two sets of tags are the same, spelling
// included (order aside).
func sameTags(a model.Tags, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone([]string(a)), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// Tags lists the tags in use in the agent's workspace, with how many open
// conversations (and conversations in all) have each.
func (s *Service) Tags(ctx context.Context, a model.Agent) ([]model.WorkspaceTag, error) {
	return s.db.TagsInUse(ctx, a.WorkspaceID)
}

// TagNames lists the names of the tags in use in the agent's workspace,
// without counting their conversations.
func (s *Service) TagNames(ctx context.Context, a model.Agent) ([]string, error) {
	return s.db.TagNamesInUse(ctx, a.WorkspaceID)
}
