package duckdb

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vrlaif/vrlaif/internal/testenv"
)

const (
	modulePath = "github.com/vrlaif/vrlaif"
	toolDir    = "tools/duckdb"
	script     = "query.mjs"
	// EnvRequire, set to 1, makes Need fail instead of skip when DuckDB is unavailable.
	EnvRequire = "VRLAIF_REQUIRE_DUCKDB"
	// EnvDir overrides where tools/duckdb is (a folder holding query.mjs and node_modules).
	EnvDir = "VRLAIF_DUCKDB_DIR"
)

var (
	once     sync.Once
	availErr error
	tool     string // the tools/duckdb folder
	node     string // the node executable
)

// Available reports why DuckDB cannot be used here, or nil when it can. The first call finds
// node and tools/duckdb and runs one query to prove the native binding loads; the answer is kept
// for the life of the process.
func Available() error {
	once.Do(func() { availErr = probe() })
	return availErr
}

func probe() error {
	dir, err := Dir()
	if err != nil {
		return err
	}
	n, err := exec.LookPath("node")
	if err != nil {
		return errors.New("duckdb: node (Node.js) is not on PATH; run scripts/setup.sh")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json")); err != nil {
		return fmt.Errorf("duckdb: @duckdb/node-api is not installed in %s; run scripts/setup.sh (or npm ci --prefix %s)", dir, dir)
	}
	tool, node = dir, n
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := run(ctx, "SELECT 42 AS answer")
	if err != nil {
		return fmt.Errorf("duckdb: a trial query failed: %s", strings.TrimPrefix(err.Error(), "duckdb: "))
	}
	if len(rows) != 1 || rows[0]["answer"] != float64(42) {
		return fmt.Errorf("duckdb: a trial query returned %v", rows)
	}
	return nil
}

// Required reports whether a missing DuckDB must fail tests rather than skip them: under CI
// or with VRLAIF_REQUIRE_DUCKDB=1.
func Required() bool { return testenv.Required(EnvRequire) }

// Need skips t when DuckDB is unavailable, or fails it when Required says so.
func Need(t testing.TB) {
	t.Helper()
	testenv.Need(t, EnvRequire, "DuckDB", Available())
}

// Query runs sql (one statement, or several separated by ';' of which the last gives the rows)
// on a fresh in-memory DuckDB and returns the rows as column name → value.
func Query(ctx context.Context, sql string) ([]map[string]any, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	return run(ctx, sql)
}

func run(ctx context.Context, sql string) ([]map[string]any, error) {
	cmd := exec.CommandContext(ctx, node, filepath.Join(tool, script))
	cmd.Dir = tool
	cmd.Stdin = strings.NewReader(sql)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() != nil {
			return nil, fmt.Errorf("duckdb: %w (%s)", ctx.Err(), msg)
		}
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("duckdb: %s", strings.TrimPrefix(msg, "duckdb: "))
	}
	var rows []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &rows); err != nil {
		return nil, fmt.Errorf("duckdb: decoding the result: %w", err)
	}
	return rows, nil
}

// Literal quotes s as a SQL string literal, e.g. a path for read_parquet.
func Literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Dir returns the tools/duckdb folder: $VRLAIF_DUCKDB_DIR if set, else the one in the vrlaif
// module root above the working directory (tests run in their package's folder), else the one
// in the module this source file was compiled from.
func Dir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return checkDir(d)
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, s := range starts {
		if root, ok := moduleRoot(s); ok {
			return checkDir(filepath.Join(root, toolDir))
		}
	}
	return "", fmt.Errorf("duckdb: no %s module root above %v (set %s)", modulePath, starts, EnvDir)
}

func checkDir(d string) (string, error) {
	if _, err := os.Stat(filepath.Join(d, script)); err != nil {
		return "", fmt.Errorf("duckdb: %s has no %s", d, script)
	}
	return filepath.Abs(d)
}

// moduleRoot walks up from dir to the folder whose go.mod declares modulePath.
func moduleRoot(dir string) (string, bool) {
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			var mod string
			for sc.Scan() {
				if fs := strings.Fields(sc.Text()); len(fs) == 2 && fs[0] == "module" {
					mod = strings.Trim(fs[1], `"`)
					break
				}
			}
			f.Close()
			if mod == modulePath {
				return dir, true
			}
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", false
		}
		dir = up
	}
}
