"""SqueezeNet v1.1 (Iandola et al. 2016) at MCU scale: Fire modules joined by CONCATENATION.

Fire = 1x1 squeeze conv, then parallel 1x1 and 3x3 expand convs concatenated
on channels. The classifier is SqueezeNet's: a 1x1 conv to `num_classes`,
ReLU, global average pooling, softmax (no dense layer). For 32x32 inputs the
stem keeps stride 1 (`stem_stride=2` gives the ImageNet layout).
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyconv.keras_compat import layers

from . import _common as c

# (squeeze, expand) channels of each Fire module; "pool" = 3x3 stride-2 max pool.
LAYOUT = ("pool", (16, 64), (16, 64), "pool", (32, 128), (32, 128), "pool", (48, 192), (48, 192), (64, 256),
          (64, 256))
MIN_RESOLUTION = 8  # three stride-2 pools (times stem_stride)


def fire(x, squeeze: int, expand: int, *, name: str):
    s = c.conv_bn(x, squeeze, 1, name=f"{name}_squeeze")
    e1 = c.conv_bn(s, expand, 1, name=f"{name}_e1")
    e3 = c.conv_bn(s, expand, 3, name=f"{name}_e3")
    return layers.Concatenate(name=f"{name}_concat")([e1, e3])


def build(input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10, width: float = 1.0, *,
          stem_stride: int = 1, dropout: float = 0.5):
    shape = c.check_input("squeezenet", input_shape, MIN_RESOLUTION * stem_stride)
    width = c.check_width("squeezenet", width)
    num_classes = c.check_classes("squeezenet", num_classes)
    inputs = layers.Input(shape, name="input")
    x = c.conv_bn(inputs, c.scaled(64, width, 8), 3, stem_stride, name="stem")
    for i, item in enumerate(LAYOUT):
        if item == "pool":
            x = layers.MaxPooling2D(3, 2, padding="same", name=f"pool{i}")(x)
        else:
            squeeze, expand = item
            x = fire(x, c.scaled(squeeze, width, 4), c.scaled(expand, width, 8), name=f"fire{i}")
    if dropout > 0:
        x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Conv2D(num_classes, 1, name="classifier_conv")(x)
    x = layers.ReLU(name="classifier_relu")(x)
    x = c.global_pool(x)
    return c.model(inputs, layers.Softmax(name="softmax")(x), name=f"squeezenet_{width:g}")
