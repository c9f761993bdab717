#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds veil and runs every test three ways:
# a release build, an AddressSanitizer+UndefinedBehaviorSanitizer build, and libFuzzer
# targets (clang) for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

echo "== release build"
scripts/build.sh build -DCMAKE_BUILD_TYPE=Release
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 900

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVEIL_SANITIZE=ON -DVEIL_BUILD_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 1800 -LE slow

echo "== libFuzzer targets (bounded time)"
CC=clang CXX=clang++ scripts/build.sh build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVEIL_FUZZ=ON \
  -DVEIL_BUILD_TESTS=OFF -DVEIL_BUILD_BENCH=OFF
# The fuzzers are independent and CPU-bound: one per core.
ctest --test-dir build-fuzz --output-on-failure -j"$jobs" --timeout 600
