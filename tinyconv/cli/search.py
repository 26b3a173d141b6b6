"""`tinyconv search`: find the most accurate network of a backbone (MCUNet's, Fused-MBConv or
plain VGG stages) that fits a board."""

from __future__ import annotations

from pathlib import Path

import click

from ..defaults import (DEFAULT_BACKBONE, FINAL_EPOCHS, LEADERBOARD_TOP, PROXY_EPOCHS,
                        PROXY_IMAGES, RESOLUTION_STEP, SEARCH_CANDIDATES, SEARCH_POPULATION,
                        SEARCH_RESOLUTIONS, SPACE_SAMPLES, SUPERNET_CANDIDATES,
                        SUPERNET_EPOCHS, SUPERNET_POPULATION, SUPERNET_RERANK,
                        WINNER_INIT, WINNER_INITS)
from ..errors import TinyconvError
from ..zoo.arch import BACKBONES
from . import options


def _listed(values) -> str:
    return ",".join(f"{v:g}" for v in values)


def _numbers(kind, what: str, text: str | None) -> tuple | None:
    """`0.3,0.5` -> (0.3, 0.5): sorted, without repeats; one-line error otherwise."""
    if text is None:
        return None
    try:
        values = [kind(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise TinyconvError(f"cannot read {what} {text!r}: give comma-separated numbers, "
                            f"e.g. {what} {'0.3,0.5' if kind is float else '32,48'}") from None
    if not values:
        raise TinyconvError(f"{what} is empty")
    return tuple(sorted(set(values)))


def _widths(ctx, param, text):
    import math
    values = _numbers(float, "--widths", text)
    for w in values or ():
        if not (math.isfinite(w) and 0 < w <= 4):
            raise TinyconvError(f"--widths: {w:g} is not a width multiplier in (0, 4]")
    return values


def _resolutions(ctx, param, text):
    return _numbers(int, "--resolutions", text)


def _check_resolutions(resolutions: tuple[int, ...] | None, backbone: str) -> None:
    """Each --resolutions value within what --space's backbone takes."""
    bb = BACKBONES[backbone]
    for r in resolutions or ():
        if not bb.min_resolution <= r <= 1024:
            raise TinyconvError(f"--resolutions: {r} px is outside {bb.min_resolution}..1024 "
                                f"(the {bb.name} network downsamples by {bb.min_resolution})")


_SPACE_HELP = ("Backbone searched: " + "; ".join(f"{b.name}, {b.description}"
                                                 for b in BACKBONES.values())
               + f" [default: {DEFAULT_BACKBONE}].")


@click.command()
@options.sram(required=True)
@options.flash()
@click.option("--max-macs", help="Optional bound on MACs per inference, e.g. 20M.")
@click.option("--max-instructions", help="Optional latency bound in instructions per inference "
              "(per-op cost model calibrated on QEMU), e.g. 50M.")
@options.dataset()
@options.target()
@options.board()
@click.option("--budget", "search_budget", help="Search budget: candidates (30) or minutes "
              f"(20m) [default: {SEARCH_CANDIDATES}; {SUPERNET_CANDIDATES} with --proxy supernet].")
@click.option("--workers", type=click.IntRange(1, 4096), help="Candidates evaluated at once: "
              "in parallel local processes (default 1), or Ray tasks with --ray (default: "
              "the cluster's CPUs).")
@options.ray("Run on a Ray cluster: candidates as tasks, the supernet and the final training "
             "as one task each (same log; --resume works with or without it; the output folder "
             "on a path every node reaches)")
@click.option("--population", type=click.IntRange(2, 1000), help="Candidates per generation "
              "(the first one is random samples: a --budget not above it leaves no evolution) "
              f"[default: {SEARCH_POPULATION}; {SUPERNET_POPULATION} with --proxy supernet].")
@click.option("--space-samples", default=SPACE_SAMPLES, show_default=True,
              type=click.IntRange(1, 10000),
              help="Samples per (width, resolution) pair in the space optimisation.")
@click.option("--space", "backbone", type=click.Choice(list(BACKBONES)),
              default=DEFAULT_BACKBONE, help=_SPACE_HELP)
@click.option("--widths", callback=_widths, metavar="LIST", help="Width multipliers to search, "
              "e.g. 0.3,0.5,0.7 (default: the --space's, " + "; ".join(
                  f"{b.name} {_listed(b.widths)}" for b in BACKBONES.values()) + ").")
@click.option("--resolutions", callback=_resolutions, metavar="LIST", help="Input resolutions "
              f"to search, e.g. 32,48 (default: those of {_listed(SEARCH_RESOLUTIONS)} up to "
              f"the images' side rounded up to a multiple of {RESOLUTION_STEP}; 32 for images "
              "of 32 px or less).")
@click.option("--proxy-images", default=PROXY_IMAGES, show_default=True,
              type=click.IntRange(64, 10**6),
              help="Training images of the accuracy proxy.")
@click.option("--proxy", "proxy_kind", type=click.Choice(["train", "macs", "supernet"]),
              default="train", show_default=True, help="Accuracy proxy: short training on a "
              "subset, MACs alone (no training: a dry run of the search), or a weight-sharing "
              "supernet trained once (OUT/supernet), each candidate scored with its inherited "
              "weights in seconds; the winner's training starts from them (--winner-init).")
@click.option("--proxy-epochs", default=PROXY_EPOCHS, show_default=True,
              type=click.IntRange(1, 100))
@click.option("--supernet-epochs", default=SUPERNET_EPOCHS, show_default=True,
              type=click.IntRange(1, 1000), help="Epochs of the supernet (--proxy supernet).")
@click.option("--supernet", "supernet_dir", metavar="DIR", type=click.Path(file_okay=False),
              help="Reuse the trained supernet in DIR (a search's OUT/supernet) instead of "
              "training one (--proxy supernet; same dataset, its space must hold this one).")
@click.option("--rerank", type=click.IntRange(0, 10**6), metavar="K", help="The best K "
              "candidates scored again on the whole validation split, the winner picked among "
              f"them by that score (--proxy supernet; 0: the evolution's score alone) "
              f"[default: {SUPERNET_RERANK}].")
@click.option("--winner-init", type=click.Choice(WINNER_INITS), help="Where the winner's "
              "final training starts (--proxy supernet): its supernet weights (fine-tuning, "
              f"as Once-for-All) or random ones [default: {WINNER_INIT}].")
@click.option("--epochs", default=FINAL_EPOCHS, show_default=True, type=click.IntRange(1, 1000),
              help="Epochs of the winner's final training.")
@options.qat(default=True)
@options.qat_epochs()
@options.augment("Shift/flip/brightness augmentation in the final training (photos).")
@options.recipe("Final training: ")
@options.limit_train("Training images of the final training (and of the supernet).")
@options.onnx("Also write the winner's model.onnx and model_int8.onnx (OUT/final).")
@click.option("--no-final", is_flag=True, help="Stop after the search (no final training).")
@options.seed()
@options.stack()
@options.memory()
@click.option("--export", is_flag=True, help="Also write a firmware project to OUT/firmware.")
@click.option("--top", default=LEADERBOARD_TOP, show_default=True, type=click.IntRange(1, 1000),
              help="Candidates in the leaderboard (summary and OUT/leaderboard.txt).")
@click.option("--clock", "clock_mhz", type=click.FloatRange(min=0.001), metavar="MHZ",
              help="CPU clock for the leaderboard's milliseconds per inference (estimated "
              "instructions at one per cycle), e.g. 168.")
@click.option("--resume", is_flag=True, help="Continue an interrupted search in OUT.")
@click.option("-o", "--output", "out", default="search", show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
def search(sram, flash, max_macs, max_instructions, dataset, target, board, search_budget,
           workers, population, space_samples, backbone, widths, resolutions, proxy_images,
           proxy_kind, proxy_epochs, epochs, qat, qat_epochs, augment, limit_train, onnx, no_final, seed,
           stack, memory, export, top, clock_mhz, resume, out, ray_address=None, supernet_epochs=SUPERNET_EPOCHS,
           supernet_dir=None, rerank=None, winner_init=None, **recipe_options) -> None:
    """Search networks (MCUNet's, Fused-MBConv or plain VGG blocks) that fit SRAM/flash
    exactly; train and export the winner."""
    from ..interrupt import exit_on_interrupt
    from ..search.budget import Budget
    from ..search.proxy import ProxySettings
    from ..search.result import FinalSettings
    from ..search.run import SearchBudget, SearchOptions, run_search
    from ..search.supernet import SupernetSettings
    from ..targets import board_for

    def saved() -> str:  # what a Ctrl-C leaves, said in its one line
        log = out / "candidates.jsonl"
        if not (out / "search.json").exists():
            return "; nothing saved yet"
        n = sum(1 for line in log.read_text().splitlines() if line.strip()) if log.exists() else 0
        return f"; {n} candidate(s) kept in {log}: continue with --resume"

    with exit_on_interrupt(saved):
        b = board_for(target, board)
        _check_resolutions(resolutions, backbone)
        supernet = proxy_kind == "supernet"
        if supernet_dir is not None and not supernet:
            raise TinyconvError("--supernet DIR is the supernet proxy's: add --proxy supernet")
        if rerank is not None and not supernet:
            raise TinyconvError("--rerank re-scores with the supernet: add --proxy supernet")
        if winner_init is not None and not supernet:
            raise TinyconvError("--winner-init chooses between the supernet's weights and "
                                "random ones: add --proxy supernet")
        if search_budget is None:
            search_budget = str(SUPERNET_CANDIDATES if supernet else SEARCH_CANDIDATES)
        if population is None:
            population = SUPERNET_POPULATION if supernet else SEARCH_POPULATION
        opts = SearchOptions(
            budget=Budget.parse(sram, b.flash_bytes if flash is None else flash, max_macs,
                                max_instructions, memory),
            search_budget=SearchBudget.parse(search_budget), dataset=dataset, board=b.name,
            space_samples=space_samples, population=population, parents=max(2, population // 2),
            workers=workers if ray_address is not None else (workers or 1),
            ray_address=ray_address, seed=seed, stack_bytes=stack,
            proxy=ProxySettings(dataset=dataset, train_images=proxy_images, epochs=proxy_epochs,
                                seed=seed),
            final=FinalSettings(epochs=epochs, qat=qat, qat_epochs=qat_epochs,
                                limit_train=limit_train, seed=seed, onnx=onnx,
                                recipe=options.recipe_of(recipe_options, augment)),
            train_final=not no_final, export=export, proxy_kind=proxy_kind, backbone=backbone,
            widths=widths,
            resolutions=resolutions, top=top, clock_mhz=clock_mhz,
            supernet=SupernetSettings(epochs=supernet_epochs, limit_train=limit_train,
                                      augment=augment, seed=seed, reuse=supernet_dir),
            rerank=SUPERNET_RERANK if rerank is None else rerank,
            winner_init=WINNER_INIT if winner_init is None else winner_init)
        run_search(opts, out, b, resume=resume, echo=click.echo)
