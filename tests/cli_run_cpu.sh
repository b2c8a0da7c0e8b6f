#!/bin/sh
# vkrec run --device cpu: one backend serves every stage. Each stage records what it ran on (metrics.json
# "backends", the report's timings, item_emb.json and tokenizer.json), and VKR_DEVICE names no device, so
# a stage that opened a Vulkan device of its own would fail the run.
# usage: cli_run_cpu.sh VKREC SOURCE_DIR
set -eu
V=$1
SRC=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
"$V" prepare --format llmcdsr "$SRC/assets/food-kitchen-sample" --min-item 5 --min-user 2 \
  --domain-names Food,Kitchen --out "$d/data" --quiet
VKR_DEVICE=no-such-gpu "$V" run "$d/data" --out "$d/run" --device cpu --epochs 1 --max-len 8 --hidden 16 --blocks 1 \
  --beam 5 --tokenizer-epochs 2 --protocol full,sampled:100 --quiet
r=$d/run
tr -d ' \t\n' < "$r/metrics.json" > "$d/metrics.txt"
for stage in embed tokenize sasrec-bce sasrec-ce gencdr maps; do
  grep -q "\"backends\":{[^}]*\"$stage\":\"cpu\"" "$d/metrics.txt" || { echo "stage $stage did not run on the CPU backend"; exit 1; }
  grep -q "^| $stage | cpu | " "$r/report.md"
done
grep -q '"device":"cpu"' "$d/metrics.txt"
tr -d ' \t\n' < "$d/data/item_emb.json" | grep -q '"device":"cpu"'
tr -d ' \t\n' < "$d/data/tokenizer.json" | grep -q '"device":"cpu"'
grep -q 'Maps skipped: t-SNE needs a Vulkan device' "$r/report.md"
grep -q '| gencdr | Food | full |' "$r/report.md"
grep -q '| sasrec-ce | Kitchen | sampled:100 |' "$r/report.md"
echo run-cpu-ok
