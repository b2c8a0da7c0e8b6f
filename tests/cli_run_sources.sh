#!/bin/sh
# `vkrec run SRC` on sources other than the bundled sample, on the CPU backend: a tiny C2DSR release
# (format found from its files, domains named A and B as the format names them), a tiny CSV directory
# (domains from its domain column) trained over two seeds (mean ± std in the report, every seed's
# values and the summary in metrics.json, one checkpoint directory and one set of semantic IDs per
# seed, training curves) and then `vkrec train --seeds 2` on it, prepare finding CSV files and an Amazon
# directory, and bad sources that fail with a message naming the path.
# usage: cli_run_sources.sh VKREC HAVE_VIEWER(0|1)
set -eu
V=$1
VIEWER=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
common="--device cpu --epochs 2 --max-len 8 --hidden 16 --blocks 1 --beam 5 --tokenizer-epochs 2"
common="$common --protocol full,sampled:100 --quiet"
domains() {
  tr -d ' \t\n' < "$1/dataset.json" | grep -o '"domains":\[.*' | grep -o '"name":"[^"]*"' | tr '\n' ' '
}

# The fixtures: 500 items per domain in 25 topics (titles name the topic); each user stays in one topic,
# 10 events alternating domains. events N SEED prints "user<TAB>domain(0|1)<TAB>item<TAB>time".
events() { awk -v n="$1" -v seed="$2" 'BEGIN { srand(seed); for (u = 0; u < n; u++) { t = int(rand() * 25);
  for (e = 0; e < 10; e++) print u "\t" e % 2 "\t" t * 20 + int(rand() * 20) "\t" 1000 * u + e } }'; }
# "item<TAB>title" per item of a domain
titles() { awk 'BEGIN { split("red green blue black white silver golden", c, " ");
  split("small large light heavy classic modern", s, " "); split("oak iron glass wool clay", m, " ");
  for (i = 0; i < 500; i++) { t = int(i / 20);
    print i "\ttopic" t " " c[t % 7 + 1] " " s[i % 6 + 1] " " m[int(t / 7) % 5 + 1] } }'; }

# C2DSR layout: Alist.txt, Blist.txt, titles under derived/, no training file (as the public copies)
mkdir -p "$d/c2dsr/derived"
for x in A B; do
  titles | awk -F '\t' -v x=$x '{ print 1000 * (x == "B") + $1 "\t" x $1 "\t" $1 }' > "$d/c2dsr/${x}list.txt"
  { printf 'seq_id\tlocal_id\tasin\ttitle\n'
    titles | awk -F '\t' -v x=$x -v w=$([ $x = A ] && echo tea || echo pan) \
      '{ print 500 * (x == "B") + $1 "\t" $1 "\t" x $1 "\t" $2 " " w }'
  } > "$d/c2dsr/derived/titles_${x}_from_llmcdsr.tsv"
done
for f in valid test; do
  events 300 ${#f} | awk -F '\t' 'NR == 1 || $1 != u { if (NR > 1) print line; u = $1; line = u "\t" u }
    { line = line "\t" 500 * $2 + $3 "|" $4 "|d|" } END { print line }' > "$d/c2dsr/${f}data_new.txt"
done
"$V" run "$d/c2dsr" --out "$d/run-c2dsr" $common
test "$(domains "$d/run-c2dsr/data")" = '"name":"A" "name":"B" '
grep -q 'format c2dsr; filters: no k-core' "$d/run-c2dsr/report.md"
grep -q '| gencdr | B | full |' "$d/run-c2dsr/report.md"
if grep -q '±' "$d/run-c2dsr/report.md"; then echo "one seed shows a std"; exit 1; fi
tr -d ' \t\n' < "$d/run-c2dsr/metrics.json" | grep -q '"std":null'

# CSV directory: interactions.csv (with a header) and items.csv, domains Books and Movies; two seeds.
mkdir "$d/csv"
{ echo "user,item,timestamp,domain"
  events 600 7 | awk -F '\t' '{ print "u" $1 "," ($2 ? "m" : "b") $3 "," $4 "," ($2 ? "Movies" : "Books") }'
} > "$d/csv/interactions.csv"
titles | awk -F '\t' '{ print "b" $1 ",Books," $2 " novel"; print "m" $1 ",Movies," $2 " film" }' > "$d/csv/items.csv"
"$V" run "$d/csv" --out "$d/run-csv" --seeds 2 $common
r=$d/run-csv
test "$(domains "$r/data")" = '"name":"Books" "name":"Movies" '
grep -q 'format csv; filters: no k-core' "$r/report.md"
grep -q 'seeds 42, 43' "$r/report.md"
grep -q '| sasrec-ce | Movies | full | [0-9]* | [0-9.]* ± [0-9.]* |' "$r/report.md"
test -d "$r/checkpoints/seed-42/gencdr" && test -d "$r/checkpoints/seed-43/gencdr"
# the second seed learned its own semantic IDs, and its GenCDR recommends from them
test -s "$r/seed-43/data/semantic_ids.npy"
if cmp -s "$r/data/semantic_ids.npy" "$r/seed-43/data/semantic_ids.npy"; then echo "seed 43 reused the IDs"; exit 1; fi
"$V" recommend --ckpt "$r/checkpoints/seed-43/gencdr" --user '#0' --k 3 --device cpu > "$d/rec.txt"
test "$(grep -c '^ *[1-3]\. ' "$d/rec.txt")" -eq 6   # 3 per domain
tr -d ' \t\n' < "$r/metrics.json" > "$d/m.txt"
grep -q '"seeds":{"seeds":\[42,43\],"tokenizer_seeds":\[0,1\]' "$d/m.txt"
grep -q '"seed":43' "$d/m.txt"
grep -q '"hr10":{"mean":[0-9.e-]*,"std":[0-9.e-]*,"values":\[[0-9.e-]*,[0-9.e-]*\]}' "$d/m.txt"
grep -q '"curve":{"loss":\[[0-9.e-]*,[0-9.e-]*\],"valid_hr10":\[' "$d/m.txt"
# the report's pictures exist and are PNGs
n=0
for png in $(grep -o '(curves/[^)]*\.png)' "$r/report.md" | tr -d '()'); do
  head -c 8 "$r/$png" | od -An -c | grep -q 'P   N   G' || { echo "$png is not a PNG"; exit 1; }
  n=$((n + 1))
done
if [ "$VIEWER" = 1 ]; then test "$n" -eq 3; fi

# vkrec train --seeds 2 on the prepared dataset: a checkpoint directory per seed, every seed's rows and
# their summary in --json, the mean ± std table on stdout
"$V" train "$r/data" --model sasrec --device cpu --epochs 1 --max-len 8 --hidden 16 --blocks 1 --protocol full \
  --seeds 2 --ckpt "$d/tck" --json "$d/train.json" --quiet > "$d/train.txt"
test -d "$d/tck/seed-42/sasrec-bce-target-Books" && test -d "$d/tck/seed-43/sasrec-bce-target-Movies"
grep -q '^| sasrec-bce | Movies | full | [0-9]* | [0-9.]* ± [0-9.]* |' "$d/train.txt"
tr -d ' \t\n' < "$d/train.json" | grep -q '^{"results":\[{.*"seed":43}\],"summary":\[{"model":"sasrec-bce"'

# prepare finds the format too: CSV files named directly; a directory of Amazon review files (2014 and
# 2018 names, one gzipped, metadata beside one), domains named after the files
"$V" prepare "$d/csv/interactions.csv" "$d/csv/items.csv" --no-filter --out "$d/prep-csv" --quiet
tr -d ' \t\n' < "$d/prep-csv/dataset.json" | grep -q '"format":"csv"'
mkdir "$d/amazon"
events 200 3 | awk -F '\t' -v dir="$d/amazon" '{ f = dir "/" ($2 ? "Movies.jsonl" : "reviews_Books_5.json");
  printf "{\"reviewerID\": \"u%d\", \"asin\": \"%s%d\", \"unixReviewTime\": %d}\n", $1, $2 ? "m" : "b", $3, $4 > f }'
titles | awk -F '\t' '{ printf "{\"asin\": \"b%d\", \"title\": \"%s novel\"}\n", $1, $2 }' > "$d/amazon/meta_Books.json"
gzip "$d/amazon/Movies.jsonl"
"$V" prepare "$d/amazon" --no-filter --out "$d/prep-amazon" --quiet
test "$(domains "$d/prep-amazon")" = '"name":"Movies" "name":"Books" '   # in file-name order
tr -d ' \t\n' < "$d/prep-amazon/dataset.json" | grep -q '"Books=[^"]*/reviews_Books_5.json,[^"]*/meta_Books.json"'

# bad sources: a missing path, a directory of no known layout
if "$V" run "$d/no-such-dir" --out "$d/bad" $common 2> "$d/err.txt"; then exit 1; fi
grep -q "source $d/no-such-dir does not exist" "$d/err.txt"
mkdir "$d/empty"
if "$V" run "$d/empty" --out "$d/bad" $common 2> "$d/err.txt"; then exit 1; fi
grep -q "cannot tell the format of $d/empty" "$d/err.txt"
echo run-sources-ok
