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

The converter's rules (folding, fusion, bias handling, output shapes, placeholder
quantization) live in `ir.builder.GraphBuilder`, which the NAS's search space
(`tinyconv.space`) emits through too; this module maps Keras layers onto it and checks every
shape it derives against Keras's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import TinyconvError
from . import ops as O
from .builder import GraphBuilder
from .graph import Graph, Tensor


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


class _Lowering:
    """Walks the Keras layer graph in the converter's order and emits each call."""

    def __init__(self, model) -> None:
        self.model = model
        self.b = GraphBuilder(model.name, source=f"keras:{model.name}")
        self.value: dict[int, Tensor] = {}  # KerasTensor id -> IR tensor
        self.uses: dict[int, int] = {}  # KerasTensor id -> number of consuming calls
        self.skip: set[int] = set()  # ids of _KNodes absorbed by a fused pattern

    def single_use(self, kid: int) -> bool:
        return self.uses.get(kid, 0) == 1 and kid not in self.output_ids

    # -- the walk ---------------------------------------------------------------------
    def build(self) -> Graph:
        model = self.model
        knodes = _collect(model)
        self.output_ids = {id(t) for t in model.outputs}
        for kn in knodes:
            for kid in kn.inputs:
                self.uses[kid] = self.uses.get(kid, 0) + 1
        consumers: dict[int, list[_KNode]] = {}
        for kn in knodes:
            for kid in dict.fromkeys(kn.inputs):
                consumers.setdefault(kid, []).append(kn)
        self.consumers = consumers

        for kt in model.inputs:
            shape = tuple(kt.shape)
            if any(d is None for d in shape[1:]):
                raise TinyconvError(f"model {model.name!r}: input {kt.name} has an unknown "
                                    f"dimension {shape}; give the model a fixed input shape")
            self.value[id(kt)] = self.b.input(kt.name, _static_shape(kt))

        for kn in _execution_order(model, knodes, consumers):
            if id(kn) in self.skip or kn.kind == "InputLayer":
                continue
            try:
                self.lower(kn)
            except TinyconvError as e:
                if kn.layer.name in str(e):
                    raise
                raise TinyconvError(f"model {model.name!r}: layer {kn.layer.name!r} "
                                    f"({kn.kind}): {e}") from None
            except (KeyError, IndexError, TypeError, ValueError) as e:
                raise TinyconvError(f"model {model.name!r}: cannot predict the int8 graph of "
                                    f"layer {kn.layer.name!r} ({kn.kind}): {e}") from None
        return self.b.graph([self.value[id(t)] for t in model.outputs], **{"from": "keras"})

    def alias(self, kn: _KNode, kid: int | None = None) -> None:
        self.value[kn.outputs[0]] = self.value[kn.inputs[0] if kid is None else kid]

    def set(self, kn: _KNode, y: Tensor, keras_tensor=None) -> None:
        """`y` is the call's output: its shape must be the one Keras derived."""
        want = _static_shape(_keras_output(kn) if keras_tensor is None else keras_tensor)
        if y.shape != want:
            raise TinyconvError(f"model {self.model.name!r}: layer {kn.layer.name!r} "
                                f"({kn.kind}): predicted shape {y.shape}, Keras says {want}")
        self.value[kn.outputs[0]] = y

    def lower(self, kn: _KNode) -> None:  # noqa: C901 - one dispatch table, kept flat
        kind, layer, b = kn.kind, kn.layer, self.b
        name = layer.name
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
            if not (self.single_use(kn.inputs[0]) and b.fold_into_bias(x)):
                raise TinyconvError(f"model {self.model.name!r}: BatchNormalization "
                                    f"{name!r} does not directly follow a conv or dense "
                                    "layer, so it cannot fold; tinyconv predicts only folded BN")
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
            return self.set(kn, b.leaky_relu(x, float(layer.alpha), name=name))
        if kind == "Softmax":
            return self.set(kn, b.softmax(x, name=name))
        if kind == "MaxPooling2D":
            return self.set(kn, b.max_pool(x, tuple(layer.pool_size), tuple(layer.strides),
                                           padding=_padding(layer.padding), name=name))
        if kind == "AveragePooling2D":
            return self.set(kn, b.average_pool(x, tuple(layer.pool_size), tuple(layer.strides),
                                               padding=_padding(layer.padding), name=name))
        if kind == "GlobalAveragePooling2D":
            keep = bool(getattr(layer, "keepdims", False))
            return self.set(kn, b.mean(x, (1, 2), keep_dims=keep, name=name))
        if kind in ("Flatten", "Reshape", "tf.reshape"):
            return self.set(kn, b.reshape(x, _static_shape(_keras_output(kn)), name=name))
        if kind in ("tf.transpose", "tf.compat.v1.transpose", "Permute"):
            if kind == "Permute":
                perm = (0, *layer.dims)
            else:
                perm = kn.kwargs.get("perm", kn.args[1] if len(kn.args) > 1 else None)
            return self.set(kn, b.transpose(x, perm, name=name))
        if kind == "ZeroPadding2D":
            (top, bottom), (left, right) = layer.padding
            return self.set(kn, b.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)),
                                      name=name))
        if kind == "Concatenate":
            return self.set(kn, b.concat([self.value[k] for k in kn.inputs], int(layer.axis),
                                         name=name))
        if kind in ("Add", "tf.__operators__.add", "tf.math.add"):
            return self.add(kn)
        if kind in ("Multiply", "tf.math.multiply", "tf.math.truediv"):
            return self.multiply(kn)
        if kind in ("tf.math.sigmoid", "tf.nn.sigmoid", "tf.sigmoid"):
            return self.keras_activation(kn, x, "sigmoid")
        raise TinyconvError(f"model {self.model.name!r}: layer {name!r} ({kind}) has no "
                            "int8 TFLite op tinyconv can predict")

    # -- per-layer lowering -------------------------------------------------------------
    def conv(self, kn: _KNode, x: Tensor) -> None:
        layer = kn.layer
        kh, kw, _, cout = (int(d) for d in layer.kernel.shape)  # [kh, kw, in/groups, out]
        y = self.b.conv2d(x, cout, (kh, kw), tuple(layer.strides), name=layer.name,
                          padding=_padding(layer.padding), dilation=tuple(layer.dilation_rate),
                          groups=int(getattr(layer, "groups", 1)))
        self.set(kn, y)
        self.layer_activation(kn, y)

    def depthwise(self, kn: _KNode, x: Tensor) -> None:
        layer = kn.layer
        kh, kw, _, mult = (int(d) for d in layer.depthwise_kernel.shape)
        y = self.b.depthwise(x, (kh, kw), tuple(layer.strides), name=layer.name,
                             multiplier=mult, padding=_padding(layer.padding),
                             dilation=tuple(layer.dilation_rate))
        self.set(kn, y)
        self.layer_activation(kn, y)

    def dense(self, kn: _KNode, x: Tensor) -> None:
        layer = kn.layer
        _, units = (int(d) for d in layer.kernel.shape)
        # The converter drops an all-zero FULLY_CONNECTED bias (an untrained classifier).
        bias = bool(layer.use_bias and np.any(np.asarray(layer.bias.numpy()) != 0))
        y = self.b.fully_connected(x, units, bias=bias, name=layer.name)
        self.set(kn, y)
        self.layer_activation(kn, y)

    def layer_activation(self, kn: _KNode, y: Tensor) -> None:
        """A layer's own `activation=`: relu/relu6 fuse, others follow as their own op."""
        name = _activation_name(getattr(kn.layer, "activation", None))
        if name in ("linear", None):
            return
        if name in ("relu", "relu6"):
            self.b.fuse_activation(y, O.Activation.RELU if name == "relu" else O.Activation.RELU6)
            return
        self.set(kn, self.unary(name, y, f"{kn.layer.name}_{name}"))

    def unary(self, name: str, x: Tensor, label: str) -> Tensor:
        b = self.b
        if name == "sigmoid":
            return b.logistic(x, name=label)
        if name == "softmax":
            return b.softmax(x, name=label)
        if name == "tanh":
            return b.tanh(x, name=label)
        if name in ("relu", "relu6"):
            act = O.Activation.RELU if name == "relu" else O.Activation.RELU6
            return b.relu(x, act, name=label, fuse=False)
        if name == "hard_swish":
            return b.hard_swish(x, name=label)
        raise TinyconvError(f"model {self.model.name!r}: activation {name!r} of "
                            f"{label!r} has no int8 TFLite op tinyconv can predict")

    def keras_activation(self, kn: _KNode, x: Tensor, name: str | None) -> None:
        if name in ("linear", None):
            return self.alias(kn)
        if name in ("relu", "relu6"):
            return self.relu(kn, x, O.Activation.RELU if name == "relu" else O.Activation.RELU6)
        self.set(kn, self.unary(name, x, kn.layer.name))
        return None

    def relu(self, kn: _KNode, x: Tensor, act: O.Activation) -> None:
        self.set(kn, self.b.relu(x, act, name=kn.layer.name,
                                 fuse=self.single_use(kn.inputs[0])))

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
            if not (self.single_use(tensors[0]) and self.b.fold_into_bias(self.value[tensors[0]])):
                raise TinyconvError(f"model {self.model.name!r}: adding a constant "
                                    f"({kn.layer.name!r}) is only predicted right after a conv")
            return self.alias(kn)
        if len(tensors) != 2:
            raise TinyconvError(f"model {self.model.name!r}: Add {kn.layer.name!r} of "
                                f"{len(tensors)} tensors (only 2 are predicted)")
        a, c = (self.value[k] for k in tensors)
        self.set(kn, self.b.add(a, c, name=kn.layer.name))
        return None

    def multiply(self, kn: _KNode) -> None:
        tensors, scalars = self.operands(kn)
        if len(tensors) == 1 and len(scalars) == 1:
            value = scalars[0]
            if kn.kind == "tf.math.truediv":
                value = 1.0 / value
            self.set(kn, self.b.mul(self.value[tensors[0]], value, name=kn.layer.name))
            return None
        if len(tensors) != 2 or kn.kind == "tf.math.truediv":
            raise TinyconvError(f"model {self.model.name!r}: {kn.kind} {kn.layer.name!r} is "
                                "predicted only for two tensors or a tensor and a scalar")
        a, c = (self.value[k] for k in tensors)
        self.set(kn, self.b.mul(a, c, name=kn.layer.name))
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
        self.set(last, self.b.hard_swish(self.value[x_id], name=last.layer.name))
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


def _static_shape(keras_tensor) -> tuple[int, ...]:
    """A KerasTensor's shape with the (None) batch as 1."""
    return tuple(1 if d is None else int(d) for d in keras_tensor.shape)


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
    return _Lowering(model).build()
