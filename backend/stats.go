package backend

import "sync/atomic"

// Stats are a backend's running totals.
type Stats struct {
	Calls            int64 `json:"calls"`    // calls that reached the model (attempts that got an answer)
	Attempts         int64 `json:"attempts"` // requests sent, retries included
	Retries          int64 `json:"retries"`
	Failures         int64 `json:"failures"` // calls that ended in an error
	CacheHits        int64 `json:"cache_hits"`
	CacheMisses      int64 `json:"cache_misses"`
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
}

// Counters accumulates Stats from many goroutines.
type Counters struct {
	calls, attempts, retries, failures, hits, misses, prompt, completion atomic.Int64
}

// Call counts a call that the model answered and its tokens.
func (c *Counters) Call(u Usage) {
	c.calls.Add(1)
	c.prompt.Add(int64(u.PromptTokens))
	c.completion.Add(int64(u.CompletionTokens))
}

// Attempt counts a request sent; retry says it repeats an earlier one.
func (c *Counters) Attempt(retry bool) {
	c.attempts.Add(1)
	if retry {
		c.retries.Add(1)
	}
}

// Failure counts a call that ended in an error.
func (c *Counters) Failure() { c.failures.Add(1) }

// Cache counts cache lookups.
func (c *Counters) Cache(hits, misses int) {
	c.hits.Add(int64(hits))
	c.misses.Add(int64(misses))
}

// Snapshot returns the totals so far.
func (c *Counters) Snapshot() Stats {
	return Stats{Calls: c.calls.Load(), Attempts: c.attempts.Load(), Retries: c.retries.Load(),
		Failures: c.failures.Load(), CacheHits: c.hits.Load(), CacheMisses: c.misses.Load(),
		PromptTokens: c.prompt.Load(), CompletionTokens: c.completion.Load()}
}

// Add sums two Stats.
func (s Stats) Add(o Stats) Stats {
	return Stats{s.Calls + o.Calls, s.Attempts + o.Attempts, s.Retries + o.Retries, s.Failures + o.Failures,
		s.CacheHits + o.CacheHits, s.CacheMisses + o.CacheMisses, s.PromptTokens + o.PromptTokens,
		s.CompletionTokens + o.CompletionTokens}
}
