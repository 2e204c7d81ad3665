package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func decodeFile[T SeedRecord](t *testing.T, path string) (rows []T, bad []int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = DecodeSeed(f, func(i int, r T, err error) error {
		if err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Errorf("record %d: error %v does not wrap ErrBadRecord", i, err)
			}
			bad = append(bad, i)
			return nil
		}
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows, bad
}

// roundTrip encodes rows as seed JSON and decodes them again.
func roundTrip[T SeedRecord](t *testing.T, rows []T) []T {
	t.Helper()
	var buf bytes.Buffer
	enc := NewSeedEncoder(&buf)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	var out []T
	if err := DecodeSeed(&buf, func(i int, r T, err error) error {
		if err != nil {
			t.Fatalf("re-decoding record %d: %v", i, err)
		}
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSFTSeedRoundTrip(t *testing.T) {
	rows, bad := decodeFile[SFTRow](t, "testdata/seed/sft_sample.json")
	if len(rows) != 3 || len(bad) != 0 {
		t.Fatalf("%d rows, bad %v", len(rows), bad)
	}
	if rows[1].ID != "v_0002_q1" || len(rows[1].Conversations) != 4 || len(rows[0].Images) != 50 || rows[2].Image != "coco/000000000139.jpg" {
		t.Errorf("fields not read: %+v", rows[1])
	}
	if got := roundTrip(t, rows); !reflect.DeepEqual(got, rows) {
		t.Errorf("round trip differs")
	}
}

func TestRMSeedRoundTripAndValidation(t *testing.T) {
	rows, bad := decodeFile[RMRow](t, "testdata/seed/rm_sample.json")
	if len(rows) != 2 || len(bad) != 0 {
		t.Fatalf("%d rows, bad %v", len(rows), bad)
	}
	if rows[1].Preference != 2 || rows[1].Conversations[0].Value != "<image>\nHow many people are dancing?" {
		t.Errorf("wrapped conversations not unwrapped: %+v", rows[1])
	}
	if rows[0].ID == "" || rows[0].ID == rows[1].ID {
		t.Errorf("ids %q %q", rows[0].ID, rows[1].ID)
	}
	if got := roundTrip(t, rows); !reflect.DeepEqual(got, rows) {
		t.Errorf("round trip differs:\n%+v\n%+v", got, rows)
	}
	rows, bad = decodeFile[RMRow](t, "testdata/seed/rm_malformed.json")
	if len(rows) != 2 || !reflect.DeepEqual(bad, []int{1, 2, 3, 4}) {
		t.Errorf("malformed file: %d good rows, bad %v; want 2 good, bad [1 2 3 4]", len(rows), bad)
	}
}

func TestRLSeedRoundTrip(t *testing.T) {
	rows, _ := decodeFile[RLRow](t, "testdata/seed/rl_sample.json")
	if len(rows) != 2 || rows[0].UID != 17 || rows[0].CaptionType != nil || rows[1].CaptionType == nil || *rows[1].LengthBonus != 1.0 {
		t.Fatalf("rows %+v", rows)
	}
	if got := roundTrip(t, rows); !reflect.DeepEqual(got, rows) {
		t.Errorf("round trip differs")
	}
	var r RLRow
	if err := json.Unmarshal([]byte(`{"conversations":[{"from":"human","value":"q"}]}`), &r); !errors.Is(err, ErrBadRecord) {
		t.Errorf("missing uid: %v", err)
	}
}

func TestDecodeSeedRejectsBrokenArrays(t *testing.T) {
	for _, in := range []string{`{"id": 1}`, `[{"id": "a", "conversations": [`, ``} {
		err := DecodeSeed(strings.NewReader(in), func(int, SFTRow, error) error { return nil })
		if err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}
