"""Search benchmark at three budgets: does the search beat the hand-scaled networks?

At 64 kB, 128 kB and 320 kB of SRAM (1 MB flash, Cortex-M7) on cifar10, four networks per
budget, each then trained with the same final recipe (`tinyconv.search.result.train_winner`,
`tinyconv train`'s: SGD + Nesterov, label smoothing, shift/flip/brightness + cutout, EMA,
BN re-estimation, QAT, int8) and measured the same way (int8 and float accuracy on the
10,000 test images, LiteRT's reference kernels for int8; RAM, flash and instructions per
inference of the firmware in QEMU, compared bit for bit with LiteRT):

- `supernet`: `tinyconv search --proxy supernet` (a weight-sharing supernet, a thousand
  candidates scored by inherited weights; the winner's training starts from its supernet
  weights). The supernet is trained once, by the first budget (give the largest first), and
  reused by the others where its space holds theirs (`--supernet DIR`), as a user searching
  several boards would;
- `proxy`: `tinyconv search --proxy train` (each candidate trained briefly);
  both over `--space` (default fusednet: Fused-MBConv blocks, stride 8, which suits 32 px
  images and trains several times faster on CPUs than MCUNet's depthwise blocks; `resnet`:
  ResNet's basic blocks, a space that holds ResNet-8-like networks at every width);
- `mobilenetv2`: MobileNetV2 at the largest width x resolution that fits (exact cost);
- `resnet8`: the MLPerf Tiny ResNet-8 at the largest width that fits at 32 px (the firmware
  planner decides, as `tinyconv export` would; widths in steps of 0.25 until the weights
  outgrow the flash).
  A hand-scaled network is trained once (benchmarks/runs/search_budgets/hand_scaled/) and
  measured under each budget it is the answer for: where the flash binds, several are.
  Likewise a search whose winner an earlier budget's search of the same method already
  trained (same network, same recipe, same supernet) reuses that training.

Search wall time is what each method spent before its final training (supernet training
included). Not a timed test: with the defaults, many CPU hours on 2 cores (each final
training is --epochs of cifar10; a GPU or several sittings help). Resumable: every search
continues from its log and checkpoints, every training from its checkpoints, finished work
is reused; rerun the same command. `--no-final` runs the searches alone (a sitting can hold
the supernet and the evolutions, and the trainings come later, one per sitting). The run
folder is ignored by git for its checkpoints, but the finished records in it are committed
one by one (`--stage` runs `git add -f` on them: each search's search.json, candidates.jsonl,
rerank.json, arch.json and leaderboard, each finished supernet's state, meta and last
checkpoint, which holds the weights alone, each finished training's config, history, metrics
and int8 model, and a training a sitting ends in the middle of: its config, state, last
epoch's checkpoint and best weights, dropped from git once it finishes), so a fresh clone
resumes where the last sitting stopped.

    python benchmarks/search_budgets.py [--budgets 320kB,128kB,64kB] [--methods ...] [--epochs 40]
                                        [--space fusednet] [--no-final]
Runs go to benchmarks/runs/search_budgets/ (a budget's searches in SRAM_BYTES/METHOD, or
SRAM_BYTES/METHOD-SPACE for another space than fusednet; the hand-scaled trainings are shared);
writes benchmarks/results/search_budgets.{json,md} (search_budgets_SPACE.* for another space),
keeping what an earlier run wrote there with the same settings that this one does not
measure: its other budgets, and at a budget measured again its rows of the other methods
(`--methods proxy` adds the proxy's rows; each row names the command that measured it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import asdict, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from search_benchmark import hand_scaled_mobilenetv2, measure  # noqa: E402  (one definition each)
from tinyconv.files import write_atomic  # noqa: E402
from tinyconv.interrupt import exit_on_interrupt  # noqa: E402

DATASET = "cifar10"
METHODS = ("supernet", "proxy", "mobilenetv2", "resnet8")
RESNET8_WIDTH_STEP = 0.25
FIRST_SPACE = "fusednet"  # its run folders and results were named before the space was


def space_suffix(space: str, sep: str) -> str:
    """What names a space's search folders and results beside fusednet's ("" for fusednet)."""
    return "" if space == FIRST_SPACE else f"{sep}{space}"


def hand_scaled_resnet8(budget, board, shape, classes: int):
    """The widest ResNet-8 (widths in steps of RESNET8_WIDTH_STEP) whose int8 model the
    firmware planner fits in the budget (its graph built from the Keras model: the plan
    equals the converted model's). The grid runs until the weights alone outgrow the flash:
    they grow with the width, the SRAM need does not always (a streamed plan can fit a wider
    network in less), so no wider one can fit."""
    from tinyconv import deploy, zoo
    from tinyconv.errors import BudgetError
    from tinyconv.ir.keras_import import graph_from_keras

    rows, step = [], 1
    while True:
        width = step * RESNET8_WIDTH_STEP
        step += 1
        graph = graph_from_keras(zoo.build("resnet8", shape, classes, width))
        weights = graph.weight_bytes()
        if weights > budget.flash:
            rows.append({"width": width, "fits": False, "macs": graph.total_macs(),
                         "why": f"weights {weights:,} B > flash {budget.flash:,} B"})
            break
        try:
            d = deploy.prepare(graph, board, sram=budget.sram, flash=budget.flash, memory=budget.memory)
            rows.append({"width": width, "fits": True, "peak_sram": d.planned_ram_bytes,
                         "flash": d.source.weights_bytes, "macs": graph.total_macs()})
        except BudgetError as e:
            rows.append({"width": width, "fits": False, "macs": graph.total_macs(), "why": str(e)[:200]})
    fitting = [r for r in rows if r["fits"]]
    return (max(fitting, key=lambda r: r["macs"])["width"] if fitting else None), rows


def hand_scaled_folder(runs: Path, network: str) -> Path:
    """Where a hand-scaled network trains: one folder per network, not per budget. Where the
    flash (or the width grid) binds, several budgets scale to the same network; it is
    trained once (a finished training is reused) and measured under each budget."""
    return runs / "hand_scaled" / network


def supernet_dir(folder: Path) -> Path:
    """The supernet a supernet search used: its own, or the one it reused (--supernet)."""
    reuse = json.loads((folder / "search.json").read_text())["options"]["supernet"].get("reuse")
    return Path(reuse if reuse else folder / "supernet").resolve()


def trained_twin(runs: Path, folder: Path) -> Path | None:
    """Another budget's search folder of the same method whose winner is this search's
    (arch.json), trained with the same final settings (from the same supernet, for a
    supernet search): its final training is this one's. None if there is none."""
    meta = json.loads((folder / "search.json").read_text())
    arch = json.loads((folder / "arch.json").read_text())
    for other in sorted(runs.glob(f"*/{folder.name}")):
        if other.resolve() == folder.resolve() or not (other / "final" / "metrics.json").exists():
            continue
        theirs = json.loads((other / "search.json").read_text())
        if (json.loads((other / "arch.json").read_text()) == arch
                and theirs["options"]["final"] == meta["options"]["final"]
                and (meta["options"]["proxy_kind"] != "supernet"
                     or supernet_dir(other) == supernet_dir(folder))):
            return other
    return None


SEARCH_RECORDS = ("search.json", "candidates.jsonl", "rerank.json", "arch.json", "leaderboard.json",
                  "leaderboard.txt")
TRAINING_RECORDS = ("config.json", "history.json", "metrics.json", "model_int8.tflite")


def _last_checkpoint(folder: Path, state: dict) -> list[Path]:
    """The files of the epoch checkpoint a checkpoint folder's `state` names."""
    return sorted((folder / state["checkpoint"]).iterdir())


def records(runs: Path) -> tuple[list[Path], list[Path]]:
    """The run folder's files git tracks (see the module doc), and those it no longer should:
    the checkpoints of a training that has finished since a sitting committed it unfinished."""
    from tinyconv.search import supernet as sn
    from tinyconv.train.checkpoints import STATE_FILE, read_state
    keep, drop = [], []
    for search in sorted(p.parent for p in runs.glob("*/*/search.json")):
        keep += [search / f for f in SEARCH_RECORDS if (search / f).exists()]
        supernet, state = search / "supernet", read_state(search / "supernet")
        if state is not None:
            keep += [supernet / sn.META_FILE, supernet / STATE_FILE]
            if state["epoch"] >= sn.read_meta(supernet)["settings"]["epochs"]:
                keep += _last_checkpoint(supernet, state)
    for training in sorted(p.parent for p in [*runs.glob("*/*/final/config.json"),
                                              *runs.glob("hand_scaled/*/config.json")]):
        checkpoints = training / "checkpoints"
        if (training / "metrics.json").exists():
            keep += [training / f for f in TRAINING_RECORDS if (training / f).exists()]
            drop.append(checkpoints)
            continue
        keep.append(training / "config.json")  # unfinished: what resumes it
        for folder in (checkpoints, checkpoints / "qat"):
            state = read_state(folder)
            if state is not None:
                keep += [folder / STATE_FILE, *_last_checkpoint(folder, state)]
                if (folder / "best.weights.h5").exists():
                    keep.append(folder / "best.weights.h5")
    return keep, drop


def stage_records(runs: Path) -> None:
    """`--stage`: git add -f the records, git rm --cached the stale checkpoints."""
    import subprocess
    keep, drop = records(runs)
    subprocess.run(["git", "add", "-f", *map(str, keep)], cwd=ROOT, check=True)
    for folder in drop:
        subprocess.run(["git", "rm", "-r", "-q", "--cached", "--ignore-unmatch", str(folder)],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    print(f"staged {len(keep)} records of {runs}; commit them")


def supernet_seconds(folder: Path) -> float:
    state = folder / "supernet" / "state.json"
    return sum(h["seconds"] for h in json.loads(state.read_text())["history"]) if state.exists() else 0.0


def run_budget(sram: str, args, final, board, shared: list[Path]) -> dict:
    """One budget's rows. `shared`: supernet folders of the budgets before (reused where
    their space holds this search's)."""
    from tinyconv.data import resolve
    from tinyconv.search.budget import Budget
    from tinyconv.search.proxy import ProxySettings
    from tinyconv.search.result import train_final, train_winner
    from tinyconv.search.run import SearchBudget, SearchOptions, run_search
    from tinyconv.errors import TinyconvError
    from tinyconv.search.supernet import SupernetSettings
    from tinyconv.space import SearchSpace
    from tinyconv.units import parse_bytes

    budget = Budget.parse(sram, args.flash)
    source = resolve(DATASET)
    shape, classes = tuple(source.native_shape), len(source.class_names)
    runs = args.runs / f"{parse_bytes(sram)}"
    rows, notes = [], {}
    for method in args.methods:
        folder = runs / f"{method}{space_suffix(args.space, '-')}"
        if method in ("supernet", "proxy"):
            supernet = method == "supernet"
            reuse = None
            if supernet and not (folder / "search.json").exists() and shared:
                reuse = str(shared[0])
            elif supernet and (folder / "search.json").exists():
                reuse = json.loads((folder / "search.json").read_text())["options"]["supernet"].get("reuse")
            opts = SearchOptions(
                budget=budget, search_budget=SearchBudget.parse(args.supernet_budget if supernet
                                                                 else args.proxy_budget),
                dataset=DATASET, board=board.name, population=50 if supernet else 8,
                parents=25 if supernet else 4, proxy_kind="supernet" if supernet else "train",
                backbone=args.space,
                # The short-training proxy's settings; a supernet search keeps the defaults
                # (it does not use them), so its options are `tinyconv search`'s own and a
                # search run with the CLI can serve as the row (same folder, --resume).
                proxy=ProxySettings(dataset=DATASET, train_images=args.proxy_images, val_images=1000,
                                    epochs=args.proxy_epochs) if not supernet
                else ProxySettings(dataset=DATASET),
                supernet=SupernetSettings(epochs=args.supernet_epochs, limit_train=args.limit_train,
                                          augment=True, reuse=reuse),
                final=final)
            if not (folder / "final" / "metrics.json").exists():
                # The evolution first, then the winner's training: one an earlier budget
                # already trained (flash-bound budgets find the same network) is reused.
                try:
                    run_search(replace(opts, train_final=False), folder, board,
                               resume=(folder / "search.json").exists())
                except TinyconvError as e:
                    if reuse is None or "does not match this search" not in str(e):
                        raise
                    print(f"{sram}: {e}; training its own supernet")
                    opts = replace(opts, supernet=replace(opts.supernet, reuse=None))
                    run_search(replace(opts, train_final=False), folder, board, resume=False)
                twin = None if args.no_final else trained_twin(args.runs, folder)
                if twin is not None:
                    print(f"{sram} {method}: the winner is {twin.parent.name} B's, trained with "
                          f"the same recipe{' from the same supernet' if supernet else ''}: "
                          f"its training reused ({twin / 'final'})")
                    shutil.copytree(twin / "final", folder / "final")
            if supernet and opts.supernet.reuse is None:
                shared.append(folder / "supernet")
            if args.no_final:
                continue
            outcome = run_search(opts, folder, board, resume=True)
            metrics = json.loads((folder / "final" / "metrics.json").read_text())
            arch, tflite = outcome.winner.arch, folder / "model_int8.tflite"
            search_seconds = outcome.search_seconds + (supernet_seconds(folder) if supernet else 0.0)
            name = f"{method} search winner ({len(outcome.candidates)} candidates)"
            if supernet and opts.supernet.reuse is not None:
                name += f", supernet of the {Path(opts.supernet.reuse).parent.parent.name} B budget"
        elif args.no_final:
            continue  # a hand-scaled row is its training
        elif method == "mobilenetv2":
            arch, grid = hand_scaled_mobilenetv2(SearchSpace.for_input(min(shape[:2])), budget, board,
                                                 shape[2], classes)
            folder = hand_scaled_folder(args.runs, f"mobilenetv2-w{arch.width:g}-r{arch.resolution}")
            metrics = train_winner(arch, DATASET, final, folder, resume=True, progress=True, board=board.name)
            tflite, search_seconds = folder / "model_int8.tflite", 0.0
            name = f"MobileNetV2 {arch.width:g} @ {arch.resolution} px (hand-scaled)"
            notes["mobilenetv2_grid"] = [{"width": a.width, "resolution": a.resolution, "peak_sram": c.peak_sram,
                                          "flash": c.flash, "macs": c.macs, "fits": ok} for a, c, ok in grid]
        else:
            width, grid = hand_scaled_resnet8(budget, board, shape, classes)
            notes["resnet8_grid"] = grid
            if width is None:
                rows.append({"method": method, "name": "ResNet-8: no width fits", "int8_accuracy": None})
                continue
            folder = hand_scaled_folder(args.runs, f"resnet8-w{width:g}")
            metrics = train_final({"model": "resnet8", "width": width, "resolution": None, "params": {}},
                                  DATASET, final, folder, resume=True, progress=True, board=board.name)
            arch, tflite, search_seconds = None, folder / "model_int8.tflite", 0.0
            name = f"ResNet-8 width {width:g} @ 32 px (hand-scaled)"
        row = measure(name, arch, tflite, metrics, board, budget, args.verify_samples)
        rows.append({"method": method, **row, "search_wall_seconds": round(search_seconds, 1)})
    return {"sram": sram, "budget": budget.to_dict(), "rows": rows, **notes,
            "search_beats_hand_scaled": search_beats_hand_scaled(rows)}


def search_beats_hand_scaled(rows: list[dict]) -> dict | None:
    """Per search method measured: whether its winner's int8 accuracy beats the best
    hand-scaled network's (None without a hand-scaled row)."""
    found = [r for r in rows if r["method"] in ("supernet", "proxy") and r.get("int8_accuracy") is not None]
    hand = [r for r in rows if r["method"] in ("mobilenetv2", "resnet8") and r.get("int8_accuracy") is not None]
    best_hand = max((r["int8_accuracy"] for r in hand), default=None)
    return {r["method"]: r["int8_accuracy"] > best_hand for r in found} if best_hand is not None else None


SAME_BENCHMARK = ("dataset", "board", "flash", "space", "final_training")


def earlier_budgets(path: Path, result: dict) -> list[dict]:
    """The budgets an earlier run wrote to the results file `path` with the same dataset,
    board, flash, space and final training as `result` (each with the command that measured
    it): a run of some budgets adds its rows to theirs, so sittings can measure one budget
    each. None from a results file of other settings (it is replaced, said on stdout)."""
    if not path.exists():
        return []
    previous = json.loads(path.read_text())
    now = json.loads(json.dumps({k: result[k] for k in SAME_BENCHMARK}, default=str))
    differ = [k for k in SAME_BENCHMARK if previous.get(k) != now[k]]
    if differ:
        print(f"{path}: its budgets were measured with another {', '.join(differ)}: replaced")
        return []
    return [{"command": previous.get("command"), **b} for b in previous.get("budgets", [])]


def merge_budgets(earlier: list[dict], measured: list[dict]) -> list[dict]:
    """`measured` and what of `earlier` it did not measure again, smallest SRAM first: an
    earlier budget not measured now stays whole; one measured now with some of the methods
    keeps its earlier rows of the others, each row with the command that measured it."""
    from tinyconv.units import parse_bytes
    before, ran_now = {b["sram"]: b for b in earlier}, {m["sram"] for m in measured}
    merged = [b for b in earlier if b["sram"] not in ran_now]
    for now in measured:
        old = before.get(now["sram"])
        if old is not None:
            ran = {r["method"] for r in now["rows"]}
            kept = [{"command": old.get("command"), **r} for r in old["rows"] if r["method"] not in ran]
            rows = sorted(kept + now["rows"], key=lambda r: METHODS.index(r["method"]))
            now = {**{k: v for k, v in old.items() if k not in now}, **now, "rows": rows,
                   "search_beats_hand_scaled": search_beats_hand_scaled(rows)}
        merged.append(now)
    return sorted(merged, key=lambda b: parse_bytes(b["sram"]))


def render(result: dict) -> str:
    f = result["final_training"]
    r = f["recipe"]
    lines = [f"# Search benchmark at three budgets (cifar10, Cortex-M7, {result.get('space', 'mcunet')} "
             "search space)", "",
             f"Final training, the same for every row: {f['epochs']} epochs of {r['optimizer']} (lr "
             f"{r['learning_rate']:g}, weight decay {r['weight_decay']:g}), label smoothing {r['label_smoothing']:g}, "
             f"augmentation + cutout {r['cutout']:g}, EMA {r['ema_decay']:g}, BN re-estimation "
             f"{r['bn_reestimate']} batches, {f['qat_epochs']} QAT epoch(s), int8. int8 acc: the model the "
             "training kept, QAT's or the float model's post-training quantization where that scored "
             "higher on validation (trainings from before that choice kept QAT's), both beside it; "
             "accuracies on the 10,000 "
             "test images of the shared JPEG copy (int8 with LiteRT's reference kernels). RAM, flash and "
             "instructions: the firmware in QEMU, bit-exact against LiteRT. Arena / TFLM's: the "
             "activation arena our planner lays out beside TFLite Micro's for the same int8 model (its "
             "allocator's head after one invoke, the `tflite-micro` package).", ""]
    for b in result["budgets"]:
        lines += [f"## SRAM {b['sram']}, flash {result['flash']}", "",
                  "| network | int8 acc | int8 QAT / PTQ | float acc | peak SRAM planned | RAM measured | "
                  "arena / TFLM's | flash measured | MACs | instructions | search wall time | mismatched bytes |",
                  "|" + "---|" * 12]
        for row in b["rows"]:
            if row.get("int8_accuracy") is None:
                lines.append(f"| {row['name']} |" + " |" * 11)
                continue
            # rows measured before measure() recorded TFLM's arena have none
            tflm = row.get("tflm_arena_bytes")
            arena = (f"{row['arena_bytes']:,} / {tflm:,} ({row['arena_bytes'] / tflm:.2f}x)"
                     if tflm else "-")
            # rows measured before measure() recorded QAT's: their int8 acc is QAT's
            row = {"qat_int8_accuracy": row["int8_accuracy"], **row}
            both = " / ".join("-" if row.get(k) is None else f"{100 * row[k]:.2f}"
                              for k in ("qat_int8_accuracy", "ptq_int8_accuracy"))
            lines.append(
                f"| {row['name']} | {100 * row['int8_accuracy']:.2f} % ({row.get('int8_kept', 'qat').upper()}) | "
                f"{both} % | {100 * row['float_accuracy']:.2f} % | "
                f"{row['peak_sram_bytes']:,} | {row['measured_ram_bytes']:,} | {arena} | {row['measured_flash_bytes']:,} | "
                f"{row['macs']:,} | {row['instructions_per_inference']:,} | "
                f"{row['search_wall_seconds'] / 60:.0f} min | {row['mismatched_bytes']} |")
        lines += ["", f"Search beats the best hand-scaled network: {b['search_beats_hand_scaled']}", ""]
        commands: dict[str, list[str]] = {}  # command -> the methods whose rows it measured
        for row in b["rows"]:
            commands.setdefault(row.get("command") or b.get("command") or result["command"], []).append(row["method"])
        for c, m in commands.items():
            lines += [f"Measured by `{c}` (rerun it to resume)"
                      + (f": the {', '.join(m)} rows." if len(commands) > 1 else "."), ""]
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="320kB,128kB,64kB",
                        help="largest first: its supernet serves the others")
    parser.add_argument("--flash", default="1MB")
    parser.add_argument("--target", default="cortex-m7")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--epochs", type=int, default=40, help="final training epochs")
    parser.add_argument("--qat-epochs", type=int, default=2)
    parser.add_argument("--limit-train", type=int, help="training images (default: all 45,000)")
    parser.add_argument("--space", default=FIRST_SPACE, help="the searched backbone (--space)")
    parser.add_argument("--supernet-epochs", type=int, default=20)
    parser.add_argument("--supernet-budget", default="1000", help="candidates (or minutes, e.g. 30m)")
    parser.add_argument("--proxy-budget", default="16")
    parser.add_argument("--proxy-images", type=int, default=4000)
    parser.add_argument("--proxy-epochs", type=int, default=2)
    parser.add_argument("--verify-samples", type=int, default=10)
    parser.add_argument("--no-final", action="store_true",
                        help="run the searches only (supernets, evolutions), none of the trainings: "
                        "a sitting can end between them; rerun without it for the rows")
    parser.add_argument("--runs", type=Path, default=ROOT / "benchmarks" / "runs" / "search_budgets")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--stage", action="store_true",
                        help="run nothing: git add -f the run folder's records (and untrack the "
                        "checkpoints of trainings finished since), for a sitting's commit")
    args = parser.parse_args()
    if args.stage:
        stage_records(args.runs)
        return
    args.methods = [m for m in args.methods.split(",") if m]
    unknown = set(args.methods) - set(METHODS)
    if unknown:
        raise SystemExit(f"unknown method(s) {', '.join(sorted(unknown))}; known: {', '.join(METHODS)}")

    from tinyconv.search.result import FinalSettings
    from tinyconv.targets import board_for
    from tinyconv.train.config import Recipe

    board = board_for(args.target, None)
    recipe = Recipe(optimizer="sgd", label_smoothing=0.1, augment=True, cutout=0.25, ema_decay=0.999,
                    bn_reestimate=50)
    final = FinalSettings(epochs=args.epochs, qat=True, qat_epochs=args.qat_epochs, recipe=recipe,
                          limit_train=args.limit_train)
    result = {"dataset": DATASET, "board": board.name, "flash": args.flash, "space": args.space,
              "final_training": asdict(final),
              "command": " ".join(["python", "benchmarks/search_budgets.py", *sys.argv[1:]]), "budgets": []}
    shared: list[Path] = []
    stem = f"search_budgets{space_suffix(args.space, '_')}"
    earlier = earlier_budgets(args.out / f"{stem}.json", result)
    measured: list[dict] = []
    for sram in [b for b in args.budgets.split(",") if b]:
        budget = run_budget(sram, args, final, board, shared)
        if args.no_final:
            continue
        measured.append({**budget, "command": result["command"]})
        result["budgets"] = merge_budgets(earlier, measured)
        args.out.mkdir(parents=True, exist_ok=True)  # written after each budget: partial results survive
        write_atomic(args.out / f"{stem}.json", json.dumps(result, indent=2, default=str) + "\n")
        write_atomic(args.out / f"{stem}.md", render(result))
    if args.no_final:
        print(f"searches done in {args.runs}; rerun without --no-final for the trainings and rows")
        return
    print((args.out / f"{stem}.md").read_text())


if __name__ == "__main__":
    with exit_on_interrupt(lambda: "; rerun the same command to resume"):  # as `tinyconv search`
        main()
