"""How well does the supernet rank sub-networks? Spearman's rho of its estimate against
accuracy after training each sub-network from scratch.

Trains one supernet (tinyconv/search/supernet.py) over the space at one width and
resolution, samples `--subnets` architectures of it, and for each measures:
- the supernet's estimate (`supernet_proxy`: inherited weights, BN re-estimated,
  validation top-1);
- the accuracy after training it from scratch for `--scratch-epochs` epochs on
  `--scratch-images` images (tinyconv.search.proxy.evaluate, the short-training proxy);
- the MACs score (`macs_proxy`), as the no-training baseline.
Prints Spearman's rho of the supernet and of MACs against the from-scratch accuracy, and
writes benchmarks/results/supernet_rank.json.

    python benchmarks/supernet_rank.py                   # fashion_mnist, ~10 min on 2 cores
    python benchmarks/supernet_rank.py --subnets 4 --supernet-images 1000 --supernet-epochs 1
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinyconv.files import write_json_atomic  # noqa: E402
from tinyconv.search.proxy import ProxySettings, evaluate, macs_proxy  # noqa: E402
from tinyconv.search.supernet import (SupernetProxySettings, SupernetSettings,  # noqa: E402
                                      read_state, supernet_proxy, train_supernet)
from tinyconv.space import SearchSpace  # noqa: E402


def ranks(values) -> np.ndarray:
    """Ranks 1..n, ties sharing their mean rank (as scipy.stats.rankdata)."""
    v = np.asarray(values, float)
    order = np.argsort(v, kind="mergesort")
    r = np.empty(len(v))
    r[order] = np.arange(1, len(v) + 1)
    for value in np.unique(v):
        tied = v == value
        r[tied] = r[tied].mean()
    return r


def spearman(a, b) -> float:
    try:
        from scipy.stats import spearmanr
        return float(spearmanr(a, b).statistic)
    except ImportError:
        ra, rb = ranks(a), ranks(b)
        if ra.std() == 0 or rb.std() == 0:
            return float("nan")
        return float(np.corrcoef(ra, rb)[0, 1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--width", type=float, default=0.3)
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--subnets", type=int, default=8)
    p.add_argument("--supernet-epochs", type=int, default=2)
    p.add_argument("--supernet-images", type=int, default=6000,
                   help="training pool of the supernet (90 %% train, 10 %% validation)")
    p.add_argument("--scratch-epochs", type=int, default=2)
    p.add_argument("--scratch-images", type=int, default=2000)
    p.add_argument("--val-images", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--supernet-dir", help="keep (or reuse) the supernet here")
    p.add_argument("-o", "--output", default=str(ROOT / "benchmarks" / "results" / "supernet_rank.json"))
    a = p.parse_args(argv)

    from tinyconv.data import resolve
    source = resolve(a.dataset)
    channels, classes = source.native_shape[2], len(source.class_names)
    space = SearchSpace(widths=(a.width,), resolutions=(a.resolution,))
    folder = Path(a.supernet_dir or tempfile.mkdtemp(prefix="supernet_rank_"))
    settings = SupernetSettings(epochs=a.supernet_epochs, limit_train=a.supernet_images,
                                augment=False, seed=a.seed)
    started = time.perf_counter()
    resume = folder.exists() and any(folder.iterdir())
    train_supernet(a.dataset, space, channels, classes, folder, settings, resume=resume)
    supernet_seconds = time.perf_counter() - started
    history = read_state(folder)["history"]

    rng = random.Random(f"rank:{a.seed}")
    archs = [space.sample(rng) for _ in range(a.subnets)]
    sn = SupernetProxySettings(str(folder), val_images=a.val_images)
    scratch = ProxySettings(dataset=a.dataset, train_images=a.scratch_images,
                            val_images=a.val_images, epochs=a.scratch_epochs, seed=a.seed)
    rows = []
    for i, cfg in enumerate(archs):
        est = supernet_proxy(cfg.to_dict(), channels, sn)
        trained = evaluate(cfg.to_dict(), channels, scratch)
        macs = macs_proxy(cfg.to_dict(), channels, scratch)
        rows.append({"key": cfg.key, "arch": cfg.to_dict(), "supernet": est.accuracy,
                     "supernet_seconds": round(est.seconds, 3), "scratch": trained.accuracy,
                     "scratch_seconds": round(trained.seconds, 2), "macs_score": macs.accuracy})
        print(f"[{i + 1}/{len(archs)}] {cfg.key}: supernet {est.accuracy:.4f} ({est.seconds:.1f} s)"
              f"  scratch {trained.accuracy:.4f} ({trained.seconds:.0f} s)", flush=True)
    target = [r["scratch"] for r in rows]
    result = {
        "dataset": a.dataset, "width": a.width, "resolution": a.resolution,
        "subnets": a.subnets, "supernet_epochs": a.supernet_epochs,
        "supernet_images": a.supernet_images, "scratch_epochs": a.scratch_epochs,
        "scratch_images": a.scratch_images, "val_images": a.val_images, "seed": a.seed,
        "supernet_train_seconds": round(supernet_seconds, 1), "supernet_history": history,
        "supernet_reused": resume,  # --supernet-dir held one: train_seconds is its loading
        "spearman_supernet_vs_scratch": spearman([r["supernet"] for r in rows], target),
        "spearman_macs_vs_scratch": spearman([r["macs_score"] for r in rows], target),
        "mean_supernet_eval_seconds": round(float(np.mean([r["supernet_seconds"] for r in rows])), 3),
        "mean_scratch_seconds": round(float(np.mean([r["scratch_seconds"] for r in rows])), 2),
        "rows": rows,
    }
    out = Path(a.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out, result)
    print(f"Spearman rho vs {a.scratch_epochs}-epoch from-scratch accuracy ({a.subnets} "
          f"sub-networks): supernet {result['spearman_supernet_vs_scratch']:.3f}, MACs "
          f"{result['spearman_macs_vs_scratch']:.3f}; supernet "
          f"{'reused' if resume else 'trained'} in "
          f"{supernet_seconds:.0f} s, {result['mean_supernet_eval_seconds']:.2f} s per "
          f"estimate; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
