package frames

import (
	"slices"
	"testing"
)

func TestUniformIndices(t *testing.T) {
	tests := []struct {
		name string
		n    int64
		k    int
		want []int64
	}{
		{"numpy linspace(0,9,4)", 10, 4, []int64{0, 3, 6, 9}},
		{"one sample", 100, 1, []int64{0}},
		{"more samples than frames repeat", 3, 5, []int64{0, 0, 1, 1, 2}},
		{"single frame", 1, 3, []int64{0, 0, 0}},
		{"no frames", 0, 50, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := UniformIndices(tt.n, tt.k); !slices.Equal(got, tt.want) {
				t.Errorf("UniformIndices(%d, %d) = %v, want %v", tt.n, tt.k, got, tt.want)
			}
		})
	}
}

// The seed's rule is numpy's linspace(0, n−1, k).astype(int): i·step in float64, truncated. That is
// floor(i·(n−1)/(k−1)) except where the exact quotient is an integer and float64 rounding lands just
// below it; there numpy (and so the seed) gives one less. The test uses exact integer division as an
// independent reference and allows exactly that case.
func TestUniformIndicesMatchesIntegerFormula(t *testing.T) {
	// numpy.linspace(0, 119, 50)[21] is 21 * (119/49) = 50.99999999999999, which truncates to 50.
	if got := UniformIndices(120, 50)[21]; got != 50 {
		t.Errorf("UniformIndices(120, 50)[21] = %d, numpy gives 50", got)
	}
	for n := int64(1); n <= 400; n++ {
		for _, k := range []int{2, 8, 16, 50} {
			got := UniformIndices(n, k)
			if got[0] != 0 || got[k-1] != n-1 {
				t.Fatalf("n=%d k=%d: ends %d, %d; want 0, %d", n, k, got[0], got[k-1], n-1)
			}
			for i, g := range got {
				num, den := int64(i)*(n-1), int64(k-1)
				want := num / den
				if g != want && !(num%den == 0 && g == want-1) {
					t.Fatalf("n=%d k=%d i=%d: %d, want %d", n, k, i, g, want)
				}
			}
		}
	}
}

func TestPlanRate(t *testing.T) {
	p := planRate(2.0, 25, 2, 50) // 2 frames per second of a 2 s, 25 fps stream
	if !slices.Equal(p.Indices, []int64{0, 12, 25, 37}) {
		t.Errorf("indices %v", p.Indices)
	}
	if !slices.Equal(p.Seconds, []float64{0, 0.48, 1, 1.48}) {
		t.Errorf("seconds %v", p.Seconds)
	}
}

func TestLayout(t *testing.T) {
	pad := Params{Size: 224, Pad: true, Resize: ResizeShort}
	short := Params{Size: 224, Resize: ResizeShort}
	square := Params{Size: 224, Resize: ResizeSquare}
	keep := Params{Resize: ResizeShort}
	tests := []struct {
		name    string
		w, h, r int
		p       Params
		want    geometry
	}{
		{"pad landscape", 640, 360, 0, pad, geometry{224, 126, 224, 126, 224, 224}},
		{"pad portrait by rotation", 640, 360, 90, pad, geometry{224, 126, 126, 224, 224, 224}},
		{"short side", 640, 360, 0, short, geometry{398, 224, 398, 224, 398, 224}},
		{"short side rotated", 640, 360, 270, short, geometry{398, 224, 224, 398, 224, 398}},
		{"square stretch", 640, 360, 0, square, geometry{224, 224, 224, 224, 224, 224}},
		{"keep size", 320, 240, 0, keep, geometry{320, 240, 320, 240, 320, 240}},
		{"keep size, pad", 320, 240, 0, Params{Pad: true}, geometry{320, 240, 320, 240, 320, 320}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := layout(tt.w, tt.h, tt.r, tt.p); got != tt.want {
				t.Errorf("layout = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestQualityLambda(t *testing.T) {
	// libjpeg q50 is the base table: FFmpeg qscale 8. q90 → S=20 → qscale 1.6. q1 clamps to 31.
	for _, tt := range []struct{ q, want int }{{50, 8 * 118}, {90, 189}, {1, 31 * 118}, {100, 118}} {
		if got := qualityLambda(tt.q); got != tt.want {
			t.Errorf("qualityLambda(%d) = %d, want %d", tt.q, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	bad := []func(*Params){
		func(p *Params) { p.Frames = 0 },
		func(p *Params) { p.FPS = -1 },
		func(p *Params) { p.Size = -3 },
		func(p *Params) { p.Resize = "crop" },
		func(p *Params) { p.Quality = 0 },
		func(p *Params) { p.Seek = "sometimes" },
		func(p *Params) { p.Limits.MaxPixels = 0 },
	}
	if err := DefaultParams().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	for i, mutate := range bad {
		p := DefaultParams()
		mutate(&p)
		if p.Validate() == nil {
			t.Errorf("case %d: %+v validated", i, p)
		}
	}
}
