package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/transforms/frames"
)

func framesCmd() *cobra.Command {
	p := frames.DefaultParams()
	var o frames.RunOptions
	var in, out string
	cmd := &cobra.Command{
		Use:   "frames --input GLOB_OR_MANIFEST --output DIR [--frames 50 --size 224 --pad]",
		Short: "Extract frames from videos with FFmpeg into Parquet (bad files become dead letters)",
		Long: `frames decodes each video with FFmpeg and samples frames the way the VLM-RLAIF seed data was
made: N frames at indices linspace(0, n-1, N) truncated (first and last included), or a fixed
--fps. Decoding seeks to the keyframe before a sample when the gap to it exceeds a GOP (MP4, MOV,
AVI, MKV/WebM), and otherwise decodes forward. Frames are rotated per the display matrix,
converted from any pixel format, resized (--resize short: shorter side = --size; square: stretched),
padded to a square with the seed's fill (122,116,104) unless --pad=false, and stored as JPEG.

--input is a video file, a folder (searched recursively), a glob, a manifest (.jsonl with a
"uri"/"path"/"video" field, .csv or .parquet with such a column), or a remote URI (gs://, s3://).

Writes DIR/clips/ (one row per video: id, source, codec, size, fps, duration, sampling settings,
planned and actual timestamps, JPEG frames), DIR/deadletter/ (one row per bad file: error kind,
message, FFmpeg's log) and DIR/summary.json. Re-running skips videos already done with the same
settings, and videos that already failed unless --retry-failed.`,
		Example: "  vrlaif frames --input 'videos/*.mp4' --output out/frames\n  vrlaif frames --input manifest.jsonl --output out/frames --frames 16 --size 336",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in == "" || out == "" {
				return fail(cmd, "--input and --output are required")
			}
			lock, err := lockOutput(out, "frames")
			if err != nil {
				return err
			}
			defer lock.Release()
			st, err := runFrames(cmd, in, out, p, o)
			if err != nil {
				return err
			}
			report("frames: %s → %s", describeStats(st), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&in, "input", "i", "", "videos: file, folder, glob, manifest or remote URI (required)")
	f.StringVarP(&out, "output", "o", "", "output folder (required)")
	addFrameFlags(f, &p)
	f.IntVar(&o.Workers, "workers", 0, "videos decoded at once (0: one per CPU)")
	f.BoolVar(&o.RetryFailed, "retry-failed", false, "re-attempt videos that already have a dead letter in --output")
	return cmd
}

// addFrameFlags registers the sampling flags shared by frames and demo.
func addFrameFlags(f *pflag.FlagSet, p *frames.Params) {
	f.IntVar(&p.Frames, "frames", p.Frames, "frames to sample uniformly per video")
	f.Float64Var(&p.FPS, "fps", p.FPS, "sample at this rate instead of --frames (0: off)")
	f.IntVar(&p.Size, "size", p.Size, "output size in pixels (0: keep the source size)")
	f.StringVar(&p.Resize, "resize", p.Resize, "resize mode: short (shorter side = size) or square")
	f.BoolVar(&p.Pad, "pad", p.Pad, "pad to a square with (122,116,104) first, as the seed does")
	f.IntVar(&p.Quality, "quality", p.Quality, "JPEG quality, 1..100")
	f.StringVar(&p.Seek, "seek", p.Seek, "auto (seek when the gap exceeds a GOP) or never (one pass)")
	f.IntVar(&p.DecodeThreads, "decode-threads", p.DecodeThreads, "FFmpeg decoder threads per video (0: FFmpeg decides)")
	f.BoolVar(&p.AllowDecodeErrors, "allow-decode-errors", p.AllowDecodeErrors, "keep frames the decoder concealed errors in (default: dead-letter the file)")
	f.Int64Var(&p.Limits.MaxPixels, "max-pixels", p.Limits.MaxPixels, "largest accepted width×height")
	f.DurationVar(&p.Limits.MaxDuration, "max-duration", p.Limits.MaxDuration, "longest accepted video")
	f.DurationVar(&p.Limits.MaxDecodeTime, "max-decode-time", p.Limits.MaxDecodeTime, "most wall time spent decoding one video")
}

func runFrames(cmd *cobra.Command, in, out string, p frames.Params, o frames.RunOptions) (frames.RunStats, error) {
	if err := p.Validate(); err != nil {
		return frames.RunStats{}, err
	}
	start := time.Now()
	inputs, bad, err := frames.ListInputs(cmd.Context(), in)
	if err != nil {
		return frames.RunStats{}, err
	}
	o.BadInputs = bad
	bar := newProgress("frames", len(inputs))
	o.Progress = func(string, error) { bar.inc() }
	st, err := frames.Run(cmd.Context(), inputs, out, p, o)
	bar.done()
	if err != nil {
		return st, err
	}
	return st, writeSummary(out, schemas.Summary{
		Command:     "frames",
		Stages:      map[string]schemas.StageCounts{frames.Stage: stageCounts(st)},
		WallSeconds: time.Since(start).Seconds(),
		Settings:    map[string]any{"input": in, "frames": p, "workers": o.Workers},
		Outputs:     map[string]string{"clips": filepath.Join(out, schemas.RowClip), "deadletter": filepath.Join(out, schemas.RowDeadLetter)},
		ErrorKinds:  map[string]map[string]int{frames.Stage: st.ErrorKinds},
	})
}

func stageCounts(st frames.RunStats) schemas.StageCounts {
	return schemas.StageCounts{In: st.In, Out: st.Out, DeadLetter: st.DeadLetter, Skipped: st.Skipped}
}

func describeStats(st frames.RunStats) string {
	s := fmt.Sprintf("%d videos in, %d clips out, %d dead letters", st.In, st.Out, st.DeadLetter)
	s += kindsText(st.ErrorKinds)
	if st.Skipped > 0 {
		s += fmt.Sprintf(", %d already done", st.Skipped)
	}
	return s
}
