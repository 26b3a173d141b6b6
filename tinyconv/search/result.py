"""The search's result: the winner trained with the full recipe, its files and plots."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..defaults import DEFAULT_BOARD, DEFAULT_MEMORY, FINAL_EPOCHS
from ..files import write_atomic
from ..space import ArchConfig
from ..train.config import Recipe, TrainConfig
from ..targets import Board
from .log import Candidate


@dataclass(frozen=True)
class FinalSettings:
    """The winner's training: `tinyconv train`'s, with its whole recipe (optimizer, schedule,
    augmentation, label smoothing, EMA, BN re-estimation, distillation: `search` takes the
    same options as `train`)."""
    epochs: int = FINAL_EPOCHS
    qat: bool = True
    qat_epochs: int = TrainConfig.qat_epochs
    batch_size: int = TrainConfig.batch_size
    recipe: Recipe = field(default_factory=Recipe)
    limit_train: int | None = None
    limit_test: int | None = None
    int8_eval_limit: int | None = None    # None: int8 and float on the same full test split
    seed: int = 0
    onnx: bool = TrainConfig.onnx         # also model.onnx and model_int8.onnx


def pareto_front(cands: list[Candidate]) -> list[Candidate]:
    """Candidates no other one beats on both accuracy (higher) and peak SRAM (lower)."""
    front, best = [], -1.0
    for c in sorted(cands, key=lambda c: (c.peak_sram, -c.accuracy)):
        if c.accuracy > best:
            front.append(c)
            best = c.accuracy
    return front


def pareto_front3(cands: list[Candidate]) -> list[Candidate]:
    """Candidates no other one matches or beats on accuracy (higher), peak SRAM and flash
    (lower) while being strictly better on one of them."""
    def dominates(o: Candidate, c: Candidate) -> bool:
        return (o.accuracy >= c.accuracy and o.peak_sram <= c.peak_sram and o.flash <= c.flash
                and (o.accuracy, o.peak_sram, o.flash) != (c.accuracy, c.peak_sram, c.flash))
    return sorted((c for c in cands if not any(dominates(o, c) for o in cands)),
                  key=lambda c: (c.peak_sram, c.flash, c.key))


def plot_candidates(cands: list[Candidate], winner: Candidate | None, sram_budget: int,
                    path: Path, *, score_label: str = "proxy accuracy",
                    final_int8: float | None = None, flash_budget: int | None = None) -> dict:
    """Candidates' proxy scores against peak SRAM (the left axis says it is the proxy's);
    where the winner had its final training, its final int8 accuracy is on a right axis of
    its own. A second panel shows them against flash, the Pareto front over accuracy, SRAM
    and flash ringed in both. Returns the labels drawn (axes, legend, title)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, by_flash) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    front3 = pareto_front3(cands)
    front_label = "Pareto front (proxy, SRAM, flash)"
    for axis, x in ((ax, lambda c: c.peak_sram / 1024), (by_flash, lambda c: c.flash / 1024)):
        axis.scatter([x(c) for c in front3], [c.accuracy for c in front3], s=60,
                     facecolors="none", edgecolors="#8172b2",
                     label=front_label if axis is by_flash else None)
    by_flash.scatter([c.flash / 1024 for c in cands], [c.accuracy for c in cands], s=14,
                     color="#4c72b0")
    if winner is not None:
        by_flash.scatter([winner.flash / 1024], [winner.accuracy], marker="*", s=160,
                         color="#dd8452", zorder=5)
    if flash_budget is not None:
        by_flash.axvline(flash_budget / 1024, color="gray", linestyle=":", label="flash budget")
    by_flash.set_xlabel("flash (KiB)")
    by_flash.legend(fontsize=7, loc="lower right")
    ax.scatter([c.peak_sram / 1024 for c in cands], [c.accuracy for c in cands], s=14,
               color="#4c72b0", label=f"candidates ({score_label})")
    front = pareto_front(cands)
    ax.plot([c.peak_sram / 1024 for c in front], [c.accuracy for c in front], "-o",
            color="#c44e52", markersize=4, label="Pareto front (proxy)")
    if winner is not None:
        ax.scatter([winner.peak_sram / 1024], [winner.accuracy], marker="*", s=160,
                   color="#dd8452", label="winner (proxy)", zorder=5)
    ax.axvline(sram_budget / 1024, color="gray", linestyle="--", label="SRAM budget")
    ax.set_xlabel("peak SRAM (KiB)")
    ax.set_ylabel(f"{score_label} (proxy)")
    handles, labels = ax.get_legend_handles_labels()
    final_label = None
    if final_int8 is not None and winner is not None:
        right = ax.twinx()
        final_label = "final int8 accuracy (whole test split)"
        h = right.scatter([winner.peak_sram / 1024], [final_int8], marker="D", s=60,
                          color="#55a868", label="winner: final int8", zorder=6)
        right.set_ylabel(final_label)
        right.set_ylim(0.0, 1.0)
        handles.append(h)
        labels.append("winner: final int8")
    title = f"candidates by {score_label} (proxy, not final accuracy)"
    if final_int8 is not None:
        title += f"\nwinner after final training: int8 accuracy {final_int8:.4f}"
    ax.set_title(title, fontsize=8)
    ax.legend(handles, labels, fontsize=7, loc="lower right")
    labels = labels + [lab for lab in by_flash.get_legend_handles_labels()[1]]
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)
    return {"ylabel": f"{score_label} (proxy)", "final_ylabel": final_label, "legend": labels,
            "title": title}


def train_winner(arch: ArchConfig, dataset: str, settings: FinalSettings, run_dir: Path, *,
                 resume: bool, progress: bool, board: str = DEFAULT_BOARD,
                 init_weights: Path | None = None) -> dict:
    """`train_final` of a search architecture (its backbone's zoo family at its choices)."""
    from ..train.config import arch_fields
    return train_final(arch_fields(arch), dataset, settings, run_dir, resume=resume, progress=progress,
                       board=board, init_weights=init_weights)


def train_final(model: dict[str, Any], dataset: str, settings: FinalSettings, run_dir: Path, *,
                resume: bool, progress: bool, board: str = DEFAULT_BOARD,
                init_weights: Path | None = None) -> dict:
    """`tinyconv train` of `model` (TrainConfig's model, width, resolution and params) with
    `settings`' recipe (checkpoints, QAT, int8 conversion); returns the run's metrics.
    Resuming a run that finished (metrics.json is written last) trains nothing again."""
    from ..train import train
    done = run_dir / "metrics.json"
    if resume and done.exists() and (run_dir / "model_int8.tflite").exists():
        return json.loads(done.read_text())
    config = TrainConfig(**model, **settings.recipe.recipe_json(), dataset=dataset,
                         epochs=settings.epochs, batch_size=settings.batch_size, qat=settings.qat,
                         qat_epochs=settings.qat_epochs, seed=settings.seed,
                         limit_train=settings.limit_train, limit_test=settings.limit_test,
                         int8_eval_limit=settings.int8_eval_limit, onnx=settings.onnx, board=board,
                         init_weights=None if init_weights is None else str(init_weights))
    resume = resume and (run_dir / "config.json").exists()
    return train(config, run_dir, resume=resume, progress=progress).metrics


def footprint(arch: ArchConfig | None, tflite: bytes, source: str, board: Board, sram_budget: int,
              flash_budget: int, stack_bytes: int, memory: str = DEFAULT_MEMORY):
    """The int8 model (of `arch`, a search space's network, or None) planned by the
    firmware's own code: (graph, deployment, numbers). Raises BudgetError if the real model does not fit."""
    from .. import deploy
    from ..ir.tflite_import import import_tflite

    graph = import_tflite(tflite, source=source)
    d = deploy.prepare(graph, board, sram=sram_budget, flash=flash_budget, stack_bytes=stack_bytes,
                       memory=memory)
    # The search's cost model beside the plan (None for a network outside the space).
    predicted = None if arch is None else arch.cost(board, graph.inputs[0].shape[-1], graph.outputs[0].shape[-1],
                                                    stack_bytes=stack_bytes, sram=sram_budget, memory=memory)
    numbers = {
        "peak_sram_bytes": d.planned_ram_bytes,
        "predicted_peak_sram_bytes": predicted and predicted.peak_sram,
        "arena_bytes": d.plan.arena_bytes, "plan_kind": d.plan.kind,
        "plan_strategy": d.plan.strategy,
        "layerwise_arena_bytes": d.plan.layerwise_arena_bytes or d.plan.arena_bytes,
        "constant_bytes": d.source.weights_bytes, "flash_estimate_bytes": predicted and predicted.flash,
        "macs": graph.total_macs(), "instructions_estimate": predicted and predicted.instructions,
    }
    return graph, d, numbers


def finish(out: Path, winner: Candidate, cands: list[Candidate], board: Board,
           sram_budget: int, flash_budget: int, tflite: bytes, train_metrics: dict,
           search_info: dict, *, export: bool, stack_bytes: int,
           score_label: str = "proxy acc", memory: str = DEFAULT_MEMORY) -> dict:
    """arch.json, model_int8.tflite, metrics.json, the two plots, and optionally firmware/."""
    from .. import deploy, report

    write_atomic(out / "arch.json", json.dumps(winner.arch.to_dict(), indent=2) + "\n")
    write_atomic(out / "model_int8.tflite", tflite)
    graph, d, numbers = footprint(winner.arch, tflite, str(out / "model_int8.tflite"), board,
                                  sram_budget, flash_budget, stack_bytes, memory)
    axis = {"proxy acc": "proxy accuracy (short training)"}.get(score_label, score_label)
    plot_candidates(cands, winner, sram_budget, out / "accuracy_vs_sram.png", score_label=axis,
                    final_int8=train_metrics.get("int8_accuracy"), flash_budget=flash_budget)
    report.plot_memory(graph, d.plan, out / "winner_memory.png")
    metrics = {
        "arch": winner.arch.to_dict(), "key": winner.key, "board": board.name,
        # The proxy's score (search_info["proxy_kind"]: a short training's accuracy, or the
        # MACs score): it ranks candidates, the accuracies below are the final training's.
        "proxy_score": winner.accuracy, "proxy_score_label": score_label,
        "int8_accuracy": train_metrics.get("int8_accuracy"),
        "float_accuracy": train_metrics.get("float_accuracy"),
        **numbers,
        "sram_budget": sram_budget, "flash_budget": flash_budget,
        "candidates": len(cands), "pareto_front": [c.key for c in pareto_front(cands)],
        "pareto_front_sram_flash": [c.key for c in pareto_front3(cands)],
        "search": search_info, "training": train_metrics,
    }
    write_atomic(out / "metrics.json", json.dumps(metrics, indent=2, default=str) + "\n")
    if export:
        fw = out / "firmware"
        if fw.exists():
            shutil.rmtree(fw)  # regenerated from the (same) model on a resumed run
        from ..samples import for_search  # real test samples `make run` classifies
        deploy.write_project(d, fw, samples=for_search(
            tflite, graph, out, flash_budget - d.source.weights_bytes,
            train_metrics.get("dataset")))
        report.write_json(graph, d.plan, fw / "model" / "plan.json", {"board": board.name})
    return metrics
