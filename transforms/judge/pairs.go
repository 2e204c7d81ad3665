package judge

import (
	"crypto/sha256"
	"sort"
	"strings"

	"github.com/vrlaif/vrlaif/schemas"
)

// MakePairs forms the pairs of one clip: for each input record (VideoID) and question, every two
// of its answers whose texts differ (after trimming and case folding), in sample order; which of
// the two is stored as output_1 is decided by a hash of their ids (the reference's randomisation,
// made reproducible). Records that share a video share its clip, so the clip's responses may come
// from several records: each pair carries its own record's VideoID. It returns the pairs and the
// number of identical pairs dropped.
func MakePairs(clip schemas.Clip, context string, responses []schemas.Response) (pairs []Pair, identical int) {
	type key struct{ video, question string }
	byQ := map[key][]schemas.Response{}
	var qs []key
	for _, r := range responses {
		k := key{r.VideoID, r.QuestionID}
		if _, ok := byQ[k]; !ok {
			qs = append(qs, k)
		}
		byQ[k] = append(byQ[k], r)
	}
	sort.Slice(qs, func(i, j int) bool {
		return qs[i].video < qs[j].video || (qs[i].video == qs[j].video && qs[i].question < qs[j].question)
	})
	for _, k := range qs {
		rs := byQ[k]
		sort.Slice(rs, func(i, j int) bool { return rs[i].Sample < rs[j].Sample })
		for i := 0; i < len(rs); i++ {
			for j := i + 1; j < len(rs); j++ {
				if same(rs[i].Text, rs[j].Text) {
					identical++
					continue
				}
				a, b := rs[i], rs[j]
				if h := sha256.Sum256([]byte(a.ID + b.ID)); h[0]&1 == 1 {
					a, b = b, a
				}
				pairs = append(pairs, Pair{ClipID: clip.ID, VideoID: k.video, QuestionID: k.question, Question: a.Question,
					Frames: clip.Frames, Context: context, R1: a, R2: b})
			}
		}
	}
	return pairs, identical
}

func same(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// Stats are the judge's statistics over a set of preference rows.
type Stats struct {
	Pairs        int     `json:"pairs"`         // judged pairs
	Labeled      int     `json:"labeled"`       // both orders agree
	Disagree     int     `json:"disagree"`      // the orders disagree (position bias)
	Unreadable   int     `json:"unreadable"`    // a verdict could not be read
	FlipRate     float64 `json:"flip_rate"`     // Disagree / pairs with two readable verdicts
	Agreement    float64 `json:"agreement"`     // 1 − FlipRate
	LabelBalance float64 `json:"label_balance"` // share of labels choosing output_1 (½ is balanced)
	PreferA      float64 `json:"prefer_a"`      // share of readable verdicts that pick the letter A (position bias)
	LogProbShare float64 `json:"logprob_share"` // share of verdicts read from log-probabilities (letters or likelihoods)
	Identical    int     `json:"identical"`     // pairs dropped before judging because both answers were the same
	// ContextShortened counts pairs whose narrative was shortened to fit the judge's context.
	ContextShortened int `json:"context_shortened"`
}

// Summarize computes Stats.
func Summarize(prefs []schemas.Preference, identical int) Stats {
	s := Stats{Pairs: len(prefs), Identical: identical}
	var readable, ones, letters, aLetters, lp int
	for _, p := range prefs {
		for _, v := range []schemas.Verdict{p.Forward, p.Swapped} {
			if v.Letter != "" {
				letters++
				if v.Letter == "A" {
					aLetters++
				}
			}
			if v.Method == MethodLogProbs || v.Method == MethodLikelihood {
				lp++
			}
		}
		if p.ContextDropped > 0 {
			s.ContextShortened++
		}
		if p.Labeled {
			s.Labeled++
			if p.Chosen == 1 {
				ones++
			}
		}
		switch p.Reason {
		case ReasonUnreadable:
			s.Unreadable++
		case ReasonDisagree: // labeled or not (the average rule labels some of these)
			s.Disagree++
			readable++
		default:
			readable++
		}
	}
	if readable > 0 {
		s.FlipRate = float64(s.Disagree) / float64(readable)
		s.Agreement = 1 - s.FlipRate
	}
	if s.Labeled > 0 {
		s.LabelBalance = float64(ones) / float64(s.Labeled)
	}
	if letters > 0 {
		s.PreferA = float64(aLetters) / float64(letters)
	}
	if len(prefs) > 0 {
		s.LogProbShare = float64(lp) / float64(2*len(prefs))
	}
	return s
}
