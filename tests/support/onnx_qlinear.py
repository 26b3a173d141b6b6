"""Hand-built quantized ONNX graphs of QOperator layers (QLinearConv, QLinearMatMul,
com.microsoft QGemm), one float input quantized at the boundary and one quantized output
per layer: the models of tests/kernels/test_kernels_onnxrt.py and
benchmarks/onnxrt_kernels.py."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

U8, S8 = np.uint8, np.int8


def same_pads(size, k, s, d):
    """ONNX pads [top, left, bottom, right] that are TFLite's SAME for this window."""
    out = []
    for n, kk, ss, dd in zip(size, k, s, d):
        o = -(-n // ss)
        total = max((o - 1) * ss + (kk - 1) * dd + 1 - n, 0)
        out.append((total // 2, total - total // 2))
    return [out[0][0], out[1][0], out[0][1], out[1][1]]


class QLinearGraph:
    """A QOperator graph of independent layers, each with its own (float, quantized at
    the boundary) input and its quantized output."""

    def __init__(self, seed: int, act=U8, bias=None):
        """`bias`, if given, rewrites every bias (its int32 values in, the new ones out)."""
        self.rng = np.random.default_rng(seed)
        self.act = act
        self.bias = bias
        self.nodes, self.inits, self.inputs, self.outputs = [], [], [], []
        self.layers = 0
        self.ms_domain = False

    def _const(self, name, value):
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def _bias(self, name, n):
        values = self.rng.integers(-3000, 3000, n).astype(np.int32)
        return self._const(name, values if self.bias is None else self.bias(values))

    def _act_zp(self):
        lo, hi = (20, 236) if self.act is U8 else (-100, 100)
        return np.array(self.rng.integers(lo, hi), self.act)

    def _weights(self, shape, w_type, channels: int | None):
        """Weights with a non-zero zero point (one value, repeated per channel where the
        scales are per channel), and their scales."""
        rng = self.rng
        if w_type is U8:
            zp = int(rng.integers(60, 196))
            w = rng.integers(0, 256, size=shape).astype(U8)
        else:
            zp = int(rng.integers(-40, 41))
            w = rng.integers(-128, 128, size=shape).astype(S8)
        scale = (rng.uniform(0.002, 0.02, size=channels) if channels
                 else np.float32(rng.uniform(0.002, 0.02)))
        zps = np.full(channels, zp, w_type) if channels else np.array(zp, w_type)
        return w, np.asarray(scale, np.float32), zps

    def _io(self, shape):
        i = self.layers
        self.layers += 1
        elem = TensorProto.UINT8 if self.act is U8 else TensorProto.INT8
        x, y = f"x{i}", f"y{i}"
        self.inputs.append(helper.make_tensor_value_info(f"f{i}", TensorProto.FLOAT,
                                                         list(shape)))
        self.outputs.append(helper.make_tensor_value_info(y, elem, None))
        xs = self._const(f"xs{i}", np.float32(self.rng.uniform(0.01, 0.05)))
        xz = self._const(f"xz{i}", self._act_zp())
        # a float input quantized at the boundary, as quantize_static writes models
        self.nodes.append(helper.make_node("QuantizeLinear", [f"f{i}", xs, xz], [x]))
        return i, x, y, xs, xz

    def _y_scale(self, xs_name, k_len, w_scale):
        xs = next(numpy_helper.to_array(t) for t in self.inits if t.name == xs_name)
        spread = float(np.sqrt(k_len) * 74 * 74)  # std of sum (x - zx)(w - zw), uniform
        return np.float32(xs * float(np.mean(w_scale)) * spread / 40.0 *
                          self.rng.uniform(0.7, 1.4))

    def conv(self, cin, cout, hw, k, stride=(1, 1), dilation=(1, 1), group=1, pads="same",
             w_type=S8, per_channel=True, bias=True):
        i, x, y, xs, xz = self._io((1, cin, *hw))
        w, wscale, wzp = self._weights((cout, cin // group, *k), w_type,
                                       cout if per_channel else None)
        ys = self._y_scale(xs, k[0] * k[1] * cin // group, wscale)
        inputs = [x, xs, xz, self._const(f"w{i}", w), self._const(f"ws{i}", wscale),
                  self._const(f"wz{i}", wzp), self._const(f"ys{i}", ys),
                  self._const(f"yz{i}", self._act_zp())]
        if bias:
            inputs.append(self._bias(f"b{i}", cout))
        if pads == "same":
            pads = same_pads(hw, k, stride, dilation)
        self.nodes.append(helper.make_node("QLinearConv", inputs, [y], kernel_shape=list(k),
                                           strides=list(stride), dilations=list(dilation),
                                           pads=list(pads), group=group, name=f"conv{i}"))

    def matmul(self, rows, depth, units, w_type=S8, per_channel=False, gemm=False):
        i, x, y, xs, xz = self._io((rows, depth))
        w, wscale, wzp = self._weights((units, depth) if gemm else (depth, units), w_type,
                                       units if per_channel else None)
        if per_channel:
            wzp = np.zeros_like(wzp)  # per-unit scales take zero points of 0 (importer)
            if w_type is U8:
                wzp = wzp + 128
        ys = self._y_scale(xs, depth, wscale)
        b = [self._const(f"w{i}", w), self._const(f"ws{i}", wscale), self._const(f"wz{i}", wzp)]
        yq = [self._const(f"ys{i}", ys), self._const(f"yz{i}", self._act_zp())]
        if gemm:
            self.ms_domain = True
            bias = self._bias(f"b{i}", units)
            self.nodes.append(helper.make_node("QGemm", [x, xs, xz, *b, bias, *yq], [y],
                                               transB=1, domain="com.microsoft",
                                               name=f"gemm{i}"))
        else:
            self.nodes.append(helper.make_node("QLinearMatMul", [x, xs, xz, *b, *yq], [y],
                                               name=f"matmul{i}"))

    def bytes(self) -> bytes:
        graph = helper.make_graph(self.nodes, "ort_kernels", self.inputs, self.outputs,
                                  self.inits)
        opsets = [helper.make_opsetid("", 13)]
        if self.ms_domain:
            opsets.append(helper.make_opsetid("com.microsoft", 1))
        model = helper.make_model(graph, opset_imports=opsets)
        model.ir_version = 8
        return model.SerializeToString()
