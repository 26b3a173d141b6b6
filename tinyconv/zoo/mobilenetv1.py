"""MobileNetV1 (Howard et al. 2017): a stride-2 conv and 13 depthwise-separable blocks, ReLU6.

Channels are int(channels * width) as in Keras' `MobileNet(alpha=width)`;
0.25 @ 96x96x3 is the MLPerf Tiny visual-wake-words reference.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyconv.keras_compat import layers

from . import _common as c

# (pointwise output channels, depthwise stride) of the 13 separable blocks.
BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
          (512, 1), (1024, 2), (1024, 1))
MIN_RESOLUTION = 32  # five stride-2 layers


def build(input_shape: Sequence[int] = (96, 96, 3), num_classes: int = 2, width: float = 1.0, *,
          dropout: float = 0.0):
    shape = c.check_input("mobilenetv1", input_shape, MIN_RESOLUTION)
    width = c.check_width("mobilenetv1", width)
    num_classes = c.check_classes("mobilenetv1", num_classes)
    inputs = layers.Input(shape, name="input")
    x = c.conv_bn(inputs, max(1, int(32 * width)), 3, 2, activation="relu6", name="stem")
    for i, (filters, stride) in enumerate(BLOCKS):
        x = c.dw_bn(x, 3, stride, activation="relu6", name=f"block{i}")
        x = c.conv_bn(x, max(1, int(filters * width)), 1, activation="relu6", name=f"block{i}_pw")
    x = c.global_pool(x)
    return c.model(inputs, c.classifier(x, num_classes, dropout=dropout), name=f"mobilenetv1_{width:g}")
