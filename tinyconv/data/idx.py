"""The IDX format of MNIST and Fashion-MNIST: a big-endian header, then raw uint8."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from ..errors import TinyconvError
from .locate import find_dataset_dir


def read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise TinyconvError(f"cannot read {path}: {e}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise TinyconvError(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise TinyconvError(f"{path}: truncated ({body.size} of {int(np.prod(dims))} bytes)")
    return body.reshape(dims)


def load_idx_dataset(name: str) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)) of an MNIST-layout dataset, x as uint8 NHW."""
    folder = find_dataset_dir(name, "train-images-idx3-ubyte.gz")
    parts = [read_idx(folder / f"{split}-{kind}.gz")
             for split in ("train", "t10k") for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")]
    return (parts[0], parts[1]), (parts[2], parts[3])
