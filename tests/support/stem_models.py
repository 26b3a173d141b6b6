"""Random high-resolution stems for the streamed-execution tests (tinyconv/stream.py).

`random_stem_model(rng)` builds a chain of the layers a streamed run may hold, in random
shapes and options — convolutions (any kernel, stride, SAME/VALID padding, dilation),
depthwise convolutions (multiplier 1 or 2), average / max pooling, unary activations, a
residual ADD around a depthwise + pointwise block, a MUL by a per-channel constant — and
ends in a MEAN (which no run holds), so the run ends at the stem's last tensor.
"""

from __future__ import annotations

import numpy as np

from tflite_builder import (ACTIVATIONS, ModelBuilder, _conv_output_size, _int8_input,
                            _PADDINGS, _similar_quant, _weighted_layer, random_activation,
                            random_zero_point, schema, symmetric_weights)


def _out_size(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    return _conv_output_size(size, kernel, stride, dilation, padding)


def _window(rng, h: int, w: int) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], str]:
    """kernel, stride, dilation, padding that leave a non-empty output."""
    while True:
        kernel = (int(rng.integers(1, 6)), int(rng.integers(1, 4)))
        stride = (int(rng.choice([1, 1, 2])), int(rng.choice([1, 2])))
        dilation = (int(rng.choice([1, 1, 1, 2])), 1)
        padding = str(rng.choice(["SAME", "SAME", "VALID"]))
        # Rows to stream (at least 2 out); any width (a 1-column image stays 1 column).
        if (_out_size(h, kernel[0], stride[0], dilation[0], padding) >= 2
                and _out_size(w, kernel[1], stride[1], dilation[1], padding) >= 1):
            return kernel, stride, dilation, padding


def _conv(b: ModelBuilder, rng, x: int, filters: int, kernel, stride, dilation, padding,
          activation: str) -> int:
    n, h, w, cin = b.tensors[x].shape
    weights = symmetric_weights(rng, (filters, kernel[0], kernel[1], cin))
    wt, bias, out_scale = _weighted_layer(b, rng, x, weights, 0, kernel[0] * kernel[1] * cin,
                                          True)
    oh = _out_size(h, kernel[0], stride[0], dilation[0], padding)
    ow = _out_size(w, kernel[1], stride[1], dilation[1], padding)
    y = b.tensor((n, oh, ow, filters), "int8", out_scale, random_zero_point(rng, 60))
    b.op("CONV_2D", [x, wt, bias], [y], schema.Conv2DOptionsT(
        padding=_PADDINGS[padding], strideH=stride[0], strideW=stride[1],
        dilationHFactor=dilation[0], dilationWFactor=dilation[1],
        fusedActivationFunction=ACTIVATIONS[activation]))
    return y


def _depthwise(b: ModelBuilder, rng, x: int, multiplier: int, kernel, stride, dilation,
               padding, activation: str) -> int:
    n, h, w, c = b.tensors[x].shape
    cout = c * multiplier
    weights = symmetric_weights(rng, (1, kernel[0], kernel[1], cout))
    wt, bias, out_scale = _weighted_layer(b, rng, x, weights, 3, kernel[0] * kernel[1], True)
    oh = _out_size(h, kernel[0], stride[0], dilation[0], padding)
    ow = _out_size(w, kernel[1], stride[1], dilation[1], padding)
    y = b.tensor((n, oh, ow, cout), "int8", out_scale, random_zero_point(rng, 60))
    b.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y], schema.DepthwiseConv2DOptionsT(
        padding=_PADDINGS[padding], strideH=stride[0], strideW=stride[1],
        depthMultiplier=multiplier, dilationHFactor=dilation[0], dilationWFactor=dilation[1],
        fusedActivationFunction=ACTIVATIONS[activation]))
    return y


def _pool(b: ModelBuilder, rng, x: int) -> int:
    n, h, w, c = b.tensors[x].shape
    kind = str(rng.choice(["AVERAGE_POOL_2D", "MAX_POOL_2D"]))
    while True:
        pool = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        padding = str(rng.choice(["SAME", "VALID"]))
        oh, ow = _out_size(h, pool[0], stride[0], 1, padding), _out_size(w, pool[1], stride[1],
                                                                          1, padding)
        if oh >= 2 and ow >= 1 and pool[0] >= stride[0] and pool[1] >= stride[1]:
            break
    y = b.like(x, (n, oh, ow, c))  # LiteRT requires equal input and output quantization
    b.op(kind, [x], [y], schema.Pool2DOptionsT(
        padding=_PADDINGS[padding], strideH=stride[0], strideW=stride[1],
        filterHeight=pool[0], filterWidth=pool[1],
        fusedActivationFunction=ACTIVATIONS[random_activation(rng)]))
    return y


def _unary(b: ModelBuilder, rng, x: int) -> int:
    kind = str(rng.choice(["RELU", "HARD_SWISH", "LEAKY_RELU"]))
    q = b.tensors[x].quantization
    scale, zp = _similar_quant(rng, (q.scale[0], q.zeroPoint[0]))
    y = b.tensor(b.tensors[x].shape, "int8", scale, zp)
    options = {"HARD_SWISH": schema.HardSwishOptionsT(),
               "LEAKY_RELU": schema.LeakyReluOptionsT(alpha=0.2)}.get(kind)
    b.op(kind, [x], [y], options)
    return y


def _residual(b: ModelBuilder, rng, x: int) -> int:
    """x + pointwise(depthwise(x)): both inputs of the ADD live in the run."""
    c = b.tensors[x].shape[3]
    d = _depthwise(b, rng, x, 1, (3, 3), (1, 1), (1, 1), "SAME", "RELU6")
    p = _conv(b, rng, d, c, (1, 1), (1, 1), (1, 1), "SAME", "NONE")
    s1, s2 = b.tensors[x].quantization.scale[0], b.tensors[p].quantization.scale[0]
    y = b.tensor(b.tensors[x].shape, "int8", float(np.float32(1.5 * max(s1, s2))),
                 random_zero_point(rng, 30))
    b.op("ADD", [x, p], [y], schema.AddOptionsT(
        fusedActivationFunction=ACTIVATIONS[random_activation(rng)]))
    return y


def _mul_constant(b: ModelBuilder, rng, x: int) -> int:
    """x * a per-channel constant broadcast over the rows."""
    c = b.tensors[x].shape[3]
    k = b.const(rng.integers(-127, 128, (1, 1, 1, c)).astype(np.int8), scale=0.01,
                zero_point=int(rng.integers(-5, 6)))
    q = b.tensors[x].quantization
    y = b.tensor(b.tensors[x].shape, "int8", float(np.float32(q.scale[0] * 0.8)),
                 random_zero_point(rng, 30))
    b.op("MUL", [x, k], [y], schema.MulOptionsT(
        fusedActivationFunction=ACTIVATIONS["NONE"]))
    return y


def random_stem_model(rng: np.random.Generator, *, height: int | None = None,
                      width: int | None = None, layers: int | None = None) -> bytes:
    h = height or int(rng.integers(14, 41))
    w = width or int(rng.integers(4, 17))
    b = ModelBuilder("random stem")
    x = _int8_input(b, rng, (1, h, w, int(rng.integers(1, 5))))
    t = x
    for _ in range(layers or int(rng.integers(3, 7))):
        _, th, tw, tc = b.tensors[t].shape
        kind = str(rng.choice(["conv", "conv", "depthwise", "depthwise", "pool", "unary",
                               "residual", "mul"]))
        if kind in ("conv", "depthwise") and th >= 3:
            kernel, stride, dilation, padding = _window(rng, th, tw)
            if kind == "conv":
                t = _conv(b, rng, t, int(rng.integers(1, 9)), kernel, stride, dilation, padding,
                          random_activation(rng))
            else:
                t = _depthwise(b, rng, t, int(rng.choice([1, 1, 2])), kernel, stride, dilation,
                               padding, random_activation(rng))
        elif kind == "pool" and th >= 4:
            t = _pool(b, rng, t)
        elif kind == "residual" and th >= 3:
            t = _residual(b, rng, t)
        elif kind == "mul":
            t = _mul_constant(b, rng, t)
        else:
            t = _unary(b, rng, t)
    c = b.tensors[t].shape[3]
    m = b.tensor((1, c), "int8", b.tensors[t].quantization.scale[0],
                 b.tensors[t].quantization.zeroPoint[0])
    b.op("MEAN", [t, b.const(np.array([1, 2], np.int32))], [m],
         schema.ReducerOptionsT(keepDims=False))
    return b.build([x], [m])
