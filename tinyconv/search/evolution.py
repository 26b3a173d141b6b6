"""Evolutionary search inside the chosen (width, resolution) space, or across several
widths and resolutions (`--proxy supernet`: one supernet scores them all).

Generation 0 is `population` random configs that fit the budget (constraint-aware
sampling: resample until one fits). Each next generation keeps the best `parents` of all
candidates evaluated so far and proposes children: half by mutation (every stage depth,
block kernel and expansion resampled with probability `mutation_rate`), half by
crossover (each stage's depth and blocks taken from one of two parents), each resampled
until it fits and is new. In a space of several widths or resolutions, mutation also
resamples those (same rate) and crossover takes each from one of the parents.

Resumable by construction: generation g's proposals depend only on the seed, g and the
accuracies of earlier generations (all in candidates.jsonl), so a rerun proposes exactly
the same candidates and takes finished ones from the log instead of re-evaluating them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..defaults import SEARCH_CANDIDATES, SEARCH_POPULATION
from ..space import ArchConfig, SearchSpace
from ..targets import Board
from ..backend import init_worker, make_backend
from .budget import Budget, fitting_sample
from .log import Candidate, CandidateLog
from .proxy import ProxyResult, ProxySettings, evaluate, macs_proxy


@dataclass(frozen=True)
class EvolutionSettings:
    population: int = SEARCH_POPULATION
    parents: int = SEARCH_POPULATION // 2
    mutation_rate: float = 0.3
    max_candidates: int | None = SEARCH_CANDIDATES   # --budget N
    max_seconds: float | None = None     # --budget 20m (new evaluations stop after it)
    workers: int | None = 1              # None: 1 locally, the cluster's CPUs on Ray
    seed: int = 0
    ray_address: str | None = None       # --ray: "local" or a cluster's address (backend.py)


@dataclass
class SearchState:
    evaluations: int = 0                 # candidates actually trained by this run
    reused: int = 0                      # taken from the log


def _stage_slices(depths) -> list[slice]:
    out, start = [], 0
    for d in depths:
        out.append(slice(start, start + d))
        start += d
    return out


def mutate(cfg: ArchConfig, space: SearchSpace, rng: random.Random, rate: float) -> ArchConfig:
    depths, kernels, exps = [], [], []
    for stage, sl in enumerate(_stage_slices(cfg.depths)):
        ks, es = list(cfg.kernels[sl]), list(cfg.expansions[sl])
        d = rng.choice(space.depths[stage]) if rng.random() < rate else cfg.depths[stage]
        while len(ks) < d:  # new blocks copy the stage's last one
            ks.append(ks[-1])
            es.append(es[-1])
        ks, es = ks[:d], es[:d]
        ks = [rng.choice(space.kernels) if rng.random() < rate else k for k in ks]
        es = [rng.choice(space.expansions) if rng.random() < rate else e for e in es]
        depths.append(d)
        kernels += ks
        exps += es
    # Drawn only where there is a choice: a one-pair space's proposals stay as they were.
    width = rng.choice(space.widths) if len(space.widths) > 1 and rng.random() < rate else cfg.width
    resolution = (rng.choice(space.resolutions) if len(space.resolutions) > 1 and rng.random() < rate
                  else cfg.resolution)
    return ArchConfig(width, resolution, tuple(depths), tuple(kernels), tuple(exps), cfg.backbone)


def crossover(a: ArchConfig, b: ArchConfig, rng: random.Random) -> ArchConfig:
    depths, kernels, exps = [], [], []
    for sa, sb, da, db in zip(_stage_slices(a.depths), _stage_slices(b.depths), a.depths, b.depths):
        src, sl, d = (a, sa, da) if rng.random() < 0.5 else (b, sb, db)
        depths.append(d)
        kernels += src.kernels[sl]
        exps += src.expansions[sl]
    width = a.width if a.width == b.width or rng.random() < 0.5 else b.width
    resolution = a.resolution if a.resolution == b.resolution or rng.random() < 0.5 else b.resolution
    return ArchConfig(width, resolution, tuple(depths), tuple(kernels), tuple(exps), a.backbone)


class Evolution:
    def __init__(self, space: SearchSpace, budget: Budget, board: Board, channels: int,
                 classes: int, settings: EvolutionSettings, proxy: ProxySettings,
                 log: CandidateLog, *, echo: Callable[[str], None] = print,
                 evaluator: Callable[[dict, int, ProxySettings], ProxyResult] = evaluate,
                 score_label: str = "proxy acc",
                 on_record: Callable[[Candidate], None] | None = None) -> None:
        self.space, self.budget, self.board = space, budget, board
        self.channels, self.classes = channels, classes
        self.s, self.proxy, self.log, self.echo = settings, proxy, log, echo
        self.logged = {c.key: c for c in log.load()}
        self.done: dict[str, Candidate] = {}
        self.state = SearchState()
        # A picklable module-level function (it runs in spawned workers); `macs_proxy`
        # ranks by compute alone (no training), for fast tests and dry runs.
        self.evaluator = evaluator
        self.score_label = score_label     # what the progress lines call the score
        self.on_record = on_record         # called after each candidate is logged
        self._started: float | None = None  # when this run's first evaluation began

    def _fits(self, cfg: ArchConfig) -> bool:
        return self.budget.fits(self.budget.cost(cfg, self.board, self.channels, self.classes))

    def propose(self, generation: int, count: int) -> list[ArchConfig]:
        rng = random.Random(f"evolution:{self.s.seed}:{generation}")
        # One width or resolution: fixed (no draw); several: sampled with the rest.
        fixed = {k: v[0] for k, v in (("width", self.space.widths),
                                      ("resolution", self.space.resolutions)) if len(v) == 1}
        seen = set(self.done)
        ranked = sorted(self.done.values(), key=lambda c: (-c.accuracy, c.key))
        parents = [c.arch for c in ranked[:self.s.parents]]
        out: list[ArchConfig] = []
        for i in range(count):
            child = None
            for _ in range(200):
                if generation == 0 or not parents:
                    cfg = self.space.sample(rng, **fixed)
                elif i % 2 == 0 or len(parents) < 2:
                    cfg = mutate(rng.choice(parents), self.space, rng, self.s.mutation_rate)
                else:
                    a, b = rng.sample(parents, 2)
                    cfg = mutate(crossover(a, b, rng), self.space, rng, self.s.mutation_rate / 2)
                if cfg.key not in seen and self._fits(cfg):
                    child = cfg
                    break
            if child is None:  # the neighbourhood is exhausted: a fresh fitting sample
                child = fitting_sample(self.space, self.budget, self.board, self.channels,
                                       self.classes, rng, tries=1000, exclude=seen, **fixed)
            if child is None:
                break
            seen.add(child.key)
            out.append(child)
        return out

    def _record(self, cfg: ArchConfig, generation: int, result: ProxyResult) -> Candidate:
        cost = self.budget.cost(cfg, self.board, self.channels, self.classes)
        c = Candidate(cfg.key, len(self.done), generation, cfg, result.accuracy,
                      cost.peak_sram, cost.flash, cost.macs, cost.instructions,
                      round(result.seconds, 2))
        self.log.append(c)
        self.done[c.key] = c
        self.state.evaluations += 1
        self.echo(self.progress_line(c))
        if self.on_record is not None:
            self.on_record(c)
        return c

    def progress_line(self, c: Candidate) -> str:
        """One line per finished candidate: count / budget, its numbers, the best so far
        and the time left (ETA from this run's mean wall time per evaluation)."""
        done = len(self.done)
        best = max(self.done.values(), key=lambda x: x.accuracy)
        elapsed = time.monotonic() - (self._started or time.monotonic())
        per = elapsed / max(1, self.state.evaluations)
        if self.s.max_candidates is not None:
            count = f"{done}/{self.s.max_candidates}"
            left = per * max(0, self.s.max_candidates - done)
            if self.s.max_seconds is not None:
                left = min(left, max(0.0, self.s.max_seconds - elapsed))
        else:
            count = f"{done}"
            left = max(0.0, (self.s.max_seconds or 0.0) - elapsed)
        return (f"  [{count}] gen {c.generation} {c.key}: {self.score_label} {c.accuracy:.4f}, "
                f"SRAM {c.peak_sram:,} B, flash {c.flash:,} B, {c.macs:,} MACs ({c.seconds:.0f} s)"
                f" | best {best.accuracy:.4f} | ETA {format_duration(left)}")

    def run(self) -> list[Candidate]:
        start = time.monotonic()
        limit = self.s.max_candidates
        # Where evaluations run (backend.py): in this process, spawned local workers or Ray
        # tasks. Evaluators that run TensorFlow (all but the MACs proxy) get its threads
        # capped to their share of the CPUs in each worker.
        setup = None if self.evaluator is macs_proxy else init_worker
        with make_backend(self.s.workers, self.s.ray_address, setup) as backend:
            if self.s.ray_address is not None:
                self.echo(f"  evaluations {backend.description}")
            self._started = time.monotonic()
            generation = 0
            while limit is None or len(self.done) < limit:
                if self.s.max_seconds is not None and time.monotonic() - start > self.s.max_seconds:
                    self.echo(f"  time budget of {self.s.max_seconds / 60:g} min reached")
                    break
                count = self.s.population if limit is None else min(self.s.population,
                                                                       limit - len(self.done))
                batch = self.propose(generation, count)
                if not batch:
                    self.echo("  no new fitting configuration left in the space")
                    break
                todo = []
                for cfg in batch:
                    if cfg.key in self.logged:   # finished before an interruption
                        old = self.logged[cfg.key]
                        self.done[cfg.key] = old
                        self.state.reused += 1
                    else:
                        todo.append(cfg)
                # Each candidate is logged the moment its evaluation finishes.
                jobs = [(cfg.to_dict(), self.channels, self.proxy) for cfg in todo]
                for i, result in backend.results(self.evaluator, jobs):
                    self._record(todo[i], generation, result)
                generation += 1
        return sorted(self.done.values(), key=lambda c: c.index)


def format_duration(seconds: float) -> str:
    """12 s, 4 min 05 s, 2 h 07 min."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
