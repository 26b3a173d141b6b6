"""The options several `tinyconv` commands share, each defined once.

Each function returns a click decorator, so a command takes an option with
`@options.target()`; the few that differ per command (whether --sram is required, the
--qat default) take that as a parameter. Sizes (--sram, --flash, --stack) are read here
into bytes: a command receives an int (or None where the option has no default). Bad
values raise TinyconvError: one line, exit 2, like every other input error.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..defaults import (DEFAULT_BOARD, DEFAULT_DATASET, DEFAULT_MATCH, DEFAULT_MEMORY, DEFAULT_STACK_BYTES,
                        MATCH_CHOICES, MEMORY_CHOICES, STACK_MARGIN_PERCENT)
from ..errors import TinyconvError
from ..units import parse_bytes


def _size(ctx, param, value: str | int | None) -> int | None:
    return None if value is None else parse_bytes(value)


def _positive(ctx, param, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise TinyconvError(f"{param.opts[0]} must be at least 1, got {value}")
    return value


def model():
    return click.argument("model", type=click.Path(dir_okay=False, path_type=Path))


def target():
    return click.option("--target", help="CPU: cortex-m0plus, cortex-m3, cortex-m4, cortex-m33, "
                        "cortex-m7, cortex-m55 (emulated in QEMU; cortex-m0plus's Armv6-M build "
                        "runs on mps2-an385's Cortex-M3).")


def board():
    return click.option("--board", help="Board profile, e.g. qemu-m7, stm32f746-disco "
                        f"(default: the --target's QEMU board, else {DEFAULT_BOARD}).")


def sram(required: bool = False):
    default = "" if required else " (default: the board's RAM)"
    return click.option("--sram", required=required, metavar="SIZE", callback=_size,
                        help=f"SRAM budget: arena + stack + runtime, e.g. 320kB{default}.")


def flash():
    return click.option("--flash", metavar="SIZE", callback=_size, help="Flash budget: weights, requantization "
                        "data and code, e.g. 1MB (default: the board's flash).")


def stack():
    kib, rest = divmod(DEFAULT_STACK_BYTES, 1024)
    fixed = str(DEFAULT_STACK_BYTES) if rest else f"{kib}KiB"
    return click.option("--stack", metavar="SIZE", callback=_size,
                        help="Stack reserved in RAM for the app and kernels (default: the "
                        "model's worst-case stack computed from the compiler's call graph, "
                        f"+{STACK_MARGIN_PERCENT}% and a fault's frames; {fixed} on the host "
                        "or without the Arm toolchain).")


def kernels():
    return click.option("--kernels", type=click.Choice(["opt", "ref"]), default="opt",
                        show_default=True, help="SIMD kernels where the CPU has them, or the "
                        "portable reference C kernels.")


def match():
    return click.option("--match", type=click.Choice(MATCH_CHOICES), default=DEFAULT_MATCH,
                        show_default=True, help="Reproduce LiteRT's reference kernels, or "
                        "TFLite Micro where the two differ (FULLY_CONNECTED requantization); "
                        "auto: LiteRT where it loads and runs the model, else TFLite Micro.")


def calibrate():
    return click.option("--calibrate", metavar="DATASET|FILE.npy",
                        help="Float ONNX model: quantize it first with onnxruntime's "
                        "quantize_static on these inputs (a dataset or a .npy batch); the "
                        "int8 ONNX is written next to the output.")


def memory():
    return click.option("--memory", type=click.Choice(MEMORY_CHOICES), default=DEFAULT_MEMORY,
                        show_default=True,
                        help="Memory plan. fast: the layer-wise plan where it fits --sram, "
                        "else the fastest streamed plan that fits; min: the smallest arena "
                        "(streams the high-resolution layers); layer: never stream.")


def json_out():
    return click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
                        help="Write the report as JSON.")


def seed():
    return click.option("--seed", default=0, show_default=True, help="Random seed.")


def dataset():
    return click.option("--dataset", default=DEFAULT_DATASET, show_default=True,
                        help="Dataset name.")


def width():
    return click.option("--width", type=float, default=1.0, show_default=True,
                        help="Width multiplier.")


def resolution(help: str):
    return click.option("--resolution", type=int, callback=_positive, help=help)


def qat(default: bool):
    return click.option("--qat/--no-qat", default=default, show_default=True,
                        help="Quantization-aware fine-tuning before int8 conversion.")


def augment(help: str = "Shift/flip/brightness augmentation (photos)."):
    return click.option("--augment/--no-augment", default=False, show_default=True, help=help)


def limit_train(help: str = "Use only this many training images."):
    return click.option("--limit-train", type=int, callback=_positive, help=help)
