"""Architecture constants of the MobileNetV2-family networks and of the search's backbones
(`Backbone`: MCUNET, FUSEDNET, PLAINNET, RESNET), in one TensorFlow-free place.

The Keras builders (zoo/mobilenetv2.py, zoo/backbone.py), the NAS's converter-free graph
of a search-space config (tinyconv.space) and the supernet all read these, so they agree
to the channel: the search's memory model is exact only if they do. No TensorFlow here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tinyconv.errors import TinyconvError


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
    return MCUNET.stem_channels(width)


def stage_channels(stage: int, width: float) -> int:
    return MCUNET.channels(stage, width)


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


# -- the search's backbones ------------------------------------------------------------------
# A backbone is a network skeleton whose blocks the NAS chooses (tinyconv.space): the stages'
# channels and strides and the stem are fixed, each block's kernel and expansion and each
# stage's depth are searched, and a global width multiplier scales every layer. The zoo
# family of the same name builds it in Keras, tinyconv.space builds its int8 graph, and the
# supernet (search/supernet.py) holds all its sub-networks: all three read this.
BLOCK_MBCONV = "mbconv"   # expand 1x1 (if expansion != 1) -> depthwise kxk -> project 1x1
BLOCK_FUSED = "fused"     # kxk conv to the expanded width -> project 1x1 (no depthwise)
BLOCK_PLAIN = "plain"     # [2x2 max pool if the block strides] -> kxk conv (VGG; no residual)
BLOCK_BASIC = "basic"     # kxk conv -> kxk conv, + shortcut (1x1 conv where the shape changes),
                          # ReLU6 after the add (ResNet's basic block)


@dataclass(frozen=True)
class Backbone:
    name: str                              # the zoo family that builds it
    block: str                             # one of the BLOCK_* above
    stage_channels: tuple[int, ...]        # output channels per stage at width 1
    stage_depths: tuple[int, ...]          # blocks per stage: the zoo builder's default
    stage_strides: tuple[int, ...]         # stride of each stage's first block
    stem: int                              # channels of the stem conv at width 1
    stem_kernel: int
    stem_stride: int
    min_resolution: int                    # the input side the strides need
    # The search's choices (SearchSpace's defaults for this backbone).
    kernels: tuple[int, ...]
    expansions: tuple[int, ...]
    depth_choices: tuple[tuple[int, ...], ...]
    widths: tuple[float, ...]              # width multipliers (the space optimisation picks)
    description: str

    def stem_channels(self, width: float) -> int:
        return make_divisible(self.stem * width)

    def channels(self, stage: int, width: float) -> int:
        return make_divisible(self.stage_channels[stage] * width)

    def expands(self, expansion: float) -> bool:
        """Whether a block has its first conv: an MBConv block of expansion 1 goes straight
        to its depthwise conv; fused and basic blocks always start with their kxk conv (a
        plain block has one conv, no expansion)."""
        return (self.block in (BLOCK_FUSED, BLOCK_BASIC)
                or (self.block == BLOCK_MBCONV and expansion != 1))

    def hidden(self, in_channels: int, out_channels: int, expansion: float) -> int:
        """Channels between a block's first conv and its last: MBConv and fused blocks
        expand their input (`hidden_channels(in, e)`); a basic block widens its output
        (ResNet's middle has the block's output channels at expansion 1)."""
        return hidden_channels(out_channels if self.block == BLOCK_BASIC else in_channels,
                               expansion)

    def residual(self, stride: int, in_channels: int, out_channels: int) -> bool:
        """Whether a block adds its input itself to its output (an identity shortcut):
        MBConv, fused and basic blocks when they keep the shape (stride 1, as many channels
        in as out); plain blocks never (VGG)."""
        return self.block != BLOCK_PLAIN and stride == 1 and in_channels == out_channels

    def projects(self, stride: int, in_channels: int, out_channels: int) -> bool:
        """Whether a block adds a 1x1 conv of its input (stride `stride`, + BN) to its output:
        a basic block that changes the shape (ResNet's projection shortcut); the other
        blocks then have no shortcut."""
        return self.block == BLOCK_BASIC and not self.residual(stride, in_channels,
                                                               out_channels)

    def check_expansions(self, expansions: Sequence[float]) -> None:
        """A plain block has no expansion: its networks take 1 everywhere, so that one
        network has one config (and one key)."""
        if self.block == BLOCK_PLAIN and any(float(e) != 1 for e in expansions):
            raise TinyconvError(f"{self.name}: plain blocks have no expansion (1 everywhere), "
                                f"got {tuple(expansions)}")

    def blocks(self, depths: Sequence[int]) -> list[tuple[int, int, int]]:
        """(stage, index in the stage, stride) of every block, stage after stage; a stage's
        first block strides. Block names are f"block{stage}_{index}"."""
        return [(stage, i, self.stage_strides[stage] if i == 0 else 1)
                for stage, depth in enumerate(depths) for i in range(int(depth))]


# MCUNet (Lin et al. 2020): MobileNetV2's stages with a per-block kernel and expansion.
MCUNET = Backbone(
    "mcunet", BLOCK_MBCONV, STAGE_CHANNELS, STAGE_DEPTHS, STAGE_STRIDES, STEM_CHANNELS,
    STEM_KERNEL, STEM_STRIDE, MIN_RESOLUTION, kernels=(3, 5, 7), expansions=(3, 4, 6),
    depth_choices=((1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), (1, 2, 3), (1, 2, 3), (1,)),
    widths=(0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
    description="MCUNet: MobileNetV2's inverted residuals (depthwise), stride 32")

# Fused-MBConv blocks (EfficientNetV2, Tan & Le 2021; also the early stages of MCU nets
# such as MobileNetV4's): one full kxk conv to the expanded width, then the 1x1 projection.
# A stride-1 stem and three stride-2 stages (stride 8) keep 32 px images at 4x4 in the last
# stage, as CIFAR networks do; no depthwise conv, so they train fast (and in bfloat16) on
# CPUs and GPUs, and run on CMSIS-NN's fastest kernels.
# Widths up to 2: the search's budget must bind somewhere in the space, or the space, not the
# board, caps the network. Up to width 1 every sampled config fits even 64 kB SRAM / 1 MB
# flash at 32 px (24/24 in the space optimisation: at 32 px the layers are small enough to
# stream); wider, the flash binds (at 320 kB the optimisation picks 1.75, 12/24 fitting,
# 86 M MACs on average; at 64 kB 1.25), as it does for the hand-scaled ResNet-8 (width 3.5).
FUSEDNET = Backbone(
    "fusednet", BLOCK_FUSED, (16, 32, 64, 128), (3, 3, 3, 2), (1, 2, 2, 2), 16, 3, 1, 8,
    kernels=(3,), expansions=(1, 2, 3),
    depth_choices=((1, 2, 3), (1, 2, 3), (1, 2, 3), (1, 2)),
    widths=(0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0),
    description="Fused-MBConv: kxk conv + 1x1 projection (no depthwise), stride 8")

# Plain VGG-style stages (Simonyan & Zisserman 2014; the zoo's vgg, 87.1 % int8 on CIFAR-10,
# beat both backbones above at 320 kB with a third of their MACs): a stride-1 3x3 stem, then
# stages of 3x3 conv-BN-ReLU6 at 32/64/128/256 channels (width 1), each later stage opening
# with a 2x2 max pool (32 px -> 4x4 in the last), no residuals, global average pooling.
# Searched: per-stage depth and the width (the kernel and expansion choices are fixed: 3,
# none). At width 1 and the deepest stages the weights take ~1.2 MB, so a 1 MB flash binds.
PLAINNET = Backbone(
    "plainnet", BLOCK_PLAIN, (32, 64, 128, 256), (1, 2, 2, 1), (1, 2, 2, 2), 32, 3, 1, 8,
    kernels=(3,), expansions=(1,), depth_choices=((1, 2), (1, 2, 3), (1, 2, 3), (1, 2)),
    widths=(0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0),
    description="plain VGG-style: 3x3 conv stages, 2x2 max pool between, stride 8")

# ResNet's basic blocks (He et al. 2016) at CIFAR scale, the family of MLPerf Tiny's ResNet-8
# (zoo/resnet8.py: 16/32/64 channels, one block per stage): a stride-1 3x3 stem, three stages
# of blocks of two kxk conv-BN (ReLU6 between), the shortcut added (a 1x1 conv-BN where the
# block strides or widens), ReLU6 after the add; 32 px images end at 8x8, as ResNet-8's.
# Searched: per-stage depth (1-3: ResNet-8 to ResNet-20's layout), the width, and per block
# the kernel and the middle's expansion where given (defaults 3 and 1, ResNet's). The
# space holds ResNet-8-like networks at every width: the hand-scaled baseline the search
# must beat (ResNet-8 width 3.5 fills 1 MB of flash; the search trades its width for depth).
RESNET = Backbone(
    "resnet", BLOCK_BASIC, (16, 32, 64), (1, 1, 1), (1, 2, 2), 16, 3, 1, 4,
    kernels=(3,), expansions=(1,), depth_choices=((1, 2, 3), (1, 2, 3), (1, 2, 3)),
    widths=(0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0),
    description="ResNet basic blocks: two kxk convs + shortcut, stride 4")

BACKBONES = {b.name: b for b in (MCUNET, FUSEDNET, PLAINNET, RESNET)}


def backbone(name: str) -> Backbone:
    try:
        return BACKBONES[name]
    except KeyError:
        raise TinyconvError(f"unknown search backbone {name!r}; known: "
                            f"{', '.join(BACKBONES)}") from None
