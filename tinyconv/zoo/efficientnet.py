"""EfficientNet (Tan & Le 2019): MBConv blocks with squeeze-excite and swish, compound scaling.

Swish is x * sigmoid(x) (LOGISTIC + MUL) and the SE gate a sigmoid. The
compound coefficient `phi` scales width by 1.1^phi and depth by 1.2^phi
(the paper's alpha/beta); the resolution (1.15^phi) is the caller's choice of
`input_shape`, see `resolution(phi)`. `width` multiplies on top of phi, and so does
`depth` (blocks per stage, at least one each: depth=0.1 keeps one block per stage).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tinyconv.errors import TinyconvError

from . import _common as c
from .mobilenetv2 import inverted_residual

# EfficientNet-B0: (expansion, output channels, repeats, first stride, kernel)
STAGES = ((1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 40, 2, 2, 5), (6, 80, 3, 2, 3), (6, 112, 3, 1, 5),
          (6, 192, 4, 2, 5), (6, 320, 1, 1, 3))
WIDTH_BASE, DEPTH_BASE, RESOLUTION_BASE = 1.1, 1.2, 1.15
MIN_RESOLUTION = 32  # five stride-2 layers


def resolution(phi: float, base: int = 64) -> int:
    """The compound-scaled input resolution for `phi`, from a base resolution (a multiple of 8)."""
    return int(round(base * RESOLUTION_BASE**phi / 8)) * 8


def build(input_shape: Sequence[int] = (64, 64, 3), num_classes: int = 10, width: float = 1.0, *,
          phi: float = 0, depth: float = 1.0, se_ratio: float = 0.25, dropout: float = 0.2):
    from tinyconv.keras_compat import layers

    if phi < 0:
        raise TinyconvError(f"efficientnet: phi must be >= 0, got {phi}")
    shape = c.check_input("efficientnet", input_shape, MIN_RESOLUTION)
    width = c.check_width("efficientnet", width) * WIDTH_BASE**phi
    if not depth > 0:
        raise TinyconvError(f"efficientnet: depth multiplier must be positive, got {depth}")
    depth = DEPTH_BASE**phi * float(depth)
    num_classes = c.check_classes("efficientnet", num_classes)
    inputs = layers.Input(shape, name="input")
    x = c.conv_bn(inputs, c.make_divisible(32 * width), 3, 2, activation="swish", name="stem")
    for stage, (expansion, filters, repeats, stride, kernel) in enumerate(STAGES):
        for i in range(int(math.ceil(repeats * depth))):
            x = inverted_residual(x, expansion, c.make_divisible(filters * width), stride if i == 0 else 1, kernel,
                                  activation="swish", se_ratio=se_ratio, name=f"block{stage}_{i}")
    x = c.conv_bn(x, c.make_divisible(1280 * width), 1, activation="swish", name="head")
    x = c.global_pool(x)
    return c.model(inputs, c.classifier(x, num_classes, dropout=dropout), name=f"efficientnet_phi{phi:g}_{width:g}")
