package schemas

// Truth is the ground truth of one synthetic clip: the rows of a synthetic world's `truth/`.
type Truth struct {
	ClipID          string        `parquet:"clip_id" beam:"clip_id" json:"clip_id"`
	Seed            int64         `parquet:"seed" beam:"seed" json:"seed"`
	Index           int32         `parquet:"index" beam:"index" json:"index"`
	Split           string        `parquet:"split,dict" beam:"split" json:"split"`           // "train" or "heldout"
	VideoPath       string        `parquet:"video_path" beam:"video_path" json:"video_path"` // relative to the world's folder
	Width           int32         `parquet:"width" beam:"width" json:"width"`
	Height          int32         `parquet:"height" beam:"height" json:"height"`
	FPS             int32         `parquet:"fps" beam:"fps" json:"fps"`
	FrameCount      int32         `parquet:"frame_count" beam:"frame_count" json:"frame_count"`
	DurationSeconds float64       `parquet:"duration_seconds" beam:"duration_seconds" json:"duration_seconds"`
	Background      string        `parquet:"background,dict" beam:"background" json:"background"`
	Objects         []TruthObject `parquet:"objects,list" beam:"objects" json:"objects"`
	Events          []TruthEvent  `parquet:"events,list" beam:"events" json:"events"`
	Description     string        `parquet:"description" beam:"description" json:"description"`
	// SegmentDescriptions describe the three clips (thirds) of the video, in order.
	SegmentDescriptions []string `parquet:"segment_descriptions,list" beam:"segment_descriptions" json:"segment_descriptions"`
	QA                  []QAItem `parquet:"qa,list" beam:"qa" json:"qa"`
}

// TruthObject is one shape in a synthetic clip and where it is over time.
type TruthObject struct {
	ID     int32  `parquet:"id" beam:"id" json:"id"`
	Shape  string `parquet:"shape,dict" beam:"shape" json:"shape"`
	Color  string `parquet:"color,dict" beam:"color" json:"color"`
	Size   string `parquet:"size,dict" beam:"size" json:"size"`  // "small" or "large"
	Pixels int32  `parquet:"pixels" beam:"pixels" json:"pixels"` // side or diameter in pixels
	// The object is drawn while AppearSeconds <= t < DisappearSeconds.
	AppearSeconds    float64 `parquet:"appear_seconds" beam:"appear_seconds" json:"appear_seconds"`
	DisappearSeconds float64 `parquet:"disappear_seconds" beam:"disappear_seconds" json:"disappear_seconds"`
	// Track is the centre's path: piecewise linear between consecutive points, constant before
	// the first and after the last.
	Track []TrackPoint `parquet:"track,list" beam:"track" json:"track"`
}

// TrackPoint is an object's centre, in pixels, at a time.
type TrackPoint struct {
	Seconds float64 `parquet:"seconds" beam:"seconds" json:"seconds"`
	X       float64 `parquet:"x" beam:"x" json:"x"`
	Y       float64 `parquet:"y" beam:"y" json:"y"`
}

// TruthEvent is something that happens to an object over [StartSeconds, EndSeconds]
// (an instant when the two are equal).
type TruthEvent struct {
	Object       int32   `parquet:"object" beam:"object" json:"object"`
	Kind         string  `parquet:"kind,dict" beam:"kind" json:"kind"`                // "appear", "move", "stop", "disappear"
	Direction    string  `parquet:"direction,dict" beam:"direction" json:"direction"` // for "move": left, right, up, down
	StartSeconds float64 `parquet:"start_seconds" beam:"start_seconds" json:"start_seconds"`
	EndSeconds   float64 `parquet:"end_seconds" beam:"end_seconds" json:"end_seconds"`
}

// QAItem is a question about a clip with its reference answer, in the categories of the
// Video-ChatGPT benchmark.
type QAItem struct {
	ID       string `parquet:"id" beam:"id" json:"id"`
	Category string `parquet:"category,dict" beam:"category" json:"category"` // generic, temporal, consistency, qa
	Kind     string `parquet:"kind,dict" beam:"kind" json:"kind"`             // e.g. describe, color, shape, direction, first, after, count
	Question string `parquet:"question" beam:"question" json:"question"`
	Answer   string `parquet:"answer" beam:"answer" json:"answer"`    // a full-sentence reference answer
	Gold     string `parquet:"gold" beam:"gold" json:"gold"`          // short answer (one word or phrase); empty for open questions
	PairID   string `parquet:"pair_id" beam:"pair_id" json:"pair_id"` // consistency: both phrasings share it
}

// Position returns the object's centre at time t (seconds).
func (o TruthObject) Position(t float64) (x, y float64) {
	tr := o.Track
	if len(tr) == 0 {
		return 0, 0
	}
	if t <= tr[0].Seconds {
		return tr[0].X, tr[0].Y
	}
	for i := 1; i < len(tr); i++ {
		if t <= tr[i].Seconds {
			a, b := tr[i-1], tr[i]
			f := (t - a.Seconds) / (b.Seconds - a.Seconds)
			return a.X + f*(b.X-a.X), a.Y + f*(b.Y-a.Y)
		}
	}
	last := tr[len(tr)-1]
	return last.X, last.Y
}

// Visible reports whether the object is drawn at time t.
func (o TruthObject) Visible(t float64) bool { return t >= o.AppearSeconds && t < o.DisappearSeconds }
