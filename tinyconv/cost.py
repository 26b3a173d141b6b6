"""The latency model: estimated instructions per layer and per inference, per kernel family.

Each op that runs a kernel (not a RESHAPE alias) falls into one cost class (`cost_class`:
1x1 conv, few-channel conv, other conv, 3x3 / other depthwise, depthwise with a multiplier,
FC, add, mul, mean, pool, activation, softmax, float conversion, other) and costs a
linear function of the work its kernel loops over, TinyEngine style:

    instructions = sum over the class's features of COEFFS[isa][class][feature] x feature

with the features of `features` (MACs, output and input elements, output pixels, rows
and channels, im2col column elements, the call); which ones a class has is
`CLASS_FEATURES`. The memory plan takes part: a KxK convolution the planner granted
im2col scratch runs another loop than one reading its taps in place.

The coefficients are fitted, one table per ISA (dsp: Cortex-M4/M7's DSP kernels, mve:
Cortex-M55's, ref: the portable C kernels, as on Cortex-M3) and one for the portable
kernels on Armv6-M (v6m: Cortex-M0+, `table_key`), by benchmarks/fit_latency.py:
non-negative least squares on per-layer instruction counts from `tinyconv profile` (QEMU
TCG plugin), the kernel benchmark's models (benchmarks/results/kernels.json), mcunet and
fusednet configs of the search spaces (benchmarks/results/latency_fit.json), both on Cortex-M0+
(latency_fit_m0plus.json), and 16x8 twins of the kernel benchmark's models and the 16x8
audio net on M7, M55, M3 and M0+ (latency_fit_int16.json). That script rewrites
the table between the FITTED markers below and prints, per model and CPU, the estimate
against the measured count. tests/unit/test_space.py checks the model against builds.

Users: the search's --max-instructions (`space.Cost.instructions`, the total) and
`tinyconv inspect` (a column per layer, and the total).

Also here, the flash code estimate of the search (`code_bytes`): firmware flash = .text +
.data of the linked ELF; of that the model's constant arrays are known exactly
(ModelSource.weights_bytes), the rest is code (start-up, app, the kernels linked in, one
call and its parameter structs per op). The configs of a backbone link the same kernels, the
fused backbone no depthwise one, so code = base + per_op x ops + depthwise x (a depthwise
conv linked), per ISA, fitted by the same script on the search-space configs' builds.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import TinyconvError
from .ir import ops as O
from .ir.graph import DType, Graph
from .planner import Plan, plan_memory

FEATURES = ("macs", "direct", "patch", "outputs", "inputs", "pixels", "rows", "channels",
            "call", "macs16", "outputs16")

# int16 layers (16x8: int16 activations, int8 weights) run other kernels than their int8
# twins (64-bit accumulators and requantization, no 4x8-bit SIMD; the portable ones are
# leaner than the int8 reference loops): their MACs and output elements have their own
# coefficients, `macs16` and `outputs16` in place of `macs` (with `direct` and `patch`) and
# `outputs`; the other features (the call, channels, pixels, ...) are shared.
_WIDE = ("macs16", "outputs16")
_CONV = ("macs", "direct", "patch", "outputs", "pixels", "channels", "call") + _WIDE
_DEPTHWISE = ("macs", "outputs", "inputs", "pixels", "rows", "channels", "call") + _WIDE
CLASS_FEATURES: dict[str, tuple[str, ...]] = {
    "1x1 conv": ("macs", "outputs", "inputs", "pixels", "channels", "call") + _WIDE,  # GEMM
    "few-channel conv": _CONV,        # KxK on <= 4 input channels: the RGB / audio stem
    "other conv": _CONV,              # KxK, strided 1x1
    "3x3 depthwise": _DEPTHWISE,
    "other depthwise": _DEPTHWISE,
    # depth_multiplier > 1: one layer of each dtype measured, so one coefficient each
    "depthwise multiplier": ("macs", "macs16"),
    "FC": ("macs", "outputs", "inputs", "call") + _WIDE,
    "add": ("outputs", "call", "outputs16"),                # ADD, SUB
    "mul": ("outputs", "call", "outputs16"),
    "mean": ("inputs", "outputs", "call", "outputs16"),
    "pool": ("inputs", "outputs", "call", "outputs16"),     # AVERAGE_POOL_2D, MAX_POOL_2D
    "activation": ("outputs", "call", "outputs16"),         # unary elementwise
    "softmax": ("outputs", "call", "outputs16"),
    "float": ("outputs", "call"),    # QUANTIZE from / DEQUANTIZE to float32 (soft-float)
    "other": ("inputs", "outputs", "call", "outputs16"),    # PAD, CONCATENATION, ...
}
COST_CLASSES = tuple(CLASS_FEATURES)
# A class the fit had no layer of (its table has no row) is priced as its nearest kin.
FALLBACK = {"few-channel conv": "other conv", "other conv": "few-channel conv",
            "other depthwise": "3x3 depthwise", "depthwise multiplier": "other depthwise",
            "mul": "add", "pool": "mean", "mean": "pool", "other": "activation",
            "float": "activation"}

# One table per kernel family (Isa), but for the portable kernels built for Armv6-M
# (Cortex-M0/M0+: Thumb-1, no 32x32->64 multiply, no divide, so every requantization calls
# a libgcc helper): measured, they take 1.5-2x the Cortex-M3's instructions. `table_key`.
ARMV6M = "v6m"
ARMV6M_CPUS = ("cortex-m0", "cortex-m0plus")


def table_key(isa: O.Isa, cpu: str | None = None) -> str:
    """The COEFFS table pricing `isa`'s kernels on `cpu` (None or "": the ISA's own). The
    streamed runs' extra (STREAM) and the code size (CODE_BYTES) stay per ISA."""
    return ARMV6M if isa is O.Isa.REF and cpu in ARMV6M_CPUS else isa.value


# The model is held to this relative error on the whole-inference count of every model it
# was fitted on (kernel benchmark models x CPUs, search-space configs): issue 10.
TOLERANCE = 0.10


def cost_class(op: O.Op) -> str | None:
    """The class whose coefficients price `op`; None for ops that run no kernel."""
    if op.is_alias:
        return None
    if isinstance(op, O.Conv2D):
        if op.is_pointwise:
            return "1x1 conv"
        return "few-channel conv" if op.x.nhwc()[3] <= 4 else "other conv"
    if isinstance(op, O.DepthwiseConv2D):
        if op.depth_multiplier != 1:
            return "depthwise multiplier"
        return "3x3 depthwise" if tuple(op.filter.shape[1:3]) == (3, 3) else "other depthwise"
    if isinstance(op, O.FullyConnected):
        return "FC"
    if isinstance(op, (O.Add, O.Sub)):
        return "add"
    if isinstance(op, O.Mul):
        return "mul"
    if isinstance(op, O.Mean):
        return "mean"
    if isinstance(op, O.Pool2D):
        return "pool"
    if isinstance(op, O.Softmax):
        return "softmax"
    if isinstance(op, (O.Quantize, O.Dequantize)) and any(
            t.dtype is DType.FLOAT32 for t in op.activation_inputs() + op.outputs):
        return "float"
    if isinstance(op, O.Elementwise):
        return "activation"
    return "other"


def features(op: O.Op, plan: Plan | O.Isa, granted: int | None = None) -> dict[str, float]:
    """The work of `op`'s kernel, by feature (all of FEATURES; its class uses some):
    MACs; of a KxK convolution's MACs, `direct` those computed from the input in place
    (no im2col columns: no fast scratch granted, none on the stack) and `patch` the column
    elements it gathers otherwise (out pixels x kh x kw x in channels); output and input
    elements; output `pixels`, `rows` (out rows x channels) and `channels`; the call.
    An int16 op (an int16 activation in or out) has its MACs and output elements as
    `macs16` and `outputs16` instead (and no `direct`, `patch`, `macs`, `outputs`).
    `granted`: the scratch bytes the kernel is given (default: what `plan` gave the op;
    with an ISA instead of a plan, `granted` is required)."""
    macs = op.macs()
    isa = plan if isinstance(plan, O.Isa) else plan.isa
    if granted is None:
        granted = plan.scratch.get(op.index, (0, 0))[1]
    n, oh, ow, oc = op.y.nhwc() if len(op.y.shape) <= 4 else (1, 1, 1, op.y.size)
    direct = patch = 0
    if isinstance(op, O.Conv2D) and not op.is_pointwise:
        fast = op.fast_scratch_bytes(isa)
        if fast and (granted >= fast or op.stack_columns_bytes(isa) > 0):
            patch = macs // oc
        else:
            direct = macs
    f = {"macs": float(macs), "direct": float(direct), "patch": float(patch),
         "outputs": float(op.y.size),
         "inputs": float(sum(t.size for t in op.activation_inputs())),
         "pixels": float(n * oh * ow), "rows": float(n * oh * oc), "channels": float(oc),
         "call": 1.0, "macs16": 0.0, "outputs16": 0.0}
    if any(t.dtype is DType.INT16 for t in op.activation_inputs() + op.outputs):
        f["macs16"], f["outputs16"] = f["macs"], f["outputs"]
        f["macs"] = f["direct"] = f["patch"] = f["outputs"] = 0.0
    return f


@dataclass(frozen=True)
class LayerEstimate:
    op_index: int
    kind: str
    cost_class: str
    instructions: int


@dataclass(frozen=True)
class Estimate:
    isa: str
    layers: tuple[LayerEstimate, ...]

    @property
    def instructions(self) -> int:
        """The whole inference: the layers' sum."""
        return sum(x.instructions for x in self.layers)

    def by_op(self) -> dict[int, int]:
        return {x.op_index: x.instructions for x in self.layers}


def layer_instructions(op: O.Op, plan: Plan | O.Isa, coeffs: dict | None = None,
                       granted: int | None = None, cpu: str | None = None) -> int:
    """Estimated instructions of one op's kernel call under `plan` (0 for an alias); see
    `features` for `granted`. `cpu`: the CPU the kernels run on (`table_key`; default: the
    plan's, as deploy.prepare sets it)."""
    cls = cost_class(op)
    if cls is None:
        return 0
    isa = plan if isinstance(plan, O.Isa) else plan.isa
    if cpu is None and not isinstance(plan, O.Isa):
        cpu = plan.cpu
    key = table_key(isa, cpu)
    table = (COEFFS if coeffs is None else coeffs).get(key)
    if table is None:
        raise TinyconvError(f"the latency model has no coefficients for {key!r}")
    if cls not in table and FALLBACK.get(cls) in table:
        cls = FALLBACK[cls]
    row = table.get(cls, {})
    f = features(op, plan, granted)
    return int(round(sum(row.get(k, 0.0) * f[k] for k in CLASS_FEATURES[cls])))


def estimate(graph: Graph, isa: O.Isa, plan: Plan | None = None,
             coeffs: dict | None = None, cpu: str | None = None) -> Estimate:
    """Per-layer estimates of every op that runs a kernel, in graph order, on `isa`'s
    kernels. `plan`: the graph's memory plan (which convolutions get im2col scratch), as
    deploy.prepare makes it; planned here when not given. `cpu`: as `layer_instructions`."""
    if plan is None:
        plan = plan_memory(graph, isa)
    elif plan.isa != isa:
        raise TinyconvError(f"latency estimate for {isa.value} from a {plan.isa.value} plan")
    run = plan.stream
    inner = set() if run is None else {op.index for op in run.ops}
    layers = [LayerEstimate(op.index, op.kind, cost_class(op) or "",
                            layer_instructions(op, plan, coeffs,
                                               granted=run.kernel_scratch_bytes
                                               if op.index in inner else None, cpu=cpu))
              for op in graph.ops if not op.is_alias]
    if run is not None:  # the strips' cost, in a row of its own
        layers.append(LayerEstimate(run.index, run.kind, "stream", stream_loop_instructions(run)))
    return Estimate(isa.value, tuple(layers))


# A streamed run (tinyconv/stream.py) is priced as its layers run whole (with the kernel
# scratch the run gives them: a KxK convolution without im2col scratch runs the direct
# loop) plus what cutting them into per-strip calls costs, linear in STREAM_FEATURES:
# - call: calls beyond each layer's first (the kernel's own set-up, the loop's locals);
# - channels: their output channels (per-channel set-up, e.g. 4-channel groups);
# - weights: their filter elements, for KxK convolutions (per-call filter sums);
# - slide: bytes the line buffers slide (the kept rows moved to their start);
# - depthwise: MACs of the run's depthwise layers (multiplier 1), which the layer-wise plan
#   usually runs in place with another kernel (on the portable kernels a faster one).
# Fitted per ISA by benchmarks/fit_latency.py (--measure-streams) on what streamed runs
# measure beyond their layers' counts in the layer-wise plan.
STREAM_FEATURES = ("call", "channels", "weights", "slide", "depthwise")


def stream_features(run) -> dict[str, float]:
    """The run's STREAM_FEATURES."""
    calls: dict[int, int] = {}
    for (index, _, _), count in run.schedule.call_shapes.items():
        calls[index] = calls.get(index, 0) + count
    f = dict.fromkeys(STREAM_FEATURES, 0.0)
    for op in run.ops:
        extra = calls.get(op.index, 1) - 1
        f["call"] += extra
        f["channels"] += extra * op.y.shape[-1]
        if isinstance(op, O.Conv2D) and not op.is_pointwise:
            f["weights"] += extra * op.filter.size
        if isinstance(op, O.DepthwiseConv2D) and op.depth_multiplier == 1:
            f["depthwise"] += op.macs()
    f["slide"] = float(run.schedule.slid_bytes)
    return f


def stream_whole_instructions(run, coeffs: dict | None = None) -> int:
    """The run's layers priced as whole layers, with the run's kernel scratch."""
    return sum(layer_instructions(op, run.isa, coeffs, granted=run.kernel_scratch_bytes)
               for op in run.ops)


def _stream_row(run, stream_coeffs: dict | None) -> dict[str, float]:
    table = STREAM if stream_coeffs is None else stream_coeffs
    return table.get(run.isa.value, {})


def stream_loop_instructions(run, stream_coeffs: dict | None = None) -> int:
    """What cutting the run's layers into strips adds (the STREAM_FEATURES priced)."""
    row, f = _stream_row(run, stream_coeffs), stream_features(run)
    return int(round(sum(row.get(k, 0.0) * f[k] for k in STREAM_FEATURES)))


def stream_run_instructions(run, coeffs: dict | None = None,
                            stream_coeffs: dict | None = None) -> int:
    """The whole streamed run."""
    return stream_whole_instructions(run, coeffs) + stream_loop_instructions(run, stream_coeffs)


def stream_overhead(run, layerwise: Plan) -> int:
    """Instructions the run adds to its layers as the layer-wise plan `layerwise` runs them."""
    return stream_run_instructions(run) - sum(layer_instructions(op, layerwise)
                                              for op in run.ops)


# BEGIN FITTED STREAM (written by benchmarks/fit_latency.py; do not edit by hand)
STREAM: dict[str, dict[str, float]] = {
    "dsp": {"call": 129.9, "channels": 16.91, "weights": 0.0, "slide": 0.7237, "depthwise": 0.2821},
    "mve": {"call": 54.16, "channels": 17.83, "weights": 0.0, "slide": 0.0, "depthwise": 0.06308},
    "ref": {"call": 0.0, "channels": 0.0, "weights": 0.0, "slide": 34.18, "depthwise": 7.035},
}
# END FITTED STREAM


def instructions(graph: Graph, isa: O.Isa, plan: Plan | None = None,
                 cpu: str | None = None) -> int:
    """Estimated instructions per inference (the search's --max-instructions budget)."""
    return estimate(graph, isa, plan, cpu=cpu).instructions


# COEFFS[isa][cost class][feature]: instructions per unit of the feature.
# BEGIN FITTED (written by benchmarks/fit_latency.py; do not edit by hand)
COEFFS: dict[str, dict[str, dict[str, float]]] = {
    "dsp": {
        "1x1 conv": {"macs": 1.368, "outputs": 15.72, "channels": 93.91, "call": 2614.0,
            "macs16": 2.284, "outputs16": 74.99},
        "few-channel conv": {"macs": 1.627, "patch": 4.869, "outputs": 2.236, "pixels": 788.7,
            "call": 13850.0, "macs16": 4.495},
        "other conv": {"macs": 1.117, "direct": 1.332, "patch": 5.107, "outputs": 43.51,
            "pixels": 44.4, "channels": 738.5, "macs16": 3.502},
        "3x3 depthwise": {"macs": 4.645, "rows": 103.6, "channels": 64.79, "macs16": 10.13},
        "other depthwise": {"macs": 4.653, "inputs": 9.969, "macs16": 3.16, "outputs16": 48.75},
        "depthwise multiplier": {"macs": 4.474, "macs16": 16.5},
        "FC": {"macs": 1.601, "outputs": 22.91, "inputs": 2.008, "call": 663.5, "macs16": 3.966,
            "outputs16": 122.1},
        "add": {"outputs": 32.59, "call": 356.6, "outputs16": 77.01},
        "mul": {"outputs": 18.62},
        "mean": {"inputs": 3.259, "outputs": 75.9, "call": 162.6, "outputs16": 64.01},
        "pool": {"inputs": 2.734, "outputs": 34.5, "outputs16": 39.61},
        "activation": {"outputs": 4.0, "call": 20.01},
        "softmax": {"outputs": 312.1, "call": 3602.0},
        "float": {"outputs": 38.08},
    },
    "mve": {
        "1x1 conv": {"macs": 0.08661, "outputs": 23.29, "pixels": 17.05, "channels": 32.96,
            "call": 3583.0, "macs16": 1.067, "outputs16": 67.56},
        "few-channel conv": {"macs": 0.9203, "outputs": 14.87, "pixels": 407.1, "call": 175800.0,
            "macs16": 0.6218, "outputs16": 88.03},
        "other conv": {"macs": 0.05506, "direct": 1.078, "patch": 9.456, "outputs": 8.875,
            "pixels": 95.24, "channels": 930.8, "macs16": 1.88, "outputs16": 40.89},
        "3x3 depthwise": {"macs": 3.974, "rows": 45.91, "channels": 12.11, "macs16": 10.44},
        "other depthwise": {"macs": 3.279, "inputs": 5.807, "macs16": 2.061, "outputs16": 65.55},
        "depthwise multiplier": {"macs": 3.317, "macs16": 16.0},
        "FC": {"macs": 0.3006, "outputs": 32.29, "inputs": 0.679, "call": 489.4, "macs16": 1.565,
            "outputs16": 136.1},
        "add": {"outputs": 17.52, "call": 265.2, "outputs16": 17.5},
        "mul": {"outputs": 10.51},
        "mean": {"inputs": 2.504, "outputs": 71.42, "call": 221.5, "outputs16": 65.85},
        "pool": {"inputs": 1.302, "outputs": 30.03, "outputs16": 36.47},
        "activation": {"outputs": 0.875, "call": 18.97},
        "softmax": {"outputs": 416.9, "call": 2716.0},
        "float": {"outputs": 39.97},
    },
    "ref": {
        "1x1 conv": {"macs": 6.014, "outputs": 64.33, "pixels": 94.32, "channels": 5.064,
            "macs16": 3.521, "outputs16": 64.55},
        "few-channel conv": {"direct": 17.07, "channels": 30310.0, "call": 116000.0,
            "outputs16": 68.19},
        "other conv": {"macs": 5.759, "outputs": 182.4, "pixels": 1972.0, "macs16": 4.203},
        "3x3 depthwise": {"outputs": 240.2, "inputs": 1.758, "pixels": 129.2, "macs16": 29.79},
        "other depthwise": {"macs": 11.81, "pixels": 3822.0, "macs16": 11.81, "outputs16": 99.93},
        "depthwise multiplier": {"macs": 24.78, "macs16": 16.4},
        "FC": {"macs": 6.982, "outputs": 59.66, "inputs": 0.01013, "call": 33.14,
            "macs16": 6.012, "outputs16": 150.8},
        "add": {"outputs": 125.8, "call": 386.0, "outputs16": 109.4},
        "mul": {"outputs": 61.51},
        "mean": {"inputs": 3.248, "outputs": 79.35, "call": 115.9, "outputs16": 65.83},
        "pool": {"inputs": 7.998, "outputs": 71.67, "outputs16": 72.06},
        "activation": {"outputs": 5.0, "call": 14.3},
        "softmax": {"outputs": 520.4, "call": 1251.0},
        "float": {"outputs": 313.4, "call": 80170.0},
    },
    "v6m": {
        "1x1 conv": {"macs": 12.89, "outputs": 148.5, "inputs": 2.659, "pixels": 17.65,
            "macs16": 17.63, "outputs16": 149.3},
        "few-channel conv": {"macs": 25.18, "pixels": 306.2, "channels": 92300.0,
            "macs16": 3.294, "outputs16": 194.1},
        "other conv": {"macs": 8.227, "outputs": 290.9, "pixels": 3900.0, "macs16": 10.71,
            "outputs16": 881.7},
        "3x3 depthwise": {"macs": 49.57, "inputs": 1.17, "macs16": 66.67},
        "other depthwise": {"macs": 17.81, "pixels": 14330.0, "macs16": 26.23},
        "depthwise multiplier": {"macs": 38.48, "macs16": 34.19},
        "FC": {"macs": 10.92, "outputs": 139.4, "macs16": 15.14, "outputs16": 298.4},
        "add": {"outputs": 334.1, "call": 10950.0, "outputs16": 276.5},
        "mul": {"outputs": 133.9},
        "mean": {"inputs": 5.096, "outputs": 149.0, "call": 592.3, "outputs16": 135.6},
        "pool": {"inputs": 9.73, "outputs": 148.1, "outputs16": 179.8},
        "activation": {"outputs": 6.0, "call": 16.03},
        "softmax": {"outputs": 1508.0, "call": 3155.0},
        "float": {"outputs": 429.1, "call": 164000.0},
    },
}
# END FITTED


def code_features(graph: Graph) -> tuple[float, float, float]:
    """What the code-size line is linear in: 1, the ops that run a kernel, and whether a
    depthwise kernel is linked (the fused backbone links none)."""
    ops = [op for op in graph.ops if not op.is_alias]
    return (1.0, float(len(ops)), float(any(op.kind == "DEPTHWISE_CONV_2D" for op in ops)))


def code_bytes(graph: Graph, isa: O.Isa) -> int:
    """Estimated flash of everything but the constant arrays, for a search-space graph."""
    return int(round(sum(c * f for c, f in zip(CODE_BYTES[isa.value], code_features(graph)))))


# CODE_BYTES[isa]: (base, bytes per op that runs a kernel, bytes of the depthwise kernels),
# for the search spaces' backbones.
# BEGIN FITTED CODE (written by benchmarks/fit_latency.py; do not edit by hand)
CODE_BYTES: dict[str, tuple[float, float, float]] = {
    "dsp": (16379.84, 175.94, 3961.44),
    "mve": (11031.32, 175.47, 2932.48),
    "ref": (8246.99, 176.05, 1584.12),
}
# END FITTED CODE
