"""MCUNet-style network (Lin et al. 2020): MobileNetV2 blocks with a per-block kernel and expansion.

The NAS picks, for every inverted-residual block, a kernel size (3/5/7) and
an expansion ratio (3/4/6), and per stage a depth; this builder takes those
choices as flat per-block lists (stage after stage), so any searched
architecture can be rebuilt (zoo/backbone.py over `arch.MCUNET`).
"""

from __future__ import annotations

from collections.abc import Sequence

from . import arch
from .backbone import build_backbone

MIN_RESOLUTION = arch.MCUNET.min_resolution


def build(input_shape: Sequence[int] = (96, 96, 3), num_classes: int = 2, width: float = 1.0, *,
          kernels: Sequence[int] | None = None, expansions: Sequence[float] | None = None,
          depths: Sequence[int] = arch.STAGE_DEPTHS, last_channels: int = 0):
    """`kernels`/`expansions`: one value per block (sum(depths) of them; default 3x3 and
    MobileNetV2's expansion 1 then 6); `last_channels=0`: no 1x1 head."""
    if expansions is None:
        expansions = arch.default_expansions(depths)
    return build_backbone(arch.MCUNET, input_shape, num_classes, width, kernels, expansions,
                          depths, last_channels)
