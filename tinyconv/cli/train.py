"""`tinyconv train`: train a zoo model on a dataset, quantize it to int8, export ONNX, report."""

from __future__ import annotations

import ast
from pathlib import Path

import click

from ..errors import TinyconvError
from ..train.config import TrainConfig
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


# What --arch sets itself (a search architecture is its backbone's zoo family at its own
# width, resolution and choices): giving one of these beside it is a contradiction.
_ARCH_SETS = ("model_name", "width", "resolution", "params")


def _from_arch(ctx: click.Context, arch_path: Path | None, candidate: str | None) -> dict | None:
    """TrainConfig fields of --arch [--candidate], or None without --arch."""
    if arch_path is None:
        if candidate is not None:
            raise TinyconvError("--candidate names a candidate of --arch's search log: give "
                                "--arch SEARCH_DIR/candidates.jsonl")
        if ctx.params.get("model_name") is None:
            raise TinyconvError("give --model (a zoo family, see `tinyconv zoo`) or --arch "
                                "(a search's arch.json, or its candidates.jsonl with --candidate)")
        return None
    given = [f"--{name.replace('model_name', 'model')}" for name in _ARCH_SETS
             if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]
    if given:
        raise TinyconvError(f"--arch sets the model, its width, resolution and parameters: "
                            f"drop {', '.join(given)}")
    from ..search.log import load_arch
    from ..train.config import arch_fields
    arch, where = load_arch(arch_path, candidate)
    click.echo(f"training {where}: width {arch.width:g}, {arch.resolution}x{arch.resolution}, "
               f"depths {list(arch.depths)}")
    return arch_fields(arch)


@click.command()
@click.option("--model", "model_name", help="Zoo family, e.g. mobilenetv2, lenet5 (see `tinyconv zoo`).")
@click.option("--arch", "arch_path", type=click.Path(path_type=Path), metavar="PATH",
              help="Train a search's architecture instead of --model: its arch.json (the "
              "winner), or its candidates.jsonl (or folder) with --candidate.")
@click.option("--candidate", metavar="KEY", help="With --arch LOG: the candidate to train, by "
              "its key (or a unique start of it) as leaderboard.txt lists it.")
@options.dataset()
@options.width()
@options.resolution("Square input side (default: the dataset's).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Family parameter (repeatable).")
@click.option("--init-weights", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Start from these Keras weights of the same network (a .weights.h5), e.g. "
              "the winner_init.weights.h5 of `search --proxy supernet --no-final`: the "
              "supernet's weights of its winner, which the search's own final training starts from.")
@click.option("--epochs", default=TrainConfig.epochs, show_default=True)
@click.option("--batch-size", default=TrainConfig.batch_size, show_default=True)
@options.recipe()
@click.option("--patience", type=int, help="Early stop after this many epochs without a better val accuracy.")
@options.qat(default=False)
@options.qat_epochs()
@options.augment("Random shift (pad + crop) and brightness, flips for photos: the dataset's policy.")
@options.limit_train()
@click.option("--limit-test", type=int, help="Use only this many test images.")
@click.option("--int8-eval-limit", type=int, help="Score int8 accuracy on this many test images (default all).")
@options.onnx()
@options.target()
@options.board()
@options.seed()
@options.ray("Train as one task on a node of a Ray cluster, with its CPUs and a GPU where it "
             "has one, the run directory on a path every node reaches; --resume works with or "
             "without it")
@click.option("--resume", is_flag=True, help="Continue the run in -o from its last finished epoch.")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run directory (new or empty, or an interrupted run with --resume).")
@click.pass_context
def train(ctx, model_name, arch_path, candidate, dataset, width, resolution, params, init_weights,
          epochs, batch_size,
          patience, qat, qat_epochs, augment, limit_train, limit_test, int8_eval_limit, onnx,
          target, board, seed, ray_address, resume, out_dir, **recipe_options) -> None:
    """Train MODEL (or a search's --arch) on DATASET, then int8 .tflite (+ QAT), ONNX and
    metrics.json into -o."""
    from .. import zoo
    from ..interrupt import exit_on_interrupt
    from ..targets import board_for
    from ..train.config import accuracy_summary
    from ..train.data import check_dataset_name

    arch = _from_arch(ctx, arch_path, candidate)
    if arch is None:
        arch = {"model": model_name, "width": width, "resolution": resolution,
                "params": dict(_param(p) for p in params)}
    zoo.family(arch["model"])  # unknown family -> one line listing the known ones, before TF loads
    check_dataset_name(dataset)
    b = board_for(target, board)
    recipe = options.recipe_of(recipe_options, augment)
    config = TrainConfig(**arch, **recipe.recipe_json(), dataset=dataset, epochs=epochs, batch_size=batch_size,
                         qat=qat, qat_epochs=qat_epochs, seed=seed, patience=patience, limit_train=limit_train,
                         limit_test=limit_test, int8_eval_limit=int8_eval_limit, onnx=onnx, board=b.name,
                         init_weights=None if init_weights is None
                         else str(init_weights.resolve() if ray_address else init_weights))
    config.check()
    from ..backend import check_ray, run_job
    from ..train.run import train as run_training
    if ray_address is not None:
        check_ray(ray_address)  # Ray installed, the address answers: before any work
        out_dir = out_dir.resolve()  # the task's working directory is Ray's
    with exit_on_interrupt(lambda: f", resume with --resume (checkpoints kept in {out_dir})"):
        result = run_job(ray_address, "the training", run_training, config, out_dir,
                         resume=resume, progress=True)
    m = result.metrics
    click.echo(f"wrote {out_dir}: {accuracy_summary(m)}; {m['parameters']:,} params, "
               f"{m['macs']:,} MACs, {m['tflite_bytes']:,} B .tflite")
    if "planned_peak_sram_bytes" in m:
        smallest = m["smallest_planned_peak_sram_bytes"]
        streamed = (f"; {smallest:,} B streamed (export --memory min)"
                    if smallest < m["planned_peak_sram_bytes"] else "")
        click.echo(f"  on {m['board']}: planned SRAM {m['planned_peak_sram_bytes']:,} B "
                   f"(arena {m['arena_bytes']:,}){streamed}, flash weights {m['flash_weights_bytes']:,} B")
    click.echo(f"next: tinyconv export {out_dir / 'model_int8.tflite'} --board {b.name} "
               f"-o {out_dir / 'firmware'}")
