#!/usr/bin/env python3
"""Builds assets/food-kitchen-sample/ from the LLMCDSR Food-Kitchen release (see PROVENANCE.md).

The sample is the k-core of the release's overlapping users (train_overlap, valid, test): items with
fewer than MIN_ITEM interactions among those users are removed from every line, and a user left with
fewer than MIN_USER items in either domain is removed, until nothing changes (the standard k-core of
sequential-recommendation papers, so every kept user has a history in both domains and every kept item
is seen several times). Whole-user removal only: nothing is chosen by what a user's last item is.
Kept lines keep their file, uid and item order; items are renumbered domain by domain in release
order; titles come from derived/items_{A,B}.tsv. train_A and train_B (single-domain users) are
written empty. Deterministic: no randomness, no hash order.
Usage: make_sample.py RELEASE_DIR OUT_DIR"""
import collections, os, sys

FILES = ("train_A", "train_B", "train_overlap", "valid", "test")
OVERLAP = ("train_overlap", "valid", "test")
MIN_ITEM, MIN_USER = 5, 3


def core(lines, na):
    """Iterates the item and per-domain user filters to their fixed point; returns the kept lines."""
    while True:
        count = collections.Counter(i for rows in lines.values() for _, s in rows for i in s)
        kept, changed = {}, False
        for f, rows in lines.items():
            kept[f] = []
            for uid, s in rows:
                t = [i for i in s if count[i] >= MIN_ITEM]
                a = sum(i < na for i in t)
                if a < MIN_USER or len(t) - a < MIN_USER:
                    changed = True
                    continue
                changed |= len(t) != len(s)
                kept[f].append((uid, t))
        lines = kept
        if not changed:
            return lines


def main(src, out):
    na, _ = [int(x) for x in open(os.path.join(src, "num.txt")).read().split()]
    lines = {}
    for f in OVERLAP:
        with open(os.path.join(src, f + ".txt")) as fp:
            lines[f] = [(uid, [int(i) for i in s.split(",")]) for uid, s in (l.rstrip("\n").split("\t") for l in fp)]
    chosen = core(lines, na)
    used = sorted({i for rows in chosen.values() for _, s in rows for i in s})
    new_a = [i for i in used if i < na]
    new_b = [i for i in used if i >= na]
    remap = {old: k for k, old in enumerate(new_a + new_b)}
    os.makedirs(os.path.join(out, "derived"), exist_ok=True)
    with open(os.path.join(out, "num.txt"), "w") as fp:
        fp.write(f"{len(new_a)}\n{len(new_b)}\n")
    for f in FILES:
        with open(os.path.join(out, f + ".txt"), "w") as fp:
            for uid, s in chosen.get(f, []):
                fp.write(uid + "\t" + ",".join(str(remap[i]) for i in s) + "\n")
    for dom, first_new, olds in (("A", 0, new_a), ("B", len(new_a), new_b)):
        rows = {}
        with open(os.path.join(src, "derived", f"items_{dom}.tsv")) as fp:
            next(fp)
            for l in fp:
                seq, _, asin, title = l.rstrip("\n").split("\t")
                rows[int(seq)] = (asin, title)
        with open(os.path.join(out, "derived", f"items_{dom}.tsv"), "w") as fp:
            fp.write("seq_id\tlocal_id\tasin\ttitle\n")
            for old in olds:
                asin, title = rows[old]
                fp.write(f"{remap[old]}\t{remap[old] - first_new}\t{asin}\t{title}\n")
    users = {f: len(chosen.get(f, [])) for f in FILES}
    events = sum(len(s) for rows in chosen.values() for _, s in rows)
    print(f"{sum(users.values())} users {users}, {events} interactions, {len(new_a)} A items, {len(new_b)} B items")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
