"""VGG-style network (Simonyan & Zisserman 2014): stages of 3x3 conv-BN-ReLU, 2x2 max pool after each."""

from __future__ import annotations

from collections.abc import Sequence

from tinyconv.errors import TinyconvError
from tinyconv.keras_compat import layers

from . import _common as c

MIN_RESOLUTION = 8  # with the default three stages: one 2x2 pool each


def build(input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10, width: float = 1.0, *,
          stages: Sequence[Sequence[int]] = ((32, 32), (64, 64), (128, 128)), dense: Sequence[int] = (128,),
          dropout: float = 0.3):
    if not stages or not all(stages):
        raise TinyconvError("vgg: stages must be a non-empty list of non-empty filter lists")
    shape = c.check_input("vgg", input_shape, 2 ** len(stages))
    width = c.check_width("vgg", width)
    num_classes = c.check_classes("vgg", num_classes)
    inputs = layers.Input(shape, name="input")
    x = inputs
    for s, stage in enumerate(stages):
        for i, f in enumerate(stage):
            x = c.conv_bn(x, c.scaled(f, width, 8), 3, name=f"stage{s}_conv{i}")
        x = layers.MaxPooling2D(2, name=f"stage{s}_pool")(x)
    x = c.flatten(x)
    for i, units in enumerate(dense):
        if dropout > 0:
            x = layers.Dropout(dropout, name=f"dropout{i}")(x)
        x = layers.Dense(c.scaled(units, width, 8), activation="relu", name=f"dense{i}")(x)
    return c.model(inputs, c.classifier(x, num_classes), name=f"vgg_{width:g}")
