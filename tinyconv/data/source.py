"""A dataset before selection: labels up front, pixels fetched on demand.

Labels are cheap (a CIFAR-10 label is its folder name in the zip) while pixels may be
expensive (a JPEG decode each), so a loader hands over all labels plus a `fetch` that
produces only the examples a split or limit selected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import TinyconvError
from .dataset import NO_AUGMENTATION, Augmentation
from .image import as_nhwc, to_unit_float

TRAIN, TEST = "train", "test"

# (split, indices) -> float32 [len(indices), H, W, C] in [0, 1]
Fetch = Callable[[str, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Source:
    name: str
    y_train: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    native_shape: tuple[int, int, int]
    fetch: Fetch
    eval_only: bool = False
    augmentation: Augmentation = NO_AUGMENTATION


def labels(y: np.ndarray, what: str) -> np.ndarray:
    """Class indices as int32; one-hot rows are accepted and turned into indices."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1)
    elif y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise TinyconvError(f"{what}: labels must be a vector of class indices, got shape {list(y.shape)}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(y == np.round(y)):
            raise TinyconvError(f"{what}: labels must be whole class numbers (dtype {y.dtype})")
    if y.size and y.min() < 0:
        raise TinyconvError(f"{what}: labels must be non-negative class indices (found {y.min()})")
    return y.astype(np.int32)


def from_arrays(name: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                y_test: np.ndarray, *, class_names: tuple[str, ...] | None = None,
                augmentation: Augmentation = NO_AUGMENTATION, eval_only: bool = False) -> Source:
    """A Source over in-memory arrays (uint8 0-255 or float in [0, 1], NHW or NHWC)."""
    x_train, x_test = as_nhwc(x_train, f"{name} x_train"), as_nhwc(x_test, f"{name} x_test")
    y_train, y_test = labels(y_train, f"{name} y_train"), labels(y_test, f"{name} y_test")
    for x, y, split in ((x_train, y_train, TRAIN), (x_test, y_test, TEST)):
        if len(x) != len(y):
            raise TinyconvError(f"{name}: {len(x)} {split} images but {len(y)} labels")
    if len(x_train) and len(x_test) and x_train.shape[1:] != x_test.shape[1:]:
        raise TinyconvError(f"{name}: train images are {list(x_train.shape[1:])} but test images "
                            f"{list(x_test.shape[1:])}")
    n_classes = int(max(y_train.max(initial=-1), y_test.max(initial=-1))) + 1
    if class_names is None:
        class_names = tuple(str(k) for k in range(n_classes))
    elif len(class_names) < n_classes:
        raise TinyconvError(f"{name}: labels go up to {n_classes - 1} but only "
                            f"{len(class_names)} class names are given")
    arrays = {TRAIN: x_train, TEST: x_test}
    shape = (x_train if len(x_train) else x_test).shape[1:]

    def fetch(split: str, idx: np.ndarray) -> np.ndarray:
        return to_unit_float(arrays[split][idx], f"{name} {split} images")

    return Source(name, y_train, y_test, tuple(class_names), tuple(int(d) for d in shape), fetch,
                  eval_only=eval_only, augmentation=augmentation)
