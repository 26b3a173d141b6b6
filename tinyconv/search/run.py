"""`tinyconv search` end to end: budget check, space optimisation, evolution, final model.

Output directory layout:
  search.json        the options (a --resume must use the same ones), the space table and
                     the evolution's wall time (summed over the runs that finished it)
  candidates.jsonl   one line per evaluated candidate, appended as each finishes
  supernet/          with --proxy supernet: the weight-sharing supernet (search/supernet.py),
                     a checkpoint per epoch (resumable; `--supernet DIR` reuses one)
  rerank.json        with --proxy supernet: the --rerank best candidates' scores on the
                     whole validation split, by which the winner is picked
  winner_init.weights.h5  with --proxy supernet: its weights of the winner, from which
                     the final training starts (with --no-final: `train --init-weights`)
  final/             tinyconv.train run of the winner (checkpoints: resumable too)
  leaderboard.json/.txt  the top --top candidates (proxy score; final accuracy where trained)
  arch.json          the winner's architecture (`tinyconv train --arch` trains any one)
  model_int8.tflite, metrics.json, accuracy_vs_sram.png, winner_memory.png
  firmware/          with --export
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..backend import run_job
from ..defaults import (DEFAULT_BACKBONE, DEFAULT_BOARD, DEFAULT_DATASET, LEADERBOARD_TOP,
                        SEARCH_POPULATION, SPACE_SAMPLES, SUPERNET_RERANK,
                        WINNER_INIT)
from ..errors import TinyconvError
from ..space import SearchSpace
from ..targets import Board
from . import leaderboard
from .budget import Budget, check_feasible
from .evolution import Evolution, EvolutionSettings
from .log import CandidateLog
from .proxy import SCORE_LABELS, ProxySettings, evaluate, macs_proxy
from ..cli.options import RECIPE_FLAGS, final_command_line
from ..files import write_atomic
from ..train.config import accuracy_summary
from .result import FinalSettings, finish, train_winner
from .space_opt import optimise_space
from .supernet import SupernetSettings


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
    dataset: str = DEFAULT_DATASET
    board: str = DEFAULT_BOARD
    space_samples: int = SPACE_SAMPLES
    population: int = SEARCH_POPULATION
    parents: int = SEARCH_POPULATION // 2
    workers: int | None = 1     # None: 1 locally, the cluster's CPUs with --ray
    ray_address: str | None = None  # --ray: "local" or a cluster's address (tinyconv/backend.py)
    seed: int = 0
    stack_bytes: int | None = None  # None: the compiler's bound per model (stack.py)
    proxy: ProxySettings = field(default_factory=ProxySettings)
    final: FinalSettings = field(default_factory=FinalSettings)
    train_final: bool = True
    export: bool = False
    proxy_kind: str = "train"   # "train" (short training) or "macs" (no training)
    backbone: str = DEFAULT_BACKBONE              # --space: the backbone searched
    widths: tuple[float, ...] | None = None       # --widths (None: SearchSpace's)
    resolutions: tuple[int, ...] | None = None    # --resolutions (None: fitted to the data)
    top: int = LEADERBOARD_TOP                    # --top: rows of the leaderboard
    clock_mhz: float | None = None                # --clock: milliseconds in the leaderboard
    supernet: SupernetSettings = field(default_factory=SupernetSettings)  # --proxy supernet
    rerank: int = SUPERNET_RERANK   # --rerank: the best re-scored on the whole validation split
    winner_init: str = WINNER_INIT  # --winner-init: "supernet" (inherited weights) or "scratch"

    def space_for(self, native_resolution: int) -> SearchSpace:
        """The space searched: --space's backbone, --widths/--resolutions where given, else
        the defaults."""
        kw = {}
        if self.widths is not None:
            kw["widths"] = tuple(self.widths)
        if self.resolutions is not None:
            return SearchSpace.for_backbone(self.backbone, resolutions=tuple(self.resolutions), **kw)
        return SearchSpace.for_input(native_resolution, self.backbone, **kw)

    def identity(self) -> dict:
        """What a resumed search must share with the first run (not the budget or workers)."""
        d = asdict(self)
        for k in ("search_budget", "workers", "ray_address", "export", "train_final", "top",
                  "clock_mhz"):
            d.pop(k)
        d["final"].pop("onnx")  # an output, like export: a resume may add or drop it
        if self.proxy_kind != "supernet":  # (the identity of other searches is unchanged)
            d.pop("supernet")
            d.pop("rerank")
            d.pop("winner_init")
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


# The command-line option behind each field of SearchOptions.identity() (dotted for the
# nested settings), so that a refused --resume names what the user typed.
OPTION_NAMES = {
    "budget.sram": "--sram", "budget.flash": "--flash", "budget.max_macs": "--max-macs",
    "budget.max_instructions": "--max-instructions", "budget.memory": "--memory",
    "dataset": "--dataset",
    "proxy.dataset": "--dataset", "board": "--target/--board", "space_samples": "--space-samples",
    "population": "--population", "parents": "--population", "seed": "--seed",
    "proxy.seed": "--seed", "final.seed": "--seed", "stack_bytes": "--stack",
    "proxy.train_images": "--proxy-images", "proxy.epochs": "--proxy-epochs",
    "proxy_kind": "--proxy", "final.epochs": "--epochs", "final.qat": "--qat/--no-qat",
    "final.qat_epochs": "--qat-epochs",
    "final.recipe.augment": "--augment/--no-augment", "final.limit_train": "--limit-train",
    "backbone": "--space", "widths": "--widths", "resolutions": "--resolutions",
    "supernet.epochs": "--supernet-epochs", "supernet.reuse": "--supernet",
    "supernet.limit_train": "--limit-train", "supernet.augment": "--augment/--no-augment",
    "supernet.seed": "--seed", "rerank": "--rerank", "winner_init": "--winner-init",
    **{f"final.recipe.{name}": flag for name, flag in RECIPE_FLAGS.items()},
}


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def option_differences(saved: dict, now: dict, defaults: dict | None = None) -> list[str]:
    """`--epochs 3 (was 5)` for each option a resume changes, one entry per option. An
    option the saved run does not record (one added to tinyconv since) counts as its value
    in `defaults`, the options' defaults, where given."""
    a, b = _flatten(saved), _flatten(now)
    a = {**{k: v for k, v in _flatten(defaults or {}).items() if k not in a}, **a}
    out: dict[str, str] = {}
    for field_name in sorted(set(a) | set(b)):
        if a.get(field_name) == b.get(field_name):
            continue
        name = OPTION_NAMES.get(field_name, field_name)
        out.setdefault(name, f"{name} {_show(b.get(field_name))} (was {_show(a.get(field_name))})")
    return list(out.values())


def _show(value) -> str:
    if value is None:
        return "default"
    if isinstance(value, list):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_resume(opts: SearchOptions, out: Path, resume: bool) -> tuple[float, SearchSpace | None]:
    """Refuse to mix searches; returns the evolution seconds of the runs a resume continues
    and the space they searched (None for a fresh search).

    A fresh search needs an empty or new folder; --resume needs a search there (search.json)
    started with the same options, and names each option that differs with both values."""
    meta_path = out / "search.json"
    if out.exists() and not out.is_dir():
        raise TinyconvError(f"output {out} exists and is not a directory")
    has_files = out.exists() and any(out.iterdir())
    if not resume:
        if has_files:
            raise TinyconvError(f"output directory {out} exists and is not empty "
                                "(use --resume to continue that search)")
        return 0.0, None
    if not meta_path.exists():
        what = "holds no search.json" if has_files else \
            ("is empty" if out.exists() else "does not exist")
        raise TinyconvError(f"nothing to resume: {out} {what} (start the search without "
                            "--resume)")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as e:
        raise TinyconvError(f"cannot resume: {meta_path} is unreadable ({e})") from None
    defaults = SearchOptions(opts.budget, opts.search_budget, proxy_kind=opts.proxy_kind).identity()
    diff = option_differences(meta.get("options", {}), opts.identity(), defaults)
    if diff:
        raise TinyconvError(f"cannot resume {out} with other options than it was started with: "
                            f"{'; '.join(diff)}")
    space = SearchSpace.from_dict(meta["space"]) if "space" in meta else None
    return float(meta.get("evolution_seconds", 0.0)), space


def run_search(opts: SearchOptions, out: Path, board: Board, *, resume: bool = False,
               echo: Callable[[str], None] = print, progress: bool = True) -> SearchOutcome:
    from ..data import resolve

    out = Path(out) if opts.ray_address is None else Path(out).resolve()  # Ray tasks' cwd differs
    meta_path = out / "search.json"
    if opts.export and not opts.train_final:
        raise TinyconvError("--export writes the trained winner's firmware: drop --no-final "
                            "(or export later: tinyconv train --arch, then tinyconv export)")
    # The evolution time of the runs a resume continues, and the space they searched.
    earlier_seconds, started_in = check_resume(opts, out, resume)
    if opts.ray_address is not None:
        from ..backend import check_ray
        check_ray(opts.ray_address)  # Ray installed, the address answers: before any work
    source = resolve(opts.dataset)
    native = source.native_shape
    channels, classes = native[2], len(source.class_names)
    space = opts.space_for(min(native[0], native[1]))
    if started_in is not None and started_in != space:
        # Same options, another default space (tinyconv changed since): keep the search's
        # own, or its supernet and candidate log would no longer match.
        echo(f"resuming in the space this search started in (widths "
             f"{','.join(f'{w:g}' for w in started_in.widths)}; resolutions "
             f"{','.join(map(str, started_in.resolutions))}); this version's default differs")
        space = started_in
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
    if opts.proxy_kind == "supernet" and opts.supernet.reuse is not None:
        # A --supernet outside this search's space is refused before anything is written.
        from .supernet import check_reusable, supernet_space
        check_reusable(Path(opts.supernet.reuse), opts.dataset, supernet_space(space, choice),
                       channels, classes)
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
                                 workers=opts.workers, seed=opts.seed,
                                 ray_address=opts.ray_address)
    proxy_text = (opts.proxy.describe() if opts.proxy_kind == "train"
                  else "MACs (no training; more computation that fits ranks higher)")
    label = SCORE_LABELS[opts.proxy_kind]
    proxy_settings, evaluator = opts.proxy, macs_proxy if opts.proxy_kind == "macs" else evaluate
    if opts.proxy_kind == "supernet":  # train (or reuse) it first: tinyconv/search/supernet.py
        from .supernet import prepare, supernet_proxy, supernet_space
        # One supernet scores every width and resolution it covers: evolve across them.
        sub = supernet_space(space, choice)
        proxy_settings, proxy_text = prepare(opts.dataset, sub, channels, classes, out,
                                             opts.supernet, resume=resume, echo=echo,
                                             ray_address=opts.ray_address)
        evaluator = supernet_proxy
    meta["evolution_space"] = {"widths": list(sub.widths), "resolutions": list(sub.resolutions)}
    echo(f"evolution in width {','.join(f'{w:g}' for w in sub.widths)} x "
         f"{','.join(map(str, sub.resolutions))}px; proxy: {proxy_text}")
    if (settings.max_candidates is not None and settings.max_candidates <= settings.population):
        echo(f"note: a budget of {settings.max_candidates} candidates is not more than the "
             f"population ({settings.population}): all are random samples, no evolution "
             f"(give --population {max(2, settings.max_candidates // 2)} or a larger --budget)")
    start = time.monotonic()

    def save_time(_candidate=None, *, searched: bool = True) -> float:
        # After every candidate, so an interrupted run's time is counted by its resume; a
        # resume that evaluates none (its log holds them all) adds no time.
        seconds = earlier_seconds + (time.monotonic() - start if searched else 0.0)
        write_atomic(meta_path, json.dumps({**meta, "evolution_seconds": round(seconds, 1)},
                                           indent=2) + "\n")
        return seconds

    evo = Evolution(sub, opts.budget, board, channels, classes, settings, proxy_settings,
                    CandidateLog(out / "candidates.jsonl"), echo=echo,
                    evaluator=evaluator,
                    score_label=label, on_record=save_time)
    cands = evo.run()
    # Wall time of the evolution, summed over this run and the finished ones it resumes.
    seconds = save_time(searched=evo.state.evaluations > 0)
    echo(f"{len(cands)} candidates ({evo.state.evaluations} evaluated now, "
         f"{evo.state.reused} from the log) in {seconds:.0f} s")
    if not cands:
        raise TinyconvError("the search evaluated no candidate (budget too small?)")
    rescored: dict[str, float] = {}
    if opts.proxy_kind == "supernet" and opts.rerank > 0:
        from .supernet import RERANK_FILE, rerank
        best = leaderboard.rank(cands)[:opts.rerank]
        echo(f"re-ranking the best {len(best)} on the whole validation split:")
        rescored = rerank(best, channels, proxy_settings, out / RERANK_FILE, echo)
    winner = leaderboard.rank(cands, rescored)[0]
    echo(f"winner {winner.key}: {label} {winner.accuracy:.4f}"
         + (f" (whole validation split {rescored[winner.key]:.4f})" if rescored else "")
         + f", SRAM {winner.peak_sram:,} B, "
         f"flash {winner.flash:,} B, {winner.macs:,} MACs: {winner.arch.to_json()}")
    write_atomic(out / "arch.json", json.dumps(winner.arch.to_dict(), indent=2) + "\n")

    def board_table(final: dict) -> None:
        rows = leaderboard.leaderboard(cands, opts.top, final=final, clock_mhz=opts.clock_mhz,
                                       rescored=rescored)
        table = leaderboard.write(out, rows, score_label=label, proxy=proxy_text,
                                  candidates=len(cands), clock_mhz=opts.clock_mhz)
        echo(f"top {len(rows)} of {len(cands)} candidates (ranked by {label}, a proxy; final "
             f"int8 accuracy where trained; {out / 'leaderboard.txt'}):")
        echo(table)

    metrics = None
    # Export plans a model for the budget searched, not the board's whole memory.
    export_budget = opts.budget.export_arguments(opts.stack_bytes)
    init = None  # the supernet's weights of the winner, where its training starts from them
    if opts.proxy_kind == "supernet" and opts.winner_init == "supernet":
        from .supernet import save_subnet_weights
        init = save_subnet_weights(winner.arch, proxy_settings, out / "winner_init.weights.h5")
    if opts.train_final:
        echo(f"training the winner: {opts.final.epochs} epochs"
             + (f" + {opts.final.qat_epochs} QAT" if opts.final.qat else ""))
        if init is not None:  # fine-tune
            echo(f"  starting from the supernet's weights of the winner ({init.name})")
        elif opts.proxy_kind == "supernet":
            echo("  from scratch (--winner-init scratch)")
        train_metrics = run_job(opts.ray_address, "the winner's training", train_winner,
                                winner.arch, opts.dataset, opts.final, out / "final",
                                resume=resume, progress=progress, board=board.name,
                                init_weights=init)
        tflite = (out / "final" / "model_int8.tflite").read_bytes()
        info = {"seconds": round(seconds, 1), "evaluated_now": evo.state.evaluations,
                "reused": evo.state.reused, "proxy": proxy_text, "proxy_kind": opts.proxy_kind,
                "space": space.to_dict(),
                "chosen_space": {"width": choice.width, "resolution": choice.resolution},
                "evolution_space": meta["evolution_space"]}
        metrics = finish(out, winner, cands, board, opts.budget.sram, opts.budget.flash,
                         tflite, train_metrics, info, export=opts.export,
                         stack_bytes=opts.stack_bytes, score_label=label,
                         memory=opts.budget.memory)
        streamed = (f" ({metrics['plan_strategy'].split(';')[0]}; layer-wise arena "
                    f"{metrics['layerwise_arena_bytes']:,} B)"
                    if metrics["plan_kind"] == "streamed" else "")
        board_table({winner.key: train_metrics})
        echo(f"winner trained: {accuracy_summary(train_metrics)}; peak SRAM "
             f"{metrics['peak_sram_bytes']:,} B{streamed}, constants "
             f"{metrics['constant_bytes']:,} B; wrote {out}")
        if opts.export:
            step = "run" if board.qemu_machine else "flash"  # QEMU board, or a real one
            echo(f"firmware project: {out / 'firmware'}; next: make -C {out / 'firmware'} "
                 f"{step}")
        else:
            echo(f"next: tinyconv export {out / 'model_int8.tflite'} --board {board.name} "
                 f"{export_budget} -o {out / 'firmware'}")
    # The search's own final recipe, for `tinyconv train --arch` (then `tinyconv export`).
    recipe = f"--dataset {opts.dataset} --board {board.name} {final_command_line(opts.final)}"
    if not opts.train_final:
        board_table({})
        winner_dir = out / "winner"
        start = "" if init is None else f" --init-weights {init}"
        echo(f"next: tinyconv train --arch {out / 'arch.json'}{start} {recipe} -o {winner_dir}, then "
             f"tinyconv export {winner_dir / 'model_int8.tflite'} --board {board.name} "
             f"{export_budget} -o {winner_dir / 'firmware'}")
    others = leaderboard.rank(cands, rescored)[1:2]
    if others:
        echo(f"any other candidate: tinyconv train --arch {out / 'candidates.jsonl'} "
             f"--candidate {others[0].key} {recipe} -o RUN, then tinyconv export "
             f"RUN/model_int8.tflite --board {board.name} {export_budget} -o RUN/firmware")
    return SearchOutcome(space, choice, cands, winner, evo.state.evaluations, evo.state.reused,
                         seconds, metrics)
