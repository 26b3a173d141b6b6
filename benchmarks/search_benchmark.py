"""Search benchmark: `tinyconv search`'s winner vs a hand-scaled MobileNetV2 on cifar10.

Issue #4's question: under one SRAM/flash budget, does the memory-exact search find a
more accurate network than the obvious manual recipe, MobileNetV2 scaled down to the
largest width and input resolution that fit? Both networks then get exactly the same
final training (`tinyconv.search.result.train_winner`: cosine LR, augmentation, QAT,
int8 conversion, int8 accuracy with LiteRT's reference kernels on the same test images),
and both are built into Cortex-M7 firmware and run in QEMU (`tinyconv.verify`) for their
measured RAM, flash, instructions per inference and a bit-exactness check.

Not a timed test: about 1.5 h on a 2-core machine with the defaults (search 12 min, each
final training ~30 min, QEMU runs). Resumable: rerunning continues the search from its
candidates.jsonl and each training from its checkpoints, and reuses finished ones.

    python benchmarks/search_benchmark.py [--sram 96kB] [--flash 1MB] [--budget 16]
Writes benchmarks/results/search.md and search.json; runs go to benchmarks/runs/.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATASET = "cifar10"


def hand_scaled_mobilenetv2(space, budget, board, channels: int, classes: int):
    """Every (width, resolution) of the grid, MobileNetV2's block choices, exact cost; the
    baseline is the fitting pair with the most MACs (the largest network that fits).
    32 px (cifar10's own size) is offered to the baseline too."""
    from tinyconv.space import ArchConfig

    rows = []
    for width in space.widths:
        for res in sorted({32, *space.resolutions}):
            arch = ArchConfig.mobilenetv2(width, res)
            cost = arch.cost(board, channels, classes)
            rows.append((arch, cost, budget.fits(cost)))
    fitting = [(a, c) for a, c, ok in rows if ok]
    if not fitting:
        raise SystemExit("no MobileNetV2 width x resolution fits this budget")
    best = max(fitting, key=lambda ac: (ac[1].macs, ac[0].resolution))
    return best[0], rows


def measure(name: str, arch, tflite_path: Path, train_metrics: dict, board, budget,
            samples: int) -> dict:
    from tinyconv import tflm
    from tinyconv.search.result import footprint
    from tinyconv.train.config import qat_int8_accuracy
    from tinyconv.verify import verify

    tflite = tflite_path.read_bytes()
    # The stack the search reserved: its default, the model's computed bound (stack.py).
    _, _, numbers = footprint(arch, tflite, str(tflite_path), board, budget.sram, budget.flash,
                              None)
    report = verify(tflite, board, source=str(tflite_path), n=samples, sram=budget.sram,
                    flash=budget.flash)
    return {
        "name": name, "arch": None if arch is None else arch.to_dict(),
        "float_accuracy": train_metrics["float_accuracy"],
        "int8_accuracy": train_metrics["int8_accuracy"],
        "ptq_int8_accuracy": train_metrics.get("ptq_int8_accuracy"),
        "qat_int8_accuracy": qat_int8_accuracy(train_metrics),
        "int8_kept": train_metrics.get("int8_kept", "qat" if train_metrics.get("qat") else "ptq"),
        "int8_evaluated_on": train_metrics.get("int8_evaluated_on"),
        "train_seconds_per_epoch": train_metrics.get("seconds_per_epoch"),
        **numbers,
        # The peer's activation arena for the same model (its allocator's head), beside ours.
        "tflm_arena_bytes": tflm.tflm_arena(tflite).head_bytes,
        "measured_ram_bytes": report.ram_bytes, "measured_flash_bytes": report.flash_bytes,
        "measured_stack_bytes": report.stack_bytes,
        "instructions_per_inference": report.instructions_per_inference,
        "verify_samples": report.samples, "mismatched_bytes": report.mismatched_bytes,
    }


def refresh_estimates(path: Path) -> None:
    """The cost model changed (space.py): recompute what it predicts for the two networks
    and the baseline grid; every measured number stays as measured."""
    from tinyconv.defaults import DEFAULT_STACK_BYTES
    from tinyconv.space import ArchConfig
    from tinyconv.targets import get_board

    result = json.loads(path.read_text())
    # The stack that run reserved (runs before the computed bound reserved 8 KiB).
    stack = result.get("stack_bytes", DEFAULT_STACK_BYTES)
    board = get_board(result["board"])
    channels, classes = 3, 10  # cifar10
    for row in result["rows"]:
        cost = ArchConfig.from_dict(row["arch"]).cost(board, channels, classes,
                                                      stack_bytes=stack)
        row.update(predicted_peak_sram_bytes=cost.peak_sram, flash_estimate_bytes=cost.flash,
                   instructions_estimate=cost.instructions)
        print(f"{row['name']}: instructions estimate {cost.instructions:,} vs measured "
              f"{row['instructions_per_inference']:,} "
              f"({cost.instructions / row['instructions_per_inference'] - 1:+.1%})")
    for g in result["baseline_grid"]:
        cost = ArchConfig.mobilenetv2(g["width"], g["resolution"]).cost(board, channels, classes,
                                                                       stack_bytes=stack)
        g.update(peak_sram=cost.peak_sram, flash=cost.flash, macs=cost.macs)
    path.write_text(json.dumps(result, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sram", default="96kB")
    parser.add_argument("--flash", default="1MB")
    parser.add_argument("--target", default="cortex-m7")
    parser.add_argument("--budget", default="16", help="search budget: candidates or minutes")
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--proxy-images", type=int, default=4000)
    parser.add_argument("--proxy-epochs", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=10, help="final training epochs (+1 QAT)")
    parser.add_argument("--limit-train", type=int, default=20000)
    parser.add_argument("--verify-samples", type=int, default=10)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--refresh-estimates", action="store_true",
                        help="keep the measured search.json, recompute the cost model's "
                             "predictions (peak SRAM, flash, instructions) of its networks")
    args = parser.parse_args()
    if args.refresh_estimates:
        refresh_estimates(args.out / "search.json")
        return

    from tinyconv.data import resolve
    from tinyconv.search.budget import Budget
    from tinyconv.search.proxy import ProxySettings
    from tinyconv.search.result import FinalSettings, train_winner
    from tinyconv.train.config import Recipe
    from tinyconv.search.run import SearchBudget, SearchOptions, run_search
    from tinyconv.space import SearchSpace
    from tinyconv.targets import board_for
    from tinyconv.units import parse_bytes

    board = board_for(args.target, None)
    budget = Budget.parse(args.sram, args.flash)
    source = resolve(DATASET)
    channels, classes = source.native_shape[2], len(source.class_names)
    final = FinalSettings(epochs=args.epochs, qat=True, qat_epochs=1, recipe=Recipe(augment=True),
                          limit_train=args.limit_train, int8_eval_limit=None, seed=0)
    runs = ROOT / "benchmarks" / "runs" / f"search_{DATASET}_{parse_bytes(args.sram)}"
    search_dir, baseline_dir = runs / "search", runs / "baseline"

    space = SearchSpace.for_input(min(source.native_shape[:2]))
    baseline, baseline_rows = hand_scaled_mobilenetv2(space, budget, board, channels, classes)
    print(f"baseline: MobileNetV2 width {baseline.width:g} at {baseline.resolution} px")

    opts = SearchOptions(
        budget=budget, search_budget=SearchBudget.parse(args.budget), dataset=DATASET,
        board=board.name, population=args.population, parents=max(2, args.population // 2),
        workers=args.workers, proxy=ProxySettings(dataset=DATASET, train_images=args.proxy_images,
                                                  val_images=1000, epochs=args.proxy_epochs),
        final=final)
    outcome = run_search(opts, search_dir, board,
                         resume=(search_dir / "search.json").exists())
    cands = outcome.candidates
    candidate_seconds = sum(c.seconds for c in cands)   # each candidate's own evaluation time
    winner_metrics = json.loads((search_dir / "final" / "metrics.json").read_text())

    base_metrics = train_winner(baseline, DATASET, final, baseline_dir, resume=True,
                                progress=True)
    rows = [measure("search winner", outcome.winner.arch, search_dir / "model_int8.tflite",
                    winner_metrics, board, budget, args.verify_samples),
            measure(f"MobileNetV2 {baseline.width:g} @ {baseline.resolution} px (hand-scaled)",
                    baseline, baseline_dir / "model_int8.tflite", base_metrics, board, budget,
                    args.verify_samples)]
    result = {
        "dataset": DATASET, "board": board.name, "budget": budget.to_dict(),
        "stack_bytes": None,  # reserved: each model's computed stack bound (tinyconv/stack.py)
        "final_training": asdict(final), "proxy": asdict(opts.proxy),
        "search": {"candidates": len(cands), "evaluated_this_run": outcome.evaluations,
                   "evolution_wall_seconds": round(outcome.search_seconds, 1),
                   "candidate_seconds": round(candidate_seconds, 1),
                   "chosen_space": {"width": outcome.choice.width,
                                    "resolution": outcome.choice.resolution}},
        "rows": rows,
        "baseline_grid": [{"width": a.width, "resolution": a.resolution, "peak_sram": c.peak_sram,
                           "flash": c.flash, "macs": c.macs, "fits": ok}
                          for a, c, ok in baseline_rows],
        "winner_beats_baseline": rows[0]["int8_accuracy"] > rows[1]["int8_accuracy"],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "search.json").write_text(json.dumps(result, indent=2) + "\n")
    shutil.copyfile(search_dir / "accuracy_vs_sram.png", args.out / "search_accuracy_vs_sram.png")
    (args.out / "search.md").write_text(render(result, outcome, args))
    print((args.out / "search.md").read_text())


def render(result: dict, outcome, args) -> str:
    b, s = result["budget"], result["search"]
    lines = [
        "# Search benchmark: NAS winner vs hand-scaled MobileNetV2 (cifar10)",
        "",
        f"Budget: peak SRAM {b['sram']:,} B ({args.sram}), flash {b['flash']:,} B ({args.flash}) "
        f"on {result['board']} (Cortex-M7). Same final training for both rows: "
        f"{args.epochs} epochs (cosine LR, shift/flip/brightness augmentation) on "
        f"{args.limit_train:,} cifar10 training images (10 % of them held out for validation) "
        "+ 1 QAT epoch, full-int8 conversion; accuracy on the 10,000 test images of the shared "
        "JPEG (q75) copy, int8 with LiteRT's reference kernels. RAM, flash and instructions are "
        f"measured on the firmware in QEMU ({args.verify_samples} inputs each, compared bit for "
        "bit with LiteRT).",
        "",
        "Peak SRAM planned = arena + 8 KiB reserved stack + runtime (what the search constrains); "
        "RAM measured = the firmware's .data + .bss + measured stack high-water mark.",
        "",
        "| network | int8 acc | int8 acc (PTQ) | float acc | peak SRAM planned | RAM measured "
        "| flash measured | MACs | instructions/inference | mismatched bytes |",
        "|" + "---|" * 10,
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['name']} | {100 * r['int8_accuracy']:.2f} % | "
            f"{100 * (r['ptq_int8_accuracy'] or 0):.2f} % | {100 * r['float_accuracy']:.2f} % "
            f"| {r['peak_sram_bytes']:,} | {r['measured_ram_bytes']:,} | "
            f"{r['measured_flash_bytes']:,} | {r['macs']:,} | "
            f"{r['instructions_per_inference']:,} | {r['mismatched_bytes']} |")
    w, base = result["rows"]
    lines += [
        "",
        f"Search: {s['candidates']} candidates in width {s['chosen_space']['width']:g} x "
        f"{s['chosen_space']['resolution']} px (chosen by the space optimisation below), proxy "
        f"{args.proxy_epochs} epoch(s) on {args.proxy_images:,} images; search time "
        f"{s['evolution_wall_seconds'] / 60:.1f} min wall ({args.workers} workers sharing 2 "
        f"cores, {s['candidate_seconds'] / 60:.1f} min summed over the candidates); the final "
        "training of either network took "
        f"{w['train_seconds_per_epoch']:.0f} / {base['train_seconds_per_epoch']:.0f} s per "
        "epoch (other jobs shared the CPU: not a speed comparison). No latency bound was set "
        "(`--max-instructions` would add one): the winner's larger kernels cost "
        f"{w['instructions_per_inference'] / base['instructions_per_inference']:.2f}x the "
        "baseline's instructions per inference.",
        f"Winner: `{json.dumps(w['arch'])}`.",
        f"int8 accuracy difference (winner - baseline): "
        f"{100 * (w['int8_accuracy'] - base['int8_accuracy']):+.2f} points.",
        "",
        "![proxy accuracy vs peak SRAM of the candidates](search_accuracy_vs_sram.png)",
        "",
        "Space optimisation (fitting samples per width x resolution):",
        "", "```", outcome.choice.format_table(), "```", "",
        "Hand-scaled MobileNetV2 grid (exact cost; baseline = the fitting pair with most MACs):",
        "", "| width | res | peak SRAM | flash | MACs | fits |", "|---|---|---|---|---|---|",
    ]
    for g in result["baseline_grid"]:
        lines.append(f"| {g['width']:g} | {g['resolution']} | {g['peak_sram']:,} | "
                     f"{g['flash']:,} | {g['macs']:,} | {'yes' if g['fits'] else 'no'} |")
    lines += ["", "Candidates (proxy accuracy, exact peak SRAM):", "",
              "| # | gen | proxy acc | peak SRAM | flash | MACs | s |", "|---|---|---|---|---|---|---|"]
    for c in outcome.candidates:
        lines.append(f"| {c.index} | {c.generation} | {c.accuracy:.3f} | {c.peak_sram:,} | "
                     f"{c.flash:,} | {c.macs:,} | {c.seconds:.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
