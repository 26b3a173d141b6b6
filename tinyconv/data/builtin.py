"""The small built-in sets: MNIST, Fashion-MNIST (IDX files) and scikit-learn's digits."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..errors import TinyconvError
from .dataset import GLYPH_AUGMENTATION, Augmentation
from .download import keras_download
from .idx import read_idx
from .locate import search_roots, try_dataset_dir
from .source import Source, from_arrays
from .split import holdout

FASHION_CLASSES = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                   "sneaker", "bag", "ankle boot")
DIGIT_CLASSES = tuple(str(d) for d in range(10))
_IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
# Clothes are left-right symmetric enough to mirror; digits are not.
FASHION_AUGMENTATION = Augmentation(flip=True, shift_h=0.1, shift_w=0.1, brightness=0.1)


def _idx_arrays(name: str, folder: str):
    found = try_dataset_dir(folder, _IDX_FILES[0])
    if found is not None:
        parts = [read_idx(found / f) for f in _IDX_FILES]
        return (parts[0], parts[1]), (parts[2], parts[3])
    if name == "mnist":  # Keras caches MNIST as one npz
        for root in search_roots():
            if (root / "mnist.npz").exists():
                return _keras_mnist_npz(root / "mnist.npz")
    return keras_download(name, folder)


def _keras_mnist_npz(path: Path):
    try:
        with np.load(path, allow_pickle=False) as d:
            return (d["x_train"], d["y_train"]), (d["x_test"], d["y_test"])
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise TinyconvError(f"cannot read {path}: {e}") from None


def mnist() -> Source:
    (xt, yt), (xv, yv) = _idx_arrays("mnist", "mnist")
    return from_arrays("mnist", xt, yt, xv, yv, class_names=DIGIT_CLASSES,
                       augmentation=GLYPH_AUGMENTATION)


def fashion_mnist() -> Source:
    (xt, yt), (xv, yv) = _idx_arrays("fashion_mnist", "fashion-mnist")
    return from_arrays("fashion_mnist", xt, yt, xv, yv, class_names=FASHION_CLASSES,
                       augmentation=FASHION_AUGMENTATION)


def digits() -> Source:
    """scikit-learn's 1,797 8x8 digits (values 0-16). No official split: a fixed 20 % holdout."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise TinyconvError("dataset 'digits' needs scikit-learn: pip install scikit-learn "
                            "(or pip install 'tinyconv[train]')") from None
    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int32)
    train, test = holdout(y)
    return from_arrays("digits", x[train], y[train], x[test], y[test], class_names=DIGIT_CLASSES,
                       augmentation=GLYPH_AUGMENTATION)
