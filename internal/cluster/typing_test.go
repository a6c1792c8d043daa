package cluster

import (
	"testing"

	"github.com/parleychat/parley/internal/apptest"
)

// Typing crosses nodes: the visitor types on node A and the agent on B sees
// the draft; the agent types on B and the widget on A names them. The page
// the visitor goes to on A reaches B too.
func TestTypingAcrossNodes(t *testing.T) {
	cl := startCluster(t)
	a, b := cl.a, cl.b
	agentWS := dial(t, "ws://"+b.addr+"/api/v1/ws?token="+cl.token)

	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	apptest.Call(t, "POST", a.url+"/api/widget/v1/session", "", map[string]string{"site_key": cl.siteKey}, &sess)
	widget := dial(t, "ws://"+a.addr+"/api/widget/v1/ws?visitor_token="+sess.VisitorToken)
	widget.send(`{"type":"contact","email":"vera@example.com","name":"Vera"}`)
	widget.waitFor("contact")
	widget.send(`{"type":"message","body":"Hello from A","client_id":"a1"}`)
	ev := agentWS.waitFor("message.created", "Hello from A")
	convID := between(ev, `"conversation_id":"`, `"`)

	widget.send(`{"type":"typing","preview":"draft typed on A"}`)
	agentWS.waitFor("visitor.typing", `"conversation_id":"`+convID+`"`, `"preview":"draft typed on A"`)

	apptest.Call(t, "POST", b.url+"/api/v1/conversations/"+convID+"/typing", cl.token, nil, nil)
	widget.waitFor("typing", `"name":"Ann"`)

	widget.send(`{"type":"page","url":"https://shop.example.com/basket","title":"Basket"}`)
	agentWS.waitFor("visitor.updated", `"url":"https://shop.example.com/basket"`)
}
