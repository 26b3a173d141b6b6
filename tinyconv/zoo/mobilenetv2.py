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
from . import arch

STAGES = arch.MOBILENETV2_STAGES  # (expansion, output channels, repeats, first stride)
MIN_RESOLUTION = arch.MIN_RESOLUTION


def inverted_residual(x, expansion: float, filters: int, strides: int, kernel: int = 3, *, name: str,
                      activation: str = "relu6", se_ratio: float = 0.0):
    """Expand 1x1 -> depthwise kxk -> (optional SE) -> linear 1x1 projection (+ residual when shapes match)."""
    in_channels = c.channels(x)
    shortcut = x
    hidden = arch.hidden_channels(in_channels, expansion)
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
          expansion: float = 6.0, last_channels: int = arch.HEAD_CHANNELS, dropout: float = 0.0):
    """MobileNetV2 with width multiplier `width`; `expansion` replaces the paper's 6."""
    shape = c.check_input("mobilenetv2", input_shape, MIN_RESOLUTION)
    width = c.check_width("mobilenetv2", width)
    num_classes = c.check_classes("mobilenetv2", num_classes)
    inputs = layers.Input(shape, name="input")
    x = c.conv_bn(inputs, arch.stem_channels(width), arch.STEM_KERNEL, arch.STEM_STRIDE,
                  activation="relu6", name="stem")
    for stage, (t, _, repeats, stride) in enumerate(STAGES):
        t = 1 if t == 1 else expansion
        for i in range(repeats):
            x = inverted_residual(x, t, arch.stage_channels(stage, width), stride if i == 0 else 1,
                                  name=f"block{stage}_{i}")
    x = c.conv_bn(x, arch.mobilenetv2_head_channels(width, last_channels), 1, activation="relu6",
                  name="head")
    x = c.global_pool(x)
    return c.model(inputs, c.classifier(x, num_classes, dropout=dropout), name=f"mobilenetv2_{width:g}")
