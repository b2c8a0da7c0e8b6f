#!/bin/sh
# The main job end to end on a small dense subset of the bundled sample (validation on), then
# recommendations from its checkpoints: GPU and CPU backends agree, bad input fails clearly.
# usage: cli_run_tiny.sh VKREC SOURCE_DIR
set -eu
V=$1
SRC=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
"$V" prepare --format llmcdsr "$SRC/assets/food-kitchen-sample" --min-item 5 --min-user 2 \
  --domain-names Food,Kitchen --out "$d/data" --quiet
"$V" run "$d/data" --out "$d/run" --epochs 1 --max-len 8 --hidden 16 --blocks 1 --tokenizer-epochs 2 --quiet
r=$d/run
grep -q '| sasrec-ce | Kitchen | sampled:999 |' "$r/report.md"
grep -q '| gencdr | Food | full |' "$r/report.md"
grep -q '## Embedding maps' "$r/report.md"
grep -q '| fused | ' "$r/report.md"
for v in text semantic-ID ID fused; do test -s "$r/maps/$v.npy"; test -s "$r/maps/$v.png"; done
grep -q '"maps"' "$r/metrics.json"
grep -q '"hr10"' "$r/metrics.json"
grep -q '"beams"' "$r/beams.json"
# GenCDR: the one-submission GPU decode and the CPU backend's level-by-level decode agree
"$V" recommend --ckpt "$r/checkpoints/gencdr" --user '#0' --k 5 --json "$d/rec.json" > "$d/gpu.txt"
"$V" recommend --ckpt "$r/checkpoints/gencdr" --user '#0' --k 5 --device cpu > "$d/cpu.txt"
cmp "$d/gpu.txt" "$d/cpu.txt"
test "$(grep -c '^ *[1-5]\. ' "$d/gpu.txt")" -eq 10   # 5 per domain
grep -q '"recommendations"' "$d/rec.json"
"$V" recommend --ckpt "$r/checkpoints/sasrec-ce-target-Kitchen/best.safetensors" --user '#1' --k 3 > "$d/sas.txt"
test "$(grep -c '^ *[1-3]\. .*Kitchen' "$d/sas.txt")" -eq 3
# bad input: unknown user (usage error), a file without vkrec metadata, a SASRec checkpoint asked for another domain
if "$V" recommend --ckpt "$r/checkpoints/gencdr" --user no-such-user 2> "$d/err.txt"; then exit 1; fi
grep -q "no-such-user" "$d/err.txt"
if "$V" recommend --ckpt "$d/data/tokenizer.safetensors" --user '#0' 2> "$d/err.txt"; then exit 1; fi
grep -q "vkrec.model" "$d/err.txt"
if "$V" recommend --ckpt "$r/checkpoints/sasrec-ce-target-Kitchen" --user '#1' --domain Food 2> "$d/err.txt"; then exit 1; fi
grep -q "ranks Kitchen items" "$d/err.txt"
echo run-ok
