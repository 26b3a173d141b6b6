"""ResNet basic-block network at MCU scale (He et al. 2016; MLPerf Tiny's ResNet-8 is its
depths 1-1-1): a stride-1 3x3 stem and three stages of blocks of two kxk conv-BN with the
shortcut added (a 1x1 conv-BN where a block strides or widens) and ReLU6 after the add
(16/32/64 channels at width 1, stride 4 in all), global average pooling. The NAS's fourth
backbone (`tinyconv search --space resnet`): per stage a depth, per block a kernel and the
middle's expansion (default 3 and 1), as flat lists (stage after stage), built by
zoo/backbone.py over `arch.RESNET`.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import arch
from .backbone import build_backbone

MIN_RESOLUTION = arch.RESNET.min_resolution


def build(input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10, width: float = 1.0, *,
          kernels: Sequence[int] | None = None, expansions: Sequence[float] | None = None,
          depths: Sequence[int] = arch.RESNET.stage_depths, last_channels: int = 0):
    """`kernels`/`expansions`: one value per block (sum(depths) of them; default 3x3 and
    expansion 1: the middle as wide as the block's output); `last_channels=0`: no 1x1 head."""
    if expansions is None:
        expansions = (1,) * sum(int(d) for d in depths)
    return build_backbone(arch.RESNET, input_shape, num_classes, width, kernels, expansions,
                          depths, last_channels)
