// Package loopback guards a server that listens on loopback without a key against DNS rebinding:
// a page on attacker.example, whose name the attacker re-points at 127.0.0.1, reaches such a
// server from the victim's browser as its own origin (so same-origin checks pass), but every
// request it sends still names attacker.example in its Host header. Answering only requests whose
// Host is a loopback name closes that door.
package loopback

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
)

// Host reports whether host (a request's Host: a name or address, with or without a port) names
// this machine's loopback: localhost, an address in 127.0.0.0/8, or ::1.
func Host(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil { // no port
		h = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Only serves h to requests whose Host is a loopback name (see Host) and answers any other with
// 403 and a JSON error that says how to reach the server.
func Only(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Host(r.Host) {
			Refuse(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Refuse answers 403 for a request whose Host is not a loopback name, with a JSON body
// {"error": …} that says why.
func Refuse(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	json.NewEncoder(w).Encode(map[string]string{"error": "this server has no API key, so it answers only requests addressed to " +
		"localhost, 127.0.0.1 or [::1] (this one was addressed to " + r.Host + "); open it by one of those names, or start it with --api-key-env"})
}
