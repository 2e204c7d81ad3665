package main

import (
	"strings"
	"testing"
	"unicode/utf8"
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
