#!/bin/sh
# Builds the data fuzz targets (clang + libFuzzer + ASan/UBSan) and runs each for SECONDS
# (default 120), growing a scratch corpus seeded from tests/fuzz_data/corpus/<target>.
# Usage: tests/fuzz_data/run.sh [SECONDS] [TARGET...]   (targets: llmcdsr c2dsr amazon csv dataset)
# Findings are written as crash-*/leak-*/timeout-* files in the current directory; reproduce one
# with: $BUILD/tests/fuzz_data/fuzz_<target> <file>. Item counts up to 2^24 are legal, and creating
# that many items takes seconds, hence the 60 s timeout.
set -eu
cd "$(dirname "$0")/../.."
SECS=${1:-120}
[ $# -gt 0 ] && shift
TARGETS=${*:-"llmcdsr c2dsr amazon csv dataset"}
BUILD=${BUILD:-build-fuzz}
CC=clang cmake -S . -B "$BUILD" -DVKR_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
for t in $TARGETS; do cmake --build "$BUILD" --target "fuzz_$t" -j "$(nproc)" >/dev/null; done
for t in $TARGETS; do
  work="$BUILD/fuzz_corpus/$t"
  mkdir -p "$work"
  echo "== fuzz_$t for ${SECS}s"
  "$BUILD/tests/fuzz_data/fuzz_$t" -max_total_time="$SECS" -max_len=16384 -timeout=60 -rss_limit_mb=4096 \
    -print_final_stats=1 "$work" "tests/fuzz_data/corpus/$t"
done
