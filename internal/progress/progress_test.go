package progress

import "testing"

func TestLine(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	Add("frames", "in", 8)
	Add("frames", "out", 3)
	Add("frames", "deadletter", 1)
	Add("narrative", "in", 3)
	Add("narrative", "out", 2)
	// a stage whose output is of another kind than its input: four answers to two questions
	CountsFrom("responses-test", "questions")
	t.Cleanup(func() { inputNouns.Delete("responses-test") })
	Add("responses-test", "in", 2)
	Add("responses-test", "out", 4)
	got := Line("frames", "nothing-yet", "narrative", "responses-test")
	want := "frames 3/8 (1 dead) · narrative 2/3 · responses-test 4 from 2 questions"
	if got != want {
		t.Errorf("Line = %q, want %q", got, want)
	}
}
