package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/internal/reviewmarks"
	"github.com/vrlaif/vrlaif/schemas"
)

// seedFormat is one seed JSON layout: its dataset folder name and its import and export.
type seedFormat struct {
	rowDir     string
	importJSON func(ctx context.Context, format, rowDir, in, out string) error
	exportJSON func(format, rowDir, in, out string) error
}

var seedFormats = map[string]seedFormat{
	"sft": {schemas.RowSFT, importSeed[schemas.SFTRow], exportSeed[schemas.SFTRow]},
	"rm":  {schemas.RowRM, importSeed[schemas.RMRow], exportSeed[schemas.RMRow]},
	"rl":  {schemas.RowRL, importSeed[schemas.RLRow], exportSeed[schemas.RLRow]},
}

func importCmd() *cobra.Command {
	var format, in, out string
	cmd := &cobra.Command{
		Use:   "import --format sft|rm|rl --input FILE --output DIR",
		Short: "Convert a seed JSON dataset (SFT, reward-model preferences, RL prompts) to Parquet",
		Long: `import streams one of the original VLM-RLAIF JSON files into Parquet:

  sft  SFT_short.json, SFT_long.json, PPO_init.json: id, src_data, conversations, images | image
  rm   RM_*.json: conversations ([[...]] accepted), output_1, output_2, preference 1|2, images
  rl   RL_data.json: uid, conversations, images (caption_type, length_bonus kept)

Writes DIR/<format>/part-*.parquet, DIR/deadletter/ (one row per record left out, with its index
and reason) and DIR/summary.json. Left out are malformed records (bad_record), a record that
repeats an earlier one exactly (duplicate_record: a reward pair twice could fall on both sides of
the held-out split), and a record whose id an earlier one gave to other frames (id_conflict:
training finds frames by id). Records sharing an id and frames (several conversations about one
video) are kept. A syntax error in the JSON array itself stops the import,
as does Ctrl-C; either way nothing is written (rows are staged and moved into place at the end).`,
		Example: "  vrlaif import --format rm --input RM_13b_v1_dataset_39k.json --output out/seed",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in == "" || out == "" {
				return fail(cmd, "--input and --output are required")
			}
			if f, ok := seedFormats[format]; ok {
				return f.importJSON(cmd.Context(), format, f.rowDir, in, out)
			}
			return fail(cmd, "--format must be sft, rm or rl, got %q", format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "seed layout: sft, rm or rl (required)")
	cmd.Flags().StringVarP(&in, "input", "i", "", "seed JSON file (required)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "output folder (required)")
	return cmd
}

func importSeed[T schemas.SeedRecord](ctx context.Context, format, rowName, in, out string) error {
	lock, err := lockOutput(out, "import")
	if err != nil {
		return err
	}
	defer lock.Release()
	start := time.Now()
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	rowDir := filepath.Join(out, rowName)
	if shards, _ := dataset.Shards(rowDir); len(shards) > 0 {
		return fmt.Errorf("import: %s already holds a dataset; choose another --output", rowDir)
	}
	// Rows and dead letters are staged and moved into place only when the whole file was read: a
	// syntax error at record 300 000 (or Ctrl-C) used to leave 300 000 rows behind, which the
	// re-run then refused as "already holds a dataset".
	stagedRows, stagedDead := filepath.Join(out, "."+rowName+".importing"), filepath.Join(out, ".deadletter.importing")
	for _, d := range []string{stagedRows, stagedDead} {
		if err := os.RemoveAll(d); err != nil { // a killed import's
			return fmt.Errorf("import: %w", err)
		}
	}
	defer os.RemoveAll(stagedRows)
	defer os.RemoveAll(stagedDead)
	rows, err := dataset.NewWriter[T](stagedRows, rowName, 0)
	if err != nil {
		return err
	}
	dead, err := dataset.NewWriter[schemas.DeadLetter](stagedDead, schemas.RowDeadLetter, 0)
	if err != nil {
		return err
	}
	var counts schemas.StageCounts
	kinds := map[string]int{}
	dups := newSeedDuplicates()
	err = schemas.DecodeSeed(f, func(i int, r T, rerr error) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		counts.In++
		var kind, msg string
		if rerr != nil {
			kind, msg = "bad_record", rerr.Error()
		} else {
			kind, msg = dups.check(i, r)
		}
		if kind != "" {
			counts.DeadLetter++
			kinds[kind]++
			return dead.Write(schemas.DeadLetter{ID: schemas.DeadLetterID("import", fmt.Sprintf("%s#%d", in, i)), Stage: "import", InputRef: fmt.Sprintf("%s#%d", in, i),
				ErrorKind: kind, Message: msg, CreatedMicros: time.Now().UnixMicro()})
		}
		counts.Out++
		return rows.Write(r)
	})
	if err != nil {
		rows.Abort()
		dead.Abort()
		return fmt.Errorf("import: %s: %w (nothing was written)", in, err)
	}
	if err := errors.Join(rows.Close(), dead.Close()); err != nil {
		return err
	}
	if err := os.Remove(rowDir); err != nil && !errors.Is(err, os.ErrNotExist) { // an empty one may be there
		return fmt.Errorf("import: %w", err)
	}
	if err := os.Rename(stagedRows, rowDir); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	// Dead letters join any earlier import's in DIR/deadletter/ (a small copy).
	staged, err := dataset.ReadAll[schemas.DeadLetter](stagedDead)
	if err != nil {
		return err
	}
	if err := dataset.WriteAll(filepath.Join(out, schemas.RowDeadLetter), schemas.RowDeadLetter, 0, staged...); err != nil {
		return err
	}
	report("import: %d records, %d rows, %d dead letters%s → %s", counts.In, counts.Out, counts.DeadLetter, kindsText(kinds), rowDir)
	return writeSummary(out, schemas.Summary{
		Command: "import", Stages: map[string]schemas.StageCounts{"import": counts},
		ErrorKinds:  map[string]map[string]int{"import": kinds},
		WallSeconds: time.Since(start).Seconds(), Settings: map[string]any{"format": format, "input": in},
		Outputs: map[string]string{format: rowDir},
	})
}

func exportCmd() *cobra.Command {
	var format, in, out, marked string
	cmd := &cobra.Command{
		Use:   "export --format sft|rm|rl|frames --input DIR --output PATH",
		Short: "Write Parquet back as seed JSON, or clips as the seed's frame folders",
		Long: `export is the inverse of import:

  sft|rm|rl  DIR (or DIR/<format>) of Parquet rows → one seed JSON array at PATH
  rm         also from 'vrlaif feedback' output (DIR/preferences): its labeled pairs, in the
             seed's RM layout (pairs whose two judging orders disagree are left out); pairs a
             reviewer marked wrong on the web page (DIR/review_marks) are left out too, unless
             --marked include (keep them) or --marked only (export just those)
  frames     DIR/clips (or the clips folder itself) → PATH/<video>/image_01.jpg … image_NN.jpg,
             the seed's frame-folder layout (names zero-padded, so a lexicographic listing is in
             time order); <video> is the source file's name without extension.`,
		Example: "  vrlaif export --format frames --input out/frames --output out/seed-frames",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in == "" || out == "" {
				return fail(cmd, "--input and --output are required")
			}
			if marked != markedExclude && marked != markedInclude && marked != markedOnly {
				return fail(cmd, "--marked must be exclude, include or only, got %q", marked)
			}
			if format == "rm" && hasShards(dataset.Folder(in, schemas.RowPreference)) && !hasShards(dataset.Folder(in, schemas.RowRM)) {
				return exportPreferences(dataset.Folder(in, schemas.RowPreference), out, marked)
			}
			if f, ok := seedFormats[format]; ok {
				return f.exportJSON(format, f.rowDir, in, out)
			}
			if format == "frames" {
				return exportFrames(dataset.Folder(in, schemas.RowClip), out)
			}
			return fail(cmd, "--format must be sft, rm, rl or frames, got %q", format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "sft, rm, rl or frames (required)")
	cmd.Flags().StringVarP(&in, "input", "i", "", "dataset folder (required)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "output JSON file, or folder for frames (required)")
	cmd.Flags().StringVar(&marked, "marked", markedExclude, "rm from feedback output: pairs a reviewer marked wrong — exclude, include, or only")
	return cmd
}

// What export does with pairs a reviewer marked wrong.
const (
	markedExclude = "exclude"
	markedInclude = "include"
	markedOnly    = "only"
)

func exportSeed[T schemas.SeedRecord](format, rowName, in, out string) error {
	dir := dataset.Folder(in, rowName)
	if shards, err := dataset.Shards(dir); err != nil || len(shards) == 0 {
		return fmt.Errorf("export: no Parquet shards in %s (%v)", dir, err)
	}
	n := 0
	err := writeSeedJSON(out, func(enc *schemas.SeedEncoder) error {
		return dataset.Read(dir, func(r T) error { n++; return enc.Encode(r) })
	})
	if err != nil {
		return err
	}
	report("export: %d %s records → %s", n, format, out)
	return nil
}

// writeSeedJSON writes a seed JSON array to out through a temporary file, renamed when complete.
func writeSeedJSON(out string, fill func(*schemas.SeedEncoder) error) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	enc := schemas.NewSeedEncoder(f)
	err = fill(enc)
	if err == nil {
		err = enc.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out)
}

func hasShards(dir string) bool {
	shards, err := dataset.Shards(dir)
	return err == nil && len(shards) > 0
}

// exportPreferences writes the labeled rows of a preferences dataset as seed RM JSON, with the
// pairs a reviewer marked wrong excluded, included, or alone (marked).
func exportPreferences(dir, out, marked string) error {
	marks, err := reviewmarks.Load(filepath.Dir(dir))
	if err != nil {
		return err
	}
	n, unlabeled, droppedMarked, droppedUnmarked := 0, 0, 0, 0
	err = writeSeedJSON(out, func(enc *schemas.SeedEncoder) error {
		return dataset.Read(dir, func(p schemas.Preference) error {
			if !p.Labeled {
				unlabeled++
				return nil
			}
			_, isMarked := marks[p.ID]
			switch {
			case isMarked && marked == markedExclude:
				droppedMarked++
				return nil
			case !isMarked && marked == markedOnly:
				droppedUnmarked++
				return nil
			}
			n++
			return enc.Encode(p.RM())
		})
	})
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("export: %d labeled preferences → %s (%d without a label left out", n, out, unlabeled)
	switch {
	case droppedMarked > 0:
		msg += fmt.Sprintf("; %d marked wrong by a reviewer left out, --marked include keeps them", droppedMarked)
	case marked == markedOnly:
		msg += fmt.Sprintf("; only pairs marked wrong: %d others left out", droppedUnmarked)
	case len(marks) > 0:
		msg += fmt.Sprintf("; %d review marks, kept with --marked %s", len(marks), marked)
	}
	report("%s)", msg)
	return nil
}
