package train

import (
	"reflect"
	"testing"
)

func TestRolloutCodecRoundTrip(t *testing.T) {
	r := Rollout{ID: "abc", Version: 7, Actor: "a1", PromptID: "c/q", ClipID: "c", Question: "What colour? ✓",
		Query: []int32{1, -1, -1, 300}, VideoAt: 1, Response: []int32{5, 2}, LogProbs: []float32{-0.5, -1e-7},
		Text: "Red.", HasStop: true, Score: 1.25, Reward: -6.75, Created: 1234567, Ref: ""}
	got, err := DecodeRollout(EncodeRollout(r))
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, got, r)
	}
	empty, err := DecodeRollout(EncodeRollout(Rollout{ID: "x"}))
	if err != nil || empty.ID != "x" || empty.Query != nil {
		t.Errorf("empty rollout: %+v %v", empty, err)
	}
	enc := EncodeRollout(r)
	for _, bad := range [][]byte{nil, []byte("{\"id\":1}"), enc[:len(enc)-3], append(append([]byte{}, enc...), 0)} {
		if _, err := DecodeRollout(bad); err == nil {
			t.Errorf("decoded %q", bad)
		}
	}
}

func FuzzDecodeRollout(f *testing.F) {
	f.Add(EncodeRollout(Rollout{ID: "abc", Query: []int32{1, 2}, LogProbs: []float32{-1}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRollout(b)
		if err == nil { // compare encodings, not values: a NaN score is not equal to itself
			enc := EncodeRollout(r)
			if again, err := DecodeRollout(enc); err != nil || string(EncodeRollout(again)) != string(enc) {
				t.Errorf("re-encoding a decoded rollout changed it")
			}
		}
	})
}
