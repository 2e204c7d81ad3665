package main

import (
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/synth"
)

func synthCmd() *cobra.Command {
	p := synth.DefaultParams()
	var out string
	cmd := &cobra.Command{
		Use:   "synth --output DIR [--n N --seed S]",
		Short: "Render the synthetic video world: clips of moving shapes with exact ground truth",
		Long: `synth renders N short H.264 clips of coloured shapes (circle, square, triangle; red, green,
blue, yellow, purple; small or large) that appear, move, stop and disappear over plain
backgrounds. Each clip comes with ground truth: objects and their tracks, events with time spans,
a detailed description of the whole clip and of each third, and question/answer items in the
Video-ChatGPT benchmark's categories (generic, temporal, consistency, short-answer QA).
Clips are deterministic from (seed, index); every --heldout-every-th clip is held out.

Writes DIR/videos/*.mp4, DIR/truth/ (Parquet shards + truth.jsonl) and DIR/summary.json.
Videos already in DIR are kept, so an interrupted run resumes.`,
		Example: "  vrlaif synth --n 64 --seed 7 --output out/world",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fail(cmd, "--output is required")
			}
			return runSynth(cmd, p, out)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "output folder (required)")
	f.IntVar(&p.N, "n", p.N, "number of clips")
	f.Int64Var(&p.Seed, "seed", p.Seed, "world seed")
	f.IntVar(&p.Width, "width", p.Width, "frame width in pixels (even)")
	f.IntVar(&p.Height, "height", p.Height, "frame height in pixels (even)")
	f.IntVar(&p.MinFPS, "min-fps", p.MinFPS, "lowest frame rate")
	f.IntVar(&p.MaxFPS, "max-fps", p.MaxFPS, "highest frame rate")
	f.Float64Var(&p.MinSeconds, "min-seconds", p.MinSeconds, "shortest clip")
	f.Float64Var(&p.MaxSeconds, "max-seconds", p.MaxSeconds, "longest clip")
	f.IntVar(&p.HeldoutEvery, "heldout-every", p.HeldoutEvery, "hold out every k-th clip for evaluation (0: none)")
	return cmd
}

func runSynth(cmd *cobra.Command, p synth.Params, out string) error {
	if err := p.Validate(); err != nil {
		return err
	}
	start := time.Now()
	bar := newProgress("synth", p.N)
	truths, err := synth.Generate(cmd.Context(), out, p, bar.inc)
	bar.done()
	if err != nil {
		return err
	}
	held := 0
	for _, t := range truths {
		if t.Split == "heldout" {
			held++
		}
	}
	wall := time.Since(start).Seconds()
	report("synth: %d clips (%d held out) in %.1f s → %s", len(truths), held, wall, out)
	return writeSummary(out, schemas.Summary{
		Command:     "synth",
		Stages:      map[string]schemas.StageCounts{"synth": {In: p.N, Out: len(truths)}},
		WallSeconds: wall,
		Settings:    map[string]any{"synth": p},
		Outputs:     map[string]string{"videos": filepath.Join(out, "videos"), "truth": filepath.Join(out, "truth")},
	})
}
