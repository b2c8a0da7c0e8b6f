#!/bin/sh
# vkrec categories end to end on a small dataset prepared from the bundled sample and embedded from
# its text: agnostic.npy (items x 2 int32) and agnostic.json with both figures, the same seed gives
# the same file on the device and on the CPU backend, an imported CSV (item keys read from data.bin)
# round-trips into agnostic.npy, and bad input fails clearly without touching the previous outputs.
# usage: cli_categories.sh VKREC SOURCE_DIR
. "$(dirname "$0")/cli_sample.sh"
# before the embedding exists: a clear error that names the command to run
if "$V" categories "$D" > "$d/out" 2>&1; then echo "categories ran without an embedding"; exit 1; fi
grep -q 'vkrec embed DIR' "$d/out"
"$V" embed "$D" --source text --quiet

"$V" categories "$D" --sub 2 --seed 3 --json "$d/c.json" > "$d/out"
grep -q 'domain-agnostic figure' "$d/out"
grep -q 'plain k-means without removing domain directions' "$d/out"
tr -d ' \t\n' < "$D/agnostic.json" > "$d/j"
grep -q '"method":"kmeans-domain-removed"' "$d/j"
grep -q '"K":8,"M":2' "$d/j"
grep -q '"agnostic":0\.[0-9]' "$d/j"
grep -q '"agnostic_without_removal":0\.[0-9]' "$d/j"
grep -q '"name":"none"' "$d/j"
cmp "$D/agnostic.json" "$d/c.json"
items=$(tr -d ' \t\n' < "$D/dataset.json" | grep -o '"items":[0-9]*' | head -1 | cut -d: -f2)
# the figures themselves and the npy's shape, read back
python3 - "$D" "$items" <<'EOF'
import json, struct, sys
d, items = sys.argv[1], int(sys.argv[2])
raw = open(d + "/agnostic.npy", "rb").read()
hlen = struct.unpack("<H", raw[8:10])[0]
header = raw[10:10 + hlen].decode()
assert "'<i4'" in header and "(%d, 2)" % items in header, header
vals = struct.unpack("<%di" % (2 * items), raw[10 + hlen:])
j = json.load(open(d + "/agnostic.json"))
assert all(-1 <= c < 8 for c in vals[0::2]) and all(-1 <= s < 2 for s in vals[1::2])
assert all((c < 0) == (s < 0) for c, s in zip(vals[0::2], vals[1::2]))
sizes = [c["items"] for c in j["categories"]]
assert sum(sizes) == items and sizes[-1] == j["none"] == vals[0::2].count(-1)
assert 0 <= j["agnostic_without_removal"] <= 1 and 0 <= j["agnostic"] <= 1
assert j["agnostic"] > j["agnostic_without_removal"], j  # removing the domain directions mixes the domains
EOF
# the same seed: the same categories, on the device and on the CPU backend
cp "$D/agnostic.npy" "$d/first.npy"
"$V" categories "$D" --sub 2 --seed 3 --quiet > "$d/out"
test ! -s "$d/out"
cmp "$D/agnostic.npy" "$d/first.npy"
"$V" categories "$D" --sub 2 --seed 3 --device cpu --quiet
cmp "$D/agnostic.npy" "$d/first.npy"
tr -d ' \t\n' < "$D/agnostic.json" | grep -q '"device":"cpu"'

# import: every item key from data.bin, category by position, subcategory by parity; one "none"
python3 - "$D" "$d/cats.csv" "$d/want" <<'EOF'
import struct, sys
d, out, want = sys.argv[1:]
raw = open(d + "/data.bin", "rb").read()
sections = {}
for k in range(struct.unpack("<I", raw[12:16])[0]):
    name, size, _, off, count = struct.unpack("<24sIIQQ", raw[32 + 48 * k: 80 + 48 * k])
    sections[name.rstrip(b"\0").decode()] = (off, count, size)
off, count, _ = sections["item_key_off"]
offs = struct.unpack("<%dQ" % count, raw[off:off + 8 * count])
chars = raw[sections["item_key_chars"][0]:]
keys = [chars[offs[i]:offs[i + 1] - 1].decode() for i in range(count - 1)]
names = ["Cozy, warm", "Healthy", "Everyday"]
rows, ids, subs = ["item,category,subcategory"], [], [{}, {}, {}]
for i, k in enumerate(keys):
    if i == 5:
        rows.append('"%s",none,' % k.replace('"', '""'))
        ids.append("-1 -1")
        continue
    c, s = i % 3, "s%d" % (i % 2)
    rows.append('"%s","%s",%s' % (k.replace('"', '""'), names[c], s))
    ids.append("%d %d" % (c, subs[c].setdefault(s, len(subs[c]))))  # numbered in order of appearance
open(out, "w").write("\n".join(rows) + "\n")
open(want, "w").write("\n".join(ids) + "\n")
EOF
"$V" categories "$D" --import "$d/cats.csv" > "$d/out"
grep -q '3 categories imported' "$d/out"
tr -d ' \t\n' < "$D/agnostic.json" > "$d/j"
grep -q '"method":"import"' "$d/j"
grep -q '"names":\["Cozy,warm","Healthy","Everyday"\]' "$d/j"
grep -q '"none":1,' "$d/j"
python3 - "$D" "$d/got" <<'EOF'
import struct, sys
raw = open(sys.argv[1] + "/agnostic.npy", "rb").read()
hlen = struct.unpack("<H", raw[8:10])[0]
v = struct.unpack("<%di" % ((len(raw) - 10 - hlen) // 4), raw[10 + hlen:])
open(sys.argv[2], "w").write("\n".join("%d %d" % (v[i], v[i + 1]) for i in range(0, len(v), 2)) + "\n")
EOF
cmp "$d/got" "$d/want"

# bad input: clear errors, exit codes, previous outputs untouched
cp "$D/agnostic.npy" "$d/keep.npy"
fails() { # fails EXIT PATTERN ARGS...: the command exits EXIT and says PATTERN
  want=$1 pat=$2
  shift 2
  if "$V" categories "$@" > "$d/out" 2>&1; then echo "accepted: $*"; exit 1; else rc=$?; fi
  test "$rc" -eq "$want" || { echo "exit $rc, not $want: $*"; cat "$d/out"; exit 1; }
  grep -q -- "$pat" "$d/out" || { echo "no '$pat' from: $*"; cat "$d/out"; exit 1; }
}
fails 2 '--k' "$D" --k 0
fails 2 '--k' "$D" --k 5000
fails 1 "K = 700 is more than the" "$D" --k 700
sed '3s/^"[^"]*"/"no-such-item"/' "$d/cats.csv" > "$d/bad.csv"
fails 1 'bad.csv:3: unknown item' "$D" --import "$d/bad.csv"
head -n 20 "$d/cats.csv" > "$d/bad.csv"
fails 1 'items of the dataset are missing' "$D" --import "$d/bad.csv"
printf 'a,b' > "$d/bad.csv"
fails 1 'bad.csv:1: the last line has no newline' "$D" --import "$d/bad.csv"
fails 1 'no-such.csv' "$D" --import "$d/no-such.csv"
fails 2 'with --import the file decides' "$D" --import "$d/cats.csv" --k 4
fails 2 'is an input of this command' "$D" --import "$d/cats.csv" --json "$d/cats.csv"
cmp "$D/agnostic.npy" "$d/keep.npy"
ls "$D" | grep -q tmp && { echo "temporaries left in $D"; exit 1; }
"$V" help categories | grep -q 'usage: vkrec categories DIR'
echo categories-ok
