package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// errBadFile is wrapped by every Load error about the file's content.
var errBadFile = errors.New("tokenizer: bad tokenizer.json")

// hfFile is the Hugging Face tokenizers serialization (tokenizer.json, version 1.0), with the
// fields in the library's order so that a saved file reads like one it wrote.
type hfFile struct {
	Version       string          `json:"version"`
	Truncation    json.RawMessage `json:"truncation"`
	Padding       json.RawMessage `json:"padding"`
	AddedTokens   []hfAddedToken  `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  *hfByteLevel    `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       *hfByteLevel    `json:"decoder"`
	Model         hfBPE           `json:"model"`
}

type hfAddedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type hfByteLevel struct {
	Type           string `json:"type"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	TrimOffsets    bool   `json:"trim_offsets"`
	UseRegex       *bool  `json:"use_regex,omitempty"` // absent means true
}

type hfBPE struct {
	Type                    string          `json:"type"`
	Dropout                 *float64        `json:"dropout"`
	UnkToken                *string         `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Vocab                   orderedVocab    `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"` // ["a b", …] or [["a", "b"], …]
}

// orderedVocab is the model's vocab object, written in id order (as the library writes it).
type orderedVocab []string

// MarshalJSON writes {"token": id, …} in id order.
func (v orderedVocab) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for id, tok := range v {
		if id > 0 {
			buf.WriteByte(',')
		}
		if err := writeString(&buf, tok); err != nil {
			return nil, err
		}
		fmt.Fprintf(&buf, ":%d", id)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads {"token": id, …}; the ids must be 0..n-1, each once.
func (v *orderedVocab) UnmarshalJSON(b []byte) error {
	var m map[string]int
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	toks := make([]string, len(m))
	set := make([]bool, len(m))
	for tok, id := range m {
		if id < 0 || id >= len(m) || set[id] {
			return fmt.Errorf("vocab ids are not 0..%d, each once (id %d)", len(m)-1, id)
		}
		toks[id], set[id] = tok, true
	}
	*v = toks
	return nil
}

// writeString writes s as a JSON string without HTML escaping.
func writeString(buf *bytes.Buffer, s string) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}

// Save writes t to path as a Hugging Face tokenizer.json.
func (t *Tokenizer) Save(path string) error {
	b, err := t.marshal()
	if err != nil {
		return fmt.Errorf("tokenizer: encoding %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	return nil
}

// marshal returns the tokenizer.json that Save writes.
func (t *Tokenizer) marshal() ([]byte, error) {
	f := hfFile{
		Version:      "1.0",
		PreTokenizer: &hfByteLevel{Type: "ByteLevel", TrimOffsets: true, UseRegex: new(true)},
		Decoder:      &hfByteLevel{Type: "ByteLevel", TrimOffsets: true, UseRegex: new(true)},
		Model:        hfBPE{Type: "BPE", Vocab: orderedVocab(t.tokens)},
	}
	for id, sp := range specials {
		f.AddedTokens = append(f.AddedTokens, hfAddedToken{ID: id, Content: sp, Special: true})
	}
	merges := make([]string, len(t.merges))
	for i, m := range t.merges {
		merges[i] = t.tokens[m[0]] + " " + t.tokens[m[1]]
	}
	var err error
	if f.Model.Merges, err = marshalNoEscape(merges); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Load reads a tokenizer.json written by Save, or by Hugging Face tokenizers with the same
// settings: a BPE model with a ByteLevel pre-tokenizer (no prefix space, GPT-2 regex), no
// normalizer, and the four specials as added tokens at ids 0..3. Anything else is an error,
// since this package could not reproduce its encodings.
func Load(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	return t, nil
}

func parse(b []byte) (*Tokenizer, error) {
	var f hfFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadFile, err)
	}
	if err := f.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadFile, err)
	}
	merges, err := parseMerges(f.Model.Merges, f.Model.Vocab)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadFile, err)
	}
	return newTokenizer(f.Model.Vocab, merges)
}

// check rejects settings this package does not implement.
func (f *hfFile) check() error {
	switch {
	case f.Version != "1.0":
		return fmt.Errorf("version %q, want \"1.0\"", f.Version)
	case !isNull(f.Normalizer):
		return errors.New("normalizer is set, want null")
	case f.PreTokenizer == nil || f.PreTokenizer.Type != "ByteLevel" || f.PreTokenizer.AddPrefixSpace ||
		f.PreTokenizer.UseRegex != nil && !*f.PreTokenizer.UseRegex:
		return errors.New("pre_tokenizer is not ByteLevel without prefix space, with regex")
	case f.Decoder == nil || f.Decoder.Type != "ByteLevel":
		return errors.New("decoder is not ByteLevel")
	case f.Model.Type != "BPE":
		return fmt.Errorf("model type %q, want \"BPE\"", f.Model.Type)
	case f.Model.Dropout != nil && *f.Model.Dropout != 0 || f.Model.ContinuingSubwordPrefix != nil ||
		f.Model.EndOfWordSuffix != nil || f.Model.IgnoreMerges:
		return errors.New("model has dropout, affixes or ignore_merges")
	}
	if len(f.AddedTokens) != len(specials) {
		return fmt.Errorf("%d added tokens, want %d", len(f.AddedTokens), len(specials))
	}
	for _, at := range f.AddedTokens {
		if at.ID < 0 || at.ID >= len(specials) || at.Content != specials[at.ID] || !at.Special {
			return fmt.Errorf("added token %d %q is not the special %q", at.ID, at.Content,
				specials[min(max(at.ID, 0), len(specials)-1)])
		}
		if at.SingleWord || at.LStrip || at.RStrip || at.Normalized {
			return fmt.Errorf("added token %q has single_word, lstrip, rstrip or normalized", at.Content)
		}
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// parseMerges reads merges as "a b" strings or ["a", "b"] pairs and maps them to ids.
func parseMerges(raw json.RawMessage, vocab []string) ([][2]int32, error) {
	var pairs [][2]string
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		pairs = make([][2]string, len(strs))
		for i, s := range strs {
			a, b, ok := strings.Cut(s, " ")
			if !ok || a == "" || b == "" || strings.Contains(b, " ") {
				return nil, fmt.Errorf("merge %d is %q, want \"a b\"", i, s)
			}
			pairs[i] = [2]string{a, b}
		}
	} else if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("merges: %w", err)
	}
	ids := make(map[string]int32, len(vocab))
	for id, tok := range vocab {
		ids[tok] = int32(id)
	}
	merges := make([][2]int32, len(pairs))
	for i, p := range pairs {
		a, okA := ids[p[0]]
		b, okB := ids[p[1]]
		if !okA || !okB {
			return nil, fmt.Errorf("merge %d %q %q uses a token not in vocab", i, p[0], p[1])
		}
		merges[i] = [2]int32{a, b}
	}
	return merges, nil
}
