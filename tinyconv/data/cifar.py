"""CIFAR-10: the offline JPEG copy (shared/datasets/cifar10/cifar10_jpg.zip), read straight from
the zip, or Keras' pickled batches (~/.keras/datasets/cifar-10-batches-py), or a download.

Labels come from the member names (`train/<class>/NNNN.jpg`), so a small limited load decodes
only the JPEGs it selected; a full load decodes all 60,000 once (~16 s on one core) and keeps
them in the cache (184 MB of memory-mapped .npy: a later load reads only what it selects).
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np

from ..errors import TinyconvError
from .cache import cached_arrays, is_cached, source_key
from .dataset import PHOTO_AUGMENTATION
from .download import keras_download
from .locate import try_dataset_dir
from .source import TEST, TRAIN, Source, from_arrays

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
ZIP_NAME = "cifar10_jpg.zip"
# Fewer selected images than this are decoded directly; more go through the full cache.
DIRECT_DECODE_LIMIT = 5000


def cifar10() -> Source:
    folder = try_dataset_dir("cifar10", ZIP_NAME)
    if folder is not None:
        return _zip_source(folder / ZIP_NAME)
    pickled = try_dataset_dir("cifar-10-batches-py", "data_batch_1")
    if pickled is not None:
        (xt, yt), (xv, yv) = _pickled_batches(pickled)
    else:
        (xt, yt), (xv, yv) = keras_download("cifar10", "cifar10")
    return from_arrays("cifar10", xt, yt, xv, yv, class_names=CLASSES,
                       augmentation=PHOTO_AUGMENTATION)


def _zip_source(path: Path) -> Source:
    # Listing 60,000 members costs ~0.7 s per zip open: the member index is cached too.
    index = cached_arrays(source_key("cifar10-index", path), lambda: _index(path))
    members = {split: [str(n) for n in index[f"{split}_names"]] for split in (TRAIN, TEST)}
    full: dict[str, np.ndarray] = {}  # the decoded arrays, read from the cache at most once
    opened: list[zipfile.ZipFile] = []  # one open zip for all decodes (closed when collected)

    def decode_all() -> dict[str, np.ndarray]:
        return {split: _decode(path, members[split], _open(path, opened)) for split in (TRAIN, TEST)}

    def fetch(split: str, idx: np.ndarray) -> np.ndarray:
        if not full and len(idx) < DIRECT_DECODE_LIMIT and not _cache_ready(path):
            pixels = _decode(path, [members[split][i] for i in idx], _open(path, opened))
        else:
            if not full:
                full.update(cached_arrays(source_key("cifar10", path), decode_all))
            pixels = full[split][idx]
        return np.divide(pixels, np.float32(255.0), dtype=np.float32)

    return Source("cifar10", index[f"{TRAIN}_y"], index[f"{TEST}_y"], CLASSES, (32, 32, 3), fetch,
                  augmentation=PHOTO_AUGMENTATION)


def _index(path: Path) -> dict[str, np.ndarray]:
    """Member names and labels per split, from `<split>/<class>/<n>.jpg` names."""
    try:
        with zipfile.ZipFile(path) as z:
            names = sorted(n for n in z.namelist() if n.lower().endswith((".jpg", ".jpeg", ".png")))
    except (OSError, zipfile.BadZipFile) as e:
        raise TinyconvError(f"cannot read {path}: {e}") from None
    members: dict[str, list[str]] = {TRAIN: [], TEST: []}
    label_of: dict[str, list[int]] = {TRAIN: [], TEST: []}
    for name in names:
        parts = name.split("/")
        if len(parts) != 3 or parts[0] not in members or parts[1] not in CLASSES:
            raise TinyconvError(f"{path}: unexpected member {name!r} (want train|test/<class>/<n>.jpg "
                                f"with class one of {', '.join(CLASSES)})")
        members[parts[0]].append(name)
        label_of[parts[0]].append(CLASSES.index(parts[1]))
    if not members[TRAIN] or not members[TEST]:
        raise TinyconvError(f"{path}: no train/ or no test/ images inside")
    return {f"{split}_{what}": np.array(values, np.int32 if what == "y" else str)
            for split in (TRAIN, TEST) for what, values in (("names", members[split]),
                                                            ("y", label_of[split]))}


def _cache_ready(path: Path) -> bool:
    return is_cached(source_key("cifar10", path))


def _open(path: Path, opened: list[zipfile.ZipFile]) -> zipfile.ZipFile:
    if not opened:
        try:
            opened.append(zipfile.ZipFile(path))
        except (OSError, zipfile.BadZipFile) as e:
            raise TinyconvError(f"cannot read {path}: {e}") from None
    return opened[0]


def _decode(path: Path, names: list[str], z: zipfile.ZipFile) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    out = np.empty((len(names), 32, 32, 3), np.uint8)
    for i, name in enumerate(names):
        try:
            with Image.open(io.BytesIO(z.read(name))) as im:
                pixels = np.asarray(im.convert("RGB"))
        except (OSError, UnidentifiedImageError, zipfile.BadZipFile, KeyError) as e:
            raise TinyconvError(f"{path}: cannot decode {name}: {e}") from None
        if pixels.shape != (32, 32, 3):
            raise TinyconvError(f"{path}: {name} is {pixels.shape[1]}x{pixels.shape[0]}, "
                                "CIFAR-10 images are 32x32")
        out[i] = pixels
    return out


def _pickled_batches(folder: Path):
    """Keras' cache layout: data_batch_1..5 and test_batch, rows of 3072 bytes in CHW order."""
    def read(file: str):
        try:
            with open(folder / file, "rb") as f:
                batch = pickle.load(f, encoding="bytes")  # the official format is a pickle
            x = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            return x, np.asarray(batch[b"labels"], np.int32)
        except (OSError, KeyError, ValueError, pickle.UnpicklingError, EOFError) as e:
            raise TinyconvError(f"cannot read CIFAR-10 batch {folder / file}: {e}") from None

    train = [read(f"data_batch_{k}") for k in range(1, 6)]
    xt, yt = np.concatenate([b[0] for b in train]), np.concatenate([b[1] for b in train])
    return (xt, yt), read("test_batch")
