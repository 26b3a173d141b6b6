"""Training-recipe ablation: each part of the recipe added in turn, measured on one dataset.

One small batch-norm CNN (ResNet-8 at width 0.5), the same data, seed and epochs for every
row; each row adds one part to the row above (augmentation, label smoothing, SGD with
Nesterov momentum and weight decay, EMA of the weights, batch-norm re-estimation, cutout,
mixup, one-cycle), then distillation from a larger teacher (ResNet-8 at width 1, trained
first with the full recipe). Fashion-MNIST by default; `--dataset cifar10` (the shared JPEG
copy), where shifts, flips and cutout are expected to matter more. Float test accuracy on
the whole test split, with the weights `tinyconv.train.fit` leaves (the best epoch's; the
EMA's once EMA is on). Int8 is not in this table: `tinyconv train --qat` quantizes whatever
this float model is.

    python benchmarks/train_recipe.py                       # ~15 min on 2 idle cores
    python benchmarks/train_recipe.py --limit-train 3000 --epochs 2 --no-teacher   # quick look
    python benchmarks/train_recipe.py --limit-train 60000 --epochs 12   # the whole split, ~1 h
    python benchmarks/train_recipe.py --dataset cifar10 --limit-train 50000 --epochs 12   # ~2 h
Writes benchmarks/results/train_recipe.json and .md (train_recipe_cifar10.* for another
dataset) after every row. Resumable: rerun the same command and the rows already measured
with the same settings (and the teacher's weights, in benchmarks/runs/train_recipe/) are
kept. One Ctrl-C stops it at once; every file it writes is whole.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

from tinyconv.files import write_atomic
from tinyconv.interrupt import exit_on_interrupt

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = "fashion_mnist"   # the first table's (train_recipe.json)
PRECISION = "float32"   # every row's arithmetic: the recipe's parts alone, not mixed precision

STEPS = (  # (label, what the row adds to the one above)
    ("baseline: Adam, warmup + cosine", {}),
    ("+ random shift (pad + crop), brightness", {"augment": True}),
    ("+ label smoothing 0.1", {"label_smoothing": 0.1}),
    ("+ SGD Nesterov 0.9, lr 0.05, wd 5e-4 (not on BN/bias)", {"optimizer": "sgd", "learning_rate": 0.05,
                                                              "weight_decay": 5e-4}),
    ("+ EMA of the weights (0.998)", {"ema_decay": 0.998}),
    ("+ BN re-estimation (50 batches)", {"bn_reestimate": 50}),
    ("+ cutout 0.25", {"cutout": 0.25}),
    ("+ mixup 0.2", {"mixup": 0.2}),
    ("+ one-cycle instead of cosine", {"schedule": "onecycle"}),
)


def run(recipe, args, width: float, label: str) -> dict:
    from tinyconv import zoo
    from tinyconv.keras_compat import keras
    from tinyconv.train import fit
    from tinyconv.train.data import load

    data = load(args.dataset, resolution=None, validation_fraction=0.1, seed=args.seed,
                limit_train=args.limit_train, limit_test=None)
    keras.utils.set_random_seed(args.seed)
    model = zoo.build("resnet8", tuple(data.x_train.shape[1:]), data.num_classes, width)
    started = time.perf_counter()
    hist = fit(model, data, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, recipe=recipe,
               progress=False)
    seconds = time.perf_counter() - started
    test = float(model.evaluate(data.x_test, data.y_test, batch_size=512, verbose=0)[1])
    row = {"row": label, "width": width, "recipe": recipe.recipe_json(), "epochs": args.epochs,
           "train_images": len(data.x_train), "best_epoch": hist.best_epoch,
           "val_accuracy": round(hist.best_val_accuracy, 4), "test_accuracy": round(test, 4),
           "test_images": len(data.x_test), "seconds": round(seconds, 1),
           "bn_reestimate": hist.bn_reestimate or None}
    print(f"{label}: test {test:.4f} (val {hist.best_val_accuracy:.4f}, {seconds:.0f} s)", flush=True)
    args.load_average = [round(x, 2) for x in os.getloadavg()]  # the table's, as measured
    return row, model


def settings_of(args) -> dict:
    """What a row's number depends on besides its recipe: a resumed run reuses a row only
    when these are the same."""
    return {"limit_train": args.limit_train, "epochs": args.epochs, "batch_size": args.batch_size,
            "seed": args.seed}


def dataset_tag(args, sep: str) -> str:
    """"" for Fashion-MNIST (the first table's files keep their names), else the dataset
    joined by `sep`: what result and teacher file names carry."""
    return "" if args.dataset == DEFAULT_DATASET else f"{sep}{args.dataset}"


def result_path(args, suffix: str) -> Path:
    """benchmarks/results/train_recipe.json for Fashion-MNIST, else train_recipe_<dataset>.json."""
    return args.out / f"train_recipe{dataset_tag(args, '_')}{suffix}"


def write(args, rows: list[dict]) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"dataset": args.dataset, "model": "resnet8", "precision": PRECISION,
              "batch_size": args.batch_size, "settings": settings_of(args),
              "load_average": args.load_average, "rows": rows}
    lines = ["| row | width | val acc | test acc | best epoch | s |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['row']} | {r['width']:g} | {100 * r['val_accuracy']:.2f} % | "
                     f"{100 * r['test_accuracy']:.2f} % | {r['best_epoch']} | {r['seconds']:.0f} |")
    md = (f"# Training recipe ablation ({args.dataset})\n\n"
          f"ResNet-8 (width 0.5 unless said), {rows[0]['train_images']:,} training images, "
          f"{args.epochs} epochs, batch {args.batch_size}, {PRECISION}, seed {args.seed}; each row adds "
          f"one part to the row above. Test accuracy: float, the whole "
          f"{rows[0]['test_images']:,}-image test split. One seed: differences under ~0.3 points are "
          f"within noise. Load average at the end: "
          f"{result['load_average'][0]} (2 cores).\n\n" + "\n".join(lines) + "\n")
    write_atomic(result_path(args, ".json"), json.dumps(result, indent=2) + "\n")
    write_atomic(result_path(args, ".md"), md)
    print("\n".join(lines) if len(rows) == args.total_rows else f"{len(rows)} of {args.total_rows} rows "
          f"written to {result_path(args, '.md')}", flush=True)


def earlier_rows(args) -> dict[str, dict]:
    """The rows of an earlier run with the same settings, by label (resume)."""
    path = result_path(args, ".json")
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if earlier.get("settings") != settings_of(args) or earlier.get("dataset") != args.dataset:
        return {}
    args.load_average = earlier.get("load_average")  # a table rewritten from earlier rows keeps it
    return {r["row"]: r for r in earlier.get("rows", [])}


def main() -> None:
    from tinyconv.train.config import Recipe

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=DEFAULT_DATASET)
    parser.add_argument("--limit-train", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-teacher", action="store_true", help="skip the distillation row")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--runs", type=Path, default=ROOT / "benchmarks" / "runs" / "train_recipe",
                        help="where the teacher's weights are kept between sittings")
    args = parser.parse_args()
    args.total_rows = len(STEPS) + (0 if args.no_teacher else 2)
    args.load_average = None  # after the last row measured (this run's, else the earlier run's)

    done, rows = earlier_rows(args), []

    def row(recipe, width: float, label: str, shown: dict | None = None):
        """The row measured earlier with this recipe (`shown`: the recipe as the table records
        it), else measured now: then returns its model."""
        shown = shown or recipe.recipe_json()
        earlier = done.get(label)
        model = None
        if earlier is not None and earlier["recipe"] == shown:
            print(f"{label}: test {earlier['test_accuracy']:.4f} (measured earlier)", flush=True)
            rows.append(earlier)
        else:
            measured, model = run(recipe, args, width, label)
            rows.append({**measured, "recipe": shown})
        write(args, rows)
        return model

    recipe = Recipe(precision=PRECISION)
    for label, change in STEPS:
        recipe = replace(recipe, **change)
        row(recipe, 0.5, label)
    if not args.no_teacher:
        label = "teacher: ResNet-8 width 1, full recipe"
        weights = args.runs / (f"teacher{dataset_tag(args, '-')}-{args.limit_train}-{args.epochs}-"
                               f"{args.batch_size}-{args.seed}.h5")
        if not weights.exists():
            done.pop(label, None)  # its row alone is not enough: the student needs its weights
        teacher = row(recipe, 1.0, label)
        if teacher is not None:
            args.runs.mkdir(parents=True, exist_ok=True)
            tmp = weights.with_name(f".tmp-{weights.name}")  # a cut file must not pass for the teacher
            teacher.save(str(tmp), include_optimizer=False, save_format="h5")
            os.replace(tmp, weights)
        distilled = replace(recipe, teacher=str(weights), distill_alpha=0.5, distill_temperature=4.0)
        row(distilled, 0.5, "+ distillation from the teacher (a 0.5, T 4)",
            shown={**distilled.recipe_json(), "teacher": "ResNet-8 width 1 (row above)"})

if __name__ == "__main__":
    with exit_on_interrupt(lambda: "; rerun the same command to resume"):  # as `tinyconv train`
        main()
