#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time (registered with ctest when VEIL_FUZZ=ON).
# Usage: run_fuzzer.sh FUZZER WORK_DIR SEED_DIR SECONDS [libFuzzer flags...]
# New corpus entries go to WORK_DIR/corpus, crash reproducers to WORK_DIR/crash-*; the
# seed directory is only read. Exits non-zero if the fuzzer finds a crash or leak.
set -euo pipefail
fuzzer=$1 work=$2 seeds=$3 seconds=$4
shift 4
mkdir -p "$work/corpus"
exec "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$work/" "$@" "$work/corpus" "$seeds"
