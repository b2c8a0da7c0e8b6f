# Sourced by the cli_*.sh tests run as `sh SCRIPT VKREC SOURCE_DIR`: sets V (the vkrec binary), SRC,
# d (a scratch directory, removed at exit) and D ($d/data: the bundled sample prepared with
# --min-item 10 --min-user 3, domains Food and Kitchen).
set -eu
V=$1
SRC=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
D=$d/data
"$V" prepare --format llmcdsr "$SRC/assets/food-kitchen-sample" --min-item 10 --min-user 3 \
  --domain-names Food,Kitchen --out "$D" --quiet
