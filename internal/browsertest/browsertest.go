// Package browsertest runs the scripts in tools/browser, which drive a web page in the system
// Chromium (Debian's chromium package) through playwright-core, for tests of `vrlaif serve`'s page.
// Without Chromium or the npm package a test skips, visibly, unless it must run (CI, or
// VRLAIF_REQUIRE_BROWSER=1), where it fails.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/vrlaif/vrlaif/internal/testenv"
)

// EnvRequire, set to 1, makes Need fail instead of skip.
const EnvRequire = "VRLAIF_REQUIRE_BROWSER"

// EnvChromium overrides the Chromium executable (default: chromium on PATH).
const EnvChromium = "VRLAIF_CHROMIUM"

// Dir is tools/browser in the source tree this package was compiled from.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "tools", "browser")
}

// Available says why the browser cannot be driven here, or nil.
func Available() error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("browsertest: node is not on PATH; run scripts/setup.sh")
	}
	if _, err := chromium(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(Dir(), "node_modules", "playwright-core", "package.json")); err != nil {
		return fmt.Errorf("browsertest: playwright-core is not installed in %s; run scripts/setup.sh", Dir())
	}
	return nil
}

func chromium() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("browsertest: no chromium on PATH; run scripts/setup.sh (apt-get install chromium)")
}

// Required: under CI, or with VRLAIF_REQUIRE_BROWSER=1.
func Required() bool { return testenv.Required(EnvRequire) }

// Need skips t when the browser is unavailable, or fails it when Required.
func Need(t testing.TB) {
	t.Helper()
	testenv.Need(t, EnvRequire, "a browser", Available())
}

// Run runs tools/browser/SCRIPT with one argument and returns its standard output; a failing
// script's error carries its standard error (which says which check failed).
func Run(ctx context.Context, script, arg string) ([]byte, error) {
	chrome, err := chromium()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "node", filepath.Join(Dir(), script), arg)
	cmd.Dir = Dir()
	cmd.Env = append(os.Environ(), EnvChromium+"="+chrome)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("browsertest: %s: %v\n%s", script, err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// ArtifactDir is where a test keeps its screenshots: $VRLAIF_TEST_ARTIFACTS/NAME, or
// out/test-artifacts/NAME in the source tree (ignored by git), emptied first.
func ArtifactDir(t testing.TB, name string) string {
	t.Helper()
	root := os.Getenv("VRLAIF_TEST_ARTIFACTS")
	if root == "" {
		root = filepath.Join(Dir(), "..", "..", "out", "test-artifacts")
	}
	dir, err := filepath.Abs(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
