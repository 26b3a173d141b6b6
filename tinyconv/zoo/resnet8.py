"""ResNet-8, the MLPerf Tiny image-classification (CIFAR-10) reference network.

Stem conv 16, then three residual stages of 16 / 32 / 64 filters (one basic
block each, the last two with stride 2 and a 1x1 projection shortcut), average
pooling over the final map, and a dense softmax classifier.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyconv.keras_compat import layers

from . import _common as c

MIN_RESOLUTION = 4  # two stride-2 stages


def basic_block(x, filters: int, strides: int, *, name: str):
    """conv3x3-BN-ReLU, conv3x3-BN, + shortcut (1x1 projection when the shape changes), ReLU."""
    y = c.conv_bn(x, filters, 3, strides, name=f"{name}_a")
    y = c.conv_bn(y, filters, 3, activation=None, name=f"{name}_b")
    shortcut = x
    if strides != 1 or c.channels(x) != filters:
        # The MLPerf reference projects with a plain (bias, no BN) 1x1 conv.
        shortcut = layers.Conv2D(filters, 1, strides=strides, padding="same", name=f"{name}_proj")(x)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.ReLU(name=f"{name}_out")(y)


def build(input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10, width: float = 1.0, *,
          filters: Sequence[int] = (16, 32, 64)):
    shape = c.check_input("resnet8", input_shape, MIN_RESOLUTION)
    width = c.check_width("resnet8", width)
    num_classes = c.check_classes("resnet8", num_classes)
    widths = [c.scaled(f, width) for f in filters]
    inputs = layers.Input(shape, name="input")
    x = c.conv_bn(inputs, widths[0], 3, name="stem")
    for stage, stage_filters in enumerate(widths):
        x = basic_block(x, stage_filters, 1 if stage == 0 else 2, name=f"stage{stage}")
    x = layers.AveragePooling2D(pool_size=c.spatial(x), name="pool")(x)
    x = c.flatten(x)
    return c.model(inputs, c.classifier(x, num_classes), name=f"resnet8_{width:g}")
