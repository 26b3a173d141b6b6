"""`tinyconv inspect`: the per-layer memory plan of a model and the latency model's
estimated instructions per layer (tinyconv.cost), without building anything."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import options


@click.command()
@options.model()
@options.target()
@options.board()
@options.sram()
@options.kernels()
@options.stack()
@options.memory()
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a PNG of memory per layer (the layer-wise and the chosen plan).")
@options.json_out()
def inspect(model: Path, target, board, sram, kernels, stack, memory, plot, json_path) -> None:
    """Per-layer table: op, shapes, MACs, weights, live bytes, arena offsets, the peak, and
    estimated instructions (latency model, on the target's kernels) per layer and in all.

    The plan is the one `export` makes with the same options (--sram, --stack, --memory);
    where it streams the first layers, each layer's live bytes are shown in both plans.
    If it does not fit --sram, the smallest plan is shown and the overshoot named."""
    from .. import deploy, report
    from ..errors import BudgetError
    from ..ir.onnx_import import load_model, match_for
    from ..stream import plan_model
    from ..targets import board_for

    graph = load_model(model)
    b = board_for(target, board)
    over = None
    try:
        # inspect shows the memory plan: the flash budget (weights) is export's to check.
        deployment = deploy.prepare(graph, b, kernels=kernels, sram=sram, flash=sys.maxsize,
                                    stack_bytes=stack, memory=memory,
                                    match=match_for(graph, "auto") if "onnx" in graph.metadata
                                    else "litert")
        plan = deployment.plan
    except BudgetError as e:
        # What prepare ends with when nothing fits: the smallest plan ("fast": no plan
        # within the budget), or the one --memory asks for.
        over = e
        plan = plan_model(graph, deploy.kernel_isa(b, kernels),
                          arena_budget=0 if memory == "fast" else None, memory=memory)
    click.echo(report.format_table(graph, plan))
    if over is None:
        click.echo(f"planned RAM {deployment.planned_ram_bytes:,} B (arena "
                   f"{plan.arena_bytes:,} + stack {deployment.stack_bytes:,} + runtime "
                   f"{deploy.RUNTIME_RAM_BYTES:,}) of {deployment.ram_budget:,} B on {b.name}")
    else:
        click.echo(f"does not fit: {over}")
    if plot:
        report.plot_memory(graph, plan, plot)
    if json_path:
        ram = {} if over is not None else {
            "stack_reserved_bytes": deployment.stack_bytes,
            "planned_ram_bytes": deployment.planned_ram_bytes,
            "ram_budget_bytes": deployment.ram_budget}
        report.write_json(graph, plan, json_path, {"board": b.name, "kernels": kernels,
                                                   "memory": memory, "fits": over is None}
                          | ram)
