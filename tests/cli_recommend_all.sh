#!/bin/sh
# vkrec recommend --all end to end on a small dense subset of the bundled sample: the CSV and JSON
# lists (one block of K rows per test example, valid item ids, the same rows in both), and the hit
# rate of the targets in the file equal, as counts, to `vkrec train --exclude-history`'s HR@K at every
# cut-off, for SASRec (default device, validation on) and GenCDR's beam search (CPU backend), each also
# with SemaCDR's item views as a plug-in (rebuilt from the checkpoint's metadata), and SemaCDR.
# usage: cli_recommend_all.sh VKREC SOURCE_DIR
. "$(dirname "$0")/cli_sample.sh"
fail() {
    echo "cli_recommend_all.sh: $*" >&2
    exit 1
}
items=$(tr -d ' \t\n' < "$d/data/dataset.json" | grep -o '^{"users":[0-9]*,"items":[0-9]*' | sed 's/.*://')
small="--epochs 1 --max-len 8 --hidden 16 --blocks 1 --protocol full --exclude-history --cutoffs 1,5,10,50 --quiet"

# metric KEY DOMAIN FILE: the full protocol's KEY for DOMAIN in a metrics JSON
metric() {
    tr -d ' \t\n' < "$3" | sed 's/},{/}\n{/g' | grep "\"domain\":\"$2\",\"protocol\":\"full\"" |
        grep -o "\"$1\":[-0-9.e+]*" | sed 's/.*://'
}
# hits K DOMAIN FILE: "examples hits" of the JSON lists whose target DOMAIN is among the first K items
hits() {
    awk -v K="$1" -v D="$2" 'index($0, "\"domain\":\"" D "\",\"target\":") && match($0, /"target":"[^"]*"/) {
        t = substr($0, RSTART + 10, RLENGTH - 11); n++
        c = split($0, f, /\{"rank":/)
        for (i = 2; i <= c && i - 1 <= K; i++) if (index(f[i], "\"item_key\":\"" t "\"")) { h++; break }
    } END { print n + 0, h + 0 }' "$3"
}
# agree METRICS TOPK DOMAIN K...: the file's examples and hits equal the metrics' examples and HR@K
agree() {
    m=$1 top=$2 dom=$3
    shift 3
    n=$(metric examples "$dom" "$m")
    for k in "$@"; do
        want=$(awk -v h="$(metric "hr$k" "$dom" "$m")" -v n="$n" 'BEGIN { printf "%d %d", n, h * n + 0.5 }')
        got=$(hits "$k" "$dom" "$top")
        [ "$got" = "$want" ] || fail "$dom HR@$k: the lists give examples/hits '$got', the evaluation '$want'"
    done
}

# metrics.json records the choice per row: off by default for full ranking, always on for sampled
"$V" train "$d/data" --model pop --protocol full,sampled:100 --json "$d/pop.json" --quiet > /dev/null
rows=$(tr -d ' \t\n' < "$d/pop.json" | sed 's/},{/}\n{/g')
[ "$(echo "$rows" | grep '"protocol":"full"' | grep -c '"exclude_history":false')" -eq 2 ] ||
    fail "full rows of a default run do not say exclude_history false"
[ "$(echo "$rows" | grep '"protocol":"sampled:100"' | grep -c '"exclude_history":true')" -eq 2 ] ||
    fail "sampled rows do not say exclude_history true"
"$V" train "$d/data" --target Kitchen $small --ckpt "$d/ck" --json "$d/m.json"
[ "$(tr -d ' \t\n' < "$d/m.json" | grep -o '"exclude_history":true' | wc -l)" -eq 1 ] ||
    fail "metrics.json does not record --exclude-history"
ck=$d/ck/sasrec-bce-target-Kitchen
"$V" recommend --ckpt "$ck" --all --k 50 --out "$d/top.csv" --quiet
"$V" recommend --ckpt "$ck" --all --k 50 --out "$d/top.json" --quiet
n=$(metric examples Kitchen "$d/m.json")
[ "$(head -1 "$d/top.csv")" = "user,rank,item_id,item_key,domain,score" ] || fail "top.csv has no header"
[ "$(wc -l < "$d/top.csv")" -eq $((n * 50 + 1)) ] || fail "top.csv does not hold 50 rows for each of $n examples"
# blocks: ranks 1..50 in order, one user per block, ids below the item count, Kitchen items only
awk -F, -v I="$items" 'NR > 1 {
    r = (NR - 2) % 50 + 1
    if ($2 != r) { print "row " NR ": rank " $2 ", expected " r; exit 1 }
    if (r == 1) u = $1; else if ($1 != u) { print "row " NR ": user changes inside a block"; exit 1 }
    if ($3 !~ /^[0-9]+$/ || $3 + 0 >= I) { print "row " NR ": item id " $3 " is not below " I; exit 1 }
    if ($5 != "Kitchen") { print "row " NR ": a " $5 " item from a Kitchen model"; exit 1 }
}' "$d/top.csv" || fail "top.csv blocks are malformed"
[ "$(grep -c '"target":' "$d/top.json")" -eq "$n" ] || fail "top.json does not hold $n lists"
# the JSON lists name the same rows as the CSV
sed -n 's/.*"user":"\([^"]*\)".*/\1/p' "$d/top.json" | awk '{ for (r = 1; r <= 50; r++) print $0 "," r }' > "$d/users.txt"
grep -o '"item_id":[0-9]*,"item_key":"[^"]*"' "$d/top.json" | sed 's/"item_id":\([0-9]*\),"item_key":"\(.*\)"/\1,\2/' > "$d/ids.txt"
paste -d, "$d/users.txt" "$d/ids.txt" > "$d/json_rows.txt"
tail -n +2 "$d/top.csv" | cut -d, -f1-4 | cmp - "$d/json_rows.txt" || fail "top.csv and top.json list different items"
agree "$d/m.json" "$d/top.json" Kitchen 1 5 10 50

# GenCDR, one model for both domains, on the CPU backend: beam search lists agree with its HR@K too (the
# checkpoint rebuilt from its metadata, a decoder width other than the default included)
"$V" embed "$d/data" --device cpu --quiet
"$V" tokenize "$d/data" --device cpu --epochs 2 --quiet
"$V" train "$d/data" --model gencdr --beam 10 --decoder-hidden 24 $small --cutoffs 1,5,10 --device cpu --ckpt "$d/ck" --json "$d/g.json"
"$V" recommend --ckpt "$d/ck/gencdr" --all --k 10 --out "$d/g.top.json" --device cpu --quiet
for dom in Food Kitchen; do agree "$d/g.json" "$d/g.top.json" "$dom" 1 5 10; done

# SemaCDR's item views as a plug-in of SASRec and GenCDR: the checkpoints rebuild the views, with the
# categories file training named (moved out of DIR, so only the recorded path finds it), and agree
"$V" categories "$d/data" --k 3 --device cpu --quiet
mv "$d/data/agnostic.npy" "$d/k3.npy"
views="--item-views id,inner,agnostic --agnostic $d/k3.npy"
"$V" train "$d/data" --target Kitchen $small $views --ckpt "$d/ck" --json "$d/sv.json"
"$V" recommend --ckpt "$d/ck/sasrec-bce-target+views-Kitchen" --all --k 50 --out "$d/sv.top.json" --quiet
agree "$d/sv.json" "$d/sv.top.json" Kitchen 1 5 10 50
mv "$d/k3.npy" "$d/k3.moved"
if "$V" recommend --ckpt "$d/ck/sasrec-bce-target+views-Kitchen" --user '#0' > /dev/null 2> "$d/err.txt"; then
    fail "recommend rebuilt the views without their categories file"
fi
grep -q "k3.npy" "$d/err.txt" || fail "the missing categories file is not named: $(cat "$d/err.txt")"
mv "$d/k3.moved" "$d/k3.npy"
"$V" train "$d/data" --model gencdr $views --beam 10 $small --cutoffs 1,5,10 --device cpu --ckpt "$d/ck" --json "$d/gv.json"
tr -d ' \t\n' < "$d/gv.json" | grep -q '"model":"gencdr+views"' || fail "GenCDR with views is not labelled gencdr+views"
"$V" recommend --ckpt "$d/ck/gencdr+views" --all --k 10 --out "$d/gv.top.json" --device cpu --quiet
for dom in Food Kitchen; do agree "$d/gv.json" "$d/gv.top.json" "$dom" 1 5 10; done
# SemaCDR's checkpoint: its components and views from the metadata
"$V" train "$d/data" --model semacdr --target Food --no-cross-fusion $small --agnostic "$d/k3.npy" --device cpu \
  --ckpt "$d/ck" --json "$d/sm.json"
"$V" recommend --ckpt "$d/ck/semacdr-nocross-Food" --all --k 50 --out "$d/sm.top.json" --device cpu --quiet
agree "$d/sm.json" "$d/sm.top.json" Food 1 5 10 50
if "$V" train "$d/data" --model gencdr --codes-only $views $small --device cpu 2> "$d/err.txt"; then
    fail "GenCDR --codes-only took the item views"
fi
grep -q "per-item embedding" "$d/err.txt" || fail "no clear --codes-only --item-views error: $(cat "$d/err.txt")"

# bad input: an unknown extension, --all without --out or with --user
if "$V" recommend --ckpt "$ck" --all --out "$d/top.txt" 2> "$d/err.txt"; then fail "--out top.txt was accepted"; fi
grep -q -- "--out .*top.txt.*\.csv or \.json" "$d/err.txt" || fail "no clear --out error: $(cat "$d/err.txt")"
[ ! -e "$d/top.txt" ] || fail "a refused --out was written"
if "$V" recommend --ckpt "$ck" --all 2> "$d/err.txt"; then fail "--all without --out was accepted"; fi
if "$V" recommend --ckpt "$ck" --all --user '#0' --out "$d/x.csv" 2> "$d/err.txt"; then fail "--all --user was accepted"; fi
grep -q -- "--user" "$d/err.txt" || fail "no clear --all --user error"
echo recommend-all-ok
