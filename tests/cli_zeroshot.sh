#!/bin/sh
# Zero-shot transfer (LLM-RecG) from the command line on the bundled sample: vkrec train
# --train-domains reports the zero-shot models, pop and the ceiling for the other domain only, tagged
# with their source; bad requests fail naming the cause (unknown domain, no domain left, another
# model, co-occurrence vectors); GRU4Rec's encoder names its rows; vkrec run --zero-shot covers both
# directions.
# usage: cli_zeroshot.sh VKREC SOURCE_DIR
. "$(dirname "$0")/cli_sample.sh"
T="--epochs 1 --patience 0 --hidden 16 --max-len 8 --blocks 1 --device cpu --quiet --protocol full,sampled:100"
# expect_error MESSAGE ARGS...: vkrec train fails with MESSAGE
expect_error() {
  msg=$1
  shift
  if "$V" train "$D" "$@" $T > "$d/out" 2>&1; then echo "accepted: $*"; exit 1; fi
  grep -q -- "$msg" "$d/out" || { echo "no '$msg' for $*: $(cat "$d/out")"; exit 1; }
}
"$V" embed "$D" --source cooc --quiet
expect_error "co-occurrence vectors" --train-domains Food
"$V" embed "$D" --source text --quiet
expect_error "'Books' is not a domain" --train-domains Books
expect_error "no other domain" --train-domains Food,Kitchen
expect_error "no other domain" --train-domains Food --target Food
expect_error "semacdr has no zero-shot mode" --train-domains Food --model semacdr
expect_error "write no checkpoints" --train-domains Food --ckpt "$d/ck"
"$V" train "$D" --train-domains Food --zero-shot-models base,item+seq $T --json "$d/z.json"
tr -d ' \t\n' < "$d/z.json" > "$d/j"
for m in zs-sem zs-sem+item+seq pop sem-on-target; do
  grep -q "\"model\":\"$m\",\"domain\":\"Kitchen\",\"protocol\":\"sampled:100\"" "$d/j" || { echo "no $m row"; exit 1; }
done
! grep -q '"domain":"Food"' "$d/j" || { echo "a Food row in a Food-trained zero-shot run"; exit 1; }
grep -q '"model":"zs-sem","domain":"Kitchen","protocol":"full",[^}]*"trained_on":"Food","zero_shot":true' "$d/j"
grep -q '"model":"pop","domain":"Kitchen","protocol":"full",[^}]*"trained_on":"Kitchen","zero_shot":false' "$d/j"
! grep -q '"model":"zs-sem+item",' "$d/j" || { echo "zs-sem+item was not asked for"; exit 1; }
# GRU4Rec's encoder: zero-shot and ordinary rows name it
"$V" train "$D" --train-domains Food --encoder gru --zero-shot-models base --no-ceiling $T --json "$d/g.json"
tr -d ' \t\n' < "$d/g.json" | grep -q '"model":"zs-gru","domain":"Kitchen"'
"$V" train "$D" --encoder gru --target Kitchen $T --json "$d/g.json"
tr -d ' \t\n' < "$d/g.json" | grep -q '"model":"gru4rec-bce","domain":"Kitchen"'
# three domains (a small CSV): two sources, the third the target; ce needs one source
mkdir "$d/three"
echo "item,domain,title" > "$d/three/items.csv"
for x in A B C; do
  for i in 0 1 2 3 4 5 6 7 8 9; do echo "$x$i,$x,shade$i tone$((i % 3)) kind$x" >> "$d/three/items.csv"; done
done
echo "user,item,timestamp,domain" > "$d/three/interactions.csv"
for u in $(seq 0 59); do
  for t in 0 1 2 3 4 5 6 7 8; do
    x=$(echo A B C | cut -d' ' -f$((t % 3 + 1)))
    echo "u$u,$x$(((u + t) % 10)),$t,$x" >> "$d/three/interactions.csv"
  done
done
"$V" prepare "$d/three" --no-filter --out "$d/three-data" --quiet
"$V" embed "$d/three-data" --source text --dim 8 --quiet
"$V" train "$d/three-data" --train-domains A,B --zero-shot-models base $T --protocol full,sampled:5 --json "$d/t.json"
tr -d ' \t\n' < "$d/t.json" > "$d/j"
grep -q '"model":"zs-sem","domain":"C","protocol":"full",[^}]*"trained_on":"A,B","zero_shot":true' "$d/j"
! grep -q '"domain":"[AB]"' "$d/j" || { echo "a source-domain row"; exit 1; }
if "$V" train "$d/three-data" --train-domains A,B --loss ce $T --protocol full > "$d/out" 2>&1; then echo "ce over two sources ran"; exit 1; fi
grep -q "train on several domains with bce" "$d/out"
# GenCDR over Kitchen's trie, from IDs learned on the item text
"$V" tokenize "$D" --method rkmeans --levels 2 --codes 16 --device cpu --quiet
"$V" train "$D" --model gencdr --train-domains Food --no-ceiling $T --json "$d/c.json"
tr -d ' \t\n' < "$d/c.json" | grep -q '"model":"zs-gencdr","domain":"Kitchen","protocol":"full",[^}]*"trained_on":"Food","zero_shot":true'
# both directions in the main job
"$V" run "$D" --out "$d/run" --models pop --zero-shot --zero-shot-models base --no-ceiling $T
tr -d ' \t\n' < "$d/run/metrics.json" > "$d/j"
grep -q '"model":"zs-sem","domain":"Kitchen"' "$d/j"
grep -q '"model":"zs-sem","domain":"Food"' "$d/j"
echo zeroshot-ok
