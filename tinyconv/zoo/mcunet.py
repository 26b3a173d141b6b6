"""MCUNet-style network (Lin et al. 2020): MobileNetV2 blocks with a per-block kernel and expansion.

The NAS picks, for every inverted-residual block, a kernel size (3/5/7) and
an expansion ratio (3/4/6), and per stage a depth; this builder takes those
choices as flat per-block lists (stage after stage), so any searched
architecture can be rebuilt.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyconv.errors import TinyconvError
from tinyconv.keras_compat import layers

from . import _common as c
from . import arch
from .mobilenetv2 import inverted_residual

MIN_RESOLUTION = arch.MIN_RESOLUTION


def block_count(depths: Sequence[int]) -> int:
    return sum(int(d) for d in depths)


def build(input_shape: Sequence[int] = (96, 96, 3), num_classes: int = 2, width: float = 1.0, *,
          kernels: Sequence[int] | None = None, expansions: Sequence[float] | None = None,
          depths: Sequence[int] = arch.STAGE_DEPTHS, last_channels: int = 0):
    """`kernels`/`expansions`: one value per block (sum(depths) of them); `last_channels=0`: no 1x1 head."""
    shape = c.check_input("mcunet", input_shape, MIN_RESOLUTION)
    width = c.check_width("mcunet", width)
    num_classes = c.check_classes("mcunet", num_classes)
    stages = len(arch.STAGE_CHANNELS)
    if len(depths) != stages or any(int(d) < 1 for d in depths):
        raise TinyconvError(f"mcunet: depths needs {stages} positive stage depths, got {tuple(depths)}")
    n = block_count(depths)
    kernels = list(arch.default_kernels(depths) if kernels is None else [int(k) for k in kernels])
    expansions = [float(e) for e in (arch.default_expansions(depths) if expansions is None else expansions)]
    for label, values in (("kernels", kernels), ("expansions", expansions)):
        if len(values) != n:
            raise TinyconvError(f"mcunet: {label} needs one value per block ({n}), got {len(values)}")
    if any(k < 1 or k % 2 == 0 for k in kernels):
        raise TinyconvError(f"mcunet: kernel sizes must be odd and positive, got {kernels}")
    if any(e < 1 for e in expansions):
        raise TinyconvError(f"mcunet: expansion ratios must be at least 1, got {expansions}")
    inputs = layers.Input(shape, name="input")
    x = c.conv_bn(inputs, arch.stem_channels(width), arch.STEM_KERNEL, arch.STEM_STRIDE,
                  activation="relu6", name="stem")
    for block, (stage, i, stride) in enumerate(arch.blocks(depths)):
        x = inverted_residual(x, expansions[block], arch.stage_channels(stage, width), stride,
                              kernels[block], name=f"block{stage}_{i}")
    if last_channels:
        x = c.conv_bn(x, arch.head_channels(last_channels, width), 1, activation="relu6", name="head")
    x = c.global_pool(x)
    return c.model(inputs, c.classifier(x, num_classes), name=f"mcunet_{width:g}")
