package inbound_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/token"
)

// rssCeiling is the resident memory the whole parley process must stay
// under while it is flooded with large HTML messages.
const rssCeiling = 768 << 20

// TestLargeHTMLFloodStaysBounded sends 8 concurrent 24 MB text/html
// messages to each address the inbound SMTP server accepts (a reply
// address and the bounce address) of a real `parley serve` process, and
// checks that its peak resident memory stays under 768 MiB and that the
// chat still answers afterwards. A watchdog kills the process at twice the
// ceiling so that a regression fails the test instead of exhausting the
// machine.
func TestLargeHTMLFloodStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the parley command with 384 MB of mail")
	}
	const secret = "memory-test-secret-0123456789"
	bin := apptest.BuildParley(t)
	addr, smtpAddr := apptest.FreeAddr(t), apptest.FreeAddr(t)
	url := "http://" + addr
	env := append(os.Environ(),
		"PARLEY_HTTP_ADDR="+addr,
		"PARLEY_PUBLIC_URL="+url,
		"PARLEY_DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "parley.db"),
		"PARLEY_ATTACHMENTS_DIR="+filepath.Join(t.TempDir(), "attachments"),
		"PARLEY_SECRET="+secret,
		"PARLEY_MAIL_FROM=parley@example.test",
		"PARLEY_INBOUND_DOMAIN=reply.example.test",
		"PARLEY_INBOUND_SMTP_ADDR="+smtpAddr,
		"GOMEMLIMIT=", "PARLEY_MEMORY_LIMIT=", // the defaults
	)
	apptest.Run(t, bin, env, "correct horse battery\n", "agent", "add", "--email", "ann@example.com", "--name", "Ann", "--password-stdin")
	siteKey := strings.Split(strings.TrimSpace(apptest.Run(t, bin, env, "", "workspace", "list")), "\t")[2]
	proc := apptest.StartServe(t, bin, env, url)
	pid := proc.Cmd.Process.Pid

	var login struct {
		Token string `json:"token"`
	}
	apptest.Call(t, "POST", url+"/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": "correct horse battery"}, &login)
	apptest.Call(t, "PUT", url+"/api/v1/me/status", login.Token, map[string]string{"status": "online"}, nil)
	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	apptest.Call(t, "POST", url+"/api/widget/v1/session", "", map[string]string{"site_key": siteKey}, &sess)
	var first struct {
		ConversationID string `json:"conversation_id"`
	}
	apptest.Call(t, "POST", url+"/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "hello", "client_id": "1"}, &first)
	replyAddr := "reply+" + token.NewSigner([]byte(secret)).Sign(token.Reply, first.ConversationID) + "@reply.example.test"

	body := hugeHTML(24 << 20)
	before := residentKiB(t, pid, "VmRSS")

	stop := make(chan struct{})
	watchdog := make(chan int64, 1)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if kib, ok := readStatus(pid, "VmRSS"); ok && kib<<10 > 2*rssCeiling {
				watchdog <- kib
				proc.Kill()
				return
			}
		}
	}()

	// Each pair of sessions comes from its own loopback address, as from
	// eight hosts: the per-address connection limit is not what is tested.
	var wg sync.WaitGroup
	type result struct{ rcpt, answer string }
	results := make(chan result, 16)
	for i := range 8 {
		for _, rcpt := range []string{replyAddr, "parley@example.test"} {
			wg.Go(func() {
				results <- result{rcpt, sendRaw(fmt.Sprintf("127.0.0.%d", 2+i), smtpAddr, "vera@example.com", rcpt, i, body)}
			})
		}
	}
	wg.Wait()
	close(stop)
	close(results)
	select {
	case kib := <-watchdog:
		t.Fatalf("parley reached %d MiB of resident memory and was killed (ceiling %d MiB)", kib>>10, rssCeiling>>20)
	default:
	}
	peak := residentKiB(t, pid, "VmHWM")
	t.Logf("resident memory: %d MiB before, %d MiB peak (ceiling %d MiB)", before>>10, peak>>10, rssCeiling>>20)
	accepted := 0
	for r := range results {
		t.Logf("%s: %s", r.rcpt, r.answer)
		switch {
		case r.rcpt == replyAddr && r.answer == "accepted":
			accepted++
		case r.rcpt == replyAddr && strings.Contains(r.answer, "451"): // rate limited: retried later
		case r.rcpt != replyAddr && strings.Contains(r.answer, "550"): // refused unread
		default:
			t.Errorf("to %s: %s", r.rcpt, r.answer)
		}
	}
	if accepted == 0 {
		t.Error("no reply was accepted")
	}
	if peak<<10 >= rssCeiling {
		t.Fatalf("peak resident memory %d MiB, want under %d MiB", peak>>10, rssCeiling>>20)
	}

	// The chat still works: a visitor's message reaches the agent's API.
	apptest.Call(t, "POST", url+"/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "still there?", "client_id": "2"}, nil)
	var msgs struct {
		Messages []struct {
			Body string `json:"body"`
		} `json:"messages"`
	}
	apptest.Call(t, "GET", url+"/api/v1/conversations/"+first.ConversationID+"/messages", login.Token, nil, &msgs)
	if last := msgs.Messages[len(msgs.Messages)-1].Body; last != "still there?" {
		t.Fatalf("last message %q, want the visitor's new one", last)
	}
}

// hugeHTML returns an HTML body of about size bytes made of many small
// elements, the costliest shape for an HTML tree.
func hugeHTML(size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 100)
	b.WriteString("<html><body>\r\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "<p><b>w%d</b> <i>x</i></p>\r\n", i)
	}
	b.WriteString("</body></html>\r\n")
	return b.Bytes()
}

// sendRaw sends one text/html message with body over a new SMTP session
// and returns the server's answer to it.
func sendRaw(localIP, addr, from, to string, n int, body []byte) string {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return "dial: " + err.Error()
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		conn.Close()
		return "greeting: " + err.Error()
	}
	defer c.Close()
	if err := c.Mail(from); err != nil {
		return "MAIL: " + err.Error()
	}
	if err := c.Rcpt(to); err != nil {
		return "RCPT: " + err.Error()
	}
	w, err := c.Data()
	if err != nil {
		return "DATA: " + err.Error()
	}
	fmt.Fprintf(w, "From: Vera <%s>\r\nTo: <%s>\r\nSubject: Re: your question\r\nMessage-ID: <flood-%d@example.com>\r\n"+
		"Date: Mon, 2 Jun 2025 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n", from, to, n)
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(body)
	bw.Flush()
	if err := w.Close(); err != nil {
		return "end of data: " + err.Error()
	}
	c.Quit()
	return "accepted"
}

func readStatus(pid int, field string) (int64, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kib, err == nil
		}
	}
	return 0, false
}

// residentKiB reads a memory figure of /proc/PID/status, in KiB.
func residentKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	kib, ok := readStatus(pid, field)
	if !ok {
		t.Skipf("no %s in /proc/%d/status: resident memory cannot be measured here", field, pid)
	}
	return kib
}
