// Package schemas holds vrlaif's row types: one struct per Parquet dataset (and, later, per NATS
// subject), plus the seed JSON layouts of the original VLM-RLAIF release and their conversions.
//
// Rules: rows are plain data (standard library only, no Beam, NATS or cgo); every field carries a
// `parquet:"snake_name"` tag, a matching `beam` tag and a `json` tag; timestamps are int64 Unix
// microseconds; ids are deterministic hashes of a row's inputs and settings. Version is written
// into every Parquet file's key-value metadata and is bumped on any breaking change.
package schemas
