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
TCG plugin), the kernel benchmark's models (benchmarks/results/kernels.json), mcunet
configs of the search space (benchmarks/results/latency_fit.json), both on Cortex-M0+
(latency_fit_m0plus.json), and 16x8 twins of the kernel benchmark's models and the 16x8
audio net on M7, M55, M3 and M0+ (latency_fit_int16.json). That script rewrites
the table between the FITTED markers below and prints, per model and CPU, the estimate
against the measured count. tests/unit/test_space.py checks the model against builds.

Users: the search's --max-instructions (`space.Cost.instructions`, the total) and
`tinyconv inspect` (a column per layer, and the total).

Also here, the flash code estimate of the search (`code_bytes`): firmware flash = .text +
.data of the linked ELF; of that the model's constant arrays are known exactly
(ModelSource.weights_bytes), the rest is code (start-up, app, the kernels linked in, one
call and its parameter structs per op). Every mcunet config links the same kernels, so
code = base + per_op x ops, per ISA, fitted by the same script on the mcunet configs' builds.
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
    "dsp": {"call": 134.1, "channels": 15.87, "weights": 0.0, "slide": 0.6946, "depthwise": 0.2849},
    "mve": {"call": 14.14, "channels": 29.79, "weights": 0.0, "slide": 0.0, "depthwise": 0.03088},
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
            "macs16": 2.285, "outputs16": 74.95},
        "few-channel conv": {"macs": 1.637, "patch": 4.946, "outputs": 3.345, "pixels": 781.6,
            "call": 12290.0, "macs16": 4.537},
        "other conv": {"macs": 1.095, "direct": 1.443, "patch": 6.601, "outputs": 29.88,
            "channels": 1169.0, "call": 53410.0, "macs16": 3.48},
        "3x3 depthwise": {"macs": 4.644, "rows": 103.6, "channels": 64.8, "macs16": 10.11},
        "other depthwise": {"macs": 4.652, "inputs": 9.972, "macs16": 3.16, "outputs16": 48.73},
        "depthwise multiplier": {"macs": 4.474, "macs16": 16.5},
        "FC": {"macs": 1.599, "outputs": 22.88, "inputs": 2.035, "call": 663.7, "macs16": 3.966,
            "outputs16": 121.9},
        "add": {"outputs": 32.59, "call": 356.4, "outputs16": 77.03},
        "mul": {"outputs": 18.62},
        "mean": {"inputs": 2.75, "outputs": 59.27, "call": 152.6, "outputs16": 68.62},
        "pool": {"inputs": 2.806, "outputs": 34.07, "outputs16": 38.79},
        "activation": {"outputs": 4.0, "call": 20.0},
        "softmax": {"outputs": 312.0, "call": 3603.0},
        "float": {"outputs": 38.08},
    },
    "mve": {
        "1x1 conv": {"macs": 0.08654, "outputs": 23.29, "pixels": 17.09, "channels": 32.98,
            "call": 3583.0, "macs16": 1.064, "outputs16": 67.72},
        "few-channel conv": {"macs": 1.021, "outputs": 6.426, "pixels": 549.8, "call": 163000.0,
            "macs16": 1.035, "outputs16": 67.98},
        "other conv": {"macs": 0.1356, "direct": 0.8682, "patch": 3.643, "outputs": 14.73,
            "pixels": 286.8, "call": 27570.0, "macs16": 1.9, "outputs16": 28.04},
        "3x3 depthwise": {"macs": 3.974, "rows": 45.96, "channels": 12.0, "macs16": 10.4},
        "other depthwise": {"macs": 3.279, "inputs": 5.807, "macs16": 2.061, "outputs16": 65.55},
        "depthwise multiplier": {"macs": 3.317, "macs16": 16.0},
        "FC": {"macs": 0.3058, "outputs": 30.83, "inputs": 0.576, "call": 509.7, "macs16": 1.562,
            "outputs16": 137.4},
        "add": {"outputs": 17.5, "call": 277.0, "outputs16": 17.49},
        "mul": {"outputs": 10.51},
        "mean": {"inputs": 2.251, "outputs": 69.02, "call": 132.6, "outputs16": 68.34},
        "pool": {"inputs": 1.365, "outputs": 29.65, "outputs16": 29.89},
        "activation": {"outputs": 0.875, "call": 18.97},
        "softmax": {"outputs": 349.3, "call": 3392.0},
        "float": {"outputs": 39.97},
    },
    "ref": {
        "1x1 conv": {"macs": 6.014, "outputs": 64.3, "pixels": 94.42, "channels": 5.082,
            "macs16": 3.522, "outputs16": 64.55},
        "few-channel conv": {"direct": 17.08, "channels": 30410.0, "call": 107500.0,
            "outputs16": 68.46},
        "other conv": {"macs": 5.409, "outputs": 316.5, "channels": 1462.0, "macs16": 4.65},
        "3x3 depthwise": {"outputs": 240.2, "inputs": 1.817, "pixels": 123.5, "macs16": 29.79},
        "other depthwise": {"macs": 11.82, "pixels": 3831.0, "macs16": 11.81, "outputs16": 99.55},
        "depthwise multiplier": {"macs": 24.78, "macs16": 16.4},
        "FC": {"macs": 6.985, "outputs": 58.84, "inputs": 0.007865, "call": 36.35,
            "macs16": 6.012, "outputs16": 150.6},
        "add": {"outputs": 125.9, "call": 317.9, "outputs16": 109.5},
        "mul": {"outputs": 61.51},
        "mean": {"inputs": 2.998, "outputs": 76.35, "call": 103.1, "outputs16": 68.09},
        "pool": {"inputs": 6.944, "call": 6891.0, "outputs16": 14.75},
        "activation": {"outputs": 5.0, "call": 12.77},
        "softmax": {"outputs": 519.3, "call": 1249.0},
        "float": {"outputs": 301.4, "call": 85910.0},
    },
    "v6m": {
        "1x1 conv": {"macs": 12.88, "outputs": 149.0, "inputs": 5.583, "macs16": 17.29,
            "outputs16": 152.9},
        "few-channel conv": {"macs": 23.0, "pixels": 2590.0, "channels": 91650.0,
            "macs16": 2.943, "outputs16": 21.58},
        "other conv": {"direct": 7.568, "pixels": 10830.0, "macs16": 11.06, "outputs16": 471.2},
        "3x3 depthwise": {"macs": 50.37, "inputs": 1.082, "macs16": 66.76},
        "other depthwise": {"macs": 18.32, "pixels": 9726.0, "macs16": 24.35, "outputs16": 183.3},
        "depthwise multiplier": {"macs": 38.48, "macs16": 34.19},
        "FC": {"macs": 10.8, "outputs": 182.7, "macs16": 14.85, "outputs16": 325.9},
        "add": {"outputs": 335.9, "call": 539.4, "outputs16": 288.1},
        "mul": {"outputs": 133.9},
        "mean": {"inputs": 5.19, "outputs": 150.5, "call": 358.2, "outputs16": 136.6},
        "pool": {"inputs": 7.981, "call": 15410.0, "outputs16": 29.77},
        "activation": {"outputs": 6.0, "call": 16.03},
        "softmax": {"outputs": 1772.0, "call": 737.9, "outputs16": 191.8},
        "float": {"outputs": 333.0, "call": 210000.0},
    },
}
# END FITTED


def code_bytes(graph: Graph, isa: O.Isa) -> int:
    """Estimated flash of everything but the constant arrays, for a search-space graph."""
    base, per_op = CODE_BYTES[isa.value]
    return int(round(base + per_op * sum(1 for op in graph.ops if not op.is_alias)))


# CODE_BYTES[isa]: (base, bytes per op that runs a kernel), for the mcunet search space.
# BEGIN FITTED CODE (written by benchmarks/fit_latency.py; do not edit by hand)
CODE_BYTES: dict[str, tuple[float, float]] = {
    "dsp": (20107.0, 175.73),
    "mve": (13931.8, 175.47),
    "ref": (9644.9, 175.83),
}
# END FITTED CODE
