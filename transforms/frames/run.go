package frames

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
)

// Stage is the stage name frame extraction uses in dead letters and summaries.
const Stage = "frames"

// RunOptions control a batch run.
type RunOptions struct {
	Workers     int                         // files decoded at once; 0 means one per CPU
	ShardRows   int                         // clips per Parquet shard; 0 means 256
	RetryFailed bool                        // re-attempt inputs that already have a dead letter
	Progress    func(uri string, err error) // called after each input, from one goroutine
	// BadInputs are the input list's own dead letters (ListInputs: manifest lines that name no
	// video): counted as inputs and written with the rest, once (a re-run does not repeat them).
	BadInputs []schemas.DeadLetter
}

// RunStats count what a batch run did.
type RunStats struct {
	In, Out, DeadLetter, Skipped int
	ErrorKinds                   map[string]int
	DecodedFrames, Seeks         int64
	SampledFrames                int64
}

// Run extracts frames from every input into outDir/clips and records every failure in
// outDir/deadletter. Inputs already in outDir with the same sampling settings are skipped, so an
// interrupted run resumes where it stopped. A bad file never stops the run; only I/O errors on the
// output (or a cancelled ctx) do.
func Run(ctx context.Context, inputs []string, outDir string, p Params, o RunOptions) (RunStats, error) {
	st := RunStats{In: len(inputs) + len(o.BadInputs), ErrorKinds: map[string]int{}}
	if err := p.Validate(); err != nil {
		return st, err
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.ShardRows <= 0 {
		o.ShardRows = 256
	}
	clipsDir, deadDir := filepath.Join(outDir, schemas.RowClip), filepath.Join(outDir, schemas.RowDeadLetter)
	done, failed, err := alreadyDone(clipsDir, deadDir, p.Spec(), o.RetryFailed)
	if err != nil {
		return st, err
	}
	// 16 clips per row group: about 8 MB at 224 px (50 JPEGs of ~10 KB each) held in memory.
	clips, err := dataset.NewWriter[schemas.Clip](clipsDir, schemas.RowClip, o.ShardRows, 16)
	if err != nil {
		return st, err
	}
	dead, err := dataset.NewWriter[schemas.DeadLetter](deadDir, schemas.RowDeadLetter, 0)
	if err != nil {
		return st, err
	}
	if err := writeBadInputs(dead, o.BadInputs, failed, &st); err != nil {
		dead.Abort()
		clips.Abort()
		return st, err
	}

	type result struct {
		uri  string
		clip schemas.Clip
		err  error
	}
	jobs, results := make(chan string), make(chan result)
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for uri := range jobs {
				clip, err := ExtractFile(ctx, uri, p)
				results <- result{uri, clip, err}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, uri := range inputs {
			if done[uri] {
				continue
			}
			select {
			case jobs <- uri:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	for _, uri := range inputs {
		if done[uri] {
			st.Skipped++
		}
	}

	var werr error
	for r := range results {
		if werr != nil {
			continue // drain the workers
		}
		switch {
		case r.err == nil:
			st.Out++
			st.DecodedFrames += r.clip.DecodedFrames
			st.Seeks += int64(r.clip.Seeks)
			st.SampledFrames += int64(len(r.clip.Frames))
			werr = clips.Write(r.clip)
		case errors.Is(r.err, errCanceled) || ctx.Err() != nil:
			// not the file's fault: no dead letter, the next run retries it
		default:
			kind := Kind(r.err)
			st.DeadLetter++
			st.ErrorKinds[kind]++
			var detail string
			var fe *Error
			if errors.As(r.err, &fe) {
				detail = fe.Log
			}
			werr = dead.Write(schemas.DeadLetter{ID: schemas.DeadLetterID(Stage, r.uri), Stage: Stage, InputRef: r.uri, ErrorKind: kind,
				Message: r.err.Error(), Detail: detail, CreatedMicros: time.Now().UnixMicro()})
		}
		if o.Progress != nil {
			o.Progress(r.uri, r.err)
		}
	}
	if werr != nil {
		clips.Abort()
		dead.Abort()
		return st, werr
	}
	if err := errors.Join(clips.Close(), dead.Close()); err != nil {
		return st, err
	}
	if err := ctx.Err(); err != nil {
		return st, fmt.Errorf("frames: run interrupted after %d of %d inputs (rerun to resume): %w",
			st.Out+st.DeadLetter, st.In-st.Skipped, err)
	}
	return st, nil
}

// doneRow is the projection of a clip row needed to resume.
type doneRow struct {
	SourceURI string               `parquet:"source_uri"`
	Sampling  schemas.SamplingSpec `parquet:"sampling"`
}

type deadRow struct {
	Stage    string `parquet:"stage"`
	InputRef string `parquet:"input_ref"`
}

// alreadyDone returns the inputs an earlier run finished with the same sampling settings.
// writeBadInputs writes the input list's dead letters that an earlier run has not (failed holds
// the refs of the dead letters already there), counting each (one written before counts as
// skipped).
func writeBadInputs(w *dataset.Writer[schemas.DeadLetter], bad []schemas.DeadLetter, failed map[string]bool, st *RunStats) error {
	for _, d := range bad {
		if failed[d.InputRef] {
			st.Skipped++
			continue
		}
		st.DeadLetter++
		st.ErrorKinds[d.ErrorKind]++
		if err := w.Write(d); err != nil {
			return err
		}
	}
	return nil
}

// alreadyDone reads the earlier output: the inputs to skip (those with a clip of these settings,
// and unless retryFailed those with a dead letter) and the refs of this stage's dead letters.
func alreadyDone(clipsDir, deadDir string, spec schemas.SamplingSpec, retryFailed bool) (done, failed map[string]bool, err error) {
	done, failed = map[string]bool{}, map[string]bool{}
	err = dataset.Read(clipsDir, func(r doneRow) error {
		if r.Sampling == spec {
			done[r.SourceURI] = true
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("frames: reading earlier output to resume: %w", err)
	}
	err = dataset.Read(deadDir, func(r deadRow) error {
		if r.Stage == Stage {
			failed[r.InputRef] = true
			done[r.InputRef] = done[r.InputRef] || !retryFailed
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("frames: reading earlier dead letters: %w", err)
	}
	return done, failed, nil
}
