""".tflite flatbuffer -> Graph IR.

Parsing uses the schema bindings shipped in the `tflite-micro` package (flatbuffers and
numpy only). Everything a user can hand us wrongly (a truncated file, random bytes, a
float model, an op we have no kernel for) becomes one TinyconvError naming the cause.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import TinyconvError, UnsupportedOpError
from . import ops as O
from .graph import DType, Graph, Quant, Tensor

_TYPES = {0: DType.FLOAT32, 2: DType.INT32, 3: DType.UINT8, 4: DType.INT64, 6: DType.BOOL,
          7: DType.INT16, 9: DType.INT8}
_ACTIVATIONS = {0: O.Activation.NONE, 1: O.Activation.RELU, 2: O.Activation.RELU_N1_TO_1,
                3: O.Activation.RELU6}
_PADDING = {0: O.Padding.SAME, 1: O.Padding.VALID}


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated
    return schema_py_generated


def load_tflite(path: str | Path) -> Graph:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TinyconvError(f"cannot read model {path}: {e.strerror or e}") from None
    return import_tflite(data, source=str(path))


def import_tflite(data: bytes, source: str = "<bytes>") -> Graph:
    schema = _schema()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise TinyconvError(f"{source}: not a TFLite flatbuffer (no 'TFL3' identifier); "
                            "expected an int8 .tflite model")
    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
        subgraph = model.subgraphs[0]
        op_names = _op_names(schema)
        tensors = [_tensor(i, t, model, data) for i, t in enumerate(subgraph.tensors or [])]
        codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
        raw_ops = list(subgraph.operators or [])
        graph_inputs = [tensors[i] for i in _ints(subgraph.inputs)]
        graph_outputs = [tensors[i] for i in _ints(subgraph.outputs)]
    except TinyconvError:
        raise
    except Exception as e:  # flatbuffers raises anything on garbage: IndexError, struct.error...
        raise TinyconvError(f"{source}: corrupt or truncated .tflite file "
                            f"({type(e).__name__} while parsing)") from None

    graph_ops: list[O.Op] = []
    for index, raw in enumerate(raw_ops):
        name = op_names.get(codes[raw.opcodeIndex], f"BUILTIN_{codes[raw.opcodeIndex]}")
        builder = _BUILDERS.get(name)
        if builder is None:
            supported = ", ".join(sorted(_BUILDERS))
            raise UnsupportedOpError(f"{source}: op #{index} {name} is not supported "
                                     f"(supported: {supported})")
        inputs = [tensors[i] if i >= 0 else None for i in _ints(raw.inputs)]
        outputs = [tensors[i] for i in _ints(raw.outputs)]
        try:
            op = builder(inputs, outputs, raw.builtinOptions)
        except (IndexError, AttributeError, TypeError, ValueError) as e:
            raise TinyconvError(f"{source}: op #{index} {name} is malformed ({e})") from None
        op.index = index
        op.name = outputs[0].name if outputs else name
        graph_ops.append(op)

    graph = Graph(name=Path(source).stem, tensors=tensors, ops=graph_ops, inputs=graph_inputs,
                  outputs=graph_outputs, source=source)
    _check_quantized(graph)
    return graph


def _ints(values: Any) -> list[int]:
    return [] if values is None else [int(v) for v in values]


def _op_names(schema) -> dict[int, str]:
    return {v: k for k, v in vars(schema.BuiltinOperator).items() if k.isupper()}


def _tensor(index: int, t, model, data: bytes) -> Tensor:
    dtype = _TYPES.get(t.type)
    name = t.name.decode() if isinstance(t.name, bytes) else str(t.name or f"t{index}")
    shape = tuple(_ints(t.shape))
    if dtype is None:
        type_names = {0: "FLOAT32", 1: "FLOAT16", 5: "STRING", 8: "COMPLEX64", 10: "FLOAT64",
                      17: "INT4"}
        raise TinyconvError(f"tensor {name!r} has type {type_names.get(t.type, t.type)}, "
                            "which tinyconv does not support")
    quant = None
    q = t.quantization
    if q is not None and q.scale is not None and len(q.scale) > 0:
        zero_points = _ints(q.zeroPoint) or [0] * len(q.scale)
        quant = Quant(scale=tuple(float(s) for s in q.scale), zero_point=tuple(zero_points),
                      axis=int(q.quantizedDimension))
    array = None
    buffer = model.buffers[t.buffer] if t.buffer < len(model.buffers) else None
    if buffer is not None:
        raw = None
        if buffer.data is not None and len(buffer.data) > 0:
            raw = np.asarray(buffer.data, dtype=np.uint8).tobytes()
        elif getattr(buffer, "offset", 0) and buffer.offset > 1:
            raw = data[buffer.offset:buffer.offset + buffer.size]
        if raw is not None:
            expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if len(raw) != expected:
                raise TinyconvError(f"constant tensor {name!r} has {len(raw)} bytes, its shape "
                                    f"{list(shape)} needs {expected}")
            array = np.frombuffer(raw, dtype=dtype.numpy).reshape(shape)
    return Tensor(index=index, name=name, shape=shape, dtype=dtype, quant=quant, data=array)


def _check_quantized(graph: Graph) -> None:
    """A float model gets one clear sentence instead of a failure deep in codegen."""
    compute = (O.Conv2D, O.DepthwiseConv2D, O.FullyConnected)
    for op in graph.ops:
        if isinstance(op, compute) and op.filter.dtype is DType.FLOAT32:
            raise TinyconvError(
                f"{graph.source}: float model ({op.kind} #{op.index} has float32 weights); "
                "tinyconv deploys full-integer int8 models: convert with a representative "
                "dataset and TFLITE_BUILTINS_INT8 (see `tinyconv train`)")
        if isinstance(op, compute) and op.filter.dtype is not DType.INT8:
            raise TinyconvError(f"{graph.source}: {op.describe()} has {op.filter.dtype.name} "
                                "weights; only int8 weights are supported")


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
    in_channels, out_channels = inputs[0].shape[3], inputs[1].shape[3]
    # The options' depth_multiplier is unreliable in older files; the shapes are not.
    return O.DepthwiseConv2D(inputs=inputs, outputs=outputs, stride=(o.strideH, o.strideW),
                             dilation=(o.dilationHFactor, o.dilationWFactor),
                             padding=_PADDING[o.padding], activation=_act(o),
                             depth_multiplier=out_channels // in_channels)


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


def _mean(inputs, outputs, o) -> O.Op:
    rank = len(inputs[0].shape)
    axes = tuple(sorted({int(a) % rank for a in _const(inputs[1], "MEAN axes").reshape(-1)}))
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
    return O.Concatenation(inputs=inputs, outputs=outputs, axis=int(o.axis) % rank,
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
}
