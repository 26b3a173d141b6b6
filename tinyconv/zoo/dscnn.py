"""DS-CNN, the MLPerf Tiny keyword-spotting reference (Zhang et al. 2017, "Hello Edge").

Input: 49 frames x 10 MFCC features x 1. A 10x4 stride-2 conv, four
depthwise-separable blocks, average pooling over the whole map, dense softmax.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyconv.keras_compat import layers

from . import _common as c

MIN_RESOLUTION = 2  # one stride-2 conv


def build(input_shape: Sequence[int] = (49, 10, 1), num_classes: int = 12, width: float = 1.0, *,
          filters: int = 64, blocks: int = 4, dropout: float = 0.4):
    shape = c.check_input("dscnn", input_shape, MIN_RESOLUTION)
    width = c.check_width("dscnn", width)
    num_classes = c.check_classes("dscnn", num_classes)
    n = c.scaled(filters, width)
    inputs = layers.Input(shape, name="input")
    x = c.conv_bn(inputs, n, (10, 4), (2, 2), name="stem")
    for i in range(blocks):
        x = c.dw_bn(x, 3, name=f"ds{i}")
        x = c.conv_bn(x, n, 1, name=f"ds{i}_pw")
    x = layers.AveragePooling2D(pool_size=c.spatial(x), name="pool")(x)
    x = c.flatten(x)
    return c.model(inputs, c.classifier(x, num_classes, dropout=dropout), name=f"dscnn_{width:g}")
