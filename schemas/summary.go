package schemas

// Summary is the `summary.json` every dataset-writing command leaves in its output folder.
type Summary struct {
	Command     string                 `json:"command"`
	Stages      map[string]StageCounts `json:"stages"`
	WallSeconds float64                `json:"wall_seconds"`
	Settings    map[string]any         `json:"settings"`
	Outputs     map[string]string      `json:"outputs,omitempty"` // name → path
	// ErrorKinds counts dead letters by kind, per stage.
	ErrorKinds map[string]map[string]int `json:"error_kinds,omitempty"`
	// Counters are a pipeline's Beam counters ("namespace.name": tokens, cache hits, skipped rows…).
	Counters map[string]int64 `json:"counters,omitempty"`
	// Extra holds a command's own results (feedback: the judge statistics).
	Extra map[string]any `json:"extra,omitempty"`
}

// StageCounts are the inputs, outputs and dead letters of one stage.
type StageCounts struct {
	In         int `json:"in"`
	Out        int `json:"out"`
	DeadLetter int `json:"deadletter"`
	Skipped    int `json:"skipped,omitempty"` // already in the output from an earlier run
}
