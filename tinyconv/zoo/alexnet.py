"""AlexNet-style CNN (Krizhevsky et al. 2012) at CIFAR scale.

Five convs (5x5, 5x5, 3x3, 3x3, 3x3) with BatchNorm instead of LRN, three
3x3 stride-2 max pools, and a dense head. Width 0.25 fits an MCU.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyconv.errors import TinyconvError
from tinyconv.keras_compat import layers

from . import _common as c

KERNELS = (5, 5, 3, 3, 3)
POOL_AFTER = (0, 1, 4)  # conv indices followed by a max pool
MIN_RESOLUTION = 8  # three stride-2 pools


def build(input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10, width: float = 1.0, *,
          filters: Sequence[int] = (64, 192, 384, 256, 256), dense: Sequence[int] = (512, 256),
          dropout: float = 0.5):
    shape = c.check_input("alexnet", input_shape, MIN_RESOLUTION)
    width = c.check_width("alexnet", width)
    num_classes = c.check_classes("alexnet", num_classes)
    if len(filters) != len(KERNELS):
        raise TinyconvError(f"alexnet: filters needs {len(KERNELS)} values, got {len(filters)}")
    inputs = layers.Input(shape, name="input")
    x = inputs
    for i, (f, kernel) in enumerate(zip(filters, KERNELS)):
        x = c.conv_bn(x, c.scaled(f, width, 8), kernel, name=f"conv{i}")
        if i in POOL_AFTER:
            x = layers.MaxPooling2D(3, 2, padding="same", name=f"pool{i}")(x)
    x = c.flatten(x)
    for i, units in enumerate(dense):
        if dropout > 0:
            x = layers.Dropout(dropout, name=f"dropout{i}")(x)
        x = layers.Dense(c.scaled(units, width, 8), activation="relu", name=f"dense{i}")(x)
    return c.model(inputs, c.classifier(x, num_classes), name=f"alexnet_{width:g}")
