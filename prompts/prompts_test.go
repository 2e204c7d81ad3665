package prompts

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	f := Fields{Context: "Clip 1: a red square.", Question: "What color?", A: "Red.", B: "Blue."}
	got := MustRender(Judge, f)
	want := "Context (a description of the video): Clip 1: a red square.\nQuestion: What color?\nResponse (A): Red.\nResponse (B): Blue.\n" +
		"Which response is better: more accurate and grounded in the video, more helpful, more natural and more concise? Answer with a single letter, A or B."
	if got != want {
		t.Errorf("judge-v1:\n%q\nwant\n%q", got, want)
	}
	if nc := MustRender(JudgeNoContext, f); strings.Contains(nc, "Context") || !strings.HasSuffix(nc, "A or B.") {
		t.Errorf("judge-nocontext-v1: %q", nc)
	}
	if got := MustRender(JudgeLikelihood, f); got != "Context (a description of the video): Clip 1: a red square.\nQuestion: What color?" {
		t.Errorf("judge-likelihood-v1: %q", got)
	}
	if got := MustRender(JudgeLikelihoodNoContext, f); got != "What color?" {
		t.Errorf("judge-likelihood-nocontext-v1: %q", got)
	}
	if got := MustRender(Narrative, f); got != "Describe this video in detail." {
		t.Errorf("narrative-v1: %q", got)
	}
	if got := MustRender(Answer, f); got != "What color?" {
		t.Errorf("answer-v1: %q", got)
	}
	if _, err := Render("judge-v9", f); err == nil {
		t.Error("an unknown template rendered")
	}
}
