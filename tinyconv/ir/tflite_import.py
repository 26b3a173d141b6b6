""".tflite flatbuffer -> Graph IR.

The file is read by the one .tflite reader (ir/schema/tflite.py); this module maps its
operators to typed IR ops and hands the graph to ir/validate.py. Whatever the bytes,
everything a user can hand us wrongly (a truncated file, random or mutated bytes, a float
model, an op we have no kernel for, shapes that do not add up) becomes one TinyconvError
naming the cause.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import TinyconvError, UnsupportedOpError
from . import ops as O
from .graph import Graph, Tensor
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

    graph_ops: list[O.Op] = []
    for index, raw in enumerate(subgraph.operators or []):
        name = schema.op_name(model, int(raw.opcodeIndex), source)
        builder = _BUILDERS.get(name)
        if builder is None:
            supported = ", ".join(sorted(_BUILDERS))
            raise UnsupportedOpError(f"{source}: op #{index} {name} is not supported "
                                     f"(supported: {supported})")
        what = f"op #{index} {name}"
        # -1 marks an absent optional input (a bias); validate says which may be absent.
        inputs = [tensor(i, what) if i != -1 else None for i in schema.ints(raw.inputs)]
        outputs = [tensor(i, what) for i in schema.ints(raw.outputs)]
        if not inputs or inputs[0] is None or not outputs:
            raise TinyconvError(f"{source}: {what} is malformed (it has {len(inputs)} inputs "
                                f"and {len(outputs)} outputs)")
        try:
            op = builder(inputs, outputs, raw.builtinOptions)
        except Exception as e:  # options of the wrong type or absent, values out of range
            raise TinyconvError(f"{source}: {what} is malformed ({type(e).__name__}: {e})") \
                from None
        op.index = index
        op.name = outputs[0].name
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
    raw = schema.buffer_bytes(model, t, data, name, source)
    array = schema.constant(raw, dtype, shape, name, source)
    return Tensor(index=index, name=name, shape=shape, dtype=dtype, quant=quant, data=array)


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


def _mean(inputs, outputs, o) -> O.Op:
    rank = len(inputs[0].shape)
    values = _const(inputs[1], "MEAN axes").reshape(-1)
    axes = tuple(sorted({_axis(int(a), rank, "MEAN axis") for a in values}))
    return O.Mean(inputs=inputs, outputs=outputs, axes=axes,
                  keep_dims=bool(getattr(o, "keepDims", False)))


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


_BUILDERS: dict[str, Callable] = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "ADD": _binary(O.Add),
    "SUB": _binary(O.Sub),
    "MUL": _binary(O.Mul),
    "AVERAGE_POOL_2D": _pool(O.AveragePool2D),
    "MAX_POOL_2D": _pool(O.MaxPool2D),
    "MEAN": _mean,
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
    # -- end of shape and data movement --
    # -- elementwise math, comparisons and select --
    # -- end of elementwise math --
    # -- reductions and normalizations --
    # -- end of reductions --
    # -- spatial and matrix ops --
    # -- end of spatial --
    # -- recurrent --
    # -- end of recurrent --
}
