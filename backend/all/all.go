// Package all links every backend and the call cache into a binary: import it for its side
// effects wherever a backend.Config is opened (DoFns open theirs in Setup, on the worker).
package all

import (
	_ "github.com/vrlaif/vrlaif/backend/builtin" // "builtin"
	_ "github.com/vrlaif/vrlaif/backend/cache"   // cache_dir
	_ "github.com/vrlaif/vrlaif/backend/openai"  // "openai"
)
