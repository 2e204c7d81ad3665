// Package report writes a run's RLAIF-vs-SFT report: index.html with PNG plots, and report.md.
//
// The plots are drawn with the standard image packages and basicfont; the
// markdown and the HTML render the same tables, formatted once, so their
// numbers always agree. The output depends only on the Data passed in.
package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vrlaif/vrlaif/internal/atomicfile"
)

// PPOStep is one PPO step's metrics.
type PPOStep struct {
	Step                       int
	Score, Reward, KL, Entropy float64
}

// PreferenceAccuracy is how often a judge's labels agree with the ground truth.
type PreferenceAccuracy struct {
	Name     string
	Accuracy float64 // Agree / Compared
	Pairs    int     // judged pairs
	Labeled  int     // pairs the judge labeled
	Compared int     // labeled pairs whose answers the ground truth tells apart (the accuracy's denominator)
	FlipRate float64
}

// AxisScore is one benchmark axis (0–5) for SFT and RLAIF.
type AxisScore struct {
	Axis       string
	SFT, RLAIF float64
	N          int
}

// QAScore is zero-shot QA for one model.
type QAScore struct {
	Model           string
	Accuracy, Score float64
	N               int
}

// SeenRow is the SFT model's short-answer accuracy on one kind of question with the clip's own
// video and with another clip's: the gap is what the model sees of the video.
type SeenRow struct {
	Kind       string
	Questions  int
	Own, Other float64
}

// StageRow is one pipeline stage's counts.
type StageRow struct {
	Stage               string
	In, Out, DeadLetter int
}

// Data is everything the report shows.
type Data struct {
	Title       string
	Generated   string // a timestamp, shown as given
	WallSeconds float64
	Stages      []StageRow
	Steps       []PPOStep
	Preference  []PreferenceAccuracy // e.g. "with context", "without context"
	Axes        []AxisScore          // the five axes, in order
	QA          []QAScore            // e.g. SFT, RLAIF
	Seen        []SeenRow            // the SFT model's short answers by kind, with its own and another clip's video
	SeenJudging []SeenRow            // the SFT model's judging pairs by likelihood, by kind, with either video
	// SeenContext: the likelihood judge on those pairs with the clip's narrative and with another
	// clip's (Own and Other hold the narratives' accuracies).
	SeenContext []SeenRow
	SeenNote    string   // why Seen, SeenJudging and SeenContext are empty, shown in their place
	Notes       []string // findings, plain text paragraphs (may contain <, &: escape them)
}

// Files names what Write wrote, relative to dir.
type Files struct {
	HTML, Markdown string
	Plots          []string
}

// File names inside the report directory.
const (
	htmlFile       = "index.html"
	markdownFile   = "report.md"
	ppoFile        = "ppo.png"
	preferenceFile = "preference.png"
	axesFile       = "axes.png"
)

// Write writes dir/index.html, dir/report.md and the plots (dir created if missing):
//
//	ppo.png         reward (mean RM score and shaped reward) and KL over PPO steps: two stacked line panels sharing the x axis (step)
//	preference.png  preference accuracy against ground truth per judge setting (bars, 0–1, with value labels)
//	axes.png        the five axes, SFT vs RLAIF, grouped bars on a 0–5 scale, with a legend
//
// A plot whose data is empty is left out (and the HTML says "no data" in its place); a
// copy of it left in dir by an earlier Write is removed, so the directory matches the
// HTML. Files are written to a temp name and renamed, so a reader never sees half a
// file. The plots are written first and index.html last.
func Write(dir string, d Data) (Files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, fmt.Errorf("report: %w", err)
	}
	plots := []struct {
		name  string
		empty bool
		draw  func() *canvas
	}{
		{ppoFile, len(d.Steps) == 0, func() *canvas { return plotPPO(d.Steps) }},
		{preferenceFile, len(d.Preference) == 0, func() *canvas { return plotPreference(d.Preference) }},
		{axesFile, len(d.Axes) == 0, func() *canvas { return plotAxes(d.Axes) }},
	}
	files := Files{HTML: htmlFile, Markdown: markdownFile}
	written := map[string]bool{}
	for _, p := range plots {
		if p.empty {
			if err := os.Remove(filepath.Join(dir, p.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return Files{}, fmt.Errorf("report: remove stale plot: %w", err)
			}
			continue
		}
		b, err := p.draw().encodePNG()
		if err != nil {
			return Files{}, err
		}
		if err := writeAtomic(dir, p.name, b); err != nil {
			return Files{}, err
		}
		files.Plots = append(files.Plots, p.name)
		written[p.name] = true
	}

	secs := buildSections(d)
	if err := writeAtomic(dir, markdownFile, renderMarkdown(d, secs)); err != nil {
		return Files{}, err
	}
	h, err := renderHTML(d, secs, written)
	if err != nil {
		return Files{}, err
	}
	if err := writeAtomic(dir, htmlFile, h); err != nil {
		return Files{}, err
	}
	return files, nil
}

// writeAtomic writes b to dir/name atomically.
func writeAtomic(dir, name string, b []byte) error {
	if err := atomicfile.Write(dir, name, b); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
