#!/bin/sh
# Builds the libFuzzer targets with clang and runs each for N seconds (default 120), starting from
# the seed corpus in tests/fuzz/corpus_<target>/ (read-only) plus a scratch corpus in the build
# directory, with the token dictionary tests/fuzz/<target>.dict. Crashes are written to
# build-fuzz/crashes/<target>/ and fail the script.
#   usage: tests/fuzz/run.sh [seconds] [target...]     (targets: safetensors npy)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-120}
[ $# -gt 0 ] && shift
targets=${*:-safetensors npy}
build=${VKR_FUZZ_BUILD:-$root/build-fuzz}
command -v clang >/dev/null || { echo "run.sh: clang is required (apt-get install clang)" >&2; exit 2; }
cmake -S "$here" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
status=0
for t in $targets; do
  work="$build/corpus/$t"
  crashes="$build/crashes/$t"
  mkdir -p "$work" "$crashes"
  echo "== fuzz_$t for ${seconds}s"
  if ! "$build/fuzz_$t" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
        -dict="$here/$t.dict" -artifact_prefix="$crashes/" "$work" "$here/corpus_$t"; then
    echo "fuzz_$t FAILED: see $crashes" >&2
    status=1
  fi
done
exit $status
