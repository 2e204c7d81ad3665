package schemas

// RowReviewMark is the row type of a feedback folder's `review_marks/`: a reviewer's marks on
// preference rows, kept beside the data and never written into the preferences themselves.
const RowReviewMark = "review_marks"

// Review verdicts.
const (
	MarkWrong = "wrong" // the label (or the pair) is wrong: export leaves it out by default
)

// ReviewMark is one reviewer's mark on one preference row: the rows of `review_marks/`. A pair has
// at most one mark; clearing a mark removes its row.
type ReviewMark struct {
	PreferenceID  string `parquet:"preference_id" beam:"preference_id" json:"preference_id"`
	Mark          string `parquet:"mark,dict" beam:"mark" json:"mark"` // MarkWrong
	Note          string `parquet:"note" beam:"note" json:"note"`
	Reviewer      string `parquet:"reviewer,dict" beam:"reviewer" json:"reviewer"`
	CreatedMicros int64  `parquet:"created_micros,timestamp(microsecond)" beam:"created_micros" json:"created_micros"`
}
