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
@click.option("--samples", "num_samples", type=int, metavar="N",
              help="Carry N real test examples of the model's dataset (one per class in "
              "turn), quantized as its input: `make run` classifies them and prints the "
              "predictions beside the true labels.")
@click.option("--dataset", "samples_dataset", metavar="NAME",
              help="The dataset of --samples (a name, folder or .npz); default: the one of "
              "the training or search run MODEL sits in (config.json, search.json, "
              "metrics.json).")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Directory for the firmware project (must not exist or be empty).")
def export(model: Path, target, board, sram, flash, kernels, stack, match, memory,
           calibrate, num_samples, samples_dataset, out_dir: Path) -> None:
    """Write a buildable firmware project (C model, kernels, boards, Makefile) for MODEL."""
    from .. import deploy, reference, report
    from .. import onnx_calibrate
    from .. import samples as demo
    from ..errors import TinyconvError
    from ..ir.onnx_import import boundary_notes, import_model, match_for
    from ..targets import board_for

    if samples_dataset is not None and num_samples is None:
        raise TinyconvError("--dataset names where --samples come from: give --samples N too")
    if num_samples is not None:
        demo.check_count(num_samples)
    data, calibrated = onnx_calibrate.load(model, calibrate)
    graph = import_model(data, str(model))
    sample_set = None
    if num_samples is not None:  # before anything is written: a bad dataset leaves nothing
        name, origin = demo.dataset_for(model, samples_dataset)
        sample_set = demo.load_samples(data, graph, name, num_samples, origin=origin)
    match = match_for(graph, match)
    b = board_for(target, board)
    if match == "auto":  # whose arithmetic: LiteRT's where it runs the model, else TFLM's
        chosen = reference.choose_reference(model.read_bytes())
        match = chosen.name
        if chosen.note:
            click.echo(f"arithmetic of {chosen.describe()}")
    deployment = deploy.prepare(graph, b, kernels=kernels, sram=sram, flash=flash,
                                stack_bytes=stack, match=match, memory=memory)
    deploy.write_project(deployment, out_dir, samples=sample_set)
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
    if sample_set is not None:
        click.echo(f"  {sample_set.describe()}"
                   + (f", dataset named in {sample_set.origin}"
                      if sample_set.origin not in ("", "--dataset") else "")
                   + f": {sample_set.flash_bytes:,} B of flash beside the constants (not in "
                   "the model's flash budget check above; the build's flash includes them)")
    for line in boundary_notes(graph):
        click.echo(f"  {line}")
    what = (f"   (classifies the {sample_set.count} samples)" if sample_set is not None
            else "")
    click.echo(f"  next: make -C {out_dir} run" + ("" if b.qemu_machine else "   |   make -C "
               f"{out_dir} flash") + what)
