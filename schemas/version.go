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
