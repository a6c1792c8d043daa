package chat

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Canned replies' variables: "{{visitor.first_name}}" in a canned reply is
// filled in by the dashboard when the reply is inserted, from the
// conversation open (the visitor), the agent and the workspace; after "|"
// comes what to write when it is not known ("Hi {{visitor.first_name |
// there}}"). A variable without a fallback that cannot be filled stays in
// the box, where the agent sees it, and a reply that still holds one is
// refused: it never reaches a visitor as written. The dashboard's script
// fills them the same way (dashboard.js, fillVariables).

// CodeInvalidVariable refuses an unknown variable in a canned reply, and
// a reply that holds a variable not filled in.
const CodeInvalidVariable = "invalid_variable"

// CannedVariables are the variables a canned reply may hold.
var CannedVariables = []string{"visitor.name", "visitor.first_name", "visitor.email", "agent.name", "agent.first_name", "workspace.name"}

// variablePattern is "{{name}}" or "{{name | fallback}}", spaces allowed.
var variablePattern = regexp.MustCompile(`\{\{\s*([^{}|]*?)\s*(?:\|\s*([^{}]*?)\s*)?\}\}`)

// checkCannedVariables refuses a canned reply's body with a variable that
// is not one of CannedVariables.
func checkCannedVariables(body string) error {
	for _, m := range variablePattern.FindAllStringSubmatch(body, -1) {
		if !slices.Contains(CannedVariables, m[1]) {
			return newError(CodeInvalidVariable, fmt.Sprintf("%s is not a variable: use {{%s}}, with a fallback after | if you like ({{visitor.first_name | there}})",
				m[0], strings.Join(CannedVariables, "}}, {{")))
		}
	}
	return nil
}

// checkFilledIn refuses a reply that still holds a variable of canned
// replies (not filled in).
func checkFilledIn(body string) error {
	for _, m := range variablePattern.FindAllStringSubmatch(body, -1) {
		if slices.Contains(CannedVariables, m[1]) {
			return newError(CodeInvalidVariable, fmt.Sprintf("%s was not filled in: write it yourself before sending", m[0]))
		}
	}
	return nil
}
