package synth

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/vrlaif/vrlaif/schemas"
)

// Params shape a world.
type Params struct {
	N            int     `json:"n"`       // clips
	Seed         int64   `json:"seed"`    // world seed
	Width        int     `json:"width"`   // pixels
	Height       int     `json:"height"`  // pixels
	MinFPS       int     `json:"min_fps"` // frame rate is drawn from MinFPS..MaxFPS
	MaxFPS       int     `json:"max_fps"`
	MinSeconds   float64 `json:"min_seconds"` // duration is drawn from MinSeconds..MaxSeconds
	MaxSeconds   float64 `json:"max_seconds"`
	HeldoutEvery int     `json:"heldout_every"` // every k-th clip (index % k == k-1) is held out; 0 holds none out
}

// DefaultParams: 128×128, 2–4 s, 8–16 fps, one clip in five held out.
func DefaultParams() Params {
	return Params{N: 32, Seed: 1, Width: 128, Height: 128, MinFPS: 8, MaxFPS: 16, MinSeconds: 2, MaxSeconds: 4, HeldoutEvery: 5}
}

// Validate reports the first invalid setting.
func (p Params) Validate() error {
	switch {
	case p.N < 0:
		return fmt.Errorf("synth: n must be ≥ 0, got %d", p.N)
	case p.Width < 48 || p.Height < 48 || p.Width > 4096 || p.Height > 4096 || p.Width%2 != 0 || p.Height%2 != 0:
		return fmt.Errorf("synth: size must be even and in 48..4096, got %dx%d", p.Width, p.Height)
	case p.MinFPS < 1 || p.MaxFPS < p.MinFPS || p.MaxFPS > 120:
		return fmt.Errorf("synth: fps range %d..%d is invalid", p.MinFPS, p.MaxFPS)
	case p.MinSeconds < 0.5 || p.MaxSeconds < p.MinSeconds || p.MaxSeconds > 600:
		return fmt.Errorf("synth: duration range %g..%g s is invalid", p.MinSeconds, p.MaxSeconds)
	case p.HeldoutEvery < 0:
		return fmt.Errorf("synth: heldout-every must be ≥ 0, got %d", p.HeldoutEvery)
	}
	return nil
}

// Vocabulary of the world.
var (
	Shapes     = []string{"circle", "square", "triangle"}
	Colors     = []string{"red", "green", "blue", "yellow", "purple"}
	Sizes      = []string{"small", "large"}
	Directions = []string{"left", "right", "up", "down"}
	// ColorRGB and BackgroundRGB are the exact colours drawn.
	ColorRGB = map[string][3]byte{
		"red": {220, 40, 40}, "green": {40, 180, 60}, "blue": {40, 80, 220},
		"yellow": {235, 210, 40}, "purple": {150, 60, 190},
	}
	Backgrounds   = []string{"black", "white", "gray", "beige"}
	BackgroundRGB = map[string][3]byte{
		"black": {15, 15, 15}, "white": {240, 240, 240}, "gray": {110, 110, 110}, "beige": {200, 180, 140},
	}
)

// ClipID names clip index of world seed.
func ClipID(seed int64, index int) string { return fmt.Sprintf("synth-s%d-%05d", seed, index) }

// Scene returns the ground truth of clip index of world seed (without rendering it).
func Scene(p Params, index int) schemas.Truth {
	rng := rand.New(rand.NewPCG(uint64(p.Seed), uint64(index)+0x9e3779b97f4a7c15))
	fps := p.MinFPS + rng.IntN(p.MaxFPS-p.MinFPS+1)
	frames := int(math.Round((p.MinSeconds + rng.Float64()*(p.MaxSeconds-p.MinSeconds)) * float64(fps)))
	dur := float64(frames) / float64(fps)
	snap := func(t float64) float64 { return math.Round(t*float64(fps)) / float64(fps) }
	t := schemas.Truth{
		ClipID: ClipID(p.Seed, index), Seed: p.Seed, Index: int32(index), Split: "train",
		VideoPath: "videos/" + ClipID(p.Seed, index) + ".mp4",
		Width:     int32(p.Width), Height: int32(p.Height), FPS: int32(fps), FrameCount: int32(frames),
		DurationSeconds: dur, Background: Backgrounds[rng.IntN(len(Backgrounds))],
	}
	if p.HeldoutEvery > 0 && index%p.HeldoutEvery == p.HeldoutEvery-1 {
		t.Split = "heldout"
	}
	k := 1 + rng.IntN(3)
	shapes := rng.Perm(len(Shapes))
	colors := rng.Perm(len(Colors))
	short := float64(min(p.Width, p.Height))
	for i := 0; i < k; i++ {
		o := schemas.TruthObject{ID: int32(i), Shape: Shapes[shapes[i]], Color: Colors[colors[i]], Size: Sizes[rng.IntN(2)]}
		o.Pixels = int32(math.Round(short * 0.15))
		if o.Size == "large" {
			o.Pixels = int32(math.Round(short * 0.25))
		}
		o.AppearSeconds, o.DisappearSeconds = 0, dur
		if rng.Float64() < 0.4 {
			o.AppearSeconds = snap(dur * (0.1 + 0.4*rng.Float64()))
		}
		if rng.Float64() < 0.35 {
			lo := o.AppearSeconds + 0.35*dur
			if lo < 0.95*dur {
				o.DisappearSeconds = snap(lo + rng.Float64()*(0.95*dur-lo))
			}
		}
		t.Objects = append(t.Objects, o)
		t.Events = append(t.Events, schemas.TruthEvent{Object: o.ID, Kind: "appear", StartSeconds: o.AppearSeconds, EndSeconds: o.AppearSeconds})
		placeAndMove(rng, &t, &t.Objects[i], p, snap)
		if o.DisappearSeconds < dur {
			t.Events = append(t.Events, schemas.TruthEvent{Object: o.ID, Kind: "disappear", StartSeconds: o.DisappearSeconds, EndSeconds: o.DisappearSeconds})
		}
	}
	sortEvents(t.Events)
	t.Description = describe(t)
	t.SegmentDescriptions = describeThirds(t)
	t.QA = questions(rng, t)
	return t
}

// placeAndMove gives o a start position and, usually, one straight move that stays in frame.
func placeAndMove(rng *rand.Rand, t *schemas.Truth, o *schemas.TruthObject, p Params, snap func(float64) float64) {
	r := float64(o.Pixels)/2 + 2
	w, h := float64(p.Width), float64(p.Height)
	x0 := r + rng.Float64()*(w-2*r)
	y0 := r + rng.Float64()*(h-2*r)
	o.Track = []schemas.TrackPoint{{Seconds: o.AppearSeconds, X: x0, Y: y0}}
	life := o.DisappearSeconds - o.AppearSeconds
	if rng.Float64() >= 0.75 || life < 0.6 {
		return
	}
	room := map[string]float64{"left": x0 - r, "right": w - r - x0, "up": y0 - r, "down": h - r - y0}
	dir := Directions[rng.IntN(len(Directions))]
	if room[dir] < 0.2*w {
		for _, d := range Directions {
			if room[d] > room[dir] {
				dir = d
			}
		}
	}
	dist := math.Min(room[dir], (0.25+0.25*rng.Float64())*w)
	if dist < 8 {
		return
	}
	start := snap(o.AppearSeconds + life*0.4*rng.Float64())
	end := snap(math.Min(o.DisappearSeconds, start+life*(0.3+0.3*rng.Float64())))
	if end-start < 0.25 {
		return
	}
	x1, y1 := x0, y0
	switch dir {
	case "left":
		x1 -= dist
	case "right":
		x1 += dist
	case "up":
		y1 -= dist
	case "down":
		y1 += dist
	}
	o.Track = append(o.Track, schemas.TrackPoint{Seconds: start, X: x0, Y: y0}, schemas.TrackPoint{Seconds: end, X: x1, Y: y1})
	t.Events = append(t.Events, schemas.TruthEvent{Object: o.ID, Kind: "move", Direction: dir, StartSeconds: start, EndSeconds: end})
	if end < o.DisappearSeconds {
		t.Events = append(t.Events, schemas.TruthEvent{Object: o.ID, Kind: "stop", StartSeconds: end, EndSeconds: end})
	}
}

var kindOrder = map[string]int{"appear": 0, "move": 1, "stop": 2, "disappear": 3}

func sortEvents(ev []schemas.TruthEvent) {
	less := func(a, b schemas.TruthEvent) bool {
		if a.StartSeconds != b.StartSeconds {
			return a.StartSeconds < b.StartSeconds
		}
		if kindOrder[a.Kind] != kindOrder[b.Kind] {
			return kindOrder[a.Kind] < kindOrder[b.Kind]
		}
		return a.Object < b.Object
	}
	for i := 1; i < len(ev); i++ { // insertion sort: a handful of events, stable
		for j := i; j > 0 && less(ev[j], ev[j-1]); j-- {
			ev[j], ev[j-1] = ev[j-1], ev[j]
		}
	}
}
