"""One graph builder holding the TFLite converter's rules: the int8 graph a network becomes.

Two callers predict what `import_tflite(to_int8_tflite(model))` gives without running the
converter (15-35 s a model): `ir.keras_import` (any functional Keras model) and
`tinyconv.space` (a search-space config, without TensorFlow). Both emit through
`GraphBuilder`, so the converter's rules live here once:

- Shapes: TFLite's output-size rules (SAME: ceil(in / stride); VALID:
  ceil((in - dilated kernel + 1) / stride)), NumPy broadcasting for ADD / MUL.
- CONV_2D weights are [out, kh, kw, in / groups] (grouped convs stay one CONV_2D),
  DEPTHWISE_CONV_2D weights [1, kh, kw, in * multiplier], FULLY_CONNECTED [units, depth]:
  int8, symmetric, quantized per output channel (axis 0, or 3 for depthwise).
- Biases are int32, one scale per output channel. Convolutions always get one; a
  FULLY_CONNECTED gets one only when it is nonzero (the converter drops an all-zero bias,
  which an untrained Dense has): `fully_connected(bias=...)` says which.
- Batch normalization and an added constant fold into the bias of the conv / depthwise /
  dense before them (`fold_into_bias`); ReLU / ReLU6 fuse into a conv, depthwise, dense,
  ADD or MUL that feeds only them (`relu(fuse=...)`, `fuse_activation`).
- A kept-dims MEAN over a 1x1 map is the identity and disappears. Explicit padding is a
  PAD op with an int32 [rank, 2] paddings constant; RESHAPE takes an int32 shape constant
  with a -1 batch; MEAN axes and TRANSPOSE permutations are shared int32 constants.
- LOGISTIC and SOFTMAX outputs are quantized 1/256, zero point -128 (LiteRT requires it).

Quantization values are placeholders (no size or plan depends on them), in one convention
chosen to look like the converter's real output where codegen reads them: activations per
tensor at scale 1/32, zero point -128 (the usual range of a fused ReLU / ReLU6 output),
weights symmetric per channel at 1/128 and nonzero (ones), biases int32 per channel at
scale s_in * s_w and nonzero (ones). With every activation sharing one scale, each
requantization multiplier codegen derives is valid, so the graph deploys like the real one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import TinyconvError
from . import ops as O
from .graph import DType, Graph, Quant, Tensor

ACTIVATION_QUANT = Quant(scale=(1.0 / 32,), zero_point=(-128,))
PROBABILITY_QUANT = Quant(scale=(1.0 / 256,), zero_point=(-128,))
WEIGHT_SCALE = 1.0 / 128

# Ops a following ReLU / ReLU6 fuses into, and ops a following BN / constant add folds into.
FUSES_ACTIVATION = (O.Conv2D, O.DepthwiseConv2D, O.FullyConnected, O.Add, O.Mul)
FOLDS_INTO_BIAS = (O.Conv2D, O.DepthwiseConv2D, O.FullyConnected)


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    a, b = value
    return int(a), int(b)


def output_size(size: int, kernel: int, stride: int, dilation: int, padding: O.Padding) -> int:
    """TFLite's ComputeOutSize."""
    if padding is O.Padding.SAME:
        return -(-size // stride)
    return -(-(size - (kernel - 1) * dilation) // stride)


class GraphBuilder:
    """Emits graph IR ops the way the TFLite converter would, one typed method per op.

    Every op method takes its input tensor(s) and returns the output tensor (its shape
    derived by TFLite's rules); `name` names the output tensor and the op.
    """

    def __init__(self, name: str, source: str = "") -> None:
        self.name = name
        self.source = source or name
        self.tensors: list[Tensor] = []
        self.ops: list[O.Op] = []
        self.inputs: list[Tensor] = []
        self._producer: dict[int, O.Op] = {}
        self._shared: dict[tuple, Tensor] = {}

    # -- tensors ----------------------------------------------------------------------
    def _tensor(self, name: str, shape: Sequence[int], dtype: DType, quant: Quant | None,
                data: np.ndarray | None = None) -> Tensor:
        t = Tensor(index=len(self.tensors), name=name, shape=tuple(int(d) for d in shape),
                   dtype=dtype, quant=quant, data=data)
        self.tensors.append(t)
        return t

    def _activation(self, name: str, shape: Sequence[int],
                    quant: Quant = ACTIVATION_QUANT) -> Tensor:
        if any(int(d) < 1 for d in shape):
            raise TinyconvError(f"{self.name}: {name!r} would have the empty shape "
                                f"{tuple(shape)}")
        return self._tensor(name, shape, DType.INT8, quant)

    def input(self, name: str, shape: Sequence[int]) -> Tensor:
        t = self._activation(name, shape)
        self.inputs.append(t)
        return t

    def _weights(self, name: str, shape: tuple[int, ...], axis: int) -> Tensor:
        channels = shape[axis]
        quant = Quant((WEIGHT_SCALE,) * channels, (0,) * channels, axis)
        return self._tensor(f"{name}/weights", shape, DType.INT8, quant, np.ones(shape, np.int8))

    def _bias(self, name: str, channels: int) -> Tensor:
        quant = Quant((ACTIVATION_QUANT.s * WEIGHT_SCALE,) * channels, (0,) * channels, 0)
        return self._tensor(f"{name}/bias", (channels,), DType.INT32, quant,
                            np.ones(channels, np.int32))

    def _int32_const(self, name: str, values, shared: bool) -> Tensor:
        values = np.asarray(values, dtype=np.int32)
        key = ("int32", values.shape, values.tobytes())
        if shared and key in self._shared:
            return self._shared[key]
        t = self._tensor(name, values.shape, DType.INT32, None, values)
        if shared:
            self._shared[key] = t
        return t

    def _scalar_const(self, value: float) -> Tensor:
        """A scalar int8 operand (one value, per-tensor quantized); equal ones are shared."""
        key = ("scalar", float(value))
        if key not in self._shared:
            scale = abs(float(value)) / 127.0 or 1.0
            self._shared[key] = self._tensor(f"const_{value:g}", (), DType.INT8,
                                             Quant((scale,), (0,)),
                                             np.array(127 if value else 0, np.int8))
        return self._shared[key]

    def _emit(self, op: O.Op) -> Tensor:
        op.index = len(self.ops)
        op.name = op.outputs[0].name
        self.ops.append(op)
        for t in op.outputs:
            self._producer[t.index] = op
        return op.outputs[0]

    def _rank4(self, x: Tensor, what: str) -> tuple[int, int, int, int]:
        if len(x.shape) != 4:
            raise TinyconvError(f"{self.name}: {what} of {x.name!r} needs an NHWC input, got "
                                f"shape {x.shape}")
        return x.shape  # type: ignore[return-value]

    # -- convolutions and dense ---------------------------------------------------------
    def conv2d(self, x: Tensor, filters: int, kernel: int | Sequence[int], stride=1, *,
               name: str, padding: O.Padding = O.Padding.SAME, dilation=1, groups: int = 1,
               activation: O.Activation = O.Activation.NONE) -> Tensor:
        n, h, w, c = self._rank4(x, "CONV_2D")
        (kh, kw), (sh, sw), (dh, dw) = _pair(kernel), _pair(stride), _pair(dilation)
        if (dh, dw) != (1, 1) and (sh, sw) != (1, 1):
            raise TinyconvError(f"{self.name}: {name!r}: dilated strided convolution")
        if groups < 1 or c % groups or filters % groups:
            raise TinyconvError(f"{self.name}: {name!r}: {c} input and {filters} output "
                                f"channels do not split into {groups} groups")
        y = self._activation(name, (n, output_size(h, kh, sh, dh, padding),
                                    output_size(w, kw, sw, dw, padding), filters))
        wt = self._weights(name, (filters, kh, kw, c // groups), 0)
        b = self._bias(name, filters)
        return self._emit(O.Conv2D(inputs=[x, wt, b], outputs=[y], stride=(sh, sw),
                                   dilation=(dh, dw), padding=padding, activation=activation))

    def depthwise(self, x: Tensor, kernel: int | Sequence[int], stride=1, *, name: str,
                  multiplier: int = 1, padding: O.Padding = O.Padding.SAME, dilation=1,
                  activation: O.Activation = O.Activation.NONE) -> Tensor:
        n, h, w, c = self._rank4(x, "DEPTHWISE_CONV_2D")
        (kh, kw), (sh, sw), (dh, dw) = _pair(kernel), _pair(stride), _pair(dilation)
        y = self._activation(name, (n, output_size(h, kh, sh, dh, padding),
                                    output_size(w, kw, sw, dw, padding), c * multiplier))
        wt = self._weights(name, (1, kh, kw, c * multiplier), 3)
        b = self._bias(name, c * multiplier)
        return self._emit(O.DepthwiseConv2D(inputs=[x, wt, b], outputs=[y], stride=(sh, sw),
                                            dilation=(dh, dw), padding=padding,
                                            depth_multiplier=multiplier, activation=activation))

    def fully_connected(self, x: Tensor, units: int, *, name: str, bias: bool = True,
                        activation: O.Activation = O.Activation.NONE) -> Tensor:
        """`bias=False` where the converter drops it: the model's Dense bias is all zeros."""
        if len(x.shape) != 2:
            raise TinyconvError(f"{self.name}: {name!r}: FULLY_CONNECTED on a "
                                f"rank-{len(x.shape)} input; flatten or pool to [N, C] first")
        batch, depth = x.shape
        y = self._activation(name, (batch, units))
        inputs: list[Tensor | None] = [x, self._weights(name, (units, depth), 0),
                                       self._bias(name, units) if bias else None]
        return self._emit(O.FullyConnected(inputs=inputs, outputs=[y], activation=activation))

    # -- the converter's folding and fusion -------------------------------------------
    def _producer_of(self, x: Tensor, kinds: tuple[type[O.Op], ...]) -> O.Op | None:
        op = self._producer.get(x.index)
        if op is None or not isinstance(op, kinds) or op.outputs[0] is not x:
            return None
        if getattr(op, "activation", O.Activation.NONE) is not O.Activation.NONE:
            return None
        return op

    def fold_into_bias(self, x: Tensor) -> bool:
        """A batch normalization (or an added constant) on `x` folds into the bias of the
        conv / depthwise / dense that produced it (one is added if it had none). False when
        `x` has no such producer (the caller decides what that means)."""
        op = self._producer_of(x, FOLDS_INTO_BIAS)
        if op is None:
            return False
        if len(op.inputs) < 3 or op.inputs[2] is None:
            op.inputs = list(op.inputs[:2]) + [self._bias(op.name, op.filter.shape[0])]
        return True

    def fuse_activation(self, x: Tensor, activation: O.Activation) -> bool:
        """Fuse a ReLU / ReLU6 of `x` into the op that produced it, when that op takes one.
        The caller checks that nothing else reads `x` (else the converter keeps both)."""
        op = self._producer_of(x, FUSES_ACTIVATION)
        if op is None:
            return False
        op.activation = activation  # type: ignore[attr-defined]
        return True

    def relu(self, x: Tensor, activation: O.Activation = O.Activation.RELU, *, name: str,
             fuse: bool = True) -> Tensor:
        """ReLU / ReLU6: fused into the producer when `fuse` (x has no other reader) and the
        producer takes it, else its own RELU / RELU6 op."""
        if activation not in (O.Activation.RELU, O.Activation.RELU6):
            raise TinyconvError(f"{self.name}: {name!r}: only ReLU and ReLU6 are predicted")
        if fuse and self.fuse_activation(x, activation):
            return x
        cls = O.Relu if activation is O.Activation.RELU else O.Relu6
        return self._emit(cls(inputs=[x], outputs=[self._activation(name, x.shape)]))

    # -- pooling, reductions, shapes ----------------------------------------------------
    def _pool(self, cls, x: Tensor, size, stride, padding: O.Padding, name: str) -> Tensor:
        n, h, w, c = self._rank4(x, cls.kind)
        (fh, fw), (sh, sw) = _pair(size), _pair(stride)
        y = self._activation(name, (n, output_size(h, fh, sh, 1, padding),
                                    output_size(w, fw, sw, 1, padding), c))
        return self._emit(cls(inputs=[x], outputs=[y], filter_size=(fh, fw), stride=(sh, sw),
                              padding=padding))

    def max_pool(self, x: Tensor, size, stride, *, name: str,
                 padding: O.Padding = O.Padding.VALID) -> Tensor:
        return self._pool(O.MaxPool2D, x, size, stride, padding, name)

    def average_pool(self, x: Tensor, size, stride, *, name: str,
                     padding: O.Padding = O.Padding.VALID) -> Tensor:
        return self._pool(O.AveragePool2D, x, size, stride, padding, name)

    def mean(self, x: Tensor, axes: Sequence[int] = (1, 2), *, name: str,
             keep_dims: bool = False) -> Tensor:
        """Global average pooling. A kept-dims mean over a 1x1 map is the identity, and the
        converter drops it (it keeps the MEAN when the dims go: measured with TF 2.21)."""
        rank = len(x.shape)
        axes = tuple(sorted({int(a) % rank for a in axes}))
        if keep_dims and all(x.shape[a] == 1 for a in axes):
            return x
        shape = [1 if i in axes else d for i, d in enumerate(x.shape)] if keep_dims else \
            [d for i, d in enumerate(x.shape) if i not in axes]
        y = self._activation(name, shape)
        axes_t = self._int32_const("mean/axes", list(axes), shared=True)
        return self._emit(O.Mean(inputs=[x, axes_t], outputs=[y], axes=axes, keep_dims=keep_dims))

    def reshape(self, x: Tensor, shape: Sequence[int], *, name: str) -> Tensor:
        """RESHAPE to `shape` (one entry may be -1); the shape constant keeps a -1 batch."""
        shape = [int(d) for d in shape]
        if shape.count(-1) > 1:
            raise TinyconvError(f"{self.name}: {name!r}: reshape to {shape} has two -1s")
        if -1 in shape:
            known = math.prod(d for d in shape if d != -1)
            shape[shape.index(-1)] = x.size // known if known else 0
        if math.prod(shape) != x.size:
            raise TinyconvError(f"{self.name}: {name!r}: cannot reshape {x.shape} to "
                                f"{tuple(shape)}")
        y = self._activation(name, shape)
        shape_t = self._int32_const(f"{name}/shape", [-1, *shape[1:]], shared=False)
        return self._emit(O.Reshape(inputs=[x, shape_t], outputs=[y]))

    def transpose(self, x: Tensor, perm: Sequence[int], *, name: str) -> Tensor:
        perm = tuple(int(p) for p in perm)
        if sorted(perm) != list(range(len(x.shape))):
            raise TinyconvError(f"{self.name}: {name!r}: {perm} is not a permutation of "
                                f"{len(x.shape)} axes")
        y = self._activation(name, [x.shape[p] for p in perm])
        perm_t = self._int32_const("perm", list(perm), shared=True)
        return self._emit(O.Transpose(inputs=[x, perm_t], outputs=[y], perm=perm))

    def pad(self, x: Tensor, paddings: Sequence[Sequence[int]], *, name: str) -> Tensor:
        """Explicit zero padding (Keras ZeroPadding2D): a PAD op, not folded into a conv."""
        paddings = tuple((int(a), int(b)) for a, b in paddings)
        if len(paddings) != len(x.shape) or any(a < 0 or b < 0 for a, b in paddings):
            raise TinyconvError(f"{self.name}: {name!r}: paddings {paddings} do not fit "
                                f"{x.shape}")
        y = self._activation(name, [d + a + b for d, (a, b) in zip(x.shape, paddings)])
        pads = self._int32_const(f"{name}/paddings", paddings, shared=False)
        return self._emit(O.Pad(inputs=[x, pads], outputs=[y], paddings=paddings))

    def concat(self, inputs: Sequence[Tensor], axis: int, *, name: str) -> Tensor:
        rank = len(inputs[0].shape)
        axis = int(axis) % rank
        if any(len(t.shape) != rank or any(t.shape[i] != inputs[0].shape[i]
                                           for i in range(rank) if i != axis) for t in inputs):
            raise TinyconvError(f"{self.name}: {name!r}: cannot concatenate "
                                f"{[t.shape for t in inputs]} on axis {axis}")
        shape = list(inputs[0].shape)
        shape[axis] = sum(t.shape[axis] for t in inputs)
        y = self._activation(name, shape)
        return self._emit(O.Concatenation(inputs=list(inputs), outputs=[y], axis=axis))

    # -- elementwise --------------------------------------------------------------------
    def _broadcast(self, a: Tensor, b: Tensor, name: str) -> tuple[int, ...]:
        try:
            return tuple(np.broadcast_shapes(a.shape, b.shape))
        except ValueError:
            raise TinyconvError(f"{self.name}: {name!r}: shapes {a.shape} and {b.shape} do "
                                "not broadcast") from None

    def add(self, a: Tensor, b: Tensor, *, name: str,
            activation: O.Activation = O.Activation.NONE) -> Tensor:
        y = self._activation(name, self._broadcast(a, b, name))
        return self._emit(O.Add(inputs=[a, b], outputs=[y], activation=activation))

    def mul(self, a: Tensor, b: Tensor | float, *, name: str) -> Tensor:
        """MUL of two tensors (broadcasting) or of a tensor and a scalar constant."""
        b = b if isinstance(b, Tensor) else self._scalar_const(float(b))
        y = self._activation(name, self._broadcast(a, b, name))
        return self._emit(O.Mul(inputs=[a, b], outputs=[y]))

    def softmax(self, x: Tensor, *, name: str, beta: float = 1.0) -> Tensor:
        y = self._activation(name, x.shape, PROBABILITY_QUANT)
        return self._emit(O.Softmax(inputs=[x], outputs=[y], beta=float(beta)))

    def logistic(self, x: Tensor, *, name: str) -> Tensor:
        y = self._activation(name, x.shape, PROBABILITY_QUANT)
        return self._emit(O.Logistic(inputs=[x], outputs=[y]))

    def tanh(self, x: Tensor, *, name: str) -> Tensor:
        return self._emit(O.Tanh(inputs=[x], outputs=[self._activation(name, x.shape)]))

    def hard_swish(self, x: Tensor, *, name: str) -> Tensor:
        return self._emit(O.HardSwish(inputs=[x], outputs=[self._activation(name, x.shape)]))

    def leaky_relu(self, x: Tensor, alpha: float, *, name: str) -> Tensor:
        return self._emit(O.LeakyRelu(inputs=[x], outputs=[self._activation(name, x.shape)],
                                      alpha=float(alpha)))

    # -- the result -----------------------------------------------------------------------
    def graph(self, outputs: Sequence[Tensor], **metadata) -> Graph:
        return Graph(name=self.name, tensors=self.tensors, ops=self.ops, inputs=list(self.inputs),
                     outputs=list(outputs), source=self.source,
                     metadata={"predicted": True, **metadata})
