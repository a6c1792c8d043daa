package chat

import (
	"testing"

	"github.com/parleychat/parley/internal/model"
)

func TestAssignmentText(t *testing.T) {
	ada := model.Agent{ID: "a", Name: "Ada"}
	ben := model.Agent{ID: "b", Name: "Ben"}
	cat := model.Agent{ID: "c", Name: "Cat"}
	was := func(a model.Agent) *model.Assignee { return &model.Assignee{ID: a.ID, Name: a.Name} }
	tests := []struct {
		name     string
		before   *model.Assignee
		to       model.Agent
		assigned bool
		want     string
	}{
		{"to a colleague", nil, ben, true, "Ada assigned the conversation to Ben."},
		{"from one colleague to another", was(cat), ben, true, "Ada assigned the conversation to Ben (it was Cat's)."},
		{"one's own to a colleague", was(ada), ben, true, "Ada assigned the conversation to Ben."},
		{"taken", nil, ada, true, "Ada took the conversation."},
		{"taken from a colleague", was(ben), ada, true, "Ada took the conversation from Ben."},
		{"unassigned from a colleague", was(ben), model.Agent{}, false, "Ada unassigned the conversation from Ben."},
		{"given up", was(ada), model.Agent{}, false, "Ada gave up the conversation."},
		{"the same again", was(ben), ben, true, ""},
		{"nobody's, to nobody", nil, model.Agent{}, false, ""},
	}
	for _, tt := range tests {
		if got := assignmentText(ada, tt.before, tt.to, tt.assigned); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
