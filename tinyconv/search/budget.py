"""Budgets a candidate must meet, all checked on the exact costs of `tinyconv.space`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass

from ..errors import BudgetError
from ..space import ArchConfig, Cost, SearchSpace
from ..defaults import DEFAULT_MEMORY
from ..targets import Board
from ..units import format_bytes, parse_bytes, size_argument


@dataclass(frozen=True)
class Budget:
    sram: int                       # peak SRAM: arena + stack + runtime, bytes
    flash: int                      # constants + code, bytes
    max_macs: int | None = None
    max_instructions: int | None = None
    # How the SRAM is planned (tinyconv/stream.py, --memory): "fast" and "min" admit a
    # configuration that fits only with its high-resolution layers streamed; "layer" only
    # the layer-wise plan.
    memory: str = DEFAULT_MEMORY

    @classmethod
    def parse(cls, sram: str | int, flash: str | int, max_macs: str | int | None = None,
              max_instructions: str | int | None = None,
              memory: str = DEFAULT_MEMORY) -> "Budget":
        return cls(parse_bytes(sram), parse_bytes(flash), _count(max_macs, "--max-macs"),
                   _count(max_instructions, "--max-instructions"), memory)

    def cost(self, cfg: ArchConfig, board: Board, channels: int, classes: int, *,
             stack_bytes: int | None = None) -> Cost:
        """`cfg`'s exact cost as export would plan it under this budget."""
        return cfg.cost(board, channels, classes, stack_bytes=stack_bytes, sram=self.sram,
                        memory=self.memory)

    def fits(self, cost: Cost) -> bool:
        return (cost.peak_sram <= self.sram and cost.flash <= self.flash
                and (self.max_macs is None or cost.macs <= self.max_macs)
                and (self.max_instructions is None or cost.instructions <= self.max_instructions))

    def describe(self) -> str:
        parts = [f"SRAM {format_bytes(self.sram)}"
                 + (" (layer-wise plans only)" if self.memory == "layer" else ""),
                 f"flash {format_bytes(self.flash)}"]
        if self.max_macs is not None:
            parts.append(f"{self.max_macs:,} MACs")
        if self.max_instructions is not None:
            parts.append(f"{self.max_instructions:,} instructions")
        return ", ".join(parts)

    def export_arguments(self, stack_bytes: int | None = None) -> str:
        """`tinyconv export`'s options that plan a model as this budget does (its SRAM and
        flash, the memory plan, a fixed stack where the search had one)."""
        args = f"--sram {size_argument(self.sram)} --flash {size_argument(self.flash)}"
        if self.memory != DEFAULT_MEMORY:
            args += f" --memory {self.memory}"
        if stack_bytes is not None:
            args += f" --stack {size_argument(stack_bytes)}"
        return args

    def to_dict(self) -> dict:
        return asdict(self)


def _count(text: str | int | None, what: str) -> int | None:
    """Counts like 20M, 1.5G, 300000 (decimal multipliers: MACs are not bytes)."""
    if text is None or isinstance(text, int):
        return text
    s = str(text).strip().lower().replace("_", "").replace(",", "")
    mult = {"k": 10**3, "m": 10**6, "g": 10**9}.get(s[-1:], 1)
    try:
        value = float(s[:-1] if mult > 1 else s) * mult
    except ValueError:
        raise BudgetError(f"cannot read {what} {text!r}: use e.g. 20M, 1.5G or 300000") from None
    if value <= 0:
        raise BudgetError(f"{what} must be positive, got {text!r}")
    return int(value)


def check_feasible(space: SearchSpace, budget: Budget, board: Board, channels: int,
                   classes: int) -> Cost:
    """Fail at once, with the smallest achievable footprint, when no config can fit.

    Every cost grows with width, resolution, depth, expansion and kernel size, so the
    all-minimum config is the smallest one of the space; if it does not fit, none does.
    """
    smallest = space.smallest()
    cost = budget.cost(smallest, board, channels, classes)
    if budget.fits(cost):
        return cost
    if budget.memory != "layer":  # the smallest plan of it, for the numbers below
        cost = smallest.cost(board, channels, classes, sram=budget.sram, memory="min")
    over = []
    if cost.peak_sram > budget.sram:
        over.append(f"SRAM {cost.peak_sram:,} B ({format_bytes(cost.peak_sram)}) > "
                    f"{format_bytes(budget.sram)}")
    if cost.flash > budget.flash:
        over.append(f"flash {cost.flash:,} B ({format_bytes(cost.flash)}) > "
                    f"{format_bytes(budget.flash)}")
    if budget.max_macs is not None and cost.macs > budget.max_macs:
        over.append(f"{cost.macs:,} MACs > {budget.max_macs:,}")
    if budget.max_instructions is not None and cost.instructions > budget.max_instructions:
        over.append(f"{cost.instructions:,} instructions > {budget.max_instructions:,}")
    raise BudgetError(
        f"no configuration fits the budget on {board.name}: the smallest one "
        f"(width {smallest.width:g}, {smallest.resolution}x{smallest.resolution}) needs "
        f"SRAM {cost.peak_sram:,} B, flash {cost.flash:,} B, {cost.macs:,} MACs, "
        f"{cost.instructions:,} instructions ({'; '.join(over)})")


def fitting_sample(space: SearchSpace, budget: Budget, board: Board, channels: int,
                   classes: int, rng, *, tries: int = 200, exclude: Collection[str] = (),
                   **fixed) -> ArchConfig | None:
    """Constraint-aware sampling: resample until a config fits whose key is not in
    `exclude` (None after `tries`)."""
    for _ in range(tries):
        cfg = space.sample(rng, **fixed)
        if cfg.key not in exclude and budget.fits(budget.cost(cfg, board, channels, classes)):
            return cfg
    return None
