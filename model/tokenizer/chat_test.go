package tokenizer

import (
	"slices"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/schemas"
)

func human(v string) schemas.Turn { return schemas.Turn{From: "human", Value: v} }
func gpt(v string) schemas.Turn   { return schemas.Turn{From: "gpt", Value: v} }

const sys = "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions."

var chatCases = []struct {
	name    string
	conv    []schemas.Turn
	want    string   // RenderV1
	answers []string // the trained spans, in order
}{
	{
		name:    "one turn",
		conv:    []schemas.Turn{human("<image>\nWhat is the man doing?"), gpt("He is cooking pasta.")},
		want:    sys + " USER: <video>\nWhat is the man doing? ASSISTANT: He is cooking pasta.</s>",
		answers: []string{" He is cooking pasta.</s>"},
	},
	{
		name: "two turns",
		conv: []schemas.Turn{
			human("<video>\nDescribe the video."), gpt("A cat jumps onto a table."),
			human("What happens next?"), gpt("It knocks over a glass."),
		},
		want: sys + " USER: <video>\nDescribe the video. ASSISTANT: A cat jumps onto a table.</s>" +
			"USER: What happens next? ASSISTANT: It knocks over a glass.</s>",
		answers: []string{" A cat jumps onto a table.</s>", " It knocks over a glass.</s>"},
	},
	{
		name: "generation prompt",
		conv: []schemas.Turn{human("What is in the video? <image>")},
		want: sys + " USER: <video>\nWhat is in the video? ASSISTANT:",
	},
	{
		name:    "generation prompt after a turn",
		conv:    []schemas.Turn{human("<video>\nHi"), gpt("Hello."), human("Why?")},
		want:    sys + " USER: <video>\nHi ASSISTANT: Hello.</s>USER: Why? ASSISTANT:",
		answers: []string{" Hello.</s>"},
	},
	{
		name:    "no placeholder",
		conv:    []schemas.Turn{human("Say hi."), gpt("hi")},
		want:    sys + " USER: Say hi. ASSISTANT: hi</s>",
		answers: []string{" hi</s>"},
	},
	{
		name:    "placeholder alone, several placeholders",
		conv:    []schemas.Turn{human(" <image> <video> "), gpt("OK")},
		want:    sys + " USER: <video> ASSISTANT: OK</s>",
		answers: []string{" OK</s>"},
	},
	{
		name:    "answer starts with a newline",
		conv:    []schemas.Turn{human("List."), gpt("\n1. a\n2. b")},
		want:    sys + " USER: List. ASSISTANT: \n1. a\n2. b</s>",
		answers: []string{" \n1. a\n2. b</s>"},
	},
	{
		name:    "answer starts with a number",
		conv:    []schemas.Turn{human("How many?"), gpt("3 cats.")},
		want:    sys + " USER: How many? ASSISTANT: 3 cats.</s>",
		answers: []string{" 3 cats.</s>"},
	},
	{
		name: "empty answer is not trained",
		conv: []schemas.Turn{human("Q"), gpt("")},
		want: sys + " USER: Q ASSISTANT:",
	},
	{
		name: "empty conversation",
		want: sys + " ",
	},
}

func TestRenderV1(t *testing.T) {
	if SystemV1 != sys {
		t.Fatalf("SystemV1 = %q", SystemV1)
	}
	for _, tc := range chatCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := RenderV1(tc.conv); got != tc.want {
				t.Errorf("RenderV1 =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestEncodeChat(t *testing.T) {
	tok := trainedTokenizer(t)
	for _, tc := range chatCases {
		t.Run(tc.name, func(t *testing.T) {
			ids, labels := tok.EncodeChat(tc.conv)
			want := append([]int{tok.BOSID()}, tok.Encode(tc.want)...)
			if !slices.Equal(ids, want) {
				t.Fatalf("ids = %v, want <s> + Encode(RenderV1) = %v", ids, want)
			}
			if len(labels) != len(ids) {
				t.Fatalf("%d labels for %d ids", len(labels), len(ids))
			}
			var spans []string // maximal runs of trained positions
			var masked strings.Builder
			for i := 0; i < len(ids); {
				if labels[i] == IgnoreLabel {
					masked.WriteString(tok.Decode(ids[i : i+1]))
					i++
					continue
				}
				j := i
				for j < len(ids) && labels[j] != IgnoreLabel {
					if labels[j] != ids[j] {
						t.Fatalf("labels[%d] = %d, want ids[%d] = %d", j, labels[j], j, ids[j])
					}
					j++
				}
				spans = append(spans, tok.Decode(ids[i:j]))
				// The boundary: the masked text before a span ends with "ASSISTANT:", and the
				// span starts with the space.
				if before := tok.Decode(ids[:i]); !strings.HasSuffix(before, "ASSISTANT:") {
					t.Errorf("trained span %d is preceded by %q, want ...ASSISTANT:", len(spans), before)
				}
				i = j
			}
			if !slices.Equal(spans, tc.answers) {
				t.Errorf("trained spans = %q, want %q", spans, tc.answers)
			}
			if labels[0] != IgnoreLabel || ids[0] != tok.BOSID() {
				t.Errorf("position 0: id %d label %d, want <s> masked", ids[0], labels[0])
			}
			for i, id := range ids {
				if id == tok.VideoID() && labels[i] != IgnoreLabel {
					t.Errorf("<video> at %d is trained", i)
				}
			}
			// Everything masked, joined, is <s> plus the rendered text without the answers.
			instr := tc.want
			for _, a := range tc.answers {
				instr = strings.Replace(instr, a, "", 1)
			}
			if got := masked.String(); got != "<s>"+instr {
				t.Errorf("masked text = %q, want %q", got, "<s>"+instr)
			}
		})
	}
}

func TestEncodeChatVideoInAnswerIsMasked(t *testing.T) {
	tok := trainedTokenizer(t)
	ids, labels := tok.EncodeChat([]schemas.Turn{human("Q"), gpt("see <video> here")})
	n := 0
	for i, id := range ids {
		if id == tok.VideoID() {
			n++
			if labels[i] != IgnoreLabel {
				t.Errorf("<video> at %d has label %d", i, labels[i])
			}
		}
	}
	if n != 1 {
		t.Errorf("%d <video> tokens, want 1", n)
	}
}

func FuzzEncodeChat(f *testing.F) {
	tok := trainedTokenizer(f)
	f.Add("<image>\nWhat?", "A man.", "And?", "")
	f.Add(" x ", "\n\n", "<video>", "</s> ASSISTANT: y")
	f.Fuzz(func(t *testing.T, q1, a1, q2, a2 string) {
		conv := []schemas.Turn{human(q1), gpt(a1), human(q2), gpt(a2)}
		ids, labels := tok.EncodeChat(conv)
		if want := append([]int{tok.BOSID()}, tok.Encode(RenderV1(conv))...); !slices.Equal(ids, want) {
			t.Fatalf("EncodeChat ids differ from <s> + Encode(RenderV1)")
		}
		if len(labels) != len(ids) {
			t.Fatalf("%d labels for %d ids", len(labels), len(ids))
		}
	})
}
