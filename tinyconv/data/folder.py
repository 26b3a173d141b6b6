"""A folder of images with one sub-folder per class, as users bring their own data.

Layouts: `<root>/<class>/*.png` (a fixed, seed-independent 20 % holdout becomes the test
set) or `<root>/train/<class>/...` plus `<root>/test/<class>/...`. Class indices follow the
sorted folder names. Every image header is read up front so a corrupt file, an empty class
or a folder with no images fails at once, naming the file or folder; pixels are decoded
only for the examples a split or limit selected. Images of other sizes are resized to the
first image's size; all are gray if every image is gray, else RGB.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import TinyconvError
from .dataset import GLYPH_AUGMENTATION
from .image import resize_images
from .source import TEST, TRAIN, Source
from .split import holdout

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def is_image_folder(path: Path) -> bool:
    return path.is_dir() and any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir())


def folder_source(root: Path) -> Source:
    name = root.name or str(root)
    if (root / TRAIN).is_dir() and (root / TEST).is_dir():
        train, test = _scan(root / TRAIN), _scan(root / TEST)
        classes = tuple(sorted(set(train) | set(test)))
        files = {split: [f for c in classes for f in listing.get(c, [])]
                 for split, listing in ((TRAIN, train), (TEST, test))}
        y = {split: np.array([classes.index(c) for c in classes for _ in listing.get(c, [])], np.int32)
             for split, listing in ((TRAIN, train), (TEST, test))}
    else:
        listing = _scan(root)
        classes = tuple(sorted(listing))
        all_files = [f for c in classes for f in listing[c]]
        all_y = np.array([k for k, c in enumerate(classes) for _ in listing[c]], np.int32)
        tr, te = holdout(all_y)
        files = {TRAIN: [all_files[i] for i in tr], TEST: [all_files[i] for i in te]}
        y = {TRAIN: all_y[tr], TEST: all_y[te]}
    headers = [_header(f) for f in files[TRAIN] + files[TEST]]  # all of them: fail early
    width, height, _ = headers[0]
    shape = (height, width, 1 if all(gray for _, _, gray in headers) else 3)

    def fetch(split: str, idx: np.ndarray) -> np.ndarray:
        return _decode([files[split][i] for i in idx], shape)

    return Source(name, y[TRAIN], y[TEST], classes, shape, fetch, augmentation=GLYPH_AUGMENTATION)


def _scan(root: Path) -> dict[str, list[Path]]:
    """class name -> sorted image files; errors for no classes and for empty classes."""
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise TinyconvError(f"{root}: no class sub-folders (expected {root}/<class>/<image>)")
    listing = {}
    for folder in classes:
        images = sorted(p for p in folder.rglob("*")
                        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise TinyconvError(f"{folder}: class folder has no images "
                                f"({', '.join(sorted(IMAGE_SUFFIXES))})")
        listing[folder.name] = images
    if len(listing) < 2:
        raise TinyconvError(f"{root}: only one class folder ({classes[0].name}); a classifier "
                            "needs at least two")
    return listing


def _header(path: Path) -> tuple[int, int, bool]:
    """(width, height, is_gray) from the header only."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.width, im.height, im.mode in _GRAY_MODES
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise TinyconvError(f"cannot read image {path}: {_reason(e)}") from None


def _decode(paths: list[Path], shape: tuple[int, int, int]) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    height, width, channels = shape
    out = np.empty((len(paths), height, width, channels), np.float32)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as im:
                pixels = np.asarray(im.convert("L" if channels == 1 else "RGB"), np.float32)
        except (OSError, UnidentifiedImageError, ValueError) as e:
            raise TinyconvError(f"cannot read image {path}: {_reason(e)}") from None
        pixels = pixels.reshape(pixels.shape[0], pixels.shape[1], channels) / np.float32(255.0)
        if pixels.shape[:2] != (height, width):
            pixels = resize_images(pixels[None], height, width)[0]
        out[i] = pixels
    return out


def _reason(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__
