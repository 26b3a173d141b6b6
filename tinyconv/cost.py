"""The latency model: estimated instructions per layer and per inference, per kernel family.

Each op that runs a kernel (not a RESHAPE alias) falls into one cost class (`cost_class`:
1x1 conv, few-channel conv, other conv, 3x3 / other depthwise, depthwise with a multiplier,
FC, add, mul, mean, pool, activation, softmax, other) and costs a linear function of the
work its kernel loops over, TinyEngine style:

    instructions = sum over the class's features of COEFFS[isa][class][feature] x feature

with the features of `features` (MACs, output and input elements, output pixels, rows
and channels, im2col column elements, the call); which ones a class has is
`CLASS_FEATURES`. The memory plan takes part: a KxK convolution the planner granted
im2col scratch runs another loop than one reading its taps in place.

The coefficients are fitted, one table per ISA (dsp: Cortex-M4/M7's DSP kernels, mve:
Cortex-M55's, ref: the portable C kernels, as on Cortex-M3), by benchmarks/fit_latency.py:
non-negative least squares on per-layer instruction counts from `tinyconv profile` (QEMU
TCG plugin), the kernel benchmark's models (benchmarks/results/kernels.json) and mcunet
configs of the search space (benchmarks/results/latency_fit.json). That script rewrites
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
from .ir.graph import Graph
from .planner import Plan, plan_memory

FEATURES = ("macs", "direct", "patch", "outputs", "inputs", "pixels", "rows", "channels",
            "call")

_CONV = ("macs", "direct", "patch", "outputs", "pixels", "channels", "call")
_DEPTHWISE = ("macs", "outputs", "inputs", "pixels", "rows", "channels", "call")
CLASS_FEATURES: dict[str, tuple[str, ...]] = {
    "1x1 conv": ("macs", "outputs", "inputs", "pixels", "channels", "call"),  # a GEMM
    "few-channel conv": _CONV,        # KxK on <= 4 input channels: the RGB / audio stem
    "other conv": _CONV,              # KxK, strided 1x1
    "3x3 depthwise": _DEPTHWISE,
    "other depthwise": _DEPTHWISE,
    "depthwise multiplier": ("macs", "outputs", "inputs", "call"),  # depth_multiplier > 1
    "FC": ("macs", "outputs", "inputs", "call"),
    "add": ("outputs", "call"),                # ADD, SUB
    "mul": ("outputs", "call"),
    "mean": ("inputs", "outputs", "call"),
    "pool": ("inputs", "outputs", "call"),     # AVERAGE_POOL_2D, MAX_POOL_2D
    "activation": ("outputs", "call"),         # unary elementwise
    "softmax": ("outputs", "call"),
    "other": ("inputs", "outputs", "call"),    # PAD, CONCATENATION, ...
}
COST_CLASSES = tuple(CLASS_FEATURES)
# A class the fit had no layer of (its table has no row) is priced as its nearest kin.
FALLBACK = {"few-channel conv": "other conv", "other conv": "few-channel conv",
            "other depthwise": "3x3 depthwise", "depthwise multiplier": "other depthwise",
            "mul": "add", "pool": "mean", "mean": "pool", "other": "activation"}

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
    if isinstance(op, O.Elementwise):
        return "activation"
    return "other"


def features(op: O.Op, plan: Plan | O.Isa, granted: int | None = None) -> dict[str, float]:
    """The work of `op`'s kernel, by feature (all of FEATURES; its class uses some):
    MACs; of a KxK convolution's MACs, `direct` those computed from the input in place
    (no im2col columns: no fast scratch granted, none on the stack) and `patch` the column
    elements it gathers otherwise (out pixels x kh x kw x in channels); output and input
    elements; output `pixels`, `rows` (out rows x channels) and `channels`; the call.
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
    return {"macs": float(macs), "direct": float(direct), "patch": float(patch),
            "outputs": float(op.y.size),
            "inputs": float(sum(t.size for t in op.activation_inputs())),
            "pixels": float(n * oh * ow), "rows": float(n * oh * oc), "channels": float(oc),
            "call": 1.0}


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
                       granted: int | None = None) -> int:
    """Estimated instructions of one op's kernel call under `plan` (0 for an alias); see
    `features` for `granted`."""
    cls = cost_class(op)
    if cls is None:
        return 0
    isa = plan if isinstance(plan, O.Isa) else plan.isa
    table = (COEFFS if coeffs is None else coeffs).get(isa.value)
    if table is None:
        raise TinyconvError(f"the latency model has no coefficients for ISA {isa.value!r}")
    if cls not in table and FALLBACK.get(cls) in table:
        cls = FALLBACK[cls]
    row = table.get(cls, {})
    f = features(op, plan, granted)
    return int(round(sum(row.get(k, 0.0) * f[k] for k in CLASS_FEATURES[cls])))


def estimate(graph: Graph, isa: O.Isa, plan: Plan | None = None,
             coeffs: dict | None = None) -> Estimate:
    """Per-layer estimates of every op that runs a kernel, in graph order, on `isa`'s
    kernels. `plan`: the graph's memory plan (which convolutions get im2col scratch), as
    deploy.prepare makes it; planned here when not given."""
    if plan is None:
        plan = plan_memory(graph, isa)
    elif plan.isa != isa:
        raise TinyconvError(f"latency estimate for {isa.value} from a {plan.isa.value} plan")
    run = plan.stream
    inner = set() if run is None else {op.index for op in run.ops}
    layers = [LayerEstimate(op.index, op.kind, cost_class(op) or "",
                            layer_instructions(op, plan, coeffs,
                                               granted=run.kernel_scratch_bytes
                                               if op.index in inner else None))
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
    "dsp": {"call": 127.1, "channels": 17.6, "weights": 0.0, "slide": 0.7353, "depthwise": 0.2807},
    "mve": {"call": 14.52, "channels": 29.68, "weights": 0.0, "slide": 0.0, "depthwise": 0.03118},
    "ref": {"call": 0.0, "channels": 0.0, "weights": 0.0, "slide": 34.18, "depthwise": 7.035},
}
# END FITTED STREAM


def instructions(graph: Graph, isa: O.Isa, plan: Plan | None = None) -> int:
    """Estimated instructions per inference (the search's --max-instructions budget)."""
    return estimate(graph, isa, plan).instructions


# COEFFS[isa][cost class][feature]: instructions per unit of the feature.
# BEGIN FITTED (written by benchmarks/fit_latency.py; do not edit by hand)
COEFFS: dict[str, dict[str, dict[str, float]]] = {
    "dsp": {
        "1x1 conv": {"macs": 1.368, "outputs": 15.72, "channels": 93.92, "call": 2613.0},
        "few-channel conv": {"macs": 1.222, "outputs": 40.2, "pixels": 300.2, "channels": 73.91,
            "call": 8814.0},
        "other conv": {"macs": 1.184, "direct": 1.23, "patch": 3.312, "outputs": 39.28,
            "pixels": 190.1, "channels": 29.53},
        "3x3 depthwise": {"macs": 4.644, "rows": 103.7, "channels": 64.62},
        "other depthwise": {"macs": 4.652, "inputs": 9.975},
        "depthwise multiplier": {"macs": 4.474},
        "FC": {"macs": 1.546, "outputs": 39.7, "inputs": 2.532, "call": 499.3},
        "add": {"outputs": 32.59, "call": 356.4},
        "mul": {"outputs": 18.61},
        "mean": {"inputs": 2.75, "outputs": 59.26, "call": 152.8},
        "pool": {"inputs": 2.555, "outputs": 12.11},
        "activation": {"outputs": 4.0, "call": 20.0},
        "softmax": {"outputs": 628.5, "call": 438.2},
    },
    "mve": {
        "1x1 conv": {"macs": 0.08806, "outputs": 23.29, "pixels": 16.09, "channels": 32.47,
            "call": 3611.0},
        "few-channel conv": {"macs": 0.02361, "outputs": 43.06, "pixels": 364.0,
            "channels": 947.7},
        "other conv": {"macs": 0.1511, "direct": 0.8245, "patch": 2.967, "outputs": 11.59,
            "pixels": 401.3, "call": 27990.0},
        "3x3 depthwise": {"macs": 3.973, "rows": 46.16, "channels": 11.62},
        "other depthwise": {"macs": 3.277, "inputs": 5.815},
        "depthwise multiplier": {"macs": 3.317},
        "FC": {"macs": 0.2244, "outputs": 54.34, "inputs": 1.365, "call": 277.4},
        "add": {"outputs": 17.5, "call": 277.0},
        "mul": {"outputs": 10.51},
        "mean": {"inputs": 2.249, "outputs": 69.07, "call": 127.7},
        "pool": {"inputs": 1.449, "outputs": 20.6},
        "activation": {"outputs": 0.875, "call": 18.97},
        "softmax": {"outputs": 578.7, "call": 1098.0},
    },
    "ref": {
        "1x1 conv": {"macs": 5.999, "outputs": 66.65, "inputs": 0.1156, "pixels": 15.03,
            "channels": 0.06863},
        "few-channel conv": {"macs": 8.782, "outputs": 201.1, "channels": 43880.0},
        "other conv": {"direct": 5.594, "outputs": 125.6, "pixels": 3226.0},
        "3x3 depthwise": {"macs": 27.59, "pixels": 222.5},
        "other depthwise": {"macs": 11.0, "outputs": 38.51, "inputs": 26.44},
        "depthwise multiplier": {"macs": 24.78},
        "FC": {"macs": 6.967, "outputs": 63.99, "inputs": 0.1725},
        "add": {"outputs": 126.2, "call": 365.0},
        "mul": {"outputs": 61.51},
        "mean": {"inputs": 2.975, "outputs": 76.2, "call": 176.3},
        "pool": {"inputs": 7.872},
        "activation": {"outputs": 5.0, "call": 12.77},
        "softmax": {"outputs": 549.5, "call": 1249.0},
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
