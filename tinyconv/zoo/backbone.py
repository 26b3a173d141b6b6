"""Keras builder of a search backbone (`zoo.arch.Backbone`): the stem, the searched blocks
stage after stage, global pooling and the classifier.

The zoo families "mcunet", "fusednet", "plainnet" and "resnet" are this builder over their backbone; a
searched architecture (tinyconv.space.ArchConfig) is rebuilt from its per-block kernels
and expansions and per-stage depths, given as flat lists (stage after stage).

Blocks (names block{stage}_{i}; residual add when stride 1 and channels in == out):
- MBConv: [1x1 expand + BN + ReLU6 if expansion != 1] -> kxk depthwise + BN + ReLU6 ->
  1x1 project + BN (linear), as zoo/mobilenetv2.py's inverted residual;
- fused: kxk conv (stride) to hidden = make_divisible(in * expansion) + BN + ReLU6 ->
  1x1 project + BN (linear). Its layers are named as the MBConv's expand and project, so
  the supernet slices both the same way;
- plain: [2x2 max pool (block{stage}_{i}_pool) if the block strides] -> kxk conv (stride 1)
  + BN + ReLU6 to the stage's channels; no expansion, no residual (VGG);
- basic: kxk conv (stride) to hidden = make_divisible(filters * expansion) + BN + ReLU6 ->
  kxk conv + BN (linear, named as the fused block's expand and project), + the shortcut:
  the input itself, or a 1x1 conv (stride) + BN (block{stage}_{i}_shortcut) where the
  shape changes; ReLU6 after the add (ResNet's basic block, as zoo/resnet8.py's but with
  a BN on the projection and ReLU6).
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyconv.errors import TinyconvError
from tinyconv.keras_compat import layers

from . import _common as c
from . import arch
from .mobilenetv2 import inverted_residual


def fused_block(x, expansion: float, filters: int, strides: int, kernel: int, *, name: str):
    """kxk conv to the expanded width (stride here) -> linear 1x1 projection (+ residual)."""
    in_channels = c.channels(x)
    shortcut = x
    x = c.conv_bn(x, arch.hidden_channels(in_channels, expansion), kernel, strides,
                  activation="relu6", name=f"{name}_expand")
    x = c.conv_bn(x, filters, 1, activation=None, name=f"{name}_project")
    if strides == 1 and in_channels == filters:
        x = layers.Add(name=f"{name}_add")([shortcut, x])
    return x


def plain_block(x, expansion: float, filters: int, strides: int, kernel: int, *, name: str):
    """VGG's block: the stride as a max pool ("same" padding: odd sides round up, as a
    strided conv's), then one kxk conv-BN-ReLU6. `expansion` is always 1 (no middle)."""
    if strides != 1:
        x = layers.MaxPooling2D(strides, padding="same", name=f"{name}_pool")(x)
    return c.conv_bn(x, filters, kernel, activation="relu6", name=name)


def basic_block(x, expansion: float, filters: int, strides: int, kernel: int, *, name: str):
    """kxk conv (stride) -> kxk linear conv, + shortcut (a 1x1 conv-BN projection where the
    shape changes), ReLU6."""
    in_channels = c.channels(x)
    y = c.conv_bn(x, arch.RESNET.hidden(in_channels, filters, expansion), kernel, strides,
                  activation="relu6", name=f"{name}_expand")
    y = c.conv_bn(y, filters, kernel, activation=None, name=f"{name}_project")
    shortcut = x
    if arch.RESNET.projects(strides, in_channels, filters):
        shortcut = c.conv_bn(x, filters, 1, strides, activation=None, name=f"{name}_shortcut")
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return c.activate(y, "relu6", name=name)


_BLOCKS = {arch.BLOCK_MBCONV: inverted_residual, arch.BLOCK_FUSED: fused_block,
           arch.BLOCK_PLAIN: plain_block, arch.BLOCK_BASIC: basic_block}


def build_backbone(bb: arch.Backbone, input_shape: Sequence[int], num_classes: int,
                   width: float, kernels: Sequence[int] | None, expansions: Sequence[float],
                   depths: Sequence[int] | None, last_channels: int = 0):
    """`kernels`/`expansions`: one value per block (sum(depths) of them; kernels default to
    3, each family's wrapper gives its default expansions); `last_channels=0`: no 1x1 head
    before pooling."""
    depths = bb.stage_depths if depths is None else depths
    shape = c.check_input(bb.name, input_shape, bb.min_resolution)
    width = c.check_width(bb.name, width)
    num_classes = c.check_classes(bb.name, num_classes)
    stages = len(bb.stage_channels)
    if len(depths) != stages or any(int(d) < 1 for d in depths):
        raise TinyconvError(f"{bb.name}: depths needs {stages} positive stage depths, "
                            f"got {tuple(depths)}")
    n = sum(int(d) for d in depths)
    kernels = list(arch.default_kernels(depths) if kernels is None else [int(k) for k in kernels])
    expansions = [float(e) for e in expansions]
    for label, values in (("kernels", kernels), ("expansions", expansions)):
        if len(values) != n:
            raise TinyconvError(f"{bb.name}: {label} needs one value per block ({n}), "
                                f"got {len(values)}")
    if any(k < 1 or k % 2 == 0 for k in kernels):
        raise TinyconvError(f"{bb.name}: kernel sizes must be odd and positive, got {kernels}")
    if any(e < 1 for e in expansions):
        raise TinyconvError(f"{bb.name}: expansion ratios must be at least 1, got {expansions}")
    bb.check_expansions(expansions)
    block = _BLOCKS[bb.block]
    inputs = layers.Input(shape, name="input")
    x = c.conv_bn(inputs, bb.stem_channels(width), bb.stem_kernel, bb.stem_stride,
                  activation="relu6", name="stem")
    for b, (stage, i, stride) in enumerate(bb.blocks(depths)):
        x = block(x, expansions[b], bb.channels(stage, width), stride, kernels[b],
                  name=f"block{stage}_{i}")
    if last_channels:
        x = c.conv_bn(x, arch.head_channels(last_channels, width), 1, activation="relu6",
                      name="head")
    x = c.global_pool(x)
    return c.model(inputs, c.classifier(x, num_classes), name=f"{bb.name}_{width:g}")
