"""The ONNX ops added to the importer (tinyconv/ir/onnx_import.py): Sigmoid, LeakyRelu,
Tanh, HardSigmoid, HardSwish, Softmax and Resize (nearest), in the QDQ form (uint8 and int8
activations) and the QOperator form (QLinearSigmoid, QLinearLeakyRelu, QLinearSoftmax,
Resize on integers), on hand-built graphs with random shapes, attributes and quantization:
0 mismatched bytes against onnxruntime on the host (ASan/UBSan) and in QEMU. ConvTranspose
on a 1x1 input (host-dependent in onnxruntime) is refused in one line (the rest:
tests/pipeline/test_onnx_conv_transpose.py)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.harness import board_params
from tinyconv import targets
from tinyconv.errors import UnsupportedOpError
from tinyconv.ir.onnx_import import import_onnx
from tinyconv.ir.onnx_ops import (OrtHardSigmoid, OrtHardSwish, OrtLeakyRelu,
                                  OrtResizeNearest, OrtSigmoid, OrtSoftmax, OrtTanh)
from tinyconv.verify import verify

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

f32 = np.float32
COORDS = ("half_pixel", "asymmetric", "pytorch_half_pixel", "tf_half_pixel_for_nn",
          "align_corners", "half_pixel_symmetric")
NEAREST = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


class _Builder:
    """A hand-built quantized graph: random scales and zero points for every tensor."""

    def __init__(self, rng):
        self.rng = rng
        self.nodes, self.inits, self.inputs, self.outputs = [], [], [], []
        self.types: dict[str, bool] = {}  # quantized tensor -> uint8?

    def quant(self, name: str, unsigned: bool, scale: float | None = None
              ) -> tuple[str, str]:
        s = f32(scale if scale is not None else np.exp(self.rng.uniform(-5.0, -1.0)))
        low = 0 if unsigned else -128
        zp = self.rng.integers(low, low + 256)
        self.inits += [
            numpy_helper.from_array(np.array(s, f32), f"{name}_s"),
            numpy_helper.from_array(np.array(zp, np.uint8 if unsigned else np.int8),
                                    f"{name}_z")]
        self.types[name] = unsigned
        return f"{name}_s", f"{name}_z"

    def const(self, name: str, value) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, *args, **kwargs) -> None:
        self.nodes.append(helper.make_node(*args, **kwargs))

    def output(self, name: str) -> None:
        elem = TensorProto.UINT8 if self.types[name] else TensorProto.INT8
        self.outputs.append(helper.make_tensor_value_info(name, elem, None))

    def float_input(self, name: str, shape) -> None:
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))

    def model(self, opset: int = 14) -> bytes:
        graph = helper.make_graph(self.nodes, "ops", self.inputs, self.outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset),
                                                        helper.make_opsetid("com.microsoft",
                                                                            1)])
        model.ir_version = 8
        return model.SerializeToString()


def _shape(rng) -> list[int]:
    return [1, int(rng.integers(2, 9)), int(rng.integers(2, 7)), int(rng.integers(2, 7))]


def _resize_inputs(b: _Builder, name: str, shape) -> tuple[list[str], dict]:
    """Random nearest_mode, coordinate_transformation_mode and scales or sizes."""
    rng = b.rng
    n, c, h, w = shape
    attrs = {"mode": "nearest", "coordinate_transformation_mode": str(rng.choice(COORDS)),
             "nearest_mode": str(rng.choice(NEAREST))}
    if rng.random() < 0.5:
        scales = [1.0, 1.0] + [float(rng.choice([0.5, 0.75, 1.5, 2.0, 3.0, 2.5, 1.3]))
                               for _ in range(2)]
        return ["", b.const(f"{name}_scales", np.array(scales, f32))], attrs
    sizes = [n, c, int(rng.integers(1, 2 * h + 3)), int(rng.integers(1, 2 * w + 3))]
    return ["", "", b.const(f"{name}_sizes", np.array(sizes, np.int64))], attrs


def _qdq_part(b: _Builder, p: str, unsigned: bool) -> None:
    """Float input {p}x [1, C, H, W], quantized, then each activation, Softmax over a
    random axis and two Resize (nearest; one keeping its quantization, one requantizing),
    all between DequantizeLinear and QuantizeLinear; their quantized outputs."""
    rng = b.rng
    shape = _shape(rng)
    b.float_input(f"{p}x", shape)
    q0 = f"{p}q0"
    b.node("QuantizeLinear", [f"{p}x", *b.quant(q0, unsigned)], [q0])
    specs = [("Sigmoid", {}), ("LeakyRelu", {"alpha": float(rng.uniform(0.01, 0.9))}),
             ("Tanh", {}), ("HardSigmoid", {"alpha": float(rng.uniform(0.05, 0.5)),
                                            "beta": float(rng.uniform(-0.5, 1.0))}),
             ("HardSwish", {}), ("Softmax", {"axis": int(rng.choice([1, 2, 3, -1]))})]
    for op, attrs in specs:
        name = f"{p}{op}"
        scale = 1.0 / rng.uniform(100, 280) if op == "Softmax" else None
        b.node("DequantizeLinear", [q0, f"{q0}_s", f"{q0}_z"], [f"{name}_in"])
        b.node(op, [f"{name}_in"], [f"{name}_f"], **attrs)
        b.node("QuantizeLinear", [f"{name}_f", *b.quant(name, unsigned, scale)], [name])
        b.output(name)
    for k, same in enumerate((True, False)):
        name = f"{p}resize{k}"
        ins, attrs = _resize_inputs(b, name, shape)
        b.node("DequantizeLinear", [q0, f"{q0}_s", f"{q0}_z"], [f"{name}_in"])
        b.node("Resize", [f"{name}_in", *ins], [f"{name}_f"], **attrs)
        q = [f"{q0}_s", f"{q0}_z"] if same else list(b.quant(name, unsigned))
        b.types[name] = unsigned
        b.node("QuantizeLinear", [f"{name}_f", *q], [name])
        b.output(name)


def _qoperator_part(b: _Builder, p: str, unsigned: bool) -> None:
    """Float input {p}x [1, C, H, W], quantized (as quantize_static writes QOperator
    models), then QLinearSigmoid, QLinearLeakyRelu, QLinearSoftmax (opset 13 on one axis,
    and opset 12 over the trailing axes) and Resize on the integers."""
    rng = b.rng
    shape = _shape(rng)
    b.float_input(f"{p}x", shape)
    x = f"{p}q"
    xq = b.quant(x, unsigned)
    b.node("QuantizeLinear", [f"{p}x", *xq], [x])
    for op, attrs in (("QLinearSigmoid", {}),
                      ("QLinearLeakyRelu", {"alpha": float(rng.uniform(0.01, 0.9))})):
        name = f"{p}{op}"
        b.node(op, [x, *xq, *b.quant(name, unsigned)], [name], domain="com.microsoft",
               **attrs)
        b.output(name)
    for opset, axis in ((13, int(rng.choice([1, 3, -1]))), (12, int(rng.choice([1, 2])))):
        name = f"{p}softmax{opset}"
        b.node("QLinearSoftmax",
               [x, *xq, *b.quant(name, unsigned, 1.0 / rng.uniform(100, 280))], [name],
               domain="com.microsoft", axis=axis, opset=opset)
        b.output(name)
    name = f"{p}resize"
    ins, attrs = _resize_inputs(b, name, shape)
    b.node("Resize", [x, *ins], [name], **attrs)
    b.types[name] = unsigned
    b.output(name)


FORMS = {"qdq-u8": (_qdq_part, True), "qdq-s8": (_qdq_part, False),
         "qoperator-u8": (_qoperator_part, True), "qoperator-s8": (_qoperator_part, False)}


def _model(seed: int, forms=tuple(FORMS)) -> bytes:
    """One model holding a part of each form (own input each): one firmware build. A
    draw whose Resize has a coordinate at a rounding tie (refused, see
    test_resize_indices_are_onnxruntimes) is drawn again."""
    from tinyconv.codegen.lowering.onnxrt import resize_nearest_indices

    for attempt in range(20):
        b = _Builder(np.random.default_rng(seed + 1000 * attempt))
        for k, form in enumerate(forms):
            part, unsigned = FORMS[form]
            part(b, f"p{k}_", unsigned)
        data = b.model()
        try:
            for op in import_onnx(data, "ops.onnx").ops:
                if isinstance(op, OrtResizeNearest):
                    resize_nearest_indices(op, 1), resize_nearest_indices(op, 2)
        except UnsupportedOpError:
            continue
        return data
    raise AssertionError("no draw without a rounding tie")


def _calibrated_model(tmp_path, seed: int) -> bytes:
    """Conv -> Sigmoid, LeakyRelu, Softmax and Resize, quantized by onnxruntime's
    quantize_static (QDQ, uint8 activations) as a user's model would be."""
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    rng = np.random.default_rng(seed)
    shape = (1, 3, 6, 6)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Sigmoid", ["c"], ["sig"]),
             helper.make_node("LeakyRelu", ["c"], ["lr"], alpha=0.1),
             helper.make_node("Softmax", ["c"], ["sm"], axis=1),
             helper.make_node("Resize", ["c", "", "scales"], ["rs"], mode="nearest")]
    inits = [numpy_helper.from_array(rng.normal(size=(5, 3, 3, 3)).astype(f32), "w"),
             numpy_helper.from_array(np.array([1, 1, 2, 2], f32), "scales")]
    graph = helper.make_graph(
        nodes, "calibrated", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
         for n in ("sig", "lr", "sm", "rs")], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    float_path, int8_path = tmp_path / "f.onnx", tmp_path / "q.onnx"
    onnx.save(model, float_path)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": rng.normal(size=shape).astype(f32)} for _ in range(8)])

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(float_path), str(int8_path), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return int8_path.read_bytes()


def _check(data: bytes, board: str, n: int = 4, seed: int = 0) -> None:
    report = verify(data, targets.get_board(board), source="ops.onnx", n=n, seed=seed,
                    count_instructions=False)
    assert report.reference == "onnxruntime"
    assert report.outputs_compared > 0
    assert report.mismatched_bytes == 0, report.mismatches


def test_ops_import_as_onnxruntime_runs_them():
    graph = import_onnx(_model(0), "ops.onnx")
    kinds = [type(op) for op in graph.ops]
    for cls in (OrtTanh, OrtHardSigmoid, OrtHardSwish):  # QDQ only
        assert kinds.count(cls) == 2, cls
    for cls in (OrtSigmoid, OrtLeakyRelu):  # QDQ, fused as in onnxruntime, and QOperator
        assert kinds.count(cls) == 4, cls
    assert kinds.count(OrtSoftmax) == 2 + 4 and kinds.count(OrtResizeNearest) == 4 + 2
    sig = [op for op in graph.ops if isinstance(op, OrtSigmoid)]
    assert [op.value_offset for op in sig] == [128, 0, 128, 0]
    assert all(op.inplace_input() == 0 for op in sig)
    assert graph.metadata["onnx"]["qdq_int8"]  # the int8 QDQ part


def test_ops_match_onnxruntime_on_host():
    """Every op in every form, random shapes, attributes and quantization: one build."""
    _check(_model(1), "host", n=4)


@pytest.mark.parametrize("board", board_params(["qemu-m7"]) +
                         board_params(["qemu-m4", "qemu-m55", "qemu-m0plus"], slow=True))
def test_ops_match_onnxruntime_in_qemu(board):
    _check(_model(2), board, n=3)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_ops_sweep_matches_onnxruntime_on_host(seed):
    _check(_model(100 + seed), "host", n=4, seed=seed)


@pytest.mark.slow
@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_form_alone_matches_onnxruntime_on_host(form):
    """A model of one form only (uint8-only models run with default session options)."""
    _check(_model(300, (form,)), "host", n=4)


def test_calibrated_model_imports_the_fused_ops(tmp_path):
    kinds = {type(op) for op in import_onnx(_calibrated_model(tmp_path, 0), "c.onnx").ops}
    assert {OrtSigmoid, OrtLeakyRelu, OrtSoftmax, OrtResizeNearest} <= kinds


@pytest.mark.slow
@pytest.mark.parametrize("board", board_params(["qemu-m7"]))
def test_calibrated_model_matches_onnxruntime_in_qemu(tmp_path, board):
    _check(_calibrated_model(tmp_path, 0), board, n=6)


def _torch_model(tmp_path) -> bytes:
    """A tiny PyTorch segmentation net (conv + ReLU, max pool, conv, nearest 2x upsample,
    a per-pixel Softmax over classes and a Sigmoid mask) exported by torch.onnx and
    quantized through --calibrate's code path (uint8 activations)."""
    import io

    torch = pytest.importorskip("torch")
    from tinyconv import onnx_calibrate

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = torch.nn.Conv2d(3, 8, 3, padding=1)
            self.c2 = torch.nn.Conv2d(8, 8, 3, padding=1)
            self.head = torch.nn.Conv2d(8, 4, 1)
            self.up = torch.nn.Upsample(scale_factor=2, mode="nearest")

        def forward(self, x):
            x = torch.relu(self.c1(x))
            x = torch.relu(self.c2(torch.nn.functional.max_pool2d(x, 2)))
            logits = self.head(self.up(x))
            return torch.softmax(logits, dim=1), torch.sigmoid(logits)

    torch.manual_seed(0)
    buffer = io.BytesIO()
    torch.onnx.export(Net().eval(), torch.randn(1, 3, 16, 16), buffer, opset_version=13,
                      dynamo=False, input_names=["x"], output_names=["classes", "mask"])
    calib = tmp_path / "calib.npy"
    np.save(calib, np.random.default_rng(0).normal(size=(16, 3, 16, 16)).astype(f32))
    return onnx_calibrate.quantize(buffer.getvalue(), str(calib), tmp_path / "seg_int8.onnx")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's TorchScript exporter
@pytest.mark.parametrize("board", board_params(["qemu-m7"]))
def test_pytorch_segmentation_net_matches_onnxruntime_in_qemu(tmp_path, board):
    data = _torch_model(tmp_path)
    kinds = {type(op) for op in import_onnx(data, "seg.onnx").ops}
    assert {OrtSoftmax, OrtSigmoid, OrtResizeNearest} <= kinds
    report = verify(data, targets.get_board(board), source="seg.onnx", n=4,
                    count_instructions=False)
    assert report.outputs_compared == 4 * 2 * (4 * 16 * 16)
    assert report.mismatched_bytes == 0, report.mismatches


@pytest.mark.parametrize("op, attrs", [("Sigmoid", {}), ("Tanh", {}), ("HardSwish", {}),
                                       ("LeakyRelu", {"alpha": 0.37}),
                                       ("HardSigmoid", {"alpha": 0.3127, "beta": 0.41})])
def test_float_functions_are_onnxruntimes_bit_for_bit(op, attrs):
    """The float32 functions the tables are built from equal onnxruntime's float ops on
    2e5 random inputs (rounding differences of FMA vs two roundings show up by the
    thousands at this size)."""
    from tinyconv.codegen.lowering.onnxrt import ort_function
    from tinyconv.ir.graph import DType, Tensor

    x = (np.random.default_rng(0).normal(size=200_003) * 4).astype(f32)
    graph = helper.make_graph(
        [helper.make_node(op, ["x"], ["y"], **attrs)], "f",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [x.size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [x.size])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    expected = session.run(None, {"x": x})[0]
    t = Tensor(index=0, name="t", shape=(1,), dtype=DType.INT8)
    cls = {"Sigmoid": OrtSigmoid, "Tanh": OrtTanh, "HardSwish": OrtHardSwish,
           "LeakyRelu": OrtLeakyRelu, "HardSigmoid": OrtHardSigmoid}[op]
    got = ort_function(cls(inputs=[t], outputs=[t], **attrs), x)
    assert np.array_equal(got.view(np.int32), expected.view(np.int32))


def test_resize_indices_are_onnxruntimes():
    """resize_nearest_indices against onnxruntime's Resize of distinct values, for every
    coordinate transformation and nearest mode, scales and sizes (up, down, equal). A
    float32 coordinate within four ulps of a rounding tie is refused: onnxruntime's x86-64
    build lands on either side there (measured on 1,500 random cases: 17 refused, the
    other 1,483 equal)."""
    from tinyconv.codegen.lowering.onnxrt import resize_nearest_indices
    from tinyconv.ir.graph import DType, Quant, Tensor

    rng = np.random.default_rng(0)
    q = Quant((0.1,), (0,))
    refused = 0
    for k in range(120):
        h, w = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        coord, nearest = COORDS[k % len(COORDS)], NEAREST[(k // len(COORDS)) % len(NEAREST)]
        by_scales = bool(k % 2)
        if by_scales:
            sc = np.array([1, 1] + list(rng.choice([0.5, 0.6, 1.0, 1.5, 2.0, 2.5, 3.0], 2)),
                          f32)
            out = [int(f32(s * f32(d))) for s, d in zip(sc, (1, 1, h, w))]
            extra = ["", numpy_helper.from_array(sc, "sc")]
        else:
            out = [1, 1, int(rng.integers(1, 2 * h + 2)), int(rng.integers(1, 2 * w + 2))]
            sc = np.array([1, 1] + [f32(f32(o) / f32(d)) for o, d in zip(out[2:], (h, w))],
                          f32)
            extra = ["", "", numpy_helper.from_array(np.array(out, np.int64), "sz")]
        inits = [e for e in extra if not isinstance(e, str)]
        names = [e if isinstance(e, str) else e.name for e in extra]
        graph = helper.make_graph(
            [helper.make_node("Resize", ["x", *names], ["y"], mode="nearest",
                              coordinate_transformation_mode=coord, nearest_mode=nearest)],
            "r", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, h, w])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        x = np.arange(h * w, dtype=f32).reshape(1, 1, h, w)
        y = ort.InferenceSession(model.SerializeToString(),
                                 providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        tx = Tensor(index=0, name="x", shape=(1, h, w, 1), dtype=DType.INT8, quant=q)
        ty = Tensor(index=1, name="y", shape=(1, out[2], out[3], 1), dtype=DType.INT8,
                    quant=q)
        op = OrtResizeNearest(inputs=[tx], outputs=[ty], scales=(float(sc[2]), float(sc[3])),
                              coordinate_mode=coord, nearest_mode=nearest)
        try:
            rows, cols = resize_nearest_indices(op, 1), resize_nearest_indices(op, 2)
        except UnsupportedOpError as e:  # a coordinate at a rounding tie: refused
            assert "rounding tie" in str(e) and "\n" not in str(e)
            refused += 1
            continue
        expected = x[0, 0][rows][:, cols]
        assert np.array_equal(y[0, 0], expected), (coord, nearest, h, w, out)
    assert refused <= 6, refused


def test_softmax_whose_onnxruntime_arithmetic_overflows_is_refused():
    """Rows of one element with output scale 1/256: exp * floor(1 / scale) overflows
    float32 in onnxruntime (an undefined cast follows): refused in one line."""
    b = _Builder(np.random.default_rng(0))
    b.float_input("x", [1, 1, 3, 3])
    xq = b.quant("q", True)
    b.node("QuantizeLinear", ["x", *xq], ["q"])
    b.node("QLinearSoftmax", ["q", *xq, *b.quant("y", True, 1.0 / 256)], ["y"],
           domain="com.microsoft", axis=1, opset=13)
    b.output("y")
    with pytest.raises(UnsupportedOpError, match="overflows float32") as e:
        verify(b.model(13), targets.get_board("host"), source="sm.onnx", n=1,
               count_instructions=False)
    assert "\n" not in str(e.value)


def test_conv_transpose_is_refused_in_one_line():
    rng = np.random.default_rng(0)
    b = _Builder(rng)
    b.float_input("x", [1, 3, 1, 1])  # a 1x1 input: onnxruntime's SGEMM is host-dependent
    b.node("QuantizeLinear", ["x", *b.quant("q0", True)], ["q0"])
    b.node("DequantizeLinear", ["q0", "q0_s", "q0_z"], ["xf"])
    b.const("w", rng.integers(-127, 128, size=(3, 2, 3, 3)).astype(np.int8))
    b.const("w_s", np.array(0.05, f32))
    b.node("DequantizeLinear", ["w", "w_s"], ["wf"])
    b.node("ConvTranspose", ["xf", "wf"], ["yf"], strides=[2, 2], name="up")
    b.node("QuantizeLinear", ["yf", *b.quant("y", True)], ["y"])
    b.output("y")
    data = b.model(13)
    with pytest.raises(UnsupportedOpError) as e:
        import_onnx(data, "convt.onnx")
    message = str(e.value)
    assert "\n" not in message and "'up' (ConvTranspose)" in message
    assert "1x1-pixel input" in message and "supported: " in message
