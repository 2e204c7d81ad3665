package synth

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/vrlaif/vrlaif/schemas"
)

func TestSceneIsDeterministicAndIndependentOfN(t *testing.T) {
	a, b := DefaultParams(), DefaultParams()
	b.N = 1000
	for i := 0; i < 20; i++ {
		if !reflect.DeepEqual(Scene(a, i), Scene(b, i)) {
			t.Fatalf("clip %d differs between two worlds of the same seed", i)
		}
	}
	c := DefaultParams()
	c.Seed = 2
	if reflect.DeepEqual(Scene(a, 0), Scene(c, 0)) {
		t.Fatal("seeds 1 and 2 gave the same clip 0")
	}
}

func TestWorldCoversTheVocabulary(t *testing.T) {
	p := DefaultParams()
	seen := map[string]bool{}
	splits := map[string]int{}
	for i := 0; i < 100; i++ {
		s := Scene(p, i)
		splits[s.Split]++
		if s.FPS < 8 || s.FPS > 16 || s.DurationSeconds < 2-1e-9 || s.DurationSeconds > 4+1e-9 {
			t.Errorf("%s: %d fps, %.2f s is outside 8–16 fps, 2–4 s", s.ClipID, s.FPS, s.DurationSeconds)
		}
		seen["bg:"+s.Background] = true
		for _, o := range s.Objects {
			seen["shape:"+o.Shape], seen["color:"+o.Color], seen["size:"+o.Size] = true, true, true
			r := float64(o.Pixels) / 2
			for _, tp := range o.Track {
				if tp.X-r < 0 || tp.X+r > float64(s.Width) || tp.Y-r < 0 || tp.Y+r > float64(s.Height) {
					t.Errorf("%s: object %d leaves the frame at %.2f s", s.ClipID, o.ID, tp.Seconds)
				}
			}
		}
		for _, e := range s.Events {
			seen["event:"+e.Kind] = true
			if e.Kind == "move" {
				seen["dir:"+e.Direction] = true
				if e.EndSeconds <= e.StartSeconds {
					t.Errorf("%s: move without a time span", s.ClipID)
				}
			}
		}
		for _, q := range s.QA {
			seen["qa:"+q.Category] = true
		}
		if len(s.SegmentDescriptions) != 3 || s.Description == "" {
			t.Errorf("%s: descriptions missing", s.ClipID)
		}
	}
	var want []string
	for _, v := range Shapes {
		want = append(want, "shape:"+v)
	}
	for _, v := range Colors {
		want = append(want, "color:"+v)
	}
	for _, v := range Directions {
		want = append(want, "dir:"+v)
	}
	for _, v := range Backgrounds {
		want = append(want, "bg:"+v)
	}
	want = append(want, "size:small", "size:large", "event:appear", "event:move", "event:stop", "event:disappear",
		"qa:generic", "qa:temporal", "qa:consistency", "qa:qa")
	for _, w := range want {
		if !seen[w] {
			t.Errorf("100 clips never show %s", w)
		}
	}
	if splits["heldout"] != 20 || splits["train"] != 80 {
		t.Errorf("splits %v, want 80 train / 20 heldout", splits)
	}
}

func TestQAIsConsistentWithTruth(t *testing.T) {
	p := DefaultParams()
	for i := 0; i < 50; i++ {
		s := Scene(p, i)
		pairs := map[string][]schemas.QAItem{}
		for _, q := range s.QA {
			if q.PairID != "" {
				pairs[q.PairID] = append(pairs[q.PairID], q)
			}
			if q.Gold != "" && !strings.Contains(strings.ToLower(q.Answer), strings.ToLower(q.Gold)) {
				t.Errorf("%s %s: answer %q does not contain gold %q", s.ClipID, q.ID, q.Answer, q.Gold)
			}
			if q.Kind == "color" {
				for _, o := range s.Objects {
					if strings.Contains(q.Question, " "+o.Shape+"?") && q.Gold != o.Color {
						t.Errorf("%s: %q gold %q, truth %q", s.ClipID, q.Question, q.Gold, o.Color)
					}
				}
			}
		}
		for id, ps := range pairs {
			if len(ps) != 2 || ps[0].Gold != ps[1].Gold || ps[0].Question == ps[1].Question {
				t.Errorf("%s: consistency pair %s is not two phrasings of one answer: %+v", s.ClipID, id, ps)
			}
		}
	}
}

func TestGenerateWritesVideosAndTruth(t *testing.T) {
	dir := t.TempDir()
	p := DefaultParams()
	p.N = 3
	truths, err := Generate(t.Context(), dir, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range truths {
		st, err := os.Stat(filepath.Join(dir, tr.VideoPath))
		if err != nil || st.Size() < 500 {
			t.Fatalf("video %s missing or tiny: %v", tr.VideoPath, err)
		}
	}
	// Read the Parquet back with parquet-go's plain row reader, independent of dataset.Read.
	shards, _ := filepath.Glob(filepath.Join(dir, "truth", "part-*.parquet"))
	if len(shards) != 1 {
		t.Fatalf("want 1 truth shard, got %v", shards)
	}
	rows, err := parquet.ReadFile[schemas.Truth](shards[0])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rows, truths) {
		t.Errorf("truth Parquet round trip differs")
	}
	b, err := os.ReadFile(filepath.Join(dir, "truth", "truth.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var first schemas.Truth
	if len(lines) != 3 || json.Unmarshal([]byte(lines[0]), &first) != nil || !reflect.DeepEqual(first, truths[0]) {
		t.Errorf("truth.jsonl does not hold the 3 clips")
	}
	// A second run resumes: existing videos are kept byte for byte.
	before, _ := os.ReadFile(filepath.Join(dir, truths[0].VideoPath))
	if _, err := Generate(t.Context(), dir, p, nil); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, truths[0].VideoPath))
	if string(before) != string(after) {
		t.Error("a rerun rewrote an existing video")
	}
}

func TestAgreeMakesACountsVerbAndNounAgree(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"There is two shape.", "There are two shapes."},
		{"There are one shapes in the video.", "There is one shape in the video."},
		{"One shapes can be seen.", "One shape can be seen."},
		{"Three shape can be seen.", "Three shapes can be seen."},
		{"There are three shapes.", "There are three shapes."},
		{"The red square is one of them.", "The red square is one of them."}, // no count noun after the number
		{"They are one of a kind.", "They are one of a kind."},
		{"Yes, it moves.", "Yes, it moves."},
	} {
		if got := Agree(c.in); got != c.want {
			t.Errorf("Agree(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// The truth's own count answers are grammatical already.
	for i := 0; i < 30; i++ {
		for _, q := range Scene(DefaultParams(), i).QA {
			if q.Kind == "count" && Agree(q.Answer) != q.Answer {
				t.Errorf("%s: count answer %q is not grammatical (%q)", q.ID, q.Answer, Agree(q.Answer))
			}
		}
	}
}
