"""The `tinyconv` command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import TinyconvError
from .units import format_bytes, parse_bytes

_model_arg = click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
_target = click.option("--target", help="CPU: cortex-m3, cortex-m4, cortex-m7, cortex-m55.")
_board = click.option("--board", help="Board profile, e.g. qemu-m7, stm32f746-disco.")
_sram = click.option("--sram", help="SRAM budget, e.g. 320kB (default: the board's RAM).")
_flash = click.option("--flash", help="Flash budget, e.g. 1MB (default: the board's flash).")
_kernels = click.option("--kernels", type=click.Choice(["opt", "ref"]), default="opt",
                        show_default=True, help="SIMD kernels where the CPU has them, or "
                        "the portable reference C kernels.")
_match = click.option("--match", type=click.Choice(["litert", "tflm"]), default="litert",
                      show_default=True, help="Reproduce LiteRT's reference kernels, or TFLite "
                      "Micro where the two differ (FULLY_CONNECTED requantization).")
_stack = click.option("--stack", default="8KiB", show_default=True,
                      help="Stack reserved in RAM for the app and kernels.")


def _budget(text: str | None) -> int | None:
    return None if text is None else parse_bytes(text)


def _board_for(target: str | None, board: str | None):
    from .targets import board_for
    return board_for(target, board)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tinyconv")
def cli() -> None:
    """Convolutional networks on Cortex-M: export int8 models to bit-exact C firmware."""


@cli.command()
@_model_arg
@_target
@_board
@_sram
@_flash
@_kernels
@_stack
@_match
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Directory for the firmware project (must not exist or be empty).")
def export(model: Path, target, board, sram, flash, kernels, stack, match, out_dir: Path) -> None:
    """Write a buildable firmware project (C model, kernels, boards, Makefile) for MODEL."""
    from . import deploy, report
    from .ir.tflite_import import load_tflite

    graph = load_tflite(model)
    b = _board_for(target, board)
    deployment = deploy.prepare(graph, b, kernels=kernels, sram=_budget(sram),
                                flash=_budget(flash), stack_bytes=parse_bytes(stack),
                                match=match)
    deploy.write_project(deployment, out_dir)
    report.write_json(graph, deployment.plan, out_dir / "model" / "plan.json",
                      {"board": b.name, "kernels": kernels, "match": match})
    (out_dir / "model" / "plan.txt").write_text(report.format_table(graph, deployment.plan)
                                               + "\n")
    plan = deployment.plan
    click.echo(f"wrote {out_dir} for {b.name} ({b.cpu}, {kernels} kernels)")
    click.echo(f"  arena {plan.arena_bytes:,} B, stack reserved {deployment.stack_bytes:,} B, "
               f"planned RAM {deployment.planned_ram_bytes:,} B of "
               f"{format_bytes(deployment.ram_budget)}")
    click.echo(f"  constants (flash) {deployment.source.weights_bytes:,} B of "
               f"{format_bytes(deployment.flash_budget)}; {graph.total_macs():,} MACs")
    click.echo(f"  next: make -C {out_dir} run" + ("" if b.qemu_machine else "   |   make -C "
               f"{out_dir} flash"))


@cli.command()
@_model_arg
@_target
@_board
@click.option("-n", "count", default=20, show_default=True, help="Random inputs to try.")
@click.option("--inputs", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=".npy/.npz batch of inputs (instead of random ones).")
@click.option("--seed", default=0, show_default=True)
@_sram
@_flash
@_kernels
@_stack
@_match
@click.option("--tflm/--no-tflm", default=True, show_default=True,
              help="Also compare with the tflite-micro runtime and its arena.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report as JSON.")
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the generated model and build in this directory.")
def verify(model: Path, target, board, count, inputs, seed, sram, flash, kernels, stack,
           match, tflm, json_path, keep) -> None:
    """Build MODEL, run it on the (emulated) CPU and compare every output byte with LiteRT."""
    from . import verify as verify_mod
    from .ir.tflite_import import load_tflite

    b = _board_for(target, board)
    try:
        data = model.read_bytes()
    except OSError as e:
        raise TinyconvError(f"cannot read model {model}: {e.strerror or e}") from None
    samples = verify_mod.load_inputs(inputs, load_tflite(model)) if inputs else None
    r = verify_mod.verify(data, b, source=str(model), n=count, seed=seed, inputs=samples,
                          kernels=kernels, sram=_budget(sram), flash=_budget(flash),
                          stack_bytes=parse_bytes(stack), compare_tflm=tflm, work_dir=keep,
                          match=match)
    against = "TFLite Micro" if match == "tflm" else "LiteRT (reference kernels)"
    click.echo(f"{model.name} on {r.board} ({r.cpu}, {r.kernels} kernels): {r.samples} inputs, "
               f"{r.outputs_compared:,} output bytes compared with {against}: "
               f"{r.mismatched_bytes} mismatched")
    for line in r.mismatches:
        click.echo(f"  mismatch: {line}")
    click.echo(f"  arena {r.arena_bytes:,} B (planned = in firmware), stack {r.stack_bytes:,} B "
               f"measured of {r.stack_reserved_bytes:,} reserved, RAM {r.ram_bytes:,} B "
               f"(.data+.bss {r.static_ram_bytes:,} + stack), flash {r.flash_bytes:,} B")
    if r.instructions_per_inference is not None:
        click.echo(f"  {r.instructions_per_inference:,} instructions per inference")
    if r.tflm_arena_bytes is not None:
        hint = (" (its FULLY_CONNECTED rounds differently; --match tflm reproduces it)"
                if r.tflm_mismatched_bytes and match == "litert" else "")
        click.echo(f"  TFLM arena {r.tflm_arena_bytes:,} B (ours "
                   f"{r.arena_bytes / max(1, r.tflm_arena_bytes):.2f}x); tflite-micro runtime "
                   f"differs from ours in {r.tflm_mismatched_bytes} bytes{hint}")
    if json_path:
        r.write_json(json_path)
    if not r.ok:
        sys.exit(1)


@cli.command()
@_model_arg
@_target
@_board
@_kernels
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a PNG of memory per layer.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path))
def inspect(model: Path, target, board, kernels, plot, json_path) -> None:
    """Per-layer table: op, shapes, MACs, weights, live bytes, arena offsets, the peak."""
    from . import deploy, report
    from .ir.tflite_import import load_tflite
    from .planner import plan_memory

    graph = load_tflite(model)
    b = _board_for(target, board)
    plan = plan_memory(graph, deploy.kernel_isa(b, kernels))
    click.echo(report.format_table(graph, plan))
    if plot:
        report.plot_memory(graph, plan, plot)
    if json_path:
        report.write_json(graph, plan, json_path, {"board": b.name, "kernels": kernels})


from .commands.search import search  # noqa: E402
cli.add_command(search)


from .commands.train import train  # noqa: E402
cli.add_command(train)
from .commands.zoo import zoo  # noqa: E402
cli.add_command(zoo)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except TinyconvError as e:
        click.echo(f"tinyconv: error: {e}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("tinyconv: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
