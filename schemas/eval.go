package schemas

// RowScore is the row type of an eval run's `scores/`.
const RowScore = "scores"

// EvalScore is one judged answer on one axis: the rows of `scores/`. A generic question gives three
// rows (correctness, detail, context); a consistency pair gives one, with both questions and answers.
type EvalScore struct {
	ID          string `parquet:"id" beam:"id" json:"id"`               // hash of model, question(s), axis and judge
	Model       string `parquet:"model,dict" beam:"model" json:"model"` // the name the run gave the model, e.g. "sft", "rlaif"
	Backend     string `parquet:"backend,dict" beam:"backend" json:"backend"`
	Revision    string `parquet:"revision,dict" beam:"revision" json:"revision"`
	ClipID      string `parquet:"clip_id" beam:"clip_id" json:"clip_id"`
	QuestionID  string `parquet:"question_id" beam:"question_id" json:"question_id"`
	Category    string `parquet:"category,dict" beam:"category" json:"category"` // generic, temporal, consistency, qa
	Kind        string `parquet:"kind,dict" beam:"kind" json:"kind"`
	Axis        string `parquet:"axis,dict" beam:"axis" json:"axis"` // correctness, detail, context, temporal, consistency, qa
	Question    string `parquet:"question" beam:"question" json:"question"`
	Reference   string `parquet:"reference" beam:"reference" json:"reference"` // the reference answer
	Gold        string `parquet:"gold" beam:"gold" json:"gold"`
	Prediction  string `parquet:"prediction" beam:"prediction" json:"prediction"`
	Question2   string `parquet:"question_2" beam:"question_2" json:"question_2"` // consistency: the second phrasing
	Prediction2 string `parquet:"prediction_2" beam:"prediction_2" json:"prediction_2"`
	Score       int32  `parquet:"score" beam:"score" json:"score"`       // 0..5
	Correct     bool   `parquet:"correct" beam:"correct" json:"correct"` // qa: the answer matches the gold answer
	Judge       string `parquet:"judge,dict" beam:"judge" json:"judge"`  // "groundtruth-v1", or "openai:<model>:<template>"
	Reason      string `parquet:"reason" beam:"reason" json:"reason"`
	// Reward is the reward model's score of Prediction (eval --reward-model); nil without one, or
	// when it could not score it (a dead letter says why).
	Reward        *float64 `parquet:"reward,optional" beam:"reward" json:"reward,omitempty"`
	CreatedMicros int64    `parquet:"created_micros,timestamp(microsecond)" beam:"created_micros" json:"created_micros"`
}
