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
             # -- end of ONNX ops added --
             )
MIN_OPSET, MAX_OPSET = 10, 23

_ONNX_INT8, _ONNX_UINT8, _ONNX_INT32, _ONNX_FLOAT = 3, 2, 6, 1
NCHW_AS_NHWC = (0, 2, 3, 1)
# The stored range of every activation (uint8 tensors are stored shifted by -128).
STORED_RANGE = (-128, 127)


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

    def const_operand(self, node, name: str, like: _Value) -> _Value:
        """A DequantizeLinear'd constant as an elementwise operand of `like` (one value, or
        as many as `like` has): int8 data in `like`'s physical order."""
        w, scale, zp, _ = self.q_weight(node, name)
        if scale.size != 1:
            self.unsupported(node, f"constant {name!r} has {scale.size} scales; an "
                             "elementwise operand takes one")
        offset = like.offset
        quant = Quant((float(scale[0]),), (int(zp[0]),))
        if w.size == 1:
            data, logical, perm = w.reshape(()), (), ()
        elif w.size == math.prod(like.logical) and _strip(w.shape) == _strip(like.logical):
            data = np.ascontiguousarray(w.reshape(like.logical).transpose(like.perm))
            logical, perm = like.logical, like.perm
        else:
            self.unsupported(node, f"broadcasts the constant {list(w.shape)} over "
                             f"{list(like.logical)}; only one value or the same shape is "
                             "supported")
        if offset and zp[0] + 128 not in range(256):
            self.fail(node, "a constant's zero point is out of range")
        t = self.new_tensor(name, data.shape, DType.INT8, quant, data.astype(np.int8))
        return _Value(t, tuple(logical), tuple(perm), offset)

    def operands(self, node) -> tuple[_Value, _Value]:
        """The two inputs of an elementwise QDQ op; one of them may be a constant."""
        names = list(node.input[:2])
        consts = [isinstance(self.consts.get(n), tuple) for n in names]
        if all(consts):
            self.unsupported(node, "both inputs are constants")
        if consts[0]:
            b = self.q_input(node, names[1])
            return self.const_operand(node, names[0], b), b
        a = self.q_input(node, names[0])
        b = self.const_operand(node, names[1], a) if consts[1] else self.q_input(node, names[1])
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

    def pad(self, node, x: _Value, pads) -> _Value:
        top, left, bottom, right = pads
        n, h, w, c = x.tensor.shape
        paddings = ((0, 0), (top, bottom), (left, right), (0, 0))
        pt = self.new_tensor(f"{node.name}/paddings", (4, 2), DType.INT32,
                             data=np.asarray(paddings, np.int32))
        y = self.new_tensor(f"{node.name}/padded", (n, h + top + bottom, w + left + right, c),
                            DType.INT8, x.tensor.quant)
        self.add_op(O.Pad(inputs=[x.tensor, pt], outputs=[y], paddings=paddings), y.name)
        logical = (n, c, h + top + bottom, w + left + right)
        return _Value(y, logical, NCHW_AS_NHWC, x.offset)

    def fully_connected(self, node, a: _Value, b, b_scale, b_zp, b_axis, trans_b, bias_name,
                        y_name, y_quant, y_offset) -> None:
        if b.ndim != 2:
            self.unsupported(node, "B must be a 2D constant")
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
                                      act_max=act[1]), y_name)

    def add(self, node, a: _Value, b: _Value, y_name, y_quant, y_offset,
            cls=OrtAdd) -> None:
        if a.offset != b.offset or a.offset != y_offset:
            self.unsupported(node, "mixes int8 and uint8 tensors")
        scalar = ""
        if _strip(a.logical) == _strip(b.logical) and a.tensor.size == b.tensor.size:
            if a.logical != b.logical:  # [1, N] and [N]: the same values, elementwise
                b = _Value(b.tensor, a.logical, a.perm if len(b.perm) == len(a.perm)
                           and _same_bytes(a.logical, a.perm, b.perm) else b.perm, b.offset)
                if b.perm != a.perm:
                    self.unsupported(node, "operands of one shape in other layouts")
        elif a.logical != b.logical:
            if b.tensor.size == 1:
                scalar = "b"
            elif a.tensor.size == 1:
                scalar = "a"
            else:
                self.unsupported(node, f"broadcasts {list(a.logical)} with "
                                 f"{list(b.logical)}; only equal shapes or a single value "
                                 "are supported")
        big = b if scalar == "a" else a
        if not scalar:
            b = self.in_order(b, big.perm, node.input[1])
        y = self.output_value(y_name, big.logical, big.perm, y_quant, y_offset)
        act = STORED_RANGE
        extra = {"scalar": scalar} if cls is OrtAdd else {}
        self.add_op(cls(inputs=[a.tensor, b.tensor], outputs=[y.tensor], act_min=act[0],
                        act_max=act[1], value_offset=y_offset, **extra), y_name)

    def average_pool(self, node, x: _Value, y_name, y_quant, y_offset) -> None:
        attrs = _attrs(node)
        if attrs.get("ceil_mode", 0) or any(d != 1 for d in attrs.get("dilations", (1, 1))):
            self.unsupported(node, "ceil_mode and dilations are not supported")
        if len(x.logical) != 4:
            self.unsupported(node, "only 2D pooling is supported")
        if y_offset != x.offset:
            self.unsupported(node, "mixes int8 and uint8 tensors")
        kernel = tuple(attrs["kernel_shape"])
        strides = tuple(attrs.get("strides", (1, 1)))
        n, c, h, w = x.logical
        padding, pads = self.padding(node, attrs, (h, w), kernel, strides, (1, 1))
        if padding is O.Padding.SAME:  # TFLite's SAME pads, spelled out
            pads = _same_pads((h, w), kernel, strides)
        if kernel == (h, w) and not any(pads):  # onnxruntime's global average pool path
            return self.global_average_pool(node, x, y_name, y_quant, y_offset)
        x = self.in_order(x, NCHW_AS_NHWC, node.input[0])
        top, left, bottom, right = pads
        oh = (h + top + bottom - kernel[0]) // strides[0] + 1
        ow = (w + left + right - kernel[1]) // strides[1] + 1
        y = self.output_value(y_name, (n, c, oh, ow), NCHW_AS_NHWC, y_quant, y_offset)
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


def _strip(shape) -> tuple[int, ...]:
    """A shape without its leading 1s (how broadcasting aligns it)."""
    shape = tuple(int(d) for d in shape)
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


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
    attrs = _attrs(node)
    if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or \
            attrs.get("beta", 1.0) != 1.0:
        imp.unsupported(node, "only Gemm with transA=0, alpha=beta=1 is supported")
    a = imp.q_input(node, node.input[0])
    b, bs, bz, axis = imp.q_weight(node, node.input[1])
    bias = node.input[2] if len(node.input) > 2 else None
    trans_b = bool(attrs.get("transB", 0))
    _q_out(imp, node, lambda y, q, off: imp.fully_connected(node, a, b, bs, bz, axis,
                                                            trans_b, bias, y, q, off))


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
    attrs = _attrs(node)
    if attrs.get("ceil_mode", 0) or attrs.get("storage_order", 0) or \
            any(d != 1 for d in attrs.get("dilations", (1, 1))) or len(node.output) > 1:
        imp.unsupported(node, "ceil_mode, storage_order, dilations and the Indices output "
                        "are not supported")
    kernel = tuple(attrs["kernel_shape"])
    strides = tuple(attrs.get("strides", (1, 1)))

    def build(x: _Value, y_name: str) -> None:
        if len(x.logical) != 4:
            imp.unsupported(node, "only 2D pooling is supported")
        n, c, h, w = x.logical
        padding, pads = imp.padding(node, attrs, (h, w), kernel, strides, (1, 1))
        if any(pads):
            imp.unsupported(node, f"pads {list(attrs.get('pads'))} are neither VALID nor "
                            "SAME (TFLite's) padding")
        x = imp.in_order(x, NCHW_AS_NHWC, node.input[0])
        oh = conv_output_size(h, kernel[0], strides[0], 1, padding)
        ow = conv_output_size(w, kernel[1], strides[1], 1, padding)
        y = imp.output_value(y_name, (n, c, oh, ow), NCHW_AS_NHWC, x.tensor.quant, x.offset)
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
# -- end of Softmax, Resize, ConvTranspose and activations ------------------------------


_FLOAT_OPS = {
    "Conv": _conv, "Gemm": _gemm, "MatMul": _matmul, "Add": _add,
    "GlobalAveragePool": _gap, "MaxPool": _maxpool, "Flatten": _flatten,
    "Reshape": _reshape, "Squeeze": _squeeze, "Transpose": _transpose,
    "Identity": _identity, "Concat": _concat, "Relu": _relu, "Clip": _clip, "Mul": _mul,
    "AveragePool": _average_pool, "Pad": _pad,
    # -- Softmax, Resize, ConvTranspose and activations --
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
        if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or len(ins) < 8 or \
                not ins[7]:
            self.unsupported(node, "only QGemm with transA=0, alpha=1 and a quantized "
                             "output is supported")
        a = self.value(node, ins[0])
        self.check_quant(node, a, ins[1], ins[2])
        trans_b = bool(attrs.get("transB", 0))
        b, bs, bz, _ = self.weight_arrays(node, ins[3], ins[4], ins[5], 0)
        y_quant, y_off = self.act_quant(node, ins[7], ins[8] if len(ins) > 8 else None,
                                        "output")
        self.fully_connected(node, a, b, bs, bz, 0 if trans_b else 1, trans_b,
                             ins[6] or None, node.output[0], y_quant, y_off)
    elif op == "QLinearAdd":
        a, b = self.value(node, ins[0]), self.value(node, ins[3])
        self.check_quant(node, a, ins[1], ins[2])
        self.check_quant(node, b, ins[4], ins[5])
        y_quant, y_off = self.act_quant(node, ins[6], ins[7], "output")
        self.add(node, a, b, node.output[0], y_quant, y_off)
    elif op == "QLinearMul":
        a, b = self.value(node, ins[0]), self.value(node, ins[3])
        self.check_quant(node, a, ins[1], ins[2])
        self.check_quant(node, b, ins[4], ins[5])
        y_quant, y_off = self.act_quant(node, ins[6], ins[7], "output")
        self.add(node, a, b, node.output[0], y_quant, y_off, cls=OrtMul)
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
    # -- end of QOperator activations and Softmax --
    else:
        self.unsupported(node, f"{op} is not supported")


def _check_quant(self: _Importer, node, v: _Value, scale_name: str, zp_name: str) -> None:
    quant, offset = self.act_quant(node, scale_name, zp_name, "input")
    if quant != v.tensor.quant or offset != v.offset:
        self.fail(node, "an input's scale or zero point differs from its producer's")


_Importer.qoperator = _qoperator  # type: ignore[attr-defined]
_Importer.check_quant = _check_quant  # type: ignore[attr-defined]


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
        lines.append("note: QDQ with int8 activations: onnxruntime (x86-64) runs such models "
                     "partly in float (it fuses QDQ groups into integer kernels for uint8 "
                     "activations only), so a few outputs may differ by one from tinyconv's; "
                     "quantize with uint8 activations (as --calibrate does) for identical bytes")
    return lines
