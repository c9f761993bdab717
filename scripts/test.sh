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
# -O1 -g1 (as the sanitizers' documentation suggests): symbolized stacks, a faster compile.
scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DVEIL_SANITIZE=ON -DVEIL_BUILD_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 1800 -LE slow

echo "== libFuzzer targets (bounded time)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DVEIL_FUZZ=ON -DVEIL_BUILD_TESTS=OFF \
  -DVEIL_BUILD_BENCH=OFF -DVEIL_FUZZ_SECONDS=30 >/dev/null
cmake --build build-fuzz -j"$jobs" --target veil_fuzzers
# The fuzzers are independent and CPU-bound: one per core.
ctest --test-dir build-fuzz --output-on-failure -j"$jobs" --timeout 600
