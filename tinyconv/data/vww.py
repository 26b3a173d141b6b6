"""Visual Wake Words, the MLPerf Tiny vww01 test set: 1,000 96x96 photos, person or not.

Evaluation only (1,000 images cannot train a person detector). The stored JPEGs have red and
blue swapped, so channels 0 and 2 are swapped back after decoding: with the swap the images
have the colour statistics of natural photos (mean R > G > B, as ImageNet's 0.485/0.456/0.406)
and a standard VWW model scores ~85.6 % instead of ~71 %.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..errors import TinyconvError
from .dataset import PHOTO_AUGMENTATION
from .locate import looked_in, try_dataset_dir
from .source import TEST, Source

FOLDER = "vww01-test1000"
CLASSES = ("no_person", "person")


def vww() -> Source:
    folder = try_dataset_dir(FOLDER, "y_labels.csv")
    if folder is None:
        raise TinyconvError(f"dataset 'vww' not found (looked in {looked_in(FOLDER)}); it is the "
                            "MLPerf Tiny vww01 test set: images/<id>.jpg and y_labels.csv")
    ids, y = _labels(folder / "y_labels.csv")

    def fetch(split: str, idx: np.ndarray) -> np.ndarray:
        if split != TEST:
            return np.zeros((0, 96, 96, 3), np.float32)
        return _decode([folder / "images" / f"{ids[i]}.jpg" for i in idx])

    return Source("vww", np.zeros(0, np.int32), y, CLASSES, (96, 96, 3), fetch, eval_only=True,
                  augmentation=PHOTO_AUGMENTATION)


def _labels(path: Path) -> tuple[list[str], np.ndarray]:
    """Rows `<id>.bin,2,<label>` (1 = person)."""
    ids, labels = [], []
    with open(path, newline="") as f:
        for line_no, row in enumerate(csv.reader(f), 1):
            if not row:
                continue
            try:
                ident, label = row[0].removesuffix(".bin"), int(row[2])
            except (IndexError, ValueError):
                raise TinyconvError(f"{path}:{line_no}: expected '<id>.bin,2,<0|1>', got "
                                    f"{','.join(row)!r}") from None
            if label not in (0, 1):
                raise TinyconvError(f"{path}:{line_no}: label {label} is not 0 or 1")
            ids.append(ident)
            labels.append(label)
    return ids, np.array(labels, np.int32)


def _decode(paths: list[Path]) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    out = np.empty((len(paths), 96, 96, 3), np.float32)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as im:
                pixels = np.asarray(im.convert("RGB"))
        except (OSError, UnidentifiedImageError) as e:
            raise TinyconvError(f"cannot read image {path}: {e}") from None
        if pixels.shape != (96, 96, 3):
            raise TinyconvError(f"{path} is {pixels.shape[1]}x{pixels.shape[0]}, expected 96x96")
        out[i] = pixels[..., ::-1]  # stored as BGR: swap channels 0 and 2
    return out / np.float32(255.0)
