"""Real-world models beyond the zoo, made by other toolchains' own code, cached on disk.

Each builder makes a float Keras model with that toolchain's own code (Keras
applications, Keras layers), randomizes its BatchNorm statistics so that every channel
carries signal, and converts it with the TFLite converter, as a user would. Training does
not matter here; the converter's graph and quantization do. Converting takes 10-40 s, so
the .tflite is cached under the zoo cache (tests/support/zoo_models.py: `cache_dir`),
keyed by a hash of this file and the TensorFlow version.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import os
from pathlib import Path
from typing import Callable

import numpy as np

from zoo_models import cache_dir

SEED = 20261202
CALIBRATION_SAMPLES = 8


def _randomize_batchnorm(model) -> None:
    from tinyconv.keras_compat import keras

    rng = np.random.default_rng(SEED)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.get_weights()[0].shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.2, n),
                               rng.normal(0, 0.2, n), rng.uniform(0.5, 2.0, n)])


def _images(shape: tuple[int, ...]) -> np.ndarray:
    """Calibration images in the 0-255 range Keras applications expect."""
    return np.random.default_rng(SEED).uniform(0, 255, (CALIBRATION_SAMPLES, *shape)) \
        .astype(np.float32)


def mobilenetv3_small() -> bytes:
    """keras.applications.MobileNetV3Small at 96x96, alpha 0.75, 10 classes, with its own
    preprocessing (Rescaling) and hard-swish / squeeze-excite blocks: 1.04 M parameters."""
    from tinyconv.convert import to_int8_tflite
    from tinyconv.keras_compat import keras

    keras.utils.set_random_seed(SEED)
    model = keras.applications.MobileNetV3Small(
        input_shape=(96, 96, 3), alpha=0.75, minimalistic=False, include_top=True,
        weights=None, classes=10, include_preprocessing=True, dropout_rate=0.0)
    _randomize_batchnorm(model)
    return to_int8_tflite(model, _images((96, 96, 3)))


def efficientnet_lite() -> bytes:
    """Keras applications' EfficientNet builder in the "lite" style of the TFLite model
    zoo (ReLU6, no squeeze-excite) at width 0.5, depth 0.5, 64x64, 10 classes."""
    from keras.src.applications import efficientnet

    from tinyconv.convert import to_int8_tflite
    from tinyconv.keras_compat import keras

    keras.utils.set_random_seed(SEED)
    blocks = [dict(block, se_ratio=0.0) for block in efficientnet.DEFAULT_BLOCKS_ARGS]
    model = efficientnet.EfficientNet(0.5, 0.5, 64, 0.0, drop_connect_rate=0.0,
                                      activation="relu6", blocks_args=blocks, weights=None,
                                      input_shape=(64, 64, 3), classes=10,
                                      name="efficientnet_lite")
    _randomize_batchnorm(model)
    return to_int8_tflite(model, _images((64, 64, 3)))


def tiny_segmentation() -> bytes:
    """A tiny U-Net-style segmentation net in Keras layers at 64x64: strided convolutions
    down, Conv2DTranspose and bilinear UpSampling2D (RESIZE_BILINEAR) up, a skip
    concatenation and a per-pixel softmax over 3 classes. Batch 1, as an MCU model is: with
    a free batch, Keras 3's Conv2DTranspose computes its output shape at run time (SHAPE,
    STRIDED_SLICE, PACK), which the importer does not fold into a constant yet."""
    from tinyconv.convert import to_int8_tflite
    from tinyconv.keras_compat import keras

    keras.utils.set_random_seed(SEED)
    layers = keras.layers
    x = inputs = layers.Input((64, 64, 3), batch_size=1)
    x = layers.Rescaling(1 / 255)(x)
    skip = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(8, 3, padding="same")(x)))
    x = layers.ReLU()(layers.BatchNormalization()(
        layers.Conv2D(16, 3, strides=2, padding="same")(skip)))
    x = layers.ReLU()(layers.BatchNormalization()(
        layers.Conv2D(32, 3, strides=2, padding="same")(x)))
    x = layers.ReLU()(layers.BatchNormalization()(
        layers.Conv2DTranspose(16, 3, strides=2, padding="same")(x)))
    x = layers.UpSampling2D(2, interpolation="bilinear")(x)
    x = layers.Concatenate()([x, skip])
    x = layers.Conv2D(3, 1)(x)
    outputs = layers.Softmax()(x)
    model = keras.Model(inputs, outputs, name="tiny_segmentation")
    _randomize_batchnorm(model)
    return to_int8_tflite(model, _images((64, 64, 3)))


def free_batch_upsampler() -> bytes:
    """A Keras 3 functional model at 24x24 with a free batch (Input without batch_size, as
    Keras models usually are): a strided convolution down, then two Conv2DTranspose up
    (SAME 3x3 with BatchNorm and ReLU, VALID 2x2). Keras 3 computes each Conv2DTranspose's
    output shape at run time from the input's (SHAPE, STRIDED_SLICE, PACK into
    TRANSPOSE_CONV's output_shape), which the importer folds into constants
    (tinyconv/ir/fold.py); the batch the converter writes as 1 is taken as 1."""
    from tinyconv.convert import to_int8_tflite
    from tinyconv.keras_compat import keras

    keras.utils.set_random_seed(SEED)
    layers = keras.layers
    x = inputs = layers.Input((24, 24, 3))
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.ReLU()(layers.BatchNormalization()(
        layers.Conv2DTranspose(8, 3, strides=2, padding="same")(x)))
    x = layers.Conv2DTranspose(4, 2, strides=2, padding="valid")(x)
    model = keras.Model(inputs, x, name="free_batch_upsampler")
    _randomize_batchnorm(model)
    return to_int8_tflite(model, _images((24, 24, 3)) / 255)


BUILDERS: dict[str, Callable[[], bytes]] = {
    "free_batch_upsampler_keras": free_batch_upsampler,
    "tiny_segmentation_keras": tiny_segmentation,
    "mobilenetv3_small_keras": mobilenetv3_small,
    "efficientnet_lite_keras": efficientnet_lite,
}


def _cache_key() -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for package in ("tensorflow", "keras"):
        digest.update(importlib.metadata.version(package).encode())
    return digest.hexdigest()[:16]


def converted(name: str) -> bytes:
    """The .tflite of real-world model `name` (a key of BUILDERS), from the cache if fresh."""
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{_cache_key()}.tflite"
    with open(directory / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not path.exists():
            blob = BUILDERS[name]()
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(blob)
            os.replace(partial, path)
    return path.read_bytes()
