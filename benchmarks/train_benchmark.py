"""Training benchmark: float and int8 accuracy, the int8 drop with QAT and without it (post-
training quantization of the same float model), seconds per epoch on this machine, planned
peak SRAM and flash, for the reference pairs of issue #3.

Not a timed test. Every row comes from one `tinyconv.train.train` run with `qat=True`, which
also quantizes the float model post-training, so both drops are measured on the same model
and the same test images (LiteRT reference kernels).

    python benchmarks/train_benchmark.py [--only lenet5-mnist] [--epochs 3]
    python benchmarks/train_benchmark.py --only "" --include models/cifar10_vgg   # add a finished run
    python benchmarks/train_benchmark.py --refresh-costs   # planner changed: recompute the
        # MACs / arena / peak SRAM / flash columns of train.json from each row's architecture
Writes benchmarks/results/train.md and train.json (the rows of runs not redone are kept);
runs go to benchmarks/runs/ (resumable).

    python benchmarks/train_benchmark.py --throughput --only resnet8-cifar10,vgg-cifar10,lenet5-fashion_mnist,mcunet-fashion_mnist
Throughput mode (a few minutes): images/s of the input pipeline alone, of the model's
training step alone on cached tensors, and of the two together (one epoch of `model.fit`
after a warm-up epoch), "before" (numpy augmentation in a Python generator, Keras Adam
with its XLA update step, one step per call) and "after" (tinyconv.train today: in-graph
vectorized augmentation on the in-memory split, AUTOTUNE prefetch, the defaults.py
throughput settings), same model and data, back to back; against the arithmetic bound:
the FLOP/s of a large tf.matmul on this machine over 6 FLOP per MAC per image (training
~ 3x the forward MACs, 2 FLOP each). The load average is recorded beside the numbers.
Writes benchmarks/results/train_throughput.json and .md.
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

PAIR_QAT_EPOCHS = 1

COLUMNS = ("float_accuracy", "int8_accuracy", "int8_drop_points", "ptq_int8_accuracy",
           "ptq_int8_drop_points", "seconds_per_epoch", "planned_peak_sram_bytes",
           "flash_weights_bytes", "macs", "epochs_run")


def run_pair(pair: Pair, epochs: int, runs: Path) -> dict:
    from tinyconv.train import TrainConfig, train

    run_dir = runs / pair.name
    config = TrainConfig(model=pair.model, dataset=pair.dataset, width=pair.width,
                         resolution=pair.resolution, params=dict(pair.params), epochs=epochs,
                         qat=True, qat_epochs=PAIR_QAT_EPOCHS, augment=pair.augment, onnx=False)
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


# ---- throughput ------------------------------------------------------------------------------

THROUGHPUT_PAIRS = (
    Pair("resnet8-cifar10", "resnet8", "cifar10", augment=True),
    Pair("vgg-cifar10", "vgg", "cifar10", params={"dropout": 0.0}, augment=True),  # models/cifar10_vgg's
    Pair("lenet5-fashion_mnist", "lenet5", "fashion_mnist", augment=True),
    Pair("mcunet-fashion_mnist", "mcunet", "fashion_mnist", width=0.35, resolution=32,
         params=dict(PAIRS[1].params), augment=True),
)


def matmul_flops(n: int = 2048, reps: int = 10, dtype: str = "float32") -> float:
    """Achievable FLOP/s of this machine in `dtype` (a large tf.matmul, all cores)."""
    import time

    from tinyconv.keras_compat import tf

    a = tf.cast(tf.random.normal((n, n)), dtype)
    tf.matmul(a, a).numpy()
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(reps):
            r = tf.matmul(a, a)
        r.numpy()
        best = max(best, reps * 2 * n ** 3 / (time.perf_counter() - started))
    return best


def throughput_pair(pair: Pair, images: int, batch_size: int, reps: int) -> dict:
    """Before/after images/s of one model on the first `images` training images. Every
    measurement is warmed up once (tracing, caches), then the runs are interleaved
    (before, after, before, ...) `reps` times and each keeps its best: on a shared machine
    the best run is the one least disturbed by other work."""
    import os
    import time

    from tinyconv import zoo
    from tinyconv.data import as_tf_dataset
    from tinyconv.defaults import TRAIN_STEPS_PER_EXECUTION
    from tinyconv.ir.keras_import import graph_from_keras
    from tinyconv.keras_compat import keras, tf
    from tinyconv.train.config import Recipe
    from tinyconv.train.loop import Batches, compile_model, default_steps_per_execution
    from tinyconv.train.precision import resolve_precision, training_twin

    ds = load_dataset_for(pair, images)
    n = len(ds.x_train)
    policy = ds.augmentation if pair.augment else None

    def model():
        keras.utils.set_random_seed(0)
        return zoo.build(pair.model, tuple(ds.x_train.shape[1:]), ds.num_classes, pair.width, **pair.params)

    row: dict = {"run": pair.name, "images": n, "batch_size": batch_size, "reps": reps,
                 "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    row["macs"] = int(graph_from_keras(model()).total_macs())

    def drain(d):
        for _ in d:
            pass

    # before: numpy generator, Keras' own loss and Adam (XLA update step), one step per call
    def old_pipeline():
        return as_tf_dataset(ds.x_train, ds.y_train, batch_size, augment=policy, seed=0)

    old = model()
    old.compile(optimizer=keras.optimizers.Adam(1e-3),
                loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    old_cached = tf.data.Dataset.from_tensor_slices((ds.x_train, ds.y_train.astype(np.int32))).batch(batch_size).cache()
    # after: tinyconv.train's pipeline and compile settings (and one step per call, to
    # show what the steps-per-execution default does on its own)
    recipe = Recipe(augment=pair.augment)
    batches = Batches(ds, batch_size, recipe)
    onehot = tf.one_hot(ds.y_train.astype(np.int32), ds.num_classes)
    new_cached = tf.data.Dataset.from_tensor_slices((ds.x_train, onehot)).batch(batch_size).cache()
    chosen = default_steps_per_execution(model())
    new = {}
    for spe in sorted({1, TRAIN_STEPS_PER_EXECUTION}):
        new[spe] = model()
        compile_model(new[spe], 1e-3, recipe, steps_per_execution=spe)
    # bfloat16 compute (tinyconv.train's bfloat16 twin), and what --precision auto picks here
    bf16 = training_twin(model(), "bfloat16")
    compile_model(bf16, 1e-3, recipe, steps_per_execution=chosen)
    precision = resolve_precision("auto", model())
    trained = bf16 if precision == "bfloat16" else new[chosen]
    epochs = iter(range(10 ** 6))
    runs = {
        "before_pipeline": lambda: drain(old_pipeline()),
        "after_pipeline": lambda: drain(batches.epoch(0, next(epochs))),
        "before_step": lambda: old.fit(old_cached, epochs=1, verbose=0),
        **{f"after_step_{spe}_per_call": (lambda m=m: m.fit(new_cached, epochs=1, verbose=0))
           for spe, m in new.items()},
        "after_step_bfloat16": lambda: bf16.fit(new_cached, epochs=1, verbose=0),
        "before_together": lambda: old.fit(old_pipeline(), epochs=1, verbose=0),
        "after_together": lambda: trained.fit(batches.epoch(0, next(epochs)), epochs=1, verbose=0),
    }
    for run in runs.values():
        run()  # warm-up: trace, fill the caches
    for _ in range(reps):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            row[name] = max(row.get(name, 0.0), n / (time.perf_counter() - started))
    row["after_step"] = row[f"after_step_{chosen}_per_call"]
    row["steps_per_execution"] = chosen  # what tinyconv.train picks for this model
    row["precision"] = precision         # and which precision (--precision auto)
    row["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in row.items()}


def load_dataset_for(pair: Pair, images: int):
    from tinyconv.train.data import load

    return load(pair.dataset, resolution=pair.resolution, validation_fraction=0.1, seed=0,
                limit_train=images, limit_test=100)


def throughput(args) -> None:
    import os
    import platform

    from tinyconv.defaults import TRAIN_STEPS_PER_EXECUTION

    rows = []
    flops = {dtype: matmul_flops(dtype=dtype) for dtype in ("float32", "bfloat16")}
    for pair in THROUGHPUT_PAIRS:
        if pair.name in args.only.split(","):
            for batch_size in args.batch_sizes:
                row = throughput_pair(pair, args.images, batch_size, args.reps)
                rows.append(row)
                print(row, flush=True)
    # best of start and end: the machine's, not the load's
    flops = {dtype: max(f, matmul_flops(dtype=dtype)) for dtype, f in flops.items()}
    for row in rows:  # the bound of the precision --precision auto trains in
        row["bound_images_per_s"] = round(flops[row["precision"]] / (6 * row["macs"]), 1)
    result = {"matmul_gflops": round(flops["float32"] / 1e9, 1),
              "matmul_gflops_bfloat16": round(flops["bfloat16"] / 1e9, 1), "cpus": os.cpu_count(),
              "machine": platform.processor() or platform.machine(), "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "train_throughput.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["| run | batch | images | pipeline before | pipeline after | step before | step after "
             f"(1 / {TRAIN_STEPS_PER_EXECUTION} steps per call) | step after, bfloat16 | auto picks | "
             "together before | together after | bound | after / bound | load avg (1 min) |",
             "|" + "---|" * 14]
    for r in rows:
        lines.append(f"| {r['run']} | {r['batch_size']} | {r['images']:,} | {r['before_pipeline']:,.0f} | "
                     f"{r['after_pipeline']:,.0f} | {r['before_step']:,.0f} | {r['after_step']:,.0f} "
                     f"({r['after_step_1_per_call']:,.0f} / "
                     f"{r[f'after_step_{TRAIN_STEPS_PER_EXECUTION}_per_call']:,.0f}) | "
                     f"{r['after_step_bfloat16']:,.0f} | {r['precision']} | {r['before_together']:,.0f} | "
                     f"{r['after_together']:,.0f} | "
                     f"{r['bound_images_per_s']:,.0f} | {r['after_together'] / r['bound_images_per_s']:.1%} | "
                     f"{r['load_average_at_start'][0]} -> {r['load_average_at_end'][0]} |")
    (args.out / "train_throughput.md").write_text(
        "# Training throughput (images/s)\n\n"
        f"{os.cpu_count()} CPUs; a {2048}x{2048} tf.matmul reaches {result['matmul_gflops']} GFLOP/s in "
        f"float32, {result['matmul_gflops_bfloat16']} in bfloat16; bound = that of the precision auto picks "
        "/ (6 FLOP x MACs per image). before: numpy augmentation in a Python generator "
        "(tf.data.Dataset.from_generator), Keras Adam and sparse cross-entropy; after: tinyconv.train "
        "(in-graph vectorized augmentation on the in-memory split, AUTOTUNE prefetch, defaults.py "
        "throughput settings). step: the training step alone on cached batches (float32; bfloat16: "
        "--precision bfloat16's mixed-precision twin); together: one epoch of model.fit on the pipeline, "
        "after in the precision --precision auto picks here. Each after a warm-up, interleaved "
        "before/after, best of the reps; "
        "the load average says how busy the machine was (2 cores: above 2 means other work shared "
        "them, and the bound, measured at the same time, shifts too).\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(p.name for p in PAIRS))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--include", action="append", default=[], type=Path,
                        help="add the metrics.json of an existing `tinyconv train --qat` run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--refresh-costs", action="store_true",
                        help="keep the measured rows of train.json, recompute their cost columns")
    parser.add_argument("--throughput", action="store_true",
                        help="images/s before/after against the arithmetic bound (a few minutes)")
    parser.add_argument("--images", type=int, default=4000, help="--throughput: training images per model")
    parser.add_argument("--reps", type=int, default=3, help="--throughput: interleaved runs, best kept")
    parser.add_argument("--batch-sizes", type=lambda t: [int(v) for v in t.split(",")], default=[64, 256],
                        help="--throughput: batch sizes to measure, e.g. 64,128,256")
    args = parser.parse_args()

    if args.throughput:
        if args.only == ",".join(p.name for p in PAIRS):
            args.only = ",".join(p.name for p in THROUGHPUT_PAIRS)
        throughput(args)
        return
    if args.refresh_costs:
        rows = json.loads((args.out / "train.json").read_text())
        for row in rows:
            row.update(refreshed_costs(row))
        write_results(rows, args.out)
        return
    new = []
    for pair in PAIRS:
        if pair.name in args.only.split(","):
            new.append({"run": pair.name, **run_pair(pair, args.epochs, ROOT / "benchmarks" / "runs")})
    new += [included_row(run_dir) for run_dir in args.include]
    write_results(merged(args.out / "train.json", new), args.out)


def included_row(run_dir: Path) -> dict:
    """The row of a finished `tinyconv train --qat` run folder (a shipped model's folder
    too). Runs from before metrics.json named its QAT epochs take them from config.json."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    config = run_dir / "config.json"
    if "qat_epochs" not in metrics and config.exists():
        metrics["qat_epochs"] = json.loads(config.read_text())["qat_epochs"] if metrics.get("qat") else 0
    return {"run": f"{metrics['model']}-{metrics['dataset']} ({run_dir.name})", **metrics}


def merged(table: Path, new: list[dict]) -> list[dict]:
    """train.json's rows with `new` in place of the rows of the same run (appended where
    none is): rerunning one row keeps the others."""
    rows = json.loads(table.read_text()) if table.exists() else []
    names = {r["run"] for r in new}
    return [r for r in rows if r["run"] not in names] + new


def wall_minutes(r: dict) -> str:
    """Training time of the row: its float epochs and its QAT epochs ("-" where the QAT
    epochs are not on record)."""
    if r.get("qat_epochs") is None:
        return "-"
    seconds = (r["epochs_run"] * r["seconds_per_epoch"]
               + r["qat_epochs"] * (r.get("qat_seconds_per_epoch") or 0))
    return f"{seconds / 60:.0f}"


def write_results(rows: list[dict], out: Path) -> None:
    from tinyconv.train.config import qat_int8_accuracy

    out.mkdir(parents=True, exist_ok=True)
    (out / "train.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = ["| run | epochs (+ QAT) | float acc | int8 acc (QAT) | drop QAT (pts) | int8 acc (PTQ) | "
             "drop PTQ (pts) | s/epoch | training wall time (min) | peak SRAM | flash (weights) | MACs |",
             "|" + "---|" * 12]
    for r in rows:
        def pct(key: str) -> str:
            return "-" if r.get(key) is None else f"{100 * r[key]:.2f} %"

        def pts(key: str) -> str:
            return "-" if r.get(key) is None else f"{r[key]:+.2f}"

        qat = "" if not r.get("qat_epochs") else f" + {r['qat_epochs']}"
        q = qat_int8_accuracy(r)   # QAT's int8 model, whichever one the run kept
        fp = r.get("float_accuracy_on_int8_images", r["float_accuracy"])
        qat_cells = "- | -" if q is None else f"{100 * q:.2f} % | {100 * (fp - q):+.2f}"
        lines.append(f"| {r['run']} | {r['epochs_run']}{qat} | {pct('float_accuracy')} | {qat_cells} | "
                     f"{pct('ptq_int8_accuracy')} | {pts('ptq_int8_drop_points')} | "
                     f"{r['seconds_per_epoch']:.1f} | {wall_minutes(r)} | {r['planned_peak_sram_bytes']:,} | "
                     f"{r['flash_weights_bytes']:,} | {r['macs']:,} |")
    (out / "train.md").write_text(
        "# Training benchmark\n\nOne `tinyconv train --qat` run per row on this machine (2 cores): "
        "int8 accuracy with QAT, and of the same float model quantized post-training (PTQ; since "
        "train keeps the one that scores higher on validation, the row's model_int8.tflite may be "
        "this one); drops "
        "are float minus int8 on the same test images, int8 run with LiteRT's reference kernels. "
        "Peak SRAM = planned arena + 8 KiB stack + runtime on qemu-m7. cifar10 is the shared "
        "JPEG (q75) copy: compare only with models evaluated on it. The reference pairs train with "
        f"the defaults (Adam, no augmentation but for resnet8-cifar10, {PAIR_QAT_EPOCHS} QAT epoch); "
        "the shipped models (models/) with the recipe in their config.json.\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
