#!/usr/bin/env bash
# Replay throughput of `swipetool replay` on ~10 M outcomes from Parquet
# (and the same stream as CSV), end to end: reading, typing, validation,
# engine, detection, incidents. Prints each run and the median.
#
#   bash benches/replay.sh [RUNS]      (default 3)
#
# The history files are generated once (benches/replay-10m.toml) under
# the target directory and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p swipetool
tool="$target/release/swipetool"
data="$target/bench-data"
mkdir -p "$data"
for ext in parquet csv; do
  if [ ! -s "$data/replay-10m.$ext" ]; then
    "$tool" simulate --scenario benches/replay-10m.toml --out "$data/replay-10m.$ext"
  fi
done
for ext in parquet csv; do
  rates=()
  for i in $(seq 1 "$runs"); do
    line=$(/usr/bin/time -f "maxrss_kb=%M" "$tool" replay "$data/replay-10m.$ext" \
      --labels "$data/replay-10m.labels.json" --report "$data/report.json" 2>"$data/time.txt" \
      | grep '^replayed')
    rss=$(grep -o 'maxrss_kb=[0-9]*' "$data/time.txt" | cut -d= -f2)
    echo "$ext run $i: $line; max RSS $((rss / 1024)) MiB"
    rates+=("$(echo "$line" | grep -o '[0-9]* rows/s' | cut -d' ' -f1)")
  done
  median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$ext median: $median rows/s over $runs runs"
done
