"""Architecture constants of the MobileNetV2-family networks, in one TensorFlow-free place.

The Keras builders (zoo/mobilenetv2.py, zoo/mcunet.py) and the NAS's converter-free graph
of a search-space config (tinyconv.space) both read these, so they agree to the channel:
the search's memory model is exact only if they do. No TensorFlow here.
"""

from __future__ import annotations

from collections.abc import Sequence


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels to a multiple of `divisor`, never dropping more than 10 % (MobileNet rule)."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


# MobileNetV2 (Sandler et al. 2018, table 2): per stage (expansion, output channels,
# repeats, first stride). MCUNet keeps the channels and strides and searches the rest.
MOBILENETV2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                      (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
STAGE_CHANNELS = tuple(s[1] for s in MOBILENETV2_STAGES)
STAGE_DEPTHS = tuple(s[2] for s in MOBILENETV2_STAGES)
STAGE_STRIDES = tuple(s[3] for s in MOBILENETV2_STAGES)
STEM_CHANNELS = 32   # 3x3 stride-2 conv before the first stage
STEM_KERNEL = 3
STEM_STRIDE = 2
HEAD_CHANNELS = 1280  # MobileNetV2's last 1x1 conv (MCUNet configs leave it out: 0)
DEFAULT_KERNEL = 3
DEFAULT_EXPANSION = 6
MIN_RESOLUTION = 32  # stem + four stride-2 stages


def stem_channels(width: float) -> int:
    return make_divisible(STEM_CHANNELS * width)


def stage_channels(stage: int, width: float) -> int:
    return make_divisible(STAGE_CHANNELS[stage] * width)


def hidden_channels(in_channels: int, expansion: float) -> int:
    """Channels of an inverted residual's expanded middle (no expansion conv at ratio 1)."""
    return in_channels if expansion == 1 else make_divisible(in_channels * expansion)


def head_channels(last_channels: int, width: float) -> int:
    """MCUNet's optional 1x1 head scales with the width (0: no head)."""
    return make_divisible(last_channels * width) if last_channels else 0


def mobilenetv2_head_channels(width: float, last_channels: int = HEAD_CHANNELS) -> int:
    """Like Keras' MobileNetV2: the last 1x1 conv is never narrowed below `last_channels`."""
    return make_divisible(last_channels * width) if width > 1.0 else last_channels


def default_kernels(depths: Sequence[int]) -> tuple[int, ...]:
    return (DEFAULT_KERNEL,) * sum(int(d) for d in depths)


def default_expansions(depths: Sequence[int]) -> tuple[int, ...]:
    """MobileNetV2's ratios: 1 in the first block, 6 after."""
    n = sum(int(d) for d in depths)
    return (1,) + (DEFAULT_EXPANSION,) * (n - 1)


def blocks(depths: Sequence[int]) -> list[tuple[int, int, int]]:
    """(stage, index in the stage, stride) of every block, stage after stage; a stage's
    first block strides. Block names are f"block{stage}_{index}"."""
    return [(stage, i, STAGE_STRIDES[stage] if i == 0 else 1)
            for stage, depth in enumerate(depths) for i in range(int(depth))]
