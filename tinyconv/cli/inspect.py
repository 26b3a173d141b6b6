"""`tinyconv inspect`: the per-layer memory plan of a model and the latency model's
estimated instructions per layer (tinyconv.cost), without building anything."""

from __future__ import annotations

from pathlib import Path

import click

from . import options


@click.command()
@options.model()
@options.target()
@options.board()
@options.kernels()
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a PNG of memory per layer.")
@options.json_out()
def inspect(model: Path, target, board, kernels, plot, json_path) -> None:
    """Per-layer table: op, shapes, MACs, weights, live bytes, arena offsets, the peak, and
    estimated instructions (latency model, on the target's kernels) per layer and in all."""
    from .. import deploy, report
    from ..ir.tflite_import import load_tflite
    from ..planner import plan_memory
    from ..targets import board_for

    graph = load_tflite(model)
    b = board_for(target, board)
    plan = plan_memory(graph, deploy.kernel_isa(b, kernels))
    click.echo(report.format_table(graph, plan))
    if plot:
        report.plot_memory(graph, plan, plot)
    if json_path:
        report.write_json(graph, plan, json_path, {"board": b.name, "kernels": kernels})
