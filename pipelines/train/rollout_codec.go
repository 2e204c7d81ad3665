package train

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// rolloutMagic starts the binary encoding of a rollout ("VRL" and a format version).
var rolloutMagic = []byte{'V', 'R', 'L', 1}

// EncodeRollout writes r in a compact binary layout (the message body on the rollouts stream):
// magic, then each field in declaration order — strings and arrays as a uvarint length followed by
// the bytes or 4-byte little-endian values, integers as varints, booleans as one byte. Decoding it
// is several times cheaper than JSON, which is what bounds the learner's intake.
func EncodeRollout(r Rollout) []byte {
	n := 64 + len(r.ID) + len(r.Actor) + len(r.PromptID) + len(r.ClipID) + len(r.Question) + len(r.Text) + len(r.Ref) +
		4*(len(r.Query)+len(r.Response)+len(r.LogProbs))
	b := make([]byte, 0, n)
	b = append(b, rolloutMagic...)
	str := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	i32s := func(x []int32) {
		b = binary.AppendUvarint(b, uint64(len(x)))
		for _, v := range x {
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		}
	}
	str(r.ID)
	b = binary.AppendVarint(b, int64(r.Version))
	str(r.Actor)
	str(r.PromptID)
	str(r.ClipID)
	str(r.Question)
	i32s(r.Query)
	b = binary.AppendVarint(b, int64(r.VideoAt))
	i32s(r.Response)
	b = binary.AppendUvarint(b, uint64(len(r.LogProbs)))
	for _, v := range r.LogProbs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	str(r.Text)
	if r.HasStop {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(r.Score))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(r.Reward))
	b = binary.AppendVarint(b, r.Created)
	str(r.Ref)
	return b
}

var errRolloutCodec = errors.New("train: not a rollout message")

// DecodeRollout reads what EncodeRollout wrote.
func DecodeRollout(b []byte) (Rollout, error) {
	var r Rollout
	if len(b) < len(rolloutMagic) || string(b[:4]) != string(rolloutMagic) {
		return r, errRolloutCodec
	}
	b = b[4:]
	bad := false
	uv := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	sv := func() int64 {
		v, n := binary.Varint(b)
		if n <= 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	str := func() string {
		n := uv()
		if bad || n > uint64(len(b)) {
			bad = true
			return ""
		}
		s := string(b[:n])
		b = b[n:]
		return s
	}
	// count reads a length-prefixed array of 4-byte values and returns its length (0: none).
	count := func() int {
		n := uv()
		if bad || n > uint64(len(b))/4 {
			bad = true
			return 0
		}
		return int(n)
	}
	// One allocation per array, decoded straight into its type.
	i32s := func() []int32 {
		n := count()
		if n == 0 {
			return nil
		}
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
		}
		b = b[4*n:]
		return out
	}
	f32s := func() []float32 {
		n := count()
		if n == 0 {
			return nil
		}
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		b = b[4*n:]
		return out
	}
	f32 := func() float32 {
		if len(b) < 4 {
			bad = true
			return 0
		}
		v := math.Float32frombits(binary.LittleEndian.Uint32(b))
		b = b[4:]
		return v
	}
	r.ID = str()
	r.Version = int(sv())
	r.Actor, r.PromptID, r.ClipID, r.Question = str(), str(), str(), str()
	r.Query = i32s()
	r.VideoAt = int(sv())
	r.Response = i32s()
	r.LogProbs = f32s()
	r.Text = str()
	if len(b) < 1 {
		bad = true
	} else {
		r.HasStop, b = b[0] == 1, b[1:]
	}
	r.Score, r.Reward = f32(), f32()
	r.Created = sv()
	r.Ref = str()
	if bad || len(b) != 0 {
		return Rollout{}, fmt.Errorf("%w: truncated or trailing bytes", errRolloutCodec)
	}
	return r, nil
}
