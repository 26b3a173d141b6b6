"""`tinyconv zoo`: the model families, their parameters, and what each costs on an MCU.

Numbers come from `graph_from_keras` (the int8 graph the converter would produce, predicted
in milliseconds) planned and laid out exactly as `tinyconv export` would for the default
board: MACs, flash (the const arrays codegen emits: int8 weights, int32 biases,
requantization data), float parameters, and peak SRAM (planned arena + stack + runtime
statics). TensorFlow is imported only when numbers are computed, never when the CLI starts.
"""

from __future__ import annotations

from dataclasses import dataclass

import click

from ..defaults import DEFAULT_BOARD
from ..errors import TinyconvError
from . import options

BOARD = DEFAULT_BOARD


@dataclass(frozen=True)
class FamilyCost:
    family: str
    input_shape: tuple[int, int, int]
    classes: int
    width: float
    macs: int
    flash_bytes: int
    parameters: int
    peak_sram_bytes: int
    arena_bytes: int


def family_cost(name: str, resolution: int | None = None, classes: int | None = None,
                width: float = 1.0) -> FamilyCost:
    """Build family `name` at the given (or default) input and predict its deployment cost."""
    from .. import deploy, targets, zoo
    from ..ir.keras_import import graph_from_keras

    entry = zoo.family(name)
    shape = entry.default_input_shape
    if resolution is not None:
        shape = (int(resolution), int(resolution), shape[2])
    entry.check_resolution(shape)
    n_classes = entry.default_classes if classes is None else int(classes)
    try:
        model = zoo.build(name, shape, n_classes, width)
    except ValueError as e:  # Keras shape errors, e.g. a pool larger than its input
        raise TinyconvError(f"{name} cannot be built at {shape[0]}x{shape[1]}: {e}") from None
    graph = graph_from_keras(model)
    # No budget here: the numbers are what the caller compares with a budget.
    deployment = deploy.prepare(graph, targets.get_board(BOARD), sram=1 << 40, flash=1 << 40)
    return FamilyCost(name, tuple(shape), n_classes, float(width), graph.total_macs(),
                      deployment.source.weights_bytes, int(model.count_params()),
                      deployment.planned_ram_bytes, deployment.plan.arena_bytes)


def _human(n: int) -> str:
    for unit, size in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


@click.command()
@click.option("--family", "family_name", help="Only this family (default: all of them).")
@options.resolution("Input height and width (default: each family's own).")
@click.option("--classes", type=click.IntRange(min=1),
              help="Number of classes (default: each family's own).")
@options.width()
@click.option("--no-stats", is_flag=True,
              help="Only list families and parameters (instant: no TensorFlow).")
def zoo(family_name, resolution, classes, width, no_stats) -> None:
    """List the model families with their parameters, MACs, flash and peak SRAM."""
    from .. import zoo as zoo_registry
    from ..units import format_bytes

    if not width > 0:
        raise TinyconvError(f"--width must be positive, got {width}")
    names = [zoo_registry.family(family_name).name] if family_name else list(zoo_registry.FAMILIES)
    if not no_stats:
        click.echo(f"Costs as deployed on {BOARD} (int8, planned arena + "
                   "stack + runtime); width {:g}".format(width))
    for name in names:
        entry = zoo_registry.FAMILIES[name]
        click.echo(f"\n{name}: {entry.description}")
        h, w, c = entry.default_input_shape
        click.echo(f"  default input {h}x{w}x{c}, {entry.default_classes} classes, "
                   f"min resolution {entry.min_resolution}")
        for p in entry.params:
            click.echo(f"  {p.name}={p.default!r}: {p.help}  (tinyconv train --param {p.name}=...)")
        if no_stats:
            continue
        try:
            cost = family_cost(name, resolution, classes, width)
        except TinyconvError as e:
            if family_name:
                raise
            click.echo(f"  not available: {e}")
            continue
        h, w, c = cost.input_shape
        click.echo(f"  at {h}x{w}x{c}, {cost.classes} classes: {_human(cost.macs)} MACs, "
                   f"{_human(cost.parameters)} params, flash {format_bytes(cost.flash_bytes)}, "
                   f"peak SRAM {format_bytes(cost.peak_sram_bytes)} "
                   f"(arena {format_bytes(cost.arena_bytes)})")
