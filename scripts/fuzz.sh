#!/usr/bin/env bash
# Runs every libFuzzer target in tests/fuzz for SECONDS each, from a copy of its seed corpus.
#   scripts/fuzz.sh BUILD_DIR SECONDS
# Exits non-zero, naming the target and keeping the input under BUILD_DIR/crashes/<target>/,
# as soon as one finds a crash, a leak, undefined behaviour or a timeout.
set -euo pipefail
build="$1"
seconds="$2"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for fuzzer in record_fuzzer log_fuzzer snapshot_fuzzer manifest_fuzzer config_fuzzer pubsub_fuzzer \
    leaderboard_fuzzer session_fuzzer ratelimit_fuzzer envoy_fuzzer; do
  name="${fuzzer%_fuzzer}"
  work="$build/corpus/$name"
  crashes="$build/crashes/$name"
  mkdir -p "$work" "$crashes"
  cp -n "$root/tests/fuzz/corpus/$name/"* "$work/" 2>/dev/null || true
  echo "fuzz: $fuzzer for ${seconds}s"
  if ! "$build/tests/fuzz/$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=0 -artifact_prefix="$crashes/" "$work" > "$build/$name.log" 2>&1; then
    tail -n 40 "$build/$name.log"
    echo "fuzz: $fuzzer failed; the input is in $crashes" >&2
    exit 1
  fi
done
echo "fuzz: every target ran clean"
