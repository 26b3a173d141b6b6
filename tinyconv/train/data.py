"""The datasets training uses: `tinyconv.data`, plus the checks a run does before loading."""

from __future__ import annotations

from pathlib import Path

from ..errors import TinyconvError


def check_dataset_name(name: str) -> None:
    """One-line error for an unknown dataset, before any run directory is created.

    Built-in names are checked without loading anything; a path must exist (the loader
    checks what is inside)."""
    from ..data.registry import canonical_name, unknown_dataset

    if canonical_name(name) is not None:
        return
    path = Path(name).expanduser()
    if path.suffix.lower() == ".npz" or path.is_dir():
        return
    raise unknown_dataset(name)


def native_channels(name: str) -> int:
    from ..data import DATASETS, resolve
    from ..data.registry import canonical_name

    canonical = canonical_name(name)
    if canonical is not None:
        return int(DATASETS[canonical].input_shape[2])
    return int(resolve(name).native_shape[2])


def load(name: str, *, resolution: int | None, validation_fraction: float, seed: int,
         limit_train: int | None, limit_test: int | None):
    """`tinyconv.data.load_dataset` at resolution x resolution (None: native), trainable."""
    from ..data import load_dataset

    shape = None if resolution is None else (resolution, resolution, native_channels(name))
    dataset = load_dataset(name, input_shape=shape, validation_fraction=validation_fraction,
                           seed=seed, limit_train=limit_train, limit_test=limit_test)
    dataset.require_train()
    if len(dataset.x_val) == 0 or len(dataset.x_test) == 0:
        raise TinyconvError(f"dataset {dataset.name!r}: {dataset.summary()}; training needs "
                            "validation and test examples (raise --limit-train / --limit-test)")
    return dataset
