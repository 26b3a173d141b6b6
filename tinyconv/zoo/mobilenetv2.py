"""MobileNetV2 (Sandler et al. 2018): inverted residuals, linear bottlenecks, ReLU6.

Channel counts follow Keras' `MobileNetV2(alpha=width)` so published MCU
numbers (e.g. 0.35 @ 96x96: largest input+output pair 48*48*48 + 24*24*48)
carry over, but stride-2 convs use 'same' padding instead of an explicit
ZeroPadding2D, so there is no PAD op.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyconv.keras_compat import layers

from . import _common as c

# (expansion, output channels, repeats, first stride) per stage: the paper's table 2.
STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
          (6, 320, 1, 1))
MIN_RESOLUTION = 32  # five stride-2 layers


def inverted_residual(x, expansion: float, filters: int, strides: int, kernel: int = 3, *, name: str,
                      activation: str = "relu6", se_ratio: float = 0.0):
    """Expand 1x1 -> depthwise kxk -> (optional SE) -> linear 1x1 projection (+ residual when shapes match)."""
    in_channels = c.channels(x)
    shortcut = x
    hidden = c.make_divisible(in_channels * expansion) if expansion != 1 else in_channels
    if expansion != 1:
        x = c.conv_bn(x, hidden, 1, activation=activation, name=f"{name}_expand")
    x = c.dw_bn(x, kernel, strides, activation=activation, name=name)
    if se_ratio > 0:
        x = c.squeeze_excite(x, max(1, int(in_channels * se_ratio)), gate="sigmoid", inner=activation, name=name)
    x = c.conv_bn(x, filters, 1, activation=None, name=f"{name}_project")
    if strides == 1 and in_channels == filters:
        x = layers.Add(name=f"{name}_add")([shortcut, x])
    return x


def build(input_shape: Sequence[int] = (96, 96, 3), num_classes: int = 2, width: float = 1.0, *,
          expansion: float = 6.0, last_channels: int = 1280, dropout: float = 0.0):
    """MobileNetV2 with width multiplier `width`; `expansion` replaces the paper's 6."""
    shape = c.check_input("mobilenetv2", input_shape, MIN_RESOLUTION)
    width = c.check_width("mobilenetv2", width)
    num_classes = c.check_classes("mobilenetv2", num_classes)
    inputs = layers.Input(shape, name="input")
    x = c.conv_bn(inputs, c.make_divisible(32 * width), 3, 2, activation="relu6", name="stem")
    for stage, (t, filters, repeats, stride) in enumerate(STAGES):
        t = 1 if t == 1 else expansion
        for i in range(repeats):
            x = inverted_residual(x, t, c.make_divisible(filters * width), stride if i == 0 else 1,
                                  name=f"block{stage}_{i}")
    # Like Keras: the last 1x1 conv is never narrowed below `last_channels`.
    head = c.make_divisible(last_channels * width) if width > 1.0 else last_channels
    x = c.conv_bn(x, head, 1, activation="relu6", name="head")
    x = c.global_pool(x)
    return c.model(inputs, c.classifier(x, num_classes, dropout=dropout), name=f"mobilenetv2_{width:g}")
