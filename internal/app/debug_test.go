package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
)

func TestDebugListenerIsSeparate(t *testing.T) {
	debug := apptest.FreeAddr(t)
	s := apptest.Start(t, map[string]string{"PARLEY_DEBUG_ADDR": debug})
	apptest.Eventually(t, 5*time.Second, "debug listener up", func() bool {
		resp, err := http.Get("http://" + debug + "/debug/pprof/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	tests := []struct {
		url  string
		want int
	}{
		{"http://" + debug + "/debug/pprof/heap", http.StatusOK},
		{"http://" + debug + "/debug/pprof/goroutine?debug=1", http.StatusOK},
		{s.URL + "/debug/pprof/heap", http.StatusNotFound},
	}
	for _, tt := range tests {
		resp, err := http.Get(tt.url)
		if err != nil {
			t.Fatalf("GET %s: %v", tt.url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("GET %s: %d, want %d", tt.url, resp.StatusCode, tt.want)
		}
	}
}
