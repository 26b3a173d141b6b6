"""Quantized .onnx -> Graph IR, computing as onnxruntime (CPU) does.

Two forms are read, both as onnxruntime's quantization tooling writes them:
- QDQ: float ops between DequantizeLinear and QuantizeLinear (quantize_static's default);
  each such op is taken as the quantized kernel onnxruntime fuses it into (QLinearConv,
  QGemm, QLinearAdd, QLinearGlobalAveragePool...);
- QOperator: QLinearConv, QLinearMatMul, QGemm, QLinearAdd, QLinearGlobalAveragePool
  (com.microsoft), with MaxPool, Flatten, Reshape, Transpose, Concat on quantized tensors.

Layout: ONNX images are NCHW, the kernels' NHWC. Every tensor keeps its logical ONNX shape
and a permutation `perm` with physical (IR) shape = [logical[p] for p in perm]; a
Transpose node only changes the permutation (no data moves), and an op that needs
another order gets an IR TRANSPOSE in front of it. Convolutions, pools and their
weights are laid out NHWC / OHWI / 1HWC.

uint8 activations (and uint8 weights) are stored as int8 = uint8 - 128 with zero point
- 128: the same real values, exactly. The model's input and output bytes are then int8
NHWC: a user converts at the boundary with q_int8 = q_uint8 - 128 (or quantizes floats
with the input's scale and zero point, shown by `tinyconv inspect`), and transposes NCHW
images to NHWC. graph.metadata["onnx"] records both boundaries (tinyconv/onnx_oracle.py
uses them to feed onnxruntime the same values).

Anything else (an op, an attribute, a float op outside Q/DQ, an opset) is refused with one
line naming the node, its op type and the supported list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import TinyconvError, UnsupportedOpError
from . import ops as O
from .graph import DType, Graph, Quant, Tensor
from .onnx_ops import (OrtAdd, OrtAveragePool, OrtConv2D, OrtDepthwiseConv2D,
                       OrtFullyConnected, OrtGlobalAveragePool, OrtMul, OrtRequantize)
from .validate import conv_output_size, validate

# The ops a quantized graph may hold, by their ONNX type (QDQ float op or QOperator op).
SUPPORTED = ("Add", "AveragePool", "Clip", "Concat", "Conv", "DequantizeLinear", "Flatten",
             "Gemm", "GlobalAveragePool", "Identity", "MatMul", "MaxPool", "Mul", "Pad", "QGemm",
             "QLinearAdd", "QLinearAveragePool", "QLinearConcat", "QLinearConv",
             "QLinearGlobalAveragePool", "QLinearMatMul", "QLinearMul", "QuantizeLinear",
             "Relu", "Reshape", "Squeeze", "Transpose",
             # -- ONNX ops added: Softmax, Resize, ConvTranspose, activations --
             "HardSigmoid", "HardSwish", "LeakyRelu", "QLinearLeakyRelu", "QLinearSigmoid",
             "QLinearSoftmax", "Resize", "Sigmoid", "Softmax", "Tanh",
             # -- end of ONNX ops added --
             )
MIN_OPSET, MAX_OPSET = 10, 23

_ONNX_INT8, _ONNX_UINT8, _ONNX_INT32, _ONNX_FLOAT = 3, 2, 6, 1
NCHW_AS_NHWC = (0, 2, 3, 1)
# The stored range of every activation (uint8 tensors are stored shifted by -128).
STORED_RANGE = (-128, 127)
# ONNX elementwise ops of up to this rank (the IR's: tinyconv/ir/validate.py MAX_RANK).
MAX_ELEMENTWISE_RANK = 6


@dataclass
class _Value:
    """A quantized activation (or constant) of the ONNX graph, as the IR holds it."""

    tensor: Tensor
    logical: tuple[int, ...]         # the ONNX shape
    perm: tuple[int, ...]            # IR shape = logical permuted by perm
    offset: int = 0                  # onnxruntime's value = stored int8 + offset (uint8: 128)


@dataclass
class Boundary:
    """How an IR input/output maps to the ONNX model's tensor of that name."""

    name: str
    onnx_dtype: str          # "float32" (a Quantize/DequantizeLinear at the boundary), "uint8", "int8"
    scale: float
    zero_point: int          # in the ONNX type's domain
    offset: int              # stored int8 = ONNX quantized value - offset
    perm: tuple[int, ...]    # IR shape = ONNX shape permuted by perm


def load_onnx(path: str | Path) -> Graph:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TinyconvError(f"cannot read model {path}: {e.strerror or e}") from None
    return import_onnx(data, source=str(path))


def is_onnx(data: bytes, name: str = "") -> bool:
    """An .onnx file by its name, or protobuf bytes that are not a .tflite flatbuffer."""
    if str(name).lower().endswith(".onnx"):
        return True
    if str(name).lower().endswith(".tflite") or data[4:8] == b"TFL3":
        return False
    return data[:1] == b"\x08"  # ModelProto starts with ir_version (field 1, varint)


def import_onnx(data: bytes, source: str = "<bytes>") -> Graph:
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:  # pragma: no cover - a dependency of tinyconv
        raise TinyconvError("reading .onnx models needs the `onnx` package") from None
    try:
        model = onnx.load_model_from_string(bytes(data))
    except Exception as e:
        raise TinyconvError(f"{source}: not a readable ONNX model ({type(e).__name__})") \
            from None
    return _Importer(model, numpy_helper, source).run()


class _Importer:
    def __init__(self, model, numpy_helper, source: str):
        self.model, self.nh, self.source = model, numpy_helper, source
        self.g = model.graph
        self.tensors: list[Tensor] = []
        self.ops: list[O.Op] = []
        self.values: dict[str, _Value] = {}
        self.consts: dict[str, np.ndarray] = {}
        self.inputs: list[Tensor] = []
        self.boundaries_in: list[Boundary] = []
        self.node_index = 0
        self.input_info: dict[str, tuple[int, tuple[int, ...], tuple[int, ...]]] = {}
        self.transposed_inputs: dict[str, tuple[str, tuple[int, ...]]] = {}
        self.qdq_int8 = False  # a float op between Q/DQ of int8 activations

    # -- helpers --------------------------------------------------------------------------
    def fail(self, node, message: str) -> None:
        raise TinyconvError(f"{self.source}: node #{self.node_index} {_node_name(node)} "
                            f"({node.op_type}): {message}")

    def unsupported(self, node, message: str) -> None:
        raise UnsupportedOpError(f"{self.source}: node #{self.node_index} "
                                 f"{_node_name(node)} ({node.op_type}): {message} "
                                 f"(supported: {', '.join(SUPPORTED)})")

    def new_tensor(self, name: str, shape, dtype: DType, quant: Quant | None = None,
                   data: np.ndarray | None = None) -> Tensor:
        t = Tensor(index=len(self.tensors), name=name, shape=tuple(int(d) for d in shape),
                   dtype=dtype, quant=quant, data=data)
        self.tensors.append(t)
        return t

    def const(self, node, name: str, what: str) -> np.ndarray:
        if name not in self.consts:
            self.fail(node, f"{what} {name!r} must be a constant (an initializer)")
        return self.consts[name]

    def scalar_quant(self, node, scale_name: str, zp_name: str | None, what: str
                     ) -> tuple[np.ndarray, np.ndarray, bool]:
        """(scales float32, zero points int64, uint8?) of a Q/DQ or QLinear operand."""
        scale = np.asarray(self.const(node, scale_name, f"{what} scale"), np.float32).ravel()
        if zp_name:
            zp_arr = self.const(node, zp_name, f"{what} zero point")
            unsigned = zp_arr.dtype == np.uint8
            if zp_arr.dtype not in (np.uint8, np.int8):
                self.unsupported(node, f"{what} is {zp_arr.dtype}; only int8 and uint8 "
                                 "quantization is supported")
            zp = np.asarray(zp_arr, np.int64).ravel()
        else:
            zp, unsigned = np.zeros(1, np.int64), True  # ONNX default: uint8, zero point 0
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            self.fail(node, f"{what} scale must be positive")
        return scale, zp, unsigned

    def act_quant(self, node, scale_name: str, zp_name: str | None, what: str
                  ) -> tuple[Quant, int]:
        scale, zp, unsigned = self.scalar_quant(node, scale_name, zp_name, what)
        if scale.size != 1 or zp.size != 1:
            self.unsupported(node, f"{what} has {scale.size} scales; activations take one")
        offset = 128 if unsigned else 0
        return Quant((float(scale[0]),), (int(zp[0]) - offset,)), offset

    def value(self, node, name: str) -> _Value:
        if name not in self.values:
            if name in self.consts:
                self.unsupported(node, f"input {name!r} is a constant; only weights and "
                                 "biases may be")
            self.unsupported(node, f"input {name!r} is not a quantized tensor (a float op "
                             "outside QuantizeLinear/DequantizeLinear)")
        return self.values[name]

    def output_value(self, name: str, logical, perm, quant: Quant, offset: int) -> _Value:
        physical = tuple(int(logical[p]) for p in perm)
        t = self.new_tensor(name, physical, DType.INT8, quant)
        v = _Value(t, tuple(int(d) for d in logical), tuple(perm), offset)
        self.values[name] = v
        return v

    def in_order(self, v: _Value, perm: tuple[int, ...], name: str) -> _Value:
        """`v` with physical order `perm` (an IR TRANSPOSE when its bytes are in another)."""
        if _same_bytes(v.logical, v.perm, perm):
            if v.perm == perm:
                return v
            return _Value(v.tensor, v.logical, perm, v.offset)  # the same bytes
        # physical axis k of the result = physical axis of v holding logical axis perm[k]
        ir_perm = tuple(v.perm.index(a) for a in perm)
        y = self.new_tensor(f"{name}/transposed", tuple(v.logical[a] for a in perm),
                            DType.INT8, v.tensor.quant)
        perm_t = self.new_tensor(f"{name}/perm", (len(ir_perm),), DType.INT32,
                                 data=np.asarray(ir_perm, np.int32))
        self.add_op(O.Transpose(inputs=[v.tensor, perm_t], outputs=[y], perm=ir_perm),
                    y.name)
        return _Value(y, v.logical, perm, v.offset)

    def add_op(self, op: O.Op, name: str) -> None:
        op.index = len(self.ops)
        op.name = name
        self.ops.append(op)

    def reshape(self, v: _Value, logical: tuple[int, ...], name: str) -> _Value:
        v = self.in_order(v, tuple(range(len(v.logical))), name)
        y = self.new_tensor(name, logical, DType.INT8, v.tensor.quant)
        self.add_op(O.Reshape(inputs=[v.tensor], outputs=[y]), name)
        out = _Value(y, logical, tuple(range(len(logical))), v.offset)
        self.values[name] = out
        return out

    # -- the graph ------------------------------------------------------------------------
    def run(self) -> Graph:
        self.check_opsets()
        for init in self.g.initializer:
            self.consts[init.name] = self.nh.to_array(init)
        nodes = list(self.g.node)
        for node in nodes:
            if node.op_type == "Constant":
                attr = {a.name: a for a in node.attribute}
                if "value" not in attr:
                    self.unsupported(node, "only tensor Constants are supported")
                self.consts[node.output[0]] = self.nh.to_array(attr["value"].t)
        consumers: dict[str, list] = {}
        for node in nodes:
            for i in node.input:
                consumers.setdefault(i, []).append(node)
        self.consumers = consumers
        graph_inputs = [i for i in self.g.input if i.name not in self.consts]
        self.declare_inputs(graph_inputs, nodes)
        self.float_alias: dict[str, str] = {}  # DQ output (float) -> its quantized input
        self.pending_q: dict[str, object] = {}
        for index, node in enumerate(nodes):
            self.node_index = index
            self.visit(node)
        outputs, boundaries_out = self.declare_outputs()
        graph = Graph(name=Path(self.source).stem, tensors=self.tensors, ops=self.ops,
                      inputs=self.inputs, outputs=outputs, source=self.source,
                      metadata={"onnx": {"inputs": self.boundaries_in,
                                         "outputs": boundaries_out,
                                         "qdq_int8": self.qdq_int8}})
        validate(graph, self.source)
        return graph

    def check_opsets(self) -> None:
        for opset in self.model.opset_import:
            if opset.domain in ("", "ai.onnx") and not MIN_OPSET <= opset.version <= MAX_OPSET:
                raise UnsupportedOpError(f"{self.source}: ONNX opset {opset.version} is not "
                                         f"supported (opsets {MIN_OPSET} to {MAX_OPSET})")

    def declare_inputs(self, graph_inputs, nodes) -> None:
        for gi in graph_inputs:
            ttype = gi.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else 0 for d in ttype.shape.dim]
            if dims and dims[0] == 0:
                dims[0] = 1  # a dynamic batch: one image at a time
            if any(d <= 0 for d in dims):
                raise TinyconvError(f"{self.source}: input {gi.name!r} has a dynamic shape "
                                    f"{dims}; tinyconv needs fixed dimensions")
            logical = tuple(dims)
            users = self.consumers.get(gi.name, [])
            perm = tuple(range(len(logical)))
            if len(logical) == 4 and not any(u.op_type == "Transpose" for u in users) and \
                    not any(u.op_type == "QuantizeLinear" and any(
                        w.op_type == "Transpose" for w in self.consumers.get(u.output[0], []))
                        for u in users):
                perm = NCHW_AS_NHWC
            self.input_info[gi.name] = (ttype.elem_type, logical, perm)

    def make_input(self, name: str, quant: Quant, offset: int, onnx_dtype: str,
                   scale: float, zp: int, ir_name: str) -> _Value:
        elem, logical, perm = self.input_info[name]
        v = self.output_value(ir_name, logical, perm, quant, offset)
        self.inputs.append(v.tensor)
        boundary_perm = perm
        original, p = self.transposed_inputs.get(name, (name, None))
        if p is not None:  # a Transpose of the float input: IR order = the input's own
            boundary_perm = tuple(p[a] for a in perm)
        self.boundaries_in.append(Boundary(original, onnx_dtype, scale, zp, offset,
                                           boundary_perm))
        return v

    def declare_outputs(self) -> tuple[list[Tensor], list[Boundary]]:
        outputs, boundaries = [], []
        for go in self.g.output:
            name = go.name
            if name in self.values:
                v = self.values[name]
                dtype = "uint8" if v.offset else "int8"
                q = v.tensor.quant
                zp = q.zp + v.offset
            elif name in self.float_alias:
                v = self.values[self.float_alias[name]]
                dtype, q = "float32", v.tensor.quant
                zp = q.zp + v.offset
            else:
                raise UnsupportedOpError(f"{self.source}: output {name!r} is not a quantized "
                                         "tensor (nor a DequantizeLinear of one)")
            if v.tensor in outputs or v.tensor in self.inputs:
                v = self.copy_value(v, name)
            outputs.append(v.tensor)
            boundaries.append(Boundary(name, dtype, q.s, zp, v.offset, v.perm))
        return outputs, boundaries

    def copy_value(self, v: _Value, name: str) -> _Value:
        y = self.new_tensor(f"{name}/copy", v.tensor.shape, DType.INT8, v.tensor.quant)
        self.add_op(O.Reshape(inputs=[v.tensor], outputs=[y]), y.name)
        return _Value(y, v.logical, v.perm, v.offset)

    # -- nodes ----------------------------------------------------------------------------
    def visit(self, node) -> None:
        op = node.op_type
        if node.domain not in ("", "ai.onnx", "com.microsoft"):
            self.unsupported(node, f"domain {node.domain!r} is not supported")
        if op == "Constant":
            return
        if op == "QuantizeLinear":
            return self.quantize(node)
        if op == "DequantizeLinear":
            return self.dequantize(node)
        if op.startswith("QLinear") or op == "QGemm":
            return self.qoperator(node)
        if op in ("Relu", "Clip") and _conv_transpose_activation(self, node):
            return  # ConvTranspose (float path): a float Relu / Clip before its Q
        handler = _FLOAT_OPS.get(op)
        if handler is None:
            self.unsupported(node, f"{op} is not supported")
        # A float op of the QDQ form: its inputs come from DequantizeLinear, its output
        # goes to one QuantizeLinear (or the op only moves data: MaxPool, Reshape...).
        handler(self, node)

    def quantize(self, node) -> None:
        x = node.input[0]
        if isinstance(self.consts.get(x), np.ndarray):  # a float constant, quantized
            scale, zp, unsigned = self.scalar_quant(
                node, node.input[1], node.input[2] if len(node.input) > 2 else None,
                "QuantizeLinear output")
            if scale.size != 1:
                self.unsupported(node, "per-axis quantization of a constant")
            low = 0 if unsigned else -128
            f32 = np.float32
            q = np.rint(np.asarray(self.consts[x], f32) / f32(scale[0])) + zp[0]
            self.consts[node.output[0]] = np.clip(q, low, low + 255).astype(
                np.uint8 if unsigned else np.int8)
            return
        quant, offset = self.act_quant(node, node.input[1],
                                       node.input[2] if len(node.input) > 2 else None,
                                       "QuantizeLinear output")
        y = node.output[0]
        if x in self.input_info:
            scale, zp = quant.s, quant.zp + offset
            self.make_input(x, quant, offset, "float32", scale, zp, y)
            return
        if x in self.pending_q:  # the float output of an op already built: its output
            producer_value = self.pending_q.pop(x)
            producer_value(node, y, quant, offset)
            return
        if x in self.float_alias:  # DequantizeLinear -> QuantizeLinear: a requantization
            src = self.values[self.float_alias[x]]
            sq = src.tensor.quant
            if sq == quant and src.offset == offset:
                self.values[y] = src
                return
            self.unsupported(node, "a requantization (DequantizeLinear -> QuantizeLinear "
                             "with other parameters) is not supported")
        self.unsupported(node, f"quantizes {x!r}, which no supported op produces")

    def dequantize(self, node) -> None:
        x, y = node.input[0], node.output[0]
        if x in self.consts:  # weights / bias: the constant, with its quantization
            self.consts[y] = ("dq", node)  # type: ignore[assignment]
            return
        if x in self.input_info:  # a quantized model input
            quant, offset = self.act_quant(node, node.input[1],
                                           node.input[2] if len(node.input) > 2 else None,
                                           "model input")
            elem = self.input_info[x][0]
            dtype = "uint8" if elem == _ONNX_UINT8 else "int8"
            self.make_input(x, quant, offset, dtype, quant.s, quant.zp + offset, x)
        v = self.value(node, x)
        quant, offset = self.act_quant(node, node.input[1],
                                       node.input[2] if len(node.input) > 2 else None,
                                       "DequantizeLinear input")
        if quant != v.tensor.quant or offset != v.offset:
            self.fail(node, "dequantizes with other parameters than the tensor was "
                      "quantized with")
        self.float_alias[y] = x

    def q_input(self, node, name: str) -> _Value:
        """The quantized tensor behind a QDQ op's float input (a DequantizeLinear)."""
        if name in self.float_alias:
            return self.values[self.float_alias[name]]
        if name in self.values:  # a quantized tensor used directly (MaxPool, Reshape)
            return self.values[name]
        if name in self.input_info:
            self.unsupported(node, f"takes the float model input {name!r} directly (no "
                             "QuantizeLinear in front)")
        return self.value(node, name)

    def const_operand(self, node, name: str, offset: int) -> _Value:
        """A DequantizeLinear'd constant as an elementwise operand: int8 data of its own
        (logical) shape; `add` lays it out as the output."""
        w, scale, zp, _ = self.q_weight(node, name)
        if scale.size != 1:
            self.unsupported(node, f"constant {name!r} has {scale.size} scales; an "
                             "elementwise operand takes one")
        if offset and zp[0] + 128 not in range(256):
            self.fail(node, "a constant's zero point is out of range")
        quant = Quant((float(scale[0]),), (int(zp[0]),))
        t = self.new_tensor(name, w.shape, DType.INT8, quant, w.astype(np.int8))
        return _Value(t, tuple(int(d) for d in w.shape), tuple(range(w.ndim)), offset)

    def operands(self, node) -> tuple[_Value, _Value]:
        """The two inputs of an elementwise QDQ op; one of them may be a constant."""
        names = list(node.input[:2])
        consts = [isinstance(self.consts.get(n), tuple) for n in names]
        if all(consts):
            self.unsupported(node, "both inputs are constants")
        if consts[0]:
            b = self.q_input(node, names[1])
            return self.const_operand(node, names[0], b.offset), b
        a = self.q_input(node, names[0])
        b = self.const_operand(node, names[1], a.offset) if consts[1] \
            else self.q_input(node, names[1])
        return a, b

    def q_weight(self, node, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """(int8 values, float32 scales, int zero points (int8 domain), axis) of a
        DequantizeLinear'd constant."""
        entry = self.consts.get(name)
        if not (isinstance(entry, tuple) and entry[0] == "dq"):
            if isinstance(entry, np.ndarray) and entry.dtype == np.float32:
                self.unsupported(node, f"float weights {name!r}; quantize the model "
                                 "(--calibrate) first")
            self.fail(node, f"weights {name!r} must be a DequantizeLinear of a constant")
        dq = entry[1]
        axis = next((a.i for a in dq.attribute if a.name == "axis"), 1)
        w, scale, zp, axis = self.weight_arrays(dq, dq.input[0], dq.input[1],
                                                dq.input[2] if len(dq.input) > 2 else None,
                                                axis)
        if len(entry) > 2:  # a Transpose of the constant (PyTorch's Linear without bias)
            perm = entry[2]
            w, axis = np.ascontiguousarray(w.transpose(perm)), perm.index(axis)
        return w, scale, zp, axis

    def weight_arrays(self, node, w_name, s_name, zp_name, axis):
        w = self.const(node, w_name, "weights")
        scale, zp, unsigned = self.scalar_quant(node, s_name, zp_name, "weights")
        if w.dtype == np.uint8:
            w, zp = (w.astype(np.int16) - 128).astype(np.int8), zp - 128
        elif w.dtype != np.int8:
            self.unsupported(node, f"weights {w_name!r} are {w.dtype}; int8 or uint8 "
                             "weights are supported")
        elif unsigned and zp_name:
            zp = zp - 128  # an int8 tensor cannot carry a uint8 zero point
        if axis < 0:
            axis += w.ndim
        return w, scale, zp, axis

    def bias(self, node, name: str | None, channels: int, x_scale: float,
             w_scales: np.ndarray) -> Tensor:
        if not name:
            data = np.zeros(channels, np.int32)
        else:
            entry = self.consts.get(name)
            if isinstance(entry, tuple):
                dq = entry[1]
                data = self.const(dq, dq.input[0], "bias")
            else:
                data = self.const(node, name, "bias")
            if data.dtype != np.int32:
                self.unsupported(node, f"bias {name!r} is {data.dtype}; onnxruntime's "
                                 "quantized kernels take an int32 bias")
            data = np.asarray(data, np.int32).reshape(-1)
            if data.size != channels:
                self.fail(node, f"bias has {data.size} values for {channels} channels")
        return self.new_tensor(f"{node.name or node.output[0]}/bias", (channels,),
                               DType.INT32, data=data)

    def finish(self, node, build) -> None:
        """QDQ: the op's float output is quantized by the QuantizeLinear that reads it
        (built then); QOperator ops call `build` at once with their output quant."""
        self.pending_q[node.output[0]] = build

    # -- op builders ----------------------------------------------------------------------
    def conv(self, node, x: _Value, w, w_scale, w_zp, w_axis, bias_name, y_name, y_quant,
             y_offset) -> None:
        attrs = _attrs(node)
        if len(x.logical) != 4 or w.ndim != 4:
            self.unsupported(node, "only 2D convolutions (4D NCHW tensors) are supported")
        if w_axis != 0 and w_scale.size > 1:
            self.fail(node, f"per-channel weights on axis {w_axis}, expected axis 0")
        group = int(attrs.get("group", 1))
        strides = tuple(attrs.get("strides", (1, 1)))
        dilations = tuple(attrs.get("dilations", (1, 1)))
        oc, icg, kh, kw = w.shape
        n, c, h, wd = x.logical
        if c != icg * group:
            self.fail(node, f"{c} input channels, the weights take {icg} x {group} groups")
        if np.any(w_zp != w_zp[0]):
            self.unsupported(node, "per-channel weight zero points must all be equal")
        padding, pads = self.padding(node, attrs, (h, wd), (kh, kw), strides, dilations)
        x = self.in_order(x, NCHW_AS_NHWC, node.input[0])
        if any(pads):
            x = self.pad(node, x, pads)
        depthwise = group == c and group > 1 and icg == 1
        act = STORED_RANGE
        oh = conv_output_size(x.tensor.shape[1], kh, strides[0], dilations[0], padding)
        ow = conv_output_size(x.tensor.shape[2], kw, strides[1], dilations[1], padding)
        y = self.output_value(y_name, (n, oc, oh, ow), NCHW_AS_NHWC, y_quant, y_offset)
        scales = tuple(float(s) for s in w_scale)
        zps = tuple(0 for _ in scales)
        bias_t = self.bias(node, bias_name, oc, x.tensor.quant.s, w_scale)
        if depthwise:
            data = np.ascontiguousarray(w.transpose(1, 2, 3, 0))  # [1, KH, KW, OC]
            wt = self.new_tensor(f"{node.name}/weights", data.shape, DType.INT8,
                                 Quant(scales, zps, 3 if len(scales) > 1 else 0), data)
            op = OrtDepthwiseConv2D(inputs=[x.tensor, wt, bias_t], outputs=[y.tensor],
                                    stride=strides, dilation=dilations, padding=padding,
                                    depth_multiplier=oc // c, act_min=act[0], act_max=act[1],
                                    filter_zero_point=int(w_zp[0]))
        else:
            data = np.ascontiguousarray(w.transpose(0, 2, 3, 1))  # OHWI
            wt = self.new_tensor(f"{node.name}/weights", data.shape, DType.INT8,
                                 Quant(scales, zps, 0), data)
            op = OrtConv2D(inputs=[x.tensor, wt, bias_t], outputs=[y.tensor], stride=strides,
                           dilation=dilations, padding=padding, act_min=act[0],
                           act_max=act[1], filter_zero_point=int(w_zp[0]))
        self.add_op(op, y_name)

    def padding(self, node, attrs, size, kernel, strides, dilations):
        """SAME or VALID as TFLite computes them, and explicit pads for a PAD op before
        a VALID window otherwise ([top, left, bottom, right])."""
        auto = attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if len(strides) != 2 or len(dilations) != 2:
            self.unsupported(node, "only 2D windows are supported")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pads = []
            for s, k, st, d in zip(size, kernel, strides, dilations):
                out = -(-s // st)
                total = max((out - 1) * st + (k - 1) * d + 1 - s, 0)
                pads.append((total // 2, total - total // 2) if auto == "SAME_UPPER"
                            else (total - total // 2, total // 2))
            pads4 = [pads[0][0], pads[1][0], pads[0][1], pads[1][1]]
        elif auto == "VALID":
            pads4 = [0, 0, 0, 0]
        else:
            pads4 = list(attrs.get("pads", (0, 0, 0, 0)))
        if len(pads4) != 4 or any(p < 0 for p in pads4):
            self.fail(node, f"pads {pads4} are not 2D")
        top, left, bottom, right = pads4
        if not any(pads4):
            return O.Padding.VALID, (0, 0, 0, 0)
        same = True
        for s, k, st, d, (a, b) in zip(size, kernel, strides, dilations,
                                       ((top, bottom), (left, right))):
            out = -(-s // st)
            total = max((out - 1) * st + (k - 1) * d + 1 - s, 0)
            same &= (a, b) == (total // 2, total - total // 2)
        if same:
            return O.Padding.SAME, (0, 0, 0, 0)
        return O.Padding.VALID, (top, left, bottom, right)

    def dilated_max_pool(self, node, x: _Value, pads, out, kernel, strides, dilations,
                         y_name: str) -> None:
        """MaxPool with dilations (TFLite's MAX_POOL_2D has none): the image padded with
        the lowest value, one STRIDED_SLICE per window tap (the tap's value for every
        output pixel) and MAXIMUMs of them: exactly the window's maximum."""
        n, c = x.logical[0], x.logical[1]
        top, left, bottom, right = pads
        extent = [(o - 1) * st + (k - 1) * d + 1
                  for o, st, k, d in zip(out, strides, kernel, dilations)]
        bottom = max(bottom, extent[0] - x.logical[2] - top)
        right = max(right, extent[1] - x.logical[3] - left)
        if any((top, left, bottom, right)):
            x = self.pad(node, x, (top, left, bottom, right), value=-128)
        y = self.output_value(y_name, (n, c) + tuple(out), NCHW_AS_NHWC, x.tensor.quant,
                              x.offset)
        shape = (n, out[0], out[1], c)
        taps = [(i, j) for i in range(kernel[0]) for j in range(kernel[1])]
        result = None
        for t, (i, j) in enumerate(taps):
            name = f"{y_name}/tap{i}_{j}"
            last = t == len(taps) - 1
            tap = y.tensor if last and result is None else \
                self.new_tensor(name, shape, DType.INT8, x.tensor.quant)
            begin = (0, i * dilations[0], j * dilations[1], 0)
            end = (n, begin[1] + (out[0] - 1) * strides[0] + 1,
                   begin[2] + (out[1] - 1) * strides[1] + 1, c)
            step = (1, strides[0], strides[1], 1)
            index = [self.new_tensor(f"{name}/{what}", (4,), DType.INT32,
                                     data=np.asarray(v, np.int32))
                     for what, v in (("begin", begin), ("end", end), ("strides", step))]
            self.add_op(O.StridedSlice(inputs=[x.tensor] + index, outputs=[tap], begin=begin,
                                       end=end, strides=step), name)
            if result is None:
                result = tap
                continue
            m = y.tensor if last else self.new_tensor(f"{name}/max", shape, DType.INT8,
                                                      x.tensor.quant)
            self.add_op(O.Maximum(inputs=[result, tap], outputs=[m]), m.name)
            result = m

    def pool_geometry(self, node, attrs, size, kernel, strides, dilations):
        """Pads [top, left, bottom, right] and output size of a MaxPool / AveragePool as
        onnxruntime computes them (PoolAttributes::ComputeSizePadDilations): SAME_UPPER /
        SAME_LOWER pad (ceil(in / s) - 1) * s + k - in (the kernel undilated), the larger
        half at the end / start; out = (in + pads - (k - 1) * d - 1) / s + 1 in float,
        truncated, or rounded up with ceil_mode, less one where that last window would
        start in the end pad (onnxruntime 1.32, measured; as ONNX specifies)."""
        auto = attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        ceil_mode = bool(attrs.get("ceil_mode", 0))
        if len(kernel) != 2 or len(strides) != 2 or len(dilations) != 2:
            self.unsupported(node, "only 2D pooling is supported")
        explicit = list(attrs.get("pads", (0, 0, 0, 0)))
        if len(explicit) != 4:
            self.fail(node, f"pads {explicit} are not 2D")
        heads, tails, out = [], [], []
        for axis, (n, k, st, d) in enumerate(zip(size, kernel, strides, dilations)):
            if auto in ("SAME_UPPER", "SAME_LOWER"):
                need = (-(-n // st) - 1) * st + k - n
                head = need // 2 if auto == "SAME_UPPER" else (need + 1) // 2
                tail = need - head
            elif auto == "VALID":
                head = tail = 0
            elif auto == "NOTSET":
                head, tail = int(explicit[axis]), int(explicit[axis + 2])
            else:
                self.fail(node, f"auto_pad {auto!r} is not an ONNX padding")
            if head < 0 or tail < 0:  # (SAME with a kernel under the stride: onnxruntime
                # refuses it too)
                self.unsupported(node, f"negative pads {head} and {tail}")
            q = np.float32(n + head + tail - d * (k - 1) - 1) / np.float32(st) + np.float32(1)
            o = int(math.ceil(q)) if ceil_mode else int(q)
            if ceil_mode and (o - 1) * st >= n + head:  # no window starts in the end pad
                o -= 1
            if o < 1:
                self.fail(node, f"the window {k} does not fit in {n} (pads {head}, {tail})")
            heads.append(head), tails.append(tail), out.append(o)
        return (heads[0], heads[1], tails[0], tails[1]), tuple(out)

    def pad(self, node, x: _Value, pads, value: int | None = None) -> _Value:
        """A PAD of an NHWC value ([top, left, bottom, right]): with the zero point, or
        the stored int8 `value`."""
        top, left, bottom, right = pads
        n, h, w, c = x.tensor.shape
        paddings = ((0, 0), (top, bottom), (left, right), (0, 0))
        pt = self.new_tensor(f"{node.name}/paddings", (4, 2), DType.INT32,
                             data=np.asarray(paddings, np.int32))
        y = self.new_tensor(f"{node.name}/padded", (n, h + top + bottom, w + left + right, c),
                            DType.INT8, x.tensor.quant)
        self.add_op(O.Pad(inputs=[x.tensor, pt], outputs=[y], paddings=paddings,
                          pad_value=value), y.name)
        logical = (n, c, h + top + bottom, w + left + right)
        return _Value(y, logical, NCHW_AS_NHWC, x.offset)

    def fully_connected(self, node, a: _Value, b, b_scale, b_zp, b_axis, trans_b, bias_name,
                        y_name, y_quant, y_offset, alpha: float = 1.0) -> None:
        if b.ndim != 2:
            self.unsupported(node, f"B has shape {list(b.shape)}; only a 2D constant B is "
                             "supported (batch dimensions in A only)")
        wmat = b if trans_b else b.T  # [units, depth]
        units, depth = wmat.shape
        per_channel = b_scale.size > 1
        if per_channel and b_axis != (0 if trans_b else 1):
            self.fail(node, f"per-channel weights on axis {b_axis} are not per output unit")
        if per_channel and np.any(b_zp != 0):
            self.unsupported(node, "per-channel weights with a non-zero zero point are not "
                             "supported")
        if a.logical[-1] != depth:
            self.fail(node, f"A has {a.logical[-1]} columns, B {depth} rows")
        a = self.in_order(a, tuple(range(len(a.logical))), node.input[0])
        logical = tuple(a.logical[:-1]) + (units,)
        y = self.output_value(y_name, logical, tuple(range(len(logical))), y_quant, y_offset)
        act = STORED_RANGE
        scales = tuple(float(s) for s in b_scale)
        data = np.ascontiguousarray(wmat)
        zps = tuple(int(z) for z in b_zp) if per_channel else (int(b_zp[0]),)
        wt = self.new_tensor(f"{node.name}/weights", data.shape, DType.INT8,
                             Quant(scales, zps, 0), data)
        bias_t = self.bias(node, bias_name, units, a.tensor.quant.s, b_scale)
        self.add_op(OrtFullyConnected(inputs=[a.tensor, wt, bias_t], outputs=[y.tensor],
                                      keep_num_dims=len(logical) > 2, act_min=act[0],
                                      act_max=act[1], alpha=alpha), y_name)

    def add(self, node, a: _Value, b: _Value, y_name, y_quant, y_offset,
            cls=OrtAdd) -> None:
        """QLinearAdd / QLinearMul with ONNX (multidirectional) broadcasting. Each operand
        is laid out in the output's physical order (constants re-laid, activations
        transposed where their bytes are in another order) with 1s where it broadcasts,
        so that the IR's own broadcasting of physical shapes indexes it; ranks above 4
        are merged to at most 4 axes (RESHAPE aliases). `scalar` records onnxruntime's
        per-span case (ort_broadcast_case), which decides QLinearAdd's float steps."""
        if a.offset != b.offset or a.offset != y_offset:
            self.unsupported(node, "mixes int8 and uint8 tensors")
        try:
            out = tuple(int(d) for d in np.broadcast_shapes(a.logical, b.logical))
        except ValueError:
            self.fail(node, f"shapes {list(a.logical)} and {list(b.logical)} do not "
                      "broadcast")
        rank = len(out)
        if rank > MAX_ELEMENTWISE_RANK:
            self.unsupported(node, f"rank {rank}; elementwise ops take up to "
                             f"{MAX_ELEMENTWISE_RANK} dimensions")
        base = next((x for x in (a, b) if x.logical == out), None) or \
            next((x for x in (a, b) if len(x.logical) == rank), None)
        perm = base.perm if base is not None else tuple(range(rank))
        physical = tuple(out[p] for p in perm)
        shapes = [tuple(x.logical[p - (rank - len(x.logical))]
                        if p >= rank - len(x.logical) else 1 for p in perm) for x in (a, b)]
        groups = _merge_axes(physical, shapes)
        if len(groups) > 4:
            self.unsupported(node, f"broadcasts {list(a.logical)} with {list(b.logical)} "
                             f"over {len(groups)} separate axis groups; at most 4 are "
                             "supported")
        merged = rank > 4
        if merged:  # at most 4 axes: the products of the groups
            physical_op = tuple(math.prod(physical[k] for k in g) for g in groups)
            shapes = [tuple(math.prod(s[k] for k in g) for g in groups) for s in shapes]
        else:
            physical_op = physical
        tensors = [self.laid_out(node, x, perm, rank, shape, f"{y_name}/in{i}")
                   for i, (x, shape) in enumerate(zip((a, b), shapes))]
        y = self.output_value(y_name, out, perm, y_quant, y_offset)
        y_op = y.tensor
        if merged:
            y_op = self.new_tensor(f"{y_name}/merged", physical_op, DType.INT8, y_quant)
        act = STORED_RANGE
        extra = {"scalar": ort_broadcast_case(a.logical, b.logical)} if cls is OrtAdd else {}
        self.add_op(cls(inputs=tensors, outputs=[y_op], act_min=act[0], act_max=act[1],
                        value_offset=y_offset, **extra), y_name)
        if merged:
            self.add_op(O.Reshape(inputs=[y_op], outputs=[y.tensor]), f"{y_name}/shaped")

    def laid_out(self, node, x: _Value, perm, rank: int, shape, name: str) -> Tensor:
        """x as an operand of an output of rank `rank` and physical order `perm`: its
        axes in that order, of IR shape `shape` (1s where it broadcasts)."""
        lead = rank - len(x.logical)
        order = tuple(p - lead for p in perm if p >= lead)  # x's axes in the output's order
        if x.tensor.data is not None:  # a constant: its data re-laid
            data = np.ascontiguousarray(x.tensor.data.transpose(order)).reshape(shape)
            return self.new_tensor(name, shape, DType.INT8, x.tensor.quant, data)
        x = self.in_order(x, order, name)
        if tuple(x.tensor.shape) == tuple(shape):
            return x.tensor
        t = self.new_tensor(f"{name}/shaped", shape, DType.INT8, x.tensor.quant)
        self.add_op(O.Reshape(inputs=[x.tensor], outputs=[t]), t.name)
        return t

    def average_pool(self, node, x: _Value, y_name, y_quant, y_offset) -> None:
        """QLinearAveragePool: windows at stride - top/left pads, clipped to the image
        (onnxruntime reads no pad), divided by the window's size (count_include_pad) or
        the taps inside; the output size as onnxruntime computes it (pool_geometry, with
        ceil_mode), so only the top / left pads place the windows."""
        attrs = _attrs(node)
        if any(d != 1 for d in attrs.get("dilations", (1, 1))):
            self.unsupported(node, "dilations are not supported (onnxruntime's quantized "
                             "average pool has none)")
        if len(x.logical) != 4:
            self.unsupported(node, "only 2D pooling is supported")
        if y_offset != x.offset:
            self.unsupported(node, "mixes int8 and uint8 tensors")
        kernel = tuple(attrs["kernel_shape"])
        strides = tuple(attrs.get("strides", (1, 1)))
        n, c, h, w = x.logical
        pads, out = self.pool_geometry(node, attrs, (h, w), kernel, strides, (1, 1))
        if kernel == (h, w) and not any(pads) and out == (1, 1):
            # onnxruntime's global average pool path
            return self.global_average_pool(node, x, y_name, y_quant, y_offset)
        top, left = pads[0], pads[1]
        # bottom / right: the smallest that gives `out` windows (the kernel clips them)
        bottom, right = (max(0, (o - 1) * st + k - size - head) for o, st, k, size, head in
                         zip(out, strides, kernel, (h, w), (top, left)))
        for head, tail, k in ((top, bottom, kernel[0]), (left, right, kernel[1])):
            if head >= k or tail >= k:
                self.unsupported(node, f"pads {list(pads)} (ceil_mode "
                                 f"{attrs.get('ceil_mode', 0)}) reach a window of only "
                                 "padding; pads must be smaller than the window")
        x = self.in_order(x, NCHW_AS_NHWC, node.input[0])
        y = self.output_value(y_name, (n, c) + tuple(out), NCHW_AS_NHWC, y_quant, y_offset)
        self.add_op(OrtAveragePool(inputs=[x.tensor], outputs=[y.tensor], filter_size=kernel,
                                   stride=strides, pads=(top, left, bottom, right),
                                   count_include_pad=bool(attrs.get("count_include_pad", 0)),
                                   value_offset=y_offset), y_name)

    def concat(self, node, xs: list[_Value], axis: int, y_name, y_quant, y_offset) -> None:
        rank = len(xs[0].logical)
        ax = axis % rank
        perm = xs[0].perm
        parts = []
        for i, x in enumerate(xs):
            if x.offset != y_offset:
                self.unsupported(node, "mixes int8 and uint8 tensors")
            x = self.in_order(x, perm, f"{y_name}/in{i}")
            if x.tensor.quant != y_quant:  # QLinearConcat's table for this input
                t = self.new_tensor(f"{y_name}/in{i}/requantized", x.tensor.shape,
                                    DType.INT8, y_quant)
                self.add_op(OrtRequantize(inputs=[x.tensor], outputs=[t],
                                          value_offset=y_offset), t.name)
                x = _Value(t, x.logical, perm, x.offset)
            parts.append(x)
        logical = list(xs[0].logical)
        logical[ax] = sum(x.logical[ax] for x in xs)
        y = self.output_value(y_name, logical, perm, y_quant, y_offset)
        self.add_op(O.Concatenation(inputs=[p.tensor for p in parts], outputs=[y.tensor],
                                    axis=perm.index(ax)), y_name)

    def global_average_pool(self, node, x: _Value, y_name, y_quant, y_offset) -> None:
        if len(x.logical) != 4:
            self.unsupported(node, "only 4D NCHW inputs are supported")
        x = self.in_order(x, NCHW_AS_NHWC, node.input[0])
        n, c, h, w = x.logical
        y = self.output_value(y_name, (n, c, 1, 1), NCHW_AS_NHWC, y_quant, y_offset)
        act = STORED_RANGE
        self.add_op(OrtGlobalAveragePool(inputs=[x.tensor], outputs=[y.tensor],
                                         filter_size=(h, w), stride=(1, 1),
                                         padding=O.Padding.VALID, act_min=act[0],
                                         act_max=act[1]), y_name)

    def fuse_clamp(self, node, x: _Value, lo: int, hi: int, y_name: str) -> None:
        """Relu / Clip on a quantized tensor: onnxruntime drops it where the output's
        range already clamps (ReluQuantFusion, ClipQuantFusion), else clamps in float
        (DequantizeLinear -> Relu -> QuantizeLinear), which on an unchanged scale and
        zero point is the integer clamp [lo, hi]; folded into the producer's range."""
        producer = next((op for op in self.ops if x.tensor in op.outputs), None)
        users = self.consumers.get(node.input[0], [])
        if producer is None or not hasattr(producer, "act_min") or len(users) > 1:
            self.unsupported(node, "only a Relu/Clip right after a Conv, Gemm, MatMul or Add "
                             "(and its only user) is supported")
        producer.act_min = max(producer.act_min, lo)
        producer.act_max = min(producer.act_max, hi)
        self.values[y_name] = x


def _node_name(node) -> str:
    return repr(node.name or (node.output[0] if node.output else "?"))


def ort_broadcast_case(a, b) -> str:
    """Which operand onnxruntime's broadcasting (Broadcaster, element_wise_ops.h) passes
    to QLinearAdd as one value per span: "a", "b" or "" (both spans). It is decided by
    the innermost axis, of the two shapes' common (right-aligned) axes, whose broadcast
    size exceeds 1 (the outermost common axis if none does): an operand of size 1 there
    is the scalar one, a first; a rank-0 operand always is."""
    a, b = tuple(a), tuple(b)
    common = min(len(a), len(b))
    if common == 0:
        return "a" if not a else "b"
    for k in range(1, common + 1):
        da, db = a[-k], b[-k]
        if max(da, db) > 1:
            break
    return "a" if da == 1 else "b" if db == 1 else ""


def _merge_axes(physical, shapes) -> list[list[int]]:
    """The output's axes (size > 1) in groups of neighbours along which every operand
    either has all of the axes or none (so each group is one axis of their product)."""
    groups: list[list[int]] = []
    pattern = None
    for k, d in enumerate(physical):
        if d == 1:
            continue
        p = tuple(s[k] == 1 for s in shapes)
        if groups and p == pattern:
            groups[-1].append(k)
        else:
            groups.append([k])
        pattern = p
    return groups if groups or not physical else [[0]]


def _same_pads(size, kernel, strides) -> tuple[int, int, int, int]:
    pads = []
    for s, k, st in zip(size, kernel, strides):
        out = -(-s // st)
        total = max((out - 1) * st + k - s, 0)
        pads.append((total // 2, total - total // 2))
    return pads[0][0], pads[1][0], pads[0][1], pads[1][1]


def _attrs(node) -> dict:
    import onnx

    result = {}
    for a in node.attribute:
        result[a.name] = onnx.helper.get_attribute_value(a)
    return result


def _same_bytes(logical, perm_a, perm_b) -> bool:
    """Whether two physical orders of one logical tensor lay out its bytes the same way
    (they differ only in where axes of size 1 go)."""
    big_a = [p for p in perm_a if logical[p] != 1]
    big_b = [p for p in perm_b if logical[p] != 1]
    return big_a == big_b


# -- float ops of the QDQ form, and the data-movement ops on quantized tensors -----------

def _q_out(imp: _Importer, node, build) -> None:
    """QDQ: the output is the QuantizeLinear's; the op is built when that is reached."""
    users = imp.consumers.get(node.output[0], [])
    if not users or any(u.op_type != "QuantizeLinear" for u in users):
        imp.unsupported(node, "its output must go to a QuantizeLinear (only quantized "
                        "graphs are supported; quantize with --calibrate)")
    def built(qnode, y, quant, offset):
        imp.qdq_int8 |= offset == 0
        build(y, quant, offset)
    imp.finish(node, built)


def _conv(imp: _Importer, node) -> None:
    x = imp.q_input(node, node.input[0])
    w, ws, wz, axis = imp.q_weight(node, node.input[1])
    bias = node.input[2] if len(node.input) > 2 else None
    _q_out(imp, node, lambda y, q, off: imp.conv(node, x, w, ws, wz, axis, bias, y, q, off))


def _gemm(imp: _Importer, node) -> None:
    """A QDQ Gemm: onnxruntime fuses it into QGemm when alpha is 1 (else it runs the Gemm
    in float, which is not reproduced); QGemm transposes A for transA and adds the int32
    bias as it is, so beta has no effect there (quantize_static folds it into the
    bias)."""
    attrs = _attrs(node)
    if attrs.get("alpha", 1.0) != 1.0:
        imp.unsupported(node, f"alpha {attrs['alpha']}: onnxruntime runs a QDQ Gemm with "
                        "alpha != 1 in float; only alpha = 1 (or QGemm) is supported")
    a = imp.q_input(node, node.input[0])
    if attrs.get("transA", 0):
        a = _transposed_2d(imp, node, a)
    b, bs, bz, axis = imp.q_weight(node, node.input[1])
    bias = node.input[2] if len(node.input) > 2 else None
    trans_b = bool(attrs.get("transB", 0))
    _q_out(imp, node, lambda y, q, off: imp.fully_connected(node, a, b, bs, bz, axis,
                                                            trans_b, bias, y, q, off))


def _transposed_2d(imp: _Importer, node, a: _Value) -> _Value:
    """Gemm's A with transA: the same bytes, the other order (a TRANSPOSE where used)."""
    if len(a.logical) != 2:
        imp.fail(node, f"A has shape {list(a.logical)}; Gemm's A is 2D")
    return _Value(a.tensor, (a.logical[1], a.logical[0]), tuple(1 - p for p in a.perm),
                  a.offset)


def _matmul(imp: _Importer, node) -> None:
    a = imp.q_input(node, node.input[0])
    b, bs, bz, axis = imp.q_weight(node, node.input[1])
    _q_out(imp, node, lambda y, q, off: imp.fully_connected(node, a, b, bs, bz, axis,
                                                            False, None, y, q, off))


def _add(imp: _Importer, node) -> None:
    a, b = imp.operands(node)
    _q_out(imp, node, lambda y, q, off: imp.add(node, a, b, y, q, off))


def _gap(imp: _Importer, node) -> None:
    x = imp.q_input(node, node.input[0])
    _q_out(imp, node, lambda y, q, off: imp.global_average_pool(node, x, y, q, off))


def _passthrough_q(imp: _Importer, node, build) -> None:
    """Data movement (MaxPool, Reshape...): on a quantized tensor directly (QOperator), or
    between DequantizeLinear and a QuantizeLinear of the same parameters (QDQ)."""
    name = node.input[0]
    if name in imp.values:
        x = imp.values[name]
        build(x, node.output[0])
        return
    x = imp.q_input(node, name)

    def done(y, quant, offset):
        if quant != x.tensor.quant or offset != x.offset:
            imp.unsupported(node, "requantizes (its QuantizeLinear has other parameters "
                            "than its input's)")
        build(x, y)
    _q_out(imp, node, done)


def _maxpool(imp: _Importer, node) -> None:
    """MaxPool on a quantized tensor (onnxruntime runs it on the int8 / uint8 values: the
    result is exact). Its window taps outside the image are skipped, and a window with
    none inside gives the type's lowest value: the same as padding with the lowest value
    (stored -128), so explicit, asymmetric or auto pads and ceil_mode's extra rows become
    a PAD before a VALID pool (none where TFLite's SAME is the same padding)."""
    attrs = _attrs(node)
    if attrs.get("storage_order", 0) or len(node.output) > 1 and node.output[1]:
        imp.unsupported(node, "storage_order and the Indices output are not supported")
    kernel = tuple(attrs["kernel_shape"])
    strides = tuple(attrs.get("strides", (1,) * len(kernel)))
    dilations = tuple(attrs.get("dilations", (1,) * len(kernel)))

    def build(x: _Value, y_name: str) -> None:
        if len(x.logical) != 4 or len(kernel) != 2:
            imp.unsupported(node, "only 2D pooling is supported")
        n, c, h, w = x.logical
        pads, out = imp.pool_geometry(node, attrs, (h, w), kernel, strides, dilations)
        x = imp.in_order(x, NCHW_AS_NHWC, node.input[0])
        if any(d != 1 for d in dilations):
            return imp.dilated_max_pool(node, x, pads, out, kernel, strides, dilations,
                                        y_name)
        padding = O.Padding.VALID
        if (out[0], out[1]) == tuple(-(-s // st) for s, st in zip((h, w), strides)) and \
                pads == _same_pads((h, w), kernel, strides):
            padding = O.Padding.SAME  # TFLite's SAME: the same windows, taps clipped
        else:
            top, left, bottom, right = pads
            # the padded image VALID pooling reads: every window, and no extra output
            need = [(o - 1) * st + k for o, st, k in zip(out, strides, kernel)]
            bottom = max(bottom, need[0] - h - top)
            right = max(right, need[1] - w - left)
            for size, o, st, k in ((h + top + bottom, out[0], strides[0], kernel[0]),
                                   (w + left + right, out[1], strides[1], kernel[1])):
                if size < k or (size - k) // st + 1 != o:
                    imp.unsupported(node, f"pads {list(pads)} with {o} outputs on an axis "
                                    "are not a padding of the image")
            if any((top, left, bottom, right)):
                x = imp.pad(node, x, (top, left, bottom, right), value=-128)
        y = imp.output_value(y_name, (n, c) + tuple(out), NCHW_AS_NHWC, x.tensor.quant,
                             x.offset)
        imp.add_op(O.MaxPool2D(inputs=[x.tensor], outputs=[y.tensor], filter_size=kernel,
                               stride=strides, padding=padding), y_name)
    _passthrough_q(imp, node, build)


def _flatten(imp: _Importer, node) -> None:
    axis = int(_attrs(node).get("axis", 1))

    def build(x: _Value, y_name: str) -> None:
        rank = len(x.logical)
        ax = axis + rank if axis < 0 else axis
        shape = (math.prod(x.logical[:ax]), math.prod(x.logical[ax:]))
        imp.reshape(x, shape, y_name)
    _passthrough_q(imp, node, build)


def _reshape(imp: _Importer, node) -> None:
    target = [int(d) for d in imp.const(node, node.input[1], "shape")] \
        if len(node.input) > 1 else None

    def build(x: _Value, y_name: str) -> None:
        shape = list(target)
        for i, d in enumerate(shape):
            if d == 0:
                shape[i] = x.logical[i]
        if -1 in shape:
            known = math.prod(d for d in shape if d != -1)
            shape[shape.index(-1)] = math.prod(x.logical) // max(known, 1)
        if math.prod(shape) != math.prod(x.logical):
            imp.fail(node, f"cannot reshape {list(x.logical)} to {shape}")
        imp.reshape(x, tuple(shape), y_name)
    _passthrough_q(imp, node, build)


def _squeeze(imp: _Importer, node) -> None:
    axes = _attrs(node).get("axes")
    if axes is None and len(node.input) > 1:
        axes = [int(a) for a in imp.const(node, node.input[1], "axes")]

    def build(x: _Value, y_name: str) -> None:
        rank = len(x.logical)
        drop = {a % rank for a in axes} if axes else {i for i, d in enumerate(x.logical)
                                                        if d == 1}
        imp.reshape(x, tuple(d for i, d in enumerate(x.logical) if i not in drop), y_name)
    _passthrough_q(imp, node, build)


def _transpose(imp: _Importer, node) -> None:
    def build(x: _Value, y_name: str) -> None:
        rank = len(x.logical)
        p = tuple(_attrs(node).get("perm", tuple(reversed(range(rank)))))
        logical = tuple(x.logical[i] for i in p)
        inverse = tuple(p.index(i) for i in range(rank))
        perm = tuple(inverse[a] for a in x.perm)
        imp.values[y_name] = _Value(x.tensor, logical, perm, x.offset)
    name = node.input[0]
    entry = imp.consts.get(name)
    if isinstance(entry, np.ndarray):  # a float constant (folded, as onnxruntime does)
        p = tuple(_attrs(node).get("perm", tuple(reversed(range(entry.ndim)))))
        imp.consts[node.output[0]] = np.ascontiguousarray(entry.transpose(p))
        return
    if isinstance(entry, tuple) and len(entry) == 2:  # a DequantizeLinear'd constant
        rank = imp.consts[entry[1].input[0]].ndim
        p = tuple(_attrs(node).get("perm", tuple(reversed(range(rank)))))
        imp.consts[node.output[0]] = ("dq", entry[1], p)  # type: ignore[assignment]
        return
    if name in imp.input_info:  # a float input transposed before its Q
        elem, logical, perm = imp.input_info[name]
        p = tuple(_attrs(node).get("perm", tuple(reversed(range(len(logical))))))
        imp.input_info[node.output[0]] = (elem, tuple(logical[i] for i in p),
                                          tuple(p.index(i) for i in range(len(p))))
        imp.transposed_inputs[node.output[0]] = (name, p)
        return
    _passthrough_q(imp, node, build)


def _pad(imp: _Importer, node) -> None:
    attrs = _attrs(node)
    mode = attrs.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode != "constant":
        imp.unsupported(node, f"mode {mode!r}; only constant padding is supported")
    pads = attrs.get("pads")
    if pads is None:
        pads = [int(p) for p in imp.const(node, node.input[1], "pads")]
    value = 0.0
    if len(node.input) > 2 and node.input[2]:
        entry = imp.consts.get(node.input[2])
        if isinstance(entry, tuple):  # a DequantizeLinear'd constant value
            w, scale, zp, _ = imp.q_weight(node, node.input[2])
            value = float((int(w.reshape(-1)[0]) - int(zp[0])) * float(scale[0]))
        else:
            value = float(np.asarray(imp.const(node, node.input[2], "value")).reshape(-1)[0])
    if len(node.input) > 3 and node.input[3]:
        imp.unsupported(node, "the axes input is not supported")

    def build(x: _Value, y_name: str) -> None:
        rank = len(x.logical)
        if len(pads) != 2 * rank or any(p < 0 for p in pads):
            imp.unsupported(node, f"pads {list(pads)}: only non-negative pads of every axis "
                            "are supported")
        if value != 0.0:
            imp.unsupported(node, f"pads with {value}; only zero (the zero point) is "
                            "supported")
        logical = tuple(d + pads[i] + pads[i + rank] for i, d in enumerate(x.logical))
        paddings = tuple((int(pads[a]), int(pads[a + rank])) for a in x.perm)
        pt = imp.new_tensor(f"{y_name}/paddings", (rank, 2), DType.INT32,
                            data=np.asarray(paddings, np.int32))
        y = imp.output_value(y_name, logical, x.perm, x.tensor.quant, x.offset)
        imp.add_op(O.Pad(inputs=[x.tensor, pt], outputs=[y.tensor], paddings=paddings),
                   y_name)
    _passthrough_q(imp, node, build)


def _identity(imp: _Importer, node) -> None:
    _passthrough_q(imp, node, lambda x, y: imp.values.__setitem__(y, x))


def _concat(imp: _Importer, node) -> None:
    axis = int(_attrs(node)["axis"])
    xs = [imp.q_input(node, n) for n in node.input]
    _q_out(imp, node, lambda y, q, off: imp.concat(node, xs, axis, y, q, off))


def _mul(imp: _Importer, node) -> None:
    a, b = imp.operands(node)
    _q_out(imp, node, lambda y, q, off: imp.add(node, a, b, y, q, off, cls=OrtMul))


def _average_pool(imp: _Importer, node) -> None:
    x = imp.q_input(node, node.input[0])
    _q_out(imp, node, lambda y, q, off: imp.average_pool(node, x, y, q, off))


def _relu(imp: _Importer, node) -> None:
    x = imp.q_input(node, node.input[0])
    lo = x.tensor.quant.zp

    def done(y, quant, offset):
        if quant != x.tensor.quant or offset != x.offset:
            imp.unsupported(node, "Relu with other output quantization than its input's")
        imp.fuse_clamp(node, x, lo, 127, y)
    if node.input[0] in imp.values:
        imp.fuse_clamp(node, x, lo, 127, node.output[0])
        return
    _q_out(imp, node, done)


def _clip(imp: _Importer, node) -> None:
    x = imp.q_input(node, node.input[0])
    attrs = _attrs(node)
    lo_f = attrs.get("min", -np.inf)
    hi_f = attrs.get("max", np.inf)
    if len(node.input) > 1 and node.input[1]:
        lo_f = float(np.asarray(imp.const(node, node.input[1], "min")).reshape(-1)[0])
    if len(node.input) > 2 and node.input[2]:
        hi_f = float(np.asarray(imp.const(node, node.input[2], "max")).reshape(-1)[0])
    q = x.tensor.quant

    def bound(v: float) -> int:
        if not math.isfinite(v):
            return -128 if v < 0 else 127
        # QuantizeLinear of the bound: round-half-even(v / scale) + zero point, in float32
        r = float(np.rint(np.float32(v) / np.float32(q.s)))
        return int(min(max(r + q.zp, -128), 127))

    def done(y, quant, offset):
        if quant != q or offset != x.offset:
            imp.unsupported(node, "Clip with other output quantization than its input's")
        imp.fuse_clamp(node, x, bound(lo_f), bound(hi_f), y)
    if node.input[0] in imp.values:
        imp.fuse_clamp(node, x, bound(lo_f), bound(hi_f), node.output[0])
        return
    _q_out(imp, node, done)


# -- Softmax, Resize, ConvTranspose and activations -------------------------------------
from .onnx_ops import (COORDINATE_MODES, NEAREST_MODES, OrtHardSigmoid,  # noqa: E402
                       OrtHardSwish, OrtLeakyRelu, OrtResizeNearest, OrtSigmoid, OrtSoftmax,
                       OrtTanh)

# The float activations between DequantizeLinear and QuantizeLinear: onnxruntime fuses
# Sigmoid and LeakyRelu into QLinearSigmoid / QLinearLeakyRelu and runs Tanh, HardSigmoid
# and HardSwish in float; each is a table of the input code (tinyconv/ir/onnx_ops.py).
_LOOKUP_OPS = {"Sigmoid": OrtSigmoid, "LeakyRelu": OrtLeakyRelu, "Tanh": OrtTanh,
               "HardSigmoid": OrtHardSigmoid, "HardSwish": OrtHardSwish}


def _onnx_opset(imp: _Importer) -> int:
    return next((o.version for o in imp.model.opset_import if o.domain in ("", "ai.onnx")),
                MIN_OPSET)


def _lookup_op(imp: _Importer, node, x: _Value, y_name: str, quant: Quant, offset: int,
               function: str, attrs: dict) -> None:
    if offset != x.offset:
        imp.unsupported(node, "mixes int8 and uint8 tensors")
    cls = _LOOKUP_OPS[function]
    extra: dict = {}
    if cls is OrtLeakyRelu:
        extra = {"alpha": float(np.float32(attrs.get("alpha", 0.01)))}
    elif cls is OrtHardSigmoid:
        extra = {"alpha": float(np.float32(attrs.get("alpha", 0.2))),
                 "beta": float(np.float32(attrs.get("beta", 0.5)))}
    y = imp.output_value(y_name, x.logical, x.perm, quant, offset)
    imp.add_op(cls(inputs=[x.tensor], outputs=[y.tensor], value_offset=offset, **extra),
               y_name)


def _activation(imp: _Importer, node) -> None:
    x = imp.q_input(node, node.input[0])
    attrs = _attrs(node)
    _q_out(imp, node, lambda y, q, off: _lookup_op(imp, node, x, y, q, off, node.op_type,
                                                   attrs))


def _softmax_op(imp: _Importer, node, x: _Value, y_name: str, quant: Quant, offset: int,
                axis: int, opset: int) -> None:
    """QLinearSoftmax: rows along `axis` (opset >= 13) or over every axis from it (the
    input seen as 2D, opset < 13), laid out last (an IR TRANSPOSE if they are not)."""
    if offset != x.offset:
        imp.unsupported(node, "mixes int8 and uint8 tensors")
    rank = len(x.logical)
    if not -rank <= axis < rank:
        imp.fail(node, f"axis {axis} is out of range for rank {rank}")
    ax = axis % rank
    if opset < 13:
        perm = tuple(a for a in x.perm if a < ax) + tuple(range(ax, rank))
        depth = math.prod(x.logical[ax:])
    else:
        perm = tuple(a for a in x.perm if a != ax) + (ax,)
        depth = x.logical[ax]
    x = imp.in_order(x, perm, node.input[0])
    y = imp.output_value(y_name, x.logical, x.perm, quant, offset)
    imp.add_op(OrtSoftmax(inputs=[x.tensor], outputs=[y.tensor], depth=int(depth),
                          value_offset=offset), y_name)


def _softmax(imp: _Importer, node) -> None:
    x = imp.q_input(node, node.input[0])
    opset = _onnx_opset(imp)
    axis = int(_attrs(node).get("axis", 1 if opset < 13 else -1))
    _q_out(imp, node, lambda y, q, off: _softmax_op(imp, node, x, y, q, off, axis, opset))


def _resize(imp: _Importer, node) -> None:
    """Resize, mode nearest, of the H and W axes of an NCHW tensor: on its integers, as
    onnxruntime runs it (QDQ: it drops the Q/DQ pair; where their parameters differ, its
    float path selects the same values and QuantizeLinear requantizes them: a table)."""
    attrs = _attrs(node)
    opset = _onnx_opset(imp)

    def text(name: str, default: str) -> str:
        v = attrs.get(name, default)
        return v.decode() if isinstance(v, bytes) else str(v)
    mode = text("mode", "nearest")
    if mode not in ("nearest", "linear"):
        imp.unsupported(node, f"mode {mode!r}: only modes 'nearest' and 'linear' are "
                        "supported (cubic interpolation is not reproduced)")
    coord = text("coordinate_transformation_mode", "half_pixel") if opset > 10 \
        else "asymmetric"
    nearest = text("nearest_mode", "round_prefer_floor") if opset >= 11 else "simple"
    if coord not in COORDINATE_MODES or nearest not in NEAREST_MODES:
        imp.fail(node, f"unknown coordinate_transformation_mode {coord!r} or nearest_mode "
                 f"{nearest!r}")
    if coord == "tf_crop_and_resize":
        imp.unsupported(node, "coordinate_transformation_mode 'tf_crop_and_resize' is not "
                        "supported")
    if attrs.get("antialias", 0) or "axes" in attrs or \
            text("keep_aspect_ratio_policy", "stretch") != "stretch":
        imp.unsupported(node, "antialias, axes and keep_aspect_ratio_policy are not supported")
    ins = list(node.input)
    scales_name = (ins[1] if len(ins) > 1 else "") if opset <= 10 else \
        (ins[2] if len(ins) > 2 else "")
    sizes_name = ins[3] if opset > 10 and len(ins) > 3 else ""
    scales = None
    if scales_name:
        scales = np.asarray(imp.const(node, scales_name, "scales"), np.float32).ravel()
        if scales.size == 0:
            scales = None
    sizes = None if scales is not None or not sizes_name else \
        [int(v) for v in np.asarray(imp.const(node, sizes_name, "sizes")).ravel()]
    if scales is None and sizes is None:
        imp.fail(node, "needs constant scales or sizes")

    def build(x: _Value, y_name: str, quant: Quant, offset: int,
              arithmetic: str = "float") -> None:
        if len(x.logical) != 4:
            imp.unsupported(node, "only 4D NCHW inputs are supported")
        if offset != x.offset:
            imp.unsupported(node, "mixes int8 and uint8 tensors")
        dims_in = x.logical
        if scales is not None:
            if scales.size != 4:
                imp.fail(node, f"has {scales.size} scales for a 4D input")
            sc = [np.float32(v) for v in scales]
            # ComputeOutputShape: (int64)(scale * (float)input_dim)
            out = [int(np.float32(s * np.float32(d))) for s, d in zip(sc, dims_in)]
        else:
            if len(sizes) != 4:
                imp.fail(node, f"has {len(sizes)} sizes for a 4D input")
            out = list(sizes)
            sc = [np.float32(np.float32(o) / np.float32(d)) for o, d in zip(out, dims_in)]
        if sc[0] != 1 or sc[1] != 1 or out[0] != dims_in[0] or out[1] != dims_in[1]:
            imp.unsupported(node, f"resizes the batch or channel axis (scales "
                            f"{[float(v) for v in sc]}); only H and W are supported")
        if min(out) < 1:
            imp.fail(node, f"output size {out} is empty")
        x = imp.in_order(x, NCHW_AS_NHWC, node.input[0])
        n, c, oh, ow = out
        if mode == "linear":
            _resize_linear(imp, node, x, y_name, quant, offset, (n, c, oh, ow), sc, coord,
                           arithmetic)
            return
        same = quant == x.tensor.quant
        if same:
            r = imp.output_value(y_name, (n, c, oh, ow), NCHW_AS_NHWC, quant, offset).tensor
        else:
            r = imp.new_tensor(f"{y_name}/resized", (n, oh, ow, c), DType.INT8,
                               x.tensor.quant)
        imp.add_op(OrtResizeNearest(inputs=[x.tensor], outputs=[r],
                                    scales=(float(sc[2]), float(sc[3])),
                                    coordinate_mode=coord, nearest_mode=nearest), r.name)
        if not same:
            y = imp.output_value(y_name, (n, c, oh, ow), NCHW_AS_NHWC, quant, offset)
            imp.add_op(OrtRequantize(inputs=[r], outputs=[y.tensor], value_offset=offset),
                       y_name)
    name = node.input[0]
    elem = imp.input_info.get(name, (None,))[0]
    if name not in imp.values and elem in (_ONNX_UINT8, _ONNX_INT8) and \
            all(u.op_type == "Resize" for u in imp.consumers.get(name, [])):
        # an integer model input only Resizes read: its values pass as they are (scale 1,
        # zero point 0; stored = value - offset)
        off = 128 if elem == _ONNX_UINT8 else 0
        imp.make_input(name, Quant((1.0,), (-off,)), off, "uint8" if off else "int8", 1.0,
                       0, name)
    if name in imp.values:  # QOperator: Resize on the quantized tensor
        x = imp.values[name]
        build(x, node.output[0], x.tensor.quant, x.offset,
              _resize_linear_layout(imp, node) if mode == "linear" else "float")
        return
    x = imp.q_input(node, name)
    _q_out(imp, node, lambda y, q, off: build(x, y, q, off))


def _conv_transpose(imp: _Importer, node) -> None:
    """QDQ ConvTranspose: onnxruntime's CPU EP has no quantized one and runs it in float32
    (DequantizeLinear -> ConvTranspose [-> Relu / Clip] -> QuantizeLinear);
    OrtConvTranspose reproduces that arithmetic (tinyconv/ir/onnx_ops.py)."""
    x = imp.q_input(node, node.input[0])
    w, ws, wz, axis = imp.q_weight(node, node.input[1])
    _conv_transpose_out(imp, node, lambda y, q, off, act: _conv_transpose_op(
        imp, node, x, w, ws, wz, axis, y, q, off, act))
# Resize (linear)
from .onnx_ops import OrtResizeLinear  # noqa: E402


def _resize_linear_layout(imp: _Importer, node) -> str:
    """The arithmetic of a linear Resize on a quantized tensor (QOperator form), from the
    layout onnxruntime 1.32 runs it in (measured, SessionOptions.optimized_model_filepath):
    on a graph input, or a QuantizeLinear of one, it stays NCHW (UpsampleBilinear<uint8/
    int8>: "truncate", whatever consumes it); on a QLinearConv's output its layout
    transformer makes the QLinearConv NHWC and pushes the transpose through the Resize
    (whatever consumes it), which then runs NhwcUpsampleBilinearInteger ("integer")."""
    name = node.input[0]
    graph_inputs = {i.name for i in imp.g.input}
    if name in graph_inputs:
        return "truncate"
    producer = next((n for n in imp.g.node if name in n.output), None)
    if producer is not None and producer.domain in ("", "ai.onnx"):
        if producer.op_type == "QuantizeLinear" and producer.input[0] in graph_inputs:
            return "truncate"
        if producer.op_type == "QLinearConv":
            return "integer"
    imp.unsupported(node, "mode 'linear' on a quantized tensor made by "
                    f"{producer.op_type if producer is not None else 'a constant'!r}: "
                    "onnxruntime's layout transformer decides between its NCHW (float, "
                    "truncating) and NHWC (10-bit fixed-point) kernels; only a graph input "
                    "(or its QuantizeLinear) or a QLinearConv output is reproduced")


def _resize_linear(imp: _Importer, node, x: _Value, y_name: str, quant: Quant,
                   offset: int, out: tuple[int, int, int, int], sc: list, coord: str,
                   arithmetic: str = "float") -> None:
    """Resize, mode linear, one OrtResizeLinear (x already NHWC). QDQ ("float"):
    onnxruntime keeps DequantizeLinear -> float Resize -> QuantizeLinear (NCHW, or NHWC
    between QLinearConvs), with the input's and the output's quantization. QOperator
    (on the quantized tensor, `arithmetic` from _resize_linear_layout): its integer
    kernels, the input's quantization."""
    h, w = x.logical[2], x.logical[3]
    if arithmetic != "truncate" and np.float32(sc[2]) == 1 and np.float32(sc[3]) != 1 \
            and (out[2], out[3]) != (h, w):
        imp.unsupported(node, f"mode 'linear' with H scale 1 and W scale "
                        f"{float(sc[3])!r}: onnxruntime 1.32 computes it differently in NCHW "
                        "and in the NHWC layout it picks between QLinearConvs (it then takes "
                        "the channel axis as the width), so its bytes depend on the graph "
                        "around it")
    y = imp.output_value(y_name, out, NCHW_AS_NHWC, quant, offset)
    imp.add_op(OrtResizeLinear(inputs=[x.tensor], outputs=[y.tensor],
                               scales=(float(sc[2]), float(sc[3])), coordinate_mode=coord,
                               arithmetic=arithmetic, value_offset=offset), y_name)
# ConvTranspose (float path)
from .onnx_ops import OrtConvTranspose  # noqa: E402


def _conv_transpose_bias(imp: _Importer, node, out_c: int, x_scale: float,
                         w_scale: np.ndarray, w_axis: int) -> tuple[float, ...]:
    """The float32 bias onnxruntime adds: a DequantizeLinear'd constant,
    (float)(b - zp) * scale; or a float32 initializer, which onnxruntime's BiasQuantization
    pass replaces (for a per-tensor input scale and a per-tensor weight scale, or one per
    output channel on axis 1) by DequantizeLinear(Cast(Round(b / s)), s) with
    s = x_scale * w_scale, all float32 (round half to even)."""
    name = node.input[2] if len(node.input) > 2 else ""
    if not name:
        return ()
    entry = imp.consts.get(name)
    f32 = np.float32
    if isinstance(entry, tuple):
        dq = entry[1]
        data = np.asarray(imp.const(dq, dq.input[0], "bias"))
        if data.dtype not in (np.int32, np.int8, np.uint8):
            imp.unsupported(node, f"bias {name!r} is {data.dtype}; int32 is supported")
        scale, zp, _ = imp.scalar_quant(dq, dq.input[1], None, "bias")
        if len(dq.input) > 2 and dq.input[2]:
            zp = np.asarray(imp.const(dq, dq.input[2], "bias zero point"), np.int64).ravel()
        diff = data.astype(np.int64).ravel() - zp
        bias = (diff.astype(np.int32).astype(f32) * scale.astype(f32)).astype(f32)
    elif isinstance(entry, np.ndarray) and entry.dtype == np.float32:
        bias = entry.ravel()
        if w_scale.size == 1 or (w_scale.size == out_c and w_axis == 1):
            s = (f32(x_scale) * w_scale.astype(f32)).astype(f32)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                r = np.rint((bias / s).astype(f32))
            if not np.all(np.abs(r) < 2.0 ** 31):
                imp.unsupported(node, f"float bias {name!r} overflows int32 when "
                                "onnxruntime quantizes it (BiasQuantization)")
            bias = (r.astype(np.int32).astype(f32) * s).astype(f32)
    else:
        imp.fail(node, f"bias {name!r} must be a constant (a float32 initializer or a "
                 "DequantizeLinear of one)")
    if np.size(bias) not in (1, out_c):
        imp.fail(node, f"bias has {np.size(bias)} values for {out_c} output channels")
    bias = np.broadcast_to(np.asarray(bias, f32).ravel(), (out_c,))
    if not np.all(np.isfinite(bias)):
        imp.fail(node, "bias is not finite")
    return tuple(float(v) for v in bias)


# The float32 bounds of a Relu / Clip between ConvTranspose and QuantizeLinear; none:
# (-FLT_MAX, FLT_MAX), which no finite float32 sum passes.
_NO_ACTIVATION = (-float(np.finfo(np.float32).max), float(np.finfo(np.float32).max))


class _PendingConvTranspose:
    """A QDQ ConvTranspose waiting for its QuantizeLinear (Importer.pending_q), with the
    float Relu / Clip met on the way, which onnxruntime runs in float32 before the
    QuantizeLinear (it fuses neither into the ConvTranspose; ReluQuantFusion /
    ClipQuantFusion drop one that the QuantizeLinear's saturation makes a no-op)."""

    def __init__(self, imp: _Importer, build) -> None:
        self.imp, self.build, self.act, self.act_node = imp, build, _NO_ACTIVATION, None

    def __call__(self, qnode, y: str, quant: Quant, offset: int) -> None:
        self.imp.qdq_int8 |= offset == 0
        self.build(y, quant, offset, self.act)


def _conv_transpose_out(imp: _Importer, node, build) -> None:
    """As _q_out, and the output may go through one Relu or Clip to its QuantizeLinear."""
    users = imp.consumers.get(node.output[0], [])
    if len(users) == 1 and users[0].op_type in ("Relu", "Clip"):
        act = users[0]
        act_users = imp.consumers.get(act.output[0], [])
        if not act_users or any(u.op_type != "QuantizeLinear" for u in act_users):
            imp.unsupported(act, "the output of a Relu / Clip after a ConvTranspose must go "
                            "to a QuantizeLinear")
    elif not users or any(u.op_type != "QuantizeLinear" for u in users):
        imp.unsupported(node, "its output must go to a QuantizeLinear (or through one Relu "
                        "or Clip); only quantized graphs are supported")
    imp.finish(node, _PendingConvTranspose(imp, build))


def _conv_transpose_activation(imp: _Importer, node) -> bool:
    """A Relu or Clip on a ConvTranspose's float output: its float32 bounds go into the
    op (max, then min, as onnxruntime's Relu / Clip<float>); False for any other input."""
    pending = imp.pending_q.get(node.input[0])
    if not isinstance(pending, _PendingConvTranspose):
        return False
    f32 = np.float32
    lo, hi = _NO_ACTIVATION
    if node.op_type == "Relu":
        lo = 0.0
    else:
        attrs = _attrs(node)
        if "min" in attrs:
            lo = float(f32(attrs["min"]))
        if "max" in attrs:
            hi = float(f32(attrs["max"]))
        for i, name in ((1, "min"), (2, "max")):
            if len(node.input) > i and node.input[i]:
                v = np.asarray(imp.const(node, node.input[i], name))
                if v.size != 1 or v.dtype != np.float32:
                    imp.unsupported(node, f"{name} must be one float32 constant")
                if i == 1:
                    lo = float(v.reshape(-1)[0])
                else:
                    hi = float(v.reshape(-1)[0])
    if not (np.isfinite(lo) or lo == -np.inf) or not (np.isfinite(hi) or hi == np.inf):
        imp.fail(node, f"bounds {[lo, hi]} are not numbers")
    if lo > hi:
        imp.unsupported(node, f"min {lo!r} exceeds max {hi!r}")
    if pending.act_node is not None:
        imp.unsupported(node, f"a second activation after {pending.act_node!r}: one Relu or "
                        "Clip between ConvTranspose and QuantizeLinear is supported")
    limit = _NO_ACTIVATION[1]
    pending.act = (max(lo, -limit), min(hi, limit))
    pending.act_node = node.name or node.op_type
    del imp.pending_q[node.input[0]]
    imp.pending_q[node.output[0]] = pending
    return True


def _transpose_pads(imp: _Importer, node, auto: str, size: int, k: int, s: int, d: int,
                    adj: int, pads: tuple[int, int], out: int | None) -> tuple[int, int, int]:
    """(head pad, tail pad, output size) of one axis as onnxruntime 1.32's
    ConvTransposeAttributes computes them: with output_shape (any auto_pad; it replaces
    pads) or SAME_UPPER / SAME_LOWER (output size * stride), the total padding is
    max(0, stride * (size - 1) + output_padding + (k - 1) * dilation + 1 - output size),
    split with the odd one at the tail for SAME_UPPER, at the head otherwise (measured;
    the ONNX spec puts SAME_LOWER's at the head too); it refuses an output_shape the
    input size does not follow from."""
    full = s * (size - 1) + adj + (k - 1) * d + 1
    if out is None and auto not in ("SAME_UPPER", "SAME_LOWER"):
        return pads[0], pads[1], full - pads[0] - pads[1]
    target = out if out is not None else size * s
    total = max(0, full - target)
    head = total // 2 if auto == "SAME_UPPER" else total - total // 2
    size_out = out if out is not None else full - total
    base = full - adj - total
    if not base <= size_out < base + s:
        imp.fail(node, f"output_shape {size_out} is inconsistent with input size {size}, "
                 f"kernel {k}, stride {s}, dilation {d} and output_padding {adj} "
                 f"(onnxruntime refuses it)")
    return head, total - head, size_out


def _conv_transpose_op(imp: _Importer, node, x: _Value, w, w_scale, w_zp, w_axis,
                       y_name: str, quant: Quant, offset: int,
                       act: tuple[float, float] = _NO_ACTIVATION) -> None:
    attrs = _attrs(node)
    one_d = len(x.logical) == 3 and w.ndim == 3
    if one_d:  # onnxruntime runs a 1D ConvTranspose as a 2D one of width 1 (Col2im)
        w = w[..., None]
        for key, extra in (("strides", [1]), ("dilations", [1]), ("output_padding", [0]),
                           ("kernel_shape", [1]), ("output_shape", [1])):
            if key in attrs:
                attrs[key] = list(attrs[key]) + extra
        if "pads" in attrs and len(attrs["pads"]) == 2:
            attrs["pads"] = [attrs["pads"][0], 0, attrs["pads"][1], 0]
        x3 = imp.in_order(x, (0, 2, 1), node.input[0])
        x4 = imp.new_tensor(f"{node.name or y_name}/as_2d",
                            (x.logical[0], x.logical[2], 1, x.logical[1]), DType.INT8,
                            x.tensor.quant)
        imp.add_op(O.Reshape(inputs=[x3.tensor], outputs=[x4]), x4.name)
        x = _Value(x4, (*x.logical, 1), NCHW_AS_NHWC, x.offset)
    if len(x.logical) != 4 or w.ndim != 4:
        imp.unsupported(node, "only 1D and 2D transposed convolutions (3D / 4D NCHW "
                        "tensors) are supported")
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        imp.fail(node, f"unknown auto_pad {auto!r}")
    out_shape = [int(v) for v in attrs.get("output_shape", ())]
    if out_shape and len(out_shape) != 2:
        imp.fail(node, f"output_shape {out_shape} has {len(out_shape)} values, expected 2")
    group = int(attrs.get("group", 1))
    n, c, h, wd = x.logical
    cin, ocg, kh, kw = (int(d) for d in w.shape)
    if group < 1 or c != cin or cin % group:
        imp.fail(node, f"{c} input channels do not match the weights {list(w.shape)} in "
                 f"{group} groups")
    if tuple(attrs.get("kernel_shape", (kh, kw))) != (kh, kw):
        imp.fail(node, f"kernel_shape {list(attrs['kernel_shape'])} differs from the "
                 f"weights' {[kh, kw]}")
    strides = tuple(int(v) for v in attrs.get("strides", (1, 1)))
    dilations = tuple(int(v) for v in attrs.get("dilations", (1, 1)))
    pads = tuple(int(v) for v in attrs.get("pads", (0, 0, 0, 0))) if auto == "NOTSET" \
        else (0, 0, 0, 0)
    out_pad = tuple(int(v) for v in attrs.get("output_padding", (0, 0)))
    if len(strides) != 2 or len(dilations) != 2 or len(pads) != 4 or len(out_pad) != 2:
        imp.unsupported(node, "only 2D windows are supported")
    if min(strides + dilations) < 1 or min(pads + out_pad) < 0 or \
            any(p >= s for p, s in zip(out_pad, strides)):
        imp.fail(node, f"strides {list(strides)}, dilations {list(dilations)}, pads "
                 f"{list(pads)} or output_padding {list(out_pad)} out of range")
    if h * wd == 1:
        imp.unsupported(node, "a 1x1-pixel input: onnxruntime's SGEMM then takes its "
                        "x86-only path (separate multiply and add, no FMA), so its bytes "
                        "depend on the host")
    out_c = ocg * group
    k_c = cin // group
    if w_scale.size > 1 and (w_axis != 1 or w_scale.size != ocg):
        imp.fail(node, f"per-channel weights have {w_scale.size} scales on axis {w_axis}; "
                 f"ConvTranspose takes them on axis 1 ({ocg} output channels per group)")
    top, bottom, oh = _transpose_pads(imp, node, auto, h, kh, strides[0], dilations[0],
                                      out_pad[0], (pads[0], pads[2]),
                                      out_shape[0] if out_shape else None)
    left, right, ow = _transpose_pads(imp, node, auto, wd, kw, strides[1], dilations[1],
                                      out_pad[1], (pads[1], pads[3]),
                                      out_shape[1] if out_shape else None)
    pads = (top, left, bottom, right)
    if oh < 1 or ow < 1:
        imp.fail(node, f"output size {[oh, ow]} is empty")
    bias = _conv_transpose_bias(imp, node, out_c, x.tensor.quant.s, w_scale, w_axis)
    # [cin, ocg, kh, kw] -> [out_c, kh, kw, cin / group], output channel g * ocg + j
    data = np.ascontiguousarray(w.reshape(group, k_c, ocg, kh, kw).transpose(0, 2, 3, 4, 1)
                                .reshape(out_c, kh, kw, k_c))
    per_oc = (lambda a: np.tile(np.asarray(a).ravel(), group) if np.size(a) > 1
              else np.repeat(np.asarray(a).ravel(), out_c))
    wq = Quant(tuple(float(v) for v in per_oc(w_scale)),
               tuple(int(v) for v in per_oc(w_zp)), 0)
    x = imp.in_order(x, NCHW_AS_NHWC, node.input[0])
    wt = imp.new_tensor(f"{node.name or y_name}/weights", data.shape, DType.INT8, wq,
                        data.astype(np.int8))
    if one_d:
        y4 = imp.new_tensor(f"{y_name}/2d", (n, oh, ow, out_c), DType.INT8, quant)
    else:
        y4 = imp.output_value(y_name, (n, out_c, oh, ow), NCHW_AS_NHWC, quant, offset).tensor
    imp.add_op(OrtConvTranspose(inputs=[x.tensor, wt], outputs=[y4], stride=strides,
                                dilation=dilations, pads=pads, group=group, bias=bias,
                                act_min=act[0], act_max=act[1]),
               y4.name)
    if one_d:
        y = imp.output_value(y_name, (n, out_c, oh), (0, 2, 1), quant, offset)
        imp.add_op(O.Reshape(inputs=[y4], outputs=[y.tensor]), y_name)
# -- end of Softmax, Resize, ConvTranspose and activations ------------------------------


_FLOAT_OPS = {
    "Conv": _conv, "Gemm": _gemm, "MatMul": _matmul, "Add": _add,
    "GlobalAveragePool": _gap, "MaxPool": _maxpool, "Flatten": _flatten,
    "Reshape": _reshape, "Squeeze": _squeeze, "Transpose": _transpose,
    "Identity": _identity, "Concat": _concat, "Relu": _relu, "Clip": _clip, "Mul": _mul,
    "AveragePool": _average_pool, "Pad": _pad,
    # -- Softmax, Resize, ConvTranspose and activations --
    "Sigmoid": _activation, "LeakyRelu": _activation, "Tanh": _activation,
    "HardSigmoid": _activation, "HardSwish": _activation, "Softmax": _softmax,
    "Resize": _resize, "ConvTranspose": _conv_transpose,
    # -- end of Softmax, Resize, ConvTranspose and activations --
}


# -- QOperator ops ------------------------------------------------------------------------

def _qoperator(self: _Importer, node) -> None:
    op, ins = node.op_type, list(node.input)
    if op == "QLinearConv":
        x = self.value(node, ins[0])
        self.check_quant(node, x, ins[1], ins[2])
        w, ws, wz, axis = self.weight_arrays(node, ins[3], ins[4], ins[5], 0)
        y_quant, y_off = self.act_quant(node, ins[6], ins[7], "output")
        self.conv(node, x, w, ws, wz, axis, ins[8] if len(ins) > 8 else None,
                  node.output[0], y_quant, y_off)
    elif op == "QLinearMatMul":
        a = self.value(node, ins[0])
        self.check_quant(node, a, ins[1], ins[2])
        b, bs, bz, axis = self.weight_arrays(node, ins[3], ins[4], ins[5], 1)
        y_quant, y_off = self.act_quant(node, ins[6], ins[7], "output")
        self.fully_connected(node, a, b, bs, bz, 1, False, None, node.output[0], y_quant,
                             y_off)
    elif op == "QGemm":
        attrs = _attrs(node)
        if len(ins) < 8 or not ins[7]:
            self.unsupported(node, "only QGemm with a quantized output is supported")
        a = self.value(node, ins[0])
        self.check_quant(node, a, ins[1], ins[2])
        if attrs.get("transA", 0):
            a = _transposed_2d(self, node, a)
        trans_b = bool(attrs.get("transB", 0))
        b, bs, bz, _ = self.weight_arrays(node, ins[3], ins[4], ins[5], 0)
        y_quant, y_off = self.act_quant(node, ins[7], ins[8] if len(ins) > 8 else None,
                                        "output")
        self.fully_connected(node, a, b, bs, bz, 0 if trans_b else 1, trans_b,
                             ins[6] or None, node.output[0], y_quant, y_off,
                             alpha=float(attrs.get("alpha", 1.0)))
    elif op in ("QLinearAdd", "QLinearMul"):
        a, b = self.qlinear_operands(node, ins)
        y_quant, y_off = self.act_quant(node, ins[6], ins[7], "output")
        self.add(node, a, b, node.output[0], y_quant, y_off,
                 cls=OrtAdd if op == "QLinearAdd" else OrtMul)
    elif op == "QLinearAveragePool":
        if _attrs(node).get("channels_last", 0):
            self.unsupported(node, "channels_last=1 is not supported")
        x = self.value(node, ins[0])
        self.check_quant(node, x, ins[1], ins[2])
        y_quant, y_off = self.act_quant(node, ins[3], ins[4], "output")
        self.average_pool(node, x, node.output[0], y_quant, y_off)
    elif op == "QLinearConcat":
        y_quant, y_off = self.act_quant(node, ins[0], ins[1], "output")
        xs = []
        for k in range(2, len(ins), 3):
            x = self.value(node, ins[k])
            self.check_quant(node, x, ins[k + 1], ins[k + 2])
            xs.append(x)
        self.concat(node, xs, int(_attrs(node)["axis"]), node.output[0], y_quant, y_off)
    elif op == "QLinearGlobalAveragePool":
        if _attrs(node).get("channels_last", 0):
            self.unsupported(node, "channels_last=1 is not supported")
        x = self.value(node, ins[0])
        self.check_quant(node, x, ins[1], ins[2])
        y_quant, y_off = self.act_quant(node, ins[3], ins[4], "output")
        self.global_average_pool(node, x, node.output[0], y_quant, y_off)
    # -- QOperator activations and Softmax (elif branches) --
    elif op in ("QLinearSigmoid", "QLinearLeakyRelu"):
        x = self.value(node, ins[0])
        self.check_quant(node, x, ins[1], ins[2] if len(ins) > 2 else "")
        y_quant, y_off = self.act_quant(node, ins[3], ins[4] if len(ins) > 4 else None,
                                        "output")
        _lookup_op(self, node, x, node.output[0], y_quant, y_off, op[len("QLinear"):],
                   _attrs(node))
    elif op == "QLinearSoftmax":
        x = self.value(node, ins[0])
        self.check_quant(node, x, ins[1], ins[2] if len(ins) > 2 else "")
        y_quant, y_off = self.act_quant(node, ins[3], ins[4] if len(ins) > 4 else None,
                                        "output")
        attrs = _attrs(node)
        opset = int(attrs.get("opset", _onnx_opset(self)))
        _softmax_op(self, node, x, node.output[0], y_quant, y_off,
                    int(attrs.get("axis", 1 if opset < 13 else -1)), opset)
    # -- end of QOperator activations and Softmax --
    else:
        self.unsupported(node, f"{op} is not supported")


def _qlinear_operands(self: _Importer, node, ins) -> tuple[_Value, _Value]:
    """QLinearAdd / QLinearMul's A and B: quantized tensors, or one of them a constant
    (int8 or uint8 values with their scale and zero point)."""
    consts = [isinstance(self.consts.get(ins[k]), np.ndarray) for k in (0, 3)]
    if all(consts):
        self.unsupported(node, "both inputs are constants")
    values: list[_Value | None] = [None, None]
    for i, k in enumerate((0, 3)):
        if not consts[i]:
            values[i] = self.value(node, ins[k])
            self.check_quant(node, values[i], ins[k + 1], ins[k + 2])
    offset = (values[0] or values[1]).offset
    for i, k in enumerate((0, 3)):
        if consts[i]:
            data = self.consts[ins[k]]
            quant, off = self.act_quant(node, ins[k + 1], ins[k + 2], "constant input")
            if data.dtype not in (np.int8, np.uint8) or off != offset or \
                    (data.dtype == np.uint8) != bool(offset):
                self.unsupported(node, f"constant {ins[k]!r} is {data.dtype}, the other "
                                 "input " + ("uint8" if offset else "int8"))
            stored = (np.asarray(data, np.int16) - off).astype(np.int8)
            t = self.new_tensor(ins[k], stored.shape, DType.INT8, quant, stored)
            values[i] = _Value(t, tuple(int(d) for d in stored.shape),
                               tuple(range(stored.ndim)), offset)
    return values[0], values[1]  # type: ignore[return-value]


def _check_quant(self: _Importer, node, v: _Value, scale_name: str, zp_name: str) -> None:
    quant, offset = self.act_quant(node, scale_name, zp_name, "input")
    if quant != v.tensor.quant or offset != v.offset:
        self.fail(node, "an input's scale or zero point differs from its producer's")


_Importer.qoperator = _qoperator  # type: ignore[attr-defined]
_Importer.check_quant = _check_quant  # type: ignore[attr-defined]
_Importer.qlinear_operands = _qlinear_operands  # type: ignore[attr-defined]


def load_model(path: str | Path) -> Graph:
    """A .tflite or .onnx model file, by its name or its bytes."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TinyconvError(f"cannot read model {path}: {e.strerror or e}") from None
    return import_model(data, str(path))


def import_model(data: bytes, source: str) -> Graph:
    """.tflite or .onnx bytes, by the source's name or the bytes themselves."""
    from .tflite_import import import_tflite

    if is_onnx(data, source):
        return import_onnx(data, source=source)
    return import_tflite(data, source=source)


def match_for(graph: Graph, match: str) -> str:
    """The arithmetic to reproduce: onnxruntime's for an ONNX model ("auto" chooses it;
    LiteRT's or TFLite Micro's cannot apply), else `match` as given."""
    if "onnx" in graph.metadata:
        if match not in ("auto", "onnxruntime"):
            raise TinyconvError(f"{graph.source} is an ONNX model: it computes as onnxruntime "
                                f"does (--match onnxruntime or auto), not as {match}")
        return "onnxruntime"
    if match == "onnxruntime":
        raise TinyconvError(f"--match onnxruntime is for ONNX models; {graph.source} is not one")
    return match


def boundary_notes(graph: Graph) -> list[str]:
    """How the firmware's int8 input and output bytes relate to the ONNX model's tensors
    (one line each), for an ONNX model's graph; empty otherwise."""
    io = graph.metadata.get("onnx")
    if not io:
        return []
    lines = []
    for kind, boundaries, tensors in (("input", io["inputs"], graph.inputs),
                                      ("output", io["outputs"], graph.outputs)):
        for b, t in zip(boundaries, tensors):
            layout = "" if b.perm == tuple(range(len(b.perm))) else \
                f", axes of the ONNX tensor in order {list(b.perm)}"
            if b.onnx_dtype == "float32":
                value = (f"q = clamp(round_half_even(x / {b.scale!r}) + {b.zero_point}, "
                         + ("0, 255) - 128" if b.offset else "-128, 127)") if kind == "input"
                         else
                         f"x = {b.scale!r} * (q {'+ 128 ' if b.offset else ''}- "
                         f"{b.zero_point})")
            else:
                value = "int8 = uint8 - 128" if b.offset else "the same int8 values"
            lines.append(f"{kind} {b.name!r}: int8 {list(t.shape)}, {value}{layout}")
    if io.get("qdq_int8"):
        lines.append("note: QDQ with int8 activations: tinyconv computes as onnxruntime's "
                     "integer kernels do, which it runs with the session option "
                     "session.qdqisint8allowed=1 (its default on Arm64); with x86-64's "
                     "default it runs such groups in float, and some bytes differ (0.6% to "
                     "1.3% measured, by one but for AveragePool with ceil_mode); quantize "
                     "with uint8 activations, as --calibrate does, for identical bytes with "
                     "default session options")
    return lines
