"""Real test samples an exported firmware project carries and classifies (`make run`).

`tinyconv export --samples N` (and `tinyconv search --export`) put N examples of the test
split of the model's dataset into the project as const arrays in flash (model/samples.c,
rendered by tinyconv/codegen/emit.py), with their true labels and the dataset's class
names; the app then runs each through the model and prints the prediction beside the
label (firmware/app/main.c).

Which examples: one of each class in turn, in test-split file order (sample k is the
(k // C)-th test example of class k mod C, C classes; a class with no examples left is
skipped), so a handful of samples shows several classes. The same every time.

How: exactly as training evaluates the int8 model. The images are fetched from the
dataset's Source and fitted to the model's input (tinyconv.data.image.fit_to_shape: the
bilinear, anti-aliased resize training does at --resolution), then quantized with the
model's own input scale and zero point (tinyconv.train.quantize.quantize_input). The
model's channels must be the dataset's (training never converts gray <-> RGB), and its
height and width the dataset's, or square (training's --resolution).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .defaults import DEMO_SAMPLES
from .errors import TinyconvError
from .ir.graph import DType, Graph

# The files of a tinyconv run directory that name its dataset, in the order they are read:
# a training run's config (the name or path as given), a search's options, a run's metrics.
RUN_FILES = ("config.json", "search.json", "metrics.json")
SELECTION = "one per class in turn, test-split order"


@dataclass(frozen=True, eq=False)
class SampleSet:
    """N test examples as the model's int8 input codes, with their labels."""

    dataset: str                    # the dataset's name (Source.name)
    indices: np.ndarray             # int64 [N]: positions in the test split
    x: np.ndarray                   # int8 [N, H, W, C]: exactly the bytes the model reads
    labels: np.ndarray              # int32 [N]: true classes
    class_names: tuple[str, ...]
    origin: str = ""                # where the dataset's name came from (for the summary)

    @property
    def count(self) -> int:
        return int(len(self.labels))

    @property
    def sample_bytes(self) -> int:
        return int(np.prod(self.x.shape[1:])) * self.x.itemsize

    @property
    def class_name_bytes(self) -> int:
        """Bytes of one row of the class-name table: the longest UTF-8 name and its NUL."""
        return max(len(n.encode()) for n in self.class_names) + 1

    @property
    def flash_bytes(self) -> int:
        """The const arrays samples.c defines: inputs, labels (uint16), class names (a
        fixed-width char table) and the dataset's name, all in flash."""
        return (self.count * self.sample_bytes + 2 * self.count
                + len(self.class_names) * self.class_name_bytes + len(self.dataset.encode()) + 1)

    def first(self, n: int) -> "SampleSet":
        """The first `n` samples (still one per class in turn)."""
        return replace(self, indices=self.indices[:n], x=self.x[:n], labels=self.labels[:n])

    def describe(self) -> str:
        return f"{self.count} samples from {self.dataset} test split ({SELECTION})"

    def to_json(self) -> dict:
        return {"dataset": self.dataset, "split": "test", "selection": SELECTION,
                "origin": self.origin, "count": self.count,
                "indices": [int(i) for i in self.indices],
                "labels": [int(v) for v in self.labels],
                "class_names": list(self.class_names),
                "input_shape": [int(d) for d in self.x.shape[1:]],
                "sample_bytes": self.sample_bytes, "flash_bytes": self.flash_bytes}

    def write_json(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n")


def run_dataset(directory: Path) -> tuple[str, str] | None:
    """(dataset, file it came from) of the tinyconv training or search run in `directory`,
    or None when the folder holds no such run."""
    for name in RUN_FILES:
        path = Path(directory) / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        options = data.get("options")
        value = data.get("dataset")
        if value is None and isinstance(options, dict):
            value = options.get("dataset")
        if isinstance(value, str) and value:
            return value, str(path)
    return None


def select(y_test: np.ndarray, n: int, num_classes: int) -> np.ndarray:
    """Indices of the first `n` examples taking one of each class in turn (module doc)."""
    per_class = [np.flatnonzero(y_test == c) for c in range(num_classes)]
    picked: list[int] = []
    for rank in range(max((len(p) for p in per_class), default=0)):
        for idx in per_class:
            if rank < len(idx):
                picked.append(int(idx[rank]))
                if len(picked) == n:
                    return np.asarray(picked, np.int64)
    return np.asarray(picked, np.int64)


def check_count(n: int) -> None:
    if n < 1:
        raise TinyconvError(f"--samples must be at least 1, not {n}")


def load_samples(model_bytes: bytes, graph: Graph, dataset: str, n: int, *,
                 origin: str = "") -> SampleSet:
    """`n` test examples of `dataset` as `graph`'s int8 input (the .tflite `model_bytes`)."""
    from .data import resolve
    from .data.image import fit_to_shape
    from .data.source import TEST
    from .ir.onnx_import import is_onnx
    from .train.quantize import quantize_input

    check_count(n)
    if is_onnx(model_bytes, graph.source):
        raise TinyconvError("--samples takes a .tflite classifier with an int8 input "
                            f"({graph.source} is an ONNX model)")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise TinyconvError(f"--samples needs a classifier with one input and one output; "
                            f"{graph.source} has {len(graph.inputs)} and {len(graph.outputs)}")
    inp, out = graph.inputs[0], graph.outputs[0]
    if inp.dtype is not DType.INT8 or inp.quant is None or len(inp.shape) != 4 \
            or inp.shape[0] != 1:
        raise TinyconvError(f"--samples needs an int8 NHWC image input of batch 1; "
                            f"{graph.source}'s is {inp.dtype.numpy_name} "
                            f"{'x'.join(map(str, inp.shape))}")
    if out.dtype is not DType.INT8:
        raise TinyconvError(f"--samples needs int8 class scores; {graph.source}'s output is "
                            f"{out.dtype.numpy_name}")
    try:
        source = resolve(dataset)
    except TinyconvError as e:
        if origin in ("", "--dataset"):
            raise
        raise TinyconvError(f"{e} (the dataset {origin} names: give --dataset NAME)") from None
    _, h, w, c = (int(d) for d in inp.shape)
    nh, nw, nc = source.native_shape
    name = source.name
    if c != nc:
        raise TinyconvError(f"{graph.source} takes {c}-channel images, {name}'s have {nc} "
                            f"({nh}x{nw}x{nc}): --samples needs the dataset it was trained on")
    if (h, w) != (nh, nw) and h != w:
        raise TinyconvError(f"{graph.source} takes {h}x{w} images, {name}'s are {nh}x{nw} and "
                            "training resizes only to a square --resolution: --samples needs "
                            "the dataset it was trained on")
    classes = len(source.class_names)
    if out.size != classes:
        raise TinyconvError(f"{graph.source} scores {out.size} classes, {name} has {classes}: "
                            "--samples needs the dataset it was trained on")
    if n > len(source.y_test):
        raise TinyconvError(f"--samples {n}: {name}'s test split has only "
                            f"{len(source.y_test)} examples")
    idx = select(source.y_test, n, classes)
    x = fit_to_shape(source.fetch(TEST, idx), (h, w, c))
    return SampleSet(dataset=name, indices=idx, x=quantize_input(model_bytes, x),
                     labels=np.asarray(source.y_test[idx], np.int32),
                     class_names=tuple(source.class_names), origin=origin)


def dataset_for(model: Path, dataset: str | None) -> tuple[str, str]:
    """(dataset, where its name came from) for `export --samples`: --dataset, else the
    run directory MODEL sits in."""
    if dataset is not None:
        return dataset, "--dataset"
    found = run_dataset(Path(model).parent)
    if found is None:
        raise TinyconvError(f"--samples: which dataset? {model} is not in a tinyconv training "
                            f"or search run directory (no {', '.join(RUN_FILES)} naming one): "
                            "give --dataset NAME")
    return found


def for_search(model_bytes: bytes, graph: Graph, run_dir: Path, flash_left: int,
               dataset: str | None = None, n: int = DEMO_SAMPLES) -> SampleSet | None:
    """What `search --export` puts into its firmware: `n` samples of the search's dataset
    (its search.json; else `dataset`), fewer where the flash left beside the model's
    constants (`flash_left` bytes) cannot hold them all; None where not one fits."""
    found = run_dataset(run_dir)
    if found is None and dataset is None:
        raise TinyconvError(f"{run_dir}: no search.json naming the search's dataset")
    name, origin = found if found is not None else (dataset, "the search's training")
    samples = load_samples(model_bytes, graph, name, n, origin=origin)
    per_sample = samples.sample_bytes + 2  # its input and its label
    fixed = samples.flash_bytes - samples.count * per_sample  # class names, dataset name
    fits = min(samples.count, max(0, (flash_left - fixed) // per_sample))
    return samples.first(fits) if fits else None
