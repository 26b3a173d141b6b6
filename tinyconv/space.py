"""The NAS search space: MCUNet-style MobileNetV2 configurations and their exact costs.

An `ArchConfig` is one network of the zoo family "mcunet" (global width multiplier,
input resolution, per-stage depth, per-block kernel size and expansion ratio). Its costs
come from the same code that deploys it:

- `ArchConfig.graph()` builds the graph IR the int8 .tflite of this network imports to
  (same ops in the same order, same shapes, same constant sizes, same per-channel
  quantization structure), directly from the config, in milliseconds, without Keras or
  the converter. tests/test_space.py checks its planned arena, constant bytes and MACs
  against converted models.
- `ArchConfig.cost(board)` plans it with `tinyconv.deploy.prepare` (the firmware's own
  planner and code generator): peak SRAM = arena + reserved stack + runtime static RAM;
  flash = constant arrays the generated model.c holds (int8 weights, int32 biases,
  requantization multipliers/shifts) + an estimate of the code (see `CODE_BYTES`);
  MACs; and instructions per inference from a per-op model (see `INSN_COEFFS`).

This module imports no TensorFlow; `build_keras` loads it lazily.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from .errors import TinyconvError
from .ir import ops as O
from .ir.graph import DType, Graph, Quant, Tensor
from .targets import Board
from .zoo.channels import make_divisible

# Mirrors tinyconv/zoo/mcunet.py (kept here too so that sampling and costing do not import
# TensorFlow); tests/test_space.py checks they agree.
STAGE_CHANNELS = (16, 24, 32, 64, 96, 160, 320)
STAGE_STRIDES = (1, 2, 2, 2, 1, 2, 1)

DEFAULT_STACK_BYTES = 8192


def _same_out(size: int, stride: int) -> int:
    return -(-size // stride)


@dataclass(frozen=True)
class ArchConfig:
    """One point of the search space; frozen and hashable so it can key caches and logs."""

    width: float
    resolution: int
    depths: tuple[int, ...]
    kernels: tuple[int, ...]
    expansions: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.depths) != len(STAGE_CHANNELS) or any(d < 1 for d in self.depths):
            raise TinyconvError(f"arch: needs {len(STAGE_CHANNELS)} positive stage depths, "
                                f"got {self.depths}")
        n = sum(self.depths)
        if len(self.kernels) != n or len(self.expansions) != n:
            raise TinyconvError(f"arch: {n} blocks need {n} kernels and expansions, got "
                                f"{len(self.kernels)} and {len(self.expansions)}")
        if self.resolution < 32:
            raise TinyconvError(f"arch: resolution {self.resolution} is below 32")

    # -- identity and serialisation ----------------------------------------------------
    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "ArchConfig":
        try:
            return cls(width=float(d["width"]), resolution=int(d["resolution"]),
                       depths=tuple(int(x) for x in d["depths"]),
                       kernels=tuple(int(x) for x in d["kernels"]),
                       expansions=tuple(int(x) for x in d["expansions"]))
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
        depths = (1, 2, 3, 4, 3, 3, 1)
        n = sum(depths)
        return cls(float(width), int(resolution), depths, (3,) * n, (1,) + (6,) * (n - 1))

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
        return zoo.build("mcunet", (self.resolution, self.resolution, input_channels), classes,
                         self.width, **self.zoo_params())

    def graph(self, input_channels: int, classes: int) -> Graph:
        return _graph(self, int(input_channels), int(classes))

    def cost(self, board: Board, input_channels: int, classes: int, *,
             stack_bytes: int = DEFAULT_STACK_BYTES) -> "Cost":
        return _cost(self, board, int(input_channels), int(classes), int(stack_bytes))


@dataclass(frozen=True)
class Cost:
    peak_sram: int      # arena + stack reserved + runtime static RAM (deploy.planned_ram_bytes)
    arena: int
    flash: int          # constants + code estimate
    constant_bytes: int
    code_bytes: int
    macs: int
    instructions: int   # estimated instructions per inference on the board's kernels

    def to_dict(self) -> dict:
        return asdict(self)


# -- the graph, built like the converter would ---------------------------------------------
# Placeholder quantization: sizes and plans depend only on the structure (per-tensor
# activations, per-channel weights and biases), not on the values.
_ACT_SCALE = 1.0 / 32
_W_SCALE = 1.0 / 128


class _Builder:
    def __init__(self) -> None:
        self.tensors: list[Tensor] = []
        self.ops: list[O.Op] = []

    def tensor(self, name: str, shape: tuple[int, ...], dtype: DType = DType.INT8,
               quant: Quant | None = None, data: np.ndarray | None = None) -> Tensor:
        if quant is None and data is None:
            quant = Quant((_ACT_SCALE,), (-128,))
        t = Tensor(index=len(self.tensors), name=name, shape=shape, dtype=dtype, quant=quant,
                   data=data)
        self.tensors.append(t)
        return t

    def weights(self, name: str, shape: tuple[int, ...], axis: int) -> tuple[Tensor, Tensor]:
        channels = shape[axis]
        # Nonzero values: the converter drops an all-zero bias (untrained Dense), a trained
        # model always has one, and some kernels precompute sums from the weights.
        w = self.tensor(f"{name}/weights", shape, DType.INT8,
                        Quant((_W_SCALE,) * channels, (0,) * channels, axis),
                        np.ones(shape, np.int8))
        b = self.tensor(f"{name}/bias", (channels,), DType.INT32,
                        Quant((_ACT_SCALE * _W_SCALE,) * channels, (0,) * channels, 0),
                        np.ones((channels,), np.int32))
        return w, b

    def add(self, op: O.Op) -> Tensor:
        op.index = len(self.ops)
        op.name = op.outputs[0].name
        self.ops.append(op)
        return op.outputs[0]

    def conv(self, x: Tensor, filters: int, kernel: int, stride: int, act: O.Activation,
             name: str) -> Tensor:
        _, h, w, c = x.shape
        wt, b = self.weights(name, (filters, kernel, kernel, c), 0)
        y = self.tensor(name, (1, _same_out(h, stride), _same_out(w, stride), filters))
        return self.add(O.Conv2D(inputs=[x, wt, b], outputs=[y], stride=(stride, stride),
                                 padding=O.Padding.SAME, activation=act))

    def dw(self, x: Tensor, kernel: int, stride: int, name: str) -> Tensor:
        _, h, w, c = x.shape
        wt, b = self.weights(name, (1, kernel, kernel, c), 3)
        y = self.tensor(name, (1, _same_out(h, stride), _same_out(w, stride), c))
        return self.add(O.DepthwiseConv2D(inputs=[x, wt, b], outputs=[y], stride=(stride, stride),
                                          padding=O.Padding.SAME, depth_multiplier=1,
                                          activation=O.Activation.RELU6))


@lru_cache(maxsize=4096)
def _graph(cfg: ArchConfig, channels: int, classes: int) -> Graph:
    g = _Builder()
    r = cfg.resolution
    x = g.tensor("input", (1, r, r, channels))
    inputs = [x]
    x = g.conv(x, make_divisible(32 * cfg.width), 3, 2, O.Activation.RELU6, "stem")
    block = 0
    for stage, (base, stride, depth) in enumerate(zip(STAGE_CHANNELS, STAGE_STRIDES, cfg.depths)):
        filters = make_divisible(base * cfg.width)
        for i in range(depth):
            s = stride if i == 0 else 1
            e = cfg.expansions[block]
            k = cfg.kernels[block]
            name = f"block{stage}_{i}"
            shortcut = x
            in_ch = x.shape[3]
            if e != 1:
                x = g.conv(x, make_divisible(in_ch * e), 1, 1, O.Activation.RELU6,
                           f"{name}_expand")
            x = g.dw(x, k, s, f"{name}_dw")
            x = g.conv(x, filters, 1, 1, O.Activation.NONE, f"{name}_project")
            if s == 1 and in_ch == filters:
                y = g.tensor(f"{name}_add", x.shape)
                x = g.add(O.Add(inputs=[shortcut, x], outputs=[y]))
            block += 1
    c = x.shape[3]
    axes = g.tensor("mean/axes", (2,), DType.INT32, None, np.array([1, 2], np.int32))
    pooled = g.tensor("global_pool", (1, c))
    x = g.add(O.Mean(inputs=[x, axes], outputs=[pooled], axes=(1, 2)))
    wt, b = g.weights("classifier", (classes, c), 0)
    logits = g.tensor("classifier", (1, classes))
    x = g.add(O.FullyConnected(inputs=[x, wt, b], outputs=[logits]))
    probs = g.tensor("softmax", (1, classes), quant=Quant((1.0 / 256,), (-128,)))
    x = g.add(O.Softmax(inputs=[x], outputs=[probs]))
    return Graph(name=f"mcunet_{cfg.key}", tensors=g.tensors, ops=g.ops, inputs=inputs,
                 outputs=[probs], source=f"arch {cfg.key}")


# -- flash: code estimate ------------------------------------------------------------------
# Firmware flash = .text + .data of the linked ELF (tinyconv.firmware.build). Of that, the
# constant arrays of model.c are known exactly (ModelSource.weights_bytes); the rest is code:
# startup, app, semihosting, the kernels linked in, and one call per op in the generated
# invoke function. Every MCUNet config links the same six kernels (CONV_2D,
# DEPTHWISE_CONV_2D, ADD, MEAN, FULLY_CONNECTED, SOFTMAX), so code = base + per_step x ops.
# Measured: `tinyconv.verify` (arm-none-eabi-gcc 12.2, the firmware's -O2 build) of 8
# converted random mcunet configs (29-49 ops, 48-80 px) per ISA; flash - constants fits
# the line within +-35 B on qemu-m7 (dsp), 6 configs within +-40 B on qemu-m55 (mve) and
# qemu-m3 (ref). tests/test_space.py::test_flash_and_instruction_estimates_match_a_build
# rebuilds one.
CODE_BASE_BYTES = {"dsp": 23897, "mve": 15054, "ref": 12254}
CODE_PER_STEP_BYTES = {"dsp": 189, "mve": 189, "ref": 189}


def code_bytes(graph: Graph, isa: O.Isa) -> int:
    steps = sum(1 for op in graph.ops if not op.is_alias)
    return CODE_BASE_BYTES[isa.value] + CODE_PER_STEP_BYTES[isa.value] * steps


# -- latency: instructions per inference -----------------------------------------------------
# instructions = a x conv MACs + b x depthwise MACs + c x ADD elements + d x ops, per ISA.
# Non-negative least squares on the QEMU instruction counter (tinyconv.verify's
# instructions_per_inference, TCG plugin counting the invoke function) of the same 8
# converted mcunet configs; qemu-m7 (dsp) residuals -9.6 % .. +9.1 %. The depthwise
# kernel dominates (23.6 instructions per MAC against 1.17 for the SIMD 1x1 GEMM), which
# is what makes kernel size a latency choice.
INSN_COEFFS: dict[str, dict[str, float]] = {
    "dsp": {"CONV": 1.168, "DEPTHWISE_CONV_2D": 23.64, "ADD": 13.77, "OP": 120862.0},
    # qemu-m55, 6 configs, residuals -12.1 % .. +14.1 % (NNLS put ADD at 0: it is small
    # and collinear with the op count there).
    "mve": {"CONV": 0.2217, "DEPTHWISE_CONV_2D": 16.33, "ADD": 0.0, "OP": 154100.0},
    # qemu-m3 (portable C kernels), 6 configs, residuals -9.5 % .. +15.2 %.
    "ref": {"CONV": 7.469, "DEPTHWISE_CONV_2D": 14.52, "ADD": 0.0, "OP": 207500.0},
}


def insn_features(graph: Graph) -> dict[str, float]:
    """Work per op kind: MACs of CONV_2D (all) and DEPTHWISE_CONV_2D, ADD output elements,
    and the op count (per-call overhead, and the small MEAN/FC/SOFTMAX)."""
    f = {"CONV": 0.0, "DEPTHWISE_CONV_2D": 0.0, "ADD": 0.0, "OP": 0.0}
    for op in graph.ops:
        if op.is_alias:
            continue
        f["OP"] += 1
        if isinstance(op, O.Conv2D):
            f["CONV"] += op.macs()
        elif isinstance(op, O.DepthwiseConv2D):
            f["DEPTHWISE_CONV_2D"] += op.macs()
        elif isinstance(op, O.Add):
            f["ADD"] += op.y.size
    return f


def instructions(graph: Graph, isa: O.Isa) -> int:
    coeffs = INSN_COEFFS[isa.value]
    return int(round(sum(coeffs[k] * v for k, v in insn_features(graph).items())))


@lru_cache(maxsize=8192)
def _cost(cfg: ArchConfig, board: Board, channels: int, classes: int, stack: int) -> Cost:
    from .deploy import prepare
    graph = _graph(cfg, channels, classes)
    # No budget here (the search compares costs with its own): the largest possible ones.
    d = prepare(graph, board, sram=1 << 62, flash=1 << 62, stack_bytes=stack)
    code = code_bytes(graph, d.plan.isa)
    consts = d.source.weights_bytes
    return Cost(peak_sram=d.planned_ram_bytes, arena=d.plan.arena_bytes, flash=consts + code,
                constant_bytes=consts, code_bytes=code, macs=graph.total_macs(),
                instructions=instructions(graph, d.plan.isa))


# -- the space -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchSpace:
    widths: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    resolutions: tuple[int, ...] = tuple(range(48, 177, 16))
    kernels: tuple[int, ...] = (3, 5, 7)
    expansions: tuple[int, ...] = (3, 4, 6)
    # Per stage: MobileNetV2's 1,2,3,4,3,3,1 is the largest choice.
    depths: tuple[tuple[int, ...], ...] = ((1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), (1, 2, 3),
                                          (1, 2, 3), (1,))

    @classmethod
    def for_input(cls, native_resolution: int, **kw) -> "SearchSpace":
        """Resolutions clipped for the data: up-scaling a 28 px image to 176 px adds no
        information and costs 40x the training time, so keep <= max(64, 2 x native)."""
        top = max(64, 2 * int(native_resolution))
        res = tuple(r for r in kw.pop("resolutions", cls.resolutions) if r <= top)
        return cls(resolutions=res, **kw)

    def restrict(self, width: float, resolution: int) -> "SearchSpace":
        return SearchSpace((width,), (resolution,), self.kernels, self.expansions, self.depths)

    def sample(self, rng: random.Random, width: float | None = None,
               resolution: int | None = None) -> ArchConfig:
        depths = tuple(rng.choice(c) for c in self.depths)
        n = sum(depths)
        return ArchConfig(width=rng.choice(self.widths) if width is None else width,
                          resolution=rng.choice(self.resolutions) if resolution is None else resolution,
                          depths=depths,
                          kernels=tuple(rng.choice(self.kernels) for _ in range(n)),
                          expansions=tuple(rng.choice(self.expansions) for _ in range(n)))

    def smallest(self) -> ArchConfig:
        """The config with the least memory and compute: every choice at its minimum."""
        depths = tuple(min(c) for c in self.depths)
        n = sum(depths)
        return ArchConfig(min(self.widths), min(self.resolutions), depths,
                          (min(self.kernels),) * n, (min(self.expansions),) * n)

    def largest(self, width: float | None = None, resolution: int | None = None) -> ArchConfig:
        depths = tuple(max(c) for c in self.depths)
        n = sum(depths)
        return ArchConfig(max(self.widths) if width is None else width,
                          max(self.resolutions) if resolution is None else resolution,
                          depths, (max(self.kernels),) * n, (max(self.expansions),) * n)

    def contains(self, cfg: ArchConfig) -> bool:
        return (cfg.width in self.widths and cfg.resolution in self.resolutions
                and all(d in c for d, c in zip(cfg.depths, self.depths))
                and all(k in self.kernels for k in cfg.kernels)
                and all(e in self.expansions for e in cfg.expansions))

    def to_dict(self) -> dict:
        return {"widths": list(self.widths), "resolutions": list(self.resolutions),
                "kernels": list(self.kernels), "expansions": list(self.expansions),
                "depths": [list(d) for d in self.depths]}
