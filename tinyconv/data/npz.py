"""Arrays in a .npz file: x_train, y_train, x_test, y_test (optionally class_names), or just
x and y (a fixed, seed-independent 20 % holdout becomes the test set). Images uint8 0-255 or
float in [0, 1], [N, H, W] or [N, H, W, C]; labels class indices or one-hot rows."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..errors import TinyconvError
from .dataset import GLYPH_AUGMENTATION
from .source import Source, from_arrays, labels
from .split import holdout

SPLIT_KEYS = ("x_train", "y_train", "x_test", "y_test")


def npz_source(path: Path) -> Source:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise TinyconvError(f"cannot read {path}: {str(e).splitlines()[0] if str(e) else e!r}") from None
    names = tuple(str(c) for c in arrays["class_names"]) if "class_names" in arrays else None
    common = dict(class_names=names, augmentation=GLYPH_AUGMENTATION)
    if all(k in arrays for k in SPLIT_KEYS):
        return from_arrays(path.stem, *(arrays[k] for k in SPLIT_KEYS), **common)
    if "x" in arrays and "y" in arrays:
        x, y = arrays["x"], labels(arrays["y"], f"{path} y")
        if len(x) != len(y):
            raise TinyconvError(f"{path}: {len(x)} images but {len(y)} labels")
        train, test = holdout(y)
        return from_arrays(path.stem, x[train], y[train], x[test], y[test], **common)
    raise TinyconvError(f"{path}: expected arrays x_train, y_train, x_test, y_test (or x, y); "
                        f"found {', '.join(sorted(arrays)) or 'none'}")
