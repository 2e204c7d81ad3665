package builtin_test

import (
	"context"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	_ "github.com/vrlaif/vrlaif/backend/builtin"
)

func TestConformance(t *testing.T) {
	b, err := backend.Open(context.Background(), backend.Config{Name: "builtin", Model: backendtest.Checkpoint(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	backendtest.Run(t, b)
}
