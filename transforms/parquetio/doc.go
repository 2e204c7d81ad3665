// Package parquetio is vrlaif's Beam Parquet sink and source, built on parquet-go. It is not
// Beam's own parquetio, which reads whole files into memory and writes one file from one worker.
//
// Write turns a PCollection of rows into a dataset folder in the format internal/dataset reads:
// Parquet shards named part-<hash>.parquet, zstd-compressed (columns tagged uncompressed stay so),
// with schemas.MetaVersion and schemas.MetaRowType in each file's key-value metadata. Each bundle
// writes its rows as one shard, or several when it holds more than WriteParams.ShardRows rows. A
// shard is written under a hidden temporary name in the folder, synced, and renamed when complete,
// so a failed or retried bundle never leaves a half file where a reader looks.
//
// Shard names are deterministic. Rows are sorted before writing, by their id column when
// WriteParams.IDField names one, otherwise by a SHA-256 digest of their Parquet encoding, and the
// shard is named by the first 16 hex digits of a SHA-256 over the row type and those sorted keys.
// A retried bundle carrying the same rows therefore writes the same name, and the rename replaces
// the earlier copy instead of adding a second one. With an id column the name depends only on the
// ids, so rows that differ in, say, a creation time still land on the same name. Chunks of a
// bundle larger than ShardRows follow arrival order (the writer holds at most ShardRows rows).
// With WriteParams.SkipExisting, each worker reads the id column of the folder's complete shards
// when it starts and drops rows already there (exactly-once re-runs of a stage).
//
// Read expands a folder or glob into file names at run time, reshuffles them so files spread over
// workers, and reads each file with parquet-go's GenericReader in batches of rows, never the whole
// file at once. It refuses files written by a newer schema version.
//
// Both are generic over the row type, and Beam Go needs every DoFn type registered in init(): a
// program that writes or reads rows of type T calls Register[T]() from an init function of its own,
// once per row type (calling it again is harmless).
//
// Paths are local file paths (on a distributed runner, a folder every worker mounts); Beam's
// filesystem abstraction (gs://, s3://) is not used, because parquet-go needs random access to
// read a file and the sink needs an atomic rename.
package parquetio
