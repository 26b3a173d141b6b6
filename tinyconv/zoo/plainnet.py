"""Plain VGG-style network at MCU scale: a stride-1 3x3 stem and four stages of 3x3
conv-BN-ReLU6 (32/64/128/256 channels at width 1), each later stage opening with a 2x2
max pool (stride 8 in all), global average pooling, no residuals. The NAS's third backbone
(`tinyconv search --space plainnet`): per stage a depth (kernels 3, no expansion: the
per-block lists stay for the search's config format), built by zoo/backbone.py over
`arch.PLAINNET`.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import arch
from .backbone import build_backbone

MIN_RESOLUTION = arch.PLAINNET.min_resolution


def build(input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10, width: float = 1.0, *,
          kernels: Sequence[int] | None = None, expansions: Sequence[float] | None = None,
          depths: Sequence[int] = arch.PLAINNET.stage_depths, last_channels: int = 0):
    """`kernels`: one value per block (sum(depths) of them; default 3x3); `expansions`:
    1 per block (the default); `last_channels=0`: no 1x1 head."""
    if expansions is None:
        expansions = (1,) * sum(int(d) for d in depths)
    return build_backbone(arch.PLAINNET, input_shape, num_classes, width, kernels, expansions,
                          depths, last_channels)
