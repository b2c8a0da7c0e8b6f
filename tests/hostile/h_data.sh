#!/bin/sh
# Hostile inputs for data ingestion (issue 13 classes 2, 6, 8, 9): `vkrec prepare` on tiny releases and
# dumps of every supported format (llmcdsr, c2dsr, csv, amazon JSON lines), built from the bundled
# sample, after random cuts of a plain or gzip-compressed input file (a cut inside a line or anywhere
# in a gzip stream must be an error, never fewer records), bogus num.txt counts, UTF-8 byte order
# marks (valid: must pass), and `vkrec stats` on a prepared data.bin with one random bit flipped
# (its checksum must refuse it). No command may change its inputs.
# usage: sh h_data.sh VKREC SOURCE_DIR
. "$(dirname "$0")/common.sh"
hostile_init data "$1"
S=$2/assets/food-kitchen-sample
NA=$(sed -n 1p "$S/num.txt")

# The fixtures, one directory per format, all from the same 40 training and 25+25 evaluation lines.
L=$W/llmcdsr
mkdir -p "$L/derived" "$W/c2dsr/derived" "$W/csv" "$W/amazon"
cp "$S/num.txt" "$L/"
: > "$L/train_A.txt"
: > "$L/train_B.txt"
head -40 "$S/train_overlap.txt" > "$L/train_overlap.txt"
head -25 "$S/valid.txt" > "$L/valid.txt"
head -25 "$S/test.txt" > "$L/test.txt"
head -300 "$S/derived/items_A.tsv" > "$L/derived/items_A.tsv"
head -300 "$S/derived/items_B.tsv" > "$L/derived/items_B.tsv"
C=$W/c2dsr
awk -v n="$NA" 'BEGIN { for (i = 0; i < n; i++) printf "%d\tA%d\t%d\n", 5000 + i, i, i }' > "$C/Alist.txt"
awk -v n="$(sed -n 2p "$S/num.txt")" 'BEGIN { for (i = 0; i < n; i++) printf "%d\tB%d\t%d\n", 9000 + i, i, i }' > "$C/Blist.txt"
for f in train valid test; do
  src=$L/$f.txt
  [ "$f" = train ] && src=$L/train_overlap.txt
  awk -F '\t' '{ n = split($2, a, ","); printf "%s\t%d", $1, NR
                 for (k = 1; k <= n; k++) printf "\t%s|%d|d|", a[k], 1000 + k; printf "\n" }' "$src" > "$C/${f}data_new.txt"
done
events() { # FILE... as "user item time" lines
  awk -F '\t' '{ n = split($2, a, ","); for (k = 1; k <= n; k++) print FILENAME ":" $1, a[k], 1000 + k }' "$@"
}
events "$L/train_overlap.txt" "$L/valid.txt" |
  awk -v na="$NA" 'BEGIN { print "user,item,timestamp,domain" }
                   { sub(/.*\//, "", $1); printf "%s,i%s,%d,%s\n", $1, $2, $3, $2 < na ? "Food" : "Kitchen" }' > "$W/csv/interactions.csv"
awk -F '\t' 'NR > 1 { gsub(/"/, "\"\"", $4); printf "i%s,%s,\"%s\"\n", $1, FILENAME ~ /_A/ ? "Food" : "Kitchen", $4 }' \
  "$L/derived/items_A.tsv" "$L/derived/items_B.tsv" > "$W/csv/items.csv"
events "$L/train_overlap.txt" "$L/valid.txt" | awk -v na="$NA" -v dir="$W/amazon" '{ sub(/.*\//, "", $1)
  printf "{\"reviewerID\": \"%s\", \"asin\": \"a%s\", \"unixReviewTime\": %d}\n", $1, $2, $3 > (dir "/" ($2 < na ? "Food" : "Kitchen") ".json") }'
awk -F '\t' 'NR > 1 { gsub(/[\\"]/, "", $4); printf "{\"asin\": \"a%s\", \"title\": \"%s\"}\n", $1, $4 }' \
  "$L/derived/items_A.tsv" > "$W/amazon/meta_Food.json"

FILES_llmcdsr="num.txt train_overlap.txt valid.txt test.txt derived/items_A.tsv derived/items_B.tsv"
FILES_c2dsr="Alist.txt Blist.txt traindata_new.txt validdata_new.txt testdata_new.txt"
FILES_csv="interactions.csv items.csv"
FILES_amazon="Food.json Kitchen.json meta_Food.json"

# prep FORMAT DIR: prepares DIR (a copy of a fixture) into $W/out (a script: h_run runs it under timeout).
cat > "$W/prep" <<PREP
rm -rf "$W/prepared"
case \$1 in
  csv) set -- "\$2/interactions.csv" "\$2/items.csv" --format csv ;;
  *) set -- "\$2" --format "\$1" ;;
esac
exec "$V" prepare "\$@" --no-filter --out "$W/prepared" --quiet
PREP
prep() { sh "$W/prep" "$@"; }

# rnd N: sets R to the next number in [0, N) of the script's sequence.
rnd() {
  h_rand "$1"
  R=$H_R
}

# pick LIST: sets F to a random word of LIST.
pick() {
  rnd $(echo $1 | wc -w)
  set -- $1
  shift "$R"
  F=$1
}

# cut_inside_line FILE: truncates FILE to a random length in [1, size) whose last byte is not a newline.
cut_inside_line() {
  rnd $(($(wc -c < "$1") - 1))
  OFF=$((R + 1))
  while [ "$OFF" -gt 1 ] && [ "$(od -An -c -j $((OFF - 1)) -N1 "$1" | tr -d ' ')" = '\n' ]; do OFF=$((OFF - 1)); done
  truncate -s "$OFF" "$1"
}

# case_dir FORMAT: a fresh copy of the format's fixture in $W/case.
case_dir() {
  rm -rf "$W/case"
  cp -r "$W/$1" "$W/case"
}

# guarded_fail FORMAT DESC: prepares $W/case, which must fail, and checks that its files stay as they were.
guarded_fail() {
  h_guard $(find "$W/case" -type f)
  h_fail "$2" sh "$W/prep" "$1" "$W/case"
  h_check_guard "$2"
}

for fmt in llmcdsr c2dsr csv amazon; do
  eval files=\$FILES_$fmt
  # Valid controls: as built, every file gzip-compressed, a byte order mark before every file.
  case_dir $fmt
  h_ok "$fmt: valid" sh "$W/prep" $fmt "$W/case"
  for f in $files; do gzip -c "$W/case/$f" > "$W/gz" && mv "$W/gz" "$W/case/$f"; done
  h_ok "$fmt: valid, gzip-compressed" sh "$W/prep" $fmt "$W/case"
  case_dir $fmt
  for f in $files; do { printf '\357\273\277'; cat "$W/case/$f"; } > "$W/bom" && mv "$W/bom" "$W/case/$f"; done
  h_ok "$fmt: byte order marks" sh "$W/prep" $fmt "$W/case"
  # A plain file cut inside a line.
  k=0
  while [ $k -lt 12 ]; do
    case_dir $fmt
    pick "$files"
    cut_inside_line "$W/case/$F"
    guarded_fail $fmt "$fmt: $F cut to $OFF bytes"
    k=$((k + 1))
  done
  # A gzip-compressed file cut anywhere (header, deflate data or trailer).
  k=0
  while [ $k -lt 12 ]; do
    case_dir $fmt
    pick "$files"
    gzip -c "$W/case/$F" > "$W/gz"
    size=$(wc -c < "$W/gz")
    rnd $((size - 1))
    head -c $((R + 1)) "$W/gz" > "$W/case/$F"
    guarded_fail $fmt "$fmt: gzip-compressed $F cut to $((R + 1)) of $size bytes"
    k=$((k + 1))
  done
done

# Bogus num.txt counts (the sequences use ids up to 2524): each is an error, found before any
# allocation the counts would size.
for counts in '16777216\n16777216\n' '16777216\n1\n' '0\n1619\n' '906\n0\n' '-906\n1619\n' '906\n' '' '906 1619\n' \
              '906\n1619\n7\n' '906\n100\n' '16777217\n1\n' '99999999999999999999\n1\n' '9e2\n1619\n' '906\n0x10\n' \
              '906\n1619' '\0\n1619\n'; do
  case_dir llmcdsr
  printf '%b' "$counts" > "$W/case/num.txt"
  guarded_fail llmcdsr "llmcdsr: num.txt '$(printf '%s' "$counts" | sed 's/\\/\\\\/g')'"
done

# One bit flipped anywhere in a prepared data.bin: `vkrec stats` must refuse it.
case_dir llmcdsr
prep llmcdsr "$W/case" || echo "cannot prepare the data.bin fixture"
mv "$W/prepared" "$W/ds"
size=$(wc -c < "$W/ds/data.bin")
k=0
while [ $k -lt 40 ]; do
  rm -rf "$W/flip"
  cp -r "$W/ds" "$W/flip"
  rnd "$size"
  off=$R
  rnd 8
  h_flip "$W/flip/data.bin" "$off" "$R"
  h_guard "$W/flip/data.bin" "$W/flip/dataset.json"
  h_fail "data.bin: bit $R of byte $off flipped" "$V" stats "$W/flip"
  h_check_guard "data.bin flip at $off"
  k=$((k + 1))
done
h_ok "data.bin: unchanged" "$V" stats "$W/ds"

hostile_finish
