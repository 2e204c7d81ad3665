package schemas

// Version is the schema version written into every Parquet file's key-value metadata under
// MetaVersion. Bump it on any breaking change to a row type.
const Version = 1

// Key-value metadata keys written into every Parquet file.
const (
	MetaVersion = "vrlaif.schema_version" // decimal Version
	MetaRowType = "vrlaif.row_type"       // the RowType of the rows in the file
)

// Row types, as written under MetaRowType and used as dataset folder names.
const (
	RowClip       = "clips"
	RowDeadLetter = "deadletter"
	RowTruth      = "truth"
	RowSFT        = "sft"
	RowRM         = "rm"
	RowRL         = "rl"
)

// RowTypeOf is the row type whose files hold rows of v's type ("clips" for a Clip), or "" for
// a type that is no dataset's row (a projection, say).
func RowTypeOf(v any) string {
	switch v.(type) {
	case Clip, *Clip:
		return RowClip
	case DeadLetter, *DeadLetter:
		return RowDeadLetter
	case Truth, *Truth:
		return RowTruth
	case SFTRow, *SFTRow:
		return RowSFT
	case RMRow, *RMRow:
		return RowRM
	case RLRow, *RLRow:
		return RowRL
	case Narrative, *Narrative:
		return RowNarrative
	case Response, *Response:
		return RowResponse
	case Preference, *Preference:
		return RowPreference
	case EvalScore, *EvalScore:
		return RowScore
	case ReviewMark, *ReviewMark:
		return RowReviewMark
	}
	return ""
}
