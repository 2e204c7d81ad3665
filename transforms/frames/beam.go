package frames

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/vrlaif/vrlaif/schemas"
)

func init() {
	register.DoFn4x1[context.Context, string, func(schemas.Clip), func(schemas.DeadLetter), error](&extractFn{})
	register.Emitter1[schemas.Clip]()
	register.Emitter1[schemas.DeadLetter]()
	beam.RegisterType(reflect.TypeOf((*schemas.Clip)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*schemas.DeadLetter)(nil)).Elem())
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
	emitDead(schemas.DeadLetter{Stage: Stage, InputRef: uri, ErrorKind: Kind(err), Message: err.Error(),
		Detail: detail, CreatedMicros: time.Now().UnixMicro()})
	return nil
}
