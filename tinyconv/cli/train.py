"""`tinyconv train`: train a zoo model on a dataset, quantize it to int8, export ONNX, report."""

from __future__ import annotations

import ast
from pathlib import Path

import click

from ..errors import TinyconvError
from . import options


def _param(text: str) -> tuple[str, object]:
    """`key=value`, the value read as a Python literal (3, 0.5, (1, 2), 'avg') or kept as text."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise TinyconvError(f"--param {text!r}: expected key=value, e.g. --param expansion=4")
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = value
    if isinstance(parsed, list):
        parsed = tuple(parsed)
    return key.strip(), parsed


@click.command()
@click.option("--model", "model_name", required=True, help="Zoo family, e.g. mobilenetv2, lenet5 (see `tinyconv zoo`).")
@options.dataset()
@options.width()
@options.resolution("Square input side (default: the dataset's).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Family parameter (repeatable).")
@click.option("--epochs", default=10, show_default=True)
@click.option("--batch-size", default=64, show_default=True)
@click.option("--lr", "learning_rate", default=2e-3, show_default=True, help="Peak learning rate (cosine, 1 warmup epoch).")
@click.option("--patience", type=int, help="Early stop after this many epochs without a better val accuracy.")
@options.qat(default=False)
@click.option("--qat-epochs", default=1, show_default=True)
@options.augment()
@options.limit_train()
@click.option("--limit-test", type=int, help="Use only this many test images.")
@click.option("--int8-eval-limit", type=int, help="Score int8 accuracy on this many test images (default all).")
@click.option("--onnx/--no-onnx", default=True, show_default=True, help="Also write model.onnx and model_int8.onnx.")
@options.target()
@options.board()
@options.seed()
@click.option("--resume", is_flag=True, help="Continue the run in -o from its last finished epoch.")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run directory (new or empty, or an interrupted run with --resume).")
def train(model_name, dataset, width, resolution, params, epochs, batch_size, learning_rate, patience, qat,
          qat_epochs, augment, limit_train, limit_test, int8_eval_limit, onnx, target, board, seed, resume, out_dir) -> None:
    """Train MODEL on DATASET, then int8 .tflite (+ QAT), ONNX and metrics.json into -o."""
    from .. import zoo
    from ..interrupt import exit_on_interrupt
    from ..targets import board_for
    from ..train.config import TrainConfig, accuracy_summary
    from ..train.data import check_dataset_name

    zoo.family(model_name)  # unknown family -> one line listing the known ones, before TF loads
    check_dataset_name(dataset)
    config = TrainConfig(model=model_name, dataset=dataset, width=width, resolution=resolution,
                         params=dict(_param(p) for p in params), epochs=epochs, batch_size=batch_size,
                         learning_rate=learning_rate, qat=qat, qat_epochs=qat_epochs, seed=seed,
                         patience=patience, limit_train=limit_train, limit_test=limit_test, augment=augment,
                         int8_eval_limit=int8_eval_limit, onnx=onnx,
                         board=board_for(target, board).name)
    config.check()
    from ..train.run import train as run_training
    with exit_on_interrupt(lambda: f", resume with --resume (checkpoints kept in {out_dir})"):
        result = run_training(config, out_dir, resume=resume, progress=True)
    m = result.metrics
    click.echo(f"wrote {out_dir}: {accuracy_summary(m)}; {m['parameters']:,} params, "
               f"{m['macs']:,} MACs, {m['tflite_bytes']:,} B .tflite")
    if "planned_peak_sram_bytes" in m:
        click.echo(f"  on {m['board']}: planned SRAM {m['planned_peak_sram_bytes']:,} B "
                   f"(arena {m['arena_bytes']:,}), flash weights {m['flash_weights_bytes']:,} B")
