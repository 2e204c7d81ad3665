// Package duckdb lets tests read vrlaif's Parquet output with DuckDB, a reader that shares no
// code with parquet-go. Queries run in a Node.js process on tools/duckdb/query.mjs, which uses
// the @duckdb/node-api npm package; scripts/setup.sh (and so `make test`) installs it with
// `npm ci --prefix tools/duckdb`.
//
// Tests call Need first. Where DuckDB is missing it skips the test, visibly, except under CI
// (the CI environment variable) or with VRLAIF_REQUIRE_DUCKDB=1 (set by `make test`), where it
// fails it instead: a missing DuckDB must not silently turn a check off.
//
// Values come back as encoding/json decodes them into any: numbers are float64, BIGINT-family
// values beyond ±(2^53−1) are decimal strings, BLOBs are base64 strings, lists are []any,
// structs are map[string]any, timestamps are DuckDB's text. See tools/duckdb/query.mjs.
package duckdb
