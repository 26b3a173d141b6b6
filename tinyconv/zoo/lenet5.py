"""LeNet-5 (LeCun et al. 1998) with ReLU (TANH has no int8 kernel here) and max or average pooling.

Two valid 5x5 convs each followed by a 2x2 pool, then dense 120 -> 84 -> classes.
28x28 inputs give a 4x4x16 map, 32x32 the classic 5x5x16.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyconv.errors import TinyconvError
from tinyconv.keras_compat import layers

from . import _common as c

# 5x5 valid conv (-4), 2x2 pool (/2), 5x5 valid conv (-4), 2x2 pool: 16 -> 12 -> 6 -> 2 -> 1.
MIN_RESOLUTION = 16


def build(input_shape: Sequence[int] = (28, 28, 1), num_classes: int = 10, width: float = 1.0, *,
          filters: Sequence[int] = (6, 16), dense: Sequence[int] = (120, 84), pool: str = "max"):
    shape = c.check_input("lenet5", input_shape, MIN_RESOLUTION)
    width = c.check_width("lenet5", width)
    num_classes = c.check_classes("lenet5", num_classes)
    pools = {"max": layers.MaxPooling2D, "avg": layers.AveragePooling2D}
    if pool not in pools:
        raise TinyconvError(f"lenet5: pool must be 'max' or 'avg', got {pool!r}")
    inputs = layers.Input(shape, name="input")
    x = inputs
    for i, f in enumerate(filters):
        x = layers.Conv2D(c.scaled(f, width), 5, padding="valid", activation="relu", name=f"conv{i}")(x)
        x = pools[pool](2, name=f"pool{i}")(x)
    x = c.flatten(x)
    for i, units in enumerate(dense):
        x = layers.Dense(c.scaled(units, width), activation="relu", name=f"dense{i}")(x)
    return c.model(inputs, c.classifier(x, num_classes), name=f"lenet5_{width:g}")
