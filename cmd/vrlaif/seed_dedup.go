package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/vrlaif/vrlaif/schemas"
)

// seedDuplicates finds records an import must not keep: one that repeats an earlier record
// exactly (a reward pair twice could land on both sides of the held-out split and inflate its
// accuracy), and one whose id an earlier record gave to other frames (training keys frames by id,
// so one of them would be trained on the other's video). Records that share an id and frames but
// differ otherwise (several conversations about one video) are kept.
type seedDuplicates struct {
	framesOf map[string][32]byte // id → hash of its frames
	seen     map[[32]byte]int    // record hash → index of its first occurrence
	firstOf  map[string]int      // id → index of its first record
}

func newSeedDuplicates() *seedDuplicates {
	return &seedDuplicates{framesOf: map[string][32]byte{}, seen: map[[32]byte]int{}, firstOf: map[string]int{}}
}

// check returns a dead letter's kind and message for record i, or "" to keep it.
func (d *seedDuplicates) check(i int, r any) (kind, msg string) {
	id, frames := seedIdentity(r)
	b, err := json.Marshal(r)
	if err != nil {
		return "bad_record", err.Error()
	}
	whole := sha256.Sum256(b)
	if first, ok := d.seen[whole]; ok {
		return "duplicate_record", fmt.Sprintf("record %d repeats record %d exactly", i, first)
	}
	fh := sha256.Sum256([]byte(frames))
	if id == "" { // SFT records may have no id; training keys those by their index
		d.seen[whole] = i
		return "", ""
	}
	if prev, ok := d.framesOf[id]; ok && prev != fh {
		return "id_conflict", fmt.Sprintf("id %s was given to record %d with other frames", id, d.firstOf[id])
	}
	d.seen[whole] = i
	if _, ok := d.framesOf[id]; !ok {
		d.framesOf[id], d.firstOf[id] = fh, i
	}
	return "", ""
}

// seedIdentity is a seed record's id and its frames, joined.
func seedIdentity(r any) (id, frames string) {
	switch r := r.(type) {
	case schemas.SFTRow:
		return r.ID, strings.Join(r.FramePaths(), "\x00")
	case schemas.RMRow:
		return r.ID, strings.Join(r.Images, "\x00")
	case schemas.RLRow:
		return strconv.FormatInt(r.UID, 10), strings.Join(r.Images, "\x00")
	}
	panic(fmt.Sprintf("seedIdentity: %T is not a seed row", r))
}
