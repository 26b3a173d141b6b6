"""`tinyconv verify`: build a model, run it on the (emulated) CPU, compare with LiteRT."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import options


@click.command()
@options.model()
@options.target()
@options.board()
@click.option("-n", "count", default=20, show_default=True, help="Random inputs to try.")
@click.option("--inputs", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=".npy/.npz batch of inputs (instead of random ones).")
@options.seed()
@options.sram()
@options.flash()
@options.kernels()
@options.stack()
@options.match()
@options.memory()
@options.calibrate()
@click.option("--tflm/--no-tflm", default=True, show_default=True,
              help="Also compare with the tflite-micro runtime and its arena.")
@click.option("--layers", is_flag=True,
              help="Also compare every op's output tensor with LiteRT's; name the first "
                   "that differs.")
@options.json_out()
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the generated model and build in this directory.")
def verify(model: Path, target, board, count, inputs, seed, sram, flash, kernels, stack,
           match, memory, calibrate, tflm, layers, json_path, keep) -> None:
    """Build MODEL, run it on the (emulated) CPU and compare every output byte with LiteRT."""
    from .. import report
    from .. import verify as verify_mod
    from .. import onnx_calibrate
    from ..ir.onnx_import import import_model, is_onnx
    from ..reference import ORACLE_NAMES
    from ..targets import board_for

    b = board_for(target, board)
    data, calibrated = onnx_calibrate.load(model, calibrate)
    if calibrated:  # next to the output: the kept build, else the model
        int8_path = (keep if keep else model.parent) / onnx_calibrate.int8_name(model)
        int8_path.parent.mkdir(parents=True, exist_ok=True)
        int8_path.write_bytes(data)
        click.echo(f"quantized {model.name} with onnxruntime: {int8_path}")
    samples = (verify_mod.load_inputs(inputs, import_model(data, str(model))) if inputs
               else None)
    r = verify_mod.verify(data, b, source=str(model), n=count, seed=seed, inputs=samples,
                          kernels=kernels, sram=sram, flash=flash, stack_bytes=stack,
                          compare_tflm=tflm and not is_onnx(data, model.name), work_dir=keep,
                          match=match, layers=layers,
                          memory=memory)
    if r.reference_note:
        click.echo(f"reference: {ORACLE_NAMES[r.reference]} ({r.reference_note})")
    click.echo(f"{model.name} on {r.board} ({r.cpu}, {r.kernels} kernels{b.emulation_note}): "
               f"{r.samples} inputs, "
               f"{r.outputs_compared:,} output bytes compared with {ORACLE_NAMES[r.reference]}: "
               f"{r.mismatched_bytes} mismatched")
    for line in r.mismatches:
        click.echo(f"  mismatch: {line}")
    click.echo(f"  arena {r.arena_bytes:,} B (planned = in firmware), stack {r.stack_bytes:,} B "
               f"measured of {r.stack_reserved_bytes:,} reserved"
               f"{' (computed bound)' if r.stack_bound_bytes is not None else ''}, RAM {r.ram_bytes:,} B "
               f"(.data+.bss {r.static_ram_bytes:,} + stack), flash {r.flash_bytes:,} B")
    if r.plan is not None:
        click.echo(f"  {r.plan.describe()}")
    if r.instructions_per_inference is not None:
        click.echo(f"  {r.instructions_per_inference:,} instructions per inference")
    for line in report.format_layer_check(r):
        click.echo(f"  {line}")
    if r.tflm_note:
        click.echo(f"  no comparison with the tflite-micro runtime: {r.tflm_note}")
    if r.tflm_arena_bytes is not None:
        hint = (" (its FULLY_CONNECTED rounds differently; --match tflm reproduces it)"
                if r.tflm_mismatched_bytes and r.reference == "litert" else "")
        click.echo(f"  TFLM arena {r.tflm_arena_bytes:,} B (ours "
                   f"{r.arena_bytes / max(1, r.tflm_arena_bytes):.2f}x); tflite-micro runtime "
                   f"differs from ours in {r.tflm_mismatched_bytes} bytes{hint}")
    if json_path:
        r.write_json(json_path)
    if not r.ok:
        sys.exit(1)
