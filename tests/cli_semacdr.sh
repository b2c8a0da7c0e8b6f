#!/bin/sh
# vkrec train --model semacdr and SASRec's --item-views end to end on the bundled sample: the views'
# inputs are read from DIR (item_emb.npy, agnostic.npy) or --agnostic FILE (.npy or CSV), a missing
# input is a clear error naming the command that makes it, a bad category names the item, the
# ablation flags name their rows, the JSON rows carry both protocols, and vkrec run --models trains
# the models named only.
# usage: cli_semacdr.sh VKREC SOURCE_DIR
. "$(dirname "$0")/cli_sample.sh"
T="--target Food --epochs 1 --patience 0 --hidden 16 --max-len 8 --batch 128 --blocks 1 --device cpu --quiet"
# inputs missing: the inner view asks for vkrec embed, the agnostic one for vkrec categories
if "$V" train "$D" --model semacdr $T > "$d/out" 2>&1; then echo "semacdr ran without item_emb.npy"; exit 1; fi
grep -q 'vkrec embed' "$d/out"
"$V" embed "$D" --source text --quiet
if "$V" train "$D" --model semacdr $T > "$d/out" 2>&1; then echo "semacdr ran without agnostic.npy"; exit 1; fi
grep -q 'vkrec categories' "$d/out"
"$V" categories "$D" --k 4 --quiet
"$V" train "$D" --model semacdr $T --protocol full,sampled:100 --json "$d/s.json"
tr -d ' \t\n' < "$d/s.json" > "$d/j"
grep -q '"model":"semacdr","domain":"Food","protocol":"full"' "$d/j"
grep -q '"model":"semacdr","domain":"Food","protocol":"sampled:100"' "$d/j"
# the ablations and the paper's BPR name their rows; each model refuses the other's loss
"$V" train "$D" --model semacdr $T --item-views id --no-graph --no-cross-fusion --fixed-fusion --loss bpr --protocol full \
  --json "$d/a.json"
tr -d ' \t\n' < "$d/a.json" | grep -q '"model":"semacdr-idonly-nograph-nocross-avgfusion-bpr"'
if "$V" train "$D" --model semacdr $T --loss bce > "$d/out" 2>&1; then echo "semacdr took --loss bce"; exit 1; fi
grep -q 'bce is SASRec' "$d/out"
if "$V" train "$D" --model sasrec $T --loss bpr > "$d/out" 2>&1; then echo "sasrec took --loss bpr"; exit 1; fi
grep -q 'bpr is SemaCDR' "$d/out"
# categories from a given .npy; one out of range names its item
cp "$D/agnostic.npy" "$d/k4.npy"
"$V" train "$D" --model semacdr $T --agnostic "$d/k4.npy" --protocol full > /dev/null
python3 - "$d/k4.npy" "$d/bad.npy" <<'PY'
import struct, sys
raw = bytearray(open(sys.argv[1], "rb").read())
hlen = struct.unpack("<H", raw[8:10])[0]
off = 10 + hlen + 8 * 5  # item 5's category
raw[off:off + 4] = struct.pack("<i", -5)
open(sys.argv[2], "wb").write(raw)
PY
if "$V" train "$D" --model semacdr $T --agnostic "$d/bad.npy" > "$d/out" 2>&1; then echo "category -5 accepted"; exit 1; fi
grep -q 'item 5 .*category -5' "$d/out"
# SASRec with the views plug-in: its own row label and checkpoint directory
"$V" train "$D" --model sasrec --item-views id,inner,agnostic $T --protocol full --ckpt "$d/ck" --json "$d/v.json"
tr -d ' \t\n' < "$d/v.json" | grep -q '"model":"sasrec-bce+views"'
test -f "$d/ck/sasrec-bce-target+views-Food/best.safetensors"
if "$V" train "$D" --model semacdr $T --item-views id,colour > "$d/out" 2>&1; then echo "bad view accepted"; exit 1; fi
grep -q "unknown view 'colour'" "$d/out"
# vkrec run --models: only the models named, no tokenizer without GenCDR, unknown names refused
"$V" run "$D" --out "$d/run" --models pop --device cpu --quiet
grep -q '| pop | Food | full' "$d/run/report.md"
if grep -q 'sasrec' "$d/run/report.md"; then echo "run trained a model not in --models"; exit 1; fi
test ! -e "$d/run/data/semantic_ids.npy"
# the views plug-in in run: the text and categories are derived in memory for it too
"$V" run "$D" --out "$d/run3" --models sasrec-bce --item-views id,inner,agnostic --epochs 1 --hidden 16 --max-len 8 \
  --blocks 1 --device cpu --quiet
grep -q '| sasrec-bce+views | Food | full' "$d/run3/report.md"
if "$V" run "$D" --out "$d/run2" --models pop,bogus > "$d/out" 2>&1; then echo "bogus model accepted"; exit 1; fi
grep -q "unknown model 'bogus'" "$d/out"
echo semacdr-ok
