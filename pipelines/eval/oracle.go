package eval

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/vrlaif/vrlaif/schemas"
)

// OracleTemplate names the ground truth acting as the judge: the control that tells whether the
// rest of the loop (reward model, PPO) can use good labels when it gets them.
const OracleTemplate = "oracle-groundtruth-v1"

// OracleLabels relabels judged pairs by the ground truth: the answer with the higher Quality is
// chosen; equal quality (or a pair whose question is not in the world) is unlabeled with reason
// "tie". The rows get new ids and the oracle as their judge; answers, question and context stay.
func OracleLabels(prefs []schemas.Preference, truths []schemas.Truth) []schemas.Preference {
	items := map[string]map[string]schemas.QAItem{}
	byClip := map[string]schemas.Truth{}
	for _, t := range truths {
		byClip[t.ClipID] = t
		items[t.ClipID] = map[string]schemas.QAItem{}
		for _, q := range t.QA {
			items[t.ClipID][q.ID] = q
		}
	}
	out := make([]schemas.Preference, 0, len(prefs))
	for _, p := range prefs {
		o := p
		h := sha256.Sum256([]byte(p.ID + "\x00" + OracleTemplate))
		o.ID = hex.EncodeToString(h[:16])
		o.Judge = schemas.ModelRef{Backend: "groundtruth", Model: GroundTruthRubric, Template: OracleTemplate}
		o.Forward, o.Swapped = schemas.Verdict{}, schemas.Verdict{}
		o.Labeled, o.Chosen, o.ProbOutput1, o.Reason = false, 0, 0.5, "tie"
		if it, ok := items[p.VideoID][p.QuestionID]; ok {
			q1, q2 := Quality(byClip[p.VideoID], it, p.Output1), Quality(byClip[p.VideoID], it, p.Output2)
			switch {
			case q1 > q2:
				o.Labeled, o.Chosen, o.ProbOutput1, o.Reason = true, 1, 1, ""
			case q2 > q1:
				o.Labeled, o.Chosen, o.ProbOutput1, o.Reason = true, 2, 0, ""
			}
		}
		out = append(out, o)
	}
	return out
}
