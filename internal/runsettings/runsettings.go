// Package runsettings keeps a resumable output folder to one set of settings. A pipeline whose
// re-run writes only the rows that are missing would, re-run with other settings (another model,
// temperature, frame count…), add rows of the second kind beside the first's and leave a summary
// of the second alone: a dataset that mixes two runs and says it is one. The first run records
// the settings that decide its rows in DIR/settings.json; a later run into DIR with other
// settings is refused, naming the differences.
package runsettings

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/vrlaif/vrlaif/internal/atomicfile"
)

// File is the record's name in the output folder.
const File = "settings.json"

// Record is what File holds.
type Record struct {
	Command  string         `json:"command"`
	Settings map[string]any `json:"settings"`
}

// Check compares settings (anything that encodes as a JSON object) with dir's record and writes
// the record when dir has none. Settings named in grow are counts that a re-run may raise (more
// answers per question): a larger value is accepted and recorded, a smaller one is refused, as
// it would leave some items with more rows than others. A setting the record does not hold (it
// was added by a later version) is not compared. command names the writer; a folder another
// command recorded is refused too.
func Check(dir, command string, settings any, grow ...string) error {
	now, err := flatten(settings)
	if err != nil {
		return fmt.Errorf("runsettings: %w", err)
	}
	path := filepath.Join(dir, File)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return write(dir, Record{Command: command, Settings: now})
	}
	if err != nil {
		return fmt.Errorf("runsettings: %w", err)
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return fmt.Errorf("%s is not a settings record (%v): move it away, or give another output folder", path, err)
	}
	if rec.Command != command {
		return fmt.Errorf("%s holds the output of '%s', not of '%s': give another output folder", dir, rec.Command, command)
	}
	growing := map[string]bool{}
	for _, g := range grow {
		growing[g] = true
	}
	var diffs []string
	grown := false
	for _, k := range sortedKeys(now) {
		was, ok := rec.Settings[k]
		if !ok || reflect.DeepEqual(was, now[k]) {
			continue
		}
		if wf, ok1 := was.(float64); ok1 && growing[k] {
			if nf, ok2 := now[k].(float64); ok2 && nf > wf {
				rec.Settings[k], grown = nf, true
				continue
			}
			diffs = append(diffs, fmt.Sprintf("%s %s (now %s; it may only grow)", k, show(was), show(now[k])))
			continue
		}
		diffs = append(diffs, fmt.Sprintf("%s %s (now %s)", k, show(was), show(now[k])))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%s holds rows made with other settings: %s; give another output folder, or the same settings to resume (the record: %s)",
			dir, strings.Join(diffs, ", "), path)
	}
	if grown {
		return write(dir, rec)
	}
	return nil
}

// flatten turns v's JSON object into dotted keys ("sample.temperature") and leaf values as
// encoding/json decodes them (float64, string, bool, nil, []any).
func flatten(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var tree map[string]any
	if err := json.Unmarshal(b, &tree); err != nil {
		return nil, fmt.Errorf("settings must encode as a JSON object: %w", err)
	}
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			out[prefix+k] = v
		}
	}
	walk("", tree)
	return out, nil
}

// write saves rec as dir/File, atomically.
func write(dir string, rec Record) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("runsettings: %w", err)
	}
	if err := atomicfile.Write(dir, File, append(b, '\n')); err != nil {
		return fmt.Errorf("runsettings: %w", err)
	}
	return nil
}

func show(v any) string {
	if s, ok := v.(string); ok {
		if r := []rune(s); len(r) > 40 {
			s = string(r[:37]) + "…"
		}
		return fmt.Sprintf("%q", s)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Omit returns v's JSON object without the named top-level keys (a stage's parameters without
// its backend's connection settings, which do not decide its rows).
func Omit(v any, keys ...string) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("runsettings: %T does not encode: %v", v, err))
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(fmt.Sprintf("runsettings: %T is not a JSON object: %v", v, err))
	}
	for _, k := range keys {
		delete(m, k)
	}
	return m
}
