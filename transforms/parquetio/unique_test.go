package parquetio

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
)

// Rows that share an id are written once with Unique, whichever order they come in, and the
// dropped copies are counted; without Unique both copies are written.
func TestUniqueWritesOneRowPerID(t *testing.T) {
	var in []any
	for i := range 6 {
		c := clip(i % 3) // ids 0, 1, 2 twice each
		c.CreatedMicros = int64(100 + i)
		in = append(in, c)
	}
	write := func(rows []any, unique bool) ([]schemas.Clip, beam.PipelineResult) {
		dir := t.TempDir()
		pipe, s := beam.NewPipelineWithRoot()
		Write[schemas.Clip](s, dir, schemas.RowClip, beam.Reshuffle(s, beam.Create(s, rows...)),
			WriteParams{IDField: "id", SkipExisting: true, Unique: unique})
		pr := ptest.RunAndValidate(t, pipe)
		got, err := dataset.ReadAll[schemas.Clip](dir)
		if err != nil {
			t.Fatal(err)
		}
		return got, pr
	}
	got, pr := write(in, true)
	ids := map[string]int64{}
	for _, c := range got {
		if _, dup := ids[c.ID]; dup {
			t.Errorf("id %s written twice", c.ID)
		}
		ids[c.ID] = c.CreatedMicros
	}
	if len(got) != 3 || counter(pr, schemas.RowClip, "duplicates") != 3 {
		t.Errorf("%d rows, %d duplicates counted; want 3 and 3", len(got), counter(pr, schemas.RowClip, "duplicates"))
	}
	reversed := make([]any, len(in))
	for i := range in {
		reversed[i] = in[len(in)-1-i]
	}
	again, _ := write(reversed, true)
	for _, c := range again {
		if ids[c.ID] != c.CreatedMicros {
			t.Errorf("id %s: kept the copy made at %d in one order, %d in the other", c.ID, ids[c.ID], c.CreatedMicros)
		}
	}
	if all, _ := write(in, false); len(all) != 6 {
		t.Errorf("without Unique: %d rows, want all 6", len(all))
	}
}
