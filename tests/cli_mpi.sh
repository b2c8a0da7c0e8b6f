#!/bin/sh
# Data-parallel training over MPI on the bundled sample: `mpirun -np 2 vkrec train` gives the losses
# and metrics of one process with the same global batch (SASRec BCE and GenCDR on the CPU backend,
# SASRec CE on the default Vulkan device, whose step then runs around the host all-reduce), a
# checkpoint written by 2 ranks resumes in 1 process exactly as an uninterrupted run, a batch the
# ranks cannot split is refused, a failing rank ends the job naming itself, and commands that are not
# data-parallel refuse to run under mpirun.
# Tolerance: every loss and metric within 1e-4 (the ranks' gradient sums round differently from one
# process's; dropout is off because its masks are drawn per row of the rank's own batch).
# usage: cli_mpi.sh VKREC SOURCE_DIR MPIEXEC
. "$(dirname "$0")/cli_sample.sh"
MPI=$3
# root is allowed; one node needs no ssh (plm isolated); containers forbid the single-copy mechanism
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_plm=isolated \
  OMPI_MCA_btl_vader_single_copy_mechanism=none
two() { "$MPI" -np 2 --oversubscribe "$V" "$@"; }
T="train $D --target Food --epochs 2 --patience 0 --dropout 0 --hidden 16 --max-len 12 --quiet --protocol full,sampled:100"
# same A.json B.json: every row's metrics and training curve agree within 1e-4
same() {
  python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert len(a) == len(b) and a, (len(a), len(b))
for x, y in zip(a, b):
    for k in ("hr5", "hr10", "ndcg5", "ndcg10", "mrr"):
        assert abs(x[k] - y[k]) <= 1e-4, (x["model"], x["domain"], x["protocol"], k, x[k], y[k])
    cx, cy = x["training"]["curve"], y["training"]["curve"]
    for k in ("loss", "valid_hr10"):
        assert len(cx[k]) == len(cy[k]), k
        for u, v in zip(cx[k], cy[k]):
            assert abs(u - v) <= 1e-4 * max(1.0, abs(u)), (x["model"], k, cx[k], cy[k])
PY
}
"$V" $T --model sasrec --device cpu --json "$d/one.json"
two $T --model sasrec --device cpu --json "$d/two.json"
same "$d/one.json" "$d/two.json" || { echo "SASRec BCE: 2 ranks differ from 1 process"; exit 1; }
"$V" $T --model sasrec --loss ce --json "$d/one-ce.json"
two $T --model sasrec --loss ce --json "$d/two-ce.json"
same "$d/one-ce.json" "$d/two-ce.json" || { echo "SASRec CE on Vulkan: 2 ranks differ from 1 process"; exit 1; }
"$V" embed "$D" --source cooc --quiet
"$V" tokenize "$D" --quiet
"$V" $T --model gencdr --device cpu --json "$d/one-g.json"
two $T --model gencdr --device cpu --json "$d/two-g.json"
same "$d/one-g.json" "$d/two-g.json" || { echo "GenCDR: 2 ranks differ from 1 process"; exit 1; }
# a checkpoint of 2 ranks resumes in 1 process: epoch 2 as in the uninterrupted run
R="train $D --target Food --patience 0 --dropout 0 --hidden 16 --max-len 12 --quiet --protocol full --model sasrec --device cpu"
two $R --epochs 1 --ckpt "$d/ck"
"$V" $R --epochs 2 --ckpt "$d/ck" --resume --json "$d/resumed.json"
"$V" $R --epochs 2 --json "$d/straight.json"
same "$d/resumed.json" "$d/straight.json" || { echo "resuming with another rank count changed the run"; exit 1; }
if two $T --model sasrec --device cpu --batch 5 > "$d/out" 2>&1; then echo "an odd batch was split"; exit 1; fi
grep -q "batch 5 cannot be split evenly between 2 ranks" "$d/out" || { echo "no batch message: $(cat "$d/out")"; exit 1; }
if two $T --model sasrec --device cpu,nodevice > "$d/out" 2>&1; then echo "a failing rank went unnoticed"; exit 1; fi
grep -q "rank 1 of 2 failed" "$d/out" && grep -q "'nodevice' matches none" "$d/out" ||
  { echo "the failing rank is not named: $(cat "$d/out")"; exit 1; }
if two prepare --format llmcdsr "$SRC/assets/food-kitchen-sample" --out "$d/p2" > "$d/out" 2>&1; then
  echo "prepare ran under mpirun"; exit 1
fi
grep -q "not data-parallel" "$d/out" || { echo "no data-parallel refusal: $(cat "$d/out")"; exit 1; }
echo mpi-ok
