"""ONNX import (tinyconv/ir/onnx_import.py) and `--match onnxruntime`: quantized ONNX models
as onnxruntime's quantize_static writes them (QDQ and QOperator, per-tensor and
per-channel, uint8 and int8 activations) run with 0 mismatched bytes against onnxruntime
(tinyconv/onnx_oracle.py), on the host (ASan/UBSan) and in QEMU."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.support.cli_process import run_cli
from tests.support.harness import board_params
from tinyconv import targets
from tinyconv.errors import UnsupportedOpError
from tinyconv.ir import ops as O
from tinyconv.ir.onnx_import import NCHW_AS_NHWC, import_onnx
from tinyconv.ir.onnx_ops import (OrtAdd, OrtAveragePool, OrtConv2D, OrtDepthwiseConv2D,
                                  OrtFullyConnected, OrtGlobalAveragePool, OrtMul,
                                  OrtRequantize)
from tinyconv.verify import verify

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _float_model(seed: int) -> "onnx.ModelProto":
    """Conv+Relu, depthwise conv, residual Add, MaxPool, a stride-2 conv whose explicit
    pads are not TFLite's SAME (a PAD goes in front), GlobalAveragePool, Flatten, Gemm;
    a Concat of inputs with other scales than its output's (requantized), a Mul and a
    padded AveragePool (float arithmetic in onnxruntime). Five outputs."""
    rng = np.random.default_rng(seed)

    def init(name, shape, s=0.3):
        return numpy_helper.from_array((rng.normal(size=shape) * s).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], group=8),
        helper.make_node("Add", ["r1", "c2"], ["a1"]),
        helper.make_node("MaxPool", ["a1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w3", "b3"], ["c3"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["c3"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], transB=1),
        helper.make_node("Conv", ["r1", "w4"], ["c4"]),
        helper.make_node("Concat", ["a1", "c4"], ["cat"], axis=1),
        helper.make_node("Mul", ["cat", "a1b"], ["m"]),
        helper.make_node("Conv", ["r1", "w5"], ["a1b"]),
        helper.make_node("AveragePool", ["m"], ["ap"], kernel_shape=[3, 3], strides=[2, 2],
                         pads=[1, 1, 1, 1]),
    ]
    nodes = nodes[:-3] + [nodes[-2], nodes[-3], nodes[-1]]  # a1b before the Mul
    inits = [init("w1", (8, 3, 3, 3)), init("b1", (8,), 0.1), init("w2", (8, 1, 3, 3)),
             init("b2", (8,), 0.1), init("w3", (12, 8, 3, 3)), init("b3", (12,), 0.1),
             init("wf", (5, 12)), init("bf", (5,), 0.1), init("w4", (4, 8, 1, 1), 2.0),
             init("w5", (12, 8, 1, 1))]
    graph = helper.make_graph(
        nodes, "battery", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
         for n in ("a1", "p1", "y", "m", "ap")],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def _quantized(tmp_path: Path, seed: int = 0, *, qoperator: bool = False,
               per_channel: bool = True, uint8: bool = True,
               model: "onnx.ModelProto | None" = None, shape=(1, 3, 8, 8)) -> bytes:
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    rng = np.random.default_rng(seed + 100)
    model = model if model is not None else _float_model(seed)
    float_path, int8_path = tmp_path / f"f{seed}.onnx", tmp_path / f"q{seed}.onnx"
    onnx.save(model, float_path)
    shapes = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim]
              for i in model.graph.input}
    shapes[model.graph.input[0].name] = list(shape)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{n: rng.normal(size=s).astype(np.float32)
                             for n, s in shapes.items()} for _ in range(8)])

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(float_path), str(int8_path), Reader(), per_channel=per_channel,
                    quant_format=QuantFormat.QOperator if qoperator else QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8 if uint8 else QuantType.QInt8,
                    weight_type=QuantType.QInt8)
    return int8_path.read_bytes()


def test_import_lays_out_nhwc_and_keeps_onnxruntime_parameters(tmp_path):
    data = _quantized(tmp_path)
    graph = import_onnx(data, "battery.onnx")
    kinds = [type(op) for op in graph.ops]
    assert Counter(kinds) == Counter({OrtConv2D: 4, OrtDepthwiseConv2D: 1, OrtAdd: 1,
                                      O.MaxPool2D: 1, O.Pad: 1, OrtGlobalAveragePool: 1,
                                      O.Reshape: 1, OrtFullyConnected: 1, OrtRequantize: 1,
                                      O.Concatenation: 1, OrtMul: 1, OrtAveragePool: 1})
    assert graph.inputs[0].shape == (1, 8, 8, 3)  # NCHW [1, 3, 8, 8] laid out NHWC
    assert [t.shape for t in graph.outputs] == [(1, 8, 8, 8), (1, 4, 4, 8), (1, 5),
                                                (1, 8, 8, 12), (1, 4, 4, 12)]
    conv = next(op for op in graph.ops if op.x is graph.inputs[0])
    assert conv.padding is O.Padding.SAME and conv.filter.shape == (8, 3, 3, 3)
    # the weights are the file's int8 values, OHWI, with one scale per output channel
    model = onnx.load_model_from_string(data)
    w = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    w1 = next(v for k, v in w.items() if k.startswith("w1") and v.ndim == 4)
    np.testing.assert_array_equal(conv.filter.data, w1.transpose(0, 2, 3, 1))
    assert len(conv.filter.quant.scale) == 8
    # uint8 activations: stored as int8 with the zero point shifted by -128
    io = graph.metadata["onnx"]
    assert io["inputs"][0].offset == 128 and io["inputs"][0].perm == NCHW_AS_NHWC
    assert graph.inputs[0].quant.zp == io["inputs"][0].zero_point - 128
    assert not io["qdq_int8"]
    s8 = import_onnx(_quantized(tmp_path, seed=7, uint8=False), "s8.onnx")
    assert s8.metadata["onnx"]["qdq_int8"] and s8.metadata["onnx"]["inputs"][0].offset == 0
    pad = next(op for op in graph.ops if isinstance(op, O.Pad))
    assert pad.paddings == ((0, 0), (1, 1), (1, 1), (0, 0))  # explicit [1, 1, 1, 1]
    after_pad = next(op for op in graph.ops if op.x is pad.y)
    assert isinstance(after_pad, OrtConv2D) and after_pad.padding is O.Padding.VALID


def test_unsupported_node_is_one_line_exit_2_and_no_output(tmp_path):
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("ReduceMean", ["c"], ["y"], axes=[2, 3], name="probs")]
    graph = helper.make_graph(
        nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(rng.normal(size=(4, 3, 1, 1)).astype(np.float32), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    data = _quantized(tmp_path, model=model, shape=(1, 3, 4, 4))
    with pytest.raises(UnsupportedOpError) as e:
        import_onnx(data, "reduce.onnx")
    message = str(e.value)
    assert "'probs' (ReduceMean)" in message and "supported: " in message
    assert "QLinearConv" in message
    path, out = tmp_path / "reduce.onnx", tmp_path / "out"
    path.write_bytes(data)
    result = run_cli("export", str(path), "-o", str(out), "--target", "cortex-m4")
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and "ReduceMean" in lines[0] and "supported:" in lines[0]
    assert not out.exists()


def test_float_onnx_with_calibrate_exports_and_writes_the_int8_model(tmp_path):
    model_path, inputs = tmp_path / "float.onnx", tmp_path / "calib.npy"
    onnx.save(_float_model(3), model_path)
    np.save(inputs, np.random.default_rng(0).normal(size=(8, 3, 8, 8)).astype(np.float32))
    out = tmp_path / "out"
    refused = run_cli("export", str(model_path), "-o", str(out), "--target", "cortex-m4")
    assert refused.returncode == 2 and "--calibrate" in refused.stderr and not out.exists()
    result = run_cli("export", str(model_path), "--calibrate", str(inputs), "-o", str(out),
                     "--target", "cortex-m4")
    assert result.returncode == 0, result.stderr
    # the boundary conversion is spelled out: uint8 activations, NCHW -> NHWC
    assert "input 'x': int8 [1, 8, 8, 3], q = clamp(round_half_even(x / " in result.stdout
    assert "0, 255) - 128, axes of the ONNX tensor in order [0, 2, 3, 1]" in result.stdout
    int8 = out / "model" / "float_int8.onnx"
    graph = import_onnx(int8.read_bytes(), str(int8))
    assert graph.metadata["onnx"]["inputs"][0].offset == 128  # uint8 activations
    assert (out / "model" / "model.c").exists()
    assert "tc_convolve_s8_ort" in (out / "model" / "model.c").read_text()


def test_onnx_match_is_required_for_onnx_models(tmp_path):
    from tinyconv.errors import TinyconvError
    from tinyconv.ir.onnx_import import match_for

    graph = import_onnx(_quantized(tmp_path), "battery.onnx")
    assert match_for(graph, "auto") == "onnxruntime"
    with pytest.raises(TinyconvError, match="ONNX model"):
        match_for(graph, "litert")


def _check(data: bytes, board: str, n: int = 4) -> None:
    report = verify(data, targets.get_board(board), source="battery.onnx", n=n,
                    count_instructions=False)
    assert report.reference == "onnxruntime"
    int8_qdq = import_onnx(data).metadata["onnx"]["qdq_int8"]
    assert ("session.qdqisint8allowed=1" in report.reference_note) == int8_qdq
    assert report.outputs_compared == n * (512 + 128 + 5 + 768 + 192)
    assert report.mismatched_bytes == 0, report.mismatches


@pytest.mark.parametrize("board", board_params(["host"]))
def test_qdq_uint8_per_channel_matches_onnxruntime(tmp_path, board):
    _check(_quantized(tmp_path, seed=1), board)


FORMS = {
    "qdq-u8-per-channel": dict(per_channel=True),
    "qdq-u8-per-tensor": dict(per_channel=False),
    "qdq-s8-per-channel": dict(uint8=False, per_channel=True),
    "qoperator-u8": dict(qoperator=True, per_channel=True),
    "qoperator-s8": dict(qoperator=True, uint8=False, per_channel=True),
}
# QDQ with int8 activations is compared with onnxruntime run with
# session.qdqisint8allowed=1 (tinyconv/onnx_oracle.py): its integer kernels, as on Arm64.
# With x86-64's default session options onnxruntime runs those groups in float, whose
# summation order depends on the host's ISA; 0.6% to 1.3% of the bytes then differ
# (measured on this battery and the pattern models, 300 inputs each).


@pytest.mark.slow
@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("board", board_params(["qemu-m4", "qemu-m7", "qemu-m55"]))
def test_forms_match_onnxruntime_in_qemu(tmp_path, board, form):
    _check(_quantized(tmp_path, seed=2, **FORMS[form]), board)


@pytest.mark.slow
@pytest.mark.parametrize("board", board_params(["qemu-m7"]))
def test_keras_model_via_tf2onnx_matches_onnxruntime(tmp_path, board):
    """A Keras CNN (conv, depthwise + batch norm + ReLU6, residual add, max pool, strided
    conv, global average pool, dense with a bias Add) -> tf2onnx (NHWC input, transposes
    inside) -> quantize_static (uint8 activations) -> firmware: 0 bytes differ."""
    from tinyconv import onnx_export
    from tinyconv.keras_compat import tf

    keras = tf.keras
    inp = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    y = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    y = keras.layers.BatchNormalization()(y)
    y = keras.layers.ReLU(6.0)(y)
    x = keras.layers.Add()([x, y])
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inp, keras.layers.Dense(6)(x))
    rng = np.random.default_rng(1)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([np.abs(rng.normal(size=w.shape)) * 0.5 + 0.5
                               if "batch" in layer.name and i == 3
                               else rng.normal(size=w.shape) * 0.3
                               for i, w in enumerate(weights)])
    float_path = tmp_path / "keras.onnx"
    onnx_export.export_float(model, float_path)
    data = _quantized(tmp_path, model=onnx.load(float_path), shape=(1, 12, 12, 3))
    graph = import_onnx(data, "keras.onnx")
    assert graph.inputs[0].shape == (1, 12, 12, 3)  # the Keras NHWC input, no transpose
    report = verify(data, targets.get_board(board), source="keras.onnx", n=8,
                    count_instructions=False)
    assert report.outputs_compared == 8 * 6
    assert report.mismatched_bytes == 0, report.mismatches


@pytest.mark.slow
@pytest.mark.parametrize("board", board_params(["qemu-m4"]))
def test_float_onnx_with_calibrate_verifies(tmp_path, board):
    model_path, inputs = tmp_path / "float.onnx", tmp_path / "calib.npy"
    onnx.save(_float_model(4), model_path)
    np.save(inputs, np.random.default_rng(1).normal(size=(8, 3, 8, 8)).astype(np.float32))
    result = run_cli("verify", str(model_path), "--calibrate", str(inputs), "--board", board,
                     "-n", "4", "--keep", str(tmp_path / "keep"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 mismatched" in result.stdout and "onnxruntime" in result.stdout
    assert (tmp_path / "keep" / "float_int8.onnx").exists()


# PyTorch-exported single-layer models shipped with the `onnx` package (float; quantized
# here by onnxruntime's quantize_static through --calibrate's code path).
PYTORCH_MODELS = {
    "test_Conv2d": ["CONV_2D"],
    "test_Conv2d_depthwise": ["DEPTHWISE_CONV_2D"],
    "test_Conv2d_depthwise_padded": ["DEPTHWISE_CONV_2D"],
    "test_Conv2d_depthwise_strided": ["DEPTHWISE_CONV_2D"],
    "test_Conv2d_depthwise_with_multiplier": ["DEPTHWISE_CONV_2D"],
    "test_Conv2d_dilated": ["PAD", "CONV_2D"],
    "test_Conv2d_groups": ["CONV_2D"],
    "test_Conv2d_groups_thnn": ["CONV_2D"],
    "test_Conv2d_no_bias": ["CONV_2D"],
    "test_Conv2d_padding": ["PAD", "CONV_2D"],
    "test_Conv2d_strided": ["CONV_2D"],
    "test_Linear": ["FULLY_CONNECTED"],
    "test_Linear_no_bias": ["FULLY_CONNECTED"],
    "test_ZeroPad2d": ["PAD"],
}


def _pytorch_model(name: str, tmp_path: Path) -> bytes:
    from tinyconv import onnx_calibrate

    path = Path(onnx.__file__).parent / "backend/test/data/pytorch-converted" / name / "model.onnx"
    shape = [d.dim_value for d in onnx.load(path).graph.input[0].type.tensor_type.shape.dim]
    calib = tmp_path / f"{name}.npy"
    np.save(calib, np.random.default_rng(0).normal(size=[8] + shape[1:]).astype(np.float32))
    return onnx_calibrate.quantize(path.read_bytes(), str(calib), tmp_path / f"{name}_int8.onnx")


def test_pytorch_converted_models_import(tmp_path):
    for name, kinds in PYTORCH_MODELS.items():
        graph = import_onnx(_pytorch_model(name, tmp_path), name)
        assert [op.kind for op in graph.ops] == kinds, name


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PYTORCH_MODELS))
@pytest.mark.parametrize("board", board_params(["qemu-m7"]))
def test_pytorch_converted_models_match_onnxruntime(tmp_path, board, name):
    report = verify(_pytorch_model(name, tmp_path), targets.get_board(board),
                    source=f"{name}.onnx", n=3, count_instructions=False)
    assert report.outputs_compared > 0
    assert report.mismatched_bytes == 0, report.mismatches


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's TorchScript exporter
@pytest.mark.parametrize("board", board_params(["qemu-m4", "qemu-m7", "qemu-m55"]))
def test_pytorch_cnn_exported_by_torch_matches_onnxruntime(tmp_path, board):
    """A PyTorch CNN (conv + batch norm + ReLU, depthwise + ReLU6 residual, max pool,
    strided conv with PyTorch's symmetric padding, adaptive average pool, linear) exported
    by torch.onnx (TorchScript exporter), quantized through --calibrate's code path."""
    import io

    torch = pytest.importorskip("torch")
    from tinyconv import onnx_calibrate

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.b1 = torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8)
            self.dw = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8)
            self.c2 = torch.nn.Conv2d(8, 16, 3, stride=2, padding=1)
            self.pool, self.fc = torch.nn.MaxPool2d(2), torch.nn.Linear(16, 10)

        def forward(self, x):
            x = torch.relu(self.b1(self.c1(x)))
            x = x + torch.nn.functional.relu6(self.dw(x))
            x = torch.relu(self.c2(self.pool(x)))
            return self.fc(torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1))

    torch.manual_seed(0)
    net = Net().eval()
    with torch.no_grad():
        net.b1.running_mean.uniform_(-0.5, 0.5)
        net.b1.running_var.uniform_(0.5, 1.5)
    buffer = io.BytesIO()
    torch.onnx.export(net, torch.randn(1, 3, 16, 16), buffer, opset_version=13, dynamo=False,
                      input_names=["x"], output_names=["y"])
    calib = tmp_path / "calib.npy"
    np.save(calib, np.random.default_rng(0).normal(size=(16, 3, 16, 16)).astype(np.float32))
    data = onnx_calibrate.quantize(buffer.getvalue(), str(calib), tmp_path / "torch_int8.onnx")
    report = verify(data, targets.get_board(board), source="torch.onnx", n=8,
                    count_instructions=False)
    assert report.outputs_compared == 8 * 10
    assert report.mismatched_bytes == 0, report.mismatches


# -- the patterns of the ops already imported: broadcasting, pools, Gemm ------------------

def _pattern_model(seed: int, alpha: float = 1.0) -> "onnx.ModelProto":
    """Randomized shapes: Add/Mul broadcasting every way (per-channel and per-row
    constants, a constant first, squeeze-excite, an activation broadcast over channels,
    two [C, 1] x [1, W] operands, ranks 5 and 6); MaxPool with asymmetric pads,
    ceil_mode, dilations and every auto_pad; AveragePool with ceil_mode,
    count_include_pad and asymmetric pads; Gemm with transA (and `alpha`: a QDQ Gemm
    with alpha != 1 stays float in onnxruntime, so only the QOperator form takes it);
    MatMul with batch dimensions. Every result is an output."""
    rng = np.random.default_rng(seed)
    c, h, w = (int(v) for v in rng.integers(2, 6, 3) + np.array([0, 3, 3]))
    d = [int(v) for v in rng.integers(2, 4, 6)]
    k = int(rng.integers(2, 4))
    inputs = {"x": [1, c, h, w], "z": [1, 1, h, w], "u": [2, d[0], 1, d[1], d[2]],
              "v": [1, d[0], d[3], 1, 1], "p": [2, d[0], 1, 1, d[4], d[5]],
              "q": [d[0], d[1], d[2], 1, 1], "m": [c, 1], "n": [1, w], "r": [6, 4],
              "t": [2, 3, 5]}

    def init(name, shape, s=1.0):
        return numpy_helper.from_array((rng.normal(size=shape) * s).astype(np.float32), name)

    def pads(limit):
        return [int(v) for v in rng.integers(0, limit, 4)]

    mk = helper.make_node
    nodes = [
        mk("Add", ["x", "c_c11"], ["o_add_c11"]), mk("Mul", ["x", "c_1c11"], ["o_mul_1c11"]),
        mk("Add", ["c_w", "x"], ["o_add_w_first"]),
        mk("GlobalAveragePool", ["x"], ["g"]), mk("Mul", ["x", "g"], ["o_mul_se"]),
        mk("Add", ["g", "x"], ["o_add_se_first"]), mk("Mul", ["c_11h1", "x"], ["o_mul_rows"]),
        mk("Add", ["x", "z"], ["o_add_z"]), mk("Mul", ["z", "x"], ["o_mul_z_first"]),
        mk("Add", ["m", "n"], ["o_add_outer"]), mk("Mul", ["n", "m"], ["o_mul_outer"]),
        mk("Add", ["u", "v"], ["o_add_rank5"]), mk("Mul", ["p", "q"], ["o_mul_rank6"]),
        mk("Add", ["x", "c_one"], ["o_add_scalar"]),
        mk("MaxPool", ["x"], ["o_max_pads"], kernel_shape=[k, k], strides=[2, 1],
           pads=pads(k), ceil_mode=int(rng.integers(0, 2))),
        mk("MaxPool", ["x"], ["o_max_ceil"], kernel_shape=[k, 2], strides=[2, 2],
           pads=[0, 1, 1, 0], ceil_mode=1),
        mk("MaxPool", ["x"], ["o_max_upper"], kernel_shape=[k, k + 1], strides=[2, 2],
           auto_pad="SAME_UPPER"),
        mk("MaxPool", ["x"], ["o_max_lower"], kernel_shape=[k + 1, k], strides=[1, k],
           auto_pad="SAME_LOWER"),
        mk("MaxPool", ["x"], ["o_max_valid"], kernel_shape=[k, k], strides=[k + 1, 1],
           auto_pad="VALID"),
        mk("MaxPool", ["x"], ["o_max_dilated"], kernel_shape=[2, k], strides=[1, 2],
           dilations=[2, int(rng.integers(1, 3))], pads=pads(2),
           ceil_mode=int(rng.integers(0, 2))),
        mk("AveragePool", ["x"], ["o_avg_ceil"], kernel_shape=[k, k], strides=[2, 2],
           pads=pads(k), ceil_mode=1, count_include_pad=int(rng.integers(0, 2))),
        mk("AveragePool", ["x"], ["o_avg_incl"], kernel_shape=[k + 1, k], strides=[1, 2],
           pads=pads(k), count_include_pad=1),
        mk("Flatten", ["x"], ["f"]),
        mk("Gemm", ["f", "wg", "bg"], ["o_gemm"], transB=1, alpha=alpha),
        mk("Gemm", ["r", "wt"], ["o_gemm_ta"], transA=1),
        mk("MatMul", ["t", "wm"], ["o_matmul_batch"]),
    ]
    outputs = [o for n in nodes for o in n.output if o.startswith("o_")]
    inits = [init("c_c11", (c, 1, 1)), init("c_1c11", (1, c, 1, 1)), init("c_w", (w,)),
             init("c_11h1", (1, 1, h, 1)), init("c_one", (1,)),
             init("wg", (5, c * h * w), 0.1), init("bg", (5,), 0.1), init("wt", (6, 3)),
             init("wm", (5, 3))]
    graph = helper.make_graph(
        nodes, "patterns",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


PATTERN_FORMS = {
    "qdq-s8-per-channel": dict(uint8=False, per_channel=True),
    "qdq-s8-per-tensor": dict(uint8=False, per_channel=False),
    "qdq-u8-per-channel": dict(uint8=True, per_channel=True),
    "qdq-u8-per-tensor": dict(uint8=True, per_channel=False),
    "qoperator-u8": dict(qoperator=True, uint8=True, per_channel=True, alpha=0.75),
    "qoperator-s8": dict(qoperator=True, uint8=False, per_channel=False, alpha=1.5),
}


def _patterns(tmp_path: Path, seed: int, form: str) -> bytes:
    options = dict(PATTERN_FORMS[form])
    alpha = options.pop("alpha", 1.0)
    model = _pattern_model(seed, alpha)
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    return _quantized(tmp_path, seed, model=model, shape=shape, **options)


def _check_patterns(data: bytes, board: str, n: int) -> None:
    report = verify(data, targets.get_board(board), source="patterns.onnx", n=n,
                    count_instructions=False)
    assert report.outputs_compared > 0
    assert report.mismatched_bytes == 0, report.mismatches


def test_patterns_import_with_onnxruntime_broadcast_cases(tmp_path):
    from tinyconv.ir.onnx_import import ort_broadcast_case

    # onnxruntime's Broadcaster: the innermost common axis of broadcast size > 1 decides
    assert ort_broadcast_case((1, 3, 4, 5), (3, 1, 1)) == "b"
    assert ort_broadcast_case((5,), (1, 3, 4, 5)) == ""
    assert ort_broadcast_case((1, 3, 1, 1), (1, 3, 4, 5)) == "a"
    assert ort_broadcast_case((3, 1), (1, 4)) == "a" and ort_broadcast_case((1, 4), (3, 1)) == "b"
    assert ort_broadcast_case((), (2, 3)) == "a" and ort_broadcast_case((2, 3), ()) == "b"
    assert ort_broadcast_case((1, 1), (3, 1, 1)) == "a"
    for form in ("qdq-s8-per-channel", "qoperator-u8"):
        graph = import_onnx(_patterns(tmp_path, 5, form), "patterns.onnx")
        cases = {op.name.split("_quantized")[0].split("_QuantizeLinear")[0]: op.scalar
                 for op in graph.ops if isinstance(op, OrtAdd)}
        assert cases == {"o_add_c11": "b", "o_add_w_first": "", "o_add_se_first": "a",
                         "o_add_z": "", "o_add_outer": "a", "o_add_rank5": "b",
                         "o_add_scalar": "b"}, form
        assert sum(isinstance(op, OrtMul) for op in graph.ops) == 6
        assert sum(isinstance(op, O.MaxPool2D) for op in graph.ops) == 5
        taps = sum(isinstance(op, O.StridedSlice) for op in graph.ops)  # the dilated one
        assert taps >= 4 and sum(isinstance(op, O.Maximum) for op in graph.ops) == taps - 1
        assert sum(isinstance(op, OrtAveragePool) for op in graph.ops) == 2
        fcs = [op for op in graph.ops if isinstance(op, OrtFullyConnected)]
        alphas = {op.name.split("_quantized")[0].split("_QuantizeLinear")[0]: op.alpha
                  for op in fcs}
        assert alphas == {"o_gemm": 0.75 if "qoperator" in form else 1.0, "o_gemm_ta": 1.0,
                          "o_matmul_batch": 1.0}, form
        assert any(isinstance(op, O.Pad) and op.pad_value == -128 for op in graph.ops)
    assert graph.metadata["onnx"]["inputs"][0].offset == 128


def test_refusals_are_one_line_naming_node_and_reason(tmp_path):
    mk = helper.make_node
    rng = np.random.default_rng(0)
    cases = {
        "reflect": ([mk("Conv", ["x", "wc"], ["c"]),
                     mk("Pad", ["c", "pads"], ["y"], mode="reflect", name="reflect")],
                    [numpy_helper.from_array(rng.normal(size=(3, 3, 1, 1)).astype(np.float32),
                                             "wc"),
                     numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1]), "pads")],
                    "mode 'reflect'", [1, 3, 4, 4]),
        "alpha": ([mk("Gemm", ["x", "w"], ["y"], alpha=0.5, transB=1, name="alpha")],
                  [numpy_helper.from_array(rng.normal(size=(3, 6)).astype(np.float32), "w")],
                  "in float", [2, 6]),
        "rank5_groups": ([mk("Add", ["x", "c"], ["y"], name="rank5_groups")],
                         [numpy_helper.from_array(np.ones((2, 1, 2, 1, 2), np.float32), "c")],
                         "axis groups", [1, 2, 2, 2, 2]),
    }
    for name, (nodes, inits, reason, shape) in cases.items():
        graph = helper.make_graph(
            nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        data = _quantized(tmp_path, model=model, shape=shape)
        with pytest.raises(UnsupportedOpError) as e:
            import_onnx(data, f"{name}.onnx")
        message = str(e.value)
        assert "\n" not in message and f"'{name}'" in message and reason in message, message


@pytest.mark.parametrize("board", board_params(["host"]))
def test_int8_qdq_patterns_match_onnxruntime_with_its_integer_kernels(tmp_path, board):
    """QDQ with int8 activations: 0 bytes differ from onnxruntime with
    session.qdqisint8allowed=1 (its integer kernels), and verify says so."""
    data = _patterns(tmp_path, 11, "qdq-s8-per-channel")
    report = verify(data, targets.get_board(board), source="patterns.onnx", n=4,
                    count_instructions=False)
    assert "session.qdqisint8allowed=1" in report.reference_note
    assert report.mismatched_bytes == 0 and report.outputs_compared > 0, report.mismatches


@pytest.mark.slow
@pytest.mark.parametrize("form", sorted(PATTERN_FORMS))
@pytest.mark.parametrize("board", board_params(["host", "qemu-m4", "qemu-m7", "qemu-m55"]))
def test_patterns_match_onnxruntime(tmp_path, board, form):
    seed = {"host": 1, "qemu-m4": 2, "qemu-m7": 3, "qemu-m55": 4}[board]  # other shapes
    _check_patterns(_patterns(tmp_path, seed, form), board, n=6)
