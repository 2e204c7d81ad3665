package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vrlaif/vrlaif/pipelines/eval"
	"github.com/vrlaif/vrlaif/pipelines/train"
)

// The demo's closing list keeps its descriptions in one column whatever the paths' lengths (the
// reward model's, PPO's and the report's lines were printed unpadded).
func TestOutputListAlignsDescriptions(t *testing.T) {
	for _, long := range []string{"/a/long/output/folder/sft", "/données/vidéos/sft"} { // ASCII, and a path with multi-byte runes
		got := outputList([][2]string{{long, "the SFT checkpoint"}, {"/x/rm", "the reward model"}})
		lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		// columns in runes (what a terminal shows for these characters), not bytes
		if len(lines) != 2 || runeIndex(lines[0], "the SFT") != runeIndex(lines[1], "the reward") {
			t.Errorf("descriptions not in one column:\n%s", got)
		}
		// and the column is three spaces after the longest path (padding by bytes put it further)
		if want := 2 + utf8.RuneCountInString(long) + 3; runeIndex(lines[0], "the SFT") != want {
			t.Errorf("descriptions at column %d, want %d:\n%s", runeIndex(lines[0], "the SFT"), want, got)
		}
	}
}

func runeIndex(s, sub string) int {
	i := strings.Index(s, sub)
	if i < 0 {
		return -1
	}
	return utf8.RuneCountInString(s[:i])
}

// The demo's report shows the SFT evaluation's other-video baseline by kind, and says why when
// the world held out too few clips to measure it (--quick).
func TestDemoReportShowsWhatTheSFTModelSees(t *testing.T) {
	ev := train.SFTEval{ShortAnswers: 4, ShortAnswerAccuracy: 0.75, OtherVideo: true, ShortAnswerOtherVideo: 0.5,
		Kinds:      []train.KindAccuracy{{Kind: "background", Questions: 2, Accuracy: 1, OtherVideo: 0.5}, {Kind: "count", Questions: 2, Accuracy: 0.5, OtherVideo: 0.5}},
		JudgePairs: 5, LikelihoodJudgeAccuracy: 0.6, LikelihoodJudgeOtherVideo: 0.4,
		JudgeKinds: []train.KindAccuracy{{Kind: "shape", Questions: 5, Accuracy: 0.6, OtherVideo: 0.4}}}
	for _, c := range []struct {
		ev   train.SFTEval
		want []string
	}{
		{ev, []string{"| all | 0.750 | 0.500 | +0.250 | 4 |", "| background | 1.000 | 0.500 | +0.500 | 2 |", "| count | 0.500 | 0.500 | +0.000 | 2 |",
			"## What the SFT model sees when it compares two answers", "| all | 0.600 | 0.400 | +0.200 | 5 |", "| shape | 0.600 | 0.400 | +0.200 | 5 |"}},
		{train.SFTEval{ShortAnswers: 3, ShortAnswerAccuracy: 1}, []string{"Not measured: the SFT evaluation asks with another clip's video only when"}},
	} {
		dir := t.TempDir()
		if _, err := demoReport(dir, filepath.Join(dir, "no-ppo"), "feedback", time.Now(), nil, eval.Result{}, train.RMResult{}, nil, c.ev); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "report.md"))
		if err != nil {
			t.Fatal(err)
		}
		section := string(b)
		if i := strings.Index(section, "## What the SFT model sees"); i >= 0 {
			section = section[i:] // and the judging section after it, up to the next one
			if j := strings.Index(section, "\n## What the SFT model sees when"); j >= 0 {
				if k := strings.Index(section[j+3:], "\n## "); k >= 0 {
					section = section[:j+3+k]
				}
			}
		} else {
			t.Fatalf("no section in\n%s", b)
		}
		for _, w := range c.want {
			if !strings.Contains(section, w) {
				t.Errorf("the section lacks %q:\n%s", w, section)
			}
		}
	}
}

// SFT's step lines say when it trains on short answers only: the held-out loss, over every kind of
// example, is high until that phase ends, which reads as divergence without the note.
func TestSFTLineMarksTheShortAnswerPhase(t *testing.T) {
	if phaseNote("short") == "" || phaseNote("all") != "" {
		t.Errorf("phaseNote(short) = %q, phaseNote(all) = %q", phaseNote("short"), phaseNote("all"))
	}
}

// A demo refused by an earlier version's SFT checkpoint says what to do with the folder; other
// errors pass unchanged.
func TestDemoRefusalNamesTheFolder(t *testing.T) {
	refused := fmt.Errorf("train: out/demo/sft holds a checkpoint (step 600) %w: lr 0.002 (now 0.001)", train.ErrOtherSettings)
	err := explainDemoRefusal(refused, "out/demo")
	if !errors.Is(err, train.ErrOtherSettings) || !strings.Contains(err.Error(), "out/demo holds a demo made with other settings") || !strings.Contains(err.Error(), "remove the folder") {
		t.Errorf("explained refusal: %v", err)
	}
	other := errors.New("train: no frames")
	if explainDemoRefusal(other, "out/demo") != other {
		t.Errorf("another error changed: %v", explainDemoRefusal(other, "out/demo"))
	}
}
