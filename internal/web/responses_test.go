package web_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/chat"
)

// The response-times report: conversations started, answered (a reply,
// not a note) and closed, with the median and 90th percentile of their
// first answer and of their close, per day, in all and per agent who
// answered first; over the API and on the dashboard's page.
func TestResponsesReport(t *testing.T) {
	bothDatabases(t, func(t *testing.T, env map[string]string) {
		srv := apptest.Start(t, env)
		ada := srv.AddAgent("ada@example.com", "Ada")
		ben := srv.AddAgent("ben@example.com", "Ben")
		var convs []string
		for _, name := range []string{"Vera", "Olaf", "Pia"} {
			convs = append(convs, newConversation(t, srv, srv.Workspace.SiteKey, name, "Hello from "+name).ConversationID)
		}
		// Vera wrote 10 minutes ago, Olaf 2 hours ago.
		for i, ago := range []time.Duration{10 * time.Minute, 2 * time.Hour} {
			if _, err := srv.App.DB.SQL.Exec(fmt.Sprintf(`UPDATE conversations SET created_at = created_at - %d WHERE id = '%s'`, ago.Microseconds(), convs[i])); err != nil {
				t.Fatal(err)
			}
		}
		post := func(token, conv, kind string) {
			t.Helper()
			srv.Do("POST", "/api/v1/conversations/"+conv+"/messages", token, map[string]string{"kind": kind, "body": "On it"}, http.StatusCreated, nil)
		}
		post(ada.Token, convs[0], "reply")
		post(ben.Token, convs[1], "reply")
		post(ada.Token, convs[1], "reply")   // not the first
		post(ada.Token, convs[2], "comment") // a note answers nobody
		srv.Do("POST", "/api/v1/conversations/"+convs[0]+"/close", ada.Token, nil, http.StatusOK, nil)

		today := time.Now().UTC()
		from, to := today.AddDate(0, 0, -1).Format(time.DateOnly), today.Format(time.DateOnly)
		var rep chat.ResponseReport
		srv.Do("GET", "/api/v1/reports/responses?from="+from+"&to="+to, ben.Token, nil, http.StatusOK, &rep)
		near := func(what string, got *int64, want time.Duration) {
			t.Helper()
			if got == nil || time.Duration(*got)*time.Second < want-5*time.Second || time.Duration(*got)*time.Second > want+5*time.Second {
				t.Errorf("%s: %v s, want about %v", what, got, want)
			}
		}
		tot := rep.Totals
		if tot.Conversations != 3 || tot.Answered != 2 || tot.Closed != 1 {
			t.Errorf("totals: %d conversations, %d answered, %d closed; want 3, 2, 1", tot.Conversations, tot.Answered, tot.Closed)
		}
		near("first response median", tot.FirstResponse.MedianSeconds, 10*time.Minute)
		near("first response p90", tot.FirstResponse.P90Seconds, 2*time.Hour)
		near("resolution median", tot.Resolution.MedianSeconds, 10*time.Minute)
		if len(rep.Days) != 2 || rep.Days[0].Conversations+rep.Days[1].Conversations != 3 || rep.TimeZone != "UTC" {
			t.Errorf("days %+v in %s", rep.Days, rep.TimeZone)
		}
		if len(rep.Agents) != 2 || rep.Agents[0].Name != "Ada" || rep.Agents[0].Answered != 1 || rep.Agents[1].Name != "Ben" {
			t.Fatalf("agents %+v", rep.Agents)
		}
		near("Ada's first response", rep.Agents[0].FirstResponse.MedianSeconds, 10*time.Minute)
		near("Ben's first response", rep.Agents[1].FirstResponse.MedianSeconds, 2*time.Hour)

		raw := srv.Do("GET", "/api/v1/reports/responses?from="+to+"&to="+from, ada.Token, nil, http.StatusBadRequest, nil)
		if apptest.ErrorCode(raw) != "invalid_range" {
			t.Errorf("a range backwards: %s", raw)
		}

		b := newBrowser(t, srv)
		b.login("ada@example.com")
		page := b.get("/dashboard/reports/responses?from=" + from + "&to=" + to)
		if page.Status != http.StatusOK {
			t.Fatalf("the page: %d", page.Status)
		}
		mustContain(t, "the report page", page.Body, `aria-current="page" data-testid="report-responses"`, `data-testid="responses-total"`,
			"10 min", "2 h", `<th scope="row">Ada</th>`, `<th scope="row">Ben</th>`)
		page = b.get("/dashboard/reports/responses?from=2020-01-01&to=2020-01-31")
		mustContain(t, "an empty range", page.Body, `data-testid="report-empty"`)
		page = b.get("/dashboard/reports/responses?from=2020-01-31&to=2020-01-01")
		if page.Status != http.StatusBadRequest {
			t.Errorf("a range backwards on the page: %d", page.Status)
		}
		mustContain(t, "a range backwards on the page", page.Body, `data-testid="report-error"`)
	})
}
