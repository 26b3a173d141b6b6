"""Recompute the deployment figures of the shipped models' metrics.json with the current
planner and kernels (arena, planned peak SRAM, weight flash, MACs), from their int8 .tflite.

Accuracies are measured by training and stay as they are; these figures depend only on the
model file and tinyconv's planner, so they are regenerated whenever the planner changes.

    python scripts/refresh_model_costs.py [models/fashion_mnist_lenet5 ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tinyconv.files import write_atomic
from tinyconv.train.run import deployment_cost

ROOT = Path(__file__).resolve().parent.parent


def refresh(model_dir: Path) -> dict:
    metrics_path = model_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    cost = deployment_cost((model_dir / "model_int8.tflite").read_bytes(), metrics.get("board", "qemu-m7"))
    changed = {k: (metrics.get(k), v) for k, v in cost.items() if metrics.get(k) != v}
    metrics.update(cost)
    write_atomic(metrics_path, (json.dumps(metrics, indent=2) + "\n").encode())
    return changed


def main() -> None:
    dirs = [Path(a) for a in sys.argv[1:]] or sorted(
        p.parent for p in (ROOT / "models").glob("*/model_int8.tflite"))
    for d in dirs:
        changed = refresh(d)
        print(f"{d.name}: " + (", ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items())
                               or "unchanged"))


if __name__ == "__main__":
    main()
