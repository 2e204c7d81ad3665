package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/model/tokenizer"
	"github.com/vrlaif/vrlaif/prompts"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/synth"
)

func scenes(n int) []schemas.Truth {
	p := synth.DefaultParams()
	out := make([]schemas.Truth, n)
	for i := range out {
		out[i] = synth.Scene(p, i)
	}
	return out
}

func TestWorldExamplesCoverEverySkill(t *testing.T) {
	ex := WorldExamples(scenes(10), rand.New(rand.NewPCG(1, 1)))
	kinds := map[string]int{}
	letters := map[string]int{}
	for _, e := range ex {
		kinds[e.Kind]++
		if e.Kind == "judge" {
			letters[e.Gold]++
			q := e.Conv[0].Value
			if !strings.Contains(q, "Clip 1: ") || !strings.Contains(q, "Response (A): ") || !strings.Contains(q, "Response (B): ") {
				t.Fatalf("judge prompt lacks its parts: %q", q)
			}
		}
		// a context question is the likelihood judge's prompt, answered with the reference answer
		if e.Kind == "context_qa" {
			if want := "<video>\n" + prompts.MustRender(prompts.JudgeLikelihood, prompts.Fields{Context: e.Context, Question: e.Question}); e.Context == "" || e.Conv[0].Value != want {
				t.Fatalf("context question %q, want %q", e.Conv[0].Value, want)
			}
		}
		// a plain short-answer question is answered with a sentence that holds its gold word
		if e.Kind == "qa_sentence" {
			q, a := e.Conv[0].Value, e.Conv[1].Value
			if strings.HasSuffix(q, ShortSuffix) || !strings.Contains(strings.ToLower(a), e.Gold) || len(strings.Fields(a)) < 3 {
				t.Fatalf("plain question %q answered %q (gold %q)", q, a, e.Gold)
			}
		}
		if !strings.HasPrefix(e.Conv[0].Value, "<video>\n") || e.Conv[len(e.Conv)-1].From != "gpt" {
			t.Fatalf("example %+v is not a video question with an answer", e)
		}
	}
	for _, k := range []string{"describe", "describe_clip", "generic", "temporal", "consistency", "qa", "qa_sentence", "judge", "context_qa"} {
		if kinds[k] == 0 {
			t.Errorf("no %s examples (have %v)", k, kinds)
		}
	}
	if letters["A"] == 0 || letters["B"] == 0 {
		t.Errorf("judge answers are all one letter: %v", letters)
	}
}

// The wrong answer of a judging pair must contradict the ground truth and the right one agree.
func TestJudgePairsContradictTruth(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, tr := range scenes(20) {
		for _, q := range tr.QA {
			if q.Gold == "" {
				continue
			}
			wrong, ok := corrupt(q, rng)
			if !ok {
				continue
			}
			if wrong == q.Answer {
				t.Errorf("%s: corrupted answer equals the reference %q", q.ID, wrong)
			}
			if strings.Contains(strings.ToLower(wrong), " "+q.Gold) && q.Gold != "yes" && q.Gold != "no" {
				t.Errorf("%s: corrupted answer %q still says %q", q.ID, wrong, q.Gold)
			}
		}
	}
}

// A judging pair's wrong answer must not give itself away by its form: for counts, colours,
// backgrounds and yes/no questions it must be a sentence the truth itself gives to the same
// question for some other clip ("There are two shapes.", never "There is two shape.").
func TestJudgePairsWrongAnswersReadLikeTrueOnes(t *testing.T) {
	truths := scenes(200)
	said := map[string]map[string]bool{} // question → every reference answer the world gives it
	for _, tr := range truths {
		for _, q := range tr.QA {
			if said[q.Question] == nil {
				said[q.Question] = map[string]bool{}
			}
			said[q.Question][q.Answer] = true
		}
	}
	rng := rand.New(rand.NewPCG(2, 2))
	checked := map[string]int{}
	for _, tr := range truths[:40] {
		for _, q := range tr.QA {
			switch q.Kind {
			case "count", "background", "moves", "disappears":
			default:
				continue
			}
			wrong, ok := corrupt(q, rng)
			if !ok {
				t.Fatalf("%s: no wrong answer for %q", q.ID, q.Answer)
			}
			checked[q.Kind]++
			if !said[q.Question][wrong] {
				t.Errorf("%s: wrong answer %q to %q is no answer the truth gives (it gives %v)", q.ID, wrong, q.Question, slices.Sorted(maps.Keys(said[q.Question])))
			}
		}
	}
	if checked["count"] < 40 {
		t.Errorf("only %d count questions checked", checked["count"])
	}
}

func TestEncodeExpandsVideoAndMasksInstructions(t *testing.T) {
	ex := WorldExamples(scenes(3), rand.New(rand.NewPCG(1, 1)))
	tok, err := tokenizer.Train(Texts(ex), 400)
	if err != nil {
		t.Fatal(err)
	}
	vt := 7
	for i := range ex[:20] {
		e, err := Encode(tok, &ex[i], vt)
		if err != nil {
			t.Fatal(err)
		}
		if e.VideoAt < 0 || len(e.Tokens) != len(e.Labels) {
			t.Fatalf("no video or misaligned labels")
		}
		for j := e.VideoAt; j < e.VideoAt+vt; j++ {
			if e.Tokens[j] != -1 || e.Labels[j] != model.IgnoreIndex {
				t.Fatalf("video slot %d: token %d label %d", j, e.Tokens[j], e.Labels[j])
			}
		}
		var ans []int
		for _, l := range e.Labels {
			if l != model.IgnoreIndex {
				ans = append(ans, int(l))
			}
		}
		want := " " + ex[i].Conv[1].Value + "</s>"
		if got := tok.Decode(ans); got != want {
			t.Fatalf("trained tokens decode to %q, want %q", got, want)
		}
	}
	// Batches shift labels into next-token targets.
	e0, _ := Encode(tok, &ex[0], vt)
	patchLen := 5
	b := MakeBatch([]*Encoded{&e0}, tok.PadID(), func(*Example) []float32 { return make([]float32, patchLen) }, patchLen, 512, false)
	for i := 0; i+1 < len(e0.Labels); i++ {
		if b.Targets[i] != e0.Labels[i+1] {
			t.Fatalf("target %d = %d, want label %d", i, b.Targets[i], e0.Labels[i+1])
		}
	}
}

func TestSFTTrainsResumesAndEvaluates(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model for a few seconds")
	}
	world := t.TempDir()
	p := synth.DefaultParams()
	p.N = 10
	if _, err := synth.Generate(t.Context(), world, p, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "ckpt")
	cfg := DefaultSFTConfig()
	cfg.World, cfg.Output, cfg.Size, cfg.Vocab, cfg.BatchSize, cfg.Steps = world, out, "tiny", 400, 8, 40
	cfg.SaveEvery, cfg.EvalEvery, cfg.Warmup, cfg.VisionSteps = 20, 20, 5, 60
	visionSteps := 0
	res, err := RunSFT(t.Context(), cfg, func(s StepInfo) {
		if s.Phase == "vision" {
			visionSteps++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Vision; v == nil || v.Steps != 60 || visionSteps != 60 || v.Videos == 0 || !(v.FinalLoss < v.FirstLoss) {
		t.Errorf("vision pretraining: %+v, %d steps reported", v, visionSteps)
	}
	// its head is scored on every training video and on the 2 held-out clips' (whole and thirds):
	// each video has NumFrames temporal tokens with a target per object colour
	perVideo := model.Tiny(400).Vision.NumFrames * len(synth.Colors)
	if v := res.Vision; v != nil && (v.Train[model.GroupFrameColour].Targets != v.Videos*perVideo || v.Heldout[model.GroupFrameColour].Targets != 2*4*perVideo) {
		t.Errorf("vision scores cover %d training and %d held-out frame-colour targets, want %d and %d",
			v.Train[model.GroupFrameColour].Targets, v.Heldout[model.GroupFrameColour].Targets, v.Videos*perVideo, 2*4*perVideo)
	}
	// vision pretraining changed the vision weights from their initialisation
	afterFirst, err := model.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	init, err := model.New(afterFirst.Config, cfg.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if w := "vision_tower.patch_embed.weight"; slices.Equal(weight(init, w), weight(afterFirst, w)) {
		t.Errorf("%s is still at its initialisation after pretraining", w)
	}
	if !(res.FinalLoss < res.FirstLoss-1) || res.HeldoutLoss <= 0 {
		t.Errorf("loss %.3f → %.3f (held-out %.3f): want a clear fall", res.FirstLoss, res.FinalLoss, res.HeldoutLoss)
	}
	for _, f := range []string{"model.safetensors", "config.json", "tokenizer.json", "optimizer.safetensors", "trainer_state.json", "metrics.jsonl"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("checkpoint lacks %s", f)
		}
	}
	// Resuming with more steps continues from step 40, not from scratch; lines logged after the
	// last checkpoint (as after a crash) are dropped, not duplicated.
	f, _ := os.OpenFile(filepath.Join(out, "metrics.jsonl"), os.O_APPEND|os.O_WRONLY, 0o644)
	f.WriteString(`{"step":41,"loss":9}` + "\n")
	f.Close()
	cfg.Steps = 50
	res2, err := RunSFT(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Steps != 10 || res2.Vision != nil {
		t.Errorf("resumed run did %d steps (vision pretraining %+v), want 10 and none", res2.Steps, res2.Vision)
	}
	// SFT kept the pretrained vision frozen, and trained the decoder
	afterResume, err := model.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range afterResume.Params {
		same := slices.Equal(weight(afterFirst, p.Name), weight(afterResume, p.Name))
		if model.IsVisionParam(p.Name) != same {
			t.Errorf("%s: unchanged by 10 SFT steps: %v", p.Name, same)
		}
	}
	b, _ := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if n := strings.Count(string(b), "\n"); n != 50 {
		t.Errorf("metrics.jsonl has %d lines, want 50", n)
	}
	var st trainerState
	sb, _ := os.ReadFile(filepath.Join(out, "trainer_state.json"))
	if json.Unmarshal(sb, &st) != nil || st.Step != 50 {
		t.Errorf("trainer state %s", sb)
	}
	ev, err := EvaluateSFT(t.Context(), world, out, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ShortAnswers == 0 || ev.JudgePairs == 0 {
		t.Errorf("evaluation saw no examples: %+v", ev)
	}
	// two held-out clips: each one's questions are asked again with the other's video, and every
	// question finds its kind in the truth
	if !ev.OtherVideo {
		t.Errorf("no other-video baseline with two held-out clips: %+v", ev)
	}
	// every question finds its kind, for the short answers, the judging pairs by likelihood with
	// either video, and the likelihood judge with the clip's narrative and with another clip's
	checkKinds(t, "short answers", ev.Kinds, ev.ShortAnswers, ev.OtherVideoLine())
	checkKinds(t, "judging pairs", ev.JudgeKinds, ev.JudgePairs, ev.OtherVideoJudgeLine())
	checkKinds(t, "context judging pairs", ev.ContextJudgeKinds, ev.JudgePairs, ev.ContextJudgeLine())
}

// checkKinds: the kinds hold want questions, each a kind of the truth with accuracies in [0, 1],
// and the line rendering them is not empty.
func checkKinds(t *testing.T, what string, kinds []KindAccuracy, want int, line string) {
	t.Helper()
	n := 0
	for _, k := range kinds {
		n += k.Questions
		if k.Kind == "other" || k.Accuracy < 0 || k.Accuracy > 1 || k.OtherVideo < 0 || k.OtherVideo > 1 {
			t.Errorf("%s: kind %+v", what, k)
		}
	}
	if n != want || line == "" {
		t.Errorf("%s: kinds hold %d questions, want %d (line %q)", what, n, want, line)
	}
}

func TestSFTOnSeedJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	dir := t.TempDir()
	colors := map[string]color.RGBA{"red": {220, 40, 40, 255}, "green": {40, 180, 60, 255}, "blue": {40, 80, 220, 255}}
	var recs []map[string]any
	for name, c := range colors {
		for k := 0; k < 8; k++ {
			id := fmt.Sprintf("v_%s_%d", name, k)
			var images []string
			for f := 1; f <= 4; f++ {
				img := image.NewRGBA(image.Rect(0, 0, 40, 24)) // not square: exercises the padding
				for p := range img.Pix {
					img.Pix[p] = []uint8{c.R, c.G, c.B, 255}[p%4]
				}
				rel := filepath.Join("frames", id, fmt.Sprintf("image_%02d.jpg", f))
				os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755)
				var buf bytes.Buffer
				jpeg.Encode(&buf, img, nil)
				os.WriteFile(filepath.Join(dir, rel), buf.Bytes(), 0o644)
				images = append(images, filepath.ToSlash(rel))
			}
			recs = append(recs, map[string]any{"id": id, "src_data": "test",
				"conversations": []map[string]string{{"from": "human", "value": "<image>\nWhat colour is the video?"}, {"from": "gpt", "value": name}},
				"images":        images})
		}
	}
	// Three bad records: one that does not decode, one whose frame is missing, one longer than
	// the tiny model's 512 positions. Each is left out and listed; the 24 good ones train.
	good := recs[0]
	missing := map[string]any{"id": "v_missing_frame", "conversations": good["conversations"],
		"images": []string{"frames/nowhere/image_01.jpg"}}
	long := map[string]any{"id": "v_long", "images": good["images"], "conversations": []map[string]string{
		{"from": "human", "value": "<image>\nDescribe the video."}, {"from": "gpt", "value": strings.Repeat("a red square turns ", 400)}}}
	var raw []json.RawMessage
	for _, r := range append(recs, missing, long) {
		b, _ := json.Marshal(r)
		raw = append(raw, b)
	}
	raw = append(raw, json.RawMessage(`{"id": "v_broken", "conversations": "not a list"}`))
	b, _ := json.Marshal(raw)
	seed := filepath.Join(dir, "SFT_short.json")
	os.WriteFile(seed, b, 0o644)
	cfg := DefaultSFTConfig()
	cfg.World, cfg.Output, cfg.Size, cfg.Vocab, cfg.BatchSize, cfg.Steps, cfg.Warmup = seed, filepath.Join(dir, "ckpt"), "tiny", 300, 8, 60, 5
	res, err := RunSFT(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Vision != nil { // seed frames have no synthetic palette (--vision-steps is on by default)
		t.Errorf("vision pretraining ran on seed data: %+v", res.Vision)
	}
	if res.World || res.Examples+res.HeldoutExample != 24 || !(res.FinalLoss < res.FirstLoss/2) {
		t.Errorf("seed SFT: %+v", res)
	}
	want := map[string]int{DropMalformed: 1, DropFrames: 1, DropTooLong: 1}
	if !reflect.DeepEqual(res.Dropped, want) {
		t.Errorf("dropped %v, want %v", res.Dropped, want)
	}
	listed, err := os.ReadFile(filepath.Join(cfg.Output, DroppedFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"id":"record 26"`, `"id":"v_missing_frame","kind":"unreadable_frames"`, "nowhere/image_01.jpg", `"id":"v_long/seed","kind":"too_long"`} {
		if !strings.Contains(string(listed), w) {
			t.Errorf("%s does not hold %s:\n%s", DroppedFile, w, listed)
		}
	}
}

// Training finds a seed row's frames by its id, so ReadSFTRows makes ids name one set of frames:
// an id an earlier row gave to other frames gets the row's index, a missing id becomes one.
func TestReadSFTRowsGivesEachVideoItsOwnID(t *testing.T) {
	rec := func(id, frame string) string {
		return fmt.Sprintf(`{"id": %q, "conversations": [{"from": "human", "value": "<image>\nQ"}, {"from": "gpt", "value": "A"}], "images": [%q]}`, id, frame)
	}
	path := filepath.Join(t.TempDir(), "sft.json")
	os.WriteFile(path, []byte("["+strings.Join([]string{rec("v1", "a.jpg"), `{"broken": true}`, rec("v1", "b.jpg"), rec("", "c.jpg"), rec("v1", "a.jpg")}, ",")+"]"), 0o644)
	rows, dropped, err := ReadSFTRows(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	if want := []string{"v1", "v1#2", "record 3", "v1"}; !reflect.DeepEqual(ids, want) || len(dropped) != 1 || dropped[0].ID != "record 1" {
		t.Errorf("ids %q (want %q), dropped %+v", ids, want, dropped)
	}
}

// weight is a copy of m's parameter name.
func weight(m *model.Model, name string) []float32 {
	for _, p := range m.Params {
		if p.Name == name {
			return slices.Clone(m.W[p.Offset : p.Offset+p.Size])
		}
	}
	return nil
}
