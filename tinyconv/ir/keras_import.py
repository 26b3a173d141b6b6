"""Keras model -> graph IR without running the TFLite converter (the NAS's memory model).

`graph_from_keras(model)` predicts the Graph that `import_tflite(to_int8_tflite(model, ...))`
would give: the same ops in the same order, the same tensor shapes and dtypes, the same
constant tensors (int8 per-channel weights, int32 biases) and so the same arena plan,
flash bytes and MACs. Converting takes 15-35 s per model; this takes milliseconds, which
is what lets the search check SRAM/flash budgets on thousands of candidates.

It mirrors what the converter does to a legacy-Keras (tf_keras) functional model:
- BatchNormalization folds into the conv/depthwise/dense before it; ReLU / ReLU6 fuse
  into a conv, depthwise, dense, ADD or MUL that feeds only them; Dropout vanishes.
- `x * relu6(x + 3) / 6` becomes one HARD_SWISH; `relu6(conv + 3) * (1/6)` (hard-sigmoid)
  becomes the conv (the +3 folded into its bias, RELU6 fused) and a MUL by a scalar.
- GlobalAveragePooling2D -> MEAN, Flatten / Reshape / tf.reshape -> RESHAPE, tf.transpose
  -> TRANSPOSE, sigmoid -> LOGISTIC, Multiply -> MUL (broadcasting), Concatenate ->
  CONCATENATION, ZeroPadding2D -> PAD, pools -> pools, softmax -> SOFTMAX.
- Dense layers whose bias is all zeros lose it (the converter drops a zero bias of
  FULLY_CONNECTED; convolutions always keep theirs).
- Op order: the converter imports the traced TensorFlow graph in reverse post-order of a
  depth-first walk that visits successors by name; `_execution_order` reproduces that on
  the Keras layer graph (it decides e.g. which Inception branch runs first, which the
  planner's arena depends on).

Quantization parameters are placeholders (they change no size or plan) but keep the dtypes
and the per-channel structure, so codegen lowers the graph to the same const arrays.
Constant data are zeros of the right shape except shapes, axes and permutations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import TinyconvError
from . import ops as O
from .graph import DType, Graph, Quant, Tensor

# Placeholder activation quantization: any positive scale plans the same; this one keeps
# every requantization multiplier codegen derives valid (all activations share it).
_ACT_QUANT = Quant(scale=(0.05,), zero_point=(0,))
# LiteRT requires exactly this output quantization of int8 LOGISTIC and SOFTMAX.
_PROB_QUANT = Quant(scale=(1.0 / 256.0,), zero_point=(-128,))
_WEIGHT_SCALE = 1.0 / 127.0

_FUSIBLE = (O.Conv2D, O.DepthwiseConv2D, O.FullyConnected, O.Add, O.Mul)
_FOLDS_BN = (O.Conv2D, O.DepthwiseConv2D, O.FullyConnected)


@dataclass(eq=False)
class _KNode:
    """One call of a Keras layer inside the model."""

    layer: Any
    node: Any
    inputs: list[int]   # ids of input KerasTensors
    outputs: list[int]  # ids of output KerasTensors
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        layer = self.layer
        name = type(layer).__name__
        if name in ("TFOpLambda", "SlicingOpLambda"):
            return "tf." + str(getattr(layer, "symbol", layer.name))
        return name


class _Builder:
    def __init__(self, model) -> None:
        self.model = model
        self.tensors: list[Tensor] = []
        self.ops: list[O.Op] = []
        self.value: dict[int, Tensor] = {}  # KerasTensor id -> IR tensor
        self.producer: dict[int, O.Op] = {}  # IR tensor index -> op that wrote it
        self.shared: dict[tuple, Tensor] = {}  # deduplicated small constants
        self.uses: dict[int, int] = {}  # KerasTensor id -> number of consuming calls
        self.skip: set[int] = set()  # ids of _KNodes absorbed by a fused pattern

    # -- tensors ----------------------------------------------------------------------
    def tensor(self, name: str, shape, dtype: DType = DType.INT8, quant: Quant | None = None,
               data: np.ndarray | None = None) -> Tensor:
        t = Tensor(index=len(self.tensors), name=name, shape=tuple(int(d) for d in shape),
                   dtype=dtype, quant=quant, data=data)
        self.tensors.append(t)
        return t

    def activation(self, name: str, keras_tensor, quant: Quant = _ACT_QUANT) -> Tensor:
        shape = tuple(1 if d is None else int(d) for d in keras_tensor.shape)
        return self.tensor(name, shape, DType.INT8, quant)

    def weights(self, name: str, shape, axis: int) -> Tensor:
        channels = shape[axis]
        quant = Quant(scale=(_WEIGHT_SCALE,) * channels, zero_point=(0,) * channels, axis=axis)
        return self.tensor(name, shape, DType.INT8, quant, np.zeros(shape, np.int8))

    def bias(self, name: str, channels: int) -> Tensor:
        quant = Quant(scale=(_ACT_QUANT.s * _WEIGHT_SCALE,) * channels,
                      zero_point=(0,) * channels, axis=0)
        return self.tensor(name, (channels,), DType.INT32, quant, np.zeros(channels, np.int32))

    def int32_const(self, name: str, values, shared: bool = True) -> Tensor:
        values = np.asarray(values, dtype=np.int32)
        key = ("int32", values.shape, values.tobytes())
        if shared and key in self.shared:
            return self.shared[key]
        t = self.tensor(name, values.shape, DType.INT32, None, values)
        self.shared[key] = t
        return t

    def scalar_const(self, value: float) -> Tensor:
        """A scalar int8 operand (one value, per-tensor quantized); equal ones are shared."""
        key = ("scalar", float(value))
        if key not in self.shared:
            scale = abs(float(value)) / 127.0 or 1.0
            self.shared[key] = self.tensor(f"const_{value:g}", (), DType.INT8,
                                           Quant(scale=(scale,), zero_point=(0,)),
                                           np.array(127 if value else 0, np.int8))
        return self.shared[key]

    # -- ops --------------------------------------------------------------------------
    def emit(self, op: O.Op) -> O.Op:
        op.index = len(self.ops)
        op.name = op.outputs[0].name
        self.ops.append(op)
        for t in op.outputs:
            self.producer[t.index] = op
        return op

    def single_use(self, kid: int) -> bool:
        return self.uses.get(kid, 0) == 1 and kid not in self.output_ids

    def fusible_producer(self, kid: int, kinds=_FUSIBLE) -> O.Op | None:
        t = self.value[kid]
        op = self.producer.get(t.index)
        if op is None or not isinstance(op, kinds) or not self.single_use(kid):
            return None
        if getattr(op, "activation", O.Activation.NONE) is not O.Activation.NONE:
            return None
        return op

    def ensure_bias(self, op: O.Op) -> None:
        if len(op.inputs) < 3 or op.inputs[2] is None:
            bias = self.bias(f"{op.name}_bias", op.filter.shape[0])
            op.inputs = list(op.inputs[:2]) + [bias]

    # -- the walk ---------------------------------------------------------------------
    def build(self) -> Graph:
        model = self.model
        knodes = _collect(model)
        self.output_ids = {id(t) for t in model.outputs}
        for kn in knodes:
            for kid in kn.inputs:
                self.uses[kid] = self.uses.get(kid, 0) + 1
        by_output = {kid: kn for kn in knodes for kid in kn.outputs}
        consumers: dict[int, list[_KNode]] = {}
        for kn in knodes:
            for kid in dict.fromkeys(kn.inputs):
                consumers.setdefault(kid, []).append(kn)
        self.by_output, self.consumers = by_output, consumers

        inputs: list[Tensor] = []
        for kt in model.inputs:
            shape = tuple(kt.shape)
            if any(d is None for d in shape[1:]):
                raise TinyconvError(f"model {model.name!r}: input {kt.name} has an unknown "
                                    f"dimension {shape}; give the model a fixed input shape")
            t = self.activation(kt.name, kt)
            self.value[id(kt)] = t
            inputs.append(t)

        for kn in _execution_order(model, knodes, consumers):
            if id(kn) in self.skip or kn.kind == "InputLayer":
                continue
            try:
                self.lower(kn)
            except TinyconvError:
                raise
            except (KeyError, IndexError, TypeError, ValueError) as e:
                raise TinyconvError(f"model {model.name!r}: cannot predict the int8 graph of "
                                    f"layer {kn.layer.name!r} ({kn.kind}): {e}") from None
        outputs = [self.value[id(t)] for t in model.outputs]
        return Graph(name=model.name, tensors=self.tensors, ops=self.ops, inputs=inputs,
                     outputs=outputs, source=f"keras:{model.name}",
                     metadata={"from": "keras", "predicted": True})

    def alias(self, kn: _KNode, kid: int | None = None) -> None:
        self.value[kn.outputs[0]] = self.value[kn.inputs[0] if kid is None else kid]

    def out(self, kn: _KNode, quant: Quant = _ACT_QUANT) -> Tensor:
        t = self.activation(kn.layer.name, _keras_output(kn), quant)
        self.value[kn.outputs[0]] = t
        return t

    def lower(self, kn: _KNode) -> None:  # noqa: C901 - one dispatch table, kept flat
        kind, layer = kn.kind, kn.layer
        x = self.value[kn.inputs[0]] if kn.inputs else None
        if kind in ("Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout",
                    "ActivityRegularization"):
            return self.alias(kn)
        if kind == "Conv2D":
            return self.conv(kn, x)
        if kind == "DepthwiseConv2D":
            return self.depthwise(kn, x)
        if kind == "Dense":
            return self.dense(kn, x)
        if kind == "BatchNormalization":
            op = self.fusible_producer(kn.inputs[0], _FOLDS_BN)
            if op is None:
                raise TinyconvError(f"model {self.model.name!r}: BatchNormalization "
                                    f"{layer.name!r} does not directly follow a conv or dense "
                                    "layer, so it cannot fold; tinyconv predicts only folded BN")
            self.ensure_bias(op)
            return self.alias(kn)
        if kind in ("ReLU", "tf.nn.relu", "tf.nn.relu6"):
            if kind == "ReLU":
                act = _relu_kind(layer)
            else:
                act = O.Activation.RELU6 if kind == "tf.nn.relu6" else O.Activation.RELU
            return self.relu(kn, x, act)
        if kind == "Activation":
            return self.keras_activation(kn, x, _activation_name(layer.activation))
        if kind == "LeakyReLU":
            y = self.out(kn)
            self.emit(O.LeakyRelu(inputs=[x], outputs=[y], alpha=float(layer.alpha)))
            return None
        if kind == "Softmax":
            y = self.out(kn, _PROB_QUANT)
            self.emit(O.Softmax(inputs=[x], outputs=[y], beta=1.0))
            return None
        if kind in ("MaxPooling2D", "AveragePooling2D"):
            cls = O.MaxPool2D if kind == "MaxPooling2D" else O.AveragePool2D
            y = self.out(kn)
            self.emit(cls(inputs=[x], outputs=[y], filter_size=tuple(layer.pool_size),
                          stride=tuple(layer.strides), padding=_padding(layer.padding)))
            return None
        if kind == "GlobalAveragePooling2D":
            keep = bool(getattr(layer, "keepdims", False))
            if keep and x.shape[1] == 1 and x.shape[2] == 1:
                # A kept-dims mean over 1x1 is the identity and the converter drops it (it
                # keeps the MEAN when the dims are dropped: measured with TF 2.21).
                return self.alias(kn)
            y = self.out(kn)
            axes = self.int32_const("mean_axes", [1, 2])
            self.emit(O.Mean(inputs=[x, axes], outputs=[y], axes=(1, 2), keep_dims=keep))
            return None
        if kind in ("Flatten", "Reshape", "tf.reshape"):
            y = self.out(kn)
            shape = self.int32_const(f"{layer.name}_shape", [-1, *y.shape[1:]], shared=False)
            self.emit(O.Reshape(inputs=[x, shape], outputs=[y]))
            return None
        if kind in ("tf.transpose", "tf.compat.v1.transpose", "Permute"):
            y = self.out(kn)
            if kind == "Permute":
                perm = (0, *layer.dims)
            else:
                perm = kn.kwargs.get("perm", kn.args[1] if len(kn.args) > 1 else None)
            perm_t = self.int32_const("perm", list(perm))
            self.emit(O.Transpose(inputs=[x, perm_t], outputs=[y], perm=tuple(int(p) for p in perm)))
            return None
        if kind == "ZeroPadding2D":
            (top, bottom), (left, right) = layer.padding
            paddings = ((0, 0), (top, bottom), (left, right), (0, 0))
            y = self.out(kn)
            pads = self.int32_const(f"{layer.name}_paddings", paddings, shared=False)
            self.emit(O.Pad(inputs=[x, pads], outputs=[y], paddings=paddings))
            return None
        if kind == "Concatenate":
            y = self.out(kn)
            rank = len(y.shape)
            self.emit(O.Concatenation(inputs=[self.value[k] for k in kn.inputs], outputs=[y],
                                      axis=int(layer.axis) % rank))
            return None
        if kind in ("Add", "tf.__operators__.add", "tf.math.add"):
            return self.add(kn)
        if kind in ("Multiply", "tf.math.multiply", "tf.math.truediv"):
            return self.multiply(kn)
        if kind in ("tf.math.sigmoid", "tf.nn.sigmoid", "tf.sigmoid"):
            return self.keras_activation(kn, x, "sigmoid")
        raise TinyconvError(f"model {self.model.name!r}: layer {layer.name!r} ({kind}) has no "
                            "int8 TFLite op tinyconv can predict")

    # -- per-layer lowering -------------------------------------------------------------
    def conv(self, kn: _KNode, x: Tensor) -> None:
        layer = kn.layer
        kernel = layer.kernel  # [kh, kw, in/groups, out]
        kh, kw, cin, cout = (int(d) for d in kernel.shape)
        y = self.out(kn)
        w = self.weights(f"{layer.name}_weights", (cout, kh, kw, cin), 0)
        b = self.bias(f"{layer.name}_bias", cout)
        if tuple(layer.dilation_rate) != (1, 1) and tuple(layer.strides) != (1, 1):
            raise TinyconvError(f"layer {layer.name!r}: dilated strided convolution")
        op = O.Conv2D(inputs=[x, w, b], outputs=[y], stride=tuple(layer.strides),
                      dilation=tuple(layer.dilation_rate), padding=_padding(layer.padding))
        self.emit(op)
        self.layer_activation(kn, op, y)

    def depthwise(self, kn: _KNode, x: Tensor) -> None:
        layer = kn.layer
        kh, kw, cin, mult = (int(d) for d in layer.depthwise_kernel.shape)
        y = self.out(kn)
        w = self.weights(f"{layer.name}_weights", (1, kh, kw, cin * mult), 3)
        b = self.bias(f"{layer.name}_bias", cin * mult)
        op = O.DepthwiseConv2D(inputs=[x, w, b], outputs=[y], stride=tuple(layer.strides),
                               dilation=tuple(layer.dilation_rate),
                               padding=_padding(layer.padding), depth_multiplier=mult)
        self.emit(op)
        self.layer_activation(kn, op, y)

    def dense(self, kn: _KNode, x: Tensor) -> None:
        layer = kn.layer
        depth, units = (int(d) for d in layer.kernel.shape)
        y = self.out(kn)
        if len(x.shape) != 2:
            raise TinyconvError(f"layer {layer.name!r}: Dense on a rank-{len(x.shape)} input; "
                                "flatten or pool to [N, C] first")
        w = self.weights(f"{layer.name}_weights", (units, depth), 0)
        inputs: list[Tensor | None] = [x, w, None]
        # The converter drops an all-zero FULLY_CONNECTED bias (an untrained classifier).
        if layer.use_bias and np.any(np.asarray(layer.bias.numpy()) != 0):
            inputs[2] = self.bias(f"{layer.name}_bias", units)
        op = O.FullyConnected(inputs=inputs, outputs=[y])
        self.emit(op)
        self.layer_activation(kn, op, y)

    def layer_activation(self, kn: _KNode, op: O.Op, y: Tensor) -> None:
        """A layer's own `activation=`: relu/relu6 fuse, others follow as their own op."""
        name = _activation_name(getattr(kn.layer, "activation", None))
        if name in ("linear", None):
            return
        if name in ("relu", "relu6"):
            op.activation = O.Activation.RELU if name == "relu" else O.Activation.RELU6
            return
        self.value[kn.outputs[0]] = self.unary(name, y, f"{kn.layer.name}_{name}",
                                               _keras_output(kn))

    def unary(self, name: str, x: Tensor, label: str, keras_tensor) -> Tensor:
        if name == "sigmoid":
            y = self.activation(label, keras_tensor, _PROB_QUANT)
            self.emit(O.Logistic(inputs=[x], outputs=[y]))
        elif name == "softmax":
            y = self.activation(label, keras_tensor, _PROB_QUANT)
            self.emit(O.Softmax(inputs=[x], outputs=[y], beta=1.0))
        elif name == "tanh":
            y = self.activation(label, keras_tensor)
            self.emit(O.Tanh(inputs=[x], outputs=[y]))
        elif name in ("relu", "relu6"):
            y = self.activation(label, keras_tensor)
            self.emit((O.Relu if name == "relu" else O.Relu6)(inputs=[x], outputs=[y]))
        elif name == "hard_swish":
            y = self.activation(label, keras_tensor)
            self.emit(O.HardSwish(inputs=[x], outputs=[y]))
        else:
            raise TinyconvError(f"model {self.model.name!r}: activation {name!r} of "
                                f"{label!r} has no int8 TFLite op tinyconv can predict")
        return y

    def keras_activation(self, kn: _KNode, x: Tensor, name: str | None) -> None:
        if name in ("linear", None):
            return self.alias(kn)
        if name in ("relu", "relu6"):
            return self.relu(kn, x, O.Activation.RELU if name == "relu" else O.Activation.RELU6)
        self.value[kn.outputs[0]] = self.unary(name, x, kn.layer.name, _keras_output(kn))
        return None

    def relu(self, kn: _KNode, x: Tensor, act: O.Activation) -> None:
        op = self.fusible_producer(kn.inputs[0])
        if op is not None:
            op.activation = act
            return self.alias(kn)
        y = self.out(kn)
        self.emit((O.Relu if act is O.Activation.RELU else O.Relu6)(inputs=[x], outputs=[y]))
        return None

    def operands(self, kn: _KNode) -> tuple[list[int], list[float]]:
        """KerasTensor ids and Python scalars among the call's operands, in order."""
        if kn.kind in ("Add", "Multiply"):
            return list(kn.inputs), []
        scalars = [float(a) for a in kn.args if isinstance(a, (int, float))]
        scalars += [float(v) for k, v in kn.kwargs.items()
                    if k in ("y", "x") and isinstance(v, (int, float))]
        return list(kn.inputs), scalars

    def add(self, kn: _KNode) -> None:
        tensors, scalars = self.operands(kn)
        if self.hard_swish(kn):
            return None
        if len(tensors) == 1 and len(scalars) == 1:
            # relu6(conv + 3) of a hard-sigmoid: the constant folds into the conv's bias.
            op = self.fusible_producer(tensors[0], _FOLDS_BN)
            if op is None:
                raise TinyconvError(f"model {self.model.name!r}: adding a constant "
                                    f"({kn.layer.name!r}) is only predicted right after a conv")
            self.ensure_bias(op)
            return self.alias(kn)
        if len(tensors) != 2:
            raise TinyconvError(f"model {self.model.name!r}: Add {kn.layer.name!r} of "
                                f"{len(tensors)} tensors (only 2 are predicted)")
        y = self.out(kn)
        self.emit(O.Add(inputs=[self.value[k] for k in tensors], outputs=[y]))
        return None

    def multiply(self, kn: _KNode) -> None:
        tensors, scalars = self.operands(kn)
        if len(tensors) == 1 and len(scalars) == 1:
            value = scalars[0]
            if kn.kind == "tf.math.truediv":
                value = 1.0 / value
            y = self.out(kn)
            self.emit(O.Mul(inputs=[self.value[tensors[0]], self.scalar_const(value)],
                            outputs=[y]))
            return None
        if len(tensors) != 2 or kn.kind == "tf.math.truediv":
            raise TinyconvError(f"model {self.model.name!r}: {kn.kind} {kn.layer.name!r} is "
                                "predicted only for two tensors or a tensor and a scalar")
        y = self.out(kn)
        self.emit(O.Mul(inputs=[self.value[k] for k in tensors], outputs=[y]))
        return None

    def hard_swish(self, add: _KNode) -> bool:
        """x * relu6(x + 3) / 6 (or * 1/6, or x * (relu6(x + 3) / 6)) -> one HARD_SWISH."""
        tensors, scalars = self.operands(add)
        if len(tensors) != 1 or scalars != [3.0]:
            return False
        x_id = tensors[0]
        chain = [add]
        relu = self._only_consumer(add, ("tf.nn.relu6",))
        if relu is None:
            return False
        chain.append(relu)
        nxt = self._only_consumer(relu, ("tf.math.multiply", "tf.math.truediv", "Multiply"))
        if nxt is None:
            return False
        nxt_tensors, nxt_scalars = self.operands(nxt)
        if set(nxt_tensors) == {relu.outputs[0], x_id} and not nxt_scalars:
            chain.append(nxt)  # x * relu6(x + 3), then / 6
            last = self._only_consumer(nxt, ("tf.math.multiply", "tf.math.truediv"))
            if last is None or not _is_sixth(last, self.operands(last)[1]):
                return False
        elif _is_sixth(nxt, nxt_scalars):
            chain.append(nxt)  # relu6(x + 3) / 6, then x * that
            last = self._only_consumer(nxt, ("tf.math.multiply", "Multiply"))
            if last is None or set(self.operands(last)[0]) != {nxt.outputs[0], x_id}:
                return False
        else:
            return False
        chain.append(last)
        y = self.activation(last.layer.name, _keras_output(last))
        self.emit(O.HardSwish(inputs=[self.value[x_id]], outputs=[y]))
        self.value[last.outputs[0]] = y
        self.skip.update(id(k) for k in chain)
        return True

    def _only_consumer(self, kn: _KNode, kinds: tuple[str, ...]) -> _KNode | None:
        kid = kn.outputs[0]
        users = self.consumers.get(kid, [])
        if len(users) != 1 or not self.single_use(kid) or users[0].kind not in kinds:
            return None
        return users[0]


def _is_sixth(kn: _KNode, scalars: list[float]) -> bool:
    if len(scalars) != 1:
        return False
    if kn.kind == "tf.math.truediv":
        return abs(scalars[0] - 6.0) < 1e-6
    return abs(scalars[0] - 1.0 / 6.0) < 1e-6


def _keras_output(kn: _KNode):
    outputs = kn.node.output_tensors
    return outputs[0] if isinstance(outputs, (list, tuple)) else outputs


def _padding(value: str) -> O.Padding:
    return O.Padding.SAME if str(value).lower() == "same" else O.Padding.VALID


def _activation_name(fn) -> str | None:
    if fn is None:
        return None
    name = getattr(fn, "__name__", str(fn))
    return {"hard_silu": "hard_swish"}.get(name, name)


def _relu_kind(layer) -> O.Activation:
    max_value = getattr(layer, "max_value", None)
    slope = float(getattr(layer, "negative_slope", 0.0) or 0.0)
    threshold = float(getattr(layer, "threshold", 0.0) or 0.0)
    if slope != 0.0 or threshold != 0.0:
        raise TinyconvError(f"ReLU {layer.name!r} with a slope or threshold has no fused "
                            "int8 equivalent tinyconv predicts")
    if max_value is None:
        return O.Activation.RELU
    if float(max_value) == 6.0:
        return O.Activation.RELU6
    raise TinyconvError(f"ReLU {layer.name!r} with max_value {float(max_value):g} is not "
                        "predicted (only ReLU and ReLU6 fuse)")


def _collect(model) -> list[_KNode]:
    """Every layer call inside `model` (nested models are not supported)."""
    nodes: list[_KNode] = []
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            layer = node.layer
            if hasattr(layer, "_nodes_by_depth") and type(layer).__name__ != "InputLayer":
                raise TinyconvError(f"model {model.name!r}: nested model {layer.name!r} is not "
                                    "supported; build the network as one functional model")
            outs = node.output_tensors
            outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
            nodes.append(_KNode(layer, node, [id(t) for t in node.keras_inputs],
                                [id(t) for t in outs], tuple(node.call_args or ()),
                                dict(node.call_kwargs or {})))
    return nodes


def _execution_order(model, knodes: list[_KNode],
                     consumers: dict[int, list[_KNode]]) -> list[_KNode]:
    """Reverse post-order of a depth-first walk from the inputs that visits a node's
    successors by ascending name (TensorFlow's GetReversePostOrder with a name comparator,
    which the converter's graph import uses). TF op names are `<model>/<layer>/<Op>`, so
    the layer name decides."""
    successors: dict[int, list[_KNode]] = {}
    for kn in knodes:
        users: dict[int, _KNode] = {}
        for kid in kn.outputs:
            for user in consumers.get(kid, []):
                users[id(user)] = user
        successors[id(kn)] = sorted(users.values(), key=lambda k: k.layer.name + "/")
    roots = sorted((kn for kn in knodes if not kn.inputs), key=lambda k: k.layer.name + "/")
    visited: set[int] = set()
    post: list[_KNode] = []
    stack: list[tuple[_KNode, bool]] = [(kn, False) for kn in roots]
    while stack:
        kn, leave = stack.pop()
        if leave:
            post.append(kn)
            continue
        if id(kn) in visited:
            continue
        visited.add(id(kn))
        stack.append((kn, True))
        for user in successors[id(kn)]:
            if id(user) not in visited:
                stack.append((user, False))
    order = post[::-1]
    if len(order) != len(knodes):
        raise TinyconvError(f"model {model.name!r}: layers unreachable from the inputs")
    return order


def graph_from_keras(model) -> Graph:
    """The int8 graph the TFLite converter would produce for `model`, without converting.

    `model` is a tf_keras functional (or Sequential) model with a fixed input shape. Raises
    TinyconvError naming the layer when a layer has no int8 equivalent that can be predicted.
    """
    if not getattr(model, "_is_graph_network", False):
        raise TinyconvError(f"model {getattr(model, 'name', model)!r} is not a functional "
                            "Keras model (subclassed models cannot be read without tracing)")
    return _Builder(model).build()
