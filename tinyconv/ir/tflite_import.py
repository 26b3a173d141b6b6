""".tflite flatbuffer -> Graph IR.

The file is read by the one .tflite reader (ir/schema/tflite.py); this module maps its
operators to typed IR ops and hands the graph to ir/validate.py. Whatever the bytes,
everything a user can hand us wrongly (a truncated file, random or mutated bytes, a float
model, an op we have no kernel for, shapes that do not add up) becomes one TinyconvError
naming the cause.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import TinyconvError, UnsupportedOpError
from . import fold
from . import ops as O
from .graph import DType, Graph, Tensor
from .schema import tflite as schema
from .validate import validate

_ACTIVATIONS = {0: O.Activation.NONE, 1: O.Activation.RELU, 2: O.Activation.RELU_N1_TO_1,
                3: O.Activation.RELU6}
_PADDING = {0: O.Padding.SAME, 1: O.Padding.VALID}


def load_tflite(path: str | Path) -> Graph:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TinyconvError(f"cannot read model {path}: {e.strerror or e}") from None
    return import_tflite(data, source=str(path))


def import_tflite(data: bytes, source: str = "<bytes>") -> Graph:
    model = schema.parse(data, source)
    data = bytes(data)
    subgraph = schema.main_subgraph(model)
    raw_tensors = subgraph.tensors or []
    tensors = [_tensor(i, t, model, data, source) for i, t in enumerate(raw_tensors)]

    def tensor(i: int, what: str) -> Tensor:
        if not 0 <= i < len(tensors):
            raise TinyconvError(f"{source}: corrupt .tflite file: {what} refers to tensor "
                                f"{i}, the subgraph has {len(tensors)}")
        return tensors[i]

    graph_inputs = [tensor(i, "the model input") for i in schema.ints(subgraph.inputs)]
    graph_outputs = [tensor(i, "the model output") for i in schema.ints(subgraph.outputs)]

    model_outputs = {t.index for t in graph_outputs}
    graph_ops: list[O.Op] = []
    for index, raw in enumerate(subgraph.operators or []):
        name = schema.op_name(model, int(raw.opcodeIndex), source)
        builder = _BUILDERS.get(name)
        what = f"op #{index} {name}"
        # -1 marks an absent optional input (a bias); validate says which may be absent.
        inputs = [tensor(i, what) if i != -1 else None for i in schema.ints(raw.inputs)]
        outputs = [tensor(i, what) for i in schema.ints(raw.outputs)]
        folds = fold.foldable(name, inputs, outputs, model_outputs)
        if builder is None and not folds:
            supported = ", ".join(sorted(_BUILDERS))
            only_folded = (f" as an op that runs ({name} is evaluated at import where its "
                           "inputs are constant int32/int64 tensors or, for SHAPE and RANK, "
                           "any tensor of a static shape)" if name in fold.FOLDABLE else "")
            raise UnsupportedOpError(f"{source}: op #{index} {name} is not supported"
                                     f"{only_folded} (supported: {supported}; `tinyconv ops` "
                                     "shows their dtypes and kernels)")
        if not inputs or inputs[0] is None or not outputs:
            raise TinyconvError(f"{source}: {what} is malformed (it has {len(inputs)} inputs "
                                f"and {len(outputs)} outputs)")
        try:
            op = builder(inputs, outputs, raw.builtinOptions) if builder is not None else None
            if folds:  # its outputs become constants; the op is dropped (ir/fold.py)
                fold.fold(name, op, inputs, outputs, raw.builtinOptions)
                continue
        except Exception as e:  # options of the wrong type or absent, values out of range
            raise TinyconvError(f"{source}: {what} is malformed ({type(e).__name__}: {e})") \
                from None
        assert op is not None
        op.index = index
        op.name = outputs[0].name
        if isinstance(op, O.UnidirectionalSequenceLstm):  # quantization of gate outputs
            op.intermediates = [tensor(i, what) if i != -1 else None
                                for i in schema.ints(raw.intermediates)]
        graph_ops.append(op)

    graph = Graph(name=Path(source).stem, tensors=tensors, ops=graph_ops, inputs=graph_inputs,
                  outputs=graph_outputs, source=source)
    validate(graph, source)
    return graph


def _tensor(index: int, t: Any, model: Any, data: bytes, source: str) -> Tensor:
    name = schema.tensor_name(t, index)
    dtype = schema.tensor_dtype(t, name, source)
    shape = schema.tensor_shape(t)
    quant = schema.quantization(t, name, source)
    if quant is not None and quant.per_channel and len(shape) == 1 and quant.axis != 0:
        # A rank-1 tensor's channels are on axis 0 whatever its quantized_dimension says:
        # old converters copied the depthwise weights' 3 into the bias. TFLite Micro
        # ignores it; LiteRT refuses the model ("quantized_dimension must be in range").
        quant = dataclasses.replace(quant, axis=0)
    raw = schema.buffer_bytes(model, t, data, name, source)
    array = schema.constant(raw, dtype, shape, name, source)
    variable = bool(getattr(t, "isVariable", False))
    if variable and array is not None:  # LiteRT's InterpreterBuilder refuses these too
        raise TinyconvError(f"{source}: variable tensor {name!r} has a constant buffer "
                            "(TFLite starts variable tensors at zero and supports no other "
                            "initial value)")
    return Tensor(index=index, name=name, shape=shape, dtype=dtype, quant=quant, data=array,
                  is_variable=variable)


# -- per-op option parsing ------------------------------------------------------------------

def _act(options) -> O.Activation:
    code = getattr(options, "fusedActivationFunction", 0) if options is not None else 0
    if code not in _ACTIVATIONS:
        raise ValueError(f"fused activation {code} is not supported")
    return _ACTIVATIONS[code]


def _const(t: Tensor | None, what: str) -> np.ndarray:
    if t is None or t.data is None:
        raise ValueError(f"{what} must be a constant tensor")
    return t.data


def _conv(inputs, outputs, o) -> O.Op:
    return O.Conv2D(inputs=inputs, outputs=outputs, stride=(o.strideH, o.strideW),
                    dilation=(o.dilationHFactor, o.dilationWFactor),
                    padding=_PADDING[o.padding], activation=_act(o))


def _depthwise(inputs, outputs, o) -> O.Op:
    # The options' depth_multiplier is unreliable in older files; the shapes are not (and
    # validate rejects shapes from which this division gives no whole multiplier).
    x_shape, w_shape = inputs[0].shape, inputs[1].shape
    in_channels = x_shape[-1] if x_shape else 0
    out_channels = w_shape[-1] if w_shape else 0
    return O.DepthwiseConv2D(inputs=inputs, outputs=outputs, stride=(o.strideH, o.strideW),
                             dilation=(o.dilationHFactor, o.dilationWFactor),
                             padding=_PADDING[o.padding], activation=_act(o),
                             depth_multiplier=out_channels // in_channels
                             if in_channels > 0 else 0)


def _fully_connected(inputs, outputs, o) -> O.Op:
    if o is not None and getattr(o, "weightsFormat", 0) != 0:
        raise ValueError("shuffled weights format is not supported")
    return O.FullyConnected(inputs=inputs, outputs=outputs, activation=_act(o),
                            keep_num_dims=bool(getattr(o, "keepNumDims", False)))


def _pool(cls) -> Callable:
    def build(inputs, outputs, o) -> O.Op:
        return cls(inputs=inputs, outputs=outputs, filter_size=(o.filterHeight, o.filterWidth),
                   stride=(o.strideH, o.strideW), padding=_PADDING[o.padding],
                   activation=_act(o))
    return build


def _binary(cls) -> Callable:
    return lambda inputs, outputs, o: cls(inputs=inputs, outputs=outputs, activation=_act(o))


def _unary(cls) -> Callable:
    return lambda inputs, outputs, o: cls(inputs=inputs, outputs=outputs)


def _axis(axis: int, rank: int, what: str) -> int:
    """A TFLite axis in [-rank, rank) as a non-negative one."""
    if not -rank <= axis < rank:
        raise ValueError(f"{what} {axis} is outside a rank-{rank} tensor")
    return axis % rank


def _reducer(cls) -> Callable:
    """MEAN, SUM, REDUCE_MAX: the constant axes, negative or repeated, as a sorted set. An
    empty axes tensor (reduce nothing) is dropped: tinyconv has no zero-size tensors."""
    def build(inputs, outputs, o) -> O.Op:
        rank = len(inputs[0].shape)
        if len(inputs) == 2 and inputs[1] is not None and 0 in inputs[1].shape:
            inputs = inputs[:1]
        values = (_const(inputs[1], f"{cls.kind} axes").reshape(-1) if len(inputs) > 1
                  else np.zeros(0, np.int32))
        axes = tuple(sorted({_axis(int(a), rank, f"{cls.kind} axis") for a in values}))
        return cls(inputs=inputs, outputs=outputs, axes=axes,
                   keep_dims=bool(getattr(o, "keepDims", False)))
    return build


def _arg_min_max(cls) -> Callable:
    """ARG_MAX, ARG_MIN: one constant axis (the output's dtype says int32 or int64)."""
    def build(inputs, outputs, o) -> O.Op:
        values = _const(inputs[1], f"{cls.kind} axis").reshape(-1)
        if values.size != 1:
            raise ValueError(f"{cls.kind} takes one axis, got {values.size}")
        return cls(inputs=inputs, outputs=outputs,
                   axis=_axis(int(values[0]), len(inputs[0].shape), f"{cls.kind} axis"))
    return build


def _pad(inputs, outputs, o) -> O.Op:
    paddings = _const(inputs[1], "PAD paddings").reshape(-1, 2)
    value = None
    if len(inputs) > 2 and inputs[2] is not None:
        value = _const(inputs[2], "PADV2 constant_values").reshape(-1)[0].item()
    return O.Pad(inputs=inputs, outputs=outputs, pad_value=value,
                 paddings=tuple((int(a), int(b)) for a, b in paddings))


def _concat(inputs, outputs, o) -> O.Op:
    rank = len(outputs[0].shape)
    return O.Concatenation(inputs=inputs, outputs=outputs,
                           axis=_axis(int(o.axis), rank, "CONCATENATION axis"),
                           activation=_act(o))


def _transpose(inputs, outputs, o) -> O.Op:
    perm = tuple(int(p) for p in _const(inputs[1], "TRANSPOSE perm").reshape(-1))
    return O.Transpose(inputs=inputs, outputs=outputs, perm=perm)


# -- shape and data movement builders (STRIDED_SLICE ... CAST) --

def _ints(t: Tensor | None, what: str) -> tuple[int, ...]:
    return tuple(int(v) for v in _const(t, what).reshape(-1))


def _strided_slice(inputs, outputs, o) -> O.Op:
    if len(inputs) != 4:
        raise ValueError(f"has {len(inputs)} inputs, expected 4")
    return O.StridedSlice(
        inputs=inputs, outputs=outputs, begin=_ints(inputs[1], "STRIDED_SLICE begin"),
        end=_ints(inputs[2], "STRIDED_SLICE end"),
        strides=_ints(inputs[3], "STRIDED_SLICE strides"),
        begin_mask=int(o.beginMask), end_mask=int(o.endMask),
        ellipsis_mask=int(o.ellipsisMask), new_axis_mask=int(o.newAxisMask),
        shrink_axis_mask=int(o.shrinkAxisMask), offset=bool(getattr(o, "offset", False)))


def _slice(inputs, outputs, o) -> O.Op:
    if len(inputs) != 3:
        raise ValueError(f"has {len(inputs)} inputs, expected 3")
    begin, size = _ints(inputs[1], "SLICE begin"), _ints(inputs[2], "SLICE size")
    shape = inputs[0].shape
    if len(begin) != len(shape) or len(size) != len(shape):
        raise ValueError(f"begin {begin} and size {size} do not match a rank-{len(shape)} "
                         "input")
    # size -1: everything from begin to the end of the axis (slice.cc CalculateOutputShape)
    size = tuple(d - b if s == -1 else s for d, b, s in zip(shape, begin, size))
    return O.Slice(inputs=inputs, outputs=outputs, begin=begin, size=size)


def _split(inputs, outputs, o) -> O.Op:
    if len(inputs) != 2:
        raise ValueError(f"has {len(inputs)} inputs, expected 2 (axis, input)")
    data = inputs[1]
    axis = _axis(_ints(inputs[0], "SPLIT axis")[0], len(data.shape), "SPLIT axis")
    count = int(o.numSplits) if o is not None else len(outputs)
    if count < 1 or data.shape[axis] % count:
        raise ValueError(f"axis {axis} of {list(data.shape)} does not split into {count}")
    return O.Split(inputs=inputs, outputs=outputs, axis=axis,
                   sizes=(data.shape[axis] // count,) * count)


def _split_v(inputs, outputs, o) -> O.Op:
    if len(inputs) != 3:
        raise ValueError(f"has {len(inputs)} inputs, expected 3 (input, size_splits, axis)")
    data = inputs[0]
    axis = _axis(_ints(inputs[2], "SPLIT_V axis")[0], len(data.shape), "SPLIT_V axis")
    sizes = _ints(inputs[1], "SPLIT_V size_splits")
    if sizes.count(-1) > 1:
        raise ValueError(f"size_splits {sizes} has more than one -1")
    if -1 in sizes:  # split_v.cc: the -1 takes what the others leave
        rest = data.shape[axis] - sum(s for s in sizes if s != -1)
        sizes = tuple(rest if s == -1 else s for s in sizes)
    return O.SplitV(inputs=inputs, outputs=outputs, axis=axis, sizes=sizes)


def _pack(inputs, outputs, o) -> O.Op:
    rank = len(inputs[0].shape) + 1
    return O.Pack(inputs=inputs, outputs=outputs, axis=_axis(int(o.axis), rank, "PACK axis"))


def _unpack(inputs, outputs, o) -> O.Op:
    rank = len(inputs[0].shape)
    return O.Unpack(inputs=inputs, outputs=outputs,
                    axis=_axis(int(o.axis), rank, "UNPACK axis"))


def _gather(inputs, outputs, o) -> O.Op:
    if len(inputs) != 2 or inputs[1] is None:
        raise ValueError(f"has {len(inputs)} inputs, expected 2 (params, indices)")
    axis = _axis(int(o.axis) if o is not None else 0, len(inputs[0].shape), "GATHER axis")
    batch_dims = int(getattr(o, "batchDims", 0)) if o is not None else 0
    if batch_dims < 0:  # gather.cc: a negative batch_dims counts from the indices' rank
        batch_dims += len(inputs[1].shape)
    return O.Gather(inputs=inputs, outputs=outputs, axis=axis, batch_dims=batch_dims)


def _block(cls) -> Callable:
    return lambda inputs, outputs, o: cls(inputs=inputs, outputs=outputs,
                                          block_size=int(o.blockSize))


# -- spatial and matrix ops (their builders are in the spatial section of _BUILDERS) --

def _resize(cls, inputs, outputs, o) -> O.Op:
    return cls(inputs=inputs, outputs=outputs,
               align_corners=bool(getattr(o, "alignCorners", False)),
               half_pixel_centers=bool(getattr(o, "halfPixelCenters", False)))


# TensorType codes of TransposeConvOptions.quantized_bias_type (0, FLOAT32: unset).
_BIAS_TYPES = {0: None, 2: DType.INT32, 4: DType.INT64}


def _transpose_conv(inputs, outputs, o) -> O.Op:
    code = int(getattr(o, "quantizedBiasType", 0))
    if code not in _BIAS_TYPES:
        raise ValueError(f"quantized_bias_type {code} is not INT32 or INT64")
    return O.TransposeConv(inputs=inputs, outputs=outputs, stride=(o.strideH, o.strideW),
                           padding=_PADDING[o.padding], activation=_act(o),
                           bias_type=_BIAS_TYPES[code])


def _svdf(inputs, outputs, o) -> O.Op:
    return O.Svdf(inputs=inputs, outputs=outputs, rank=int(o.rank), activation=_act(o))


def _sequence_lstm(inputs, outputs, o) -> O.Op:
    if getattr(o, "diagonalRecurrentTensors", False):
        raise ValueError("diagonal recurrent weights are not supported")
    return O.UnidirectionalSequenceLstm(
        inputs=inputs, outputs=outputs, activation=_lstm_act(o),
        cell_activation=int(getattr(o, "fusedActivationFunction", 0)),
        cell_clip=float(o.cellClip), proj_clip=float(o.projClip),
        time_major=bool(o.timeMajor))


def _lstm_act(options) -> O.Activation:
    """The LSTM's cell activation; the integer kernel uses tanh whatever it says."""
    code = getattr(options, "fusedActivationFunction", 0)
    return _ACTIVATIONS.get(code, O.Activation.NONE)


_BUILDERS: dict[str, Callable] = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "ADD": lambda i, o, opt: O.Add(inputs=i, outputs=o, activation=_act(opt),
                                   pot_scale_int16=bool(getattr(opt, "potScaleInt16", True))),
    "SUB": lambda i, o, opt: O.Sub(inputs=i, outputs=o, activation=_act(opt),
                                   pot_scale_int16=bool(getattr(opt, "potScaleInt16", True))),
    "MUL": _binary(O.Mul),
    "AVERAGE_POOL_2D": _pool(O.AveragePool2D),
    "MAX_POOL_2D": _pool(O.MaxPool2D),
    "MEAN": _reducer(O.Mean),
    "PAD": _pad,
    "PADV2": _pad,
    "RESHAPE": _unary(O.Reshape),
    "SQUEEZE": _unary(O.Squeeze),
    "EXPAND_DIMS": _unary(O.Reshape),
    "CONCATENATION": _concat,
    "SOFTMAX": lambda i, out, o: O.Softmax(inputs=i, outputs=out, beta=float(o.beta)),
    "LOGISTIC": _unary(O.Logistic),
    "TANH": _unary(O.Tanh),
    "HARD_SWISH": _unary(O.HardSwish),
    "RELU": _unary(O.Relu),
    "RELU6": _unary(O.Relu6),
    "LEAKY_RELU": lambda i, out, o: O.LeakyRelu(inputs=i, outputs=out, alpha=float(o.alpha)),
    "QUANTIZE": _unary(O.Quantize),
    "DEQUANTIZE": _unary(O.Dequantize),
    "TRANSPOSE": _transpose,
    # -- shape and data movement --
    "STRIDED_SLICE": _strided_slice,
    "SLICE": _slice,
    "SPLIT": _split,
    "SPLIT_V": _split_v,
    "PACK": _pack,
    "UNPACK": _unpack,
    "GATHER": _gather,
    "DEPTH_TO_SPACE": _block(O.DepthToSpace),
    "SPACE_TO_DEPTH": _block(O.SpaceToDepth),
    "BROADCAST_TO": _unary(O.BroadcastTo),
    "CAST": _unary(O.Cast),
    # -- end of shape and data movement --
    # -- elementwise math, comparisons and select --
    "MAXIMUM": _unary(O.Maximum),
    "MINIMUM": _unary(O.Minimum),
    "SQUARED_DIFFERENCE": _unary(O.SquaredDifference),
    "EQUAL": _unary(O.Equal),
    "NOT_EQUAL": _unary(O.NotEqual),
    "LESS": _unary(O.Less),
    "LESS_EQUAL": _unary(O.LessEqual),
    "GREATER": _unary(O.Greater),
    "GREATER_EQUAL": _unary(O.GreaterEqual),
    "SELECT": _unary(O.Select),
    "SELECT_V2": _unary(O.SelectV2),
    "PRELU": _unary(O.Prelu),
    "ABS": _unary(O.Abs),
    "NEG": _unary(O.Neg),
    "RSQRT": _unary(O.Rsqrt),
    "EXP": _unary(O.Exp),
    "ELU": _unary(O.Elu),
    # -- end of elementwise math --
    # -- reductions and normalizations --
    "SUM": _reducer(O.Sum),
    "REDUCE_MAX": _reducer(O.ReduceMax),
    "ARG_MAX": _arg_min_max(O.ArgMax),
    "ARG_MIN": _arg_min_max(O.ArgMin),
    "LOG_SOFTMAX": _unary(O.LogSoftmax),
    "L2_NORMALIZATION": lambda i, out, o: O.L2Normalization(inputs=i, outputs=out,
                                                            activation=_act(o)),
    # -- end of reductions --
    # -- spatial and matrix ops --
    "RESIZE_NEAREST_NEIGHBOR": lambda i, out, o: _resize(O.ResizeNearestNeighbor, i, out, o),
    "RESIZE_BILINEAR": lambda i, out, o: _resize(O.ResizeBilinear, i, out, o),
    "TRANSPOSE_CONV": lambda i, out, o: _transpose_conv(i, out, o),
    "BATCH_MATMUL": lambda i, out, o: O.BatchMatMul(
        inputs=i, outputs=out, adj_x=bool(getattr(o, "adjX", False)),
        adj_y=bool(getattr(o, "adjY", False))),
    # -- end of spatial --
    # -- recurrent --
    "SVDF": _svdf,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": _sequence_lstm,
    # -- end of recurrent --
}
