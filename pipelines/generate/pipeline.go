// Package generate is the generate pipeline (Beam): input tasks → frames (FFmpeg, or a frame
// folder) → a narrative per clip from the captioner → K answers per question from the policy →
// Parquet datasets clips/, narratives/, responses/ and deadletter/ under one output folder.
package generate

import (
	"path/filepath"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/transforms/frames"
	"github.com/vrlaif/vrlaif/transforms/narrative"
	"github.com/vrlaif/vrlaif/transforms/parquetio"
	"github.com/vrlaif/vrlaif/transforms/sample"
)

func init() {
	parquetio.Register[schemas.Clip]()
	parquetio.Register[schemas.Narrative]()
	parquetio.Register[schemas.Response]()
	parquetio.Register[schemas.DeadLetter]()
}

// Config is everything the pipeline needs; it is plain data (it travels in DoFn fields).
type Config struct {
	Input     Input            `json:"input"`
	Output    string           `json:"output"`
	Frames    frames.Params    `json:"frames"`
	Narrative narrative.Params `json:"narrative"` // its Backend is the captioner
	Sample    sample.Params    `json:"sample"`    // its Backend is the policy
}

// Output folders under Config.Output.
const (
	ClipsDir      = schemas.RowClip
	NarrativesDir = schemas.RowNarrative
	ResponsesDir  = schemas.RowResponse
	DeadLetterDir = schemas.RowDeadLetter
)

// sink writes rows of T under out/name, skipping ids already there (exactly-once re-runs); with
// unique, rows that share an id are written once (two records naming the same question about
// one video, or byte-identical videos under two paths), at the cost of a shuffle of the rows.
func sink[T any](s beam.Scope, out, name string, rows beam.PCollection, groupRows int, unique bool) {
	parquetio.Write[T](s.Scope("write."+name), filepath.Join(out, name), name, rows,
		parquetio.WriteParams{IDField: "ID", SkipExisting: true, Unique: unique, RowGroupRows: groupRows})
}

// Pipeline adds the generate graph to s for tasks, with deadIn (input records that did not
// become tasks) written to deadletter/ too.
func Pipeline(s beam.Scope, cfg Config, tasks []schemas.Task, deadIn []schemas.DeadLetter) {
	s = s.Scope("generate")
	var taskCol beam.PCollection
	if len(tasks) > 0 {
		taskCol = beam.CreateList(s, tasks)
	} else {
		taskCol = beam.CreateList(s, []schemas.Task{})
	}
	taskCol = beam.Reshuffle(s, taskCol) // spread the decoding over workers
	taskClips, frameDead := frames.ExtractTasks(s, taskCol, cfg.Frames)
	owned := beam.ParDo(s, ownsClip, taskClips) // one task per video writes its clip and narrative
	narratives, narrDead := narrative.Generate(s, owned, cfg.Narrative)
	responses, respDead := sample.Responses(s, taskClips, cfg.Sample)
	clips := beam.ParDo(s, clipOf, owned)

	dead := beam.Flatten(s, frameDead, narrDead, respDead, beam.CreateList(s, append([]schemas.DeadLetter{}, deadIn...)))
	sink[schemas.Clip](s, cfg.Output, ClipsDir, clips, 16, false) // MarkSharedClips keeps these unique without a shuffle of the frames
	sink[schemas.Narrative](s, cfg.Output, NarrativesDir, narratives, 0, true)
	sink[schemas.Response](s, cfg.Output, ResponsesDir, responses, 0, true)
	sink[schemas.DeadLetter](s, cfg.Output, DeadLetterDir, dead, 0, false)
}

func clipOf(tc schemas.TaskClip) schemas.Clip { return tc.Clip }

func ownsClip(tc schemas.TaskClip, emit func(schemas.TaskClip)) {
	if !tc.Task.SharesClip {
		emit(tc)
	}
}

// MarkSharedClips sets SharesClip on every task whose video (or frames) an earlier task names:
// the seed's RL_data.json has one record per question, so many records share a video, and its
// clip and narrative are then written once, by the first.
func MarkSharedClips(tasks []schemas.Task) {
	first := map[string]bool{}
	for i := range tasks {
		key := tasks[i].VideoURI + "\x00" + strings.Join(tasks[i].Images, "\x00")
		tasks[i].SharesClip = first[key]
		first[key] = true
	}
}

func init() {
	register.Function1x1(clipOf)
	register.Function2x0(ownsClip)
	register.Emitter1[schemas.TaskClip]()
}
