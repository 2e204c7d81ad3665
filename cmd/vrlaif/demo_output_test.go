package main

import (
	"strings"
	"testing"
)

// The demo's closing list keeps its descriptions in one column whatever the paths' lengths (the
// reward model's, PPO's and the report's lines were printed unpadded).
func TestOutputListAlignsDescriptions(t *testing.T) {
	got := outputList([][2]string{{"/a/long/output/folder/sft", "the SFT checkpoint"}, {"/x/rm", "the reward model"}})
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 2 || strings.Index(lines[0], "the SFT") != strings.Index(lines[1], "the reward") {
		t.Errorf("descriptions not in one column:\n%s", got)
	}
}
