package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/backend/openai"
)

// vrlaif serve as a user runs it: a real process on a free port, answering the openai backend,
// and stopping cleanly on SIGTERM with a summary of what it served.
func TestServeProcess(t *testing.T) {
	ckpt := backendtest.Checkpoint(t)
	cmd := exec.Command(os.Args[0], "serve", "--model", ckpt, "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "VRLAIF_RUN_MAIN=1")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	var url string
	var log strings.Builder
	for url == "" && lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		if m := regexp.MustCompile(`on (http://\S+/v1)`).FindStringSubmatch(lines.Text()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("serve did not say where it listens:\n%s", log.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := openai.NewClient(ctx, backend.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Chat(ctx, backendtest.Question(backendtest.Frames(t, 4), 2, 1))
	if err != nil || len(resp.Choices) != 2 || resp.Model != "tiny" {
		t.Fatalf("chat through vrlaif serve: %v %+v", err, resp)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	for lines.Scan() { // until the process closes stderr
		log.WriteString(lines.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve did not exit cleanly on SIGTERM: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "stopped after 1 calls") {
		t.Errorf("no shutdown summary:\n%s", log.String())
	}
}

// The page's guards on the command line: no model and no data is nothing to serve; --no-ui needs
// a model; the page never listens beyond loopback without a key.
func TestServeRefuses(t *testing.T) {
	data := t.TempDir()
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"serve"}, "--model is required"},
		{[]string{"serve", "--data", data, "--no-ui"}, "--no-ui needs --model"},
		{[]string{"serve", "--data", data, "--addr", "0.0.0.0:0"}, "beyond loopback needs --api-key-env"},
		{[]string{"serve", "--data", filepath.Join(data, "missing")}, "data folder"},
	} {
		if out := vrlaif(t, false, c.args...); !strings.Contains(out, c.says) {
			t.Errorf("vrlaif %s: %q, want it to say %q", strings.Join(c.args, " "), out, c.says)
		}
	}
}
