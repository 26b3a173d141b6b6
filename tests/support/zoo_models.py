"""Converted int8 zoo models shared by the deployment tests, cached on disk.

`converted(name)` returns the .tflite bytes of one of the six deployment
models in `SPECS` (random-init weights with randomized BatchNorm statistics,
calibrated on fixed-seed data). Converting takes 5-30 s per model, so the
result is cached under `$TINYCONV_CACHE` (or `~/.cache/tinyconv/zoo/`), keyed
by a hash of everything that determines it: the spec, the zoo and converter
sources, and the TensorFlow version. A cache hit imports no TensorFlow.
Safe under pytest-xdist: a file lock makes one worker convert while the others wait.

Import it as `from zoo_models import converted` (pytest puts tests/ on sys.path)
or `from tests.zoo_models import converted`.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib.metadata
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SEED = 20240607
CALIBRATION_SAMPLES = 8


@dataclass(frozen=True)
class Spec:
    family: str
    input_shape: tuple[int, int, int]
    num_classes: int
    width: float = 1.0
    params: dict[str, Any] = field(default_factory=dict)


SPECS: dict[str, Spec] = {
    "mobilenetv2": Spec("mobilenetv2", (96, 96, 3), 2, 0.35),
    "resnet8": Spec("resnet8", (32, 32, 3), 10),
    "dscnn": Spec("dscnn", (49, 10, 1), 12),
    "mobilenetv3_small": Spec("mobilenetv3_small", (64, 64, 3), 10, 0.5, {"last_channels": 256}),
    "squeezenet": Spec("squeezenet", (32, 32, 3), 10, 0.5),
    "shufflenet": Spec("shufflenet", (32, 32, 3), 10, 0.5, {"groups": 2, "repeats": (2, 3, 2)}),
}


def cache_dir() -> Path:
    root = os.environ.get("TINYCONV_CACHE")
    return Path(root) / "zoo" if root else Path.home() / ".cache" / "tinyconv" / "zoo"


def representative(name: str) -> np.ndarray:
    """The fixed-seed float calibration batch of model `name` (uniform in [-1, 1])."""
    spec = SPECS[name]
    rng = np.random.default_rng(SEED)
    return rng.uniform(-1.0, 1.0, (CALIBRATION_SAMPLES, *spec.input_shape)).astype(np.float32)


def int8_inputs(name: str, count: int = 2, seed: int = 1) -> np.ndarray:
    """`count` random int8 input tensors [count, 1, H, W, C] for model `name`, full int8 range."""
    spec = SPECS[name]
    rng = np.random.default_rng(seed)
    return rng.integers(-128, 128, (count, 1, *spec.input_shape), dtype=np.int8)


def _sources(family: str) -> list[Path]:
    zoo = REPO / "tinyconv" / "zoo"
    return [Path(__file__), zoo / f"{family}.py", zoo / "_common.py", zoo / "random_init.py",
            REPO / "tinyconv" / "convert.py", REPO / "tinyconv" / "keras_compat.py"]


def cache_key(name: str) -> str:
    spec = SPECS[name]
    digest = hashlib.sha256(json.dumps(asdict(spec), sort_keys=True, default=list).encode())
    for path in _sources(spec.family):
        digest.update(path.read_bytes())
    for package in ("tensorflow", "tf-keras"):
        digest.update(importlib.metadata.version(package).encode())
    return digest.hexdigest()[:16]


def _convert(name: str) -> bytes:
    from tinyconv import zoo
    from tinyconv.convert import to_int8_tflite
    from tinyconv.keras_compat import keras
    from tinyconv.zoo.random_init import randomize_batchnorm

    spec = SPECS[name]
    keras.utils.set_random_seed(SEED)
    model = zoo.build(spec.family, spec.input_shape, spec.num_classes, spec.width, **spec.params)
    data = representative(name)
    randomize_batchnorm(model, data, seed=SEED)
    _temper_logits(model, data)
    return to_int8_tflite(model, data)


def _temper_logits(model, data, target_std: float = 1.0) -> None:
    """Scale the classifier so logits spread ~`target_std`: a saturated softmax (one 127, the
    rest -128) would hide any error upstream from an output comparison.

    The last weighted layer is scaled; what lies between it and the softmax (ReLU, global
    pooling, reshape) is positively homogeneous, so the logits scale by the same factor.
    """
    from tinyconv.keras_compat import keras

    logits = keras.Model(model.inputs, model.layers[-1].input)(data).numpy()
    spread = float(logits.std(axis=-1).mean())
    last = next(layer for layer in reversed(model.layers) if layer.get_weights())
    factor = target_std / max(spread, 1e-6)
    last.set_weights([w * factor for w in last.get_weights()])


@functools.cache
def converted(name: str) -> bytes:
    """The int8 .tflite of deployment model `name` (one of SPECS), from the disk cache when fresh."""
    if name not in SPECS:
        raise KeyError(f"no deployment model {name!r}; known: {', '.join(SPECS)}")
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{cache_key(name)}.tflite"
    with open(directory / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not path.exists():
            blob = _convert(name)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(blob)
            os.replace(partial, path)
    return path.read_bytes()
