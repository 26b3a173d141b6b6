"""Search-space optimisation (MCUNet's TinyNAS, step 1).

For every (width, resolution) pair, sample configs, keep the ones that fit the budget and
look at their MACs: a pair whose fitting configs can spend more computation is expected to
hold more accurate networks. The score is the mean MACs of the fitting samples times the
fraction that fit (a pair where almost nothing fits is a poor space to evolve in even if
its rare survivors are large).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

import numpy as np

from ..space import SearchSpace
from ..targets import Board
from .budget import Budget


@dataclass(frozen=True)
class PairStats:
    width: float
    resolution: int
    samples: int
    fitting: int
    mean_macs: float      # of the fitting samples (0 if none)
    median_macs: float
    max_macs: int
    score: float

    @property
    def fit_fraction(self) -> float:
        return self.fitting / self.samples if self.samples else 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SpaceChoice:
    width: float
    resolution: int
    table: tuple[PairStats, ...]

    def format_table(self) -> str:
        lines = [f"{'width':>5} {'res':>4} {'fit':>7} {'mean MACs':>12} {'median MACs':>12} "
                 f"{'max MACs':>12} {'score':>12}"]
        for r in self.table:
            mark = "  <- chosen" if (r.width, r.resolution) == (self.width, self.resolution) else ""
            lines.append(f"{r.width:>5g} {r.resolution:>4} {r.fitting:>3}/{r.samples:<3} "
                         f"{r.mean_macs:>12,.0f} {r.median_macs:>12,.0f} {r.max_macs:>12,} "
                         f"{r.score:>12,.0f}{mark}")
        return "\n".join(lines)


def optimise_space(space: SearchSpace, budget: Budget, board: Board, channels: int,
                   classes: int, *, samples: int = 24, seed: int = 0) -> SpaceChoice | None:
    """The table over all pairs and the best pair; None when nothing fits anywhere."""
    rows = []
    for width in space.widths:
        for res in space.resolutions:
            # One RNG per pair: a pair's row does not depend on which pairs came before.
            rng = random.Random(f"{seed}:{width}:{res}")
            macs = []
            for _ in range(samples):
                cost = budget.cost(space.sample(rng, width, res), board, channels, classes)
                if budget.fits(cost):
                    macs.append(cost.macs)
            frac = len(macs) / samples
            mean = float(np.mean(macs)) if macs else 0.0
            rows.append(PairStats(width, res, samples, len(macs), mean,
                                  float(np.median(macs)) if macs else 0.0,
                                  max(macs) if macs else 0, mean * frac))
    best = max(rows, key=lambda r: (r.score, r.mean_macs))
    if best.fitting == 0:
        return None
    return SpaceChoice(best.width, best.resolution, tuple(rows))
