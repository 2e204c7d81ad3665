package train

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
)

// Metrics exposes the learner's latest step in the Prometheus text format (/metrics), so a
// running PPO job can be scraped; no client library is needed for a handful of gauges.
type Metrics struct {
	mu   sync.Mutex
	last LearnerReport
	set  bool
}

// Observe records a step.
func (m *Metrics) Observe(r LearnerReport) {
	m.mu.Lock()
	m.last, m.set = r, true
	m.mu.Unlock()
}

// ServeHTTP writes the gauges (nothing before the first step).
func (m *Metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	r, set := m.last, m.set
	m.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	if !set {
		return
	}
	g := map[string]struct {
		help string
		v    float64
	}{
		"vrlaif_ppo_step":                   {"PPO steps completed", float64(r.Step)},
		"vrlaif_ppo_policy_version":         {"policy version the step trained", float64(r.Version)},
		"vrlaif_ppo_score":                  {"mean reward-model score of the step's rollouts", r.Score},
		"vrlaif_ppo_reward":                 {"mean score with the no-stop penalty", r.Reward},
		"vrlaif_ppo_kl_sum_seq":             {"mean per-rollout sum of the clamped k1 KL", r.KLSum},
		"vrlaif_ppo_entropy":                {"mean policy entropy over response tokens (nats)", r.Entropy},
		"vrlaif_ppo_clip_fraction":          {"share of policy-loss slots clipped", r.ClipFrac},
		"vrlaif_ppo_policy_loss":            {"clipped policy loss", r.PGLoss},
		"vrlaif_ppo_value_loss":             {"clipped value loss", r.VFLoss},
		"vrlaif_ppo_staleness":              {"mean policy versions the rollouts were behind", r.Staleness},
		"vrlaif_ppo_consumer_lag":           {"rollouts waiting in the stream", float64(r.Lag)},
		"vrlaif_ppo_rollouts_applied_total": {"rollouts applied", float64(r.Applied)},
		"vrlaif_ppo_rollouts_dropped_total": {"rollouts dropped as stale", float64(r.Dropped)},
		"vrlaif_ppo_step_seconds":           {"wall time of the last step", r.Seconds},
	}
	names := make([]string, 0, len(g))
	for n := range g {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		kind := "gauge"
		if len(n) > 6 && n[len(n)-6:] == "_total" {
			kind = "counter"
		}
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", n, g[n].help, n, kind, n, g[n].v)
	}
}
