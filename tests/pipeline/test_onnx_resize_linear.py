"""Resize, mode linear (bilinear on H and W), in QDQ ONNX models: onnxruntime 1.32 keeps
DequantizeLinear -> float Resize -> QuantizeLinear (NCHW alone, NHWC between QLinearConvs)
and tinyconv reproduces its float32 arithmetic (OrtResizeLinear, tc_resize_linear_s8_ort).
In QOperator form (Resize on the uint8/int8 tensor) it runs UpsampleBilinear on the values,
truncated (NCHW: a model input or its QuantizeLinear) or NhwcUpsampleBilinearInteger's
10-bit fixed point (NHWC: a QLinearConv's output; tc_resize_linear_int_s8_ort).
Random shapes, scales or sizes, every coordinate_transformation_mode, uint8 and int8,
same or new output quantization: 0 mismatched bytes against onnxruntime on the host
(ASan/UBSan) and in QEMU."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.harness import board_params
from tinyconv import targets
from tinyconv.errors import UnsupportedOpError
from tinyconv.ir.onnx_import import import_onnx
from tinyconv.ir.onnx_ops import OrtResizeLinear
from tinyconv.verify import verify

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

f32 = np.float32
COORDS = ("half_pixel", "asymmetric", "pytorch_half_pixel", "tf_half_pixel_for_nn",
          "align_corners", "half_pixel_symmetric")


class _Graph:
    def __init__(self, rng):
        self.rng = rng
        self.nodes, self.inits, self.inputs, self.outputs = [], [], [], []
        self.unsigned: dict[str, bool] = {}

    def const(self, name: str, value) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def quant(self, name: str, unsigned: bool, scale=None) -> list[str]:
        s = f32(scale if scale is not None else np.exp(self.rng.uniform(-5.0, -1.0)))
        low = 0 if unsigned else -128
        zp = np.array(self.rng.integers(low, low + 256), np.uint8 if unsigned else np.int8)
        self.unsigned[name] = unsigned
        return [self.const(f"{name}_s", np.array(s, f32)), self.const(f"{name}_z", zp)]

    def node(self, op: str, ins, outs, **attrs) -> None:
        self.nodes.append(helper.make_node(op, list(ins), list(outs), **attrs))

    def q(self, src: str, name: str, unsigned: bool, scale=None) -> str:
        self.node("QuantizeLinear", [src, *self.quant(name, unsigned, scale)], [name])
        return name

    def dq(self, name: str) -> str:
        self.node("DequantizeLinear", [name, f"{name}_s", f"{name}_z"], [f"{name}_f"])
        return f"{name}_f"

    def resize(self, name: str, src: str, shape) -> str:
        """A random linear Resize of `src` ([N, C, H, W]) by scales or sizes."""
        rng = self.rng
        n, c, h, w = shape
        attrs = {"mode": "linear",
                 "coordinate_transformation_mode": str(rng.choice(COORDS))}
        if rng.random() < 0.5:
            sc = [1.0, 1.0] + [float(rng.choice([0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 2.5, 1.3,
                                                 rng.uniform(0.4, 3.5)])) for _ in range(2)]
            if min(int(f32(s) * f32(d)) for s, d in zip(sc[2:], (h, w))) < 1:
                sc[2:] = [2.0, 2.0]
            if sc[2] == 1.0 and sc[3] != 1.0:  # refused (test_ambiguous_layout_is_refused)
                sc[2] = 1.5
            ins = ["", self.const(f"{name}_scales", np.array(sc, f32))]
        else:
            sizes = [n, c, int(rng.integers(1, 2 * h + 4)), int(rng.integers(1, 2 * w + 4))]
            if sizes[2] == h and sizes[3] != w:  # refused (test_ambiguous_layout_is_refused)
                sizes[2] = h + 1
            ins = ["", "", self.const(f"{name}_sizes", np.array(sizes, np.int64))]
        self.node("Resize", [src, *ins], [name], **attrs)
        return name

    def model(self, opset: int = 19) -> bytes:
        graph = helper.make_graph(self.nodes, "resize", self.inputs, self.outputs,
                                  self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 9
        return model.SerializeToString()

    def output(self, name: str) -> None:
        elem = TensorProto.UINT8 if self.unsigned[name] else TensorProto.INT8
        self.outputs.append(helper.make_tensor_value_info(name, elem, None))


def _lone_part(g: _Graph, p: str, unsigned: bool) -> None:
    """Float input -> Q -> DQ -> two Resize (linear; one keeping the quantization, one
    requantizing) -> Q: onnxruntime's NCHW float Resize."""
    rng = g.rng
    shape = [1, int(rng.integers(1, 5)), int(rng.integers(1, 8)), int(rng.integers(1, 8))]
    g.inputs.append(helper.make_tensor_value_info(f"{p}x", TensorProto.FLOAT, shape))
    s0 = float(np.exp(rng.uniform(-5.0, -1.0)))
    x = g.dq(g.q(f"{p}x", f"{p}q0", unsigned, s0))
    for k, same in enumerate((True, False)):
        r = g.resize(f"{p}r{k}", x, shape)
        g.output(g.q(r, f"{p}y{k}", unsigned, s0 if same else None))


def _chain_part(g: _Graph, p: str, unsigned: bool) -> None:
    """Conv -> Resize (linear) -> Conv in QDQ form: onnxruntime runs QLinearConv, the
    float Resize in NHWC, QLinearConv."""
    rng = g.rng
    c, h, w = int(rng.integers(1, 4)), int(rng.integers(2, 7)), int(rng.integers(2, 7))
    co = int(rng.integers(1, 5))
    g.inputs.append(helper.make_tensor_value_info(f"{p}x", TensorProto.FLOAT, [1, c, h, w]))
    x = g.dq(g.q(f"{p}x", f"{p}q0", unsigned, 0.05))

    def conv(name: str, src: str, cin: int, cout: int) -> str:
        wq = rng.integers(-127, 128, (cout, cin, 3, 3)).astype(np.int8)
        g.const(f"{name}_w", wq)
        g.const(f"{name}_ws", np.array(f32(0.5 / (9 * cin * 127))))
        g.const(f"{name}_wz", np.array(0, np.int8))
        g.node("DequantizeLinear", [f"{name}_w", f"{name}_ws", f"{name}_wz"], [f"{name}_wf"])
        g.node("Conv", [src, f"{name}_wf"], [name], pads=[1, 1, 1, 1])
        return name
    a = g.dq(g.q(conv(f"{p}c1", x, c, co), f"{p}a", unsigned))
    r = g.dq(g.q(g.resize(f"{p}r", a, [1, co, h, w]), f"{p}b", unsigned))
    g.output(g.q(conv(f"{p}c2", r, co, 2), f"{p}y", unsigned))


def _qop_part(g: _Graph, p: str, unsigned: bool) -> None:
    """QOperator form (Resize on the quantized tensor): on an integer model input and on a
    QuantizeLinear'd float one (NCHW, "truncate"), and between QLinearConvs (NHWC,
    "integer"); helpers below."""
    _qop_lone(g, f"{p}i", unsigned, False)
    _qop_lone(g, f"{p}q", unsigned, True)
    _qop_chain(g, f"{p}c", unsigned)


def _model(seed: int, parts=(("lone", True), ("lone", False), ("chain", True),
                             ("chain", False), ("qop", True), ("qop", False))) -> bytes:
    """One model holding several Resize layers (one firmware build)."""
    g = _Graph(np.random.default_rng(seed))
    for k, (kind, unsigned) in enumerate(parts):
        {"lone": _lone_part, "chain": _chain_part, "qop": _qop_part}[kind](g, f"p{k}_",
                                                                         unsigned)
    return g.model()


def _check(data: bytes, board: str, n: int = 4, seed: int = 0) -> None:
    report = verify(data, targets.get_board(board), source="resize.onnx", n=n, seed=seed,
                    count_instructions=False)
    assert report.reference == "onnxruntime"
    assert report.outputs_compared > 0
    assert report.mismatched_bytes == 0, report.mismatches


def test_linear_resize_imports_as_one_op():
    graph = import_onnx(_model(0), "resize.onnx")
    ops = [op for op in graph.ops if isinstance(op, OrtResizeLinear)]
    assert len(ops) == 2 * 2 + 2 + 2 * 3
    assert {op.coordinate_mode for op in ops} <= set(COORDS)
    assert [op.arithmetic for op in ops].count("float") == 6
    assert [op.arithmetic for op in ops].count("truncate") == 4
    assert [op.arithmetic for op in ops].count("integer") == 2


def test_linear_resize_matches_onnxruntime_on_host():
    _check(_model(1), "host", n=4)


@pytest.mark.parametrize("board", board_params(["qemu-m7"]) +
                         board_params(["qemu-m4", "qemu-m55", "qemu-m0plus"], slow=True))
def test_linear_resize_matches_onnxruntime_in_qemu(board):
    seed = {"qemu-m4": 2, "qemu-m7": 3, "qemu-m55": 4, "qemu-m0plus": 5}[board]
    _check(_model(seed), board, n=2)


def _lone_model(rng, unsigned: bool) -> tuple[bytes, list[int]]:
    """DequantizeLinear -> Resize (linear) -> QuantizeLinear of an integer input."""
    shape = [1, int(rng.integers(1, 3)), int(rng.integers(1, 13)), int(rng.integers(1, 13))]
    g = _Graph(rng)
    elem = TensorProto.UINT8 if unsigned else TensorProto.INT8
    g.inputs.append(helper.make_tensor_value_info("x", elem, shape))
    g.quant("x", unsigned)
    r = g.resize("r", g.dq("x"), shape)
    g.node("QuantizeLinear", [r, *g.quant("y", unsigned)], ["y"])
    g.output("y")
    return g.model(), shape


def test_reference_matches_onnxruntime_on_many_draws():
    """resize_linear_reference (the kernel's arithmetic, with the lowering's tables) against
    onnxruntime on 120 random DQ -> Resize -> Q graphs: every mode, scales and sizes,
    up- and downsampling, uint8 and int8."""
    from tinyconv.codegen.lowering.onnxrt import resize_linear_reference
    from tinyconv.onnx_oracle import INT8_QDQ_CONFIG

    rng = np.random.default_rng(7)
    modes = set()
    for _ in range(120):
        unsigned = bool(rng.random() < 0.5)
        data, shape = _lone_model(rng, unsigned)
        (op,) = [o for o in import_onnx(data, "r.onnx").ops if isinstance(o, OrtResizeLinear)]
        modes.add(op.coordinate_mode)
        so = ort.SessionOptions()
        so.log_severity_level = 3
        for k, v in ({} if unsigned else INT8_QDQ_CONFIG).items():
            so.add_session_config_entry(k, v)
        sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
        x = rng.integers(0, 256, shape).astype(np.uint8)
        x = x if unsigned else x.view(np.int8)
        (want,) = sess.run(None, {"x": x})
        stored = (x.astype(np.int32) - (128 if unsigned else 0)).astype(np.int8)
        got = resize_linear_reference(op, stored.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        want = (want.astype(np.int32) - (128 if unsigned else 0)).astype(np.int8)
        assert got.shape == want.shape and np.array_equal(got, want), op
    assert modes == set(COORDS)


def _calibrated_model(tmp_path, seed: int, fmt: str = "QDQ") -> bytes:
    """Conv -> Resize (linear, sizes) -> Conv and Conv -> Resize (scales), quantized by
    onnxruntime's quantize_static (QDQ or QOperator, uint8 activations) as a user's model
    would be."""
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    rng = np.random.default_rng(seed)
    shape = (1, 3, 6, 5)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Resize", ["c", "", "", "sizes"], ["r"], mode="linear",
                              coordinate_transformation_mode="align_corners"),
             helper.make_node("Conv", ["r", "w2"], ["y"], pads=[1, 1, 1, 1]),
             helper.make_node("Resize", ["c", "", "scales"], ["y2"], mode="linear")]
    inits = [numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(f32), "w"),
             numpy_helper.from_array(rng.normal(size=(2, 4, 3, 3)).astype(f32), "w2"),
             numpy_helper.from_array(np.array([1, 4, 11, 7], np.int64), "sizes"),
             numpy_helper.from_array(np.array([1, 1, 2, 1.5], f32), "scales")]
    graph = helper.make_graph(
        nodes, "calibrated", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y", "y2")],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    float_path, int8_path = tmp_path / "f.onnx", tmp_path / "q.onnx"
    onnx.save(model, float_path)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": rng.normal(size=shape).astype(f32)} for _ in range(8)])

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(float_path), str(int8_path), Reader(), quant_format=QuantFormat[fmt],
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return int8_path.read_bytes()


@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
def test_calibrated_model_imports_both_resizes(tmp_path, fmt):
    data = _calibrated_model(tmp_path, 0, fmt)
    ops = [op for op in import_onnx(data, "c.onnx").ops if isinstance(op, OrtResizeLinear)]
    assert sorted(op.coordinate_mode for op in ops) == ["align_corners", "half_pixel"]
    assert {op.arithmetic for op in ops} == {"float" if fmt == "QDQ" else "integer"}


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
@pytest.mark.parametrize("board", board_params(["host", "qemu-m7"]))
def test_calibrated_model_matches_onnxruntime(tmp_path, board, fmt):
    _check(_calibrated_model(tmp_path, 0, fmt), board, n=4)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10))
def test_linear_resize_sweep_on_host(seed):
    _check(_model(100 + seed), "host", n=3, seed=seed)


def test_cubic_and_unknown_layout_qoperator_linear_are_refused():
    """QOperator linear Resize of a MaxPool's output: onnxruntime's layout transformer
    decides its kernel (not reproduced); cubic in QDQ form."""
    g = _Graph(np.random.default_rng(5))
    g.inputs.append(helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 3]))
    g.unsigned["y"] = True
    g.node("MaxPool", [g.q("x", "q0", True)], ["m"], kernel_shape=[1, 1])
    g.node("Resize", ["m", "", g.const("sc", np.array([1, 1, 2, 2], f32))],
           ["y"], mode="linear")
    g.output("y")
    with pytest.raises(UnsupportedOpError, match="linear' on a quantized tensor made by "
                       "'MaxPool'"):
        import_onnx(g.model(), "q.onnx")
    g = _Graph(np.random.default_rng(6))
    g.inputs.append(helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 3]))
    r = g.dq(g.q("x", "q0", True))
    g.node("Resize", [r, "", g.const("sc", np.array([1, 1, 2, 2], f32))], ["r"],
           mode="cubic")
    g.output(g.q("r", "y", True))
    with pytest.raises(UnsupportedOpError, match="cubic"):
        import_onnx(g.model(), "c.onnx")


@pytest.mark.parametrize("sizes", [False, True])
def test_ambiguous_layout_is_refused(sizes):
    """H scale 1, W scale not 1: onnxruntime's bytes depend on its layout (NCHW, or NHWC
    with the channels taken as the width, measured: 1-ulp float differences that change
    quantized bytes), which the graph around the Resize decides."""
    g = _Graph(np.random.default_rng(8))
    g.inputs.append(helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 5]))
    r = g.dq(g.q("x", "q0", True))
    ins = ["", "", g.const("sz", np.array([1, 2, 4, 9], np.int64))] if sizes else \
        ["", g.const("sc", np.array([1, 1, 1, 2], f32))]
    g.node("Resize", [r, *ins], ["r"], mode="linear")
    g.output(g.q("r", "y", True))
    with pytest.raises(UnsupportedOpError, match="H scale 1 and W scale"):
        import_onnx(g.model(), "a.onnx")


# -- QOperator form: Resize (linear) on the quantized tensor itself ----------------------

def _qop_resize(g: _Graph, name: str, src: str, shape, coords=COORDS) -> str:
    """A random linear Resize (scales or sizes, any mode) of the integer tensor `src`."""
    rng = g.rng
    attrs = {"mode": "linear", "coordinate_transformation_mode": str(rng.choice(coords))}
    n, c, h, w = shape
    if rng.random() < 0.5:
        sc = [1.0, 1.0] + [float(rng.choice([0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 2.5, 1.3,
                                             rng.uniform(0.4, 3.5)])) for _ in range(2)]
        if min(int(f32(s) * f32(d)) for s, d in zip(sc[2:], (h, w))) < 1:
            sc[2:] = [2.0, 2.0]
        ins = ["", g.const(f"{name}_scales", np.array(sc, f32))]
        h_one = f32(sc[2]) == 1 and f32(sc[3]) != 1
    else:
        sizes = [n, c, int(rng.integers(1, 2 * h + 4)), int(rng.integers(1, 2 * w + 4))]
        ins = ["", "", g.const(f"{name}_sizes", np.array(sizes, np.int64))]
        h_one = sizes[2] == h and sizes[3] != w
    g.node("Resize", [src, *ins], [name], **attrs)
    g.unsigned[name] = g.unsigned[src]
    return name, h_one


def _qlinear_conv(g: _Graph, name: str, src: str, cin: int, cout: int,
                  q_src: str | None = None) -> str:
    """A random 3x3 QLinearConv of `src`, quantized as `q_src` (default: src)."""
    rng, unsigned, q_src = g.rng, g.unsigned[src], q_src or src
    g.const(f"{name}_w", rng.integers(-127, 128, (cout, cin, 3, 3)).astype(np.int8))
    g.const(f"{name}_ws", np.array(f32(0.5 / (9 * cin * 127))))
    g.const(f"{name}_wz", np.array(0, np.int8))
    y_q = g.quant(name, unsigned, f32(np.exp(rng.uniform(-6.0, -4.0))))
    g.node("QLinearConv", [src, f"{q_src}_s", f"{q_src}_z", f"{name}_w", f"{name}_ws",
                           f"{name}_wz", *y_q], [name], pads=[1, 1, 1, 1])
    return name


def _qop_input(g: _Graph, name: str, shape, unsigned: bool, via_q: bool) -> str:
    """An integer model input `name`, or (via_q) a float one quantized into `name`."""
    if not via_q:
        elem = TensorProto.UINT8 if unsigned else TensorProto.INT8
        g.inputs.append(helper.make_tensor_value_info(name, elem, shape))
        g.quant(name, unsigned, 0.05)
        return name
    g.inputs.append(helper.make_tensor_value_info(f"{name}_f", TensorProto.FLOAT, shape))
    g.q(f"{name}_f", name, unsigned, 0.05)
    g.output(name)
    return name


def _qop_lone(g: _Graph, p: str, unsigned: bool, via_q: bool) -> tuple[str, str]:
    """Integer model input (or QuantizeLinear of a float one) -> Resize: onnxruntime's
    NCHW UpsampleBilinear<uint8/int8>."""
    rng = g.rng
    shape = [1, int(rng.integers(1, 4)), int(rng.integers(1, 9)), int(rng.integers(1, 9))]
    x = _qop_input(g, f"{p}x", shape, unsigned, via_q)
    r, _ = _qop_resize(g, f"{p}r", x, shape)
    g.output(r)
    return x, r


def _qop_chain(g: _Graph, p: str, unsigned: bool, tail: bool = True) -> tuple[str, str]:
    """QuantizeLinear -> QLinearConv -> Resize (-> QLinearConv), quantize_static's
    QOperator form: onnxruntime runs the Resize in NHWC, NhwcUpsampleBilinearInteger.
    The Resize's input is a model output as well."""
    rng = g.rng
    c, h, w, co = (int(rng.integers(1, 4)), int(rng.integers(2, 7)), int(rng.integers(2, 7)),
                   int(rng.integers(1, 5)))
    x = _qop_input(g, f"{p}x", [1, c, h, w], unsigned, True)
    a = _qlinear_conv(g, f"{p}a", x, c, co)
    g.output(a)
    while True:  # H scale 1, W scale not 1 in NHWC is refused (test below)
        sub = _Graph(g.rng)
        sub.unsigned[a] = unsigned
        r, h_one = _qop_resize(sub, f"{p}r", a, [1, co, h, w])
        if not h_one:
            break
    g.nodes += sub.nodes
    g.inits += sub.inits
    g.unsigned[r] = unsigned
    g.output(r)
    if tail:
        g.output(_qlinear_conv(g, f"{p}y", r, co, 2, q_src=a))
    return a, r


def test_qoperator_reference_matches_onnxruntime_on_many_draws():
    """resize_linear_reference (the kernels' arithmetic with the lowering's tables) against
    onnxruntime on 160 random QOperator Resizes: on a graph input (NCHW, "truncate") and
    on a QLinearConv's output (NHWC, "integer"), every mode, uint8 and int8."""
    from tinyconv.codegen.lowering.onnxrt import resize_linear_reference

    rng = np.random.default_rng(11)
    seen = set()
    for k in range(160):
        unsigned, chain, via_q = bool(k % 2), k % 4 >= 2, k % 8 >= 4
        g = _Graph(rng)
        src, r = (_qop_chain(g, "", unsigned, tail=False) if chain
                  else _qop_lone(g, "", unsigned, via_q))
        data = g.model(opset=19)
        (op,) = [o for o in import_onnx(data, "r.onnx").ops if isinstance(o, OrtResizeLinear)]
        assert op.arithmetic == ("integer" if chain else "truncate")
        seen.add((op.arithmetic, op.coordinate_mode, unsigned))
        so = ort.SessionOptions()
        so.log_severity_level = 3
        sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
        feed = {}
        for i in sess.get_inputs():
            v = rng.integers(0, 256, i.shape).astype(np.uint8)
            feed[i.name] = v.astype(f32) * f32(0.05) - f32(6) if i.type == "tensor(float)" \
                else v if unsigned else v.view(np.int8)
        outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feed)))
        x = outs[src] if src in outs else feed[src]
        off = 128 if unsigned else 0
        stored = (x.astype(np.int32) - off).astype(np.int8).transpose(0, 2, 3, 1)
        got = resize_linear_reference(op, stored).transpose(0, 3, 1, 2)
        want = (outs[r].astype(np.int32) - off).astype(np.int8)
        assert got.shape == want.shape and np.array_equal(got, want), op
    assert len(seen) == 2 * len(COORDS) * 2


def test_qoperator_nhwc_ambiguous_layout_is_refused():
    """Between QLinearConvs (NHWC) H scale 1 and W scale not 1 is refused as in QDQ form;
    in NCHW (a model input) it is reproduced (test above, random draws)."""
    g = _Graph(np.random.default_rng(9))
    x = _qop_input(g, "x", [1, 2, 4, 5], True, True)
    a = _qlinear_conv(g, "a", x, 2, 2)
    g.node("Resize", [a, "", g.const("sc", np.array([1, 1, 1, 2], f32))], ["r"],
           mode="linear")
    g.unsigned["r"] = True
    g.output("r")
    with pytest.raises(UnsupportedOpError, match="H scale 1 and W scale"):
        import_onnx(g.model(), "a.onnx")
