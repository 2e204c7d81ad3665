// Command vrlaif is the one binary of the vrlaif data engine: it renders the synthetic video
// world, extracts frames, converts the seed's JSON datasets, runs the generate and feedback
// pipelines, trains (SFT, reward model, PPO with its actors), evaluates, serves a model over an
// OpenAI-compatible API with a web page, and runs the whole loop as one demo.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/spf13/cobra"
)

func main() {
	// A Beam runner re-executes this binary as a worker (--worker …); Beam reads those flags
	// through the flag package, and beam.Init runs the worker harness and exits in that mode.
	if isBeamWorker(os.Args[1:]) {
		flag.Parse()
	}
	beam.Init()
	quietBeam()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := rootCmd().ExecuteContext(ctx)
	interrupted := ctx.Err() != nil // a signal came; stop() below cancels ctx too
	stop()
	if err != nil {
		// Only a signal is an interruption: a command that cancels its own work after a
		// failure (train ppo when an actor fails) returns that failure, not "interrupted".
		if interrupted {
			log.Fatalf("vrlaif: interrupted: %v", err)
		}
		log.Fatalf("vrlaif: %v", err) // the only exit
	}
}

// quietBeam keeps Beam's and Prism's per-job INFO lines (about a dozen per pipeline) off the
// terminal; VRLAIF_LOG=info (or debug) shows them.
func quietBeam() {
	level, beamLevel := slog.LevelWarn, beamlog.SevWarn
	switch strings.ToLower(os.Getenv("VRLAIF_LOG")) {
	case "info":
		level, beamLevel = slog.LevelInfo, beamlog.SevInfo
	case "debug":
		level, beamLevel = slog.LevelDebug, beamlog.SevDebug
	}
	// Beam's own log package (the in-process worker harness: "stopping worker", "control response
	// channel closed") writes every severity to the standard logger unless given a cut-off.
	beamlog.SetLogger(&beamlog.Standard{Level: beamLevel})
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	// SetDefault also sends the log package through slog at INFO, which the level above would
	// swallow (our own fatal errors included): give the log package its own output back.
	log.SetOutput(os.Stderr)
}

func isBeamWorker(args []string) bool {
	for _, a := range args {
		if a == "--worker" || strings.HasPrefix(a, "--worker=") || a == "-worker" {
			return true
		}
	}
	return false
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "vrlaif",
		Short: "Align video language models with reinforcement learning from AI feedback",
		Long: `vrlaif turns a pile of videos into preference data and a better video language model,
after VLM-RLAIF (ACL 2024): an SFT model answers each question twice, the same model judges the
answers with a detailed narrative of the video as context, a reward model learns the preferences,
and PPO improves the policy against it.

Every command that writes a dataset writes Parquet shards (part-*.parquet) and a summary.json
with per-stage counts of inputs, outputs and dead letters. Bad input never stops a run: it
becomes a dead-letter row with a clear reason.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(synthCmd(), framesCmd(), generateCmd(), feedbackCmd(), importCmd(), exportCmd(), trainCmd(), rolloutCmd(), serveCmd(), evalCmd(), demoCmd())
	return root
}

// fail wraps a usage error so that the message names the command.
func fail(cmd *cobra.Command, format string, args ...any) error {
	return fmt.Errorf("%s: %s (see --help)", cmd.CommandPath(), fmt.Sprintf(format, args...))
}
