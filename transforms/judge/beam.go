package judge

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
	"github.com/vrlaif/vrlaif/transforms/narrative"
)

func init() {
	progress.CountsFrom(PairsStage, "answers") // pairs made from the answers grouped by clip
	register.Function1x2(clipKey)
	register.Function1x2(narrativeKey)
	register.Function1x2(responseKey)
	register.DoFn7x1[context.Context, string, func(*schemas.Clip) bool, func(*schemas.Narrative) bool, func(*schemas.Response) bool, func(Pair), func(schemas.DeadLetter), error](&pairFn{})
	register.DoFn4x1[context.Context, Pair, func(schemas.Preference), func(schemas.DeadLetter), error](&judgeFn{})
	register.Iter1[schemas.Clip]()
	register.Iter1[schemas.Narrative]()
	register.Iter1[schemas.Response]()
	register.Emitter1[Pair]()
	register.Emitter1[schemas.Preference]()
	register.Emitter1[schemas.DeadLetter]()
	beam.RegisterType(reflect.TypeOf((*Pair)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*schemas.Preference)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*schemas.Clip)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*schemas.Narrative)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*schemas.Response)(nil)).Elem())
}

func clipKey(c schemas.Clip) (string, schemas.Clip)                { return c.ID, c }
func narrativeKey(n schemas.Narrative) (string, schemas.Narrative) { return n.ClipID, n }
func responseKey(r schemas.Response) (string, schemas.Response)    { return r.ClipID, r }

// Pairs joins clips, narratives and responses on the clip id and forms the pairs to judge
// (PCollection<Pair>). Responses whose clip has no frames, or (with a context template) no
// narrative, become dead letters, one per response.
func Pairs(s beam.Scope, clips, narratives, responses beam.PCollection, p Params) (pairs, deadLetters beam.PCollection) {
	s = s.Scope("judge.Pairs")
	p = p.WithDefaults()
	grouped := beam.CoGroupByKey(s,
		beam.ParDo(s, clipKey, clips), beam.ParDo(s, narrativeKey, narratives), beam.ParDo(s, responseKey, responses))
	return beam.ParDo2(s, &pairFn{NeedContext: p.WithContext()}, grouped)
}

type pairFn struct {
	NeedContext bool `json:"need_context"`

	in, out, identical, dead beam.Counter
}

func (f *pairFn) Setup() {
	f.in, f.out = beam.NewCounter(PairsStage, "in"), beam.NewCounter(PairsStage, "out")
	f.identical, f.dead = beam.NewCounter(PairsStage, "identical"), beam.NewCounter(PairsStage, "deadletter")
}

func (f *pairFn) ProcessElement(ctx context.Context, clipID string, clips func(*schemas.Clip) bool,
	narrs func(*schemas.Narrative) bool, resps func(*schemas.Response) bool, emit func(Pair), emitDead func(schemas.DeadLetter)) error {
	var clip schemas.Clip
	haveClip := clips(&clip)
	var n schemas.Narrative
	haveNarr := narrs(&n)
	var rs []schemas.Response
	var r schemas.Response
	for resps(&r) {
		rs = append(rs, r)
	}
	f.in.Inc(ctx, int64(len(rs)))
	progress.Add(PairsStage, "in", int64(len(rs)))
	if len(rs) == 0 {
		return nil
	}
	if !haveClip || (f.NeedContext && !haveNarr) {
		kind, msg := "no_narrative", "the clip has no narrative (its narrative stage failed?); the judge needs one as context"
		if !haveClip {
			kind, msg = "no_clip", "no clip row with this id in the input; its frames are needed to judge"
		}
		f.dead.Inc(ctx, int64(len(rs)))
		progress.Add(PairsStage, "deadletter", int64(len(rs)))
		for _, r := range rs {
			emitDead(schemas.DeadLetter{ID: schemas.DeadLetterID(PairsStage, r.ID), Stage: PairsStage, InputRef: r.ID, ErrorKind: kind, Message: msg + " (clip " + clipID + ")",
				CreatedMicros: time.Now().UnixMicro()})
		}
		return nil
	}
	pairs, identical := MakePairs(clip, n.Text, rs)
	f.identical.Inc(ctx, int64(identical))
	f.out.Inc(ctx, int64(len(pairs)))
	progress.Add(PairsStage, "out", int64(len(pairs)))
	progress.Add(PairsStage, "identical", int64(identical))
	for _, p := range pairs {
		emit(p)
	}
	return nil
}

// Label judges every pair (PCollection<Pair>) in both orders and returns the preference rows
// (labeled or not, with the reason) and dead letters for pairs the judge could not be asked.
func Label(s beam.Scope, pairs beam.PCollection, p Params) (preferences, deadLetters beam.PCollection) {
	s = s.Scope("judge.Label")
	if p.Backend.Name == "" {
		panic("judge.Label: no judge backend")
	}
	return beam.ParDo2(s, &judgeFn{Params: p.WithDefaults()}, pairs)
}

type judgeFn struct {
	Params Params `json:"params"`

	b                                 backend.Backend
	in, out, dead, labeled, shortened beam.Counter
}

func (f *judgeFn) Setup(ctx context.Context) error {
	b, err := backend.Open(ctx, f.Params.Backend)
	if err != nil {
		return fmt.Errorf("judge: opening the judge (%s): %w", f.Params.Backend, err)
	}
	f.b = metered.Wrap(b, Stage)
	f.in, f.out, f.dead = beam.NewCounter(Stage, "in"), beam.NewCounter(Stage, "out"), beam.NewCounter(Stage, "deadletter")
	f.labeled, f.shortened = beam.NewCounter(Stage, "labeled"), beam.NewCounter(Stage, "context_shortened")
	return nil
}

func (f *judgeFn) Teardown() error {
	if f.b != nil {
		return f.b.Close()
	}
	return nil
}

func (f *judgeFn) ProcessElement(ctx context.Context, pr Pair, emit func(schemas.Preference), emitDead func(schemas.DeadLetter)) error {
	f.in.Inc(ctx, 1)
	progress.Add(Stage, "in", 1)
	pref, err := Judge(ctx, f.b, pr, f.Params)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		f.dead.Inc(ctx, 1)
		progress.Add(Stage, "deadletter", 1)
		d := narrative.DeadLetter(Stage, pr.R1.ID+"|"+pr.R2.ID, err)
		d.CreatedMicros = time.Now().UnixMicro()
		emitDead(d)
		return nil
	}
	f.out.Inc(ctx, 1)
	progress.Add(Stage, "out", 1)
	if pref.Labeled {
		f.labeled.Inc(ctx, 1)
	}
	if pref.ContextDropped > 0 {
		f.shortened.Inc(ctx, 1)
		progress.Add(Stage, "context_shortened", 1)
	}
	emit(pref)
	return nil
}
