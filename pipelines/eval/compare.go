package eval

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/vrlaif/vrlaif/schemas"
)

// Comparison is one model against the first (the baseline) on one axis, or on the five-axis mean
// (Axis "mean"): the difference of means over the questions both answered, and a 95% interval
// from a paired bootstrap (questions resampled with replacement, each axis on its own for the
// mean; 2 000 resamples, a fixed seed, so the same rows give the same interval).
type Comparison struct {
	Model    string  `json:"model"`
	Baseline string  `json:"baseline"`
	Axis     string  `json:"axis"`
	Delta    float64 `json:"delta"`
	Low      float64 `json:"low"`
	High     float64 `json:"high"`
	N        int     `json:"n"`
}

const bootstrapRounds = 2000

// Compare compares every model with the first on each axis, zero-shot QA and the five-axis mean.
func Compare(rows []schemas.EvalScore, models []string) []Comparison {
	if len(models) < 2 {
		return nil
	}
	// diffs[model][axis] = per-question score differences (model − baseline), in a stable order
	type key struct{ axis, q, q2 string }
	score := map[string]map[key]float64{}
	for _, r := range rows {
		if score[r.Model] == nil {
			score[r.Model] = map[key]float64{}
		}
		score[r.Model][key{r.Axis, r.QuestionID, r.Question2}] = float64(r.Score)
	}
	base := models[0]
	var out []Comparison
	for _, m := range models[1:] {
		diffs := map[string][]float64{}
		var keys []key
		for k := range score[base] {
			if _, ok := score[m][k]; ok {
				keys = append(keys, k)
			}
		}
		slices.SortFunc(keys, func(a, b key) int {
			return cmp.Or(cmp.Compare(a.axis, b.axis), cmp.Compare(a.q, b.q), cmp.Compare(a.q2, b.q2))
		})
		for _, k := range keys {
			diffs[k.axis] = append(diffs[k.axis], score[m][k]-score[base][k])
		}
		rng := rand.New(rand.NewPCG(7, 7))
		axes := append(append([]string{}, Axes...), AxisQA)
		boot := map[string][]float64{}
		for _, a := range axes {
			d := diffs[a]
			if len(d) == 0 {
				continue
			}
			boot[a] = bootstrapMeans(d, rng)
			lo, hi := interval(boot[a])
			out = append(out, Comparison{Model: m, Baseline: base, Axis: a, Delta: mean(d), Low: lo, High: hi, N: len(d)})
		}
		// the five-axis mean: each round averages the five axes' resampled means
		meanBoot := make([]float64, bootstrapRounds)
		var delta float64
		n, ok := 0, true
		for _, a := range Axes {
			if len(boot[a]) == 0 {
				ok = false
				break
			}
			delta += mean(diffs[a]) / float64(len(Axes))
			n += len(diffs[a])
			for i := range meanBoot {
				meanBoot[i] += boot[a][i] / float64(len(Axes))
			}
		}
		if ok {
			lo, hi := interval(meanBoot)
			out = append(out, Comparison{Model: m, Baseline: base, Axis: "mean", Delta: delta, Low: lo, High: hi, N: n})
		}
	}
	return out
}

// bootstrapMeans is the means of bootstrapRounds resamples of d (with replacement), drawn from rng.
func bootstrapMeans(d []float64, rng *rand.Rand) []float64 {
	out := make([]float64, bootstrapRounds)
	for i := range out {
		var s float64
		for range d {
			s += d[rng.IntN(len(d))]
		}
		out[i] = s / float64(len(d))
	}
	return out
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// interval is the 2.5th and 97.5th percentiles.
func interval(xs []float64) (float64, float64) {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[int(0.025*float64(len(s)))], s[min(len(s)-1, int(0.975*float64(len(s))))]
}
