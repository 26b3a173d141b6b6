"""The accuracy proxy: a short training run on a subset, scored on held-out validation data.

Each candidate is built at its own resolution, trained for `epochs` epochs on the first
`train_images` images of the training split (stratified, from the seed) with Adam, and
scored (float top-1) on `val_images` validation images. This ranks candidates of one
(width, resolution) space well enough for an evolutionary search at a tiny fraction of
the cost of full training. Runs in worker processes (spawned), each with a capped number
of TensorFlow threads so that N workers share the CPU instead of oversubscribing it.
"""

from __future__ import annotations

import functools
import time
from dataclasses import asdict, dataclass

import numpy as np

from ..defaults import DEFAULT_DATASET, PROXY_EPOCHS, PROXY_IMAGES, PROXY_VAL_IMAGES


@dataclass(frozen=True)
class ProxySettings:
    dataset: str = DEFAULT_DATASET
    train_images: int = PROXY_IMAGES
    val_images: int = PROXY_VAL_IMAGES
    epochs: int = PROXY_EPOCHS
    batch_size: int = 64
    learning_rate: float = 2e-3
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        return (f"{self.epochs} epoch(s) of Adam (lr {self.learning_rate:g}) on "
                f"{self.train_images} {self.dataset} training images at the candidate's "
                f"resolution, float top-1 on {self.val_images} validation images")


# What the output calls a candidate's score, per proxy kind (`--proxy`): never plain "acc".
SCORE_LABELS = {"train": "proxy acc", "macs": "MACs score", "supernet": "supernet acc"}


@dataclass(frozen=True)
class ProxyResult:
    key: str
    accuracy: float
    seconds: float


@functools.lru_cache(maxsize=8)
def _data(settings: ProxySettings, resolution: int, channels: int):
    from tinyconv.data import load_dataset
    # validation_fraction sized so the validation split holds val_images images.
    pool = settings.train_images + settings.val_images
    ds = load_dataset(settings.dataset, input_shape=(resolution, resolution, channels),
                      validation_fraction=settings.val_images / pool, seed=settings.seed,
                      limit_train=pool, limit_test=1)
    return ds.x_train, ds.y_train, ds.x_val, ds.y_val, ds.num_classes


def evaluate(arch: dict, channels: int, settings: ProxySettings) -> ProxyResult:
    """Train candidate `arch` (an ArchConfig dict) briefly and return its val accuracy."""
    from tinyconv.keras_compat import keras
    from tinyconv.space import ArchConfig

    cfg = ArchConfig.from_dict(arch)
    start = time.perf_counter()
    x, y, xv, yv, classes = _data(settings, cfg.resolution, channels)
    keras.backend.clear_session()
    # Same initial weights and batch order for every evaluation of the same config.
    keras.utils.set_random_seed(settings.seed + int(cfg.key[:8], 16) % 100_000)
    model = cfg.build_keras(channels, classes)
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=settings.batch_size, epochs=settings.epochs, verbose=0,
              shuffle=True)
    _recalibrate_batchnorm(model, x)
    probs = model.predict(xv, batch_size=256, verbose=0)
    acc = float(np.mean(np.argmax(probs, axis=-1) == yv))
    return ProxyResult(cfg.key, acc, time.perf_counter() - start)


def _recalibrate_batchnorm(model, x, samples: int = 500) -> None:
    """Set BatchNorm's moving statistics to those of the trained weights on `samples`
    training images (as OFA/MCUNet do for sub-networks): after a few dozen steps the
    moving averages (momentum 0.99) still hold their initial values, and inference-mode
    accuracy would be chance whatever the weights learnt."""
    from tinyconv.keras_compat import layers
    bns = [l for l in model.layers if isinstance(l, layers.BatchNormalization)]
    for layer in bns:
        layer.momentum = 0.0
    model(x[:samples], training=True)



def macs_proxy(arch: dict, channels: int, settings: ProxySettings) -> ProxyResult:
    """MCUNet's heuristic as a score (no training): more MACs that fit = better, a value in
    (0, 1) that only orders candidates (it is no accuracy: the output calls it "MACs
    score"). For tests and dry runs (`--proxy macs`)."""
    import math

    from tinyconv.space import ArchConfig
    cfg = ArchConfig.from_dict(arch)
    macs = cfg.graph(channels, 10).total_macs()
    return ProxyResult(cfg.key, 1.0 - 1.0 / math.log10(10 + macs), 0.0)
