// Package testenv decides whether a test that needs an outside tool (DuckDB, a browser) may skip
// when the tool is missing, or must fail: under CI, and when the tool's VRLAIF_REQUIRE_* variable
// is 1, a missing tool is an error, so a green run never hides a skipped check.
package testenv

import (
	"os"
	"strings"
	"testing"
)

// Required reports whether a missing tool must fail: under CI (CI set to anything but "", "0" or
// "false") or with env set to 1.
func Required(env string) bool {
	if ci := strings.ToLower(os.Getenv("CI")); ci != "" && ci != "0" && ci != "false" {
		return true
	}
	return os.Getenv(env) == "1"
}

// Need skips t when unavailable is not nil, or fails it when Required(env) says so.
func Need(t testing.TB, env, tool string, unavailable error) {
	t.Helper()
	if unavailable == nil {
		return
	}
	if Required(env) {
		t.Fatalf("%s is required here (CI or %s=1) but unavailable: %v", tool, env, unavailable)
	}
	t.Skipf("skipping: %s unavailable: %v", tool, unavailable)
}
