#!/usr/bin/python3
"""scikit-learn's TSNE as the peer of `vkrec bench tsne`.

usage: tsne_sklearn.py IN.npy OUT.npy [--perplexity P] [--iters N] [--seed S]
Reads an N x D float32 matrix, runs sklearn.manifold.TSNE with the settings vkrec uses (perplexity
30, 1000 iterations, early exaggeration 12, learning rate "auto", PCA init, Barnes-Hut), writes the
N x 2 result to OUT.npy and prints one JSON line: {"seconds", "kl", "n", "sklearn"}. "seconds"
covers fit_transform only (affinities + optimization), as vkrec's figure does; "kl" is
scikit-learn's own final estimate.
"""
import argparse
import json
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--perplexity", type=float, default=30.0)
    ap.add_argument("--iters", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    try:
        import numpy as np
        import sklearn
        from sklearn.manifold import TSNE
    except ImportError as e:
        print(json.dumps({"error": "scikit-learn unavailable: %s" % e}))
        return 3
    x = np.load(a.input).astype(np.float32)
    kwargs = dict(n_components=2, perplexity=a.perplexity, early_exaggeration=12.0, learning_rate="auto",
                  init="pca", method="barnes_hut", random_state=a.seed)
    # The iteration count is `n_iter` up to scikit-learn 1.4 and `max_iter` after.
    try:
        model = TSNE(max_iter=a.iters, **kwargs)
    except TypeError:
        model = TSNE(n_iter=a.iters, **kwargs)
    t0 = time.perf_counter()
    y = model.fit_transform(x)
    seconds = time.perf_counter() - t0
    np.save(a.output, y.astype(np.float32))
    print(json.dumps({"seconds": seconds, "kl": float(model.kl_divergence_), "n": int(x.shape[0]),
                      "sklearn": sklearn.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
