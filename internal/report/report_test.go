package report

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampleData has known values: the first axis is SFT 1 / RLAIF 4, the
// second SFT 2 / RLAIF 3; the judges score 0.8 and 0.4; the RM score rises
// steadily, the shaped reward falls and KL is constant (a degenerate range).
func sampleData() Data {
	d := Data{
		Title:       "Demo <run> & co",
		Generated:   "2026-01-02T03:04:05Z",
		WallSeconds: 125.4,
		Stages: []StageRow{
			{Stage: "ingest", In: 100, Out: 98, DeadLetter: 2},
			{Stage: "judge", In: 98, Out: 90, DeadLetter: 8},
		},
		Preference: []PreferenceAccuracy{
			{Name: "with context", Accuracy: 0.8, Pairs: 200, Labeled: 180, Compared: 150, FlipRate: 0.05},
			{Name: "without context", Accuracy: 0.4, Pairs: 200, Labeled: 170, Compared: 140, FlipRate: 0.125},
		},
		Axes: []AxisScore{
			{Axis: "helpfulness", SFT: 1, RLAIF: 4, N: 40},
			{Axis: "correctness", SFT: 2, RLAIF: 3, N: 40},
			{Axis: "temporal_grounding", SFT: 3.5, RLAIF: 3.25, N: 40},
			{Axis: "detail", SFT: 2.5, RLAIF: 2.5, N: 40},
			{Axis: "safety", SFT: 4.75, RLAIF: 5, N: 40},
		},
		QA: []QAScore{
			{Model: "SFT", Accuracy: 0.5, Score: 2.25, N: 120},
			{Model: "RLAIF", Accuracy: 0.625, Score: 2.875, N: 120},
		},
		Seen: []SeenRow{
			{Kind: "background", Questions: 40, Own: 0.75, Other: 0.125},
			{Kind: "count", Questions: 40, Own: 0.25, Other: 0.25},
		},
		SeenJudging: []SeenRow{{Kind: "color", Questions: 30, Own: 0.6, Other: 0.5}},
		SeenContext: []SeenRow{{Kind: "count", Questions: 20, Own: 0.95, Other: 0.4}},
		Notes: []string{
			"RLAIF beats SFT on 3 of 5 axes.",
			"A note with <script>alert(1)</script> & an ampersand.",
		},
	}
	for i := range 20 {
		d.Steps = append(d.Steps, PPOStep{Step: i + 1, Score: 0.1 * float64(i), Reward: 1 - 0.02*float64(i),
			KL: 0.05, Entropy: 2})
	}
	return d
}

func writeSample(t *testing.T, d Data) (string, Files) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "report") // Write must create it
	f, err := Write(dir, d)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return dir, f
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func TestWriteFilesAndSizes(t *testing.T) {
	dir, f := writeSample(t, sampleData())
	if f.HTML != "index.html" || f.Markdown != "report.md" {
		t.Errorf("Files = %+v", f)
	}
	want := map[string]image.Point{"ppo.png": {720, 480}, "preference.png": {720, 360}, "axes.png": {720, 360}}
	if len(f.Plots) != len(want) {
		t.Errorf("Plots = %v, want %d plots", f.Plots, len(want))
	}
	for _, name := range append([]string{f.HTML, f.Markdown}, f.Plots...) {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("listed file missing: %v", err)
		}
	}
	for _, name := range f.Plots {
		size, ok := want[name]
		if !ok {
			t.Errorf("unexpected plot %q", name)
			continue
		}
		if got := decodePNG(t, filepath.Join(dir, name)).Bounds().Size(); got != size {
			t.Errorf("%s is %v, want %v", name, got, size)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temp file left behind: %s", e.Name())
		}
	}
}

// bar is a run of adjacent columns where a colour rises from the common
// baseline.
type bar struct{ x0, x1, height int }

// bars finds the bars of colour col: it takes the lowest row where col
// occurs as the baseline (every bar stands on the x axis; legend swatches
// sit higher up), and for each column with col on that row measures how
// far col runs upward without a break. Adjacent columns form one bar; its
// height is the tallest column.
func bars(img image.Image, col hexColor) []bar {
	want := col.rgba()
	is := func(x, y int) bool { return color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == want }
	b := img.Bounds()
	base := -1
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if is(x, y) {
				base = y
			}
		}
	}
	var out []bar
	in := false
	for x := b.Min.X; x < b.Max.X; x++ {
		if base < 0 || !is(x, base) {
			in = false
			continue
		}
		h := 0
		for y := base; y >= b.Min.Y && is(x, y); y-- {
			h++
		}
		if !in {
			out = append(out, bar{x0: x, x1: x, height: h})
			in = true
		}
		last := &out[len(out)-1]
		last.x1, last.height = x, max(last.height, h)
	}
	return out
}

// The pixel heights come from round(v/ymax × plot height): each is off by
// at most half a pixel, so k × (a height) is off by up to k/2 pixels.
// The tolerances below allow that plus a pixel.

func TestAxesBarsFollowData(t *testing.T) {
	dir, _ := writeSample(t, sampleData())
	img := decodePNG(t, filepath.Join(dir, "axes.png"))
	sft, rlaif := bars(img, colorSFT), bars(img, colorRLAIF)
	if len(sft) != 5 || len(rlaif) != 5 {
		t.Fatalf("found %d SFT and %d RLAIF bars, want 5 each", len(sft), len(rlaif))
	}
	// Axis 0: SFT 1, RLAIF 4.
	h1, h4 := sft[0].height, rlaif[0].height
	if h1 < 20 {
		t.Fatalf("SFT=1 bar only %d px tall", h1)
	}
	if d := h4 - 4*h1; d < -3 || d > 3 {
		t.Errorf("RLAIF=4 bar is %d px, SFT=1 bar %d px: want about 4x (%d)", h4, h1, 4*h1)
	}
	// Axis 1: SFT 2, RLAIF 3; axis 4: SFT 4.75, RLAIF 5 (the full scale).
	if d := sft[1].height - 2*h1; d < -2 || d > 2 {
		t.Errorf("SFT=2 bar is %d px, want about %d", sft[1].height, 2*h1)
	}
	if d := 2*rlaif[1].height - 3*sft[1].height; d < -4 || d > 4 {
		t.Errorf("RLAIF=3 bar %d px vs SFT=2 bar %d px: want a 3:2 ratio", rlaif[1].height, sft[1].height)
	}
	if d := rlaif[4].height - 5*h1; d < -4 || d > 4 {
		t.Errorf("RLAIF=5 bar is %d px, want about %d", rlaif[4].height, 5*h1)
	}
	// Within a group SFT is left of RLAIF, and groups go left to right.
	for i := range sft {
		if sft[i].x1 >= rlaif[i].x0 {
			t.Errorf("axis %d: SFT bar %v not left of RLAIF bar %v", i, sft[i], rlaif[i])
		}
		if i > 0 && rlaif[i-1].x1 >= sft[i].x0 {
			t.Errorf("axis %d starts before axis %d ends", i, i-1)
		}
	}
}

func TestPreferenceBarsFollowData(t *testing.T) {
	dir, _ := writeSample(t, sampleData())
	img := decodePNG(t, filepath.Join(dir, "preference.png"))
	bs := bars(img, colorPreference)
	if len(bs) != 2 {
		t.Fatalf("found %d bars, want 2", len(bs))
	}
	hi, lo := bs[0].height, bs[1].height // 0.8, 0.4
	if lo < 40 {
		t.Fatalf("0.4 bar only %d px tall", lo)
	}
	if d := hi - 2*lo; d < -2 || d > 2 {
		t.Errorf("0.8 bar is %d px, 0.4 bar %d px: want about 2x", hi, lo)
	}
}

// lineYs returns, for the leftmost and the rightmost column holding col,
// the mean row of col's pixels there. The legend swatches sit in the
// header, between the panel's first and last columns, so they do not
// reach either end.
func lineYs(t *testing.T, img image.Image, col hexColor) (first, last float64) {
	t.Helper()
	want := col.rgba()
	b := img.Bounds()
	colMean := func(x int) (float64, bool) {
		sum, n := 0, 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			if color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == want {
				sum += y
				n++
			}
		}
		return float64(sum) / float64(n), n > 0
	}
	x0, x1 := -1, -1
	for x := b.Min.X; x < b.Max.X; x++ {
		if _, ok := colMean(x); ok {
			if x0 < 0 {
				x0 = x
			}
			x1 = x
		}
	}
	if x0 < 0 || x1-x0 < b.Dx()/2 {
		t.Fatalf("colour %06x spans columns %d..%d, want a line across the panel", uint32(col), x0, x1)
	}
	first, _ = colMean(x0)
	last, _ = colMean(x1)
	return first, last
}

func TestPPOLinesFollowData(t *testing.T) {
	dir, _ := writeSample(t, sampleData())
	img := decodePNG(t, filepath.Join(dir, "ppo.png"))
	// Rising score: the last step's pixel is higher up (smaller y), by most
	// of the panel (the score spans its whole range).
	first, last := lineYs(t, img, colorScore)
	if last >= first-80 {
		t.Errorf("rising score drawn from y=%.1f to y=%.1f, want clearly higher at the end", first, last)
	}
	// Falling shaped reward: lower down at the end.
	first, last = lineYs(t, img, colorReward)
	if last <= first+20 {
		t.Errorf("falling reward drawn from y=%.1f to y=%.1f, want lower at the end", first, last)
	}
	// Constant KL (a degenerate range, padded): a flat line in the bottom panel.
	first, last = lineYs(t, img, colorKL)
	if math.Abs(first-last) > 0.5 || first < 240 {
		t.Errorf("constant KL drawn from y=%.1f to y=%.1f, want flat in the bottom panel", first, last)
	}
}

func TestEmptySteps(t *testing.T) {
	d := sampleData()
	d.Steps = nil
	dir := t.TempDir()
	// A ppo.png from an earlier run must not survive.
	if _, err := Write(dir, sampleData()); err != nil {
		t.Fatal(err)
	}
	f, err := Write(dir, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Plots {
		if p == "ppo.png" {
			t.Errorf("Plots lists ppo.png without steps: %v", f.Plots)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ppo.png")); !os.IsNotExist(err) {
		t.Errorf("ppo.png exists without steps (stat: %v)", err)
	}
	h := readFile(t, filepath.Join(dir, "index.html"))
	if strings.Contains(h, `src="ppo.png"`) {
		t.Error("HTML references ppo.png without steps")
	}
	if !strings.Contains(h, "ppo.png: no data") {
		t.Error(`HTML does not say "no data" for ppo.png`)
	}
	if !strings.Contains(readFile(t, filepath.Join(dir, "report.md")), "## PPO trend\n\nNo data.") {
		t.Error("markdown PPO section does not say No data.")
	}
}

func TestEmptyData(t *testing.T) {
	dir := t.TempDir()
	f, err := Write(dir, Data{})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Plots) != 0 {
		t.Errorf("Plots = %v for empty data", f.Plots)
	}
	h := readFile(t, filepath.Join(dir, "index.html"))
	for _, p := range []string{"ppo.png", "preference.png", "axes.png"} {
		if !strings.Contains(h, p+": no data") {
			t.Errorf("HTML lacks %q", p+": no data")
		}
	}
}

func TestNonFiniteValues(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	d := sampleData()
	d.Steps[0].Score, d.Steps[3].Score, d.Steps[5].KL, d.Steps[7].Reward = nan, inf, math.Inf(-1), nan
	d.Axes[1].SFT = nan
	d.Preference[1].Accuracy = nan
	d.QA[0].Score = inf
	d.WallSeconds = nan
	dir, f := writeSample(t, d)
	for _, p := range f.Plots {
		decodePNG(t, filepath.Join(dir, p))
	}
	md := readFile(t, filepath.Join(dir, "report.md"))
	if !strings.Contains(md, "| correctness | n/a | 3.00 | n/a |") {
		t.Errorf("markdown lacks the n/a row for a NaN axis:\n%s", md)
	}
	if strings.Contains(md, "NaN") || strings.Contains(md, "Inf") {
		t.Errorf("markdown prints NaN or Inf:\n%s", md)
	}
	// The NaN preference bar is not drawn; the other one is.
	if bs := bars(decodePNG(t, filepath.Join(dir, "preference.png")), colorPreference); len(bs) != 1 {
		t.Errorf("found %d preference bars, want 1", len(bs))
	}

	// Only non-finite values: the plots still draw, with a default range.
	d = Data{Steps: []PPOStep{{Step: 3, Score: nan, Reward: inf, KL: nan}},
		Axes: []AxisScore{{Axis: "x", SFT: nan, RLAIF: nan}}}
	if _, err := Write(t.TempDir(), d); err != nil {
		t.Fatal(err)
	}
}

func TestHTML(t *testing.T) {
	dir, f := writeSample(t, sampleData())
	h := readFile(t, filepath.Join(dir, f.HTML))
	for _, p := range f.Plots {
		if !strings.Contains(h, `<img src="`+p+`" alt="`) {
			t.Errorf("HTML lacks an <img> with alt text for %s", p)
		}
	}
	if strings.Contains(h, "<script>") {
		t.Error("HTML contains a raw <script> tag from a note")
	}
	if !strings.Contains(h, "A note with &lt;script&gt;alert(1)&lt;/script&gt; &amp; an ampersand.") {
		t.Error("HTML lacks the escaped note")
	}
	if !strings.Contains(h, "<title>Demo &lt;run&gt; &amp; co</title>") {
		t.Error("HTML title not escaped")
	}
	for _, want := range []string{
		`<td>correctness</td><td class="num">2.00</td><td class="num">3.00</td><td class="num">+1.00</td>`,
		`<td>helpfulness</td><td class="num">1.00</td><td class="num">4.00</td><td class="num">+3.00</td>`,
		`<tr class="summary"><td>mean</td><td class="num">2.75</td><td class="num">3.55</td><td class="num">+0.80</td>`,
		`<td>with context</td><td class="num">0.800</td>`,
		`<td>judge</td><td class="num">98</td><td class="num">90</td><td class="num">8</td>`,
		"wall time 125.4 s (2m5s)",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %s", want)
		}
	}
}

func TestMarkdown(t *testing.T) {
	dir, f := writeSample(t, sampleData())
	md := readFile(t, filepath.Join(dir, f.Markdown))
	for _, want := range []string{
		"# Demo \\<run\\> \\& co\n",
		"| axis | SFT | RLAIF | Δ |\n|---|---:|---:|---:|\n| helpfulness | 1.00 | 4.00 | +3.00 |\n",
		"| correctness | 2.00 | 3.00 | +1.00 |\n",
		"| temporal\\_grounding | 3.50 | 3.25 | -0.25 |\n",
		"| detail | 2.50 | 2.50 | +0.00 |\n",
		"| mean | 2.75 | 3.55 | +0.80 |\n",
		"| model | accuracy | score | n |\n|---|---:|---:|---:|\n| SFT | 0.500 | 2.25 | 120 |\n| RLAIF | 0.625 | 2.88 | 120 |\n",
		"| with context | 0.800 | 150 | 180 | 200 | 0.050 |\n",
		"## What the SFT model sees",
		"| question kind | own video | another clip's video | gap | questions |\n|---|---:|---:|---:|---:|\n| background | 0.750 | 0.125 | +0.625 | 40 |\n| count | 0.250 | 0.250 | +0.000 | 40 |\n",
		"## What the SFT model sees when it compares two answers",
		"| question kind | own video | another clip's video | gap | pairs |\n|---|---:|---:|---:|---:|\n| color | 0.600 | 0.500 | +0.100 | 30 |\n",
		"## What the likelihood judge reads from the narrative",
		"| question kind | own narrative | another clip's narrative | gap | pairs |\n|---|---:|---:|---:|---:|\n| count | 0.950 | 0.400 | +0.550 | 20 |\n",
		"| without context | 0.400 | 140 | 170 | 200 | 0.125 |\n",
		"| ingest | 100 | 98 | 2 |\n",
		"20 PPO steps (step 1 to 20)",
		// Score 0.1×i: first five mean 0.2, last five (i=15..19) mean 1.7.
		"Mean RM score rose from 0.2 (first 5) to 1.7 (last 5), +1.5.",
		"KL stayed at 0.05 (first 5 and last 5).",
		"A note with \\<script\\>alert(1)\\</script\\> \\& an ampersand.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q\n%s", want, md)
		}
	}
	if strings.Contains(md, "<script>") {
		t.Error("markdown contains a raw <script> tag")
	}
}

func TestDeterministic(t *testing.T) {
	d := sampleData()
	dirA, fa := writeSample(t, d)
	dirB, _ := writeSample(t, d)
	for _, name := range append([]string{fa.HTML, fa.Markdown}, fa.Plots...) {
		a, b := readFile(t, filepath.Join(dirA, name)), readFile(t, filepath.Join(dirB, name))
		if !bytes.Equal([]byte(a), []byte(b)) {
			t.Errorf("%s differs between two writes of the same data", name)
		}
	}
}

func TestNiceRange(t *testing.T) {
	for _, c := range []struct{ lo, hi float64 }{{0, 1}, {0.05, 0.05}, {0, 0}, {-3, 17}, {1e-4, 3e-4}, {1000, 1000}} {
		nlo, nhi, ticks := niceRange(c.lo, c.hi, 4)
		if !(nlo < nhi) || nlo > c.lo || nhi < c.hi || len(ticks) < 2 {
			t.Errorf("niceRange(%g, %g) = %g, %g, %v", c.lo, c.hi, nlo, nhi, ticks)
		}
	}
}

// A long run's trend averages a fifth of its steps at each end (one step's mean over 16
// rollouts is noisy); a short run's, trendWindow steps.
func TestPPOTrendWindowGrowsWithTheRun(t *testing.T) {
	var steps []PPOStep
	for i := range 100 {
		steps = append(steps, PPOStep{Step: i + 1, Score: float64(i)}) // first 20 mean 9.5, last 20 mean 89.5
	}
	paras := strings.Join(ppoSection(steps).paras, "\n")
	for _, want := range []string{"100 PPO steps (step 1 to 100); means over the first and the last 20 steps.",
		"Mean RM score rose from 9.5 (first 20) to 89.5 (last 20), +80."} {
		if !strings.Contains(paras, want) {
			t.Errorf("PPO section lacks %q:\n%s", want, paras)
		}
	}
}
