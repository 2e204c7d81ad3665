package narrative

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/vrlaif/vrlaif/backend"
	_ "github.com/vrlaif/vrlaif/backend/all" // the backends a Config may name
	"github.com/vrlaif/vrlaif/internal/progress"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/transforms/internal/metered"
)

func init() {
	register.DoFn4x1[context.Context, schemas.TaskClip, func(schemas.Narrative), func(schemas.DeadLetter), error](&describeFn{})
	register.Emitter1[schemas.Narrative]()
	register.Emitter1[schemas.DeadLetter]()
	beam.RegisterType(reflect.TypeOf((*schemas.Narrative)(nil)).Elem())
}

// Generate describes each clip of taskClips (PCollection<schemas.TaskClip>) and returns the
// narratives and the dead letters of clips the captioner could not describe.
func Generate(s beam.Scope, taskClips beam.PCollection, p Params) (narratives, deadLetters beam.PCollection) {
	s = s.Scope("narrative.Generate")
	if p.Backend.Name == "" {
		panic("narrative.Generate: no captioner backend")
	}
	return beam.ParDo2(s, &describeFn{Params: p.WithDefaults()}, taskClips)
}

type describeFn struct {
	Params Params `json:"params"`

	b             backend.Backend
	in, out, dead beam.Counter
}

func (f *describeFn) Setup(ctx context.Context) error {
	b, err := backend.Open(ctx, f.Params.Backend)
	if err != nil {
		return fmt.Errorf("narrative: opening the captioner (%s): %w", f.Params.Backend, err)
	}
	f.b = metered.Wrap(b, Stage)
	f.in, f.out, f.dead = beam.NewCounter(Stage, "in"), beam.NewCounter(Stage, "out"), beam.NewCounter(Stage, "deadletter")
	return nil
}

func (f *describeFn) Teardown() error {
	if f.b != nil {
		return f.b.Close()
	}
	return nil
}

func (f *describeFn) ProcessElement(ctx context.Context, tc schemas.TaskClip, emit func(schemas.Narrative), emitDead func(schemas.DeadLetter)) error {
	f.in.Inc(ctx, 1)
	progress.Add(Stage, "in", 1)
	n, err := Describe(ctx, f.b, tc.Clip, tc.Task.ID, f.Params)
	if err != nil {
		if ctx.Err() != nil {
			return err // cancelled: let the runner retry the bundle
		}
		f.dead.Inc(ctx, 1)
		progress.Add(Stage, "deadletter", 1)
		emitDead(DeadLetter(Stage, tc.Clip.ID, err))
		return nil
	}
	f.out.Inc(ctx, 1)
	progress.Add(Stage, "out", 1)
	emit(n)
	return nil
}

// DeadLetter describes a failed model call; its kind (backend.Kind) says whether a later run may
// succeed.
func DeadLetter(stage, ref string, err error) schemas.DeadLetter {
	return schemas.DeadLetter{ID: schemas.DeadLetterID(stage, ref), Stage: stage, InputRef: ref, ErrorKind: backend.Kind(err), Message: err.Error(),
		CreatedMicros: time.Now().UnixMicro()}
}
