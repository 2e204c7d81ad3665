package report

// The report's content, formatted once and rendered by both markdown.go and
// html.go: a list of sections, each with an optional plot, table and
// paragraphs of plain (unescaped) text.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// table is a header and rows of already formatted cells; num marks the
// columns that hold numbers (right-aligned), summary a last row that
// summarises the others.
type table struct {
	header  []string
	num     []bool
	rows    [][]string
	summary bool
}

// section is one part of the report.
type section struct {
	id, heading string
	plot        string // the plot file shown in this section, "" if none
	plotAlt     string // its alt text
	table       *table // nil: no table (the section has no data)
	paras       []string
}

// noData is the text of a section without data.
const noData = "No data."

// buildSections lays out the report's sections in order.
func buildSections(d Data) []section {
	return []section{
		axesSection(d.Axes),
		qaSection(d.QA),
		preferenceSection(d.Preference),
		seenSection(d.Seen, d.SeenNote),
		seenJudgingSection(d.SeenJudging, d.SeenNote),
		seenContextSection(d.SeenContext, d.SeenNote),
		ppoSection(d.Steps),
		stagesSection(d.Stages),
		{id: "notes", heading: "Notes", paras: d.Notes},
	}
}

func axesSection(axes []AxisScore) section {
	s := section{id: "axes", heading: "Benchmark axes (0-5)", plot: axesFile,
		plotAlt: "Grouped bars: SFT and RLAIF scores on each benchmark axis, 0 to 5"}
	if len(axes) == 0 {
		return s
	}
	t := &table{header: []string{"axis", "SFT", "RLAIF", "Δ"}, num: []bool{false, true, true, true}, summary: true}
	var sft, rlaif []float64
	ns := make([]string, 0, len(axes))
	sameN := true
	for _, a := range axes {
		t.rows = append(t.rows, []string{a.Axis, formatScore(a.SFT), formatScore(a.RLAIF), formatDelta(a.RLAIF - a.SFT)})
		sft, rlaif = append(sft, a.SFT), append(rlaif, a.RLAIF)
		ns = append(ns, a.Axis+" "+strconv.Itoa(a.N))
		sameN = sameN && a.N == axes[0].N
	}
	ms, mr := mean(sft), mean(rlaif)
	t.rows = append(t.rows, []string{"mean", formatScore(ms), formatScore(mr), formatDelta(mr - ms)})
	s.table = t
	s.paras = append(s.paras, "Δ is RLAIF minus SFT; the mean row averages each column over the axes with a finite score.")
	switch {
	case sameN && axes[0].N > 0:
		s.paras = append(s.paras, fmt.Sprintf("Each axis was scored on %d items.", axes[0].N))
	case !sameN:
		s.paras = append(s.paras, "Items scored per axis: "+strings.Join(ns, ", ")+".")
	}
	return s
}

func qaSection(qa []QAScore) section {
	s := section{id: "qa", heading: "Zero-shot QA"}
	if len(qa) == 0 {
		return s
	}
	t := &table{header: []string{"model", "accuracy", "score", "n"}, num: []bool{false, true, true, true}}
	for _, q := range qa {
		t.rows = append(t.rows, []string{q.Model, formatFraction(q.Accuracy), formatScore(q.Score), strconv.Itoa(q.N)})
	}
	s.table = t
	return s
}

func preferenceSection(prefs []PreferenceAccuracy) section {
	s := section{id: "preference", heading: "Preference accuracy against ground truth", plot: preferenceFile,
		plotAlt: "Bars: how often each judge setting's preference labels agree with the ground truth, 0 to 1"}
	if len(prefs) == 0 {
		return s
	}
	t := &table{header: []string{"judge setting", "accuracy", "compared", "labeled", "pairs", "flip rate"},
		num: []bool{false, true, true, true, true, true}}
	for _, p := range prefs {
		t.rows = append(t.rows, []string{p.Name, formatFraction(p.Accuracy), strconv.Itoa(p.Compared),
			strconv.Itoa(p.Labeled), strconv.Itoa(p.Pairs), formatFraction(p.FlipRate)})
	}
	s.table = t
	return s
}

func seenSection(rows []SeenRow, note string) section {
	return seenKindsSection(section{id: "seen", heading: "What the SFT model sees"}, rows, note, "questions",
		"Short-answer accuracy on the held-out clips, each question asked with its own clip's video and again with another clip's. "+
			"What the model gets right with another clip's video it gets without looking; a gap near 0 means the model does not see what that kind of question asks about, "+
			"and then neither its narratives nor a judge or reward model built on it can tell good answers from bad ones on that kind.")
}

func seenJudgingSection(rows []SeenRow, note string) section {
	return seenKindsSection(section{id: "seen-judging", heading: "What the SFT model sees when it compares two answers"}, rows, note, "pairs",
		"The SFT evaluation's judging pairs (one answer agrees with the ground truth, the other swaps one word for a wrong one), "+
			"judged by which answer is likelier given the video and the question, with the clip's own video and again with another clip's. "+
			"These cover what the short answers do not ask: an object's colour, shape and direction.")
}

func seenContextSection(rows []SeenRow, note string) section {
	s := section{id: "seen-context", heading: "What the likelihood judge reads from the narrative"}
	return seenKindsSection(s, rows, note, "pairs",
		"The same pairs judged as the likelihood judge does (which answer is likelier as the reply to the question asked with the narrative as context), "+
			"with the clip's own narrative (the ground truth's) and again with another clip's; the video is the clip's own. The gap is what the judge reads from the narrative. "+
			"In the loop the narrative is the model's own, as good as its captions.", "own narrative", "another clip's narrative")
}

// seenKindsSection fills s with the rows' table and its explanation, or with the note on why
// there are no rows. columns names the two accuracies (default: own video, another clip's video).
func seenKindsSection(s section, rows []SeenRow, note, counted, explanation string, columns ...string) section {
	if len(rows) == 0 {
		if note != "" {
			s.paras = []string{note}
		}
		return s
	}
	if len(columns) != 2 {
		columns = []string{"own video", "another clip's video"}
	}
	s.table = seenTable(rows, counted, columns[0], columns[1])
	s.paras = append(s.paras, explanation)
	return s
}

// seenTable is a table of accuracies by kind with the clip's own video (or narrative), another
// clip's and the gap.
func seenTable(rows []SeenRow, counted, own, other string) *table {
	t := &table{header: []string{"question kind", own, other, "gap", counted},
		num: []bool{false, true, true, true, true}}
	for _, r := range rows {
		t.rows = append(t.rows, []string{r.Kind, formatFraction(r.Own), formatFraction(r.Other), formatFractionDelta(r.Own - r.Other), strconv.Itoa(r.Questions)})
	}
	return t
}

func stagesSection(stages []StageRow) section {
	s := section{id: "stages", heading: "Pipeline stages"}
	if len(stages) == 0 {
		return s
	}
	t := &table{header: []string{"stage", "in", "out", "dead letter"}, num: []bool{false, true, true, true}}
	for _, st := range stages {
		t.rows = append(t.rows, []string{st.Stage, strconv.Itoa(st.In), strconv.Itoa(st.Out), strconv.Itoa(st.DeadLetter)})
	}
	s.table = t
	return s
}

// trendWindow is how many steps the PPO trend averages at each end, at least: a longer run
// averages a fifth of its steps at each end.
const trendWindow = 5

// ppoSection describes the PPO trend in words: the mean of the first and
// of the last trendWindow steps, for the RM score, the shaped reward, KL
// and entropy.
func ppoSection(steps []PPOStep) section {
	s := section{id: "ppo", heading: "PPO trend", plot: ppoFile,
		plotAlt: "Line plots over PPO steps: mean RM score and shaped reward (top), KL (bottom)"}
	if len(steps) == 0 {
		return s
	}
	steps = sortedSteps(steps)
	k := min(max(trendWindow, len(steps)/5), len(steps)) // a fifth of a long run: one step's 16 rollouts are noisy
	first, last := steps[:k], steps[len(steps)-k:]
	span := fmt.Sprintf("%d PPO steps (step %d to %d)", len(steps), steps[0].Step, steps[len(steps)-1].Step)
	if len(steps) == 1 {
		span = fmt.Sprintf("1 PPO step (step %d)", steps[0].Step)
	}
	s.paras = append(s.paras,
		span+"; means over the first and the last "+strconv.Itoa(k)+" steps"+overlap(len(steps), k)+".",
		trend("Mean RM score", first, last, func(p PPOStep) float64 { return p.Score }),
		trend("Shaped reward", first, last, func(p PPOStep) float64 { return p.Reward }),
		trend("KL", first, last, func(p PPOStep) float64 { return p.KL }),
		trend("Entropy", first, last, func(p PPOStep) float64 { return p.Entropy }),
	)
	return s
}

func overlap(n, k int) string {
	if n < 2*k {
		return " (the windows overlap)"
	}
	return ""
}

// trend is one sentence: "Mean RM score rose from 0.10 (first 5) to 0.90 (last 5), +0.80."
func trend(name string, first, last []PPOStep, f func(PPOStep) float64) string {
	vals := func(ps []PPOStep) []float64 {
		v := make([]float64, len(ps))
		for i, p := range ps {
			v[i] = f(p)
		}
		return v
	}
	a, b := mean(vals(first)), mean(vals(last))
	k := strconv.Itoa(len(first))
	if !finite(a) || !finite(b) {
		return fmt.Sprintf("%s: %s (first %s), %s (last %s).", name, formatValue(a), k, formatValue(b), k)
	}
	d := b - a
	if math.Abs(d) <= 1e-9*math.Max(1, math.Abs(a)) {
		return fmt.Sprintf("%s stayed at %s (first %s and last %s).", name, formatValue(a), k, k)
	}
	verb := "rose"
	if d < 0 {
		verb = "fell"
	}
	return fmt.Sprintf("%s %s from %s (first %s) to %s (last %s), %s.", name, verb, formatValue(a), k, formatValue(b), k,
		formatSigned(d))
}

// mean averages the finite values of vs; NaN if there is none.
func mean(vs []float64) float64 {
	sum, n := 0.0, 0
	for _, v := range vs {
		if finite(v) {
			sum += v
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// notAvailable stands for a non-finite value in tables and text.
const notAvailable = "n/a"

// formatScore formats a 0–5 score with 2 decimals.
func formatScore(v float64) string {
	if !finite(v) {
		return notAvailable
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// formatDelta formats a score difference with 2 decimals and a sign.
func formatDelta(v float64) string {
	if !finite(v) {
		return notAvailable
	}
	s := strconv.FormatFloat(v, 'f', 2, 64)
	if s == "-0.00" {
		s = "0.00"
	}
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s
}

// formatFraction formats a 0–1 rate with 3 decimals.
func formatFraction(v float64) string {
	if !finite(v) {
		return notAvailable
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// formatFractionDelta formats a difference of two rates with 3 decimals and a sign.
func formatFractionDelta(v float64) string {
	if !finite(v) {
		return notAvailable
	}
	s := strconv.FormatFloat(v, 'f', 3, 64)
	if s == "-0.000" {
		s = "0.000" // shown as +0.000, as formatDelta shows +0.00
	}
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s
}

// formatValue formats a PPO metric: 4 significant digits.
func formatValue(v float64) string {
	if !finite(v) {
		return notAvailable
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func formatSigned(v float64) string {
	s := formatValue(v)
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s
}

// formatWall formats the run's wall time, "" when not known.
func formatWall(sec float64) string {
	if !finite(sec) || sec <= 0 {
		return ""
	}
	s := strconv.FormatFloat(sec, 'f', 1, 64) + " s"
	if sec >= 60 && sec < 1e9 {
		s += " (" + (time.Duration(math.Round(sec)) * time.Second).String() + ")"
	}
	return s
}
