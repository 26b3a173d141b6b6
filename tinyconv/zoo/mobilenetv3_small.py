"""MobileNetV3-Small (Howard et al. 2019): hard-swish and squeeze-excite with a hard-sigmoid gate.

Block table as in Keras' `MobileNetV3Small(alpha=width)`. The converter must
emit HARD_SWISH (one op) and the SE gate as a [1,1,1,C] x [1,H,W,C] MUL.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyconv.keras_compat import layers

from . import _common as c

# (kernel, expansion, output channels, squeeze-excite, activation, stride)
BLOCKS = (
    (3, 1.0, 16, True, "relu", 2),
    (3, 72 / 16, 24, False, "relu", 2),
    (3, 88 / 24, 24, False, "relu", 1),
    (5, 4.0, 40, True, "hard_swish", 2),
    (5, 6.0, 40, True, "hard_swish", 1),
    (5, 6.0, 40, True, "hard_swish", 1),
    (5, 3.0, 48, True, "hard_swish", 1),
    (5, 3.0, 48, True, "hard_swish", 1),
    (5, 6.0, 96, True, "hard_swish", 2),
    (5, 6.0, 96, True, "hard_swish", 1),
    (5, 6.0, 96, True, "hard_swish", 1),
)
MIN_RESOLUTION = 32  # five stride-2 layers


def block(x, kernel: int, expansion: float, filters: int, se: bool, activation: str, strides: int,
          se_ratio: float, *, name: str):
    in_channels = c.channels(x)
    shortcut = x
    hidden = c.make_divisible(in_channels * expansion)
    if hidden != in_channels:
        x = c.conv_bn(x, hidden, 1, activation=activation, name=f"{name}_expand")
    x = c.dw_bn(x, kernel, strides, activation=activation, name=name)
    if se:
        x = c.squeeze_excite(x, c.make_divisible(hidden * se_ratio), gate="hard_sigmoid", name=name)
    x = c.conv_bn(x, filters, 1, activation=None, name=f"{name}_project")
    if strides == 1 and in_channels == filters:
        x = layers.Add(name=f"{name}_add")([shortcut, x])
    return x


def build(input_shape: Sequence[int] = (96, 96, 3), num_classes: int = 2, width: float = 1.0, *,
          se_ratio: float = 0.25, last_channels: int = 1024, dropout: float = 0.2):
    shape = c.check_input("mobilenetv3_small", input_shape, MIN_RESOLUTION)
    width = c.check_width("mobilenetv3_small", width)
    num_classes = c.check_classes("mobilenetv3_small", num_classes)
    inputs = layers.Input(shape, name="input")
    x = c.conv_bn(inputs, 16, 3, 2, activation="hard_swish", name="stem")
    for i, (kernel, expansion, filters, se, activation, stride) in enumerate(BLOCKS):
        x = block(x, kernel, expansion, c.make_divisible(filters * width), se, activation, stride, se_ratio,
                  name=f"block{i}")
    x = c.conv_bn(x, c.make_divisible(c.channels(x) * 6), 1, activation="hard_swish", name="head")
    x = c.global_pool(x)
    head = c.make_divisible(last_channels * width) if width > 1.0 else last_channels
    x = c.hard_swish(layers.Dense(head, name="head_dense")(x))
    return c.model(inputs, c.classifier(x, num_classes, dropout=dropout), name=f"mobilenetv3_small_{width:g}")
