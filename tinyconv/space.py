"""The NAS search space: configurations of a backbone and their exact costs.

An `ArchConfig` is one network of a search backbone (`zoo.arch.Backbone`: "mcunet",
MCUNet's MobileNetV2 blocks, "fusednet", Fused-MBConv blocks without depthwise convs,
"plainnet", VGG's plain conv stages with max pooling, or "resnet", ResNet's basic blocks),
which is also the zoo family that builds it: a global width multiplier, the input
resolution, per-stage depth, per-block kernel size and expansion ratio. Its costs
come from the same code that deploys it:

- `ArchConfig.graph()` builds the graph IR the int8 .tflite of this network imports to
  (same ops in the same order, same shapes, same constant sizes, same per-channel
  quantization structure), directly from the config, in milliseconds, without Keras or
  the converter: through `ir.builder.GraphBuilder`, the converter's rules that the Keras
  importer uses too, from the architecture constants of `zoo.arch` that the Keras builder
  (zoo/backbone.py) reads. tests/unit/test_space.py checks its planned arena, flash and MACs
  against converted models.
- `ArchConfig.cost(board)` plans it with `tinyconv.deploy.prepare` (the firmware's own
  planner and code generator): peak SRAM = arena + reserved stack + runtime static RAM;
  flash = constant arrays the generated model.c holds (int8 weights, int32 biases,
  requantization multipliers/shifts) + an estimate of the code (see `CODE_BYTES`);
  MACs; and instructions per inference from the latency model (tinyconv.cost).

This module imports no TensorFlow; `build_keras` loads it lazily.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass, replace
from functools import lru_cache

from . import cost
from .defaults import DEFAULT_BACKBONE, RESOLUTION_STEP, SEARCH_RESOLUTIONS
from .errors import TinyconvError
from .ir import ops as O
from .ir.builder import GraphBuilder
from .ir.graph import Graph, Tensor
from .targets import Board
from .zoo import arch


@dataclass(frozen=True)
class ArchConfig:
    """One point of the search space; frozen and hashable so it can key caches and logs."""

    width: float
    resolution: int
    depths: tuple[int, ...]
    kernels: tuple[int, ...]
    expansions: tuple[int, ...]
    backbone: str = DEFAULT_BACKBONE

    def __post_init__(self) -> None:
        bb = self.bb
        stages = len(bb.stage_channels)
        if len(self.depths) != stages or any(d < 1 for d in self.depths):
            raise TinyconvError(f"arch: needs {stages} positive stage depths, got {self.depths}")
        n = sum(self.depths)
        if len(self.kernels) != n or len(self.expansions) != n:
            raise TinyconvError(f"arch: {n} blocks need {n} kernels and expansions, got "
                                f"{len(self.kernels)} and {len(self.expansions)}")
        bb.check_expansions(self.expansions)
        if self.resolution < bb.min_resolution:
            raise TinyconvError(f"arch: resolution {self.resolution} is below "
                                f"{bb.min_resolution}")

    @property
    def bb(self) -> arch.Backbone:
        return arch.backbone(self.backbone)

    # -- identity and serialisation ----------------------------------------------------
    def to_dict(self) -> dict:
        """The config as JSON: the default backbone is left out, so that an architecture's
        key (and the logs and supernets written before there were backbones) stay valid."""
        d = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        if d["backbone"] == DEFAULT_BACKBONE:
            del d["backbone"]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "ArchConfig":
        try:
            return cls(width=float(d["width"]), resolution=int(d["resolution"]),
                       depths=tuple(int(x) for x in d["depths"]),
                       kernels=tuple(int(x) for x in d["kernels"]),
                       expansions=tuple(int(x) for x in d["expansions"]),
                       backbone=str(d.get("backbone", DEFAULT_BACKBONE)))
        except (KeyError, TypeError, ValueError) as e:
            raise TinyconvError(f"arch: not an architecture config ({e})") from None

    @classmethod
    def from_json(cls, text: str) -> "ArchConfig":
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as e:
            raise TinyconvError(f"arch: invalid JSON ({e})") from None

    @classmethod
    def mobilenetv2(cls, width: float, resolution: int) -> "ArchConfig":
        """MobileNetV2's own choices (table 2 of the paper: depths 1,2,3,4,3,3,1, 3x3
        kernels, expansion 1 in the first block and 6 after), without the 1280-channel
        head, which this space leaves out: the hand-scaled baseline NAS must beat."""
        depths = arch.STAGE_DEPTHS
        return cls(float(width), int(resolution), depths, arch.default_kernels(depths),
                   arch.default_expansions(depths))

    @property
    def key(self) -> str:
        """Stable short hash: the identity of a candidate in candidates.jsonl."""
        return hashlib.sha1(self.to_json().encode()).hexdigest()[:16]

    # -- models ------------------------------------------------------------------------
    def zoo_params(self) -> dict:
        return {"kernels": list(self.kernels), "expansions": [float(e) for e in self.expansions],
                "depths": list(self.depths)}

    def build_keras(self, input_channels: int, classes: int):
        from . import zoo
        return zoo.build(self.backbone, (self.resolution, self.resolution, input_channels), classes,
                         self.width, **self.zoo_params())

    def graph(self, input_channels: int, classes: int) -> Graph:
        return _graph(self, int(input_channels), int(classes))

    def cost(self, board: Board, input_channels: int, classes: int, *,
             stack_bytes: int | None = None, sram: int | None = None,
             memory: str = "layer") -> "Cost":
        """`stack_bytes=None`: the stack reserved is the model's computed bound
        (tinyconv/stack.py, estimated without compiling), as `deploy.prepare` reserves.
        `sram` with `memory` "fast" or "min": the plan export would choose for that SRAM
        budget (tinyconv/stream.py: a streamed plan where the layer-wise one does not fit,
        the smallest where none fits); otherwise the layer-wise plan."""
        if sram is None or memory == "layer":
            sram, memory = None, "layer"
        return _cost(self, board, int(input_channels), int(classes),
                     None if stack_bytes is None else int(stack_bytes), sram, memory)


@dataclass(frozen=True)
class Cost:
    peak_sram: int      # arena + stack reserved + runtime static RAM (deploy.planned_ram_bytes)
    arena: int
    flash: int          # constants + code estimate
    constant_bytes: int
    code_bytes: int
    macs: int
    instructions: int   # estimated instructions per inference on the board's kernels
    streamed: bool = False  # the plan streams the high-resolution layers (stream.py)

    def to_dict(self) -> dict:
        return asdict(self)


# -- the graph, built like the converter would ---------------------------------------------
def _block(g: GraphBuilder, bb: arch.Backbone, x: Tensor, expansion: int, filters: int,
           stride: int, kernel: int, name: str) -> Tensor:
    """zoo/backbone.py's block after conversion: BN folded, ReLU6 fused, linear project."""
    shortcut, in_ch = x, x.shape[3]
    hidden = bb.hidden(in_ch, filters, expansion)
    if bb.block == arch.BLOCK_PLAIN:
        if stride != 1:
            x = g.max_pool(x, stride, stride, name=f"{name}_pool", padding=O.Padding.SAME)
        return g.conv2d(x, filters, kernel, name=name, activation=O.Activation.RELU6)
    if bb.block == arch.BLOCK_BASIC:
        x = g.conv2d(x, hidden, kernel, stride, name=f"{name}_expand",
                     activation=O.Activation.RELU6)
        x = g.conv2d(x, filters, kernel, name=f"{name}_project")
        if bb.projects(stride, in_ch, filters):
            shortcut = g.conv2d(shortcut, filters, 1, stride, name=f"{name}_shortcut")
        return g.add(shortcut, x, name=f"{name}_add", activation=O.Activation.RELU6)
    if bb.block == arch.BLOCK_FUSED:
        x = g.conv2d(x, hidden, kernel, stride, name=f"{name}_expand",
                     activation=O.Activation.RELU6)
    else:
        if bb.expands(expansion):
            x = g.conv2d(x, hidden, 1, name=f"{name}_expand", activation=O.Activation.RELU6)
        x = g.depthwise(x, kernel, stride, name=f"{name}_dw", activation=O.Activation.RELU6)
    x = g.conv2d(x, filters, 1, name=f"{name}_project")
    if bb.residual(stride, in_ch, filters):
        x = g.add(shortcut, x, name=f"{name}_add")
    return x


@lru_cache(maxsize=4096)
def _graph(cfg: ArchConfig, channels: int, classes: int) -> Graph:
    """The int8 graph of zoo.build(cfg.backbone, ...) with `cfg`'s choices and a trained
    classifier (nonzero bias), as the converter emits it."""
    bb = cfg.bb
    g = GraphBuilder(f"{bb.name}_{cfg.key}", source=f"arch {cfg.key}")
    x = g.input("input", (1, cfg.resolution, cfg.resolution, channels))
    x = g.conv2d(x, bb.stem_channels(cfg.width), bb.stem_kernel, bb.stem_stride,
                 name="stem", activation=O.Activation.RELU6)
    for block, (stage, i, stride) in enumerate(bb.blocks(cfg.depths)):
        x = _block(g, bb, x, cfg.expansions[block], bb.channels(stage, cfg.width), stride,
                   cfg.kernels[block], f"block{stage}_{i}")
    x = g.mean(x, (1, 2), name="global_pool")
    x = g.fully_connected(x, classes, name="classifier_dense", bias=True)
    return g.graph([g.softmax(x, name="classifier_softmax")], **{"from": "arch"})


# -- latency: instructions per inference -----------------------------------------------------
# The latency model of tinyconv.cost (per-layer, fitted on the kernels by
# benchmarks/fit_latency.py, which measures mcunet configs of this space among its data);
# tests/unit/test_space.py::test_estimates_match_a_build checks it against builds.


@lru_cache(maxsize=8192)
def _cost(cfg: ArchConfig, board: Board, channels: int, classes: int,
          stack: int | None, sram: int | None, memory: str) -> Cost:
    from .deploy import prepare
    graph = _graph(cfg, channels, classes)
    # The search compares the costs with its budget itself: no budget check here.
    d = prepare(graph, board, sram=1 << 62 if sram is None else sram, flash=1 << 62,
                stack_bytes=stack, memory=memory, check_budget=False)
    code = cost.code_bytes(graph, d.plan.isa)
    consts = d.source.weights_bytes
    return Cost(peak_sram=d.planned_ram_bytes, arena=d.plan.arena_bytes, flash=consts + code,
                constant_bytes=consts, code_bytes=code, macs=graph.total_macs(),
                instructions=cost.instructions(graph, d.plan.isa, d.plan),
                streamed=d.plan.stream is not None)


# -- the space -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchSpace:
    """The choices searched over a backbone. The defaults of widths, kernels, expansions and
    depths are MCUNet's; `for_backbone` (and `for_input`) take another backbone's own."""
    widths: tuple[float, ...] = arch.MCUNET.widths
    resolutions: tuple[int, ...] = SEARCH_RESOLUTIONS
    kernels: tuple[int, ...] = arch.MCUNET.kernels
    expansions: tuple[int, ...] = arch.MCUNET.expansions
    # Per stage: MobileNetV2's 1,2,3,4,3,3,1 is the largest choice.
    depths: tuple[tuple[int, ...], ...] = arch.MCUNET.depth_choices
    backbone: str = DEFAULT_BACKBONE

    def __post_init__(self) -> None:
        if len(self.depths) != len(self.bb.stage_channels):
            raise TinyconvError(f"search space: {self.backbone} has "
                                f"{len(self.bb.stage_channels)} stages, the depth choices "
                                f"{len(self.depths)}")

    @property
    def bb(self) -> arch.Backbone:
        return arch.backbone(self.backbone)

    @classmethod
    def for_backbone(cls, backbone: str = DEFAULT_BACKBONE, **kw) -> "SearchSpace":
        """The space of `backbone` with its own widths and kernel, expansion and depth
        choices (each replaced where given)."""
        bb = arch.backbone(backbone)
        choices = {"widths": bb.widths, "kernels": bb.kernels, "expansions": bb.expansions,
                   "depths": bb.depth_choices}
        return cls(**{**choices, **kw}, backbone=backbone)

    @classmethod
    def for_input(cls, native_resolution: int, backbone: str = DEFAULT_BACKBONE,
                  **kw) -> "SearchSpace":
        """Resolutions clipped for the data: up-scaling a 28 px image adds no information,
        only compute, so keep those up to the image side rounded up to a multiple of
        RESOLUTION_STEP, at least the network's smallest input (28 px: 32 only).
        (`tinyconv search --resolutions` replaces this choice.)"""
        step = RESOLUTION_STEP
        top = max(arch.backbone(backbone).min_resolution,
                  -(-int(native_resolution) // step) * step)
        res = tuple(r for r in kw.pop("resolutions", cls.resolutions) if r <= top) or (top,)
        return cls.for_backbone(backbone, resolutions=res, **kw)

    def restrict(self, width: float, resolution: int) -> "SearchSpace":
        return replace(self, widths=(width,), resolutions=(resolution,))

    def sample(self, rng: random.Random, width: float | None = None,
               resolution: int | None = None) -> ArchConfig:
        depths = tuple(rng.choice(c) for c in self.depths)
        n = sum(depths)
        return ArchConfig(width=rng.choice(self.widths) if width is None else width,
                          resolution=rng.choice(self.resolutions) if resolution is None else resolution,
                          depths=depths,
                          kernels=tuple(rng.choice(self.kernels) for _ in range(n)),
                          expansions=tuple(rng.choice(self.expansions) for _ in range(n)),
                          backbone=self.backbone)

    def smallest(self) -> ArchConfig:
        """The config with the least memory and compute: every choice at its minimum."""
        depths = tuple(min(c) for c in self.depths)
        n = sum(depths)
        return ArchConfig(min(self.widths), min(self.resolutions), depths,
                          (min(self.kernels),) * n, (min(self.expansions),) * n, self.backbone)

    def largest(self, width: float | None = None, resolution: int | None = None) -> ArchConfig:
        depths = tuple(max(c) for c in self.depths)
        n = sum(depths)
        return ArchConfig(max(self.widths) if width is None else width,
                          max(self.resolutions) if resolution is None else resolution,
                          depths, (max(self.kernels),) * n, (max(self.expansions),) * n,
                          self.backbone)

    def contains(self, cfg: ArchConfig) -> bool:
        return (cfg.backbone == self.backbone
                and cfg.width in self.widths and cfg.resolution in self.resolutions
                and all(d in c for d, c in zip(cfg.depths, self.depths))
                and all(k in self.kernels for k in cfg.kernels)
                and all(e in self.expansions for e in cfg.expansions))

    @classmethod
    def from_dict(cls, d: dict) -> "SearchSpace":
        return cls(tuple(float(w) for w in d["widths"]), tuple(int(r) for r in d["resolutions"]),
                   tuple(int(k) for k in d["kernels"]), tuple(int(e) for e in d["expansions"]),
                   tuple(tuple(int(x) for x in c) for c in d["depths"]),
                   str(d.get("backbone", DEFAULT_BACKBONE)))

    def to_dict(self) -> dict:
        """As JSON; the default backbone left out (supernets saved before backbones)."""
        d = {"widths": list(self.widths), "resolutions": list(self.resolutions),
             "kernels": list(self.kernels), "expansions": list(self.expansions),
             "depths": [list(d) for d in self.depths]}
        if self.backbone != DEFAULT_BACKBONE:
            d["backbone"] = self.backbone
        return d
