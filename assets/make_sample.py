#!/usr/bin/env python3
"""Builds assets/food-kitchen-sample/ from the LLMCDSR Food-Kitchen release (see PROVENANCE.md).

Whole lines of real users are kept unchanged except for item renumbering: users are chosen, per
file, as those whose items are most often among the release's popular items (so the small sample
stays dense enough to train on), ties broken by uid. Items are the union of the chosen lines,
renumbered domain by domain in release order; titles come from derived/items_{A,B}.tsv.
Usage: make_sample.py RELEASE_DIR OUT_DIR"""
import collections, os, sys

PICK = {"train_A": 400, "train_B": 400, "train_overlap": 2000, "valid": 300, "test": 300}
TOP_A, TOP_B = 1500, 3000

def main(src, out):
    na, nb = [int(x) for x in open(os.path.join(src, "num.txt")).read().split()]
    lines = {f: [l.rstrip("\n").split("\t") for l in open(os.path.join(src, f + ".txt"))] for f in PICK}
    pop = collections.Counter(int(i) for rows in lines.values() for _, s in rows for i in s.split(","))
    top = {i for i, _ in sorted(((i, c) for i, c in pop.items() if i < na), key=lambda x: -x[1])[:TOP_A]}
    top |= {i for i, _ in sorted(((i, c) for i, c in pop.items() if i >= na), key=lambda x: -x[1])[:TOP_B]}
    chosen = {}
    for f, rows in lines.items():
        def score(r):
            items = [int(i) for i in r[1].split(",")]
            return (-sum(i in top for i in items) / len(items), int(r[0]))
        chosen[f] = sorted(sorted(rows, key=score)[:PICK[f]], key=lambda r: int(r[0]))
    used = sorted({int(i) for rows in chosen.values() for _, s in rows for i in s.split(",")})
    new_a = [i for i in used if i < na]
    new_b = [i for i in used if i >= na]
    remap = {old: k for k, old in enumerate(new_a + new_b)}
    os.makedirs(os.path.join(out, "derived"), exist_ok=True)
    with open(os.path.join(out, "num.txt"), "w") as fp:
        fp.write(f"{len(new_a)}\n{len(new_b)}\n")
    for f, rows in chosen.items():
        with open(os.path.join(out, f + ".txt"), "w") as fp:
            for uid, s in rows:
                fp.write(uid + "\t" + ",".join(str(remap[int(i)]) for i in s.split(",")) + "\n")
    for dom, first_old, first_new, olds in (("A", 0, 0, new_a), ("B", na, len(new_a), new_b)):
        rows = {}
        with open(os.path.join(src, "derived", f"items_{dom}.tsv")) as fp:
            next(fp)
            for l in fp:
                seq, local, asin, title = l.rstrip("\n").split("\t")
                rows[int(seq)] = (asin, title)
        with open(os.path.join(out, "derived", f"items_{dom}.tsv"), "w") as fp:
            fp.write("seq_id\tlocal_id\tasin\ttitle\n")
            for old in olds:
                asin, title = rows[old]
                fp.write(f"{remap[old]}\t{remap[old] - first_new}\t{asin}\t{title}\n")
    print(f"{sum(len(r) for r in chosen.values())} users, {len(new_a)} A items, {len(new_b)} B items")

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
