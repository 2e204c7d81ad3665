package schemas

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// The seed formats are the JSON layouts of the original VLM-RLAIF datasets (SFT/policy-init,
// reward-model preferences, RL prompts). Each row type below is both the Parquet row and, through
// its MarshalJSON/UnmarshalJSON methods, one record of the seed's JSON array.

// Turn is one conversation turn; From is "human" or "gpt".
type Turn struct {
	From  string `parquet:"from,dict" beam:"from" json:"from"`
	Value string `parquet:"value" beam:"value" json:"value"`
}

// ErrBadRecord is wrapped by every seed-record validation error.
var ErrBadRecord = errors.New("schemas: bad seed record")

func badRecord(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRecord, fmt.Sprintf(format, args...))
}

// SFTRow is one SFT or policy-init record (SFT_short.json, SFT_long.json, PPO_init.json).
type SFTRow struct {
	ID            string   `parquet:"id" beam:"id"`
	SrcData       string   `parquet:"src_data,dict" beam:"src_data"`
	Conversations []Turn   `parquet:"conversations,list" beam:"conversations"`
	Images        []string `parquet:"images,list" beam:"images"`
	Image         string   `parquet:"image" beam:"image"` // set instead of Images by single-image records
}

type sftJSON struct {
	ID            string   `json:"id"`
	SrcData       string   `json:"src_data,omitempty"`
	Conversations []Turn   `json:"conversations"`
	Images        []string `json:"images,omitempty"`
	Image         string   `json:"image,omitempty"`
}

// UnmarshalJSON reads and validates one seed SFT record.
func (r *SFTRow) UnmarshalJSON(b []byte) error {
	var j sftJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return badRecord("%v", err)
	}
	if err := checkConversation(j.Conversations, true); err != nil {
		return err
	}
	if len(j.Images) == 0 && j.Image == "" {
		return badRecord("no images and no image")
	}
	*r = SFTRow(j)
	return nil
}

// MarshalJSON writes the seed layout.
func (r SFTRow) MarshalJSON() ([]byte, error) { return json.Marshal(sftJSON(r)) }

// FramePaths are the record's frames: Images, or its one Image.
func (r SFTRow) FramePaths() []string {
	if len(r.Images) == 0 {
		return []string{r.Image}
	}
	return r.Images
}

// RMRow is one preference pair (RM_*.json): Preference 1 means Output1 is better, 2 means Output2.
type RMRow struct {
	ID            string   `parquet:"id" beam:"id"` // hash of the record's content (the seed has no id)
	Conversations []Turn   `parquet:"conversations,list" beam:"conversations"`
	Output1       string   `parquet:"output_1" beam:"output_1"`
	Output2       string   `parquet:"output_2" beam:"output_2"`
	Preference    int32    `parquet:"preference" beam:"preference"`
	Images        []string `parquet:"images,list" beam:"images"`
}

type rmOutput struct {
	From  string `json:"from,omitempty"`
	Value string `json:"value"`
}

type rmJSON struct {
	Conversations json.RawMessage `json:"conversations"`
	Output1       *rmOutput       `json:"output_1"`
	Output2       *rmOutput       `json:"output_2"`
	Preference    int32           `json:"preference"`
	Images        []string        `json:"images"`
}

// UnmarshalJSON reads and validates one seed preference record. Conversations may be wrapped in
// an extra list ([[...]]), as in the original files; the gpt turn's text is kept but is ignored
// by the reward model.
func (r *RMRow) UnmarshalJSON(b []byte) error {
	var j rmJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return badRecord("%v", err)
	}
	conv, err := unwrapConversations(j.Conversations)
	if err != nil {
		return err
	}
	if err := checkConversation(conv, false); err != nil {
		return err
	}
	if j.Output1 == nil || j.Output2 == nil {
		return badRecord("output_1 and output_2 are required")
	}
	if j.Preference != 1 && j.Preference != 2 {
		return badRecord("preference is %d, want 1 or 2", j.Preference)
	}
	*r = RMRow{Conversations: conv, Output1: j.Output1.Value, Output2: j.Output2.Value,
		Preference: j.Preference, Images: j.Images}
	r.ID = r.contentID()
	return nil
}

func (r RMRow) contentID() string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode([]any{r.Conversations[0], r.Output1, r.Output2, r.Preference, r.Images})
	return "rm-" + hex.EncodeToString(h.Sum(nil))[:24]
}

// MarshalJSON writes the seed layout (conversations unwrapped).
func (r RMRow) MarshalJSON() ([]byte, error) {
	conv, err := json.Marshal(r.Conversations)
	if err != nil {
		return nil, err
	}
	return json.Marshal(rmJSON{Conversations: conv, Output1: &rmOutput{Value: r.Output1},
		Output2: &rmOutput{Value: r.Output2}, Preference: r.Preference, Images: r.Images})
}

// RLRow is one PPO prompt (RL_data.json). CaptionType and LengthBonus are kept for round trips;
// the original ignores them.
type RLRow struct {
	UID           int64    `parquet:"uid" beam:"uid"`
	Conversations []Turn   `parquet:"conversations,list" beam:"conversations"`
	Images        []string `parquet:"images,list" beam:"images"`
	CaptionType   *int32   `parquet:"caption_type,optional" beam:"caption_type"`
	LengthBonus   *float64 `parquet:"length_bonus,optional" beam:"length_bonus"`
}

type rlJSON struct {
	UID           *int64   `json:"uid"`
	Conversations []Turn   `json:"conversations"`
	Images        []string `json:"images"`
	CaptionType   *int32   `json:"caption_type,omitempty"`
	LengthBonus   *float64 `json:"length_bonus,omitempty"`
}

// UnmarshalJSON reads and validates one seed RL prompt record.
func (r *RLRow) UnmarshalJSON(b []byte) error {
	var j rlJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return badRecord("%v", err)
	}
	if j.UID == nil {
		return badRecord("uid is required")
	}
	if err := checkConversation(j.Conversations, false); err != nil {
		return err
	}
	*r = RLRow{UID: *j.UID, Conversations: j.Conversations, Images: j.Images,
		CaptionType: j.CaptionType, LengthBonus: j.LengthBonus}
	return nil
}

// MarshalJSON writes the seed layout.
func (r RLRow) MarshalJSON() ([]byte, error) {
	uid := r.UID
	return json.Marshal(rlJSON{UID: &uid, Conversations: r.Conversations, Images: r.Images,
		CaptionType: r.CaptionType, LengthBonus: r.LengthBonus})
}

func unwrapConversations(raw json.RawMessage) ([]Turn, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, badRecord("conversations is required")
	}
	var conv []Turn
	if err := json.Unmarshal(raw, &conv); err == nil {
		return conv, nil
	}
	var wrapped [][]Turn
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		return nil, badRecord("conversations: %v", err)
	}
	if len(wrapped) != 1 {
		return nil, badRecord("conversations wrapped in %d lists, want 1", len(wrapped))
	}
	return wrapped[0], nil
}

// checkConversation validates turn roles; lastGPT requires the final turn to be the model's.
func checkConversation(conv []Turn, lastGPT bool) error {
	if len(conv) == 0 {
		return badRecord("conversations is empty")
	}
	for i, t := range conv {
		want := "human"
		if i%2 == 1 {
			want = "gpt"
		}
		if t.From != want {
			return badRecord("turn %d is from %q, want %q", i, t.From, want)
		}
	}
	if lastGPT && conv[len(conv)-1].From != "gpt" {
		return badRecord("last turn must be from gpt")
	}
	return nil
}
