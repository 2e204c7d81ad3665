package loopback

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHost(t *testing.T) {
	for _, c := range []struct {
		host string
		want bool
	}{
		{"localhost", true}, {"localhost:18734", true}, {"LocalHost:80", true},
		{"127.0.0.1", true}, {"127.0.0.1:18734", true}, {"127.1.2.3:9", true},
		{"[::1]:18734", true}, {"[::1]", true}, {"::1", true},
		{"attacker.example:18734", false}, {"attacker.example", false}, {"localhost.attacker.example", false},
		{"127.0.0.1.attacker.example:80", false}, {"10.0.0.1:80", false}, {"[::2]:80", false}, {"", false},
		{"0.0.0.0:80", false},
	} {
		if got := Host(c.host); got != c.want {
			t.Errorf("Host(%q) = %v, want %v", c.host, got, c.want)
		}
	}
}

// Over a real server: a request naming attacker.example (as a rebound page's do) gets 403 and a
// message; localhost and 127.0.0.1, with the server's port, get through.
func TestOnly(t *testing.T) {
	srv := httptest.NewServer(Only(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	for _, c := range []struct {
		host string
		want int
	}{{"attacker.example" + port, 403}, {"localhost" + port, 200}, {"127.0.0.1" + port, 200}} {
		req, _ := http.NewRequest("PUT", srv.URL+"/api/marks", nil)
		req.Host = c.host
		req.Header.Set("Origin", "http://"+c.host)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want || (c.want == 403 && !strings.Contains(string(b), "--api-key-env")) {
			t.Errorf("Host %s: %d %s, want %d", c.host, resp.StatusCode, b, c.want)
		}
	}
}
