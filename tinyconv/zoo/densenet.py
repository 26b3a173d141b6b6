"""DenseNet-BC (Huang et al. 2017) at MCU scale.

Each layer of a dense block is a 1x1 bottleneck (4 x growth) and a 3x3 conv
(growth channels) whose output is concatenated onto its input. Layers are
conv-BN-ReLU (post-activation) rather than the paper's BN-ReLU-conv, so
BatchNorm folds into the convs instead of leaving per-channel MUL/ADD ops.
Transitions: 1x1 conv (x compression) + 2x2 average pool.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyconv.errors import TinyconvError
from tinyconv.keras_compat import layers

from . import _common as c


def dense_layer(x, growth: int, *, name: str):
    y = c.conv_bn(x, 4 * growth, 1, name=f"{name}_bottleneck")
    y = c.conv_bn(y, growth, 3, name=f"{name}_conv")
    return layers.Concatenate(name=f"{name}_concat")([x, y])


def build(input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10, width: float = 1.0, *,
          blocks: Sequence[int] = (4, 4, 4), growth: int = 12, compression: float = 0.5):
    if not 0 < compression <= 1:
        raise TinyconvError(f"densenet: compression must be in (0, 1], got {compression}")
    if not blocks:
        raise TinyconvError("densenet: blocks must list at least one dense block")
    shape = c.check_input("densenet", input_shape, 2 ** (len(blocks) - 1))
    width = c.check_width("densenet", width)
    num_classes = c.check_classes("densenet", num_classes)
    k = c.scaled(growth, width, 4)
    inputs = layers.Input(shape, name="input")
    x = c.conv_bn(inputs, 2 * k, 3, name="stem")
    for b, count in enumerate(blocks):
        for i in range(count):
            x = dense_layer(x, k, name=f"block{b}_{i}")
        if b < len(blocks) - 1:
            x = c.conv_bn(x, c.scaled(c.channels(x), compression, 4), 1, name=f"transition{b}")
            x = layers.AveragePooling2D(2, name=f"transition{b}_pool")(x)
    x = c.global_pool(x)
    return c.model(inputs, c.classifier(x, num_classes), name=f"densenet_{width:g}")
