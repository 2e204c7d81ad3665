// query.mjs runs one SQL query on an in-memory DuckDB and prints its result rows as JSON.
//
//   node tools/duckdb/query.mjs "SELECT count(*) AS n FROM read_parquet('out/clips/*.parquet')"
//   echo "SELECT 1 AS one" | node tools/duckdb/query.mjs
//
// The query comes from the arguments (joined with spaces) or, with none, from stdin. Several
// statements separated by ';' run in order and the last one's rows are printed. Output: one JSON
// array of row objects keyed by column name, on stdout. Errors go to stderr with exit status 1.
//
// Value mapping (DuckDB type → JSON):
//   BOOLEAN, TINYINT..INTEGER, UTINYINT..UINTEGER, FLOAT, DOUBLE → number (NaN/±Infinity → string)
//   BIGINT, UBIGINT, HUGEINT, UHUGEINT → number when it is a safe integer (|v| ≤ 2^53−1), else a
//     decimal string
//   BLOB → base64 string (the form Go's encoding/json uses for []byte); use octet_length(col) in
//     SQL when only the size matters
//   LIST, ARRAY → array; STRUCT → object; MAP → array of {"key", "value"}; UNION → {"tag", "value"}
//   VARCHAR, ENUM, UUID, DECIMAL, DATE, TIME, TIMESTAMP*, BIT, BIGNUM → string, in DuckDB's own
//     text at full precision; TIMESTAMP WITH TIME ZONE in UTC, e.g. "2024-01-02 03:04:05.5+00"
//   INTERVAL → {"months", "days", "micros" (a string)}; NULL → null
// Give result columns distinct names: rows are objects, so a repeated name keeps one value.
//
// Nothing is fetched from the network: extension auto-install is off (Parquet is built in).
import {
  DuckDBBlobValue,
  DuckDBInstance,
  DuckDBTimestampTZValue,
  DuckDBTypeId,
  JsonDuckDBValueConverter,
} from '@duckdb/node-api';

const wideInts = new Set([
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
]);

// convert is JsonDuckDBValueConverter with safe wide integers and base64 BLOBs. It passes itself
// down, so values nested in lists and structs are converted the same way.
function convert(value, type, self) {
  if (value == null) {
    return null;
  }
  if (wideInts.has(type.typeId) && typeof value === 'bigint') {
    const n = Number(value);
    return Number.isSafeInteger(n) && BigInt(n) === value ? n : value.toString();
  }
  if (type.typeId === DuckDBTypeId.BLOB && value instanceof DuckDBBlobValue) {
    return Buffer.from(value.bytes.buffer, value.bytes.byteOffset, value.bytes.byteLength).toString('base64');
  }
  return JsonDuckDBValueConverter(value, type, self);
}

// TIMESTAMP WITH TIME ZONE values print in UTC, on both sides: node-api formats them with a
// fixed offset taken from the process's time zone at load time, and SQL casts use TimeZone.
DuckDBTimestampTZValue.timezoneOffsetInMinutes = 0;

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) {
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  const sql = process.argv.length > 2 ? process.argv.slice(2).join(' ') : await readStdin();
  if (sql.trim() === '') {
    throw new Error('no SQL given (pass it as arguments or on stdin)');
  }
  const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
  });
  const conn = await instance.connect();
  try {
    await conn.run("SET TimeZone = 'UTC'");
    const reader = await conn.runAndReadAll(sql);
    const rows = reader.convertRowObjects(convert);
    process.stdout.write(JSON.stringify(rows) + '\n');
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

main().catch((err) => {
  process.stderr.write(`duckdb: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
