package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/pipelines/eval"
	"github.com/vrlaif/vrlaif/pipelines/train"
	"github.com/vrlaif/vrlaif/synth"
)

// eval warns when a PPO policy it scored was trained on prompts from the clips it evaluated, and
// only then; the PPO run's record is the union over its resumes and names source videos (the
// world's clip ids), not generate's clip hashes.
func TestEvalWarnsAboutPPOPromptsFromEvaluatedClips(t *testing.T) {
	ppo := filepath.Join(t.TempDir(), "ppo")
	adapter := filepath.Join(ppo, "checkpoint", "policy")
	models := []eval.ModelSpec{
		{Name: "sft", Backend: backend.Config{Name: "builtin", Model: "sft"}},
		{Name: "rlaif", Backend: backend.Config{Name: "builtin", Model: "sft", Adapter: adapter}}}
	heldOut := []string{synth.ClipID(1, 4)}
	train4 := []string{synth.ClipID(1, 0), synth.ClipID(1, 1), synth.ClipID(1, 2), synth.ClipID(1, 3)}

	if w, err := promptOverlaps(models, heldOut); err != nil || len(w) != 0 { // no record: nothing to check
		t.Fatalf("without a record: %v, %v", w, err)
	}
	for _, clips := range [][]string{{synth.ClipID(1, 0)}, {synth.ClipID(1, 1)}} { // a run, then a resume
		if err := train.RecordPromptVideos(ppo, []train.RLPrompt{{ClipID: "hash-a", VideoID: clips[0]}, {ClipID: "hash-b", VideoID: clips[0]}}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := train.ReadPromptVideos(ppo); err != nil || strings.Join(got, ",") != synth.ClipID(1, 0)+","+synth.ClipID(1, 1) {
		t.Fatalf("recorded %v (%v), want both runs' clips once each", got, err)
	}
	if w, err := promptOverlaps(models, heldOut); err != nil || len(w) != 0 { // training clips only: held out is clean
		t.Fatalf("training prompts, held-out eval: %v, %v", w, err)
	}
	w, err := promptOverlaps(models, train4)
	if err != nil || len(w) != 1 || !strings.Contains(w[0], "2 of the 4 clips evaluated") || !strings.Contains(w[0], "rlaif's adapter") {
		t.Fatalf("training prompts, training eval: %v, %v", w, err)
	}
	if w, err := promptOverlaps(models, train4[:1]); err != nil || len(w) != 1 || !strings.Contains(w[0], "1 of the 1 clips evaluated") {
		t.Fatalf("training prompts, one training clip: %v, %v", w, err)
	}
	if err := train.RecordPromptVideos(ppo, []train.RLPrompt{{ClipID: "hash-c", VideoID: synth.ClipID(1, 4)}}); err != nil {
		t.Fatal(err)
	}
	if w, err := promptOverlaps(models, heldOut); err != nil || len(w) != 1 || !strings.Contains(w[0], "1 of the 1 clips evaluated ("+synth.ClipID(1, 4)) {
		t.Fatalf("a held-out prompt: %v, %v", w, err)
	}
}
