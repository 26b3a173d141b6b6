"""The search's result: the winner trained with the full recipe, its files and plots."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..defaults import DEFAULT_BOARD, DEFAULT_MEMORY
from ..files import write_atomic
from ..space import ArchConfig
from ..targets import Board
from .log import Candidate


@dataclass(frozen=True)
class FinalSettings:
    epochs: int = 5
    qat: bool = True
    qat_epochs: int = 1
    batch_size: int = 64
    learning_rate: float = 2e-3
    limit_train: int | None = None
    augment: bool = False                 # shift/flip/brightness (photos; not digits)
    limit_test: int | None = None
    int8_eval_limit: int | None = None    # None: int8 and float on the same full test split
    seed: int = 0


def pareto_front(cands: list[Candidate]) -> list[Candidate]:
    """Candidates no other one beats on both accuracy (higher) and peak SRAM (lower)."""
    front, best = [], -1.0
    for c in sorted(cands, key=lambda c: (c.peak_sram, -c.accuracy)):
        if c.accuracy > best:
            front.append(c)
            best = c.accuracy
    return front


def plot_candidates(cands: list[Candidate], winner: Candidate | None, sram_budget: int,
                    path: Path, *, score_label: str = "proxy accuracy",
                    final_int8: float | None = None) -> None:
    """Candidates' proxy scores against peak SRAM (the proxy's, not final accuracies: the
    axis and title say so; the winner's final int8 accuracy is in the title)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter([c.peak_sram / 1024 for c in cands], [c.accuracy for c in cands], s=14,
               color="#4c72b0", label="candidates")
    front = pareto_front(cands)
    ax.plot([c.peak_sram / 1024 for c in front], [c.accuracy for c in front], "-o",
            color="#c44e52", markersize=4, label="Pareto front")
    if winner is not None:
        ax.scatter([winner.peak_sram / 1024], [winner.accuracy], marker="*", s=160,
                   color="#dd8452", label="winner", zorder=5)
    ax.axvline(sram_budget / 1024, color="gray", linestyle="--", label="SRAM budget")
    ax.set_xlabel("peak SRAM (KiB)")
    ax.set_ylabel(score_label)
    title = f"candidates by {score_label} (proxy, not final accuracy)"
    if final_int8 is not None:
        title += f"\nwinner after final training: int8 accuracy {final_int8:.4f}"
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)


def train_winner(arch: ArchConfig, dataset: str, settings: FinalSettings, run_dir: Path, *,
                 resume: bool, progress: bool, board: str = DEFAULT_BOARD) -> dict:
    """Full recipe of tinyconv.train (cosine LR, checkpoints, QAT, int8 conversion); returns
    the run's metrics. Resuming a run that finished (metrics.json is written last) trains
    nothing again."""
    from ..train import TrainConfig, train
    done = run_dir / "metrics.json"
    if resume and done.exists() and (run_dir / "model_int8.tflite").exists():
        return json.loads(done.read_text())
    config = TrainConfig(model="mcunet", dataset=dataset, width=arch.width,
                         resolution=arch.resolution, params=arch.zoo_params(),
                         epochs=settings.epochs, batch_size=settings.batch_size,
                         learning_rate=settings.learning_rate, qat=settings.qat,
                         qat_epochs=settings.qat_epochs, seed=settings.seed,
                         limit_train=settings.limit_train, limit_test=settings.limit_test,
                         augment=settings.augment,
                         int8_eval_limit=settings.int8_eval_limit, onnx=False, board=board)
    resume = resume and (run_dir / "config.json").exists()
    return train(config, run_dir, resume=resume, progress=progress).metrics


def footprint(arch: ArchConfig, tflite: bytes, source: str, board: Board, sram_budget: int,
              flash_budget: int, stack_bytes: int, memory: str = DEFAULT_MEMORY):
    """The int8 model of `arch` planned by the firmware's own code: (graph, deployment,
    numbers). Raises BudgetError if the real model does not fit."""
    from .. import deploy
    from ..ir.tflite_import import import_tflite

    graph = import_tflite(tflite, source=source)
    d = deploy.prepare(graph, board, sram=sram_budget, flash=flash_budget, stack_bytes=stack_bytes,
                       memory=memory)
    predicted = arch.cost(board, graph.inputs[0].shape[-1], graph.outputs[0].shape[-1],
                          stack_bytes=stack_bytes, sram=sram_budget, memory=memory)
    numbers = {
        "peak_sram_bytes": d.planned_ram_bytes, "predicted_peak_sram_bytes": predicted.peak_sram,
        "arena_bytes": d.plan.arena_bytes, "plan_kind": d.plan.kind,
        "plan_strategy": d.plan.strategy,
        "layerwise_arena_bytes": d.plan.layerwise_arena_bytes or d.plan.arena_bytes,
        "constant_bytes": d.source.weights_bytes, "flash_estimate_bytes": predicted.flash,
        "macs": graph.total_macs(), "instructions_estimate": predicted.instructions,
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
                    final_int8=train_metrics.get("int8_accuracy"))
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
        "search": search_info, "training": train_metrics,
    }
    write_atomic(out / "metrics.json", json.dumps(metrics, indent=2, default=str) + "\n")
    if export:
        fw = out / "firmware"
        if fw.exists():
            shutil.rmtree(fw)  # regenerated from the (same) model on a resumed run
        deploy.write_project(d, fw)
        report.write_json(graph, d.plan, fw / "model" / "plan.json", {"board": board.name})
    return metrics
