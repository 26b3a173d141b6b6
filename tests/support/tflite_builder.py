"""Build small int8 .tflite models directly from the flatbuffer schema, for tests.

Why not convert Keras models: conversion takes seconds per model and cannot produce many
shapes and quantization parameters that real converters do produce (grouped convs,
odd zero points, per-channel FULLY_CONNECTED...). Writing the flatbuffer ourselves takes
milliseconds, so tests can sweep hundreds of random but valid configurations.

`ModelBuilder` is the raw layer (tensors, ops, build). The `*_model(rng, **overrides)`
helpers build one op (or a few) with random parameters that LiteRT's Prepare accepts;
every parameter left as None is drawn from `rng`, so a seed reproduces a model exactly.
`SINGLE_OP_BUILDERS` maps each op kind tinyconv supports to its helper.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import flatbuffers
import numpy as np
from tinyconv.ir.schema.tflite import bindings

schema = bindings()  # the generated .tflite schema classes, loaded in one place

BuiltinOperator = schema.BuiltinOperator
Padding = schema.Padding

# Opcodes above 127 only fit the 32-bit builtinCode; the int8 field holds this marker.
_PLACEHOLDER_FOR_GREATER_OP_CODES = 127
# Buffers are 16-byte aligned like the converter's, so int32/float data is aligned too.
_BUFFER_ALIGNMENT = 16

_TENSOR_TYPES = {
    np.dtype("float32"): schema.TensorType.FLOAT32,
    np.dtype("int8"): schema.TensorType.INT8,
    np.dtype("uint8"): schema.TensorType.UINT8,
    np.dtype("int16"): schema.TensorType.INT16,
    np.dtype("int32"): schema.TensorType.INT32,
    np.dtype("int64"): schema.TensorType.INT64,
    np.dtype("bool"): schema.TensorType.BOOL,
}

ACTIVATIONS = {
    "NONE": schema.ActivationFunctionType.NONE,
    "RELU": schema.ActivationFunctionType.RELU,
    "RELU_N1_TO_1": schema.ActivationFunctionType.RELU_N1_TO_1,
    "RELU6": schema.ActivationFunctionType.RELU6,
}

_PADDINGS = {"SAME": Padding.SAME, "VALID": Padding.VALID}


class _AlignedBufferT(schema.BufferT):
    """A BufferT whose data vector starts on a 16-byte boundary (the object API aligns to 1)."""

    def Pack(self, builder: flatbuffers.Builder) -> int:
        data_offset = None
        if self.data is not None:
            payload = np.ascontiguousarray(self.data).tobytes()
            builder.StartVector(1, len(payload), _BUFFER_ALIGNMENT)
            builder.head -= len(payload)
            builder.Bytes[builder.head:builder.head + len(payload)] = payload
            builder.vectorNumElems = len(payload)
            data_offset = builder.EndVector()
        schema.BufferStart(builder)
        if data_offset is not None:
            schema.BufferAddData(builder, data_offset)
        return schema.BufferEnd(builder)


def _opcode(code: int | str) -> int:
    return getattr(BuiltinOperator, code) if isinstance(code, str) else int(code)


def _options_type(options: object) -> int:
    """The BuiltinOptions union tag of an *OptionsT object, from its class name."""
    name = type(options).__name__
    if not name.endswith("T"):
        raise TypeError(f"{name} is not a schema *OptionsT class")
    return getattr(schema.BuiltinOptions, name[:-1])


class ModelBuilder:
    """Accumulates tensors and operators of one subgraph, then packs a .tflite model."""

    def __init__(self, description: str = "tinyconv test model"):
        self.description = description
        self.tensors: list[schema.TensorT] = []
        self.operators: list[schema.OperatorT] = []
        self.opcodes: list[schema.OperatorCodeT] = []
        self._opcode_index: dict[tuple[int, int], int] = {}
        self.buffers: list[schema.BufferT] = [_AlignedBufferT()]  # buffer 0: the empty sentinel

    def tensor(self, shape: Sequence[int], dtype: str | np.dtype = "int8",
               scale: float | Sequence[float] | None = None,
               zero_point: int | Sequence[int] | None = None,
               data: np.ndarray | None = None, quantized_dimension: int = 0,
               name: str | None = None) -> int:
        """Add a tensor and return its index; `data` makes it a constant."""
        dtype = np.dtype(dtype)
        t = schema.TensorT()
        t.shape = [int(d) for d in shape]
        t.type = _TENSOR_TYPES[dtype]
        t.name = name or f"t{len(self.tensors)}"
        t.buffer = 0
        if data is not None:
            data = np.asarray(data, dtype=dtype)
            if tuple(data.shape) != tuple(t.shape):
                raise ValueError(f"data shape {data.shape} != tensor shape {tuple(t.shape)}")
            buffer = _AlignedBufferT()
            buffer.data = np.frombuffer(data.astype(dtype.newbyteorder("<")).tobytes(), np.uint8)
            self.buffers.append(buffer)
            t.buffer = len(self.buffers) - 1
        if scale is not None:
            scales = [float(np.float32(s)) for s in np.atleast_1d(scale)]
            zps = np.atleast_1d(0 if zero_point is None else zero_point).astype(np.int64)
            if len(zps) == 1 and len(scales) > 1:
                zps = np.repeat(zps, len(scales))
            q = schema.QuantizationParametersT()
            q.scale = scales
            q.zeroPoint = [int(z) for z in zps]
            q.quantizedDimension = int(quantized_dimension)
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def const(self, data: np.ndarray, dtype: str | np.dtype | None = None, **quant) -> int:
        """A constant tensor whose shape is its data's."""
        data = np.asarray(data, dtype=dtype)
        return self.tensor(data.shape, data.dtype, data=data, **quant)

    def like(self, index: int, shape: Sequence[int] | None = None) -> int:
        """A new activation tensor with the dtype and quantization of tensor `index`."""
        src = self.tensors[index]
        dtype = next(k for k, v in _TENSOR_TYPES.items() if v == src.type)
        q = src.quantization
        return self.tensor(src.shape if shape is None else shape, dtype,
                           scale=None if q is None else q.scale,
                           zero_point=None if q is None else q.zeroPoint)

    def op(self, builtin_code: int | str, inputs: Sequence[int], outputs: Sequence[int],
           options: object | None = None, version: int = 1) -> None:
        """Append an operator; -1 in `inputs` marks an omitted optional input."""
        code = _opcode(builtin_code)
        key = (code, version)
        if key not in self._opcode_index:
            oc = schema.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, _PLACEHOLDER_FOR_GREATER_OP_CODES)
            oc.version = version
            self.opcodes.append(oc)
            self._opcode_index[key] = len(self.opcodes) - 1
        o = schema.OperatorT()
        o.opcodeIndex = self._opcode_index[key]
        o.inputs = [int(i) for i in inputs]
        o.outputs = [int(i) for i in outputs]
        if options is not None:
            o.builtinOptionsType = _options_type(options)
            o.builtinOptions = options
        self.operators.append(o)

    def build(self, inputs: Sequence[int], outputs: Sequence[int]) -> bytes:
        sub = schema.SubGraphT()
        sub.tensors = self.tensors
        sub.operators = self.operators
        sub.inputs = [int(i) for i in inputs]
        sub.outputs = [int(i) for i in outputs]
        sub.name = "main"
        model = schema.ModelT()
        model.version = 3
        model.description = self.description
        model.operatorCodes = self.opcodes
        model.subgraphs = [sub]
        model.buffers = self.buffers
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


# ------------------------------------------------------------------------------------
# Random parameter helpers
# ------------------------------------------------------------------------------------

# Standard deviation, in quantized units, of int8 values drawn uniformly over [-128, 127].
_UNIFORM_INT8_STD = 256 / math.sqrt(12)
# Output scales are chosen so that the output's standard deviation is about this many
# quantized units: wide enough to exercise rounding, narrow enough to rarely saturate.
_TARGET_OUTPUT_STD = 40.0


def _pick(value, draw):
    return draw() if value is None else value


def random_scale(rng: np.random.Generator, low: float = 1e-3, high: float = 0.1) -> float:
    """A float32 scale, log-uniform in [low, high]."""
    return float(np.float32(math.exp(rng.uniform(math.log(low), math.log(high)))))


def random_zero_point(rng: np.random.Generator, spread: int = 100) -> int:
    return int(rng.integers(-spread, spread + 1))


def random_quant(rng: np.random.Generator) -> tuple[float, int]:
    return random_scale(rng), random_zero_point(rng)


def random_activation(rng: np.random.Generator) -> str:
    return str(rng.choice(list(ACTIVATIONS)))


def _input_rms(zero_point: int) -> float:
    """RMS of (q - zero_point) for q uniform over the int8 range."""
    return math.hypot(_UNIFORM_INT8_STD, zero_point + 0.5)


def _output_scale_for(rng: np.random.Generator, real_std: float) -> float:
    """A scale that maps an output of standard deviation `real_std` to ~40 LSB, jittered."""
    return float(np.float32(real_std / _TARGET_OUTPUT_STD * math.exp(rng.uniform(-0.7, 0.7))))


def centered_zero_point(rng: np.random.Generator, real_mean: float, scale: float,
                        jitter: int = 20) -> int:
    """A zero point that puts the expected real mean near the middle of the int8 range."""
    centre = -real_mean / scale if scale > 0 else 0.0
    return int(np.clip(round(centre) + int(rng.integers(-jitter, jitter + 1)), -128, 127))


def _real_mean(quant: tuple[float, int]) -> float:
    """Expected real value of an int8 tensor whose codes are uniform over [-128, 127]."""
    scale, zero_point = quant
    return -scale * (zero_point + 0.5)


def symmetric_weights(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    """int8 weights uniform over the symmetric range [-127, 127] of TFLite's int8 spec."""
    return rng.integers(-127, 128, size=tuple(shape)).astype(np.int8)


def _conv_output_size(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    effective = (kernel - 1) * dilation + 1
    if padding == "SAME":
        return (size + stride - 1) // stride
    return (size - effective + stride) // stride


def _weighted_layer(b: ModelBuilder, rng: np.random.Generator, x: int, weights: np.ndarray,
                    channel_axis: int, reduction: int, per_channel: bool,
                    with_bias: bool = True, real_std: float | None = None
                    ) -> tuple[int, int, float]:
    """Add quantized weights and bias for input `x`; returns (filter, bias, output scale).

    The bias scale is s_in * s_w[c] and the output scale is derived from the expected
    spread of the accumulator, so outputs use the int8 range without saturating much.
    `real_std` instead picks weight scales that give the output that real spread.
    """
    s_in = b.tensors[x].quantization.scale[0]
    zp_in = b.tensors[x].quantization.zeroPoint[0]
    channels = weights.shape[channel_axis]
    n_scales = channels if per_channel else 1
    acc_std = math.sqrt(reduction) * _input_rms(zp_in) * (255 / math.sqrt(12))
    if real_std is None:
        w_scales = np.array([random_scale(rng, 0.002, 0.05) for _ in range(n_scales)],
                            np.float32)
    else:
        w_scales = (real_std / (acc_std * s_in)
                    * np.exp(rng.uniform(-0.3, 0.3, size=n_scales))).astype(np.float32)
    w = b.const(weights, scale=w_scales, zero_point=[0] * n_scales,
                quantized_dimension=channel_axis)
    bias = -1
    if with_bias:
        bias_q = np.round(rng.normal(0.0, 0.3 * acc_std, size=channels)).astype(np.int32)
        bias_scales = np.float32(s_in) * w_scales
        bias = b.const(bias_q, scale=np.broadcast_to(bias_scales, (channels,)) if per_channel
                       else bias_scales, zero_point=[0] * n_scales)
    out_scale = _output_scale_for(rng, acc_std * s_in * float(np.mean(w_scales)))
    return w, bias, out_scale


def _int8_input(b: ModelBuilder, rng: np.random.Generator, shape: Sequence[int],
                quant: tuple[float, int] | None = None) -> int:
    scale, zp = quant if quant is not None else random_quant(rng)
    return b.tensor(shape, "int8", scale, zp)


# ------------------------------------------------------------------------------------
# Single-op builders
# ------------------------------------------------------------------------------------

def conv2d_model(rng: np.random.Generator, *, input_shape=None, filters=None, kernel=None,
                 stride=None, padding=None, dilation=None, groups=None, activation=None,
                 per_channel=True, with_bias=True, input_quant=None, output_quant=None) -> bytes:
    def draw_groups():
        # only group counts that divide whatever channel counts the caller fixed
        fixed = [c for c in (filters, input_shape[-1] if input_shape else None) if c]
        options = [g for g in (1, 1, 1, 2) if all(c % g == 0 for c in fixed)]
        return int(rng.choice(options))
    groups = _pick(groups, draw_groups)
    input_shape = _pick(input_shape, lambda: (1, int(rng.integers(3, 12)),
                                              int(rng.integers(3, 12)),
                                              groups * int(rng.integers(1, 6))))
    filters = _pick(filters, lambda: groups * int(rng.integers(1, 7)))
    kernel = _pick(kernel, lambda: (int(rng.integers(1, 4)), int(rng.integers(1, 4))))
    stride = _pick(stride, lambda: (int(rng.integers(1, 3)), int(rng.integers(1, 3))))
    dilation = _pick(dilation, lambda: (1, 1) if rng.random() < 0.7 else
                     (int(rng.integers(1, 3)), int(rng.integers(1, 3))))
    padding = _pick(padding, lambda: str(rng.choice(["SAME", "VALID"])))
    activation = _pick(activation, lambda: random_activation(rng))
    n, h, w, cin = input_shape
    if cin % groups or filters % groups:
        raise ValueError(f"channels {cin} and filters {filters} must be multiples of groups")
    if padding == "VALID":  # keep the output non-empty
        h = max(h, (kernel[0] - 1) * dilation[0] + 1)
        w = max(w, (kernel[1] - 1) * dilation[1] + 1)
    oh = _conv_output_size(h, kernel[0], stride[0], dilation[0], padding)
    ow = _conv_output_size(w, kernel[1], stride[1], dilation[1], padding)

    b = ModelBuilder("CONV_2D")
    x = _int8_input(b, rng, (n, h, w, cin), input_quant)
    weights = symmetric_weights(rng, (filters, kernel[0], kernel[1], cin // groups))
    wt, bias, out_scale = _weighted_layer(b, rng, x, weights, 0,
                                          kernel[0] * kernel[1] * cin // groups,
                                          per_channel, with_bias)
    y = b.tensor((n, oh, ow, filters), "int8",
                 *_pick(output_quant, lambda: (out_scale, random_zero_point(rng, 60))))
    b.op("CONV_2D", [x, wt, bias], [y], schema.Conv2DOptionsT(
        padding=_PADDINGS[padding], strideH=stride[0], strideW=stride[1],
        dilationHFactor=dilation[0], dilationWFactor=dilation[1],
        fusedActivationFunction=ACTIVATIONS[activation]))
    return b.build([x], [y])


def depthwise_conv2d_model(rng: np.random.Generator, *, input_shape=None, depth_multiplier=None,
                           kernel=None, stride=None, padding=None, dilation=None,
                           activation=None, input_quant=None, output_quant=None) -> bytes:
    input_shape = _pick(input_shape, lambda: (1, int(rng.integers(3, 12)),
                                              int(rng.integers(3, 12)), int(rng.integers(1, 9))))
    depth_multiplier = _pick(depth_multiplier, lambda: int(rng.choice([1, 1, 1, 2, 3])))
    kernel = _pick(kernel, lambda: (int(rng.integers(1, 6)), int(rng.integers(1, 6))))
    stride = _pick(stride, lambda: (int(rng.integers(1, 3)), int(rng.integers(1, 3))))
    dilation = _pick(dilation, lambda: (1, 1) if rng.random() < 0.7 else
                     (int(rng.integers(1, 3)), int(rng.integers(1, 3))))
    padding = _pick(padding, lambda: str(rng.choice(["SAME", "VALID"])))
    activation = _pick(activation, lambda: random_activation(rng))
    n, h, w, cin = input_shape
    if padding == "VALID":
        h = max(h, (kernel[0] - 1) * dilation[0] + 1)
        w = max(w, (kernel[1] - 1) * dilation[1] + 1)
    oh = _conv_output_size(h, kernel[0], stride[0], dilation[0], padding)
    ow = _conv_output_size(w, kernel[1], stride[1], dilation[1], padding)
    cout = cin * depth_multiplier

    b = ModelBuilder("DEPTHWISE_CONV_2D")
    x = _int8_input(b, rng, (n, h, w, cin), input_quant)
    weights = symmetric_weights(rng, (1, kernel[0], kernel[1], cout))
    wt, bias, out_scale = _weighted_layer(b, rng, x, weights, 3, kernel[0] * kernel[1], True)
    y = b.tensor((n, oh, ow, cout), "int8",
                 *_pick(output_quant, lambda: (out_scale, random_zero_point(rng, 60))))
    b.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y], schema.DepthwiseConv2DOptionsT(
        padding=_PADDINGS[padding], strideH=stride[0], strideW=stride[1],
        depthMultiplier=depth_multiplier, dilationHFactor=dilation[0],
        dilationWFactor=dilation[1], fusedActivationFunction=ACTIVATIONS[activation]))
    return b.build([x], [y])


def fully_connected_model(rng: np.random.Generator, *, input_shape=None, units=None,
                          per_channel=None, keep_num_dims=None, activation=None,
                          with_bias=True, input_quant=None, output_quant=None) -> bytes:
    keep_num_dims = _pick(keep_num_dims, lambda: bool(rng.random() < 0.3))
    input_shape = _pick(input_shape, lambda: (
        (1, int(rng.integers(1, 4)), int(rng.integers(1, 40))) if keep_num_dims
        else (int(rng.integers(1, 3)), int(rng.integers(1, 64)))))
    units = _pick(units, lambda: int(rng.integers(1, 33)))
    per_channel = _pick(per_channel, lambda: bool(rng.random() < 0.5))
    activation = _pick(activation, lambda: random_activation(rng))
    depth = input_shape[-1]
    batch = int(np.prod(input_shape)) // depth
    out_shape = tuple(input_shape[:-1]) + (units,) if keep_num_dims else (batch, units)

    b = ModelBuilder("FULLY_CONNECTED")
    x = _int8_input(b, rng, input_shape, input_quant)
    weights = symmetric_weights(rng, (units, depth))
    wt, bias, out_scale = _weighted_layer(b, rng, x, weights, 0, depth, per_channel, with_bias)
    y = b.tensor(out_shape, "int8",
                 *_pick(output_quant, lambda: (out_scale, random_zero_point(rng, 60))))
    b.op("FULLY_CONNECTED", [x, wt, bias], [y], schema.FullyConnectedOptionsT(
        fusedActivationFunction=ACTIVATIONS[activation], keepNumDims=keep_num_dims))
    return b.build([x], [y])


def random_broadcast_shapes(rng: np.random.Generator, rank: int | None = None
                            ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two shapes that broadcast together (numpy rules), possibly of different ranks."""
    rank = _pick(rank, lambda: int(rng.integers(1, 5)))
    full = [int(rng.integers(1, 7)) for _ in range(rank)]
    if rng.random() < 0.3:
        return tuple(full), tuple(full)
    a = [d if rng.random() < 0.6 else 1 for d in full]
    c = [d if rng.random() < 0.6 else 1 for d in full]
    if rng.random() < 0.3:  # a lower-rank operand
        c = c[int(rng.integers(0, rank)):]
    return tuple(a), tuple(c) or (1,)


def _binary_model(rng: np.random.Generator, kind: str, shapes, activation, quants
                  ) -> bytes:
    shape_a, shape_b = _pick(shapes, lambda: random_broadcast_shapes(rng))
    activation = _pick(activation, lambda: random_activation(rng))
    (s_a, zp_a), (s_b, zp_b) = _pick(quants, lambda: (random_quant(rng), random_quant(rng)))
    out_shape = np.broadcast_shapes(shape_a, shape_b)
    std_a, std_b = s_a * _input_rms(zp_a), s_b * _input_rms(zp_b)
    mean_a, mean_b = _real_mean((s_a, zp_a)), _real_mean((s_b, zp_b))
    if kind == "MUL":
        out_std = std_a * std_b
        out_mean = mean_a * mean_b
        options = schema.MulOptionsT(fusedActivationFunction=ACTIVATIONS[activation])
    else:
        out_std = math.hypot(std_a, std_b)
        out_mean = mean_a + mean_b if kind == "ADD" else mean_a - mean_b
        cls = schema.AddOptionsT if kind == "ADD" else schema.SubOptionsT
        options = cls(fusedActivationFunction=ACTIVATIONS[activation])
    b = ModelBuilder(kind)
    a = b.tensor(shape_a, "int8", s_a, zp_a)
    c = b.tensor(shape_b, "int8", s_b, zp_b)
    out_scale = _output_scale_for(rng, out_std)
    y = b.tensor(out_shape, "int8", out_scale, centered_zero_point(rng, out_mean, out_scale))
    b.op(kind, [a, c], [y], options)
    return b.build([a, c], [y])


def add_model(rng: np.random.Generator, *, shapes=None, activation=None, quants=None) -> bytes:
    return _binary_model(rng, "ADD", shapes, activation, quants)


def sub_model(rng: np.random.Generator, *, shapes=None, activation=None, quants=None) -> bytes:
    return _binary_model(rng, "SUB", shapes, activation, quants)


def mul_model(rng: np.random.Generator, *, shapes=None, activation=None, quants=None) -> bytes:
    return _binary_model(rng, "MUL", shapes, activation, quants)


def _pool_model(rng: np.random.Generator, kind: str, input_shape, pool, stride, padding,
                activation) -> bytes:
    input_shape = _pick(input_shape, lambda: (1, int(rng.integers(2, 12)),
                                              int(rng.integers(2, 12)), int(rng.integers(1, 9))))
    pool = _pick(pool, lambda: (int(rng.integers(1, 4)), int(rng.integers(1, 4))))
    stride = _pick(stride, lambda: (int(rng.integers(1, 3)), int(rng.integers(1, 3))))
    padding = _pick(padding, lambda: str(rng.choice(["SAME", "VALID"])))
    activation = _pick(activation, lambda: random_activation(rng))
    n, h, w, c = input_shape
    if padding == "VALID":
        h, w = max(h, pool[0]), max(w, pool[1])
    oh = _conv_output_size(h, pool[0], stride[0], 1, padding)
    ow = _conv_output_size(w, pool[1], stride[1], 1, padding)
    b = ModelBuilder(kind)
    x = _int8_input(b, rng, (n, h, w, c))
    y = b.like(x, (n, oh, ow, c))  # LiteRT requires equal input and output quantization
    b.op(kind, [x], [y], schema.Pool2DOptionsT(
        padding=_PADDINGS[padding], strideH=stride[0], strideW=stride[1],
        filterHeight=pool[0], filterWidth=pool[1],
        fusedActivationFunction=ACTIVATIONS[activation]))
    return b.build([x], [y])


def average_pool2d_model(rng: np.random.Generator, *, input_shape=None, pool=None, stride=None,
                         padding=None, activation=None) -> bytes:
    return _pool_model(rng, "AVERAGE_POOL_2D", input_shape, pool, stride, padding, activation)


def max_pool2d_model(rng: np.random.Generator, *, input_shape=None, pool=None, stride=None,
                     padding=None, activation=None) -> bytes:
    return _pool_model(rng, "MAX_POOL_2D", input_shape, pool, stride, padding, activation)


def _random_shape(rng: np.random.Generator, rank: int, low: int = 1, high: int = 7
                  ) -> tuple[int, ...]:
    return tuple(int(rng.integers(low, high)) for _ in range(rank))


def mean_model(rng: np.random.Generator, *, input_shape=None, axes=None, keep_dims=None,
               output_quant=None) -> bytes:
    input_shape = _pick(input_shape, lambda: (1,) + _random_shape(rng, int(rng.integers(1, 4)),
                                                                  1, 9))
    rank = len(input_shape)
    axes = _pick(axes, lambda: sorted(int(a) for a in rng.choice(
        np.arange(1, rank) if rank > 1 else np.arange(rank),
        size=int(rng.integers(1, max(rank, 2))), replace=False)))
    keep_dims = _pick(keep_dims, lambda: bool(rng.random() < 0.5))
    axes_set = {a % rank for a in axes}
    out_shape = tuple(1 if i in axes_set else d for i, d in enumerate(input_shape)) \
        if keep_dims else tuple(d for i, d in enumerate(input_shape) if i not in axes_set)
    b = ModelBuilder("MEAN")
    x = _int8_input(b, rng, input_shape)
    s_in = b.tensors[x].quantization.scale[0]
    zp_in = b.tensors[x].quantization.zeroPoint[0]
    reduced = int(np.prod([input_shape[a] for a in axes_set]))

    def draw_output_quant():
        # The mean of `reduced` uniform codes spreads 1/sqrt(reduced) as wide; the scale
        # must also keep the (possibly far off-centre) mean representable.
        spread = _UNIFORM_INT8_STD / math.sqrt(reduced) * s_in
        scale = max(_output_scale_for(rng, spread), s_in * (abs(zp_in) + 1) / 90)
        scale = float(np.float32(scale))
        return scale, centered_zero_point(rng, _real_mean((s_in, zp_in)), scale)
    out_quant = _pick(output_quant, draw_output_quant)
    ax = b.const(np.array(axes, np.int32))
    y = b.tensor(out_shape, "int8", *out_quant)
    b.op("MEAN", [x, ax], [y], schema.ReducerOptionsT(keepDims=keep_dims))
    return b.build([x], [y])


def pad_model(rng: np.random.Generator, *, input_shape=None, paddings=None, v2=None,
              constant=None) -> bytes:
    """PAD, or PADV2 with an int8 constant value (same quantization as the input)."""
    input_shape = _pick(input_shape, lambda: _random_shape(rng, int(rng.integers(1, 5))))
    paddings = _pick(paddings, lambda: rng.integers(0, 3, size=(len(input_shape), 2)).tolist())
    v2 = _pick(v2, lambda: bool(rng.random() < 0.5))
    pads = np.array(paddings, np.int32).reshape(len(input_shape), 2)
    out_shape = tuple(int(d + p.sum()) for d, p in zip(input_shape, pads))
    b = ModelBuilder("PADV2" if v2 else "PAD")
    x = _int8_input(b, rng, input_shape)
    p = b.const(pads)
    y = b.like(x, out_shape)
    if v2:
        q = b.tensors[x].quantization
        value = _pick(constant, lambda: int(rng.integers(-128, 128)))
        cv = b.tensor((1,), "int8", q.scale[0], q.zeroPoint[0], data=np.array([value], np.int8))
        b.op("PADV2", [x, p, cv], [y], schema.PadV2OptionsT())
    else:
        b.op("PAD", [x, p], [y], schema.PadOptionsT())
    return b.build([x], [y])


def _random_factorization(rng: np.random.Generator, n: int, rank: int) -> tuple[int, ...]:
    """A shape of the given rank with `n` elements."""
    dims = []
    for _ in range(rank - 1):
        divisors = [d for d in range(1, n + 1) if n % d == 0]
        d = int(rng.choice(divisors))
        dims.append(d)
        n //= d
    dims.append(n)
    return tuple(dims)


def reshape_model(rng: np.random.Generator, *, input_shape=None, new_shape=None) -> bytes:
    input_shape = _pick(input_shape, lambda: _random_shape(rng, int(rng.integers(1, 5))))
    size = int(np.prod(input_shape))
    new_shape = _pick(new_shape, lambda: _random_factorization(rng, size,
                                                               int(rng.integers(1, 5))))
    b = ModelBuilder("RESHAPE")
    x = _int8_input(b, rng, input_shape)
    shape_t = b.const(np.array(new_shape, np.int32))
    y = b.like(x, new_shape)
    b.op("RESHAPE", [x, shape_t], [y], schema.ReshapeOptionsT(newShape=list(new_shape)))
    return b.build([x], [y])


def squeeze_model(rng: np.random.Generator, *, input_shape=None, squeeze_dims=None) -> bytes:
    def draw_shape():
        shape = list(_random_shape(rng, int(rng.integers(2, 5))))
        shape[int(rng.integers(0, len(shape)))] = 1
        return tuple(shape)
    input_shape = _pick(input_shape, draw_shape)
    ones = [i for i, d in enumerate(input_shape) if d == 1]
    squeeze_dims = _pick(squeeze_dims, lambda: [] if rng.random() < 0.3 else sorted(
        int(i) for i in rng.choice(ones, size=int(rng.integers(1, len(ones) + 1)),
                                   replace=False)))
    dropped = set(squeeze_dims) if squeeze_dims else set(ones)
    out_shape = tuple(d for i, d in enumerate(input_shape) if i not in dropped)
    b = ModelBuilder("SQUEEZE")
    x = _int8_input(b, rng, input_shape)
    y = b.like(x, out_shape)
    b.op("SQUEEZE", [x], [y], schema.SqueezeOptionsT(squeezeDims=list(squeeze_dims)))
    return b.build([x], [y])


def concatenation_model(rng: np.random.Generator, *, shapes=None, axis=None, same_quant=True,
                        activation="NONE") -> bytes:
    """CONCATENATION of 2-4 inputs along one axis.

    LiteRT's Prepare requires every int8 input to share the output's scale and zero point
    (it rescales only uint8), so `same_quant=False` builds a model LiteRT rejects: useful
    to test that tinyconv reports it rather than to compute with.
    """
    def draw_shapes():
        rank = int(rng.integers(1, 5))
        base = list(_random_shape(rng, rank))
        ax = int(rng.integers(0, rank))
        result = []
        for _ in range(int(rng.integers(2, 5))):
            s = list(base)
            s[ax] = int(rng.integers(1, 6))
            result.append(tuple(s))
        return result, ax
    if shapes is None:
        shapes, drawn_axis = draw_shapes()
        axis = drawn_axis if axis is None else axis
    if axis is None:
        raise ValueError("give axis together with shapes")
    rank = len(shapes[0])
    ax = axis % rank
    out_shape = list(shapes[0])
    out_shape[ax] = sum(s[ax] for s in shapes)
    b = ModelBuilder("CONCATENATION")
    first_quant = random_quant(rng)
    xs = [_int8_input(b, rng, s, first_quant if same_quant else None) for s in shapes]
    out_quant = first_quant if same_quant else (
        max(b.tensors[i].quantization.scale[0] for i in xs), random_zero_point(rng))
    y = b.tensor(out_shape, "int8", *out_quant)
    b.op("CONCATENATION", xs, [y], schema.ConcatenationOptionsT(
        axis=axis, fusedActivationFunction=ACTIVATIONS[activation]))
    return b.build(xs, [y])


def softmax_model(rng: np.random.Generator, *, input_shape=None, beta=None) -> bytes:
    """Output quantization fixed by LiteRT's Prepare: scale 1/256, zero point -128."""
    input_shape = _pick(input_shape, lambda: (int(rng.integers(1, 3)), int(rng.integers(2, 20)))
                        if rng.random() < 0.6 else (1, int(rng.integers(1, 4)),
                                                    int(rng.integers(1, 4)),
                                                    int(rng.integers(2, 12))))
    beta = _pick(beta, lambda: float(rng.choice([1.0, 1.0, 0.5, 2.0])))
    b = ModelBuilder("SOFTMAX")
    x = b.tensor(input_shape, "int8", random_scale(rng, 0.005, 0.05), random_zero_point(rng))
    y = b.tensor(input_shape, "int8", 1.0 / 256, -128)
    b.op("SOFTMAX", [x], [y], schema.SoftmaxOptionsT(beta=beta))
    return b.build([x], [y])


def _unary_model(rng: np.random.Generator, kind: str, input_shape, input_quant, output_quant,
                 options=None) -> bytes:
    input_shape = _pick(input_shape, lambda: _random_shape(rng, int(rng.integers(1, 5))))
    b = ModelBuilder(kind)
    x = b.tensor(input_shape, "int8", *_pick(input_quant, lambda: (
        random_scale(rng, 0.002, 0.05), random_zero_point(rng))))
    y = b.tensor(input_shape, "int8", *output_quant)
    b.op(kind, [x], [y], options)
    return b.build([x], [y])


def logistic_model(rng: np.random.Generator, *, input_shape=None, input_quant=None) -> bytes:
    return _unary_model(rng, "LOGISTIC", input_shape, input_quant, (1.0 / 256, -128))


def tanh_model(rng: np.random.Generator, *, input_shape=None, input_quant=None) -> bytes:
    return _unary_model(rng, "TANH", input_shape, input_quant, (1.0 / 128, 0))


def _similar_quant(rng: np.random.Generator, quant: tuple[float, int]) -> tuple[float, int]:
    """A requantization target: a scale within -25 %/+100 % and a matching zero point."""
    scale = float(np.float32(quant[0] * math.exp(rng.uniform(-0.3, 0.7))))
    return scale, centered_zero_point(rng, _real_mean(quant), scale)


def _requantizing_unary(rng, kind, input_shape, input_quant, output_quant, options=None):
    input_quant = _pick(input_quant, lambda: (random_scale(rng, 0.005, 0.1),
                                              random_zero_point(rng)))
    output_quant = _pick(output_quant, lambda: _similar_quant(rng, input_quant))
    return _unary_model(rng, kind, input_shape, input_quant, output_quant, options)


def hard_swish_model(rng: np.random.Generator, *, input_shape=None, input_quant=None,
                     output_quant=None) -> bytes:
    return _requantizing_unary(rng, "HARD_SWISH", input_shape, input_quant, output_quant,
                               schema.HardSwishOptionsT())


def relu_model(rng: np.random.Generator, *, input_shape=None, input_quant=None,
               output_quant=None) -> bytes:
    return _requantizing_unary(rng, "RELU", input_shape, input_quant, output_quant)


def relu6_model(rng: np.random.Generator, *, input_shape=None, input_quant=None,
                output_quant=None) -> bytes:
    return _requantizing_unary(rng, "RELU6", input_shape, input_quant, output_quant)


def leaky_relu_model(rng: np.random.Generator, *, input_shape=None, alpha=None,
                     input_quant=None, output_quant=None) -> bytes:
    alpha = _pick(alpha, lambda: float(np.float32(rng.choice([0.1, 0.2, 0.3, 0.01]))))
    return _requantizing_unary(rng, "LEAKY_RELU", input_shape, input_quant, output_quant,
                               schema.LeakyReluOptionsT(alpha=alpha))


def transpose_model(rng: np.random.Generator, *, input_shape=None, perm=None) -> bytes:
    input_shape = _pick(input_shape, lambda: _random_shape(rng, int(rng.integers(1, 6)), 1, 5))
    perm = _pick(perm, lambda: [int(p) for p in rng.permutation(len(input_shape))])
    b = ModelBuilder("TRANSPOSE")
    x = _int8_input(b, rng, input_shape)
    p = b.const(np.array(perm, np.int32))
    y = b.like(x, tuple(input_shape[i] for i in perm))
    b.op("TRANSPOSE", [x, p], [y], schema.TransposeOptionsT())
    return b.build([x], [y])


def quantize_model(rng: np.random.Generator, *, input_shape=None, from_float=None,
                   input_quant=None, output_quant=None) -> bytes:
    """QUANTIZE float32 -> int8, or int8 -> int8 (a requantization)."""
    input_shape = _pick(input_shape, lambda: _random_shape(rng, int(rng.integers(1, 5))))
    from_float = _pick(from_float, lambda: bool(rng.random() < 0.5))
    b = ModelBuilder("QUANTIZE")
    if from_float:
        x = b.tensor(input_shape, "float32")
        out_quant = _pick(output_quant, lambda: (random_scale(rng, 0.005, 0.05),
                                                 random_zero_point(rng)))
    else:
        in_quant = _pick(input_quant, lambda: random_quant(rng))
        x = b.tensor(input_shape, "int8", *in_quant)
        out_quant = _pick(output_quant, lambda: _similar_quant(rng, in_quant))
    y = b.tensor(input_shape, "int8", *out_quant)
    b.op("QUANTIZE", [x], [y], schema.QuantizeOptionsT())
    return b.build([x], [y])


def dequantize_model(rng: np.random.Generator, *, input_shape=None, input_quant=None) -> bytes:
    input_shape = _pick(input_shape, lambda: _random_shape(rng, int(rng.integers(1, 5))))
    b = ModelBuilder("DEQUANTIZE")
    x = b.tensor(input_shape, "int8", *_pick(input_quant, lambda: random_quant(rng)))
    y = b.tensor(input_shape, "float32")
    b.op("DEQUANTIZE", [x], [y], schema.DequantizeOptionsT())
    return b.build([x], [y])


# ------------------------------------------------------------------------------------
# Small multi-op models
# ------------------------------------------------------------------------------------

def _conv(b: ModelBuilder, rng: np.random.Generator, x: int, filters: int, kernel: int,
          stride: int, activation: str = "RELU6") -> int:
    n, h, w, cin = b.tensors[x].shape
    weights = symmetric_weights(rng, (filters, kernel, kernel, cin))
    wt, bias, out_scale = _weighted_layer(b, rng, x, weights, 0, kernel * kernel * cin, True)
    oh, ow = (h + stride - 1) // stride, (w + stride - 1) // stride
    y = b.tensor((n, oh, ow, filters), "int8", out_scale, -128 if activation != "NONE" else 0)
    b.op("CONV_2D", [x, wt, bias], [y], schema.Conv2DOptionsT(
        padding=Padding.SAME, strideH=stride, strideW=stride, dilationHFactor=1,
        dilationWFactor=1, fusedActivationFunction=ACTIVATIONS[activation]))
    return y


def _depthwise(b: ModelBuilder, rng: np.random.Generator, x: int, kernel: int = 3,
               activation: str = "RELU6") -> int:
    n, h, w, c = b.tensors[x].shape
    weights = symmetric_weights(rng, (1, kernel, kernel, c))
    wt, bias, out_scale = _weighted_layer(b, rng, x, weights, 3, kernel * kernel, True)
    y = b.tensor((n, h, w, c), "int8", out_scale, -128 if activation != "NONE" else 0)
    b.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y], schema.DepthwiseConv2DOptionsT(
        padding=Padding.SAME, strideH=1, strideW=1, depthMultiplier=1, dilationHFactor=1,
        dilationWFactor=1, fusedActivationFunction=ACTIVATIONS[activation]))
    return y


def small_convnet_model(rng: np.random.Generator, *, input_shape=(1, 12, 12, 3), width=8,
                        classes=5) -> bytes:
    """conv -> depthwise -> pointwise conv -> residual ADD -> MEAN -> FC -> SOFTMAX."""
    b = ModelBuilder("small convnet")
    x = _int8_input(b, rng, input_shape)
    c1 = _conv(b, rng, x, width, 3, 2)
    d = _depthwise(b, rng, c1)
    p = _conv(b, rng, d, width, 1, 1, activation="NONE")
    s1, s2 = b.tensors[c1].quantization.scale[0], b.tensors[p].quantization.scale[0]
    r = b.tensor(b.tensors[p].shape, "int8", float(np.float32(2 * max(s1, s2))), -10)
    b.op("ADD", [c1, p], [r], schema.AddOptionsT(
        fusedActivationFunction=schema.ActivationFunctionType.NONE))
    m = b.tensor((1, width), "int8", b.tensors[r].quantization.scale[0], -10)
    b.op("MEAN", [r, b.const(np.array([1, 2], np.int32))], [m],
         schema.ReducerOptionsT(keepDims=False))
    wt, bias, out_scale = _weighted_layer(b, rng, m, symmetric_weights(rng, (classes, width)),
                                          0, width, False, real_std=1.5)
    logits = b.tensor((1, classes), "int8", out_scale, 0)
    b.op("FULLY_CONNECTED", [m, wt, bias], [logits], schema.FullyConnectedOptionsT(
        fusedActivationFunction=schema.ActivationFunctionType.NONE))
    probs = b.tensor((1, classes), "int8", 1.0 / 256, -128)
    b.op("SOFTMAX", [logits], [probs], schema.SoftmaxOptionsT(beta=1.0))
    return b.build([x], [probs])


def float_io_conv_model(rng: np.random.Generator, *, input_shape=(1, 8, 8, 3),
                        filters=4) -> bytes:
    """float32 in/out around an int8 conv: QUANTIZE -> CONV_2D -> DEQUANTIZE."""
    b = ModelBuilder("float io conv")
    xf = b.tensor(input_shape, "float32")
    x = b.tensor(input_shape, "int8", random_scale(rng, 0.005, 0.05), random_zero_point(rng))
    b.op("QUANTIZE", [xf], [x], schema.QuantizeOptionsT())
    y = _conv(b, rng, x, filters, 3, 1, activation="NONE")
    yf = b.tensor(b.tensors[y].shape, "float32")
    b.op("DEQUANTIZE", [y], [yf], schema.DequantizeOptionsT())
    return b.build([xf], [yf])


SINGLE_OP_BUILDERS: dict[str, Callable[..., bytes]] = {
    "CONV_2D": conv2d_model,
    "DEPTHWISE_CONV_2D": depthwise_conv2d_model,
    "FULLY_CONNECTED": fully_connected_model,
    "ADD": add_model,
    "SUB": sub_model,
    "MUL": mul_model,
    "AVERAGE_POOL_2D": average_pool2d_model,
    "MAX_POOL_2D": max_pool2d_model,
    "MEAN": mean_model,
    "PAD": lambda rng, **kw: pad_model(rng, v2=False, **kw),
    "PADV2": lambda rng, **kw: pad_model(rng, v2=True, **kw),
    "RESHAPE": reshape_model,
    "SQUEEZE": squeeze_model,
    "CONCATENATION": concatenation_model,
    "SOFTMAX": softmax_model,
    "LOGISTIC": logistic_model,
    "TANH": tanh_model,
    "HARD_SWISH": hard_swish_model,
    "RELU": relu_model,
    "RELU6": relu6_model,
    "LEAKY_RELU": leaky_relu_model,
    "TRANSPOSE": transpose_model,
    "QUANTIZE": quantize_model,
    "DEQUANTIZE": dequantize_model,
}

MULTI_OP_BUILDERS: dict[str, Callable[..., bytes]] = {
    "small_convnet": small_convnet_model,
    "float_io_conv": float_io_conv_model,
}


_BIASED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def merge_models(models: Sequence[bytes], description: str = "merged test ops",
                 bias: Callable[[np.ndarray], np.ndarray] | None = None) -> bytes:
    """One model holding every op of `models` side by side (inputs and outputs in order),
    so that one firmware build checks them all. Reads through tinyconv's .tflite schema
    module, the one reader of the format. `bias`, if given, rewrites the bias of every
    CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (its data in, the new data out)."""
    from tinyconv.ir.schema import tflite as tfl

    np_types = {v: k for k, v in _TENSOR_TYPES.items()}
    b = ModelBuilder(description)
    inputs: list[int] = []
    outputs: list[int] = []
    for k, blob in enumerate(models):
        m = tfl.parse(blob, f"model {k}")
        g = tfl.main_subgraph(m)
        biases = {int(op.inputs[2]) for op in g.operators if bias is not None
                  and tfl.op_name(m, op.opcodeIndex) in _BIASED_OPS
                  and len(op.inputs) > 2 and op.inputs[2] >= 0}
        index = {}
        for i, t in enumerate(g.tensors):
            dtype = np.dtype(np_types[t.type])
            raw = m.buffers[t.buffer].data if t.buffer else None
            data = None
            if raw is not None and len(raw):
                data = np.frombuffer(bytes(np.asarray(raw, np.uint8)),
                                     dtype.newbyteorder("<")).reshape(t.shape)
            if i in biases and data is not None:
                assert bias is not None
                data = bias(data.copy())
            q = t.quantization
            quantized = q is not None and q.scale is not None and len(q.scale) > 0
            index[i] = b.tensor(t.shape, dtype, scale=list(q.scale) if quantized else None,
                                zero_point=list(q.zeroPoint) if quantized else None,
                                data=data, name=f"m{k}_t{i}",
                                quantized_dimension=q.quantizedDimension if quantized else 0)
        for op in g.operators:
            b.op(tfl.builtin_code(m.operatorCodes[op.opcodeIndex]),
                 [index[i] if i >= 0 else -1 for i in op.inputs],
                 [index[i] for i in op.outputs], op.builtinOptions,
                 m.operatorCodes[op.opcodeIndex].version)
        inputs += [index[i] for i in tfl.ints(g.inputs)]
        outputs += [index[i] for i in tfl.ints(g.outputs)]
    return b.build(inputs, outputs)
