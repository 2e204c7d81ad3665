package parquetio

import (
	"context"
	"reflect"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn3x1[context.Context, []byte, func(string), error](&expandFn{})
	register.Emitter1[string]()
}

var registered sync.Map // reflect.Type → struct{}

// Register registers Write's and Read's DoFns for rows of type T with Beam. Beam Go resolves DoFn
// types by name when a pipeline is decoded on a worker, and accepts registrations only before
// beam.Init, so call it from an init function, once for each row type the program writes or
// reads: func init() { parquetio.Register[schemas.Clip]() }. Calling it again for the same T
// does nothing.
func Register[T any]() {
	if _, dup := registered.LoadOrStore(reflect.TypeFor[T](), struct{}{}); dup {
		return
	}
	register.DoFn3x1[context.Context, T, func(string), error](&writeFn[T]{})
	register.DoFn3x1[context.Context, string, func(T), error](&readFn[T]{})
	register.DoFn1x2[T, string, T](&keyByIDFn[T]{})
	register.DoFn4x1[context.Context, string, func(*T) bool, func(T), error](&oneOfFn[T]{})
	register.Iter1[T]()
	register.Emitter1[T]()
	beam.RegisterType(reflect.TypeFor[T]())
}
