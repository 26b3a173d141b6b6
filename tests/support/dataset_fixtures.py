"""Small datasets written in the real on-disk formats that tinyconv.data reads.

A fresh clone has no ../shared/datasets, so the loader tests write their own data: the same
file layouts as the real copies (see tinyconv/data/*.py and shared/datasets/README.md), with
contents chosen so that a test can check every decoded value against what was written.
Point the loaders at a fixture root with TINYCONV_DATA (the first place tinyconv.data.locate
looks); each writer returns what it wrote.

    root/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz   IDX, gzip
    root/mnist/... or root/mnist.npz                                     IDX, Keras' npz
    root/cifar10/cifar10_jpg.zip      {train,test}/<class>/NNNN.jpg, stored, with folder entries
    root/cifar-10-batches-py/         Keras' pickled batches, rows of 3072 bytes in CHW order
    root/fsdd/recordings/             <digit>_<speaker>_<index>.wav, 8 kHz mono int16
    root/vww01-test1000/              images/<id>.jpg 96x96 (stored BGR) + y_labels.csv
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import wave
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                 "truck")
IDX_FILES = {"x_train": "train-images-idx3-ubyte.gz", "y_train": "train-labels-idx1-ubyte.gz",
             "x_test": "t10k-images-idx3-ubyte.gz", "y_test": "t10k-labels-idx1-ubyte.gz"}
FSDD_RATE = 8000


@dataclass(frozen=True)
class Arrays:
    """What a writer put on disk, in the order the loader reads it (uint8 NHW[C] images)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


# ---- IDX (MNIST, Fashion-MNIST) -------------------------------------------------------------

def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array: 0, 0, 0x08 (unsigned byte), ndim, big-endian dims."""
    array = np.ascontiguousarray(array, np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def random_split(n_train: int, n_test: int, shape=(28, 28), classes: int = 10,
                 seed: int = 0) -> Arrays:
    """Random uint8 images, labels cycling through the classes (balanced) in shuffled order."""
    rng = np.random.default_rng(seed)
    y_train = rng.permutation(np.arange(n_train) % classes).astype(np.uint8)
    y_test = (np.arange(n_test) % classes).astype(np.uint8)
    return Arrays(rng.integers(0, 256, (n_train, *shape), dtype=np.uint8), y_train,
                  rng.integers(0, 256, (n_test, *shape), dtype=np.uint8), y_test)


def write_idx_dataset(root: Path, folder: str = "fashion-mnist", n_train: int = 200,
                      n_test: int = 50, seed: int = 0) -> Arrays:
    """The four gzip IDX files of an MNIST-layout dataset in root/folder."""
    arrays = random_split(n_train, n_test, seed=seed)
    for field, name in IDX_FILES.items():
        write_idx(root / folder / name, getattr(arrays, field))
    return arrays


def write_keras_mnist_npz(root: Path, n_train: int = 100, n_test: int = 30, seed: int = 1) -> Arrays:
    """Keras' cached MNIST: one mnist.npz with x_train, y_train, x_test, y_test."""
    arrays = random_split(n_train, n_test, seed=seed)
    root.mkdir(parents=True, exist_ok=True)
    np.savez(root / "mnist.npz", x_train=arrays.x_train, y_train=arrays.y_train,
             x_test=arrays.x_test, y_test=arrays.y_test)
    return arrays


# ---- CIFAR-10 ---------------------------------------------------------------------------------

def flat_color(split: str, label: int, k: int) -> tuple[int, int, int]:
    """A colour unique to each fixture image, far enough from the others that a JPEG round
    trip cannot confuse them (flat colours survive JPEG to within a few levels)."""
    return (20 + 22 * label, 30 + 40 * k, 60 if split == "train" else 200)


def jpeg(pixels: np.ndarray, quality: int = 95) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def write_cifar_zip(root: Path, per_class: dict[str, int] | None = None,
                    extra_members: dict[str, bytes] | None = None) -> Arrays:
    """root/cifar10/cifar10_jpg.zip in the offline copy's layout: stored (uncompressed)
    members `<split>/<class>/NNNN.jpg` plus the folder entries, each image one flat colour
    (flat_color). Returns the colours as 1x1 images in the loader's order (sorted names)."""
    per_class = per_class or {"train": 4, "test": 2}
    members: dict[str, bytes] = {}
    colors: dict[str, tuple[int, int, int]] = {}
    for split, n in per_class.items():
        for label, cls in enumerate(CIFAR_CLASSES):
            for k in range(n):
                name = f"{split}/{cls}/{k:04d}.jpg"
                colors[name] = flat_color(split, label, k)
                members[name] = jpeg(np.full((32, 32, 3), colors[name], np.uint8))
    members.update(extra_members or {})
    path = root / "cifar10" / "cifar10_jpg.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        folders = sorted({n.rsplit("/", 1)[0] + "/" for n in members} |
                         {n.split("/", 1)[0] + "/" for n in members})
        for folder in folders:
            z.writestr(folder, b"")
        for name, data in members.items():  # not sorted: the loader must sort
            z.writestr(name, data)
    out = {f"{a}_{split}": np.zeros((0, 1, 1, 3) if a == "x" else 0, np.uint8)
           for a in ("x", "y") for split in ("train", "test")}
    for split in per_class:
        names = sorted(n for n in colors if n.startswith(split + "/"))
        out[f"x_{split}"] = np.array([[[colors[n]]] for n in names], np.uint8)
        out[f"y_{split}"] = np.array([CIFAR_CLASSES.index(n.split("/")[1]) for n in names], np.uint8)
    return Arrays(**out)


def write_cifar_batches(root: Path, per_batch: int = 6, n_test: int = 8, seed: int = 2) -> Arrays:
    """Keras' cache layout root/cifar-10-batches-py/: data_batch_1..5 and test_batch, pickled
    dicts with b"data" (rows of 3072 bytes: the red plane, then green, then blue) and b"labels"."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)

    def write(name: str, n: int):
        x = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        y = (np.arange(n) % 10).astype(np.int64)
        rows = x.transpose(0, 3, 1, 2).reshape(n, 3072)
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": rows, b"labels": y.tolist()}, f)
        return x, y

    train = [write(f"data_batch_{k}", per_batch) for k in range(1, 6)]
    x_test, y_test = write("test_batch", n_test)
    return Arrays(np.concatenate([b[0] for b in train]), np.concatenate([b[1] for b in train]),
                  x_test, y_test)


# ---- FSDD -------------------------------------------------------------------------------------

def tone(digit: int, index: int, seconds: float = 0.5, rate: int = FSDD_RATE) -> np.ndarray:
    """int16 samples of a digit's tone: 300 Hz + 300 Hz per digit, louder with the index."""
    t = np.arange(int(seconds * rate)) / rate
    amplitude = 0.2 + 0.05 * (index % 5)
    signal = amplitude * np.sin(2 * np.pi * (300 + 300 * digit) * t)
    return np.round(signal * 32767).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray, rate: int = FSDD_RATE, channels: int = 1,
              sample_width: int = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(sample_width)
        w.setframerate(rate)
        w.writeframes(np.ascontiguousarray(samples).tobytes())
    return path


def write_fsdd(root: Path, speakers=("ann", "bob"), indices=range(8)) -> dict[str, np.ndarray]:
    """root/fsdd/recordings/<digit>_<speaker>_<index>.wav for every digit; index 0-4 is the
    official test split. Returns file name -> int16 samples."""
    written = {}
    for digit in range(10):
        for speaker in speakers:
            for index in indices:
                name = f"{digit}_{speaker}_{index}.wav"
                written[name] = tone(digit, index)
                write_wav(root / "fsdd" / "recordings" / name, written[name])
    return written


# ---- Visual Wake Words --------------------------------------------------------------------------

@dataclass(frozen=True)
class VwwFixture:
    ids: list[str]
    labels: list[int]
    rgb: list[tuple[int, int, int]]   # the true colour; the JPEG stores it as BGR


def write_vww(root: Path, n: int = 6) -> VwwFixture:
    """root/vww01-test1000: images/<id>.jpg (96x96, red and blue swapped as in the real copy)
    and y_labels.csv rows `<id>.bin,2,<label>`."""
    folder = root / "vww01-test1000"
    (folder / "images").mkdir(parents=True, exist_ok=True)
    ids = [f"{1000 + 37 * k:012d}" for k in range(n)]
    labels = [k % 2 for k in range(n)]
    rgb = [(200 - 20 * k, 120, 30 + 10 * k) for k in range(n)]
    for ident, color in zip(ids, rgb):
        stored = np.full((96, 96, 3), color[::-1], np.uint8)  # BGR on disk
        (folder / "images" / f"{ident}.jpg").write_bytes(jpeg(stored))
    (folder / "y_labels.csv").write_text(
        "".join(f"{ident}.bin,2,{label}\n" for ident, label in zip(ids, labels)))
    return VwwFixture(ids, labels, rgb)


# ---- user data: image folders and .npz ----------------------------------------------------------

def write_png(path: Path, color, size=(12, 10), mode: str = "RGB") -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)
    return path
