"""Fused-MBConv network (EfficientNetV2's fused blocks, Tan & Le 2021) at MCU scale: a
stride-1 stem and four stages of kxk conv + 1x1 projection blocks (16/32/64/128 channels
at width 1, stride 8 in all), no depthwise convolution. The NAS's second backbone
(`tinyconv search --space fusednet`): per block a kernel and expansion, per stage a depth,
as flat lists (stage after stage), built by zoo/backbone.py over `arch.FUSEDNET`.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import arch
from .backbone import build_backbone

MIN_RESOLUTION = arch.FUSEDNET.min_resolution


def build(input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10, width: float = 1.0, *,
          kernels: Sequence[int] | None = None, expansions: Sequence[float] | None = None,
          depths: Sequence[int] = arch.FUSEDNET.stage_depths, last_channels: int = 0):
    """`kernels`/`expansions`: one value per block (sum(depths) of them; default 3x3 and
    expansion 2); `last_channels=0`: no 1x1 head."""
    if expansions is None:
        expansions = (2,) * sum(int(d) for d in depths)
    return build_backbone(arch.FUSEDNET, input_shape, num_classes, width, kernels, expansions,
                          depths, last_channels)
