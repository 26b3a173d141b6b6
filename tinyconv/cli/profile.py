"""`tinyconv profile`: instructions per layer and per function, counted in QEMU."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import TinyconvError
from . import options


@click.command()
@options.model()
@options.target()
@options.board()
@options.sram()
@options.kernels()
@options.seed()
@options.stack()
@options.memory()
@options.json_out()
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a PNG: instructions per layer, colored by op type, and per op type.")
@click.option("--functions", "top_functions", default=12, show_default=True,
              help="Functions to list (the largest first).")
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the generated model and build in this directory.")
def profile(model: Path, target, board, sram, kernels, seed, stack, memory, json_path,
            plot_path, top_functions, keep) -> None:
    """Count MODEL's instructions per layer and per function on an emulated Cortex-M.

    The layers add up to the whole inference of the profiled build (the normal build's
    count, and what the layer marks cost, are shown beside it); the function view shows
    the time spent outside the kernels (memcpy, helpers)."""
    from .. import profile as profile_mod
    from ..targets import board_for

    b = board_for(target, board)
    try:
        data = model.read_bytes()
    except OSError as e:
        raise TinyconvError(f"cannot read model {model}: {e.strerror or e}") from None
    r = profile_mod.profile(data, b, source=str(model), kernels=kernels, seed=seed,
                            stack_bytes=stack, work_dir=keep, sram=sram, memory=memory)
    click.echo(f"{model.name} on {r.board} ({r.cpu}, {r.kernels} kernels{b.emulation_note}): "
               f"{r.instructions:,} instructions per inference, {r.macs:,} MACs "
               f"({profile_mod._fmt_per_mac(r.instructions_per_mac)} per MAC); "
               f"{r.mismatched_bytes} of {r.outputs_compared} output bytes differ from "
               f"{'onnxruntime' if model.suffix.lower() == '.onnx' else 'LiteRT'}")
    click.echo(f"  profiled build: {r.profiled_instructions:,} (the layer marks add "
               f"{r.mark_instructions:,}); code {r.code_bytes:,} B + weights "
               f"{r.weights_bytes:,} B = flash {r.flash_bytes:,} B")
    if r.plan is not None:
        click.echo(f"  {r.plan.describe()}")
    for line in profile_mod.format_table(r, top_functions):
        click.echo(f"  {line}")
    if json_path:
        r.write_json(json_path)
    if plot_path:
        profile_mod.plot(r, plot_path)
        click.echo(f"  plot: {plot_path}")
    if r.mismatched_bytes:
        sys.exit(1)
