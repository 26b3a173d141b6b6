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
                        MATCH_CHOICES, MEMORY_CHOICES, STACK_MARGIN_PERCENT, TRAIN_BN_REESTIMATE, TRAIN_CUTOUT,
                        TRAIN_DISTILL_ALPHA, TRAIN_DISTILL_TEMPERATURE, TRAIN_EMA_DECAY, TRAIN_LABEL_SMOOTHING,
                        TRAIN_LEARNING_RATE, TRAIN_MIXUP, TRAIN_OPTIMIZER, TRAIN_OPTIMIZERS, TRAIN_PRECISION,
                        TRAIN_PRECISIONS, TRAIN_SCHEDULE, TRAIN_SCHEDULES, TRAIN_WARMUP_EPOCHS, TRAIN_WEIGHT_DECAY)
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


def ray(help: str):
    """--ray [ADDRESS]: "local" (a local Ray instance) without an address (tinyconv/backend.py)."""
    return click.option("--ray", "ray_address", is_flag=False, flag_value="local",
                        metavar="[ADDRESS]", help=help + " (pip install 'tinyconv[ray]'): "
                        "ADDRESS of a running cluster (HOST:PORT, `auto`), or none for a local "
                        "Ray instance.")


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


def qat_epochs():
    from ..train.config import TrainConfig
    return click.option("--qat-epochs", default=TrainConfig.qat_epochs, show_default=True,
                        type=click.IntRange(1, 1000), help="Epochs of quantization-aware "
                        "fine-tuning (with --qat).")


def onnx(help: str = "Also write model.onnx and model_int8.onnx."):
    from ..train.config import TrainConfig
    return click.option("--onnx/--no-onnx", default=TrainConfig.onnx, show_default=True, help=help)


def augment(help: str = "Shift/flip/brightness augmentation (photos)."):
    return click.option("--augment/--no-augment", default=False, show_default=True, help=help)


def limit_train(help: str = "Use only this many training images."):
    return click.option("--limit-train", type=int, callback=_positive, help=help)


# The training recipe's options (tinyconv.train.config.Recipe's fields but --augment, which
# each command words itself), shared by `train` and `search` (its final training): field ->
# (flags, click settings). RECIPE_FLAGS names each field's option, e.g. for a refused resume.
_RECIPE = {
    "optimizer": ("--optimizer", dict(type=click.Choice(TRAIN_OPTIMIZERS), default=TRAIN_OPTIMIZER,
                                      show_default=True, help="adam, adamw (decoupled weight decay) or "
                                      "sgd (Nesterov momentum).")),
    "learning_rate": ("--lr", dict(type=float, help="Peak learning rate (default per optimizer: "
                                   + ", ".join(f"{k} {v:g}" for k, v in TRAIN_LEARNING_RATE.items()) + ").")),
    "schedule": ("--schedule", dict(type=click.Choice(TRAIN_SCHEDULES), default=TRAIN_SCHEDULE, show_default=True,
                                    help="cosine: linear warmup (--warmup-epochs) then cosine to 0; onecycle: "
                                    "up from lr/25 over 30 % of the steps, then cosine down.")),
    "warmup_epochs": ("--warmup-epochs", dict(type=float, default=TRAIN_WARMUP_EPOCHS, show_default=True,
                                              help="Epochs of the cosine schedule's linear warmup.")),
    "weight_decay": ("--weight-decay", dict(type=float, help="Decoupled weight decay on kernels only, never "
                                            "on batch-norm or biases (default per optimizer: "
                                            + ", ".join(f"{k} {v:g}" for k, v in TRAIN_WEIGHT_DECAY.items())
                                            + ").")),
    "label_smoothing": ("--label-smoothing", dict(type=float, default=TRAIN_LABEL_SMOOTHING, show_default=True,
                                                  help="Move this share of each target onto the other "
                                                  "classes (0 = off).")),
    "cutout": ("--cutout", dict(type=float, default=TRAIN_CUTOUT, show_default=True,
                                help="Zero a random square of this fraction of the image side (0 = off).")),
    "mixup": ("--mixup", dict(type=float, default=TRAIN_MIXUP, show_default=True,
                              help="Mix each batch with itself reversed, lambda ~ Beta(a, a) (0 = off).")),
    "ema_decay": ("--ema", dict(type=float, default=TRAIN_EMA_DECAY, show_default=True,
                                help="Keep an EMA of the weights with this decay (e.g. 0.999): it is what is "
                                "evaluated, saved and quantized (0 = off).")),
    "bn_reestimate": ("--bn-reestimate", dict(type=int, default=TRAIN_BN_REESTIMATE, show_default=True,
                                              metavar="BATCHES", help="Recompute batch-norm statistics on this "
                                              "many training batches with the final weights, before QAT and "
                                              "saving (0 = off).")),
    "teacher": ("--teacher", dict(metavar="MODEL", help="Distil from this model: a Keras .h5, a tinyconv run "
                                  "directory (its model.h5), or a zoo FAMILY[:WIDTH] (e.g. resnet8:2) trained "
                                  "first with the same data and recipe into the run's teacher/ folder; same "
                                  "input shape and classes.")),
    "teacher_epochs": ("--teacher-epochs", dict(type=int, help="Epochs of a --teacher FAMILY (default: the "
                                                "student's).")),
    "distill_alpha": ("--distill-alpha", dict(type=float, default=TRAIN_DISTILL_ALPHA, show_default=True,
                                              help="Weight of the teacher's term: (1-a) CE + a T^2 KL.")),
    "distill_temperature": ("--distill-temperature", dict(type=float, default=TRAIN_DISTILL_TEMPERATURE,
                                                          show_default=True, help="Softmax temperature of "
                                                          "the teacher's and the student's term.")),
    "precision": ("--precision", dict(type=click.Choice(TRAIN_PRECISIONS), default=TRAIN_PRECISION,
                                      show_default=True, help="Compute precision of the float training: "
                                      "bfloat16 (float32 weights and output layer) trains convolutional "
                                      "models ~1.4x faster on CPUs with AVX512-BF16/AMX; auto takes it there "
                                      "for models without depthwise convolutions, float32 otherwise.")),
}
RECIPE_FLAGS = {name: flag for name, (flag, _) in _RECIPE.items()}


def recipe(what: str = ""):
    """All of the recipe's options; the command receives each as a keyword named after its
    Recipe field (`recipe_of` gathers them). `what` prefixes each help, e.g. "Final training: "."""
    def apply(command):
        for name, (flag, settings) in reversed(_RECIPE.items()):
            settings = dict(settings, help=what + settings.get("help", "")) if what else settings
            command = click.option(flag, name, **settings)(command)
        return command
    return apply


def recipe_of(kwargs: dict, augment: bool):
    """The Recipe the options of `recipe()` ask for (popped from a command's kwargs)."""
    from ..train.config import Recipe

    return Recipe(**{name: kwargs.pop(name) for name in _RECIPE}, augment=augment)


def recipe_command_line(recipe) -> str:
    """The options that ask for `recipe` (those not at their default), e.g. for the
    `tinyconv train` line a search prints; --augment included."""
    from ..train.config import Recipe

    # The defaults of its optimizer (learning rate and decay); the optimizer itself Recipe()'s.
    default = Recipe(optimizer=recipe.optimizer)
    parts = [] if recipe.optimizer == TRAIN_OPTIMIZER else [f"--optimizer {recipe.optimizer}"]
    for name, flag in RECIPE_FLAGS.items():
        value = getattr(recipe, name)
        if value != getattr(default, name):  # (never the optimizer: the same by construction)
            parts.append(f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
    return " ".join(parts + ["--augment" if recipe.augment else "--no-augment"])


def final_command_line(final) -> str:
    """The `tinyconv train` options that train as `final` (a search's FinalSettings) does:
    epochs, the recipe, QAT and whatever else is not at train's default."""
    from ..train.config import TrainConfig

    parts = [f"--epochs {final.epochs}", recipe_command_line(final.recipe),
             "--qat" if final.qat else "--no-qat"]
    if final.qat and final.qat_epochs != TrainConfig.qat_epochs:
        parts.append(f"--qat-epochs {final.qat_epochs}")
    for flag, value, default in (("--batch-size", final.batch_size, TrainConfig.batch_size),
                                 ("--limit-train", final.limit_train, None),
                                 ("--limit-test", final.limit_test, None),
                                 ("--int8-eval-limit", final.int8_eval_limit, None),
                                 ("--seed", final.seed, TrainConfig.seed)):
        if value != default:
            parts.append(f"{flag} {value}")
    if final.onnx != TrainConfig.onnx:
        parts.append("--onnx" if final.onnx else "--no-onnx")
    return " ".join(parts)
