"""GoogLeNet-style Inception network (Szegedy et al. 2014/2015) at MCU scale.

Each module runs four branches on the same input and concatenates them:
1x1; 1x1 -> 3x3; 1x1 -> 3x3 -> 3x3 (Inception-v2's factorized 5x5); and
3x3 max pool (stride 1) -> 1x1. Three stages, separated by stride-2 max
pools, double the branch width each time.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyconv.keras_compat import layers

from . import _common as c

MIN_RESOLUTION = 8  # three stride-2 pools


def inception_module(x, base: int, *, name: str):
    b1 = c.conv_bn(x, base, 1, name=f"{name}_1x1")
    b3 = c.conv_bn(x, c.scaled(base, 0.75, 4), 1, name=f"{name}_3x3_reduce")
    b3 = c.conv_bn(b3, base, 3, name=f"{name}_3x3")
    b5 = c.conv_bn(x, c.scaled(base, 0.25, 4), 1, name=f"{name}_5x5_reduce")
    b5 = c.conv_bn(b5, c.scaled(base, 0.5, 4), 3, name=f"{name}_5x5_a")
    b5 = c.conv_bn(b5, c.scaled(base, 0.5, 4), 3, name=f"{name}_5x5_b")
    bp = layers.MaxPooling2D(3, 1, padding="same", name=f"{name}_pool")(x)
    bp = c.conv_bn(bp, c.scaled(base, 0.5, 4), 1, name=f"{name}_pool_proj")
    return layers.Concatenate(name=f"{name}_concat")([b1, b3, b5, bp])


def build(input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10, width: float = 1.0, *,
          modules: Sequence[int] = (2, 2, 2), base: int = 32):
    shape = c.check_input("inception", input_shape, MIN_RESOLUTION)
    width = c.check_width("inception", width)
    num_classes = c.check_classes("inception", num_classes)
    inputs = layers.Input(shape, name="input")
    x = c.conv_bn(inputs, c.scaled(2 * base, width, 8), 3, name="stem")
    for stage, count in enumerate(modules):
        x = layers.MaxPooling2D(3, 2, padding="same", name=f"stage{stage}_pool")(x)
        for i in range(count):
            x = inception_module(x, c.scaled(base * 2**stage, width, 8), name=f"stage{stage}_{i}")
    x = c.global_pool(x)
    return c.model(inputs, c.classifier(x, num_classes), name=f"inception_{width:g}")
