package schemas

// Question is one question to ask about a video.
type Question struct {
	ID   string `parquet:"id" beam:"id" json:"id"`
	Text string `parquet:"text" beam:"text" json:"text"`
}

// Task is one input record of the generate pipeline: a video (a file or URI, or a folder of
// pre-extracted frames) and the questions to ask about it.
type Task struct {
	ID        string     `parquet:"id" beam:"id" json:"id"`
	VideoURI  string     `parquet:"video_uri" beam:"video_uri" json:"video_uri"` // empty when Images is set
	Images    []string   `parquet:"images,list" beam:"images" json:"images"`     // resolved frame paths, in order
	ImageRefs []string   `parquet:"image_refs,list" beam:"image_refs" json:"image_refs"`
	Questions []Question `parquet:"questions,list" beam:"questions" json:"questions"`
	// SharesClip: an earlier task names the same video (or frames), so its clip and narrative are
	// that task's; this one adds its questions' answers only.
	SharesClip bool `parquet:"shares_clip" beam:"shares_clip" json:"shares_clip,omitempty"`
}

// TaskClip is a task with its sampled frames: what the model stages consume.
type TaskClip struct {
	Task Task `beam:"task"`
	Clip Clip `beam:"clip"`
}
