#!/bin/sh
# The real-GPU check, in one command on a machine with an NVIDIA, AMD or Intel GPU:
#   sh scripts/gpu-check.sh [OUT_DIR]
# Builds vkrec (Release, build-gpu/), checks that the device vkrec picks by default is a GPU, runs
# the whole test suite on it (validation layer on, as always), then `vkrec bench matmul train beam
# tsne` with PyTorch on CUDA as the training peer where torch sees a GPU (otherwise its CPU peer).
# It writes OUT_DIR (default docs/gpu/<device>): devices.json, ctest.log, bench.json, bench.txt and
# summary.md (device, driver, commit, test and bench results). The exit status is the suite's, or 2
# when no GPU is found.
# Environment: JOBS (parallel tests, default: cores / 2, at most 8), BENCH_RUNS (default 5),
# TSNE_SIZES (default 10000,100000).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
# missing packages need the network; a machine without one continues with what it has
sh scripts/install-deps.sh || echo "gpu-check: could not install every dependency; building with what is present" >&2
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build-gpu -j "$(nproc)" > build-gpu/build.log 2>&1 || { tail -30 build-gpu/build.log; exit 1; }
V=$root/build-gpu/cli/vkrec
json=$("$V" devices --json)
kind=$(printf '%s' "$json" | python3 -c 'import json,sys; d=[x for x in json.load(sys.stdin) if x.get("default")]; print(d[0]["type"] if d else "none")')
name=$(printf '%s' "$json" | python3 -c 'import json,sys; d=[x for x in json.load(sys.stdin) if x.get("default")]; print(d[0]["name"] if d else "none")')
if [ "$kind" = "CPU" ] || [ "$kind" = "none" ]; then
  echo "gpu-check: the default Vulkan device is '$name' ($kind): no GPU here" >&2
  exit 2
fi
slug=$(printf '%s' "$name" | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' | sed 's/^-//; s/-$//')
out=${1:-docs/gpu/$slug}
mkdir -p "$out"
printf '%s\n' "$json" > "$out/devices.json"
cores=$(nproc)
jobs=${JOBS:-$(( cores / 2 > 8 ? 8 : (cores / 2 > 0 ? cores / 2 : 1) ))}
echo "gpu-check: $name ($kind); tests with $jobs jobs" >&2
set +e
(cd build-gpu && ctest -j "$jobs" --output-on-failure) > "$out/ctest.log" 2>&1
tests=$?
set -e
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2> /dev/null; then
  export VKR_TORCH_DEVICE=cuda
fi
"$V" bench matmul train beam tsne --runs "${BENCH_RUNS:-5}" --sizes "${TSNE_SIZES:-10000,100000}" \
  --json "$out/bench.json" --force > "$out/bench.txt" 2>&1 || echo "gpu-check: bench failed (see $out/bench.txt)" >&2
{
  echo "# vkrec on $name"
  echo
  echo "- device: $name ($kind), $(printf '%s' "$json" | python3 -c 'import json,sys; d=[x for x in json.load(sys.stdin) if x.get("default")][0]; print("driver", d["driver"], "Vulkan", d["api_version"])')"
  echo "- commit: $(git rev-parse --short HEAD 2> /dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- training peer: PyTorch on ${VKR_TORCH_DEVICE:-cpu}"
  echo "- tests: $(grep -E 'tests passed|tests failed' "$out/ctest.log" | tail -1)"
  echo
  echo '```'
  cat "$out/bench.txt"
  echo '```'
} > "$out/summary.md"
cat "$out/summary.md"
exit $tests
