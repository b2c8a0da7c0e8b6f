#!/bin/sh
# Hostile campaign, checkpoints and outputs (issue 13 classes 5, 6, 7 and 9): bit flips and truncations
# of checkpoints (recommend and train --resume must refuse them), re-signed checkpoints with hostile loop
# metadata, --resume and --data pairs that do not match the checkpoint, outputs aimed at the command's
# own inputs or at files vkrec did not write, concurrent writers of one target, and kills of a tiny
# `vkrec run --device cpu` at random points (no old report beside new checkpoints; the re-run succeeds
# and removes what the killed run left).
# usage: sh h_outputs.sh VKREC SOURCE_DIR
. "$2/tests/hostile/common.sh"
hostile_init outputs "$1"
case $V in /*) ;; *) V=$PWD/$V ;; esac # the cases run in $W
cd "$W" || exit 1

# ---- fixtures: two tiny two-domain datasets from generated CSV (80 users, 20 items per domain) ----
mk_csv() { # SEED FILE
  awk -v seed="$1" 'BEGIN { srand(seed); print "user,item,timestamp,domain";
    for (u = 0; u < 80; u++) { t = 1000;
      for (k = 0; k < 12; k++) { d = (k % 2) ? "B" : "A"; i = int(rand() * 20); if (rand() < 0.5) i = u % 20;
        print "u" u "," d "i" i "," (t++) "," d } } }' > "$2"
}
mk_csv 7 a.csv
mk_csv 8 b.csv
Q="--device cpu --quiet"
M="--max-len 4 --hidden 8 --blocks 1 --heads 1 --protocol sampled:5"
R="$Q $M --epochs 1 --beam 2 --tokenizer-epochs 1"
"$V" prepare --format csv a.csv --out D --no-filter --quiet || { echo "fixture: prepare failed"; exit 1; }
"$V" prepare --format csv b.csv --out D2 --no-filter --quiet || exit 1
"$V" train D --target A $Q $M --epochs 2 --ckpt CK > /dev/null || { echo "fixture: train failed"; exit 1; }
"$V" run D --out RUN $R > /dev/null || { echo "fixture: run failed"; exit 1; }
SA=CK/sasrec-bce-target-A
G=RUN/checkpoints/gencdr
size() { wc -c < "$1" | tr -d ' '; }

# ---- 1. bit flips and truncations of checkpoints: recommend and train --resume refuse them ----
flip_cases() { # CKPT COUNT LABEL: recommend refuses COUNT copies of CKPT with one random bit flipped
  n=$(size "$1")
  for k in $(seq "$2"); do
    cp "$1" f.safetensors
    h_rand "$n" && off=$H_R && h_rand 8
    h_flip f.safetensors "$off" "$H_R"
    h_fail "recommend, flipped $3 checkpoint #$k" "$V" recommend --ckpt f.safetensors --user '#1' $Q
  done
}
h_guard D/data.bin D/dataset.json
flip_cases "$SA/best.safetensors" 30 "best SASRec"
flip_cases "$G/best.safetensors" 8 GenCDR
n=$(size "$SA/best.safetensors")
for k in $(seq 12); do
  h_rand "$n"
  head -c "$H_R" "$SA/best.safetensors" > f.safetensors
  h_fail "recommend, truncated best checkpoint #$k" "$V" recommend --ckpt f.safetensors --user '#1' $Q
done
n=$(size "$SA/last.safetensors")
for k in $(seq 15); do
  rm -rf C2 && cp -r CK C2
  h_rand "$n" && off=$H_R && h_rand 8
  if [ $((k % 3)) -eq 0 ]; then head -c "$off" "$SA/last.safetensors" > C2/sasrec-bce-target-A/last.safetensors
  else h_flip C2/sasrec-bce-target-A/last.safetensors "$off" "$H_R"; fi
  h_fail "train --resume, damaged last checkpoint #$k" "$V" train D --target A $Q $M --epochs 3 --ckpt C2 --resume
done
h_check_guard "checkpoint damage cases"

# ---- 2. --resume and --data that do not match the checkpoint ----
for opt in "--loss ce" "--lr 0.01" "--hidden 16" "--max-len 5" "--dropout 0.3" "--batch 64" "--seed 7" \
           "--blocks 2" "--arch prenorm"; do
  rm -rf C2 && cp -r CK C2
  # shellcheck disable=SC2086
  h_fail "train --resume with $opt" "$V" train D --target A $Q $M --epochs 3 --ckpt C2 --resume $opt
done
rm -rf C2 && cp -r CK C2
h_fail "train --resume on another dataset" "$V" train D2 --target A $Q $M --epochs 3 --ckpt C2 --resume
h_fail "train --resume without a checkpoint" "$V" train D --target A $Q $M --epochs 3 --ckpt NOCK --resume
h_fail "train --resume, target of another checkpoint" "$V" train D --target B $Q $M --epochs 3 --ckpt C2 --resume
h_ok "train --resume, same settings" "$V" train D --target A $Q $M --epochs 3 --ckpt C2 --resume
h_fail "recommend --data another dataset (SASRec)" "$V" recommend --ckpt "$SA" --user '#1' --data D2 $Q
h_ok "recommend, its own dataset" "$V" recommend --ckpt "$SA" --user '#1' $Q
h_ok "recommend GenCDR, its own dataset" "$V" recommend --ckpt "$G" --user '#1' $Q
mkdir X
cp D/data.bin D/dataset.json RUN/data/semantic_ids.npy X/
h_ok "recommend GenCDR --data a copy of its dataset" "$V" recommend --ckpt "$G" --user '#1' --data X $Q
h_fail "recommend GenCDR --data another dataset" "$V" recommend --ckpt "$G" --user '#1' --data D2 $Q
n=$(size X/semantic_ids.npy)
h_flip X/semantic_ids.npy $((n - 2)) 0
h_fail "recommend GenCDR, other semantic IDs" "$V" recommend --ckpt "$G" --user '#1' --data X $Q

# ---- 3. re-signed checkpoints with hostile metadata (python rewrites the header and its digest) ----
resign() { # IN OUT-PREFIX "KEY VALUE"...: OUT-PREFIX<i>.safetensors for the i-th edit (VALUE "-": drop KEY)
  r_src=$1 r_prefix=$2 r_i=0
  shift 2
  for r_edit in "$@"; do
    r_i=$((r_i + 1))
    h_sign "$r_src" "$r_prefix$r_i.safetensors" "${r_edit%% *}" "${r_edit#* }"
  done
}
if command -v python3 > /dev/null; then
  set -- "epoch -1" "epoch abc" "epoch 99999999999" "epoch 0" "best_epoch 9" "bad_epochs 4294967295" \
         "best_hr10 nan" "best_hr10 2" "best_hr10 -" "vkrec.lr 0.5" "epoch 2"
  resign "$SA/last.safetensors" L "$@"
  i=0
  for kv in "$@"; do
    i=$((i + 1))
    rm -rf C2 && cp -r CK C2 && cp "L$i.safetensors" C2/sasrec-bce-target-A/last.safetensors
    if [ "$kv" = "epoch 2" ]; then
      h_ok "train --resume, re-signed unchanged checkpoint" "$V" train D --target A $Q $M --epochs 3 --ckpt C2 --resume
    else
      h_fail "train --resume, last checkpoint with $kv" "$V" train D --target A $Q $M --epochs 3 --ckpt C2 --resume
    fi
  done
  set -- "vkrec.loss bcf" "vkrec.input all" "vkrec.arch postnorm" "vkrec.hidden 9" "vkrec.dataset -"
  resign "$SA/best.safetensors" B "$@"
  i=0
  for kv in "$@"; do
    i=$((i + 1))
    h_fail "recommend, best checkpoint with $kv" "$V" recommend --ckpt "B$i.safetensors" --user '#1' $Q
  done
fi
sed 's/vkrec\.digest/vkrec.digesT/' "$SA/best.safetensors" > f.safetensors
h_fail "recommend, checkpoint without its digest" "$V" recommend --ckpt f.safetensors --user '#1' $Q
sed 's/"fnv1a64:\([0-9a-f]*\)"/"FNV1A64:\1"/' "$SA/best.safetensors" > f.safetensors
h_fail "recommend, checkpoint with a malformed digest" "$V" recommend --ckpt f.safetensors --user '#1' $Q

# ---- 4. outputs aimed at inputs, or at files vkrec did not write ----
cp -r D IN
ln -s IN/dataset.json link.json
echo "my notes" > notes.txt
echo "[1, 2]" > old.json
h_guard IN/data.bin IN/dataset.json notes.txt "$SA/best.safetensors" RUN/data/item_emb.npy
h_fail "train --json onto the dataset's data.bin" "$V" train IN --model pop --quiet --json IN/data.bin
h_fail "train --json onto dataset.json by a link" "$V" train IN --model pop --quiet --json link.json
h_fail "train --json onto dataset.json, --force" "$V" train IN --model pop --quiet --json IN/dataset.json --force
h_fail "train --json onto a file that is not JSON" "$V" train IN --model pop --quiet --json notes.txt
h_fail "recommend --json onto its checkpoint" "$V" recommend --ckpt "$SA" --user '#1' $Q --json "$SA/best.safetensors"
h_fail "recommend --all --out onto a file that is not CSV" "$V" recommend --ckpt "$SA" --all --out notes.csv.txt $Q
cp notes.txt notes.csv
h_fail "recommend --all --out onto a CSV of another kind" "$V" recommend --ckpt "$SA" --all --out notes.csv $Q
h_fail "tsne --out onto its input embedding" "$V" tsne RUN/data --out RUN/data/item_emb.npy --quiet
h_check_guard "output guard cases"
cp RUN/data/item_emb.npy notmap.npy
h_guard notmap.npy
h_fail "tsne --out onto an embedding (not a map)" "$V" tsne RUN/data --out notmap.npy --quiet
h_check_guard "tsne onto an embedding"
h_ok "train --json replacing its earlier JSON" "$V" train IN --model pop --quiet --json old.json
h_ok "train --json onto a file that is not JSON, --force" "$V" train IN --model pop --quiet --json notes.txt --force
cp RUN/data/semantic_ids.npy ids.before
mkdir RUN/data/tokenizer.json.d && mv RUN/data/tokenizer.json t.json && mv RUN/data/tokenizer.json.d RUN/data/tokenizer.json
h_fail "tokenize with an unwritable tokenizer.json" "$V" tokenize RUN/data --device cpu --epochs 1 --quiet
cmp -s ids.before RUN/data/semantic_ids.npy || { H_SILENT=$((H_SILENT + 1)); echo "MIXED: tokenize replaced semantic_ids.npy and failed"; }
rmdir RUN/data/tokenizer.json && mv t.json RUN/data/tokenizer.json

# ---- 5. concurrent writers of one target ----
in_use() { # DESC CMD...: CMD must fail saying the target is in use
  h_fail "$@"
  grep -q "in use" "$W/out" || { H_SILENT=$((H_SILENT + 1)); echo "NOT A LOCK ERROR: $1"; tail -2 "$W/out"; }
}
# each holder keeps its lock until `release` exists (a fixed sleep would expire on a loaded machine)
hold_lock() { # LOCKFILE: holds it in the background; returns once it is held
  flock "$1" sh -c 'touch "$1.held"; while [ ! -e release ]; do sleep 0.05; done' sh "$1" &
  while [ ! -e "$1.held" ]; do sleep 0.05; done
}
mkdir -p CK
hold_lock RUN/.vkrec.lock
hold_lock D.lock
hold_lock CK/.vkrec.lock
in_use "run --out a directory in use" "$V" run D --out RUN $R
in_use "prepare --force a dataset in use" "$V" prepare --format csv a.csv --out D --no-filter --force --quiet
in_use "train --ckpt a directory in use" "$V" train D --target A $Q $M --ckpt CK
touch release
wait
rm -f release RUN/.vkrec.lock.held D.lock.held CK/.vkrec.lock.held
"$V" run D --out RUN2 $R > first.out 2>&1 & first=$!
# the second run starts once the first holds the lock (it may not have started yet on a loaded machine)
until [ -e RUN2/.vkrec.lock ] && ! flock -n RUN2/.vkrec.lock true; do kill -0 $first 2> /dev/null || break; sleep 0.02; done
in_use "a second run --out the same directory" "$V" run D --out RUN2 $R
wait $first || { H_SILENT=$((H_SILENT + 1)); echo "the first of two concurrent runs failed"; cat first.out; }
H_CASES=$((H_CASES + 1))

# ---- 6. kills at random points of a run; the re-run cleans up ----
mixed_check() { # DIR: a report.md must be newer than every checkpoint (else the old run's report survives)
  H_CASES=$((H_CASES + 1))
  if [ -f "$1/report.md" ] && [ -n "$(find "$1/checkpoints" -newer "$1/report.md" -type f 2> /dev/null)" ]; then
    H_SILENT=$((H_SILENT + 1))
    echo "MIXED OUTPUTS after a kill: $1/report.md is older than its checkpoints"
  fi
}
for k in $(seq 6); do
  h_rand 16
  tenths=$((H_R + 1))
  timeout -s KILL "$((tenths / 10)).$((tenths % 10))" "$V" run a.csv --format csv --no-filter --out K $R > /dev/null 2>&1
  mixed_check K
done
mkdir -p K/data.tmp-stale K/checkpoints/gencdr
echo x > K/data.tmp-stale/data.bin
echo x > K/metrics.json.tmp-99999999-0
echo x > K/checkpoints/gencdr/last.safetensors.tmp-99999999-3
h_ok "re-run after kills" "$V" run a.csv --format csv --no-filter --out K $R
H_CASES=$((H_CASES + 1))
left=$(find K -name '*.tmp-*' | head -3)
if [ -n "$left" ] || [ ! -f K/report.md ]; then
  H_SILENT=$((H_SILENT + 1))
  echo "the re-run left temporaries or no report: $left"
fi
mixed_check K

hostile_finish
