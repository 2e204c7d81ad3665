package frames

import "math"

// Plan is the list of frames to take from a stream.
type Plan struct {
	Indices []int64   // frame indices (uniform mode) or the frame nearest each time (fps mode)
	Seconds []float64 // target presentation times, relative to the stream start
}

// UniformIndices returns the seed's sample indices: linspace(0, n-1, k) truncated toward zero.
// The first (0) and last (n-1) frames are included; when k > n indices repeat.
func UniformIndices(n int64, k int) []int64 {
	if n <= 0 || k <= 0 {
		return nil
	}
	out := make([]int64, k)
	if k == 1 {
		return out // numpy.linspace(0, n-1, 1) == [0]
	}
	step := float64(n-1) / float64(k-1)
	for i := range out {
		out[i] = int64(float64(i) * step)
	}
	out[k-1] = n - 1 // guard against float error at the end point
	return out
}

// planUniform lays k uniform samples over n frames at fps.
func planUniform(n int64, fps float64, k int) Plan {
	idx := UniformIndices(n, k)
	p := Plan{Indices: idx, Seconds: make([]float64, len(idx))}
	for i, x := range idx {
		p.Seconds[i] = roundMicro(float64(x) / fps)
	}
	return p
}

// planRate lays samples every 1/rate seconds over duration, each snapped to the frame grid.
func planRate(duration, fps, rate float64, maxFrames int64) Plan {
	var p Plan
	for t := 0.0; t < duration-1e-9; t += 1 / rate {
		idx := int64(math.Floor(t*fps + 1e-6))
		if maxFrames > 0 && idx >= maxFrames {
			break
		}
		p.Indices = append(p.Indices, idx)
		p.Seconds = append(p.Seconds, roundMicro(float64(idx)/fps))
	}
	return p
}
