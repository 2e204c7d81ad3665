package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func saveTemp(t *testing.T, tok *Tokenizer) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := tok.Save(path); err != nil {
		t.Fatalf("Save: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

func TestSaveLoadSave(t *testing.T) {
	tok := trainedTokenizer(t)
	path, first := saveTemp(t, tok)
	loaded, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if _, second := saveTemp(t, loaded); !bytes.Equal(first, second) {
		t.Error("Save → Load → Save is not byte-identical")
	}
	if loaded.VocabSize() != tok.VocabSize() {
		t.Errorf("loaded VocabSize = %d, want %d", loaded.VocabSize(), tok.VocabSize())
	}
	texts := slices.Clone(corpus)
	for _, tc := range roundTripCases {
		texts = append(texts, tc.text)
	}
	for _, s := range texts {
		if got, want := loaded.Encode(s), tok.Encode(s); !slices.Equal(got, want) {
			t.Errorf("loaded Encode(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestSavedLayout(t *testing.T) {
	tok := trainedTokenizer(t)
	_, b := saveTemp(t, tok)
	if bytes.Contains(b, []byte(`\u003c`)) {
		t.Error("saved file HTML-escapes '<'")
	}
	var f struct {
		Version     string `json:"version"`
		AddedTokens []struct {
			ID      *int   `json:"id"`
			Content string `json:"content"`
			Special *bool  `json:"special"`
		} `json:"added_tokens"`
		Normalizer   json.RawMessage `json:"normalizer"`
		PreTokenizer map[string]any  `json:"pre_tokenizer"`
		Decoder      map[string]any  `json:"decoder"`
		Model        struct {
			Type   string         `json:"type"`
			Vocab  map[string]int `json:"vocab"`
			Merges []string       `json:"merges"`
		} `json:"model"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("decoding saved file: %v", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"version", "truncation", "padding", "added_tokens", "normalizer",
		"pre_tokenizer", "post_processor", "decoder", "model"} {
		if _, ok := top[key]; !ok {
			t.Errorf("top-level key %q missing", key)
		}
	}
	if f.Version != "1.0" {
		t.Errorf("version = %q, want 1.0", f.Version)
	}
	if string(f.Normalizer) != "null" {
		t.Errorf("normalizer = %s, want null", f.Normalizer)
	}
	if len(f.AddedTokens) != 4 {
		t.Fatalf("%d added_tokens, want 4", len(f.AddedTokens))
	}
	for i, at := range f.AddedTokens {
		if at.ID == nil || *at.ID != i || at.Content != specials[i] || at.Special == nil || !*at.Special {
			t.Errorf("added_tokens[%d] = %+v, want id %d content %q special true", i, at, i, specials[i])
		}
	}
	for name, m := range map[string]map[string]any{"pre_tokenizer": f.PreTokenizer, "decoder": f.Decoder} {
		if m["type"] != "ByteLevel" {
			t.Errorf("%s type = %v, want ByteLevel", name, m["type"])
		}
		if m["add_prefix_space"] != false {
			t.Errorf("%s add_prefix_space = %v, want false", name, m["add_prefix_space"])
		}
	}
	if f.Model.Type != "BPE" {
		t.Errorf("model type = %q, want BPE", f.Model.Type)
	}
	if len(f.Model.Vocab) != tok.VocabSize() {
		t.Errorf("vocab has %d entries, want %d", len(f.Model.Vocab), tok.VocabSize())
	}
	for tok, id := range map[string]int{"<pad>": 0, "<s>": 1, "</s>": 2, "<video>": 3, "Ā": 4, "!": 4 + '!', "Ġ": 4 + ' '} {
		if got, ok := f.Model.Vocab[tok]; !ok || got != id {
			t.Errorf("vocab[%q] = %d, %v; want %d", tok, got, ok, id)
		}
	}
	if len(f.Model.Merges) == 0 {
		t.Fatal("no merges")
	}
	for i, m := range f.Model.Merges {
		a, b, ok := strings.Cut(m, " ")
		if !ok || strings.Contains(b, " ") {
			t.Fatalf("merges[%d] = %q, want \"a b\"", i, m)
		}
		if _, ok := f.Model.Vocab[a+b]; !ok {
			t.Fatalf("merges[%d] = %q makes %q, not in vocab", i, m, a+b)
		}
	}
}

func TestLoadArrayMerges(t *testing.T) {
	tok := trainedTokenizer(t)
	_, b := saveTemp(t, tok)
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	model := f["model"].(map[string]any)
	var pairs [][2]string
	for _, m := range model["merges"].([]any) {
		a, b, _ := strings.Cut(m.(string), " ")
		pairs = append(pairs, [2]string{a, b})
	}
	model["merges"] = pairs // the newer layout: [["a", "b"], …]
	nb, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := parse(nb)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	s := corpus[0]
	if got, want := loaded.Encode(s), tok.Encode(s); !slices.Equal(got, want) {
		t.Errorf("Encode(%q) = %v, want %v", s, got, want)
	}
}

func TestLoadRejects(t *testing.T) {
	tok := trainedTokenizer(t)
	_, good := saveTemp(t, tok)
	firstMerge := tok.tokens[tok.merges[0][0]] + " " + tok.tokens[tok.merges[0][1]]
	tests := []struct {
		name     string
		old, new string
	}{
		{"version", `"version": "1.0"`, `"version": "2.0"`},
		{"model type", `"type": "BPE"`, `"type": "WordPiece"`},
		{"normalizer", `"normalizer": null`, `"normalizer": {"type": "NFC"}`},
		{"prefix space", `"add_prefix_space": false`, `"add_prefix_space": true`},
		{"special content", `"content": "<video>"`, `"content": "<image>"`},
		{"special id", `"id": 3,`, `"id": 7,`},
		{"missing byte token", `"Ā": 4,`, `"Āx": 4,`},
		{"unknown merge token", `"` + firstMerge + `"`, `"` + firstMerge + `zz"`},
		{"merge without space", `"` + firstMerge + `"`, `"` + strings.ReplaceAll(firstMerge, " ", "") + `"`},
		{"not json", `{`, `[`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(good, []byte(tc.old)) {
				t.Fatalf("saved file has no %q", tc.old)
			}
			bad := bytes.Replace(good, []byte(tc.old), []byte(tc.new), 1)
			path := filepath.Join(t.TempDir(), "tokenizer.json")
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if !errors.Is(err, errBadFile) && !errors.Is(err, errBadVocab) {
				t.Errorf("Load error %v wraps neither errBadFile nor errBadVocab", err)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		if _, err := Load(filepath.Join(t.TempDir(), "none.json")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Load error = %v, want os.ErrNotExist", err)
		}
	})
}
