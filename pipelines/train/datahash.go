package train

import (
	"encoding/binary"
	"hash"
	"math"
)

// Content hashes of training data (a reward model's pairs, SFT's examples and videos) identify
// it in a run's settings record wherever its folder is. Every value is written with its length
// first, so that two different sequences never write the same bytes.

// hashString writes s's length and bytes to h.
func hashString(h hash.Hash, s string) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

// hashInt writes v to h.
func hashInt(h hash.Hash, v int64) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(v))
	h.Write(n[:])
}

// hashFloats writes v's length and its values' bits (little-endian) to h.
func hashFloats(h hash.Hash, v []float32) {
	hashInt(h, int64(len(v)))
	buf := make([]byte, 0, 1<<16)
	for i, x := range v {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
		if len(buf) == cap(buf) || i == len(v)-1 {
			h.Write(buf)
			buf = buf[:0]
		}
	}
}
