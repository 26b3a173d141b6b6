"""load_dataset: a name or a path in, a ready-to-train Dataset out."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import TinyconvError
from .dataset import Dataset
from .folder import folder_source, is_image_folder
from .image import fit_to_shape
from .npz import npz_source
from .registry import DEFAULT_DATASET, LOADERS, canonical_name, unknown_dataset
from .source import TEST, TRAIN, Source
from .split import split_train, subsample


def load_dataset(name_or_path: str = DEFAULT_DATASET, *,
                 input_shape: tuple[int, int, int] | None = None,
                 validation_fraction: float = 0.1, seed: int = 0,
                 limit_train: int | None = None, limit_test: int | None = None) -> Dataset:
    """Load a built-in dataset by name, a folder of class sub-folders, or a .npz file.

    x_* are float32 NHWC in [0, 1], resized (bilinear, anti-aliased when shrinking) and
    converted gray <-> RGB to `input_shape` when given; y_* are int32 class indices.
    `limit_train` caps the training pool (train + validation) and `limit_test` the test set;
    both, and the validation split, are stratified and depend only on `seed`, and a smaller
    limit selects a subset of a larger one. Training examples come shuffled (classes
    interleaved); test examples keep the file order.
    """
    source = resolve(name_or_path)
    shape = _check_shape(input_shape) if input_shape is not None else source.native_shape
    parts = split_train(source.y_train, validation_fraction=validation_fraction,
                        limit=limit_train, seed=seed)
    test_idx = subsample(source.y_test, limit=limit_test, seed=seed)

    def take(split: str, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = source.y_train if split == TRAIN else source.y_test
        if len(idx) == 0:
            return np.zeros((0, *shape), np.float32), np.zeros(0, np.int32)
        return fit_to_shape(source.fetch(split, idx), shape), y[idx]

    # One fetch for train + validation: a cache-backed source reads its arrays once.
    pool = np.concatenate([parts.train, parts.val])
    x_pool, y_pool = take(TRAIN, pool)
    n_train = len(parts.train)
    x_test, y_test = take(TEST, test_idx)
    return Dataset(name=source.name, x_train=x_pool[:n_train], y_train=y_pool[:n_train],
                   x_val=x_pool[n_train:], y_val=y_pool[n_train:], x_test=x_test, y_test=y_test,
                   num_classes=len(source.class_names), class_names=source.class_names,
                   input_shape=shape, eval_only=source.eval_only,
                   augmentation=source.augmentation)


def resolve(name_or_path: str | Path) -> Source:
    """The Source behind a dataset name or path (labels loaded, pixels on demand)."""
    text = str(name_or_path)
    canonical = canonical_name(text)
    if canonical is not None:
        return LOADERS[canonical]()
    path = Path(text).expanduser()
    if path.suffix.lower() == ".npz":
        if not path.is_file():
            raise TinyconvError(f"dataset file {path} does not exist")
        return npz_source(path)
    if path.is_dir():
        if not is_image_folder(path):
            raise TinyconvError(f"{path}: not a dataset folder (expected one sub-folder of "
                                "images per class)")
        return folder_source(path)
    raise unknown_dataset(text)


def _check_shape(shape) -> tuple[int, int, int]:
    try:
        h, w, c = (int(d) for d in shape)
    except (TypeError, ValueError):
        raise TinyconvError(f"input_shape must be (height, width, channels), got {shape!r}") from None
    if h < 1 or w < 1 or c not in (1, 3):
        raise TinyconvError(f"input_shape {shape!r}: need positive height/width and 1 or 3 channels")
    return h, w, c
