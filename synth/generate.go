package synth

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
)

// Generate renders a world of p.N clips into dir: dir/videos/<clip>.mp4 and the ground truth in
// dir/truth/ (Parquet shards and truth.jsonl). Videos that already exist are kept (clips are
// deterministic), so an interrupted run resumes. progress, if set, is called once per clip.
func Generate(ctx context.Context, dir string, p Params, progress func()) ([]schemas.Truth, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "videos"), 0o755); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	truths := make([]schemas.Truth, p.N)
	jobs := make(chan int)
	errs := make(chan error, p.N)
	var wg sync.WaitGroup
	for range max(1, runtime.NumCPU()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				t := Scene(p, i)
				truths[i] = t
				if err := renderOnce(t, filepath.Join(dir, t.VideoPath)); err != nil {
					errs <- err
				}
				if progress != nil {
					progress()
				}
			}
		}()
	}
feed:
	for i := 0; i < p.N; i++ {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return truths, writeTruth(filepath.Join(dir, "truth"), truths)
}

// renderOnce renders to a temporary name and renames, so a partial video never looks complete.
func renderOnce(t schemas.Truth, path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := Render(t, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

func writeTruth(dir string, truths []schemas.Truth) error {
	if err := os.RemoveAll(dir); err != nil { // the truth is rewritten whole: it is cheap and exact
		return fmt.Errorf("synth: %w", err)
	}
	if err := dataset.WriteAll(dir, schemas.RowTruth, 0, truths...); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "truth.jsonl"))
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	bw := bufio.NewWriter(f)
	enc := json.NewEncoder(bw)
	for _, t := range truths {
		if err := enc.Encode(t); err != nil {
			f.Close()
			return fmt.Errorf("synth: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("synth: %w", err)
	}
	return f.Close()
}

// LoadTruth reads a world's ground truth from dir/truth.
func LoadTruth(dir string) ([]schemas.Truth, error) {
	return dataset.ReadAll[schemas.Truth](filepath.Join(dir, "truth"))
}
