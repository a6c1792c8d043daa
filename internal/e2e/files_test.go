package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/model"
)

// A screenshot pasted into the widget's message box is uploaded, sent, and
// shown as an inline image on both sides; an agent's file comes back as a
// download link; a refused file says why in the widget.
func TestPastedScreenshotReachesDashboard(t *testing.T) {
	srv, agent, visitor := agentAndVisitor(t)
	visitorWrites(visitor, srv.URL+"/demo", "Look at this error")

	pastePicture(visitor, 120, 80)
	visitor.waitFor("the screenshot shown in the widget", inWidget(`$$('image').some((i) => i.complete && i.naturalWidth === 120 && i.closest('[data-id]'))`), 15*time.Second)

	token := eval[string](visitor, `window.Parley.visitorToken()`)
	_, convID := conversationOf(t, srv, token)
	agent.navigate(srv.URL + "/dashboard/conversations/" + convID)
	agent.waitFor("the screenshot inline in the dashboard", `Array.from(document.querySelectorAll('[data-testid="inline-image"]')).some((i) => i.complete && i.naturalWidth === 120 && i.naturalHeight === 80 && i.alt === 'screenshot.png')`, 15*time.Second)
	visitor.screenshot("widget with an image")
	agent.screenshot("dashboard with an image")

	// A refused file: the widget says why.
	eval[bool](visitor, `(() => { const dt = new DataTransfer(); dt.items.add(new File(['<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'], 'logo.svg', { type: 'image/svg+xml' }));
		return `+inWidget(`$('input').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }))`)+` || true; })()`)
	visitor.waitFor("the refusal in the widget, naming the file", inWidget(`$('error') && $('error').textContent.startsWith('logo.svg: ') && $('error').textContent.includes('cannot be sent')`), 10*time.Second)

	// On a slow network the picture says it is on its way, by name; when
	// the network fails under it, the widget says so in its own words.
	if _, err := chromedp.Call(visitor.ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(visitor.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{URLPattern: srv.URL + "/api/widget/v1/uploads*", Latency: 3000, DownloadThroughput: -1, UploadThroughput: -1}}}); err != nil {
		t.Fatal(err)
	}
	pastePicture(visitor, 60, 40)
	visitor.waitFor("the picture on its way", inWidget(`$$('message').some((m) => !m.getAttribute('data-id') && m.textContent.includes('screenshot.png') && m.textContent.includes('Uploading'))`), 5*time.Second)
	if _, err := chromedp.Call(visitor.ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: []*network.BlockPattern{{URLPattern: srv.URL + "/api/widget/v1/uploads*", Block: true}}}); err != nil {
		t.Fatal(err)
	}
	pastePicture(visitor, 60, 40)
	visitor.waitFor("the widget's own words", inWidget(`$('error') && $('error').textContent === 'screenshot.png: The file could not be sent. Try again.'`), 10*time.Second)
}

// A conversation with pictures opens at its newest message, in the
// dashboard and in the widget opened again: the pictures' room is kept
// before they load, so their loading moves nothing.
func TestPicturesDoNotHideTheNewest(t *testing.T) {
	srv, agent, visitor := agentAndVisitor(t)
	agent.setViewport(desktop)
	visitor.setViewport(desktop)
	visitorWrites(visitor, srv.URL+"/demo", "Here is the teapot I mean")
	for i := range 3 {
		pastePicture(visitor, 300, 600)
		visitor.waitFor("the picture sent", inWidget(`$$('image').filter((i) => i.closest('[data-id]')).length === `+fmt.Sprint(i+1)), 15*time.Second)
	}
	typeInWidget(visitor, "Is it available in blue?")
	visitor.waitFor("the question confirmed", inWidget(`$$('message').some((m) => m.getAttribute('data-id') && m.textContent.includes('in blue'))`), 10*time.Second)

	token := eval[string](visitor, `window.Parley.visitorToken()`)
	_, convID := conversationOf(t, srv, token)
	agent.navigate(srv.URL + "/dashboard/conversations/" + convID)
	agent.waitFor("the pictures loaded", `Array.from(document.querySelectorAll('[data-testid="inline-image"]')).every((i) => i.complete && i.naturalWidth > 0)`, 15*time.Second)
	time.Sleep(300 * time.Millisecond)
	if !eval[bool](agent, `(() => { const box = document.getElementById('conv-messages').getBoundingClientRect();
		const last = Array.from(document.querySelectorAll('[data-testid="message"]')).pop().getBoundingClientRect();
		return last.bottom <= box.bottom + 1 && last.top >= box.top; })()`) {
		t.Error("the dashboard opened the conversation with its newest message out of sight")
	}
	agent.screenshot("dashboard conversation with pictures")

	visitor.navigate(srv.URL + "/demo")
	openWidget(visitor, srv.URL+"/demo")
	visitor.waitFor("the pictures loaded in the widget", inWidget(`$$('image').length === 3 && $$('image').every((i) => i.complete && i.naturalWidth > 0)`), 15*time.Second)
	time.Sleep(300 * time.Millisecond)
	if !eval[bool](visitor, inWidget(`(() => { const l = $('messages').getBoundingClientRect(), m = $$('message').pop().getBoundingClientRect();
		return m.bottom <= l.bottom + 1 && m.top >= l.top; })()`)) {
		t.Error("the widget opened again with its newest message out of sight")
	}
	visitor.screenshot("widget with pictures")
}

// A file chosen in the reply box by mistake is taken off before sending:
// the reply goes with the other file only.
func TestReplyFileTakenOff(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Can you send the invoice?")
	dir := t.TempDir()
	files := []string{writePDF(t, dir, "other-customer.pdf"), writePDF(t, dir, "invoice.pdf")}
	a := openAsAgent(t, srv, "ada@example.com", "/dashboard/conversations/"+convID)
	a.do("choose two files", chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="reply-file"]`), files))
	a.waitFor("both uploaded", `document.querySelectorAll('[data-testid="reply-file-chip"]').length === 2`, 10*time.Second)
	a.screenshot("reply box with two files")
	a.do("take the wrong one off", chromedp.Click(chromedp.CSS(`[data-testid="reply-file-remove"][aria-label="Remove other-customer.pdf"]`)))
	a.waitFor("one left", `document.querySelectorAll('[data-testid="reply-file-chip"]').length === 1`, 5*time.Second)
	eval[bool](a, `(document.querySelector('textarea[name="body"]').value = 'Here it is.', true)`)
	sendReply(a, "send-reply")
	var out struct {
		Messages []model.Message `json:"messages"`
	}
	srv.Do("GET", "/api/v1/conversations/"+convID+"/messages", ada.Token, nil, http.StatusOK, &out)
	last := out.Messages[len(out.Messages)-1]
	if last.Body != "Here it is." || len(last.Attachments) != 1 || last.Attachments[0].Filename != "invoice.pdf" {
		t.Errorf("the reply went as %q with %+v", last.Body, last.Attachments)
	}
}

// pastePicture pastes a width×height PNG drawn on a canvas into the
// widget's message box, as a browser does for a screenshot in the
// clipboard (a file named image.png).
func pastePicture(tb *tab, width, height int) {
	tb.t.Helper()
	eval[bool](tb, `(() => { const c = document.createElement('canvas'); c.width = `+strconv.Itoa(width)+`; c.height = `+strconv.Itoa(height)+`;
		const g = c.getContext('2d'); g.fillStyle = '#c00'; g.fillRect(0, 0, c.width, c.height); g.fillStyle = '#fff'; g.fillRect(10, 10, 50, 20);
		c.toBlob((b) => { const dt = new DataTransfer(); dt.items.add(new File([b], 'image.png', { type: 'image/png' }));
			`+inWidget(`$('input').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }))`)+`; }, 'image/png');
		return true; })()`)
}

// writePDF writes a small PDF named name in dir and returns its path.
func writePDF(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
