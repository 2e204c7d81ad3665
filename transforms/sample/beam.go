package sample

import (
	"context"
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/vrlaif/vrlaif/backend"
	_ "github.com/vrlaif/vrlaif/backend/all" // the backends a Config may name
	"github.com/vrlaif/vrlaif/internal/progress"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/transforms/internal/metered"
	"github.com/vrlaif/vrlaif/transforms/narrative"
)

func init() {
	progress.CountsFrom(Stage, "questions") // K responses to each question
	register.DoFn4x1[context.Context, schemas.TaskClip, func(schemas.Response), func(schemas.DeadLetter), error](&answerFn{})
	register.Emitter1[schemas.Response]()
	register.Emitter1[schemas.DeadLetter]()
	beam.RegisterType(reflect.TypeOf((*schemas.Response)(nil)).Elem())
}

// Responses samples K answers (counters: in = questions, out = responses) to every question of every task clip (PCollection<schemas.TaskClip>).
// A question the policy cannot answer becomes a dead letter (InputRef "clip/question"); the other
// questions of the clip go on.
func Responses(s beam.Scope, taskClips beam.PCollection, p Params) (responses, deadLetters beam.PCollection) {
	s = s.Scope("sample.Responses")
	if p.Backend.Name == "" {
		panic("sample.Responses: no policy backend")
	}
	return beam.ParDo2(s, &answerFn{Params: p.WithDefaults()}, taskClips)
}

type answerFn struct {
	Params Params `json:"params"`

	b                   backend.Backend
	in, out, dead, toks beam.Counter
}

func (f *answerFn) Setup(ctx context.Context) error {
	b, err := backend.Open(ctx, f.Params.Backend)
	if err != nil {
		return fmt.Errorf("sample: opening the policy (%s): %w", f.Params.Backend, err)
	}
	f.b = metered.Wrap(b, Stage)
	f.in, f.out, f.dead = beam.NewCounter(Stage, "in"), beam.NewCounter(Stage, "out"), beam.NewCounter(Stage, "deadletter")
	return nil
}

func (f *answerFn) Teardown() error {
	if f.b != nil {
		return f.b.Close()
	}
	return nil
}

func (f *answerFn) ProcessElement(ctx context.Context, tc schemas.TaskClip, emit func(schemas.Response), emitDead func(schemas.DeadLetter)) error {
	for _, q := range tc.Task.Questions {
		f.in.Inc(ctx, 1)
		progress.Add(Stage, "in", 1)
		rs, err := Answers(ctx, f.b, tc, q, f.Params)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			f.dead.Inc(ctx, 1)
			progress.Add(Stage, "deadletter", 1)
			emitDead(narrative.DeadLetter(Stage, tc.Clip.ID+"/"+q.ID, err))
			continue
		}
		f.out.Inc(ctx, int64(len(rs)))
		progress.Add(Stage, "out", int64(len(rs)))
		for _, r := range rs {
			emit(r)
		}
	}
	return nil
}
