"""`tinyconv search` end to end: budget check, space optimisation, evolution, final model.

Output directory layout:
  search.json        the options (a --resume must use the same ones), the space table and
                     the evolution's wall time (summed over the runs that finished it)
  candidates.jsonl   one line per evaluated candidate, appended as each finishes
  final/             tinyconv.train run of the winner (checkpoints: resumable too)
  arch.json, model_int8.tflite, metrics.json, accuracy_vs_sram.png, winner_memory.png
  firmware/          with --export
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..defaults import DEFAULT_STACK_BYTES
from ..errors import TinyconvError
from ..space import SearchSpace
from ..targets import Board
from .budget import Budget, check_feasible
from .evolution import Evolution, EvolutionSettings
from .log import CandidateLog
from .proxy import ProxySettings, evaluate, macs_proxy
from ..files import write_atomic
from .result import FinalSettings, finish, train_winner
from .space_opt import optimise_space


@dataclass(frozen=True)
class SearchBudget:
    candidates: int | None = None
    minutes: float | None = None

    @classmethod
    def parse(cls, text: str) -> "SearchBudget":
        """`30` candidates, or a time: `20m`, `20min`, `1.5h`, `90s`."""
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(m|min|h|s)?\s*", str(text).lower())
        if not m:
            raise TinyconvError(f"cannot read --budget {text!r}: use a number of candidates "
                                "(30) or minutes (20m)")
        value, unit = float(m.group(1)), m.group(2)
        if value <= 0:
            raise TinyconvError(f"--budget must be positive, got {text!r}")
        if unit is None:
            if value != int(value):
                raise TinyconvError(f"--budget {text!r}: a candidate count must be whole")
            return cls(candidates=int(value))
        return cls(minutes=value * {"m": 1, "min": 1, "h": 60, "s": 1 / 60}[unit])


@dataclass(frozen=True)
class SearchOptions:
    budget: Budget
    search_budget: SearchBudget
    dataset: str = "fashion_mnist"
    board: str = "qemu-m7"
    space_samples: int = 24
    population: int = 8
    parents: int = 4
    workers: int = 1
    seed: int = 0
    stack_bytes: int = DEFAULT_STACK_BYTES
    proxy: ProxySettings = field(default_factory=ProxySettings)
    final: FinalSettings = field(default_factory=FinalSettings)
    train_final: bool = True
    export: bool = False
    proxy_kind: str = "train"   # "train" (short training) or "macs" (no training)

    def identity(self) -> dict:
        """What a resumed search must share with the first run (not the budget or workers)."""
        d = asdict(self)
        for k in ("search_budget", "workers", "export", "train_final"):
            d.pop(k)
        return json.loads(json.dumps(d))


@dataclass
class SearchOutcome:
    space: SearchSpace
    choice: object
    candidates: list
    winner: object
    evaluations: int
    reused: int
    search_seconds: float
    metrics: dict | None


def run_search(opts: SearchOptions, out: Path, board: Board, *, resume: bool = False,
               echo: Callable[[str], None] = print, progress: bool = True) -> SearchOutcome:
    from ..data import resolve

    out = Path(out)
    meta_path = out / "search.json"
    earlier_seconds = 0.0   # evolution time of the runs this one resumes
    if out.exists() and any(out.iterdir()):
        if not resume:
            raise TinyconvError(f"output directory {out} exists and is not empty "
                                "(use --resume to continue that search)")
        if not meta_path.exists():
            raise TinyconvError(f"{out} holds no search.json: not a search to resume")
        meta = json.loads(meta_path.read_text())
        saved = meta.get("options", {})
        earlier_seconds = float(meta.get("evolution_seconds", 0.0))
        diff = sorted(k for k in set(saved) | set(opts.identity())
                      if saved.get(k) != opts.identity().get(k))
        if diff:
            raise TinyconvError(f"--resume with different options than {meta_path} "
                                f"({', '.join(diff)} differ)")
    source = resolve(opts.dataset)
    native = source.native_shape
    channels, classes = native[2], len(source.class_names)
    space = SearchSpace.for_input(min(native[0], native[1]))
    smallest = check_feasible(space, opts.budget, board, channels, classes)
    echo(f"budget {opts.budget.describe()} on {board.name}; smallest config needs "
         f"SRAM {smallest.peak_sram:,} B, flash {smallest.flash:,} B")

    choice = optimise_space(space, opts.budget, board, channels, classes,
                            samples=opts.space_samples, seed=opts.seed)
    if choice is None:  # only the all-minimum corner fits: search there anyway
        raise TinyconvError("no sampled configuration fits the budget (only the very smallest "
                            "does): raise --sram/--flash or lower --max-macs")
    echo("search-space optimisation (fitting samples per width x resolution, score = mean "
         "MACs x fit fraction):")
    echo(choice.format_table())
    out.mkdir(parents=True, exist_ok=True)
    meta = {"options": opts.identity(), "space": space.to_dict(),
            "chosen": {"width": choice.width, "resolution": choice.resolution},
            "table": [r.to_dict() for r in choice.table], "evolution_seconds": earlier_seconds}
    write_atomic(meta_path, json.dumps(meta, indent=2) + "\n")

    sub = space.restrict(choice.width, choice.resolution)
    settings = EvolutionSettings(population=opts.population, parents=opts.parents,
                                 max_candidates=opts.search_budget.candidates,
                                 max_seconds=None if opts.search_budget.minutes is None
                                 else opts.search_budget.minutes * 60,
                                 workers=opts.workers, seed=opts.seed)
    proxy_text = (opts.proxy.describe() if opts.proxy_kind == "train"
                  else "MACs (no training; more computation that fits ranks higher)")
    echo(f"evolution in width {choice.width:g} x {choice.resolution}px; proxy: {proxy_text}")
    start = time.monotonic()
    evo = Evolution(sub, opts.budget, board, channels, classes, settings, opts.proxy,
                    CandidateLog(out / "candidates.jsonl"), echo=echo,
                    evaluator=macs_proxy if opts.proxy_kind == "macs" else evaluate)
    cands = evo.run()
    # Wall time of the evolution, summed over this run and the finished ones it resumes.
    seconds = earlier_seconds + time.monotonic() - start
    write_atomic(meta_path, json.dumps({**meta, "evolution_seconds": round(seconds, 1)},
                                       indent=2) + "\n")
    echo(f"{len(cands)} candidates ({evo.state.evaluations} evaluated now, "
         f"{evo.state.reused} from the log) in {seconds:.0f} s")
    if not cands:
        raise TinyconvError("the search evaluated no candidate (budget too small?)")
    winner = max(cands, key=lambda c: (c.accuracy, -c.peak_sram, c.key))
    echo(f"winner {winner.key}: proxy acc {winner.accuracy:.4f}, SRAM {winner.peak_sram:,} B, "
         f"flash {winner.flash:,} B, {winner.macs:,} MACs: {winner.arch.to_json()}")
    metrics = None
    if opts.train_final:
        echo(f"training the winner: {opts.final.epochs} epochs"
             + (f" + {opts.final.qat_epochs} QAT" if opts.final.qat else ""))
        train_metrics = train_winner(winner.arch, opts.dataset, opts.final, out / "final",
                                     resume=resume, progress=progress)
        tflite = (out / "final" / "model_int8.tflite").read_bytes()
        info = {"seconds": round(seconds, 1), "evaluated_now": evo.state.evaluations,
                "reused": evo.state.reused, "proxy": proxy_text,
                "chosen_space": {"width": choice.width, "resolution": choice.resolution}}
        metrics = finish(out, winner, cands, board, opts.budget.sram, opts.budget.flash,
                         tflite, train_metrics, info, export=opts.export,
                         stack_bytes=opts.stack_bytes)
        echo(f"int8 accuracy {metrics['int8_accuracy']}, peak SRAM {metrics['peak_sram_bytes']:,} B, "
             f"constants {metrics['constant_bytes']:,} B; wrote {out}")
    return SearchOutcome(space, choice, cands, winner, evo.state.evaluations, evo.state.reused,
                         seconds, metrics)
