#!/usr/bin/env python3
"""PyTorch peer for `vkrec bench train`: the same SASRec step (pre-norm blocks, shared item
embedding, Adam) on the CPU or a CUDA GPU, timed the same way. Prints one JSON line: {"seq_per_s": ...}.

usage: sasrec_torch.py --loss bce|ce [--batch 256] [--len 50] [--items 10000] [--hidden 64]
                       [--blocks 2] [--steps 5] [--warmup 2] [--threads N] [--device cpu|cuda]
"""
import argparse
import json
import math
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # the harness reports the peer as missing
    print(json.dumps({"error": "torch not importable: %s" % e}))
    sys.exit(3)


class Block(nn.Module):
    def __init__(self, d, dropout):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ffn1, self.ffn2 = nn.Linear(d, d), nn.Linear(d, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, causal_pad):
        h = self.ln1(x)
        q, k, v = self.qkv(h).chunk(3, dim=-1)
        s = q @ k.transpose(1, 2) / math.sqrt(x.shape[-1])
        s = s.masked_fill(causal_pad, float("-inf"))
        p = torch.nan_to_num(torch.softmax(s, dim=-1))
        x = x + self.drop(self.out(p @ v))
        return x + self.drop(self.ffn2(F.gelu(self.ffn1(self.ln2(x)), approximate="tanh")))


class SASRec(nn.Module):
    def __init__(self, items, length, d, blocks, dropout):
        super().__init__()
        self.item = nn.Embedding(items + 1, d)
        self.pos = nn.Parameter(torch.randn(length, d) / math.sqrt(d))
        self.blocks = nn.ModuleList(Block(d, dropout) for _ in range(blocks))
        self.ln = nn.LayerNorm(d)
        self.drop = nn.Dropout(dropout)

    def forward(self, seq, mask):
        t = seq.shape[1]
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool, device=seq.device), 1)
        causal_pad = causal[None] | ~mask[:, None, :]
        x = self.drop(self.item(seq) * math.sqrt(self.item.embedding_dim) + self.pos)
        for b in self.blocks:
            x = b(x, causal_pad)
        return self.ln(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loss", choices=["bce", "ce"], required=True)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--len", type=int, default=50)
    ap.add_argument("--items", type=int, default=10000)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    a = ap.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"error": "torch sees no CUDA device"}))
        sys.exit(3)
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = SASRec(a.items, a.len, a.hidden, a.blocks, 0.2).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)
    seq = torch.randint(1, a.items + 1, (a.batch, a.len), generator=g).to(dev)
    pos = torch.randint(1, a.items + 1, (a.batch, a.len), generator=g).to(dev)
    neg = torch.randint(1, a.items + 1, (a.batch, a.len), generator=g).to(dev)
    mask = torch.ones(a.batch, a.len, dtype=torch.bool, device=dev)

    def step():
        h = model(seq, mask)
        if a.loss == "ce":
            logits = h.reshape(-1, a.hidden) @ model.item.weight.t()
            loss = F.cross_entropy(logits, pos.reshape(-1), ignore_index=0)
        else:
            pl = (h * model.item(pos)).sum(-1)
            nl = (h * model.item(neg)).sum(-1)
            loss = F.binary_cross_entropy_with_logits(torch.cat([pl, nl]).reshape(-1),
                                                      torch.cat([torch.ones_like(pl), torch.zeros_like(nl)]).reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    print(json.dumps({"seq_per_s": a.batch / med, "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "device": a.device}))


if __name__ == "__main__":
    main()
