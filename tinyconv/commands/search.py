"""`tinyconv search`: find the most accurate MCUNet-style network that fits a board."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--sram", required=True, help="Peak SRAM budget (arena + stack + runtime), e.g. 320kB.")
@click.option("--flash", help="Flash budget (weights + requant data + code), e.g. 1MB "
              "(default: the board's flash).")
@click.option("--max-macs", help="Optional bound on MACs per inference, e.g. 20M.")
@click.option("--max-instructions", help="Optional latency bound in instructions per inference "
              "(per-op cost model calibrated on QEMU), e.g. 50M.")
@click.option("--dataset", default="fashion_mnist", show_default=True)
@click.option("--target", help="CPU: cortex-m3, cortex-m4, cortex-m7, cortex-m55.")
@click.option("--board", help="Board profile (default: the target's QEMU board, qemu-m7).")
@click.option("--budget", "search_budget", default="30", show_default=True,
              help="Search budget: candidates (30) or minutes (20m).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Candidates trained in parallel processes.")
@click.option("--population", default=8, show_default=True, type=click.IntRange(2, 1000))
@click.option("--space-samples", default=24, show_default=True, type=click.IntRange(1, 10000),
              help="Samples per (width, resolution) pair in the space optimisation.")
@click.option("--proxy-images", default=1000, show_default=True, type=click.IntRange(64, 10**6),
              help="Training images of the accuracy proxy.")
@click.option("--proxy", "proxy_kind", type=click.Choice(["train", "macs"]), default="train",
              show_default=True, help="Accuracy proxy: short training on a subset, or MACs "
              "alone (no training: a dry run of the search).")
@click.option("--proxy-epochs", default=1, show_default=True, type=click.IntRange(1, 100))
@click.option("--epochs", default=5, show_default=True, type=click.IntRange(1, 1000),
              help="Epochs of the winner's final training.")
@click.option("--qat/--no-qat", default=True, show_default=True)
@click.option("--augment/--no-augment", default=False, show_default=True,
              help="Shift/flip/brightness augmentation in the final training (photos).")
@click.option("--limit-train", type=click.IntRange(1, None), help="Final training images.")
@click.option("--no-final", is_flag=True, help="Stop after the search (no final training).")
@click.option("--seed", default=0, show_default=True)
@click.option("--stack", default="8KiB", show_default=True)
@click.option("--export", is_flag=True, help="Also write a firmware project to OUT/firmware.")
@click.option("--resume", is_flag=True, help="Continue an interrupted search in OUT.")
@click.option("-o", "--output", "out", default="search", show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
def search(sram, flash, max_macs, max_instructions, dataset, target, board, search_budget,
           workers, population, space_samples, proxy_images, proxy_kind, proxy_epochs, epochs, qat,
           augment, limit_train, no_final, seed, stack, export, resume, out) -> None:
    """Search MCUNet-style networks that fit SRAM/flash exactly; train and export the winner."""
    from ..search.budget import Budget
    from ..search.proxy import ProxySettings
    from ..search.result import FinalSettings
    from ..search.run import SearchBudget, SearchOptions, run_search
    from ..targets import board_for
    from ..units import parse_bytes

    b = board_for(target, board)
    opts = SearchOptions(
        budget=Budget.parse(sram, b.flash_bytes if flash is None else flash, max_macs,
                            max_instructions),
        search_budget=SearchBudget.parse(search_budget), dataset=dataset, board=b.name,
        space_samples=space_samples, population=population, parents=max(2, population // 2),
        workers=workers, seed=seed, stack_bytes=parse_bytes(stack),
        proxy=ProxySettings(dataset=dataset, train_images=proxy_images, epochs=proxy_epochs,
                            seed=seed),
        final=FinalSettings(epochs=epochs, qat=qat, limit_train=limit_train, augment=augment,
                            seed=seed),
        train_final=not no_final, export=export, proxy_kind=proxy_kind)
    run_search(opts, out, b, resume=resume, echo=click.echo)
