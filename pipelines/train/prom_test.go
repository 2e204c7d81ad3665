package train

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMetricsExposition(t *testing.T) {
	var m Metrics
	get := func() string {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		b, _ := io.ReadAll(rec.Body)
		return string(b)
	}
	if body := get(); body != "" {
		t.Errorf("before any step: %q", body)
	}
	m.Observe(LearnerReport{StepMetrics: StepMetrics{Step: 3, Score: 0.5, KLSum: 0.125}, Applied: 48, Lag: 7})
	body := get()
	for _, want := range []string{"vrlaif_ppo_step 3\n", "vrlaif_ppo_score 0.5\n", "vrlaif_ppo_kl_sum_seq 0.125\n",
		"# TYPE vrlaif_ppo_rollouts_applied_total counter\nvrlaif_ppo_rollouts_applied_total 48\n", "vrlaif_ppo_consumer_lag 7\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %q in\n%s", want, body)
		}
	}
}
