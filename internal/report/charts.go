package report

import (
	"cmp"
	"image"
	"math"
	"slices"
	"strconv"
)

// Plot sizes in pixels.
const (
	plotWidth  = 720
	plotHeight = 360
	ppoHeight  = 480

	marginLeft  = 72 // y tick labels and the rotated y-axis label
	marginRight = 16
)

// sortedSteps returns a copy of steps ordered by Step (stable, so equal
// steps keep their order).
func sortedSteps(steps []PPOStep) []PPOStep {
	s := slices.Clone(steps)
	slices.SortStableFunc(s, func(a, b PPOStep) int { return cmp.Compare(a.Step, b.Step) })
	return s
}

// plotPPO draws ppo.png: the mean RM score and shaped reward in the top
// panel and KL in the bottom one, over PPO steps on a shared x axis.
func plotPPO(steps []PPOStep) *canvas {
	steps = sortedSteps(steps)
	xs := make([]float64, len(steps))
	score := make([]float64, len(steps))
	reward := make([]float64, len(steps))
	kl := make([]float64, len(steps))
	for i, s := range steps {
		xs[i], score[i], reward[i], kl[i] = float64(s.Step), s.Score, s.Reward, s.KL
	}

	c := newCanvas(plotWidth, ppoHeight)
	c.title("PPO: reward and KL by step")
	c.legend(plotWidth-marginRight, headerBaseline, []legendEntry{
		{"mean RM score", colorScore},
		{"shaped reward", colorReward},
	})

	xlo, xhi := padRange(xs[0], xs[len(xs)-1])
	xstep := math.Max(1, tickStep(xhi-xlo, 8))
	xticks := ticksBetween(xlo, xhi, xstep)
	xfmt := tickFormat(xstep)

	top := image.Rect(marginLeft, 36, plotWidth-marginRight, 230)
	bottom := image.Rect(marginLeft, 250, plotWidth-marginRight, 420)
	drawPanel := func(r image.Rectangle, label string, xlabels bool, ticks int, ys ...[]float64) panel {
		lo, hi, ok := finiteRange(ys...)
		if !ok {
			lo, hi = 0, 1
		}
		ylo, yhi, yticks := niceRange(lo, hi, ticks)
		p := newPanel(r, xlo, xhi, ylo, yhi)
		c.grid(p, xticks, yticks, xfmt, tickFormat(yticks[1]-yticks[0]), xlabels)
		c.axes(p)
		c.textUp(8, (r.Min.Y+r.Max.Y)/2, label, colorText)
		return p
	}
	pt := drawPanel(top, "reward", false, 4, score, reward)
	c.series(pt, xs, reward, colorReward)
	c.series(pt, xs, score, colorScore)
	pb := drawPanel(bottom, "KL", true, 3, kl)
	c.series(pb, xs, kl, colorKL)
	c.text((bottom.Min.X+bottom.Max.X)/2, ppoHeight-16, "PPO step", alignCenter, colorText)
	return c
}

// barSeries is one coloured series of a bar chart, one value per category.
type barSeries struct {
	name   string
	col    hexColor
	values []float64
}

// barChart is a grouped bar chart on a fixed [0, ymax] scale.
type barChart struct {
	title, ylabel string
	ymax, ystep   float64
	categories    [][]string // label lines under each group (fitted to the group width)
	series        []barSeries
	valueFmt      func(float64) string
	guide         float64 // a dashed reference line at this value, if > 0
	guideLabel    string
}

// draw renders the chart. Values are clamped to [0, ymax]; a non-finite
// value draws no bar and is labelled "n/a".
func (b barChart) draw() *canvas {
	c := newCanvas(plotWidth, plotHeight)
	c.title(b.title)
	if len(b.series) > 1 {
		entries := make([]legendEntry, len(b.series))
		for i, s := range b.series {
			entries[i] = legendEntry{s.name, s.col}
		}
		c.legend(plotWidth-marginRight, headerBaseline, entries)
	}
	r := image.Rect(marginLeft, 44, plotWidth-marginRight, 296)
	p := newPanel(r, 0, 1, 0, b.ymax)
	// Bars stand on the x-axis row, so value 0 maps to r.Max.Y and a bar of
	// value v is exactly round(v/ymax × plot height) pixels tall.
	p.y.p0 = r.Max.Y
	c.grid(p, nil, ticksBetween(0, b.ymax, b.ystep), nil, tickFormat(b.ystep), false)
	c.textUp(8, (r.Min.Y+r.Max.Y)/2, b.ylabel, colorText)
	if b.guide > 0 {
		y := p.y.px(b.guide)
		c.dashedHline(r.Min.X, r.Max.X-1, y, 4, colorGuide)
		c.text(r.Max.X-2, y-3, b.guideLabel, alignRight, colorGuide)
	}

	n := len(b.categories)
	groupW := float64(r.Dx()) / float64(n)
	barW := int(math.Min(groupW*0.7/float64(len(b.series)), 110))
	const gap = 4
	totalW := len(b.series)*barW + (len(b.series)-1)*gap
	showValues := barW >= textWidth(b.valueFmt(b.ymax))
	for i, lines := range b.categories {
		cx := r.Min.X + int(math.Round(groupW*(float64(i)+0.5)))
		for j, l := range lines {
			c.text(cx, r.Max.Y+4+fontAscent+j*lineHeight, l, alignCenter, colorText)
		}
		x := cx - totalW/2
		for _, s := range b.series {
			v := s.values[i]
			if !finite(v) {
				c.text(x+barW/2, r.Max.Y-4, "n/a", alignCenter, colorGuide)
				x += barW + gap
				continue
			}
			v = math.Min(math.Max(v, 0), b.ymax)
			top := p.y.px(v)
			c.fillRect(image.Rect(x, top, x+barW, r.Max.Y), s.col)
			if showValues {
				c.text(x+barW/2, top-4, b.valueFmt(s.values[i]), alignCenter, colorText)
			}
			x += barW + gap
		}
	}
	c.axes(p)
	return c
}

// plotPreference draws preference.png: one bar per judge setting.
func plotPreference(prefs []PreferenceAccuracy) *canvas {
	n := len(prefs)
	groupW := (plotWidth - marginLeft - marginRight) / n
	b := barChart{
		title:      "Preference accuracy against ground truth",
		ylabel:     "accuracy",
		ymax:       1,
		ystep:      0.2,
		series:     []barSeries{{name: "accuracy", col: colorPreference, values: make([]float64, n)}},
		valueFmt:   formatFraction,
		guide:      0.5,
		guideLabel: "chance",
	}
	for i, pa := range prefs {
		b.series[0].values[i] = pa.Accuracy
		lines := fitLabel(pa.Name, groupW-6)
		if pa.Compared > 0 {
			lines = append(lines, truncate("on "+strconv.Itoa(pa.Compared)+" pairs", groupW-6))
		}
		b.categories = append(b.categories, lines)
	}
	return b.draw()
}

// plotAxes draws axes.png: SFT and RLAIF side by side for each axis.
func plotAxes(axes []AxisScore) *canvas {
	n := len(axes)
	groupW := (plotWidth - marginLeft - marginRight) / n
	b := barChart{
		title:    "Benchmark axes: SFT vs RLAIF (0-5)",
		ylabel:   "score",
		ymax:     5,
		ystep:    1,
		valueFmt: formatScore,
		series: []barSeries{
			{name: "SFT", col: colorSFT, values: make([]float64, n)},
			{name: "RLAIF", col: colorRLAIF, values: make([]float64, n)},
		},
	}
	for i, a := range axes {
		b.series[0].values[i], b.series[1].values[i] = a.SFT, a.RLAIF
		b.categories = append(b.categories, fitLabel(a.Axis, groupW-6))
	}
	return b.draw()
}
