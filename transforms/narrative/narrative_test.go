package narrative

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/backend/builtin"
	"github.com/vrlaif/vrlaif/schemas"
)

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		n, clips, max int
		want          []int
	}{
		{50, 3, 20, []int{0, 17, 34}}, // 17, 17, 16 (reference §6)
		{60, 3, 20, []int{0, 20, 40}},
		{61, 3, 20, []int{0, 16, 31, 46}}, // four clips once three would exceed 20 frames
		{8, 3, 20, []int{0, 3, 6}},
		{2, 3, 20, []int{0, 1}},
	} {
		if got := Split(c.n, c.clips, c.max); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Split(%d, %d, %d) = %v, want %v", c.n, c.clips, c.max, got, c.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	b, err := builtin.Load(backendtest.Checkpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	clip := schemas.Clip{ID: "clip1", Frames: backendtest.Frames(t, 7)}
	p := Params{MaxTokens: 6}.WithDefaults()
	n, err := Describe(context.Background(), b, clip, "video1", p)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Captions) != 3 || !reflect.DeepEqual(n.FrameStarts, []int32{0, 3, 5}) || !strings.HasPrefix(n.Text, "Clip 1: ") ||
		!strings.Contains(n.Text, "\nClip 3: ") || n.Captioner.Template != "narrative-v1" || n.ClipID != "clip1" || n.VideoID != "video1" {
		t.Errorf("narrative %+v", n)
	}
	again, _ := Describe(context.Background(), b, clip, "video1", p)
	if again.ID != n.ID || again.Text != n.Text {
		t.Error("the same clip described twice differs")
	}
}
