package eval

import (
	"fmt"

	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
)

// PreferenceResult is how often a feedback run's labels agree with the ground truth: for each
// labeled pair whose two answers the ground truth tells apart (Quality differs), whether the judge
// chose the better one.
type PreferenceResult struct {
	Name       string  `json:"name"`
	Template   string  `json:"template"` // the judge's template (judge-v1, judge-nocontext-v1, …)
	Pairs      int     `json:"pairs"`
	Labeled    int     `json:"labeled"`
	Comparable int     `json:"comparable"` // labeled, and the ground truth prefers one answer
	Agree      int     `json:"agree"`
	Accuracy   float64 `json:"accuracy"` // Agree / Comparable
	Unknown    int     `json:"unknown"`  // pairs whose clip or question is not in the world
	FlipRate   float64 `json:"flip_rate"`
	// OracleComparable is how many pairs the ground truth itself can tell apart (labeled or not): the
	// most a perfect judge could label.
	OracleComparable int `json:"oracle_comparable"`
}

// PreferenceAccuracy checks the preferences in a feedback folder against a world's truth.
func PreferenceAccuracy(name, feedbackDir string, truths []schemas.Truth) (PreferenceResult, error) {
	prefs, err := dataset.ReadAll[schemas.Preference](dataset.Folder(feedbackDir, schemas.RowPreference))
	if err != nil {
		return PreferenceResult{}, fmt.Errorf("eval: preferences of %s: %w", name, err)
	}
	return ComparePreferences(name, prefs, truths), nil
}

// ComparePreferences is PreferenceAccuracy on rows in memory.
func ComparePreferences(name string, prefs []schemas.Preference, truths []schemas.Truth) PreferenceResult {
	byClip := map[string]schemas.Truth{}
	for _, t := range truths {
		byClip[t.ClipID] = t
	}
	r := PreferenceResult{Name: name, Pairs: len(prefs)}
	disagree, readable := 0, 0
	for _, p := range prefs {
		if r.Template == "" {
			r.Template = p.Judge.Template
		}
		switch p.Reason {
		case "orders_disagree":
			disagree++
			readable++
		case "unreadable_verdict":
		default:
			readable++
		}
		if p.Labeled {
			r.Labeled++
		}
		t, ok := byClip[p.VideoID]
		var item *schemas.QAItem
		for i := range t.QA {
			if t.QA[i].ID == p.QuestionID {
				item = &t.QA[i]
			}
		}
		if !ok || item == nil {
			r.Unknown++
			continue
		}
		q1, q2 := Quality(t, *item, p.Output1), Quality(t, *item, p.Output2)
		if q1 != q2 {
			r.OracleComparable++
		}
		if !p.Labeled || q1 == q2 {
			continue
		}
		r.Comparable++
		if better := map[bool]int32{true: 1, false: 2}[q1 > q2]; better == p.Chosen {
			r.Agree++
		}
	}
	if r.Comparable > 0 {
		r.Accuracy = float64(r.Agree) / float64(r.Comparable)
	}
	if readable > 0 {
		r.FlipRate = float64(disagree) / float64(readable)
	}
	return r
}
