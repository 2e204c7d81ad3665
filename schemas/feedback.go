package schemas

// Row types of the generate and feedback pipelines.
const (
	RowNarrative  = "narratives"
	RowResponse   = "responses"
	RowPreference = "preferences"
)

// ModelRef names the model that produced a row and the prompt template it was given.
type ModelRef struct {
	Backend  string `parquet:"backend,dict" beam:"backend" json:"backend"`
	Model    string `parquet:"model,dict" beam:"model" json:"model"`
	Revision string `parquet:"revision,dict" beam:"revision" json:"revision"`
	Template string `parquet:"template,dict" beam:"template" json:"template"` // prompt template name and version, e.g. "narrative-v1"
}

// Narrative is the judge's context for one clip: the frames split into up to three sub-clips of at
// most 20 frames, each described by the captioner, joined as "Clip 1: …\nClip 2: …": the rows of
// `narratives/`.
type Narrative struct {
	ID       string   `parquet:"id" beam:"id" json:"id"` // hash of clip id, captioner, template and settings
	ClipID   string   `parquet:"clip_id" beam:"clip_id" json:"clip_id"`
	VideoID  string   `parquet:"video_id" beam:"video_id" json:"video_id"` // the input record's id
	Captions []string `parquet:"captions,list" beam:"captions" json:"captions"`
	// FrameStarts[i] is the index of sub-clip i's first frame in the clip's frames.
	FrameStarts      []int32  `parquet:"frame_starts,list" beam:"frame_starts" json:"frame_starts"`
	Text             string   `parquet:"text" beam:"text" json:"text"`
	Captioner        ModelRef `parquet:"captioner" beam:"captioner" json:"captioner"`
	PromptTokens     int64    `parquet:"prompt_tokens" beam:"prompt_tokens" json:"prompt_tokens"`
	CompletionTokens int64    `parquet:"completion_tokens" beam:"completion_tokens" json:"completion_tokens"`
	CreatedMicros    int64    `parquet:"created_micros,timestamp(microsecond)" beam:"created_micros" json:"created_micros"`
}

// Response is one sampled answer to one question about one clip: the rows of `responses/`.
type Response struct {
	ID           string    `parquet:"id" beam:"id" json:"id"` // hash of clip id, question id, policy, template, settings and sample index
	ClipID       string    `parquet:"clip_id" beam:"clip_id" json:"clip_id"`
	VideoID      string    `parquet:"video_id" beam:"video_id" json:"video_id"`
	QuestionID   string    `parquet:"question_id" beam:"question_id" json:"question_id"`
	Question     string    `parquet:"question" beam:"question" json:"question"`
	Sample       int32     `parquet:"sample" beam:"sample" json:"sample"` // 0..K-1
	Text         string    `parquet:"text" beam:"text" json:"text"`
	FinishReason string    `parquet:"finish_reason,dict" beam:"finish_reason" json:"finish_reason"`
	Tokens       int32     `parquet:"tokens" beam:"tokens" json:"tokens"`
	LogProbs     []float64 `parquet:"logprobs,list" beam:"logprobs" json:"logprobs"` // per generated token
	Temperature  float64   `parquet:"temperature" beam:"temperature" json:"temperature"`
	TopP         float64   `parquet:"top_p" beam:"top_p" json:"top_p"`
	Seed         int64     `parquet:"seed" beam:"seed" json:"seed"`
	Policy       ModelRef  `parquet:"policy" beam:"policy" json:"policy"`
	// Images are the seed-style frame paths of the input record, kept for export (may be empty).
	Images        []string `parquet:"images,list" beam:"images" json:"images"`
	CreatedMicros int64    `parquet:"created_micros,timestamp(microsecond)" beam:"created_micros" json:"created_micros"`
}

// Verdict is one judgement of a pair in one order.
type Verdict struct {
	Letter string  `parquet:"letter,dict" beam:"letter" json:"letter"` // "A", "B", or "" when unreadable
	ProbA  float64 `parquet:"prob_a" beam:"prob_a" json:"prob_a"`      // p(A) / (p(A)+p(B)) as shown in this order; 1 or 0 when parsed
	Method string  `parquet:"method,dict" beam:"method" json:"method"` // "logprobs" or "parsed"
	Raw    string  `parquet:"raw" beam:"raw" json:"raw"`               // the judge's text when parsed
}

// Preference is one judged pair of answers to a question: the rows of `preferences/`. The pair is
// judged in both orders; when the two verdicts agree, Labeled is true and Chosen (1 or 2, as the
// seed's "preference") names the better of Output1/Output2; otherwise Reason says why there is no
// label and the row is kept.
type Preference struct {
	ID         string `parquet:"id" beam:"id" json:"id"` // hash of both response ids, judge, template
	ClipID     string `parquet:"clip_id" beam:"clip_id" json:"clip_id"`
	VideoID    string `parquet:"video_id" beam:"video_id" json:"video_id"`
	QuestionID string `parquet:"question_id" beam:"question_id" json:"question_id"`
	Question   string `parquet:"question" beam:"question" json:"question"`
	Response1  string `parquet:"response_1" beam:"response_1" json:"response_1"` // response ids
	Response2  string `parquet:"response_2" beam:"response_2" json:"response_2"`
	Output1    string `parquet:"output_1" beam:"output_1" json:"output_1"`
	Output2    string `parquet:"output_2" beam:"output_2" json:"output_2"`
	// Forward shows Output1 as A; Swapped shows Output2 as A.
	Forward     Verdict `parquet:"forward" beam:"forward" json:"forward"`
	Swapped     Verdict `parquet:"swapped" beam:"swapped" json:"swapped"`
	Labeled     bool    `parquet:"labeled" beam:"labeled" json:"labeled"`
	Chosen      int32   `parquet:"chosen" beam:"chosen" json:"chosen"` // 1 or 2; 0 when not labeled
	ProbOutput1 float64 `parquet:"prob_output_1" beam:"prob_output_1" json:"prob_output_1"`
	Reason      string  `parquet:"reason,dict" beam:"reason" json:"reason"`
	Context     string  `parquet:"context" beam:"context" json:"context"` // the narrative the judge saw ("" without context)
	// ContextDropped is how many characters of the narrative the judge did not see: it was
	// shortened to fit the judge's context (0: the whole narrative).
	ContextDropped int32    `parquet:"context_dropped" beam:"context_dropped" json:"context_dropped"`
	Judge          ModelRef `parquet:"judge" beam:"judge" json:"judge"`
	Images         []string `parquet:"images,list" beam:"images" json:"images"`
	CreatedMicros  int64    `parquet:"created_micros,timestamp(microsecond)" beam:"created_micros" json:"created_micros"`
}

// RM converts a labeled preference into the seed's reward-model record (RM JSON layout): the
// question as the human turn with the video placeholder, the two outputs, and the preference.
func (p Preference) RM() RMRow {
	r := RMRow{Conversations: []Turn{{From: "human", Value: "<image>\n" + p.Question}, {From: "gpt", Value: ""}},
		Output1: p.Output1, Output2: p.Output2, Preference: p.Chosen, Images: p.Images}
	r.ID = r.contentID()
	return r
}
