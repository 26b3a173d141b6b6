"""`tinyconv export`: a buildable firmware project for a .tflite model."""

from __future__ import annotations

from pathlib import Path

import click

from ..units import format_bytes
from . import options


@click.command()
@options.model()
@options.target()
@options.board()
@options.sram()
@options.flash()
@options.kernels()
@options.stack()
@options.match()
@options.memory()
@options.calibrate()
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Directory for the firmware project (must not exist or be empty).")
def export(model: Path, target, board, sram, flash, kernels, stack, match, memory,
           calibrate, out_dir: Path) -> None:
    """Write a buildable firmware project (C model, kernels, boards, Makefile) for MODEL."""
    from .. import deploy, reference, report
    from .. import onnx_calibrate
    from ..ir.onnx_import import boundary_notes, import_model, match_for
    from ..targets import board_for

    data, calibrated = onnx_calibrate.load(model, calibrate)
    graph = import_model(data, str(model))
    match = match_for(graph, match)
    b = board_for(target, board)
    if match == "auto":  # whose arithmetic: LiteRT's where it runs the model, else TFLM's
        chosen = reference.choose_reference(model.read_bytes())
        match = chosen.name
        if chosen.note:
            click.echo(f"arithmetic of {chosen.describe()}")
    deployment = deploy.prepare(graph, b, kernels=kernels, sram=sram, flash=flash,
                                stack_bytes=stack, match=match, memory=memory)
    deploy.write_project(deployment, out_dir)
    if calibrated:
        int8_path = out_dir / "model" / onnx_calibrate.int8_name(model)
        int8_path.write_bytes(data)
        click.echo(f"quantized {model.name} with onnxruntime (QDQ, uint8 activations, "
                   f"per-channel int8 weights): {int8_path}")
    report.write_json(graph, deployment.plan, out_dir / "model" / "plan.json",
                      {"board": b.name, "kernels": kernels, "match": match, "memory": memory,
                       "stack_reserved_bytes": deployment.stack_bytes,
                       "stack_bound_bytes": deployment.stack_bound.reserved
                       if deployment.stack_bound else None})
    (out_dir / "model" / "plan.txt").write_text(report.format_table(graph, deployment.plan)
                                               + "\n")
    plan = deployment.plan
    click.echo(f"wrote {out_dir} for {b.name} ({b.cpu}, {kernels} kernels{b.emulation_note})")
    bound = deployment.stack_bound
    click.echo(f"  arena {plan.arena_bytes:,} B, stack reserved {deployment.stack_bytes:,} B"
               f"{' (computed bound)' if bound else ''}, "
               f"planned RAM {deployment.planned_ram_bytes:,} B of "
               f"{format_bytes(deployment.ram_budget)}")
    click.echo(f"  {report.plan_summary(graph, plan).describe()}")
    click.echo(f"  constants (flash) {deployment.source.weights_bytes:,} B of "
               f"{format_bytes(deployment.flash_budget)}; {graph.total_macs():,} MACs")
    for line in boundary_notes(graph):
        click.echo(f"  {line}")
    click.echo(f"  next: make -C {out_dir} run" + ("" if b.qemu_machine else "   |   make -C "
               f"{out_dir} flash"))
