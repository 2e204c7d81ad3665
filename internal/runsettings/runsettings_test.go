package runsettings

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type sampling struct {
	K           int     `json:"k"`
	Temperature float64 `json:"temperature"`
	Template    string  `json:"template"`
}

type settings struct {
	Sample sampling `json:"sample"`
	Model  string   `json:"model"`
}

func record(t *testing.T, dir string) Record {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFirstRunRecordsAndSameSettingsResume(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	s := settings{Sample: sampling{K: 2, Temperature: 0.7, Template: "answer-v1"}, Model: "sft@abc"}
	if err := Check(dir, "generate", s, "sample.k"); err != nil {
		t.Fatal(err)
	}
	r := record(t, dir)
	if r.Command != "generate" || r.Settings["sample.temperature"] != 0.7 || r.Settings["model"] != "sft@abc" {
		t.Fatalf("record %+v", r)
	}
	if err := Check(dir, "generate", s, "sample.k"); err != nil {
		t.Errorf("the same settings were refused: %v", err)
	}
}

func TestOtherSettingsAreRefusedByName(t *testing.T) {
	dir := t.TempDir()
	s := settings{Sample: sampling{K: 2, Temperature: 0.7, Template: "answer-v1"}, Model: "sft@abc"}
	if err := Check(dir, "generate", s); err != nil {
		t.Fatal(err)
	}
	other := s
	other.Sample.Temperature, other.Model = 1, "sft@def"
	err := Check(dir, "generate", other)
	if err == nil {
		t.Fatal("other settings were accepted")
	}
	for _, want := range []string{"sample.temperature 0.7 (now 1)", `model "sft@abc" (now "sft@def")`, "give another output folder"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "sample.k") || strings.Contains(err.Error(), "template") {
		t.Errorf("error %q names settings that did not change", err)
	}
	if r := record(t, dir); r.Settings["model"] != "sft@abc" {
		t.Errorf("a refused run changed the record: %v", r.Settings)
	}
}

func TestGrowingSettingMayOnlyGrow(t *testing.T) {
	dir := t.TempDir()
	s := settings{Sample: sampling{K: 2}}
	if err := Check(dir, "generate", s, "sample.k"); err != nil {
		t.Fatal(err)
	}
	s.Sample.K = 4
	if err := Check(dir, "generate", s, "sample.k"); err != nil {
		t.Fatalf("a larger k was refused: %v", err)
	}
	if k := record(t, dir).Settings["sample.k"]; k != 4.0 {
		t.Errorf("record holds k=%v after growing to 4", k)
	}
	s.Sample.K = 3
	err := Check(dir, "generate", s, "sample.k")
	if err == nil || !strings.Contains(err.Error(), "sample.k 4 (now 3; it may only grow)") {
		t.Errorf("a smaller k: %v", err)
	}
	// Without being named as growing, a larger count is a different setting.
	s.Sample.K = 8
	if err := Check(dir, "generate", s); err == nil {
		t.Error("k grew without being allowed to")
	}
}

func TestAnotherCommandsFolderIsRefused(t *testing.T) {
	dir := t.TempDir()
	if err := Check(dir, "generate", settings{}); err != nil {
		t.Fatal(err)
	}
	err := Check(dir, "feedback", settings{})
	if err == nil || !strings.Contains(err.Error(), "holds the output of 'generate', not of 'feedback'") {
		t.Errorf("feedback into generate's folder: %v", err)
	}
}

func TestSettingsAnOlderRecordLacksAreNotCompared(t *testing.T) {
	dir := t.TempDir()
	old := `{"command":"generate","settings":{"sample.temperature":0.7}}`
	if err := os.WriteFile(filepath.Join(dir, File), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Check(dir, "generate", settings{Sample: sampling{Temperature: 0.7, K: 5}, Model: "m"}); err != nil {
		t.Errorf("settings the record never held were compared: %v", err)
	}
	if err := Check(dir, "generate", settings{Sample: sampling{Temperature: 0.9}}); err == nil {
		t.Error("a setting the record holds was not compared")
	}
}

func TestDamagedRecordIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, File), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Check(dir, "generate", settings{})
	if err == nil || !strings.Contains(err.Error(), "is not a settings record") {
		t.Errorf("damaged record: %v", err)
	}
}

func TestLongStringsAreShortenedInTheError(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("é", 100)
	if err := Check(dir, "generate", map[string]string{"template": long}); err != nil {
		t.Fatal(err)
	}
	err := Check(dir, "generate", map[string]string{"template": "short"})
	if err == nil || strings.Contains(err.Error(), long) || !strings.Contains(err.Error(), strings.Repeat("é", 37)+"…") {
		t.Errorf("long setting in the error: %v", err)
	}
}
