"""Validation of an imported graph: every op's tensors, shapes, options and quantization.

Generated C trusts the graph: a kernel reads `product(input dims)` bytes and writes
`product(output dims)` bytes at the offsets the planner gave, with the filter, bias and
per-channel arrays sized by the channel counts. So an importer calls `validate(graph)`
before anything else uses the graph, and a graph it accepts cannot make generated code
read or write outside a buffer: tensor references and the dataflow are consistent, every
op's output shape is what its inputs and options give (TFLite's Prepare rules), per-axis
quantization has one scale per channel on the right axis, constants hold exactly
product(shape) elements of their dtype, and dtypes are the ones the kernels read.

Like TFLite Micro's per-kernel Prepare, each op kind registers one rule (`@rule`); an op
kind without a rule is rejected, so a new op cannot slip through unchecked. Failures are
TinyconvError naming the file, the op (index, kind, name), the tensor and what is wrong.
"""

from __future__ import annotations

import math
from typing import Callable, NoReturn

import numpy as np

from ..errors import TinyconvError
from . import ops as O
from .graph import DType, Graph, Tensor

# Tensors the C code indexes with int32 arithmetic: every byte count must fit.
MAX_TENSOR_BYTES = 2**31 - 1
MAX_RANK = 6
# Strides, dilations, filter and pool sizes: far beyond any real model, small enough that
# the kernels' int32 index arithmetic (out * stride - pad + tap * dilation) cannot overflow.
MAX_WINDOW = 1 << 16
SOFTMAX_MAX_ROW = 1 << 12  # TC_SOFTMAX_ACCUM_INTEGER_BITS: the sum of exps is Q12.19

_INT_RANGES = {DType.INT8: (-128, 127), DType.UINT8: (0, 255), DType.INT16: (-32768, 32767)}
_INDEX_TYPES = (DType.INT32, DType.INT64)  # axes, paddings, permutations, shapes


class Check:
    """What a rule is given: the op, and `fail` / `require` that name it in the error."""

    def __init__(self, graph: Graph, op: O.Op, source: str):
        self.graph, self.op, self.source = graph, op, source

    def fail(self, message: str, tensor: Tensor | None = None) -> NoReturn:
        where = f"tensor {tensor.name!r}: " if tensor is not None else ""
        raise TinyconvError(f"{self.source}: op #{self.op.index} {self.op.kind}"
                            f"{f' ({self.op.name})' if self.op.name else ''}: {where}{message}")

    def require(self, condition: bool, message: str, tensor: Tensor | None = None) -> None:
        if not condition:
            self.fail(message, tensor)

    # -- shared checks ------------------------------------------------------------------
    def dtype(self, t: Tensor, *allowed: DType) -> None:
        self.require(t.dtype in allowed, f"is {t.dtype.name}, expected "
                     f"{' or '.join(d.name for d in allowed)}", t)

    def rank(self, t: Tensor, low: int, high: int | None = None) -> None:
        high = low if high is None else high
        self.require(low <= len(t.shape) <= high,
                     f"has shape {list(t.shape)}, expected "
                     + (f"rank {low}" if low == high else f"rank {low} to {high}"), t)

    def constant(self, t: Tensor) -> np.ndarray:
        self.require(t.is_constant, "must be a constant tensor", t)
        return t.data  # type: ignore[return-value]

    def per_tensor_quant(self, t: Tensor) -> None:
        """An activation's quantization: one positive scale (it is divided by)."""
        q = t.quant
        self.require(q is not None, "has no quantization parameters (expected an int8 "
                     "quantized tensor)", t)
        assert q is not None
        self.require(len(q.scale) == 1, f"has {len(q.scale)} scales; activations take "
                     "one scale and zero point", t)
        self.require(q.scale[0] > 0, f"has quantization scale {q.scale[0]!r}, expected > 0",
                     t)

    def channel_quant(self, t: Tensor, axis: int, channels: int) -> None:
        """Weights: per tensor, or one scale per channel along `axis`."""
        q = t.quant
        self.require(q is not None, "has no quantization parameters (expected int8 "
                     "quantized weights)", t)
        assert q is not None
        if q.per_channel:
            self.require(q.axis == axis and len(q.scale) == channels,
                         f"has {len(q.scale)} scales on axis {q.axis}, expected one per "
                         f"channel: {channels} on axis {axis}", t)

    def bias(self, t: Tensor | None, channels: int) -> None:
        if t is None:
            return
        self.constant(t)
        self.dtype(t, DType.INT32, DType.INT64)
        self.require(t.shape == (channels,), f"has shape {list(t.shape)}, expected "
                     f"[{channels}] (one per output channel)", t)

    def same_shape(self, a: Tensor, b: Tensor) -> None:
        self.require(a.shape == b.shape, f"has shape {list(b.shape)}, expected "
                     f"{list(a.shape)} (the shape of {a.name!r})", b)

    def window(self, what: str, values: tuple[int, ...]) -> None:
        self.require(all(1 <= v <= MAX_WINDOW for v in values),
                     f"{what} {tuple(values)} out of range (1 to {MAX_WINDOW})")


Rule = Callable[[O.Op, Check], None]
# op class -> (min inputs, max inputs, rule); every op has exactly one output.
RULES: dict[type[O.Op], tuple[int, int, Rule]] = {}


def rule(*kinds: type[O.Op], inputs: tuple[int, int]) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        for kind in kinds:
            RULES[kind] = (inputs[0], inputs[1], fn)
        return fn
    return register


def validate(graph: Graph, source: str | None = None) -> None:
    """Raise TinyconvError on the first inconsistency; return None for a graph that the
    planner and the kernels can run without touching memory outside their buffers."""
    source = source or graph.source or graph.name
    _check_tensors(graph, source)
    _check_dataflow(graph, source)
    for op in graph.ops:
        check = Check(graph, op, source)
        entry = RULES.get(type(op))
        if entry is None:
            check.fail("no validation rule for this op kind")
        low, high, fn = entry
        check.require(low <= len(op.inputs) <= high,
                      f"has {len(op.inputs)} inputs, expected {low}"
                      + (f" to {high}" if high != low else ""))
        check.require(len(op.outputs) == 1 or isinstance(op, _MULTI_OUTPUT_OPS),
                      f"has {len(op.outputs)} outputs, expected 1")
        optional = _OPTIONAL_INPUTS.get(type(op), ())
        for i, t in enumerate(op.inputs):
            check.require(t is not None or i in optional, f"input {i} is missing")
        fn(op, check)


# Inputs that may be absent (tensor index -1): the bias of the weighted ops.
_OPTIONAL_INPUTS: dict[type[O.Op], tuple[int, ...]] = {
    O.Conv2D: (2,), O.DepthwiseConv2D: (2,), O.FullyConnected: (2,),
}


def _tensor_error(source: str, t: Tensor, message: str) -> NoReturn:
    raise TinyconvError(f"{source}: tensor {t.name!r} (#{t.index}): {message}")


def _referenced(graph: Graph) -> list[Tensor]:
    seen: dict[int, Tensor] = {}
    for t in list(graph.inputs) + list(graph.outputs):
        seen.setdefault(id(t), t)
    for op in graph.ops:
        for t in list(op.inputs) + list(op.outputs):
            if t is not None:
                seen.setdefault(id(t), t)
    return list(seen.values())


def _check_tensors(graph: Graph, source: str) -> None:
    for t in _referenced(graph):
        if not (0 <= t.index < len(graph.tensors) and graph.tensors[t.index] is t):
            _tensor_error(source, t, "is not the graph's tensor of that index")
        if len(t.shape) > MAX_RANK:
            _tensor_error(source, t, f"has {len(t.shape)} dimensions, at most {MAX_RANK} "
                          "are supported")
        if any(d < 1 for d in t.shape):
            _tensor_error(source, t, f"has shape {list(t.shape)}: every dimension must be "
                          ">= 1")
        nbytes = math.prod(t.shape) * t.dtype.itemsize  # exact: numpy's product may wrap
        if nbytes > MAX_TENSOR_BYTES:
            _tensor_error(source, t, f"has {nbytes} bytes, over the {MAX_TENSOR_BYTES} "
                          "a buffer may hold")
        if t.data is not None and (tuple(t.data.shape) != tuple(t.shape)
                                   or t.data.dtype != t.dtype.numpy):
            _tensor_error(source, t, f"its constant data is {t.data.dtype} "
                          f"{list(t.data.shape)}, the tensor is {t.dtype.name} "
                          f"{list(t.shape)}")
        q = t.quant
        if q is None:
            continue
        if not q.scale or len(q.zero_point) != len(q.scale):
            _tensor_error(source, t, f"has {len(q.scale)} scales and {len(q.zero_point)} "
                          "zero points")
        if not all(math.isfinite(s) and s >= 0 for s in q.scale):
            _tensor_error(source, t, "has a negative or non-finite quantization scale")
        if q.per_channel and not (0 <= q.axis < len(t.shape)
                                  and t.shape[q.axis] == len(q.scale)):
            _tensor_error(source, t, f"has {len(q.scale)} scales on axis {q.axis}, its shape "
                          f"{list(t.shape)} has no such channel count there")
        low, high = _INT_RANGES.get(t.dtype, (-(2**31), 2**31 - 1))
        if not all(low <= z <= high for z in q.zero_point):
            _tensor_error(source, t, f"has a zero point outside the {t.dtype.name} range")


def _check_dataflow(graph: Graph, source: str) -> None:
    """Inputs come first, each activation is written once, and read only after that."""
    if not graph.inputs or not graph.outputs:
        raise TinyconvError(f"{source}: the model has {len(graph.inputs)} inputs and "
                            f"{len(graph.outputs)} outputs, expected at least one of each")
    available: set[int] = set()
    for t in graph.inputs:
        if t.is_constant:
            _tensor_error(source, t, "is a model input and a constant")
        if t.index in available:
            _tensor_error(source, t, "is listed twice as a model input")
        available.add(t.index)
    for op in graph.ops:
        check = Check(graph, op, source)
        for t in op.inputs:
            if t is not None and not t.is_constant and not t.is_variable \
                    and t.index not in available:
                check.fail("is read before any op writes it (not a model input, not "
                           "produced by an earlier op)", t)
        for t in op.outputs:
            check.require(not t.is_constant, "is an op output but a constant", t)
            check.require(t.index not in available, "is written twice (a model input or "
                          "the output of an earlier op)", t)
            available.add(t.index)
    for t in graph.outputs:
        if t.is_constant:
            _tensor_error(source, t, "is a model output and a constant")
        if t.index not in available:
            _tensor_error(source, t, "is a model output that no op writes")


# -- shape arithmetic (TFLite's) --------------------------------------------------------------

def conv_output_size(size: int, kernel: int, stride: int, dilation: int,
                     padding: O.Padding) -> int:
    """ComputeOutSize of TFLite's padding.h: SAME ceil(in / s), VALID ceil((in - eff + 1) / s)."""
    effective = (kernel - 1) * dilation + 1
    if padding is O.Padding.SAME:
        return (size + stride - 1) // stride
    return (size - effective + stride) // stride


def _spatial(check: Check, x: Tensor, y: Tensor, kernel: tuple[int, int],
             stride: tuple[int, int], dilation: tuple[int, int], padding: O.Padding) -> None:
    check.window("stride", stride)
    check.window("dilation", dilation)
    check.window("filter size", kernel)
    for axis, k, s, d in ((1, kernel[0], stride[0], dilation[0]),
                          (2, kernel[1], stride[1], dilation[1])):
        check.require((k - 1) * d + 1 <= MAX_WINDOW,
                      f"dilated filter spans {(k - 1) * d + 1} pixels, over {MAX_WINDOW}")
        expected = conv_output_size(x.shape[axis], k, s, d, padding)
        check.require(expected >= 1, f"a {k}-tap window (dilation {d}) does not fit the "
                      f"input's {x.shape[axis]} pixels with {padding.name} padding", x)
        check.require(y.shape[axis] == expected,
                      f"has shape {list(y.shape)}, expected {expected} on axis {axis} from "
                      f"input {list(x.shape)}, window {k}, stride {s}, dilation {d}, "
                      f"{padding.name} padding", y)


def _int8_activations(check: Check, *tensors: Tensor) -> None:
    for t in tensors:
        check.dtype(t, DType.INT8)
        check.per_tensor_quant(t)


def _activations(check: Check, *tensors: Tensor) -> None:
    """int8 activations, or int16 ones (TFLite's 16x8 mode): all of one type."""
    for t in tensors:
        check.dtype(t, DType.INT8, DType.INT16)
        check.per_tensor_quant(t)
    first = tensors[0]
    for t in tensors[1:]:
        check.require(t.dtype is first.dtype, f"is {t.dtype.name}, tensor {first.name!r} is "
                      f"{first.dtype.name} (int8 and int16 activations do not mix here)", t)


def _int16_weighted(check: Check, x: Tensor, bias: Tensor | None,
                    bias_required: bool = False) -> None:
    """16x8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED: symmetric int16 input (zero
    point 0, as LiteRT requires) and an int64 bias (LiteRT 2.3's 16x8 kernels read any
    bias as int64: an int32 one gives garbage, so it is refused); the convolutions must
    have one (LiteRT fails to prepare them without)."""
    if x.dtype is not DType.INT16:
        return
    assert x.quant is not None
    check.require(x.quant.zp == 0, f"has zero point {x.quant.zp}; 16-bit activations are "
                  "symmetric (zero point 0)", x)
    check.require(bias is not None or not bias_required, "a 16x8 convolution needs a bias "
                  "(LiteRT's kernel requires one)")
    y = check.op.y
    assert y.quant is not None
    check.require(y.quant.zp == 0, f"has zero point {y.quant.zp}; 16-bit activations are "
                  "symmetric (zero point 0)", y)
    if bias is not None:
        check.require(bias.dtype is DType.INT64, f"is {bias.dtype.name}; a 16x8 layer takes "
                      "an int64 bias (LiteRT reads it as int64)", bias)


def _weights(check: Check, w: Tensor) -> None:
    check.constant(w)
    if w.dtype is DType.FLOAT32:
        check.fail("float model (float32 weights); tinyconv deploys full-integer int8 "
                   "models: convert with a representative dataset and TFLITE_BUILTINS_INT8 "
                   "(see `tinyconv train`)", w)
    check.require(w.dtype is DType.INT8, f"has {w.dtype.name} weights; only int8 weights "
                  "are supported", w)


def _accumulator(check: Check, x: Tensor, w: Tensor, bias: Tensor | None, axis: int,
                 filter_offset: int = 0) -> None:
    """The kernels sum (x - zp_x) * (w + filter_offset) over a channel's taps, then add the
    bias. int8 activations: an int32 accumulator, the bias added modulo 2^32 as LiteRT's
    (and onnxruntime's) int32 `acc += bias` does on every target, so any bias is fine (a
    converter saturates a dead channel's bias to +-(2^31 - 1), and its sum wraps); the
    taps' sum alone must fit int32, so that every order of summing them (the SIMD kernels')
    gives the same value. 16x8: an int64 accumulator whose whole sum, bias included, must
    stay within the 2^47 TFLite's 64-bit requantization takes."""
    assert x.quant is not None and w.data is not None
    zp = x.quant.zp
    wide = x.dtype is DType.INT16
    input_reach = max(32767 - zp, zp + 32768) if wide else max(127 - zp, zp + 128)
    weights = np.moveaxis(w.data.astype(np.int64) + filter_offset, axis, 0)
    reach = np.abs(weights).reshape(weights.shape[0], -1).sum(axis=1) * input_reach
    if not wide:
        worst = int(np.argmax(reach))
        check.require(int(reach[worst]) <= 2**31 - 1,
                      f"output channel {worst}: the sum over its taps can reach "
                      f"{int(reach[worst])} (its weights and the input zero point), beyond "
                      "the int32 accumulator", w)
        return
    b = (bias.data.astype(np.int64).reshape(-1) if bias is not None and bias.data is not None
         else np.zeros_like(reach))
    high, low = np.maximum(b, 0) + reach, np.minimum(b, 0) - reach
    limit = 2**47 - 1
    over = np.maximum(high - limit, -(limit + 1) - low)
    worst = int(np.argmax(over))
    check.require(int(over[worst]) <= 0,
                  f"output channel {worst} can overflow the int64 (2^47) accumulator (its "
                  f"weights, bias and the input zero point reach "
                  f"{int(low[worst]) if -low[worst] > high[worst] else int(high[worst])})", w)


def _filter_offset(op: O.Op) -> int:
    """What the kernel adds to each weight: minus the per-tensor weight zero point that
    onnxruntime's convolutions take (OrtConv2D, OrtDepthwiseConv2D), else 0."""
    return -int(getattr(op, "filter_zero_point", 0))


# -- rules ---------------------------------------------------------------------------------

def _image_op(check: Check, x: Tensor, w: Tensor, y: Tensor) -> None:
    """What CONV_2D and DEPTHWISE_CONV_2D share: int8 weights, NHWC int8 activations, one batch
    size in and out."""
    _weights(check, w)
    check.rank(x, 4), check.rank(w, 4), check.rank(y, 4)
    _activations(check, x, y)
    check.require(x.shape[0] == y.shape[0], f"has batch {y.shape[0]}, the input {x.shape[0]}",
                  y)


@rule(O.Conv2D, inputs=(2, 3))
def _conv(op: O.Conv2D, check: Check) -> None:
    x, w, y = op.x, op.filter, op.y
    _image_op(check, x, w, y)
    ic, wic, oc = x.shape[3], w.shape[3], y.shape[3]
    check.require(ic % wic == 0, f"takes {wic} input channels per group, the input has {ic} "
                  "(not a multiple)", w)
    groups = ic // wic
    check.require(w.shape[0] == oc and oc % groups == 0,
                  f"has {w.shape[0]} filters for {oc} output channels in {groups} groups", w)
    _spatial(check, x, y, (w.shape[1], w.shape[2]), op.stride, op.dilation, op.padding)
    check.channel_quant(w, 0, oc)
    check.bias(op.bias, oc)
    _int16_weighted(check, x, op.bias, bias_required=True)
    _accumulator(check, x, w, op.bias, 0, _filter_offset(op))


@rule(O.DepthwiseConv2D, inputs=(2, 3))
def _depthwise(op: O.DepthwiseConv2D, check: Check) -> None:
    x, w, y = op.x, op.filter, op.y
    _image_op(check, x, w, y)
    ic, oc = x.shape[3], y.shape[3]
    check.require(w.shape[0] == 1 and w.shape[3] == oc,
                  f"has shape {list(w.shape)}, expected [1, KH, KW, {oc}]", w)
    check.require(oc % ic == 0 and op.depth_multiplier == oc // ic,
                  f"{oc} output channels are not {op.depth_multiplier} (the depth "
                  f"multiplier) x {ic} input channels", y)
    _spatial(check, x, y, (w.shape[1], w.shape[2]), op.stride, op.dilation, op.padding)
    check.channel_quant(w, 3, oc)
    check.bias(op.bias, oc)
    _int16_weighted(check, x, op.bias, bias_required=True)
    _accumulator(check, x, w, op.bias, 3, _filter_offset(op))


@rule(O.FullyConnected, inputs=(2, 3))
def _fully_connected(op: O.FullyConnected, check: Check) -> None:
    x, w, y = op.x, op.filter, op.y
    _weights(check, w)
    check.rank(w, 2)
    _activations(check, x, y)
    units, depth = w.shape
    check.require(x.size % depth == 0, f"has {x.size} elements, not a multiple of the "
                  f"weights' depth {depth}", x)
    batches = x.size // depth
    if op.keep_num_dims:
        expected = tuple(x.shape[:-1]) + (units,)
        check.require(x.shape[-1:] == (depth,) and y.shape == expected,
                      f"has shape {list(y.shape)}, expected {list(expected)} (keep_num_dims)",
                      y)
    else:
        check.require(y.size == batches * units and y.shape[-1:] == (units,),
                      f"has shape {list(y.shape)}, expected {batches} x {units}", y)
    check.channel_quant(w, 0, units)
    check.bias(op.bias, units)
    _int16_weighted(check, x, op.bias)
    assert w.quant is not None
    # Per-tensor weights are offset by their zero point (per-channel ones are symmetric).
    _accumulator(check, x, w, op.bias, 0, 0 if w.quant.per_channel else -w.quant.zp)


@rule(O.Add, O.Sub, O.Mul, inputs=(2, 2))
def _binary(op: O.Op, check: Check) -> None:
    a, b, y = op.inputs[0], op.inputs[1], op.y
    assert a is not None and b is not None
    for t in (a, b, y):
        check.rank(t, 0, 4)
    _activations(check, a, b, y)
    rank = max(len(a.shape), len(b.shape), len(y.shape))

    def padded(t: Tensor) -> tuple[int, ...]:
        return (1,) * (rank - len(t.shape)) + tuple(t.shape)

    for da, db, dy in zip(padded(a), padded(b), padded(y)):
        check.require(da in (1, dy) and db in (1, dy) and dy == max(da, db),
                      f"has shape {list(y.shape)}, not the broadcast of {list(a.shape)} and "
                      f"{list(b.shape)}", y)


@rule(O.AveragePool2D, O.MaxPool2D, inputs=(1, 1))
def _pool(op: O.Pool2D, check: Check) -> None:
    x, y = op.x, op.y
    check.rank(x, 4), check.rank(y, 4)
    _activations(check, x, y)
    check.require(x.shape[0] == y.shape[0] and x.shape[3] == y.shape[3],
                  f"has shape {list(y.shape)}: batch and channels differ from the input's "
                  f"{list(x.shape)}", y)
    _spatial(check, x, y, op.filter_size, op.stride, (1, 1), op.padding)
    window = op.filter_size[0] * op.filter_size[1]
    check.require(not isinstance(op, O.AveragePool2D)
                  or window * (1 << 8 * x.dtype.itemsize) <= 2**31 - 1,
                  f"a {op.filter_size} window can overflow the int32 sum")


@rule(O.Pad, inputs=(2, 3))
def _pad(op: O.Pad, check: Check) -> None:
    x, y = op.x, op.y
    paddings = op.inputs[1]
    assert paddings is not None
    check.constant(paddings)
    check.dtype(paddings, *_INDEX_TYPES)
    check.rank(x, 1, 4)
    _activations(check, x, y)
    check.require(paddings.shape == (len(x.shape), 2),
                  f"has shape {list(paddings.shape)}, expected [{len(x.shape)}, 2]", paddings)
    check.require(len(op.paddings) == len(x.shape)
                  and all(0 <= a and 0 <= b for a, b in op.paddings),
                  f"paddings {op.paddings} must be non-negative pairs", paddings)
    expected = tuple(d + a + b for d, (a, b) in zip(x.shape, op.paddings))
    check.require(y.shape == expected, f"has shape {list(y.shape)}, expected "
                  f"{list(expected)} (input {list(x.shape)} padded by {op.paddings})", y)
    if len(op.inputs) > 2 and op.inputs[2] is not None:
        value = op.inputs[2]
        check.constant(value)
        check.require(value.dtype is x.dtype and value.size == 1,
                      f"is {value.dtype.name} {list(value.shape)}, expected one "
                      f"{x.dtype.name} pad value", value)


@rule(O.Reshape, O.Squeeze, inputs=(1, 2))
def _reshape(op: O.Op, check: Check) -> None:
    x, y = op.x, op.y
    check.require(not x.is_constant, "a constant cannot be reshaped in place", x)
    check.require(x.dtype is y.dtype, f"is {y.dtype.name}, the input is {x.dtype.name}", y)
    check.require(x.size == y.size, f"has shape {list(y.shape)} ({y.size} elements), the "
                  f"input {list(x.shape)} has {x.size}", y)


@rule(O.Concatenation, inputs=(1, 1 << 16))
def _concatenation(op: O.Concatenation, check: Check) -> None:
    y = op.y
    check.rank(y, 1, MAX_RANK)
    rank, axis = len(y.shape), op.axis
    check.require(0 <= axis < rank, f"axis {axis} is outside a rank-{rank} output")
    _activations(check, y)
    total = 0
    for t in op.inputs:
        assert t is not None
        _activations(check, y, t)
        check.require(len(t.shape) == rank and all(
            d == e for i, (d, e) in enumerate(zip(t.shape, y.shape)) if i != axis),
            f"has shape {list(t.shape)}, which does not fit the output {list(y.shape)} on "
            f"axis {axis}", t)
        total += t.shape[axis]
    check.require(total == y.shape[axis], f"has {y.shape[axis]} on axis {axis}, the inputs "
                  f"add up to {total}", y)


@rule(O.Softmax, inputs=(1, 1))
def _softmax(op: O.Softmax, check: Check) -> None:
    x, y = op.x, op.y
    check.rank(x, 1, MAX_RANK)
    check.dtype(x, DType.INT8, DType.INT16)
    check.per_tensor_quant(x)
    check.dtype(y, *((DType.INT8, DType.INT16) if x.dtype is DType.INT8 else (DType.INT16,)))
    check.per_tensor_quant(y)
    check.same_shape(x, y)
    check.require(math.isfinite(op.beta) and op.beta > 0, f"beta {op.beta!r} must be a "
                  "positive number")
    # The sum of exps is Q12.19 in int32, as in TFLite: each row adds up to 1.0 per value.
    limit = SOFTMAX_MAX_ROW if x.dtype is DType.INT8 else 1 << 16  # int16: an int32 sum
    check.require(x.shape[-1] < limit, f"rows of {x.shape[-1]} values overflow the "
                  f"{x.dtype.name.lower()} softmax's fixed-point sum (at most {limit - 1})", x)


@rule(O.Logistic, O.Tanh, O.HardSwish, O.Relu, O.Relu6, O.LeakyRelu, inputs=(1, 1))
def _unary(op: O.Op, check: Check) -> None:
    _activations(check, op.x, op.y)
    check.same_shape(op.x, op.y)
    if isinstance(op, O.LeakyRelu):
        check.require(math.isfinite(op.alpha), f"alpha {op.alpha!r} is not a number")


@rule(O.Quantize, inputs=(1, 1))
def _quantize(op: O.Quantize, check: Check) -> None:
    check.dtype(op.x, DType.FLOAT32, DType.INT8, DType.INT16)
    if op.x.dtype is not DType.FLOAT32:
        check.per_tensor_quant(op.x)
    check.dtype(op.y, DType.INT8, DType.INT16)
    check.per_tensor_quant(op.y)
    check.same_shape(op.x, op.y)


@rule(O.Dequantize, inputs=(1, 1))
def _dequantize(op: O.Dequantize, check: Check) -> None:
    check.dtype(op.x, DType.INT8, DType.INT16)
    check.per_tensor_quant(op.x)
    check.dtype(op.y, DType.FLOAT32)
    check.same_shape(op.x, op.y)


@rule(O.Transpose, inputs=(2, 2))
def _transpose(op: O.Transpose, check: Check) -> None:
    x, y = op.x, op.y
    perm_tensor = op.inputs[1]
    assert perm_tensor is not None
    check.constant(perm_tensor)
    check.dtype(perm_tensor, *_INDEX_TYPES)
    _activations(check, x, y)
    rank = len(x.shape)
    check.require(sorted(op.perm) == list(range(rank)),
                  f"perm {op.perm} is not a permutation of a rank-{rank} input's axes")
    expected = tuple(x.shape[p] for p in op.perm)
    check.require(y.shape == expected, f"has shape {list(y.shape)}, expected "
                  f"{list(expected)} ({list(x.shape)} permuted by {op.perm})", y)


# -- shape and data movement --
# Element-size generic kernels: any of these dtypes moves as bytes (quantization is
# carried, never applied, as in LiteRT). CAST converts between every pair of them.
_MOVABLE = (DType.INT8, DType.UINT8, DType.INT16, DType.INT32, DType.INT64, DType.FLOAT32,
            DType.BOOL)
# LiteRT's kernels take fewer types for some ops (measured with LiteRT 2.3.0's BUILTIN_REF).
_NO_BOOL = tuple(d for d in _MOVABLE if d is not DType.BOOL)
_DEPTH_SPACE_TYPES = (DType.INT8, DType.UINT8, DType.INT32, DType.INT64, DType.FLOAT32)
# Ops with several outputs (validate() accepts more than one output for these).
_MULTI_OUTPUT_OPS = (O.Split, O.SplitV, O.Unpack)


def _index_vector(check: Check, t: Tensor | None, what: str,
                  types: tuple[DType, ...] = _INDEX_TYPES) -> None:
    assert t is not None
    check.constant(t)
    check.dtype(t, *types)
    check.require(len(t.shape) <= 1, f"{what} must be a vector, it has shape "
                  f"{list(t.shape)}", t)


def _moves(check: Check, sources: list[Tensor], outputs: list[Tensor],
           allowed: tuple[DType, ...] = _MOVABLE) -> None:
    """Every tensor is of one dtype the op takes (LiteRT's list), the same in and out."""
    dtype = sources[0].dtype
    check.dtype(sources[0], *allowed)
    for t in sources[1:] + outputs:
        check.require(t.dtype is dtype, f"is {t.dtype.name}, the input is {dtype.name} "
                      "(this op moves elements without converting them)", t)


def _expect_shape(check: Check, t: Tensor, expected: tuple[int, ...], why: str) -> None:
    check.require(tuple(t.shape) == tuple(expected), f"has shape {list(t.shape)}, expected "
                  f"{list(expected)} ({why})", t)


@rule(O.StridedSlice, inputs=(4, 4))
def _strided_slice(op: O.StridedSlice, check: Check) -> None:
    x, y = op.x, op.y
    for t, what in zip(op.inputs[1:], ("begin", "end", "strides")):
        _index_vector(check, t, what, (DType.INT32,))
    _moves(check, [x], [y])
    try:
        axes, shape = op.loops()
    except ValueError as e:
        check.fail(f"begin {op.begin}, end {op.end}, strides {op.strides}, masks begin "
                   f"{op.begin_mask} end {op.end_mask} ellipsis {op.ellipsis_mask} new axis "
                   f"{op.new_axis_mask} shrink {op.shrink_axis_mask}: {e}")
    check.require(len(axes) <= MAX_RANK, f"the slice spans {len(axes)} axes (input and new "
                  f"ones), at most {MAX_RANK} are supported")
    for a in axes:
        check.require(not a.shrink or a.count == 1, f"shrinks axis {a.input_axis} at "
                      f"{a.start}, outside the axis (LiteRT copies nothing there)", x)
    counts = tuple(a.count for a in axes if not a.shrink)
    check.require(counts == shape, f"LiteRT's output shape {list(shape)} is not the "
                  f"{list(counts)} elements it copies (offset slice past the end)")
    _expect_shape(check, y, shape, f"input {list(x.shape)} sliced")


@rule(O.Slice, inputs=(3, 3))
def _slice(op: O.Slice, check: Check) -> None:
    x, y = op.x, op.y
    _index_vector(check, op.inputs[1], "begin")
    _index_vector(check, op.inputs[2], "size")
    _moves(check, [x], [y])
    for d, b, s in zip(x.shape, op.begin, op.size):
        check.require(0 <= b and 1 <= s and b + s <= d, f"begin {op.begin} size {op.size} "
                      f"reach outside the input {list(x.shape)}", x)
    _expect_shape(check, y, op.size, f"size {op.size}")


@rule(O.Split, inputs=(2, 2))
def _split(op: O.Split, check: Check) -> None:
    axis_tensor = op.inputs[0]
    assert axis_tensor is not None
    check.constant(axis_tensor)
    check.dtype(axis_tensor, DType.INT32)
    _split_outputs(op, check)


@rule(O.SplitV, inputs=(3, 3))
def _split_v(op: O.SplitV, check: Check) -> None:
    _index_vector(check, op.inputs[1], "size_splits")
    axis_tensor = op.inputs[2]
    assert axis_tensor is not None
    check.constant(axis_tensor)
    check.dtype(axis_tensor, DType.INT32)
    _split_outputs(op, check)


def _split_outputs(op: O.Split, check: Check) -> None:
    x = op.data
    _moves(check, [x], op.outputs, _NO_BOOL)
    check.require(len(op.outputs) == len(op.sizes), f"has {len(op.outputs)} outputs for "
                  f"{len(op.sizes)} splits")
    check.require(all(s >= 1 for s in op.sizes) and sum(op.sizes) == x.shape[op.axis],
                  f"splits {op.sizes} do not add up to {x.shape[op.axis]} on axis "
                  f"{op.axis}", x)
    for t, size in zip(op.outputs, op.sizes):
        expected = tuple(size if i == op.axis else d for i, d in enumerate(x.shape))
        _expect_shape(check, t, expected, f"a split of {list(x.shape)} on axis {op.axis}")


@rule(O.Pack, inputs=(1, 1 << 16))
def _pack(op: O.Pack, check: Check) -> None:
    inputs = [t for t in op.inputs if t is not None]
    _moves(check, inputs, [op.y], _NO_BOOL)
    shape = tuple(inputs[0].shape)
    for t in inputs:
        _expect_shape(check, t, shape, "PACK stacks tensors of one shape")
    expected = shape[:op.axis] + (len(inputs),) + shape[op.axis:]
    _expect_shape(check, op.y, expected, f"{len(inputs)} inputs stacked on axis {op.axis}")


@rule(O.Unpack, inputs=(1, 1))
def _unpack(op: O.Unpack, check: Check) -> None:
    x = op.x
    _moves(check, [x], op.outputs, tuple(d for d in _MOVABLE if d is not DType.INT64))
    check.require(len(op.outputs) == x.shape[op.axis], f"has {len(op.outputs)} outputs, "
                  f"the input has {x.shape[op.axis]} on axis {op.axis}")
    expected = tuple(d for i, d in enumerate(x.shape) if i != op.axis)
    for t in op.outputs:
        _expect_shape(check, t, expected, f"{list(x.shape)} unpacked on axis {op.axis}")


@rule(O.Gather, inputs=(2, 2))
def _gather(op: O.Gather, check: Check) -> None:
    x, indices, y = op.x, op.indices, op.y
    _moves(check, [x], [y])
    check.dtype(indices, DType.INT32, DType.INT64)
    a, bd = op.axis, op.batch_dims
    check.require(0 <= bd <= a and bd <= len(indices.shape),
                  f"batch_dims {bd} must be in [0, axis {a}] and at most the indices' rank "
                  f"{len(indices.shape)}")
    check.require(tuple(x.shape[:bd]) == tuple(indices.shape[:bd]),
                  f"batch dimensions {list(indices.shape[:bd])} differ from the params' "
                  f"{list(x.shape[:bd])}", indices)
    if indices.is_constant:
        values = indices.data.reshape(-1)  # type: ignore[union-attr]
        check.require(bool(np.all((values >= 0) & (values < x.shape[a]))),
                      f"holds indices outside [0, {x.shape[a]}) (LiteRT fails to invoke)",
                      indices)
    expected = tuple(x.shape[:a]) + tuple(indices.shape[bd:]) + tuple(x.shape[a + 1:])
    _expect_shape(check, y, expected, f"params {list(x.shape)} gathered on axis {a} by "
                  f"indices {list(indices.shape)}, batch_dims {bd}")


@rule(O.DepthToSpace, O.SpaceToDepth, inputs=(1, 1))
def _depth_space(op: O.Op, check: Check) -> None:
    x, y = op.x, op.y
    _moves(check, [x], [y], _DEPTH_SPACE_TYPES)
    check.rank(x, 4)
    bs = op.block_size  # type: ignore[attr-defined]
    check.require(1 <= bs <= MAX_WINDOW, f"block_size {bs} out of range")
    n, h, w, c = x.shape
    if isinstance(op, O.DepthToSpace):
        check.require(c % (bs * bs) == 0, f"{c} channels are not a multiple of block_size "
                      f"{bs} squared", x)
        expected = (n, h * bs, w * bs, c // (bs * bs))
    else:
        check.require(h % bs == 0 and w % bs == 0, f"height {h} and width {w} are not "
                      f"multiples of block_size {bs}", x)
        expected = (n, h // bs, w // bs, c * bs * bs)
    _expect_shape(check, y, expected, f"block_size {bs}")


@rule(O.BroadcastTo, inputs=(2, 2))
def _broadcast_to(op: O.BroadcastTo, check: Check) -> None:
    x, y = op.x, op.y
    _index_vector(check, op.inputs[1], "shape")
    _moves(check, [x], [y])
    shape = tuple(int(v) for v in op.inputs[1].data.reshape(-1))  # type: ignore[union-attr]
    _expect_shape(check, y, shape, "the shape input")
    rank = len(y.shape)
    check.require(len(x.shape) <= rank, f"has rank {len(x.shape)}, above the target "
                  f"shape's {rank}", x)
    padded = (1,) * (rank - len(x.shape)) + tuple(x.shape)
    check.require(all(d in (1, e) for d, e in zip(padded, y.shape)),
                  f"shape {list(x.shape)} does not broadcast to {list(y.shape)}", x)


@rule(O.Cast, inputs=(1, 1))
def _cast(op: O.Cast, check: Check) -> None:
    check.dtype(op.x, *_MOVABLE)
    check.dtype(op.y, *_MOVABLE)
    check.same_shape(op.x, op.y)
# -- end of shape and data movement --

# -- elementwise math, comparisons and select --

def _math_broadcast(check: Check, y: Tensor, *inputs: Tensor) -> None:
    """y's shape is the NumPy broadcast of the inputs' shapes (every rank <= MAX_RANK)."""
    rank = max(len(t.shape) for t in (y, *inputs))
    check.require(rank <= MAX_RANK, f"rank {rank} is over {MAX_RANK}")

    def padded(t: Tensor) -> tuple[int, ...]:
        return (1,) * (rank - len(t.shape)) + tuple(t.shape)

    expected = tuple(max(dims) for dims in zip(*(padded(t) for t in inputs)))
    ok = padded(y) == expected and len(y.shape) == max(len(t.shape) for t in inputs) and all(
        all(d in (1, e) for d, e in zip(padded(t), expected)) for t in inputs)
    check.require(ok, f"has shape {list(y.shape)}, not the broadcast of "
                  f"{' and '.join(str(list(t.shape)) for t in inputs)}", y)


def _one_dtype(check: Check, allowed: tuple[DType, ...], *tensors: Tensor) -> None:
    first = tensors[0]
    check.dtype(first, *allowed)
    for t in tensors[1:]:
        check.require(t.dtype is first.dtype, f"is {t.dtype.name}, {first.name!r} is "
                      f"{first.dtype.name} (LiteRT takes one dtype here)", t)


_MATH_INTS = (DType.INT8, DType.INT16, DType.INT32)


@rule(O.Maximum, O.Minimum, inputs=(2, 2))
def _max_min(op: O.Op, check: Check) -> None:
    a, b, y = op.inputs[0], op.inputs[1], op.y
    assert a is not None and b is not None
    _one_dtype(check, _MATH_INTS, a, b, y)  # LiteRT compares the stored integers
    _math_broadcast(check, y, a, b)


@rule(O.SquaredDifference, inputs=(2, 2))
def _squared_difference(op: O.SquaredDifference, check: Check) -> None:
    a, b, y = op.inputs[0], op.inputs[1], op.y
    assert a is not None and b is not None
    _int8_activations(check, a, b, y)
    _math_broadcast(check, y, a, b)


@rule(O.Equal, O.NotEqual, O.Less, O.LessEqual, O.Greater, O.GreaterEqual, inputs=(2, 2))
def _comparison(op: O.Op, check: Check) -> None:
    a, b, y = op.inputs[0], op.inputs[1], op.y
    assert a is not None and b is not None
    _one_dtype(check, _MATH_INTS, a, b)
    check.dtype(y, DType.BOOL)
    if a.dtype is DType.INT8:  # int8 is rescaled by each input's scale; int16/32 are not
        _int8_activations(check, a, b)
    _math_broadcast(check, y, a, b)


@rule(O.SelectV2, O.Select, inputs=(3, 3))
def _select(op: O.SelectV2, check: Check) -> None:
    c, x, v, y = op.inputs[0], op.inputs[1], op.inputs[2], op.y
    assert c is not None and x is not None and v is not None
    check.dtype(c, DType.BOOL)
    _one_dtype(check, _MATH_INTS, x, v, y)  # copied as stored: no requantization
    if isinstance(op, O.Select):
        check.same_shape(x, v)
        check.same_shape(x, y)
        check.require(c.shape == x.shape or (len(c.shape) == 1 and len(x.shape) >= 1
                                             and c.shape[0] == x.shape[0]),
                      f"has shape {list(c.shape)}: SELECT takes a condition of the values' "
                      f"shape {list(x.shape)} or a rank-1 one over their first dim", c)
    else:
        _math_broadcast(check, y, c, x, v)


@rule(O.Prelu, inputs=(2, 2))
def _prelu(op: O.Prelu, check: Check) -> None:
    x, alpha, y = op.x, op.inputs[1], op.y
    assert alpha is not None
    _int8_activations(check, x, alpha, y)
    check.same_shape(x, y)
    check.require(len(alpha.shape) <= len(x.shape), f"has rank {len(alpha.shape)}, over the "
                  f"input's {len(x.shape)} (the output must keep the input's shape)", alpha)
    _math_broadcast(check, y, x, alpha)


@rule(O.Abs, O.Neg, inputs=(1, 1))
def _abs_neg(op: O.Op, check: Check) -> None:
    x, y = op.x, op.y
    check.same_shape(x, y)
    _one_dtype(check, (DType.INT8, DType.INT16), x, y)
    if isinstance(op, O.Neg):
        return  # LiteRT negates the stored integers, whatever the quantization
    if x.dtype is DType.INT8:
        _int8_activations(check, x, y)
    elif x.quant is not None or y.quant is not None:
        for t in (x, y):
            check.per_tensor_quant(t)
            assert t.quant is not None
            check.require(t.quant.zp == 0, f"has zero point {t.quant.zp}; LiteRT takes int16 "
                          "ABS with zero points of 0", t)


@rule(O.Rsqrt, O.Exp, O.Elu, inputs=(1, 1))
def _math_unary(op: O.Op, check: Check) -> None:
    _int8_activations(check, op.x, op.y)
    check.same_shape(op.x, op.y)

# -- end of elementwise math --

# -- reductions and normalizations --

def _reduced_shape(x: Tensor, axes: tuple[int, ...], keep_dims: bool) -> tuple[int, ...]:
    """TFLite's reduce output shape: reduced axes become 1 (keep_dims) or disappear."""
    if keep_dims:
        return tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    return tuple(d for i, d in enumerate(x.shape) if i not in axes)


def _quantized_int8_or_int16(check: Check, x: Tensor, y: Tensor) -> None:
    """Input and output both int8 or both int16 (zero points 0: LiteRT's int16 rule)."""
    check.dtype(x, DType.INT8, DType.INT16)
    check.require(y.dtype is x.dtype, f"is {y.dtype.name}, the input is {x.dtype.name}", y)
    for t in (x, y):
        check.per_tensor_quant(t)
        assert t.quant is not None
        check.require(t.dtype is DType.INT8 or t.quant.zp == 0,
                      f"is int16 with zero point {t.quant.zp}, expected 0", t)


@rule(O.Mean, O.Sum, O.ReduceMax, inputs=(1, 2))  # 1: the importer dropped empty axes
def _reduce(op: O.Mean | O.Reduce, check: Check) -> None:
    x, y = op.x, op.y
    if len(op.inputs) > 1:
        axes_tensor = op.inputs[1]
        assert axes_tensor is not None
        check.constant(axes_tensor)
        check.dtype(axes_tensor, DType.INT32)  # LiteRT's reduce Prepare requires int32
    else:
        check.require(not op.axes, f"axes {op.axes} without an axes tensor")
    check.rank(x, 1, MAX_RANK)
    _quantized_int8_or_int16(check, x, y)
    rank = len(x.shape)
    check.require(all(0 <= a < rank for a in op.axes) and len(set(op.axes)) == len(op.axes),
                  f"axes {op.axes} are not distinct axes of a rank-{rank} input")
    expected = _reduced_shape(x, op.axes, op.keep_dims)
    # Reducing every axis: converters write [] or [1] (LiteRT resizes either to []).
    check.require(y.shape == expected or (not expected and y.shape == (1,)),
                  f"has shape {list(y.shape)}, expected {list(expected)} (input "
                  f"{list(x.shape)} reduced over axes {op.axes}, keep_dims {op.keep_dims})",
                  y)
    assert x.quant is not None and y.quant is not None
    if isinstance(op, O.ReduceMax):
        check.require(_same_f32(x.quant.s, y.quant.s) and x.quant.zp == y.quant.zp,
                      "input and output quantization differ (LiteRT's REDUCE_MAX requires "
                      "the same scale and zero point)", y)
        return
    count = math.prod(x.shape[a] for a in op.axes)
    reach = 256 if x.dtype is DType.INT8 else 1 << 16
    check.require(count * reach <= 2**31 - 1, f"the {op.kind.lower()} of {count} "
                  f"{x.dtype.name} values can overflow the int32 sum")


def _same_f32(a: float, b: float) -> bool:
    """Two scales as the .tflite stores them (float32) are the same number."""
    return float(np.float32(a)) == float(np.float32(b))


@rule(O.ArgMax, O.ArgMin, inputs=(2, 2))
def _arg_min_max(op: O.ArgMax, check: Check) -> None:
    x, y = op.x, op.y
    axis_tensor = op.inputs[1]
    assert axis_tensor is not None
    check.constant(axis_tensor)
    check.dtype(axis_tensor, *_INDEX_TYPES)
    check.require(axis_tensor.size == 1, f"has {axis_tensor.size} values, expected one axis",
                  axis_tensor)
    check.rank(x, 1, MAX_RANK)
    # LiteRT's ARG_MAX/ARG_MIN take no int16 input ("Unknown input type"): int8 only.
    check.dtype(x, DType.INT8)
    check.dtype(y, DType.INT32, DType.INT64)
    rank = len(x.shape)
    check.require(0 <= op.axis < rank, f"axis {op.axis} is outside a rank-{rank} input")
    expected = tuple(d for i, d in enumerate(x.shape) if i != op.axis)
    check.require(y.shape == expected, f"has shape {list(y.shape)}, expected "
                  f"{list(expected)} (input {list(x.shape)} without axis {op.axis})", y)


@rule(O.LogSoftmax, O.L2Normalization, inputs=(1, 1))
def _normalization(op: O.Op, check: Check) -> None:
    x, y = op.x, op.y
    check.rank(x, 1, MAX_RANK)
    _int8_activations(check, x, y)
    check.same_shape(x, y)
    assert y.quant is not None
    depth = x.shape[-1]
    if isinstance(op, O.LogSoftmax):
        check.require(_same_f32(y.quant.s, 16 / 256) and y.quant.zp == 127,
                      f"has scale {y.quant.s!r} and zero point {y.quant.zp}; LiteRT's int8 "
                      "LOG_SOFTMAX requires 16/256 and 127", y)
        check.require(depth < SOFTMAX_MAX_ROW, f"rows of {depth} values overflow the int8 "
                      f"log softmax's fixed-point sum (at most {SOFTMAX_MAX_ROW - 1})", x)
    else:
        assert isinstance(op, O.L2Normalization)
        check.require(op.activation is O.Activation.NONE, "fused activation "
                      f"{op.activation.name} (LiteRT's L2_NORMALIZATION takes none)")
        check.require(_same_f32(y.quant.s, 1 / 128) and y.quant.zp == 0,
                      f"has scale {y.quant.s!r} and zero point {y.quant.zp}; LiteRT's int8 "
                      "L2_NORMALIZATION requires 1/128 and 0", y)
        check.require(depth * 255 * 255 <= 2**31 - 1, f"rows of {depth} values can "
                      "overflow the int32 sum of squares", x)

# -- end of reductions --

# -- spatial and matrix ops --

def _same_int_activations(check: Check, *tensors: Tensor) -> None:
    """int8 or int16 activations with one scale, all of the first one's dtype."""
    check.dtype(tensors[0], DType.INT8, DType.INT16)
    for t in tensors:
        check.dtype(t, tensors[0].dtype)
        check.per_tensor_quant(t)


def _zero_points_zero(check: Check, *tensors: Tensor) -> None:
    """LiteRT's 16-bit kernels require symmetric int16 tensors."""
    for t in tensors:
        assert t.quant is not None
        check.require(all(z == 0 for z in t.quant.zero_point),
                      f"has zero point {t.quant.zero_point[0]}; 16-bit activations take "
                      "zero point 0 (LiteRT refuses others)", t)


# TRANSPOSE_CONV's bias (input 3) may be absent.
_OPTIONAL_INPUTS[O.TransposeConv] = (3,)

# The largest |sum| TFLite's 64-bit MultiplyByQuantizedMultiplier takes (its stated range).
_S64_REQUANT_REACH = 1 << 47


@rule(O.ResizeNearestNeighbor, O.ResizeBilinear, inputs=(2, 2))
def _resize(op: O.Resize, check: Check) -> None:
    x, y, size = op.x, op.y, op.inputs[1]
    assert size is not None
    check.rank(x, 4), check.rank(y, 4)
    _same_int_activations(check, x, y)
    values = check.constant(size)
    check.require(size.dtype is DType.INT32 and size.shape == (2,),
                  f"is {size.dtype.name} {list(size.shape)}, expected int32 [2] (the output's "
                  "height and width)", size)
    oh, ow = (int(v) for v in values)
    check.require(oh > 0 and ow > 0, f"size ({oh}, {ow}) must be positive", size)
    expected = (x.shape[0], oh, ow, x.shape[3])
    check.require(y.shape == expected, f"has shape {list(y.shape)}, expected "
                  f"{list(expected)} (input {list(x.shape)} resized to ({oh}, {ow}))", y)
    if isinstance(op, O.ResizeBilinear):
        check.require(not (op.align_corners and op.half_pixel_centers),
                      "align_corners and half_pixel_centers are both set (LiteRT refuses "
                      "the bilinear resize then)")
        for axis, (scale, size_in, size_out) in enumerate(
                zip(bilinear_scales(op), x.shape[1:3], y.shape[1:3])):
            reach = (size_out - 1) * scale + (scale // 2 if op.half_pixel_centers else 0)
            check.require(reach < 2**31, f"resizing {size_in} to {size_out} pixels "
                          "overflows the int32 sample position")
            check.require(reach // 1024 <= size_in - 1,
                          f"resizing {size_in} to {size_out} pixels (axis {axis + 1}) makes "
                          "LiteRT's integer bilinear kernel read past the input's last "
                          "pixel (its rounded 10-bit scale overshoots); not supported")


def bilinear_scales(op: O.Resize) -> tuple[int, int]:
    """ResizeBilinearInteger's 10-bit scales (height, width): round(2^10 * in / out), or
    (in - 1) / (out - 1) with align_corners, in TFLite's int32 division."""
    scales = []
    for size_in, size_out in zip(op.x.shape[1:3], op.y.shape[1:3]):
        if op.align_corners and size_out > 1:
            scales.append(((1 << 10) * (size_in - 1) + (size_out - 1) // 2) // (size_out - 1))
        else:
            scales.append(((1 << 10) * size_in + size_out // 2) // size_out)
    return scales[0], scales[1]


def transpose_conv_input_size(padding: O.Padding, out_size: int, kernel: int,
                              stride: int) -> int:
    """TFLite's ComputeOutSize applied to a TRANSPOSE_CONV's output (dilation 1, C's
    division toward zero): the input size LiteRT requires, and from which its Eval
    derives the padding."""
    numerator = out_size + stride - 1 if padding is O.Padding.SAME else \
        out_size + stride - kernel
    return int(numerator / stride) if numerator >= 0 else -((-numerator) // stride)


@rule(O.TransposeConv, inputs=(3, 4))
def _transpose_conv(op: O.TransposeConv, check: Check) -> None:
    shape_tensor, w, x, y = op.inputs[0], op.filter, op.x, op.y
    assert shape_tensor is not None
    check.require(x is not None, "input 2 (the data input) is missing")
    values = check.constant(shape_tensor)
    check.require(shape_tensor.dtype is DType.INT32 and shape_tensor.shape == (4,),
                  f"is {shape_tensor.dtype.name} {list(shape_tensor.shape)}, expected int32 "
                  "[4] (the output shape)", shape_tensor)
    check.require(tuple(int(v) for v in values) == y.shape,
                  f"has shape {list(y.shape)}, the output_shape input says "
                  f"{[int(v) for v in values]}", y)
    _weights(check, w)
    check.rank(x, 4), check.rank(w, 4), check.rank(y, 4)
    _same_int_activations(check, x, y)
    oc, kh, kw, ic = w.shape
    check.require(x.shape[3] == ic, f"has {x.shape[3]} channels, the weights take {ic}", x)
    check.require(y.shape[3] == oc, f"has {y.shape[3]} channels, the weights make {oc}", y)
    check.require(x.shape[0] == y.shape[0], f"has batch {y.shape[0]}, the input "
                  f"{x.shape[0]}", y)
    check.window("stride", op.stride)
    check.window("filter size", (kh, kw))
    for axis, k, s in ((1, kh, op.stride[0]), (2, kw, op.stride[1])):
        # LiteRT's Prepare: the input is what a convolution of the output would give.
        expected = transpose_conv_input_size(op.padding, y.shape[axis], k, s)
        check.require(x.shape[axis] == expected,
                      f"has {x.shape[axis]} pixels on axis {axis}; an output of "
                      f"{y.shape[axis]} with a {k}-tap filter, stride {s} and "
                      f"{op.padding.name} padding takes {expected}", x)
    check.channel_quant(w, 0, oc)
    wide = x.dtype is DType.INT16
    check.require(y.size * (8 if wide else 4) <= MAX_TENSOR_BYTES,
                  f"the {y.size} accumulators of the output do not fit a buffer", y)
    bias = op.bias
    if not wide:
        check.bias(bias, oc)
        return
    _zero_points_zero(check, x, y)
    check.require(op.bias_type is not DType.INT32,
                  "quantized_bias_type INT32 (a 32-bit accumulator for 16-bit activations) "
                  "is not supported; convert with int64 biases (the default)")
    reach = ic * kh * kw * (1 << 15) * 128
    if bias is not None:
        check.constant(bias)
        check.dtype(bias, DType.INT64)
        check.require(bias.shape == (oc,), f"has shape {list(bias.shape)}, expected [{oc}] "
                      "(one per output channel)", bias)
        assert bias.data is not None
        reach += int(np.abs(bias.data.astype(np.int64)).max(initial=0))
    check.require(reach < _S64_REQUANT_REACH, f"its sums can reach {reach}, beyond the 2^47 "
                  "TFLite's 64-bit requantization takes", w)


@rule(O.BatchMatMul, inputs=(2, 2))
def _batch_matmul(op: O.BatchMatMul, check: Check) -> None:
    lhs, rhs, y = op.inputs[0], op.inputs[1], op.y
    assert lhs is not None and rhs is not None
    for t in (lhs, rhs):
        check.rank(t, 2, 5)
        check.require(t.dtype is not DType.FLOAT32, "float (or hybrid) BATCH_MATMUL is not "
                      "supported; convert the model fully to int8 or 16x8", t)
    check.dtype(lhs, DType.INT8, DType.INT16)
    check.dtype(rhs, DType.INT8, DType.INT16) if lhs.dtype is DType.INT16 else \
        check.dtype(rhs, DType.INT8)
    check.require(y.dtype is lhs.dtype, f"is {y.dtype.name}, expected {lhs.dtype.name} "
                  "(the LHS's type; int32 outputs are not supported)", y)
    for t in (lhs, rhs, y):
        check.per_tensor_quant(t)
    if lhs.dtype is DType.INT16:
        _zero_points_zero(check, lhs, rhs, y)
    rank = max(len(lhs.shape), len(rhs.shape))
    a = (1,) * (rank - len(lhs.shape)) + tuple(lhs.shape)
    b = (1,) * (rank - len(rhs.shape)) + tuple(rhs.shape)
    batch = []
    for i, (da, db) in enumerate(zip(a[:-2], b[:-2])):
        check.require(da == db or da == 1 or db == 1, f"batch axis {i} of {list(lhs.shape)} "
                      f"and {list(rhs.shape)} do not broadcast")
        batch.append(db if da == 1 else da)
    rows, depth = (a[-1], a[-2]) if op.adj_x else (a[-2], a[-1])
    rhs_depth, cols = (b[-1], b[-2]) if op.adj_y else (b[-2], b[-1])
    check.require(depth == rhs_depth, f"the LHS {list(lhs.shape)} (adj_x {op.adj_x}) sums "
                  f"over {depth}, the RHS {list(rhs.shape)} (adj_y {op.adj_y}) over "
                  f"{rhs_depth}")
    expected = tuple(batch) + (rows, cols)
    check.require(y.shape == expected, f"has shape {list(y.shape)}, expected "
                  f"{list(expected)}", y)
    if lhs.dtype is DType.INT16:
        reach = depth * (1 << 15) * (1 << (8 * rhs.dtype.itemsize - 1))
        check.require(reach < _S64_REQUANT_REACH, f"a depth of {depth} can reach {reach}, "
                      "beyond the 2^47 TFLite's 64-bit requantization takes")

# -- end of spatial --

# -- recurrent --

_OPTIONAL_INPUTS[O.Svdf] = (3,)
_OPTIONAL_INPUTS[O.UnidirectionalSequenceLstm] = (1, 5, 9, 10, 11, 12, 16, 17, 20, 21, 22, 23)


def _state(check: Check, t: Tensor, elements: int, *dtypes: DType) -> None:
    """A variable tensor holding an op's state across invokes."""
    check.require(t.is_variable, "must be a variable tensor (the op's state across "
                  "invokes)", t)
    check.dtype(t, *dtypes)
    check.per_tensor_quant(t)
    check.require(t.size == elements, f"has {t.size} elements, expected {elements}", t)


def _per_tensor_weights(check: Check, w: Tensor, shape: tuple[int, ...],
                        *dtypes: DType) -> None:
    check.constant(w)
    check.dtype(w, *dtypes)
    check.require(w.shape == shape, f"has shape {list(w.shape)}, expected {list(shape)}", w)
    check.require(w.quant is not None and len(w.quant.scale) == 1 and w.quant.scale[0] > 0,
                  "needs one positive quantization scale (per-tensor weights)", w)


@rule(O.Svdf, inputs=(5, 5))
def _svdf(op: O.Svdf, check: Check) -> None:
    x, wf, wt, bias, state, y = (*op.inputs, op.y)
    assert x is not None and wf is not None and wt is not None and state is not None
    check.rank(x, 2), check.rank(y, 2), check.rank(wf, 2), check.rank(wt, 2)
    _int8_activations(check, x, y)
    batch, depth = x.shape
    filters, memory = wt.shape
    check.require(op.rank >= 1 and filters % op.rank == 0,
                  f"rank {op.rank} does not divide the {filters} filters", wt)
    units = filters // op.rank
    _per_tensor_weights(check, wf, (filters, depth), DType.INT8)
    _per_tensor_weights(check, wt, (filters, memory), DType.INT8, DType.INT16)
    check.require(y.shape == (batch, units), f"has shape {list(y.shape)}, expected "
                  f"{[batch, units]}", y)
    _state(check, state, batch * filters * memory, wt.dtype)
    check.rank(state, 2)
    check.bias(bias, units)


@rule(O.UnidirectionalSequenceLstm, inputs=(20, 24))
def _sequence_lstm(op: O.UnidirectionalSequenceLstm, check: Check) -> None:
    x, y = op.x, op.y
    check.rank(x, 3), check.rank(y, 3)
    if x.dtype is DType.INT16:
        _sequence_lstm_16x8(op, check)
        return
    _int8_activations(check, x, y)
    batch, time = (x.shape[1], x.shape[0]) if op.time_major else (x.shape[0], x.shape[1])
    depth = x.shape[2]
    w_out = op.input(4)
    r_out = op.input(8)
    check.require(w_out is not None and r_out is not None and len(w_out.shape) == 2
                  and len(r_out.shape) == 2, "needs 2-D input_to_output and "
                  "recurrent_to_output weights")
    assert w_out is not None and r_out is not None
    cells, outputs = w_out.shape[0], r_out.shape[1]
    cifg = op.input(1) is None
    check.require(cifg == (op.input(5) is None), "input-gate weights must be all present "
                  "or all absent (CIFG)")
    for gate in range(4):
        if gate == 0 and cifg:
            check.require(op.input(op.GATE_BIAS[0]) is None, "a CIFG LSTM has no input "
                          "gate bias")
            continue
        w = op.input(op.INPUT_TO_GATE[gate])
        r = op.input(op.RECURRENT_TO_GATE[gate])
        b = op.input(op.GATE_BIAS[gate])
        check.require(w is not None and r is not None and b is not None,
                      f"gate {gate} needs its input, recurrent weights and bias")
        assert w is not None and r is not None and b is not None
        _per_tensor_weights(check, w, (cells, depth), DType.INT8)
        _per_tensor_weights(check, r, (cells, outputs), DType.INT8)
        check.bias(b, cells)
    peephole = [op.input(i) for i in op.CELL_TO_GATE]
    if any(t is not None for t in peephole):
        check.require(all(t is not None for t in peephole[1:])
                      and (cifg or peephole[0] is not None),
                      "peephole weights must be all present or all absent")
        for t in peephole:
            if t is not None:
                _per_tensor_weights(check, t, (cells,), DType.INT16)
    norms = [op.input(i) for i in op.LAYER_NORM]
    if any(t is not None for t in norms):
        # LiteRT decides by the forget gate's coefficients, then requires the others.
        check.require(norms[1] is not None and norms[2] is not None and norms[3] is not None
                      and (norms[0] is None) == cifg, "layer-norm coefficients must be "
                      "present for every gate (the input gate's only without CIFG)")
        for gate, t in enumerate(norms):
            if t is None:
                continue
            _per_tensor_weights(check, t, (cells,), DType.INT16)
            inter = op.intermediates[gate] if gate < len(op.intermediates) else None
            check.require(inter is not None and inter.quant is not None
                          and len(inter.quant.scale) == 1 and inter.quant.scale[0] > 0,
                          f"a layer-normalized LSTM needs intermediate {gate} quantized "
                          "(its gate's matmul scale)")
    projection = op.input(op.PROJECTION_WEIGHTS)
    if projection is None:
        check.require(op.input(op.PROJECTION_BIAS) is None, "a projection bias needs "
                      "projection weights")
        check.require(outputs == cells, f"{outputs} outputs but {cells} cells and no "
                      "projection")
    else:
        _per_tensor_weights(check, projection, (outputs, cells), DType.INT8)
        check.bias(op.input(op.PROJECTION_BIAS), outputs)
        # LiteRT's integer peephole runs over n_output values of the flat [batch][cell]
        # gate (lstm_eval.cc): reproducible for one batch and n_output <= n_cell only.
        check.require(peephole[2] is None or outputs == cells
                      or (batch == 1 and outputs < cells),
                      f"a peephole LSTM with a projection to {outputs} outputs from {cells} "
                      f"cells and batch {batch} is not supported (LiteRT's integer kernel "
                      "applies the peephole to the first n_output values of the flat "
                      "[batch][cell] state)")
    output_state, cell_state = op.input(op.OUTPUT_STATE), op.input(op.CELL_STATE)
    check.require(output_state is not None and cell_state is not None,
                  "needs its output_state and cell_state inputs")
    assert output_state is not None and cell_state is not None
    _state(check, output_state, batch * outputs, DType.INT8)
    _state(check, cell_state, batch * cells, DType.INT16)
    assert cell_state.quant is not None
    log2 = math.log(cell_state.quant.s) / math.log(2.0)
    check.require(abs(log2 - round(log2)) < 1e-3 and -15 <= round(log2) <= -9,
                  f"has scale {cell_state.quant.s!r}; the integer LSTM needs a power of two "
                  "from 2^-15 to 2^-9", cell_state)
    expected = (x.shape[0], x.shape[1], outputs)
    check.require(y.shape == expected, f"has shape {list(y.shape)}, expected "
                  f"{list(expected)}", y)
    check.require(op.cell_clip >= 0 and op.proj_clip >= 0, "negative clip values")
    check.require(len(op.intermediates) == 5 and op.intermediates[4] is not None
                  and op.intermediates[4].quant is not None,
                  "a fully integer LSTM needs its 5 intermediate tensors (the converter's "
                  "gate and hidden quantization)")


def _symmetric_int16(check: Check, t: Tensor) -> None:
    check.dtype(t, DType.INT16)
    check.per_tensor_quant(t)
    assert t.quant is not None
    check.require(t.quant.zp == 0, f"has zero point {t.quant.zp}; int16 activations are "
                  "symmetric (zero point 0)", t)


def _sequence_lstm_16x8(op: O.UnidirectionalSequenceLstm, check: Check) -> None:
    """16x8 (int16 activations): TFLite Micro's LSTM, the oracle (LiteRT 2.3 refuses such
    models and the TFLite converter does not make them): the plain LSTM only."""
    x, y = op.x, op.y
    check.require(all(op.input(i) is not None for i in range(1, 9))
                  and all(op.input(i) is None for i in (9, 10, 11, 16, 17, *op.LAYER_NORM)),
                  "a 16x8 (int16) LSTM must be a plain LSTM (TFLite Micro, its oracle, has no "
                  "CIFG, peephole, projection or layer-norm variant in 16x8)")
    check.require(op.cell_activation in (4, 6), f"fused activation {op.cell_activation} "
                  "for the cell gate; TFLite Micro's 16x8 LSTM takes TANH (or sigmoid)")
    _symmetric_int16(check, x)
    _symmetric_int16(check, y)
    batch, time = (x.shape[1], x.shape[0]) if op.time_major else (x.shape[0], x.shape[1])
    depth = x.shape[2]
    w_out = op.input(4)
    assert w_out is not None
    check.require(len(w_out.shape) == 2, "needs 2-D input_to_output weights", w_out)
    cells = w_out.shape[0]
    for gate in range(4):
        w, r, b = (op.input(op.INPUT_TO_GATE[gate]), op.input(op.RECURRENT_TO_GATE[gate]),
                   op.input(op.GATE_BIAS[gate]))
        check.require(b is not None, f"gate {gate} needs its bias")
        assert w is not None and r is not None and b is not None
        for t, shape in ((w, (cells, depth)), (r, (cells, cells))):
            _per_tensor_weights(check, t, shape, DType.INT8)
            assert t.quant is not None
            check.require(t.quant.zp == 0, "16x8 weights must be symmetric (zero point 0)",
                          t)
        check.constant(b)
        check.dtype(b, DType.INT64)
        check.require(b.shape == (cells,), f"has shape {list(b.shape)}, expected [{cells}]",
                      b)
    output_state, cell_state = op.input(op.OUTPUT_STATE), op.input(op.CELL_STATE)
    check.require(output_state is not None and cell_state is not None,
                  "needs its output_state and cell_state inputs")
    assert output_state is not None and cell_state is not None
    _state(check, output_state, batch * cells, DType.INT16)
    _state(check, cell_state, batch * cells, DType.INT16)
    _symmetric_int16(check, output_state)
    assert cell_state.quant is not None
    log2 = math.log(cell_state.quant.s) / math.log(2.0)
    check.require(abs(log2 - round(log2)) < 1e-3 and -15 <= round(log2) <= -9,
                  f"has scale {cell_state.quant.s!r}; the integer LSTM needs a power of two "
                  "from 2^-15 to 2^-9", cell_state)
    check.require(y.shape == (x.shape[0], x.shape[1], cells), f"has shape {list(y.shape)}, "
                  f"expected {[x.shape[0], x.shape[1], cells]}", y)
    check.require(op.cell_clip >= 0 and op.proj_clip >= 0, "negative clip values")
# -- end of recurrent --
