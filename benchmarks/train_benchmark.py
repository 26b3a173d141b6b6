"""Training benchmark: float and int8 accuracy, the int8 drop with QAT and without it (post-
training quantization of the same float model), seconds per epoch on this machine, planned
peak SRAM and flash, for the reference pairs of issue #3.

Not a timed test. Every row comes from one `tinyconv.train.train` run with `qat=True`, which
also quantizes the float model post-training, so both drops are measured on the same model
and the same test images (LiteRT reference kernels).

    python benchmarks/train_benchmark.py [--only lenet5-mnist] [--epochs 3]
    python benchmarks/train_benchmark.py --include runs/ship_cifar10_resnet8
    python benchmarks/train_benchmark.py --refresh-costs   # planner changed: recompute the
        # MACs / arena / peak SRAM / flash columns of train.json from each row's architecture
Writes benchmarks/results/train.md and train.json; runs go to benchmarks/runs/ (resumable).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Pair:
    name: str
    model: str
    dataset: str
    width: float = 1.0
    resolution: int | None = None
    params: dict = field(default_factory=dict)
    augment: bool = False


PAIRS = (
    Pair("lenet5-mnist", "lenet5", "mnist"),
    Pair("mcunet-fashion_mnist", "mcunet", "fashion_mnist", width=0.35, resolution=32,
         params={"depths": (1, 1, 1, 1, 1, 1, 1), "kernels": (3, 5, 3, 5, 3, 5, 3),
                 "expansions": (1, 4, 4, 4, 4, 4, 4)}),
    Pair("resnet8-cifar10", "resnet8", "cifar10", augment=True),
)

COLUMNS = ("float_accuracy", "int8_accuracy", "int8_drop_points", "ptq_int8_accuracy",
           "ptq_int8_drop_points", "seconds_per_epoch", "planned_peak_sram_bytes",
           "flash_weights_bytes", "macs", "epochs_run")


def run_pair(pair: Pair, epochs: int, runs: Path) -> dict:
    from tinyconv.train import TrainConfig, train

    run_dir = runs / pair.name
    config = TrainConfig(model=pair.model, dataset=pair.dataset, width=pair.width,
                         resolution=pair.resolution, params=dict(pair.params), epochs=epochs,
                         qat=True, qat_epochs=1, augment=pair.augment, onnx=False)
    return train(config, run_dir, resume=(run_dir / "checkpoints").exists()).metrics


def refreshed_costs(row: dict) -> dict:
    """The row's deployment columns recomputed with the current planner from its
    architecture (the Keras model rebuilt untrained, imported through ir.builder: its plan
    equals the converted model's, tests/pipeline/test_keras_import.py)."""
    from tinyconv import zoo
    from tinyconv.ir.keras_import import graph_from_keras
    from tinyconv.train.run import graph_cost

    params = {k: tuple(v) if isinstance(v, list) else v for k, v in row["params_config"].items()}
    model = zoo.build(row["model"], row["input_shape"], row["num_classes"], row["width"], **params)
    for layer in model.layers:  # trained Dense layers have nonzero biases, which the converter keeps
        if getattr(layer, "use_bias", False) and getattr(layer, "bias", None) is not None:
            layer.bias.assign(np.full(layer.bias.shape, 0.01, np.float32))
    return graph_cost(graph_from_keras(model), row.get("board", "qemu-m7"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(p.name for p in PAIRS))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--include", action="append", default=[], type=Path,
                        help="add the metrics.json of an existing `tinyconv train --qat` run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--refresh-costs", action="store_true",
                        help="keep the measured rows of train.json, recompute their cost columns")
    args = parser.parse_args()

    if args.refresh_costs:
        rows = json.loads((args.out / "train.json").read_text())
        for row in rows:
            row.update(refreshed_costs(row))
        write_results(rows, args.out)
        return
    rows = []
    for pair in PAIRS:
        if pair.name in args.only.split(","):
            rows.append({"run": pair.name, **run_pair(pair, args.epochs, ROOT / "benchmarks" / "runs")})
    for run_dir in args.include:
        metrics = json.loads((run_dir / "metrics.json").read_text())
        rows.append({"run": f"{metrics['model']}-{metrics['dataset']} ({run_dir.name})", **metrics})

    write_results(rows, args.out)


def write_results(rows: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = ["| run | epochs | float acc | int8 acc (QAT) | drop QAT (pts) | int8 acc (PTQ) | "
             "drop PTQ (pts) | s/epoch | peak SRAM | flash (weights) | MACs |", "|" + "---|" * 11]
    for r in rows:
        def pct(key: str) -> str:
            return "-" if r.get(key) is None else f"{100 * r[key]:.2f} %"

        def pts(key: str) -> str:
            return "-" if r.get(key) is None else f"{r[key]:+.2f}"

        lines.append(f"| {r['run']} | {r['epochs_run']} | {pct('float_accuracy')} | "
                     f"{pct('int8_accuracy')} | {pts('int8_drop_points')} | "
                     f"{pct('ptq_int8_accuracy')} | {pts('ptq_int8_drop_points')} | "
                     f"{r['seconds_per_epoch']:.1f} | {r['planned_peak_sram_bytes']:,} | "
                     f"{r['flash_weights_bytes']:,} | {r['macs']:,} |")
    (out / "train.md").write_text(
        "# Training benchmark\n\nOne `tinyconv train --qat` run per row on this machine (2 cores): "
        "int8 accuracy with QAT, and of the same float model quantized post-training (PTQ); drops "
        "are float minus int8 on the same test images, int8 run with LiteRT's reference kernels. "
        "Peak SRAM = planned arena + 8 KiB stack + runtime on qemu-m7. cifar10 is the shared "
        "JPEG (q75) copy: compare only with models evaluated on it.\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
