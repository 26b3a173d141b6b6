"""MCU-scale model zoo: one Keras builder per family, and the registry `FAMILIES`.

Every builder has the signature
`build(input_shape, num_classes, width=1.0, **family_params) -> keras.Model`
and converts (`tinyconv.convert.to_int8_tflite`) to int8 TFLite ops the
firmware has kernels for. This module does not import TensorFlow: a family's
module (and TensorFlow) loads only when `ZooEntry.builder` / `build` is used,
so `tinyconv zoo` can list families instantly.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tinyconv.errors import TinyconvError
from tinyconv.zoo import arch


@dataclass(frozen=True)
class Param:
    """A family-specific keyword parameter of a builder."""

    name: str
    default: Any
    help: str


@dataclass(frozen=True)
class ZooEntry:
    name: str
    description: str
    default_input_shape: tuple[int, int, int]
    default_classes: int
    params: tuple[Param, ...]
    # Smallest height/width the family accepts with its default parameters (the
    # builder re-checks with the actual ones, e.g. a stride-2 stem doubles it).
    min_resolution: int

    @property
    def module(self) -> str:
        return f"{__name__}.{self.name}"

    @property
    def builder(self) -> Callable[..., Any]:
        return importlib.import_module(self.module).build

    def param_defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def check_resolution(self, input_shape: Sequence[int]) -> None:
        height, width = int(input_shape[0]), int(input_shape[1])
        if height < self.min_resolution or width < self.min_resolution:
            raise TinyconvError(
                f"{self.name} needs an input of at least {self.min_resolution}x{self.min_resolution} "
                f"pixels, got {height}x{width}"
            )


_WIDTH_NOTE = "multiplies every layer's channel count"


def _backbone_params(expansions: str, depths: Sequence[int], stages: str) -> tuple[Param, ...]:
    """The parameters of a search backbone's family (zoo/backbone.py's build_backbone):
    per-block kernels and expansions, per-stage depths, the optional 1x1 head."""
    return (Param("kernels", None, "kernel size of every block (list; default: 3 everywhere)"),
            Param("expansions", None, expansions),
            Param("depths", depths, f"blocks per stage ({stages})"),
            Param("last_channels", 0, "channels of a last 1x1 conv before pooling (0: none)"))


FAMILIES: dict[str, ZooEntry] = {
    e.name: e
    for e in (
        ZooEntry(
            "mobilenetv2",
            "MobileNetV2: inverted residuals, linear bottlenecks, ReLU6 (0.35 @ 96x96 for VWW-class tasks)",
            (96, 96, 3), 2,
            (Param("expansion", 6.0, "expansion ratio of the inverted residual blocks"),
             Param("last_channels", 1280, "channels of the last 1x1 conv (not narrowed when width < 1)"),
             Param("dropout", 0.0, "dropout before the classifier (training only)")),
            32,
        ),
        ZooEntry(
            "resnet8",
            "ResNet-8, the MLPerf Tiny CIFAR-10 reference: 16/32/64 filters, residual adds",
            (32, 32, 3), 10,
            (Param("filters", (16, 32, 64), "filters of the three residual stages"),),
            4,
        ),
        ZooEntry(
            "dscnn",
            "DS-CNN, the MLPerf Tiny keyword-spotting reference on 49x10 MFCC features",
            (49, 10, 1), 12,
            (Param("filters", 64, "channels of every layer"),
             Param("blocks", 4, "number of depthwise-separable blocks"),
             Param("dropout", 0.4, "dropout before the classifier (training only)")),
            2,
        ),
        ZooEntry(
            "mobilenetv3_small",
            "MobileNetV3-Small: hard-swish, squeeze-excite with hard-sigmoid gate",
            (96, 96, 3), 2,
            (Param("se_ratio", 0.25, "squeeze-excite reduction ratio"),
             Param("last_channels", 1024, "width of the dense layer before the classifier"),
             Param("dropout", 0.2, "dropout before the classifier (training only)")),
            32,
        ),
        ZooEntry(
            "squeezenet",
            "SqueezeNet v1.1: Fire modules (squeeze 1x1, expand 1x1 + 3x3, concatenated)",
            (32, 32, 3), 10,
            (Param("stem_stride", 1, "stride of the first conv (2 for ImageNet-sized inputs)"),
             Param("dropout", 0.5, "dropout before the classifier conv (training only)")),
            8,
        ),
        ZooEntry(
            "shufflenet",
            "ShuffleNet v1: grouped 1x1 convs, channel shuffle (reshape-transpose-reshape)",
            (32, 32, 3), 10,
            (Param("groups", 2, "groups of the 1x1 convs: 1, 2, 3, 4 or 8"),
             Param("repeats", (3, 7, 3), "units per stage"),
             Param("stem_stride", 1, "stride of the first conv (2 for ImageNet-sized inputs)"),
             Param("stem_pool", False, "3x3 stride-2 max pool after the stem (ImageNet layout)")),
            8,
        ),
        ZooEntry(
            "lenet5",
            "LeNet-5: two 5x5 conv + pool stages and three dense layers (digits, 28x28 or 32x32)",
            (28, 28, 1), 10,
            (Param("filters", (6, 16), "filters of the two conv layers"),
             Param("dense", (120, 84), "units of the two hidden dense layers"),
             Param("pool", "max", "pooling: 'max' or 'avg'")),
            16,
        ),
        ZooEntry(
            "alexnet",
            "AlexNet-style CNN at CIFAR scale: five convs, three max pools, dense head",
            (32, 32, 3), 10,
            (Param("filters", (64, 192, 384, 256, 256), "filters of the five conv layers"),
             Param("dense", (512, 256), "units of the hidden dense layers"),
             Param("dropout", 0.5, "dropout between dense layers (training only)")),
            8,
        ),
        ZooEntry(
            "vgg",
            "VGG-style: stacks of 3x3 convs separated by 2x2 max pools",
            (32, 32, 3), 10,
            (Param("stages", ((32, 32), (64, 64), (128, 128)), "conv filters per stage, a pool after each"),
             Param("dense", (128,), "units of the hidden dense layers"),
             Param("dropout", 0.3, "dropout before the dense layers (training only)")),
            8,
        ),
        ZooEntry(
            "inception",
            "GoogLeNet-style Inception modules: 1x1 / 3x3 / double-3x3 / pool branches concatenated",
            (32, 32, 3), 10,
            (Param("modules", (2, 2, 2), "inception modules in each of the three stages"),
             Param("base", 32, "channels of the 1x1 branch in the first stage (doubles per stage)")),
            8,
        ),
        ZooEntry(
            "densenet",
            "DenseNet-BC: dense blocks of concatenated bottleneck layers, 1x1 + avg-pool transitions",
            (32, 32, 3), 10,
            (Param("blocks", (4, 4, 4), "layers per dense block"),
             Param("growth", 12, "growth rate (channels each layer adds)"),
             Param("compression", 0.5, "channel reduction of the transitions")),
            4,
        ),
        ZooEntry(
            "mobilenetv1",
            "MobileNetV1: depthwise-separable convs (0.25 @ 96x96 is the MLPerf Tiny VWW reference)",
            (96, 96, 3), 2,
            (Param("dropout", 0.0, "dropout before the classifier (training only)"),),
            32,
        ),
        ZooEntry(
            "mcunet",
            "MCUNet-style MobileNetV2 with a per-block kernel size (3/5/7) and expansion (3/4/6)",
            (96, 96, 3), 2,
            _backbone_params("expansion ratio of every block (list; default: 1 in the first block, 6 after)",
                             arch.STAGE_DEPTHS, "7 stages as MobileNetV2"),
            32,
        ),
        ZooEntry(
            "fusednet",
            "Fused-MBConv net: kxk conv + 1x1 projection blocks, no depthwise, stride 8 (the NAS's second backbone)",
            (32, 32, 3), 10,
            _backbone_params("expansion ratio of every block (list; default: 2 everywhere)",
                             arch.FUSEDNET.stage_depths, "4 stages: 16/32/64/128 channels"),
            arch.FUSEDNET.min_resolution,
        ),
        ZooEntry(
            "plainnet",
            "Plain VGG-style net: 3x3 conv stages, 2x2 max pool between, global pooling, stride 8 (the NAS's third backbone)",
            (32, 32, 3), 10,
            _backbone_params("1 for every block (plain blocks have no expansion)",
                             arch.PLAINNET.stage_depths, "4 stages: 32/64/128/256 channels"),
            arch.PLAINNET.min_resolution,
        ),
        ZooEntry(
            "resnet",
            "ResNet basic-block net: two kxk convs + shortcut per block, stride 4, ResNet-8 at depths 1-1-1 (the NAS's fourth backbone)",
            (32, 32, 3), 10,
            _backbone_params("middle width of every block over its output (list; default: 1 everywhere)",
                             arch.RESNET.stage_depths, "3 stages: 16/32/64 channels"),
            arch.RESNET.min_resolution,
        ),
        ZooEntry(
            "efficientnet",
            "EfficientNet: MBConv + squeeze-excite + swish, compound scaling coefficient phi",
            (64, 64, 3), 10,
            (Param("phi", 0, "compound coefficient: width 1.1^phi, depth 1.2^phi (resolution is the input's)"),
             Param("depth", 1.0, "multiplies the blocks per stage on top of phi (at least one each)"),
             Param("se_ratio", 0.25, "squeeze-excite reduction ratio"),
             Param("dropout", 0.2, "dropout before the classifier (training only)")),
            32,
        ),
    )
}


def family(name: str) -> ZooEntry:
    try:
        return FAMILIES[name]
    except KeyError:
        raise TinyconvError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}") from None


def build(name: str, input_shape: Sequence[int] | None = None, num_classes: int | None = None,
          width: float = 1.0, **params: Any):
    """Build family `name`; missing shape/classes take the family's defaults."""
    entry = family(name)
    unknown = set(params) - {p.name for p in entry.params}
    if unknown:
        raise TinyconvError(
            f"{name} takes no parameter {', '.join(sorted(unknown))}; it takes: "
            f"{', '.join(p.name for p in entry.params) or 'none'}"
        )
    shape = tuple(input_shape) if input_shape is not None else entry.default_input_shape
    classes = num_classes if num_classes is not None else entry.default_classes
    return entry.builder(shape, classes, width, **params)


def randomize_batchnorm(model, data, *, seed: int = 0, spread: float = 0.5) -> None:
    """See `tinyconv.zoo.random_init.randomize_batchnorm` (kept here for convenience)."""
    from .random_init import randomize_batchnorm as impl

    impl(model, data, seed=seed, spread=spread)
