#!/usr/bin/env python3
"""An independent PyTorch SASRec (the paper's architecture: Kang & McAuley, ICDM 2018, and its public
code) trained and evaluated on a vkrec dataset directory, to check `vkrec train --model sasrec
--arch original` against. It reads DIR/data.bin itself (the layout in models/data/vkr_data.h) and
shares no code with vkrec.

Protocol (the one `vkrec train --input target` uses): for target domain D, a user's sequence is their
training events in D; each position predicts the next event in D with one sampled negative outside the
user's sequence (BCE). Validation every epoch on the valid examples whose target is in D (full-ranking
HR@10, best parameters kept); the test examples whose target is in D are ranked against every item of
D (full) and against N unseen sampled negatives (sampled:N). Ties count against the target.

usage: sasrec_reference.py DIR --target NAME [--epochs 10] [--seed 1] [--threads 2] [--sampled 100]
prints one JSON object with the test metrics and the per-epoch validation HR@10.
"""
import argparse
import json
import math
import struct
import sys
import time
import zlib

import numpy as np

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    print(json.dumps({"error": "torch not importable: %s" % e}))
    sys.exit(3)


def read_dataset(path):
    """The arrays of data.bin by section name, and dataset.json."""
    raw = open(path + "/data.bin", "rb").read()
    if raw[:7] != b"VKRDATA":
        raise SystemExit("%s/data.bin: not a vkrec dataset image" % path)
    version, count, _, crc = struct.unpack_from("<IIQI", raw, 8)
    if version != 2:
        raise SystemExit("%s/data.bin: format version %d, this script reads 2 (re-run vkrec prepare)" % (path, version))
    if zlib.crc32(raw[28:], zlib.crc32(raw[:24])) != crc:
        raise SystemExit("%s/data.bin: checksum mismatch (the file is corrupt; re-run vkrec prepare)" % path)
    kinds = {1: np.uint8, 4: np.uint32, 8: np.uint64}
    arrays = {}
    for k in range(count):
        name, elem, _, off, n = struct.unpack_from("<24sIIQQ", raw, 32 + 48 * k)
        name = name.rstrip(b"\0").decode()
        dtype = np.int64 if name == "seq_time" else kinds[elem]
        arrays[name] = np.frombuffer(raw, dtype=dtype, count=n, offset=off)
    meta = json.load(open(path + "/dataset.json"))
    return arrays, meta


class Block(nn.Module):
    """q = LN(x); h = q + MHA(q, x, x) (dropout on the weights); f = LN(h); y = f + FFN(f)."""

    def __init__(self, d, heads, p):
        super().__init__()
        self.heads = heads
        self.ln_attn, self.ln_ffn = nn.LayerNorm(d, eps=1e-5), nn.LayerNorm(d, eps=1e-5)
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(d, d) for _ in range(4))
        self.conv1, self.conv2 = nn.Linear(d, d), nn.Linear(d, d)
        self.drop = nn.Dropout(p)

    def forward(self, x, allowed):
        b, t, d = x.shape
        h, dh = self.heads, d // self.heads
        q = self.ln_attn(x)
        split = lambda z: z.view(b, t, h, dh).transpose(1, 2)
        s = split(self.wq(q)) @ split(self.wk(x)).transpose(-1, -2) / math.sqrt(dh)
        w = self.drop(torch.softmax(s.masked_fill(~allowed, float("-inf")), dim=-1))
        a = (w @ split(self.wv(x))).transpose(1, 2).reshape(b, t, d)
        f = self.ln_ffn(q + self.wo(a))
        return f + self.drop(self.conv2(self.drop(torch.relu(self.conv1(f)))))


class SASRec(nn.Module):
    def __init__(self, items, length, d, blocks, heads, p):
        super().__init__()
        self.item = nn.Embedding(items + 1, d)
        self.pos = nn.Embedding(length, d)
        self.blocks = nn.ModuleList(Block(d, heads, p) for _ in range(blocks))
        self.ln = nn.LayerNorm(d, eps=1e-5)
        self.drop = nn.Dropout(p)
        for name, w in self.named_parameters():  # Glorot uniform weights, zero biases (the paper's code)
            if w.dim() >= 2:
                nn.init.xavier_uniform_(w)
            elif name.endswith("bias") and "ln" not in name:
                nn.init.zeros_(w)

    def forward(self, seq):
        b, t = seq.shape
        real = seq > 0
        causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
        # a padded query may see itself so its softmax row is defined; real queries never see padding
        allowed = (causal[None] & real[:, None, :]) | torch.eye(t, dtype=torch.bool)[None]
        allowed = allowed[:, None]
        x = self.item(seq) * math.sqrt(self.item.embedding_dim) + self.pos.weight[None]
        x = self.drop(x)
        for blk in self.blocks:
            x = blk(x, allowed)
        return self.ln(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--target", required=True)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--sampled", type=int, default=100)
    ap.add_argument("--len", type=int, default=50)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--lr", type=float, default=1e-3)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    arr, meta = read_dataset(a.dir)
    names = [d["name"] for d in meta["domains"]]
    if a.target not in names:
        raise SystemExit("--target %s: the dataset's domains are %s" % (a.target, ", ".join(names)))
    dom = meta["domains"][names.index(a.target)]
    lo, n_items = dom["item_begin"], dom["items"]
    seq_begin, seq_item, train_len = (arr[k].astype(np.int64) for k in ("seq_begin", "seq_item", "train_len"))
    users = len(train_len)
    in_d = lambda it: lo <= it < lo + n_items

    def events(u, end):  # the user's events in D before position `end`, as 1-based local ids
        ev = seq_item[seq_begin[u] : seq_begin[u] + end]
        return [int(i) - lo + 1 for i in ev if in_d(i)]

    train = {u: events(u, int(train_len[u])) for u in range(users)}
    train = {u: s for u, s in train.items() if len(s) >= 2}
    seen = {u: set(int(i) - lo + 1 for i in seq_item[seq_begin[u] : seq_begin[u + 1]] if in_d(i)) for u in range(users)}

    def examples(split):
        pairs = arr[split].reshape(-1, 2)
        return [(int(u), int(p)) for u, p in pairs if in_d(int(seq_item[seq_begin[u] + p]))]

    T = a.len
    # the table has a row per item of the whole dataset, as vkrec's does (rows of other domains are never
    # used): Glorot's bound depends on the row count, so this keeps the two initializations alike
    model = SASRec(int(meta["items"]), T, a.hidden, a.blocks, a.heads, a.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.98))

    def left_pad(s):
        s = s[-T:]
        return [0] * (T - len(s)) + s

    def batch_rows(us):
        seq, pos, neg = [], [], []
        for u in us:
            s = train[u]
            inp, nxt = s[:-1][-T:], s[1:][-T:]
            ng = []
            for it in nxt:
                while True:
                    c = int(rng.integers(1, n_items + 1))
                    if c != it and c not in seen_train[u]:
                        break
                ng.append(c)
            seq.append(left_pad(inp)), pos.append(left_pad(nxt)), neg.append(left_pad(ng))
        return (torch.tensor(x) for x in (seq, pos, neg))

    seen_train = {u: set(s) for u, s in train.items()}

    def score(ex, cands=None):
        """Ranks (0-based, ties against the target) of each example's target."""
        model.eval()
        ranks = []
        with torch.no_grad():
            for k in range(0, len(ex), 256):
                chunk = ex[k : k + 256]
                seq = torch.tensor([left_pad(events(u, p)) for u, p in chunk])
                h = model(seq)[:, -1]
                tgt = torch.tensor([int(seq_item[seq_begin[u] + p]) - lo + 1 for u, p in chunk])
                if cands is None:
                    s = h @ model.item.weight[1 : n_items + 1].T
                    ts = s.gather(1, (tgt - 1)[:, None])
                    ranks += ((s >= ts).sum(1) - 1).tolist()
                else:
                    c = torch.tensor([cands[(u, p)] for u, p in chunk])
                    s = (h[:, None] * model.item(c)).sum(-1)
                    ts = (h * model.item(tgt)).sum(-1)[:, None]
                    ranks += (s >= ts).sum(1).tolist()
        model.train()
        return np.array(ranks)

    def metrics(r):
        out = {}
        for k in (5, 10):
            out["hr%d" % k] = float(np.mean(r < k))
            out["ndcg%d" % k] = float(np.mean(np.where(r < k, 1 / np.log2(r + 2), 0)))
        return out

    valid, test = examples("valid"), examples("test")
    best, best_state, curve, t0 = -1.0, None, [], time.time()
    order = np.array(sorted(train))
    for epoch in range(a.epochs):
        rng.shuffle(order)
        losses = []
        for k in range(0, len(order), a.batch):
            seq, pos, neg = batch_rows(order[k : k + a.batch])
            h = model(seq)
            pl, nl = (h * model.item(pos)).sum(-1), (h * model.item(neg)).sum(-1)
            idx = pos > 0
            loss = F.binary_cross_entropy_with_logits(pl[idx], torch.ones_like(pl[idx])) + \
                F.binary_cross_entropy_with_logits(nl[idx], torch.zeros_like(nl[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        hr = metrics(score(valid))["hr10"]
        curve.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "valid_hr10": hr})
        print("epoch %d loss %.4f valid HR@10 %.4f (%.0fs)" % (epoch + 1, np.mean(losses), hr, time.time() - t0),
              file=sys.stderr)
        if hr > best:
            best, best_state = hr, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    cands = {}
    for u, p in test:  # sampled:N: N items of D the user never interacted with
        pool = []
        while len(pool) < a.sampled:
            c = int(rng.integers(1, n_items + 1))
            if c not in seen[u]:
                pool.append(c)
        cands[(u, p)] = pool
    result = {"target": a.target, "epochs": a.epochs, "seed": a.seed, "train_users": len(train),
              "test_examples": len(test), "best_valid_hr10": best, "full": metrics(score(test)),
              "sampled:%d" % a.sampled: metrics(score(test, cands)), "curve": curve,
              "seconds": time.time() - t0}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
