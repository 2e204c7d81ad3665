#!/usr/bin/env bash
# Benchmark: vrlaif frames vs the ffmpeg CLI doing the same job — select N uniform frames
# (the seed's linspace rule), scale to SIZE×SIZE, write JPEG — on a short clip (10 s) and a long
# one (640×360, 10 min, a keyframe every 2 s). Prints wall times, frames per second and the ratio
# vrlaif/CLI for each, best of RUNS runs. Fixtures are made once with the ffmpeg CLI and cached.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-bin/vrlaif}
DIR=${BENCH_DIR:-out/bench}
N=${N:-50}
SIZE=${SIZE:-224}
RUNS=${RUNS:-5}
LONG_SECONDS=${LONG_SECONDS:-600}
mkdir -p "$DIR"

short="$DIR/short-10s-640x360.mp4"
long="$DIR/long-${LONG_SECONDS}s-640x360-gop2s.mp4"
if [ ! -s "$short" ]; then
  ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=30 -t 10 \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p "$short"
fi
if [ ! -s "$long" ]; then
  echo "making the ${LONG_SECONDS} s fixture (once)…" >&2
  ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=30 -t "$LONG_SECONDS" \
    -c:v libx264 -preset ultrafast -g 60 -keyint_min 60 -sc_threshold 0 -pix_fmt yuv420p "$long"
fi

frames_of() { ffprobe -v error -select_streams v:0 -show_entries stream=nb_frames -of csv=p=0 "$1"; }

# select expression with the seed's indices: floor(i*(n-1)/(N-1)) in float64, as numpy does.
select_expr() {
  local n=$1
  awk -v n="$n" -v k="$N" 'BEGIN { step=(n-1)/(k-1); s="";
    for (i=0;i<k;i++) { x=int(i*step); if (i==k-1) x=n-1; if (!(x in seen)) { seen[x]=1; s = s (s==""?"":"+") "eq(n\\," x ")" } }
    print s }'
}

now() { date +%s.%N; }

best_of() { # best_of CMD... → best wall seconds
  local best=""
  for _ in $(seq "$RUNS"); do
    local t0 t1 dt
    t0=$(now); "$@" >/dev/null 2>&1; t1=$(now)
    dt=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$dt < $best" | bc -l)" = 1 ]; then best=$dt; fi
  done
  echo "$best"
}

# Each timed command is the tool alone; checking the output happens after, untimed.
run_vrlaif() { rm -rf "$DIR/vrlaif.out"; "$BIN" frames --input "$1" --output "$DIR/vrlaif.out" --frames "$N" --size "$SIZE" --resize square --pad=false --quality 90; }
run_cli() { rm -rf "$DIR/cli.out"; mkdir -p "$DIR/cli.out"; ffmpeg -v error -y -i "$1" -vf "select='$2',scale=${SIZE}:${SIZE}" -vsync vfr -q:v 2 "$DIR/cli.out/image_%02d.jpg"; }
check() {
  local v c
  v=$(grep -A3 '"frames": {' "$DIR/vrlaif.out/summary.json" | grep -o '"out": [0-9]*' | head -n1 | grep -o '[0-9]*$')
  c=$(ls "$DIR/cli.out" | wc -l)
  [ "$v" = 1 ] && [ "$c" -ge 1 ] || { echo "bench-frames: a tool failed on $1 (vrlaif clips: $v, cli frames: $c)" >&2; exit 1; }
}

command -v bc >/dev/null || { echo "bench-frames: needs bc (apt-get install bc)" >&2; exit 1; }
printf '%-28s %8s %10s %10s %12s %12s %8s\n' clip frames "vrlaif s" "cli s" "vrlaif fps" "cli fps" ratio
for f in "$short" "$long"; do
  n=$(frames_of "$f")
  expr=$(select_expr "$n")
  tv=$(best_of run_vrlaif "$f")
  tc=$(best_of run_cli "$f" "$expr")
  check "$f"
  printf '%-28s %8d %10.3f %10.3f %12.0f %12.0f %7.2fx\n' "$(basename "$f" .mp4)" "$n" "$tv" "$tc" \
    "$(echo "$n / $tv" | bc -l)" "$(echo "$n / $tc" | bc -l)" "$(echo "$tv / $tc" | bc -l)"
done
echo "fps = source frames covered per wall second (N=$N samples each); ratio = vrlaif wall / ffmpeg CLI wall (goal: ≤ 0.5 long, ≤ 1.0 short)"
