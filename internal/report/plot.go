package report

// Drawing primitives for the plots: a white canvas, rectangles, thick
// lines, text (basicfont, horizontal and rotated), linear scales with nice
// ticks, and a panel that draws its axes. Everything is drawn without
// anti-aliasing, so every series pixel carries exactly its series colour
// (the tests rely on that) and the PNG bytes depend only on the data.

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// hexColor is an opaque colour written 0xRRGGBB, so the palette can be
// true constants.
type hexColor uint32

// Plot colours. SFT is a muted grey-blue and RLAIF a strong red-orange, so
// the RLAIF series stands out wherever the two are compared.
const (
	colorSFT        hexColor = 0x7f93ad   // grey-blue
	colorRLAIF      hexColor = 0xd9481c   // strong red-orange
	colorScore      hexColor = colorRLAIF // PPO mean RM score: the RLAIF policy's
	colorReward     hexColor = 0x2a7a3b   // PPO shaped reward, dark green
	colorKL         hexColor = 0x3a4cc0   // PPO KL, blue
	colorPreference hexColor = 0x8e44ad   // preference-accuracy bars, purple

	colorBackground hexColor = 0xffffff
	colorAxis       hexColor = 0x333333
	colorGrid       hexColor = 0xe4e4e4
	colorGuide      hexColor = 0x999999
	colorText       hexColor = 0x222222
)

// rgba is h as an opaque color.RGBA.
func (h hexColor) rgba() color.RGBA {
	return color.RGBA{R: uint8(h >> 16), G: uint8(h >> 8), B: uint8(h), A: 0xff}
}

// face is the one font used in every plot: 7 px advance, 13 px line.
var face = basicfont.Face7x13

const (
	lineHeight = 13 // basicfont.Face7x13 ascent+descent
	fontAscent = 11
)

// canvas is an RGBA image with a clip rectangle that set honours.
type canvas struct {
	img  *image.RGBA
	clip image.Rectangle
}

func newCanvas(w, h int) *canvas {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(colorBackground.rgba()), image.Point{}, draw.Src)
	return &canvas{img: img, clip: img.Bounds()}
}

func (c *canvas) set(x, y int, col hexColor) {
	if image.Pt(x, y).In(c.clip) {
		c.img.SetRGBA(x, y, col.rgba())
	}
}

// fillRect fills r (clipped) with col.
func (c *canvas) fillRect(r image.Rectangle, col hexColor) {
	r = r.Canon().Intersect(c.clip)
	draw.Draw(c.img, r, image.NewUniform(col.rgba()), image.Point{}, draw.Src)
}

// hline and vline draw one-pixel axis-aligned lines, inclusive of both ends.
func (c *canvas) hline(x0, x1, y int, col hexColor) {
	c.fillRect(image.Rect(min(x0, x1), y, max(x0, x1)+1, y+1), col)
}

func (c *canvas) vline(x, y0, y1 int, col hexColor) {
	c.fillRect(image.Rect(x, min(y0, y1), x+1, max(y0, y1)+1), col)
}

// dashedHline draws a horizontal dashed line (dash px on, dash px off).
func (c *canvas) dashedHline(x0, x1, y, dash int, col hexColor) {
	for x := x0; x <= x1; x += 2 * dash {
		c.hline(x, min(x+dash-1, x1), y, col)
	}
}

// line draws a segment with a square brush of the given width (Bresenham).
func (c *canvas) line(x0, y0, x1, y1, width int, col hexColor) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	err := dx + dy
	for {
		c.dot(x0, y0, width, col)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * err; e2 >= dy {
			err += dy
			x0 += sx
		} else {
			err += dx
			y0 += sy
		}
	}
}

// dot fills a width×width square whose top-left corner is offset so that
// (x, y) lies at its centre (or just right/below it for even widths).
func (c *canvas) dot(x, y, width int, col hexColor) {
	off := (width - 1) / 2
	c.fillRect(image.Rect(x-off, y-off, x-off+width, y-off+width), col)
}

// Text alignment relative to the x passed to text.
type align int

const (
	alignLeft align = iota
	alignCenter
	alignRight
)

// textWidth is s's width in pixels.
func textWidth(s string) int { return font.MeasureString(face, s).Ceil() }

// text draws s with its baseline at y, aligned at x.
func (c *canvas) text(x, y int, s string, a align, col hexColor) {
	switch a {
	case alignCenter:
		x -= textWidth(s) / 2
	case alignRight:
		x -= textWidth(s)
	}
	d := font.Drawer{Dst: c.img, Src: image.NewUniform(col.rgba()), Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// textUp draws s rotated 90° counter-clockwise (reading bottom to top),
// centred vertically on cy, with the glyphs' top edge at column x.
func (c *canvas) textUp(x, cy int, s string, col hexColor) {
	w := textWidth(s)
	tmp := image.NewAlpha(image.Rect(0, 0, w, lineHeight))
	d := font.Drawer{Dst: tmp, Src: image.Opaque, Face: face, Dot: fixed.P(0, fontAscent)}
	d.DrawString(s)
	top := cy + w/2 // the string's first glyph ends up at the bottom
	for ty := 0; ty < lineHeight; ty++ {
		for tx := 0; tx < w; tx++ {
			if tmp.AlphaAt(tx, ty).A != 0 {
				c.set(x+ty, top-tx, col)
			}
		}
	}
}

// fitLabel splits s into at most two lines that fit width px: it breaks at
// the space, underscore or hyphen nearest the middle and truncates with
// ".." what still does not fit.
func fitLabel(s string, width int) []string {
	if textWidth(s) <= width {
		return []string{s}
	}
	best := -1
	for i, r := range s {
		if r == ' ' || r == '_' || r == '-' {
			if best < 0 || abs(i-len(s)/2) < abs(best-len(s)/2) {
				best = i
			}
		}
	}
	if best < 0 {
		return []string{truncate(s, width)}
	}
	first, second := s[:best], s[best+1:]
	if s[best] != ' ' {
		first = s[:best+1]
	}
	return []string{truncate(first, width), truncate(second, width)}
}

func truncate(s string, width int) string {
	if textWidth(s) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && textWidth(string(r)+"..") > width {
		r = r[:len(r)-1]
	}
	return string(r) + ".."
}

// scale maps data values in [lo, hi] to pixels in [p0, p1] (p1 may be
// smaller than p0: image y grows downwards).
type scale struct {
	lo, hi float64
	p0, p1 int
}

func (s scale) px(v float64) int {
	f := (v - s.lo) / (s.hi - s.lo)
	return int(math.Round(float64(s.p0) + f*float64(s.p1-s.p0)))
}

// finiteRange returns the smallest and largest finite value in vs, and
// false if there is none.
func finiteRange(vs ...[]float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range vs {
		for _, v := range s {
			if finite(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
				ok = true
			}
		}
	}
	return lo, hi, ok
}

// padRange widens a degenerate (lo == hi) range so it can be drawn: by 10%
// of the value either side, or by 1 around zero.
func padRange(lo, hi float64) (float64, float64) {
	if hi-lo > 1e-12*math.Max(1, math.Max(math.Abs(lo), math.Abs(hi))) {
		return lo, hi
	}
	p := math.Abs(lo) * 0.1
	if p == 0 {
		p = 1
	}
	return lo - p, hi + p
}

// tickStep is a 1, 2 or 5 × 10^k step giving about n intervals over span.
func tickStep(span float64, n int) float64 {
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw*(1-1e-9) {
			return m * mag
		}
	}
	return 10 * mag
}

// niceRange extends [lo, hi] outwards to multiples of a nice step and
// returns the new bounds and the ticks (including both bounds).
func niceRange(lo, hi float64, n int) (float64, float64, []float64) {
	lo, hi = padRange(lo, hi)
	step := tickStep(hi-lo, n)
	nlo, nhi := math.Floor(lo/step+1e-9)*step, math.Ceil(hi/step-1e-9)*step
	return nlo, nhi, ticksBetween(nlo, nhi, step)
}

// ticksBetween lists the multiples of step in [lo, hi].
func ticksBetween(lo, hi, step float64) []float64 {
	var ts []float64
	first := math.Ceil(lo/step - 1e-9)
	for i := 0; ; i++ {
		v := (first + float64(i)) * step
		if v > hi+step*1e-9 || i > 1000 {
			return ts
		}
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		ts = append(ts, v)
	}
}

// tickFormat formats ticks a step apart with just enough decimals.
func tickFormat(step float64) func(float64) string {
	dec := 0
	if step > 0 && step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	return func(v float64) string {
		s := strconv.FormatFloat(v, 'f', dec, 64)
		if strings.Trim(s, "-0.") == "" {
			s = strings.TrimPrefix(s, "-")
		}
		return s
	}
}

// panel is one plotting area: a pixel rectangle and its two scales.
type panel struct {
	r    image.Rectangle // the plotting area; axes lie on its left and bottom edges
	x, y scale
}

func newPanel(r image.Rectangle, xlo, xhi, ylo, yhi float64) panel {
	return panel{
		r: r,
		x: scale{lo: xlo, hi: xhi, p0: r.Min.X, p1: r.Max.X - 1},
		y: scale{lo: ylo, hi: yhi, p0: r.Max.Y - 1, p1: r.Min.Y},
	}
}

// grid draws horizontal grid lines and left tick labels at yticks, and
// vertical grid lines at xticks (labels below only if xlabels is set).
func (c *canvas) grid(p panel, xticks, yticks []float64, xfmt, yfmt func(float64) string, xlabels bool) {
	for _, t := range yticks {
		y := p.y.px(t)
		c.hline(p.r.Min.X, p.r.Max.X-1, y, colorGrid)
		c.hline(p.r.Min.X-4, p.r.Min.X-1, y, colorAxis)
		c.text(p.r.Min.X-6, y+4, yfmt(t), alignRight, colorText)
	}
	for _, t := range xticks {
		x := p.x.px(t)
		c.vline(x, p.r.Min.Y, p.r.Max.Y-1, colorGrid)
		c.vline(x, p.r.Max.Y, p.r.Max.Y+3, colorAxis)
		if xlabels {
			c.text(x, p.r.Max.Y+4+fontAscent, xfmt(t), alignCenter, colorText)
		}
	}
}

// axes draws the panel's left and bottom axis lines.
func (c *canvas) axes(p panel) {
	c.vline(p.r.Min.X-1, p.r.Min.Y, p.r.Max.Y, colorAxis)
	c.hline(p.r.Min.X-1, p.r.Max.X-1, p.r.Max.Y, colorAxis)
}

// series draws ys against xs as a 2 px polyline inside the panel. Non-finite
// values are skipped: the line breaks there, and a finite point with no
// finite neighbour is drawn as a dot.
func (c *canvas) series(p panel, xs, ys []float64, col hexColor) {
	saved := c.clip
	c.clip = p.r
	defer func() { c.clip = saved }()
	ok := func(i int) bool { return i >= 0 && i < len(ys) && finite(xs[i]) && finite(ys[i]) }
	for i := range ys {
		if !ok(i) {
			continue
		}
		x, y := p.x.px(xs[i]), p.y.px(ys[i])
		if ok(i + 1) {
			c.line(x, y, p.x.px(xs[i+1]), p.y.px(ys[i+1]), 2, col)
		} else if !ok(i - 1) {
			c.dot(x, y, 4, col)
		}
	}
}

// legendEntry is one swatch and its label.
type legendEntry struct {
	label string
	col   hexColor
}

// legend draws entries in one row ending at right, baseline y: each a
// 14×8 swatch followed by its label.
func (c *canvas) legend(right, y int, entries []legendEntry) {
	w := 0
	for i, e := range entries {
		if i > 0 {
			w += 14
		}
		w += 18 + textWidth(e.label)
	}
	x := right - w
	for _, e := range entries {
		c.fillRect(image.Rect(x, y-9, x+14, y-1), e.col)
		c.text(x+18, y, e.label, alignLeft, colorText)
		x += 18 + textWidth(e.label) + 14
	}
}

// headerBaseline is the baseline of the header row: the title on the
// left, the legend (if any) on the right.
const headerBaseline = 18

// title draws a plot title at the left of the header row, over the y axis.
func (c *canvas) title(s string) {
	c.text(marginLeft, headerBaseline, s, alignLeft, colorText)
}

// encodePNG returns the canvas as PNG bytes.
func (c *canvas) encodePNG() ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, c.img); err != nil {
		return nil, fmt.Errorf("report: encode png: %w", err)
	}
	return b.Bytes(), nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}
