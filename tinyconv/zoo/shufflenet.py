"""ShuffleNet v1 (Zhang et al. 2017): grouped 1x1 convs and channel shuffle.

Grouped 1x1 convs are `Conv2D(groups=g)`, which the converter keeps as ONE
grouped CONV_2D (filter [O,1,1,I/g]) — no SPLIT needed. The channel shuffle
is RESHAPE -> TRANSPOSE -> RESHAPE (see `_common.channel_shuffle`). Stride-2
units concatenate a 3x3 average-pooled shortcut; stride-1 units add it.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyconv.keras_compat import layers

from . import _common as c

# Output channels of the three stages for each group count (the paper's table 1).
STAGE_CHANNELS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960), 4: (272, 544, 1088),
                  8: (384, 768, 1536)}
STEM_CHANNELS = 24
MIN_RESOLUTION = 8  # three stride-2 stages (times the stem's downsampling)


def unit(x, filters: int, groups: int, strides: int, *, name: str, group_first: bool = True):
    """One ShuffleNet unit producing `filters` channels."""
    in_channels = c.channels(x)
    branch_out = filters - in_channels if strides == 2 else filters
    bottleneck = filters // 4
    first_groups = groups if group_first else 1
    y = c.conv_bn(x, bottleneck, 1, groups=first_groups, name=f"{name}_gconv1")
    if groups > 1:
        y = c.channel_shuffle(y, groups)
    y = c.dw_bn(y, 3, strides, activation=None, name=name)
    y = c.conv_bn(y, branch_out, 1, groups=groups, activation=None, name=f"{name}_gconv2")
    if strides == 2:
        shortcut = layers.AveragePooling2D(3, 2, padding="same", name=f"{name}_pool")(x)
        y = layers.Concatenate(name=f"{name}_concat")([shortcut, y])
    else:
        y = layers.Add(name=f"{name}_add")([x, y])
    return layers.ReLU(name=f"{name}_out")(y)


def build(input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10, width: float = 1.0, *,
          groups: int = 2, repeats: Sequence[int] = (3, 7, 3), stem_stride: int = 1, stem_pool: bool = False):
    """ShuffleNet with `groups` groups; `width` scales every stage (channels stay multiples of 4*groups)."""
    from tinyconv.errors import TinyconvError

    if groups not in STAGE_CHANNELS:
        raise TinyconvError(f"shufflenet: groups must be one of {sorted(STAGE_CHANNELS)}, got {groups}")
    stem_factor = stem_stride * (2 if stem_pool else 1)
    shape = c.check_input("shufflenet", input_shape, MIN_RESOLUTION * stem_factor)
    width = c.check_width("shufflenet", width)
    num_classes = c.check_classes("shufflenet", num_classes)
    inputs = layers.Input(shape, name="input")
    # Every stride-2 unit's branch gives (out - in) channels, so the stem too must split into groups.
    x = c.conv_bn(inputs, c.scaled(STEM_CHANNELS, width, groups), 3, stem_stride, name="stem")
    if stem_pool:
        x = layers.MaxPooling2D(3, 2, padding="same", name="stem_pool")(x)
    for stage, (stage_channels, count) in enumerate(zip(STAGE_CHANNELS[groups], repeats)):
        # Bottleneck = out/4 must split into groups, and out must exceed the stage's input.
        step = 4 * groups
        filters = max(c.scaled(stage_channels, width, step), (c.channels(x) // step + 1) * step)
        for i in range(count):
            x = unit(x, filters, groups, 2 if i == 0 else 1, name=f"stage{stage}_{i}",
                     group_first=not (stage == 0 and i == 0))  # the paper: stage 2's first 1x1 is dense
    x = c.global_pool(x)
    return c.model(inputs, c.classifier(x, num_classes), name=f"shufflenet_g{groups}_{width:g}")
