package frames

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/vrlaif/vrlaif/internal/progress"
	"github.com/vrlaif/vrlaif/schemas"
)

func init() {
	register.DoFn4x1[context.Context, string, func(schemas.Clip), func(schemas.DeadLetter), error](&extractFn{})
	register.Emitter1[schemas.Clip]()
	register.Emitter1[schemas.DeadLetter]()
	beam.RegisterType(reflect.TypeOf((*schemas.Clip)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*schemas.DeadLetter)(nil)).Elem())
	register.DoFn4x1[context.Context, schemas.Task, func(schemas.TaskClip), func(schemas.DeadLetter), error](&extractTaskFn{})
	register.Emitter1[schemas.TaskClip]()
	beam.RegisterType(reflect.TypeOf((*schemas.Task)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*schemas.TaskClip)(nil)).Elem())
}

// ExtractTasks is Extract for generate's input records (PCollection<schemas.Task>): each task's
// video is decoded, or its frame folder read, into a PCollection<schemas.TaskClip>; failures
// become dead letters whose InputRef is the task id.
func ExtractTasks(s beam.Scope, tasks beam.PCollection, p Params) (taskClips, deadLetters beam.PCollection) {
	s = s.Scope("frames.ExtractTasks")
	if err := p.Validate(); err != nil {
		panic(fmt.Errorf("frames.ExtractTasks: %w", err))
	}
	return beam.ParDo2(s, &extractTaskFn{Params: p}, tasks)
}

type extractTaskFn struct {
	Params Params `json:"params"`

	in, clips, dead beam.Counter
}

func (f *extractTaskFn) Setup() {
	f.in = beam.NewCounter(Stage, "in")
	f.clips = beam.NewCounter(Stage, "out")
	f.dead = beam.NewCounter(Stage, "deadletter")
}

func (f *extractTaskFn) ProcessElement(ctx context.Context, t schemas.Task, emit func(schemas.TaskClip), emitDead func(schemas.DeadLetter)) error {
	f.in.Inc(ctx, 1)
	progress.Add(Stage, "in", 1)
	clip, err := ExtractTask(ctx, t, f.Params)
	if err == nil {
		f.clips.Inc(ctx, 1)
		progress.Add(Stage, "out", 1)
		emit(schemas.TaskClip{Task: t, Clip: clip})
		return nil
	}
	if errors.Is(err, errCanceled) {
		return err
	}
	f.dead.Inc(ctx, 1)
	progress.Add(Stage, "deadletter", 1)
	emitDead(DeadLetter(t.ID, err))
	return nil
}

// DeadLetter describes a failed extraction of input ref.
func DeadLetter(ref string, err error) schemas.DeadLetter {
	var detail string
	var fe *Error
	if errors.As(err, &fe) {
		detail = fe.Log
	}
	return schemas.DeadLetter{ID: schemas.DeadLetterID(Stage, ref), Stage: Stage, InputRef: ref, ErrorKind: Kind(err), Message: err.Error(),
		Detail: detail, CreatedMicros: time.Now().UnixMicro()}
}

// Extract is the Beam composite: it samples frames from each video URI in uris
// (PCollection<string>) and returns the clips (PCollection<schemas.Clip>) and one dead letter per
// video that could not be processed (PCollection<schemas.DeadLetter>). It panics at construction
// if p is invalid.
func Extract(s beam.Scope, uris beam.PCollection, p Params) (clips, deadLetters beam.PCollection) {
	s = s.Scope("frames.Extract")
	if err := p.Validate(); err != nil {
		panic(fmt.Errorf("frames.Extract: %w", err))
	}
	return beam.ParDo2(s, &extractFn{Params: p}, uris)
}

// extractFn runs ExtractFile on one URI. Bad input goes to the dead-letter output; only a
// cancelled context fails the bundle (so the runner retries it).
type extractFn struct {
	Params Params `json:"params"`

	clips, dead beam.Counter
}

func (f *extractFn) Setup() {
	f.clips = beam.NewCounter("frames", "clips")
	f.dead = beam.NewCounter("frames", "deadletters")
}

func (f *extractFn) ProcessElement(ctx context.Context, uri string, emitClip func(schemas.Clip), emitDead func(schemas.DeadLetter)) error {
	clip, err := ExtractFile(ctx, uri, f.Params)
	if err == nil {
		f.clips.Inc(ctx, 1)
		emitClip(clip)
		return nil
	}
	if errors.Is(err, errCanceled) {
		return err
	}
	f.dead.Inc(ctx, 1)
	var detail string
	var fe *Error
	if errors.As(err, &fe) {
		detail = fe.Log
	}
	emitDead(schemas.DeadLetter{ID: schemas.DeadLetterID(Stage, uri), Stage: Stage, InputRef: uri, ErrorKind: Kind(err), Message: err.Error(),
		Detail: detail, CreatedMicros: time.Now().UnixMicro()})
	return nil
}
