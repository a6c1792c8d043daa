package e2e

import (
	"testing"
	"time"
)

// A screenshot pasted into the widget's message box is uploaded, sent, and
// shown as an inline image on both sides; an agent's file comes back as a
// download link; a refused file says why in the widget.
func TestPastedScreenshotReachesDashboard(t *testing.T) {
	srv, agent, visitor := agentAndVisitor(t)
	visitorWrites(visitor, srv.URL+"/demo", "Look at this error")

	// Paste a 120×80 PNG drawn on a canvas, as a browser does for a
	// screenshot in the clipboard (a file named image.png).
	eval[bool](visitor, `(() => { const c = document.createElement('canvas'); c.width = 120; c.height = 80;
		const g = c.getContext('2d'); g.fillStyle = '#c00'; g.fillRect(0, 0, 120, 80); g.fillStyle = '#fff'; g.fillRect(10, 10, 50, 20);
		c.toBlob((b) => { const dt = new DataTransfer(); dt.items.add(new File([b], 'image.png', { type: 'image/png' }));
			`+inWidget(`$('input').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }))`)+`; }, 'image/png');
		return true; })()`)
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
}
