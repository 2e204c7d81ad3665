#!/usr/bin/env bash
# Benchmark: 4 KiB JetStream messages on vrlaif's embedded server (natsbus.StartEmbedded, run as
# its own process by internal/natsbus/natsserve), measured two ways against the same server:
#   - `nats bench js` (natscli; installed with `go install` if `nats` is not on PATH):
#     synchronous publish with Nats-Msg-Id, async publish, durable fetch+ack (plain and double ack);
#   - BenchmarkPublishConsume (natsbus.Publish, PublishAsync, Consumer.Fetch+Ack), then the same
#     benchmark with the server inside the benchmark's own process.
# MSGS sets the messages per measurement.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
MSGS=${MSGS:-20000}
NATSCLI_VERSION=${NATSCLI_VERSION:-v0.5.0}
TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

NATS=$(command -v nats || true)
if [ -z "$NATS" ]; then
  echo "installing natscli $NATSCLI_VERSION (go install) ..." >&2
  GOBIN="$TMP/bin" "$GO" install "github.com/nats-io/natscli/nats@$NATSCLI_VERSION"
  NATS="$TMP/bin/nats"
fi

"$GO" build -o "$TMP/natsserve" ./internal/natsbus/natsserve
"$TMP/natsserve" -dir "$TMP/store" >"$TMP/url" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$TMP/url" ] && break; sleep 0.1; done
URL=$(head -n1 "$TMP/url")
echo "embedded server (own process): $URL; $MSGS messages of 4 KiB per run; $(nproc) CPUs"

nb() { "$NATS" -s "$URL" bench js "$@" --no-progress 2>&1 | grep -E 'stats:|rror' || true; }
echo "== nats bench js pub sync (dedup: Nats-Msg-Id)"
nb pub sync bench.4k --create --purge --dedup --size 4KiB --msgs "$MSGS"
echo "== nats bench js pub async (dedup, batch 500)"
nb pub async bench.4k --create --purge --dedup --size 4KiB --msgs "$MSGS"
echo "== nats bench js fetch (batch 256, plain ack)"
nb fetch --size 4KiB --msgs "$MSGS" --batch 256
echo "== nats bench js fetch (batch 256, double ack per message)"
nb pub async bench.4k --create --purge --dedup --size 4KiB --msgs "$MSGS" >/dev/null
nb fetch --size 4KiB --msgs "$MSGS" --batch 256 --doubleack

echo "== BenchmarkPublishConsume against the same server"
VRLAIF_BENCH_NATS_URL="$URL" "$GO" test -run '^$' -bench PublishConsume -benchtime "${MSGS}x" ./internal/natsbus/ | grep Benchmark
echo "== BenchmarkPublishConsume, server in the benchmark's process"
"$GO" test -run '^$' -bench PublishConsume -benchtime "${MSGS}x" ./internal/natsbus/ | grep Benchmark
