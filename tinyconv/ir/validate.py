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
        self.dtype(t, DType.INT32)
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
        check.require(len(op.outputs) == 1, f"has {len(op.outputs)} outputs, expected 1")
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
            if t is not None and not t.is_constant and t.index not in available:
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
    """The kernels sum (x - zp_x) * (w + filter_offset) + bias per output channel in int32,
    as TFLite's do: the largest sum these weights, bias and zero point allow must fit (a
    wrapping accumulator is undefined behaviour in C)."""
    assert x.quant is not None and w.data is not None
    zp = x.quant.zp
    input_reach = max(127 - zp, zp + 128)  # the largest |x - zp_x| of an int8 x
    weights = np.moveaxis(w.data.astype(np.int64) + filter_offset, axis, 0)
    reach = np.abs(weights).reshape(weights.shape[0], -1).sum(axis=1) * input_reach
    if bias is not None and bias.data is not None:
        reach = reach + np.abs(bias.data.astype(np.int64)).reshape(-1)
    worst = int(np.argmax(reach))
    check.require(int(reach[worst]) <= 2**31 - 1,
                  f"output channel {worst} can overflow the int32 accumulator (its weights, "
                  f"bias and the input zero point reach {int(reach[worst])})", w)


# -- rules ---------------------------------------------------------------------------------

def _image_op(check: Check, x: Tensor, w: Tensor, y: Tensor) -> None:
    """What CONV_2D and DEPTHWISE_CONV_2D share: int8 weights, NHWC int8 activations, one batch
    size in and out."""
    _weights(check, w)
    check.rank(x, 4), check.rank(w, 4), check.rank(y, 4)
    _int8_activations(check, x, y)
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
    _accumulator(check, x, w, op.bias, 0)


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
    _accumulator(check, x, w, op.bias, 3)


@rule(O.FullyConnected, inputs=(2, 3))
def _fully_connected(op: O.FullyConnected, check: Check) -> None:
    x, w, y = op.x, op.filter, op.y
    _weights(check, w)
    check.rank(w, 2)
    _int8_activations(check, x, y)
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
    assert w.quant is not None
    # Per-tensor weights are offset by their zero point (per-channel ones are symmetric).
    _accumulator(check, x, w, op.bias, 0, 0 if w.quant.per_channel else -w.quant.zp)


@rule(O.Add, O.Sub, O.Mul, inputs=(2, 2))
def _binary(op: O.Op, check: Check) -> None:
    a, b, y = op.inputs[0], op.inputs[1], op.y
    assert a is not None and b is not None
    for t in (a, b, y):
        check.rank(t, 0, 4)
    _int8_activations(check, a, b, y)
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
    _int8_activations(check, x, y)
    check.require(x.shape[0] == y.shape[0] and x.shape[3] == y.shape[3],
                  f"has shape {list(y.shape)}: batch and channels differ from the input's "
                  f"{list(x.shape)}", y)
    _spatial(check, x, y, op.filter_size, op.stride, (1, 1), op.padding)
    window = op.filter_size[0] * op.filter_size[1]
    check.require(not isinstance(op, O.AveragePool2D) or window * 256 <= 2**31 - 1,
                  f"a {op.filter_size} window can overflow the int32 sum")


@rule(O.Mean, inputs=(2, 2))
def _mean(op: O.Mean, check: Check) -> None:
    x, y = op.x, op.y
    axes_tensor = op.inputs[1]
    assert axes_tensor is not None
    check.constant(axes_tensor)
    check.dtype(axes_tensor, *_INDEX_TYPES)
    check.rank(x, 1, 4)
    _int8_activations(check, x, y)
    rank = len(x.shape)
    check.require(all(0 <= a < rank for a in op.axes) and len(set(op.axes)) == len(op.axes),
                  f"axes {op.axes} are not distinct axes of a rank-{rank} input")
    count = math.prod(x.shape[a] for a in op.axes)
    check.require(count * 256 <= 2**31 - 1, f"the mean of {count} values can overflow the "
                  "int32 sum")
    if op.keep_dims:
        expected = tuple(1 if i in op.axes else d for i, d in enumerate(x.shape))
    else:
        expected = tuple(d for i, d in enumerate(x.shape) if i not in op.axes)
    check.require(y.shape == expected or (not op.keep_dims and not expected
                                          and y.shape in ((), (1,))),
                  f"has shape {list(y.shape)}, expected {list(expected)} (input "
                  f"{list(x.shape)} reduced over axes {op.axes}, keep_dims "
                  f"{op.keep_dims})", y)


@rule(O.Pad, inputs=(2, 3))
def _pad(op: O.Pad, check: Check) -> None:
    x, y = op.x, op.y
    paddings = op.inputs[1]
    assert paddings is not None
    check.constant(paddings)
    check.dtype(paddings, *_INDEX_TYPES)
    check.rank(x, 1, 4)
    _int8_activations(check, x, y)
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
    _int8_activations(check, y)
    total = 0
    for t in op.inputs:
        assert t is not None
        _int8_activations(check, t)
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
    check.dtype(x, DType.INT8)
    check.per_tensor_quant(x)
    check.dtype(y, DType.INT8, DType.INT16)
    check.per_tensor_quant(y)
    check.same_shape(x, y)
    check.require(math.isfinite(op.beta) and op.beta > 0, f"beta {op.beta!r} must be a "
                  "positive number")
    # The sum of exps is Q12.19 in int32, as in TFLite: each row adds up to 1.0 per value.
    check.require(x.shape[-1] < SOFTMAX_MAX_ROW, f"rows of {x.shape[-1]} values overflow the "
                  f"int8 softmax's fixed-point sum (at most {SOFTMAX_MAX_ROW - 1})", x)


@rule(O.Logistic, O.Tanh, O.HardSwish, O.Relu, O.Relu6, O.LeakyRelu, inputs=(1, 1))
def _unary(op: O.Op, check: Check) -> None:
    _int8_activations(check, op.x, op.y)
    check.same_shape(op.x, op.y)
    if isinstance(op, O.LeakyRelu):
        check.require(math.isfinite(op.alpha), f"alpha {op.alpha!r} is not a number")


@rule(O.Quantize, inputs=(1, 1))
def _quantize(op: O.Quantize, check: Check) -> None:
    check.dtype(op.x, DType.FLOAT32, DType.INT8)
    if op.x.dtype is DType.INT8:
        check.per_tensor_quant(op.x)
    _int8_activations(check, op.y)
    check.same_shape(op.x, op.y)


@rule(O.Dequantize, inputs=(1, 1))
def _dequantize(op: O.Dequantize, check: Check) -> None:
    _int8_activations(check, op.x)
    check.dtype(op.y, DType.FLOAT32)
    check.same_shape(op.x, op.y)


@rule(O.Transpose, inputs=(2, 2))
def _transpose(op: O.Transpose, check: Check) -> None:
    x, y = op.x, op.y
    perm_tensor = op.inputs[1]
    assert perm_tensor is not None
    check.constant(perm_tensor)
    check.dtype(perm_tensor, *_INDEX_TYPES)
    _int8_activations(check, x, y)
    rank = len(x.shape)
    check.require(sorted(op.perm) == list(range(rank)),
                  f"perm {op.perm} is not a permutation of a rank-{rank} input's axes")
    expected = tuple(x.shape[p] for p in op.perm)
    check.require(y.shape == expected, f"has shape {list(y.shape)}, expected "
                  f"{list(expected)} ({list(x.shape)} permuted by {op.perm})", y)


# -- shape and data movement --
# -- end of shape and data movement --

# -- elementwise math, comparisons and select --
# -- end of elementwise math --

# -- reductions and normalizations --
# -- end of reductions --

# -- spatial and matrix ops --
# -- end of spatial --

# -- recurrent --
# -- end of recurrent --
