"""QDQ ConvTranspose (DequantizeLinear -> ConvTranspose -> QuantizeLinear), which
onnxruntime's CPU EP runs in float32 (no quantized ConvTranspose): tinyconv reproduces
that arithmetic (tc_nn_onnxrt.h, OrtConvTranspose). Hand-built graphs with random strides,
pads, output_padding, dilations, groups, kernel sizes, uint8 and int8 activations,
per-tensor and per-channel weights and the three kinds of bias (a DequantizeLinear'd
int32 one; a float32 one that onnxruntime's BiasQuantization pass quantizes; a float32 one
it keeps), auto_pad SAME_UPPER / SAME_LOWER and output_shape (pads as onnxruntime 1.32
computes them), a float Relu / Clip before the QuantizeLinear, 1D ConvTranspose, and a
model quantized by onnxruntime's quantize_static: 0 mismatched bytes against onnxruntime
on the host (ASan/UBSan) and in QEMU."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.harness import board_params
from tinyconv import targets
from tinyconv.errors import TinyconvError, UnsupportedOpError
from tinyconv.ir.onnx_import import import_onnx
from tinyconv.ir.onnx_ops import OrtConvTranspose
from tinyconv.verify import verify

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

f32 = np.float32


def _axis_pads(auto_pad: str, n: int, k: int, s: int, d: int, adj: int, pads, out):
    """(head, tail, size) of one output axis as onnxruntime 1.32 makes them (measured on
    12096 1D cases): output_shape or SAME_*: total = max(0, full - target), the odd one at
    the tail for SAME_UPPER, at the head otherwise."""
    full = s * (n - 1) + adj + (k - 1) * d + 1
    if out is None and auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        return pads[0], pads[1], full - pads[0] - pads[1]
    total = max(0, full - (n * s if out is None else out))
    head = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
    return head, total - head, full - total if out is None else out


class _Graph:
    """A chain of QDQ ConvTranspose layers from one quantized float input."""

    def __init__(self, rng, unsigned: bool, shape):
        self.rng, self.unsigned = rng, unsigned
        self.nodes, self.inits = [], []
        self.input = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
        self.shape = list(shape)
        self.last = self.quantize("x", "q0")
        self.outputs: list[str] = []

    def const(self, name: str, value) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def quantize(self, float_name: str, name: str) -> str:
        s = f32(np.exp(self.rng.uniform(-5.0, -1.5)))
        low = 0 if self.unsigned else -128
        zp = self.rng.integers(low, low + 256)
        self.const(f"{name}_s", np.array(s, f32))
        self.const(f"{name}_z", np.array(zp, np.uint8 if self.unsigned else np.int8))
        self.nodes.append(helper.make_node("QuantizeLinear",
                                           [float_name, f"{name}_s", f"{name}_z"], [name]))
        return name

    def conv_transpose(self, name: str, *, group: int, out_per_group: int, kernel, strides,
                       dilations, pads, output_padding, per_channel: bool, bias: str,
                       auto_pad: str = "NOTSET", output_shape=None,
                       activation=None) -> None:
        """`activation`: None, "relu" or (min, max) of a Clip between the ConvTranspose
        and its QuantizeLinear; `output_shape` / `auto_pad` other than NOTSET replace
        `pads` (as onnxruntime 1.32 computes them: _axis_pads)."""
        rng, x = self.rng, self.last
        cin, *spatial = self.shape[1:]
        self.nodes.append(helper.make_node("DequantizeLinear",
                                           [x, f"{x}_s", f"{x}_z"], [f"{name}_xf"]))
        wq = rng.integers(-127, 128, size=(cin, out_per_group, *kernel)).astype(np.int8)
        ws = rng.uniform(0.002, 0.05, out_per_group if per_channel else 1).astype(f32)
        self.const(f"{name}_w", wq)
        self.const(f"{name}_ws", ws if per_channel else ws.reshape(()))
        self.const(f"{name}_wz", np.zeros(out_per_group, np.int8) if per_channel
                   else np.array(0, np.int8))
        self.nodes.append(helper.make_node(
            "DequantizeLinear", [f"{name}_w", f"{name}_ws", f"{name}_wz"], [f"{name}_wf"],
            **({"axis": 1} if per_channel else {})))
        ins = [f"{name}_xf", f"{name}_wf"]
        out_c = group * out_per_group
        if bias == "float":
            ins.append(self.const(f"{name}_b", rng.normal(0, 0.5, out_c).astype(f32)))
        elif bias == "int32":
            x_scale = numpy_helper.to_array(next(i for i in self.inits if i.name == f"{x}_s"))
            bs = (f32(x_scale) * np.resize(ws, out_c)).astype(f32)
            self.const(f"{name}_bq", rng.integers(-4000, 4000, out_c).astype(np.int32))
            self.const(f"{name}_bs", bs)
            self.nodes.append(helper.make_node("DequantizeLinear", [f"{name}_bq", f"{name}_bs"],
                                               [f"{name}_bf"], axis=0))
            ins.append(f"{name}_bf")
        extra = {"pads": pads} if auto_pad == "NOTSET" else {"auto_pad": auto_pad}
        if output_shape is not None:
            extra["output_shape"] = list(output_shape)
        self.nodes.append(helper.make_node(
            "ConvTranspose", ins, [f"{name}_yf"], name=name, group=group, strides=strides,
            dilations=dilations, output_padding=output_padding, kernel_shape=list(kernel),
            **extra))
        y = f"{name}_yf"
        if activation == "relu":
            self.nodes.append(helper.make_node("Relu", [y], [f"{name}_af"]))
            y = f"{name}_af"
        elif activation is not None:
            self.const(f"{name}_lo", np.array(activation[0], f32))
            self.const(f"{name}_hi", np.array(activation[1], f32))
            self.nodes.append(helper.make_node("Clip", [y, f"{name}_lo", f"{name}_hi"],
                                               [f"{name}_af"]))
            y = f"{name}_af"
        self.last = self.quantize(y, name)
        out = [_axis_pads(auto_pad, n, k, s, d, a, (pads[i], pads[i + len(spatial)]),
                          None if output_shape is None else output_shape[i])[2]
               for i, (n, k, s, d, a) in enumerate(zip(spatial, kernel, strides, dilations,
                                                       output_padding))]
        self.shape = [1, out_c, *out]

    def random_layer(self, name: str, small: bool = False, padding: bool = False,
                     last: bool = False) -> None:
        """`padding`: also a random auto_pad, Relu / Clip and (`last`) output_shape."""
        rng = self.rng
        cin = self.shape[1]
        groups = [g for g in (1, 2, 3) if cin % g == 0]
        group = int(rng.choice(groups))
        kernel = [int(rng.integers(1, 4)), int(rng.integers(1, 4))]
        strides = [int(rng.integers(1, 3 if small else 4)), int(rng.integers(1, 3 if small
                                                                               else 4))]
        dilations = [int(rng.integers(1, 3)), int(rng.integers(1, 3))]
        output_padding = [int(rng.integers(0, s)) for s in strides]
        full = [s * (n - 1) + p + (k - 1) * d + 1 for s, n, p, k, d in
                zip(strides, self.shape[2:], output_padding, kernel, dilations)]
        pads = [0, 0, 0, 0]
        for i in rng.permutation(4):  # as much padding as leaves an output of 2 or more
            room = full[i % 2] - pads[i % 2] - pads[i % 2 + 2] - 2
            pads[i] = int(rng.integers(0, max(0, min(room, (kernel[i % 2] - 1) *
                                                     dilations[i % 2])) + 1))
        extra: dict = {}
        if padding:
            extra["auto_pad"] = str(rng.choice(["NOTSET", "SAME_UPPER", "SAME_LOWER",
                                                "VALID"]))
            extra["activation"] = [None, "relu", tuple(sorted(rng.normal(0, 1, 2)))][
                int(rng.integers(0, 3))]
            if last:  # any size onnxruntime takes: up to full - output_padding + s - 1
                extra["output_shape"] = [int(rng.integers(max(2, f - 4), f - a + s))
                                         for f, a, s in zip(full, output_padding, strides)]
        self.conv_transpose(name, group=group, out_per_group=int(rng.integers(1, 4)),
                            kernel=kernel, strides=strides, dilations=dilations, pads=pads,
                            output_padding=output_padding,
                            per_channel=bool(rng.random() < 0.5),
                            bias=str(rng.choice(["none", "float", "int32"])), **extra)

    def output(self) -> None:
        self.outputs.append(self.last)

    def model(self) -> bytes:
        elem = TensorProto.UINT8 if self.unsigned else TensorProto.INT8
        graph = helper.make_graph(self.nodes, "convt", [self.input],
                                  [helper.make_tensor_value_info(n, elem, None)
                                   for n in self.outputs], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
        model.ir_version = 9
        return model.SerializeToString()


def _random_model(seed: int, layers: int = 3, padding: bool = False) -> bytes:
    """`layers` random ConvTranspose layers in a chain (each an output), uint8 or int8;
    `padding`: with random auto_pad, Relu / Clip and a last layer's output_shape."""
    rng = np.random.default_rng(seed)
    g = _Graph(rng, bool(seed % 2), [1, int(rng.choice([2, 3, 4, 6])), int(rng.integers(2, 5)),
                                    int(rng.integers(2, 5))])
    for i in range(layers):
        g.random_layer(f"ct{i}", small=True, padding=padding, last=i == layers - 1)
        g.output()
    return g.model()


def _fixed_model(unsigned: bool) -> bytes:
    """Every feature at least once: groups, per-channel weights, the three biases, stride
    3 with output_padding, dilation, asymmetric pads and a 1xK kernel; more than 128
    input channels in a group (MLAS's second K block); and, from the input,
    _padding_layers (auto_pad, output_shape, Relu and Clip)."""
    g = _Graph(np.random.default_rng(7), unsigned, [1, 6, 3, 4])
    g.conv_transpose("a", group=2, out_per_group=3, kernel=(3, 3), strides=(2, 2),
                     dilations=(1, 1), pads=(1, 1, 0, 1), output_padding=(1, 0),
                     per_channel=True, bias="float")  # kept in float (3 scales, 6 outputs)
    g.conv_transpose("b", group=1, out_per_group=4, kernel=(2, 3), strides=(3, 1),
                     dilations=(2, 1), pads=(0, 2, 1, 0), output_padding=(2, 0),
                     per_channel=True, bias="float")  # quantized by BiasQuantization
    g.conv_transpose("c", group=2, out_per_group=2, kernel=(1, 3), strides=(1, 2),
                     dilations=(1, 2), pads=(0, 0, 0, 1), output_padding=(0, 1),
                     per_channel=False, bias="int32")
    g.output()
    g.conv_transpose("d", group=1, out_per_group=130, kernel=(1, 1), strides=(1, 1),
                     dilations=(1, 1), pads=(0, 0, 0, 0), output_padding=(0, 0),
                     per_channel=False, bias="none")
    g.conv_transpose("e", group=1, out_per_group=3, kernel=(2, 2), strides=(2, 2),
                     dilations=(1, 1), pads=(0, 0, 0, 0), output_padding=(0, 0),
                     per_channel=True, bias="int32")
    g.output()
    g.last, g.shape = "q0", [1, 6, 3, 4]
    _padding_layers(g)
    return g.model()


def _check(data: bytes, board: str, n: int = 3, seed: int = 0) -> None:
    report = verify(data, targets.get_board(board), source="convt.onnx", n=n, seed=seed,
                    count_instructions=False)
    assert report.reference == "onnxruntime"
    assert report.outputs_compared > 0
    assert report.mismatched_bytes == 0, report.mismatches


def test_conv_transpose_imports_as_float_path_op():
    graph = import_onnx(_fixed_model(True), "convt.onnx")
    ops = [op for op in graph.ops if isinstance(op, OrtConvTranspose)][:5]
    assert [op.group for op in ops] == [2, 1, 2, 1, 1]
    assert [op.filter.shape for op in ops] == [(6, 3, 3, 3), (4, 2, 3, 6), (4, 1, 3, 2),
                                               (130, 1, 1, 4), (3, 2, 2, 130)]
    assert [len(op.bias) for op in ops] == [6, 4, 4, 0, 3]
    assert ops[0].pads == (1, 1, 0, 1) and ops[1].stride == (3, 1)
    assert ops[1].dilation == (2, 1)


def test_bias_is_quantized_as_onnxruntimes_bias_quantization_does():
    """A float32 bias: onnxruntime rounds it to the int32 grid of x_scale * w_scale where
    its pass applies (layer b), and keeps it where it does not (layer a)."""
    graph = import_onnx(_fixed_model(False), "convt.onnx")
    model = onnx.load_from_string(_fixed_model(False))
    consts = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    a, b = [op for op in graph.ops if isinstance(op, OrtConvTranspose)][:2]
    assert np.array_equal(np.asarray(a.bias, f32), consts["a_b"])
    step = (f32(consts["a_s"]) * consts["b_ws"]).astype(f32)
    assert not np.array_equal(np.asarray(b.bias, f32), consts["b_b"])
    assert np.array_equal(np.asarray(b.bias, f32),
                          (np.rint((consts["b_b"] / step).astype(f32)) * step).astype(f32))


@pytest.mark.parametrize("unsigned", [True, pytest.param(False, marks=pytest.mark.slow)],
                         ids=["uint8", "int8"])
def test_conv_transpose_matches_onnxruntime_on_host(unsigned):
    # 16 inputs: a kernel with a*b+c rounded twice instead of fmaf differs from
    # onnxruntime in 4 of these bytes (measured); 3 inputs can miss it.
    _check(_fixed_model(unsigned), "host", n=16)


@pytest.mark.parametrize("board", board_params(["qemu-m4", "qemu-m7", "qemu-m55"]) +
                         board_params(["qemu-m0plus"], slow=True))  # no FPU: fmaf in double
def test_conv_transpose_matches_onnxruntime_in_qemu(board):
    _check(_fixed_model(board != "qemu-m7"), board, n=8)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_conv_transpose_sweep_matches_onnxruntime_on_host(seed):
    _check(_random_model(seed, layers=4), "host", n=4, seed=seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_padding_sweep_matches_onnxruntime_on_host(seed):
    _check(_random_model(100 + seed, layers=3, padding=True), "host", n=4, seed=seed)


def _calibrated_model(tmp_path, per_channel: bool) -> bytes:
    """A float ConvTranspose model (with bias) quantized by onnxruntime's quantize_static."""
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    rng = np.random.default_rng(3)
    shape = (1, 4, 5, 5)
    nodes = [helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2],
                              pads=[1, 1, 1, 1], output_padding=[1, 1]),
             helper.make_node("ConvTranspose", ["y", "w2"], ["z"], group=2)]
    inits = [numpy_helper.from_array(rng.normal(size=(4, 6, 3, 3)).astype(f32), "w"),
             numpy_helper.from_array(rng.normal(size=6).astype(f32), "b"),
             numpy_helper.from_array(rng.normal(size=(6, 2, 2, 2)).astype(f32), "w2")]
    graph = helper.make_graph(
        nodes, "calibrated", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)], inits)
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
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    per_channel=per_channel)
    return int8_path.read_bytes()


def test_quantize_static_conv_transpose_imports(tmp_path):
    graph = import_onnx(_calibrated_model(tmp_path, True), "q.onnx")
    ops = [op for op in graph.ops if isinstance(op, OrtConvTranspose)]
    assert [op.group for op in ops] == [1, 2] and len(ops[0].bias) == 6


@pytest.mark.slow
@pytest.mark.parametrize("per_channel", [False, True], ids=["per-tensor", "per-channel"])
def test_quantize_static_conv_transpose_matches_onnxruntime_on_host(tmp_path, per_channel):
    _check(_calibrated_model(tmp_path, per_channel), "host", n=4)


def test_one_pixel_input_is_refused_in_one_line():
    g = _Graph(np.random.default_rng(1), True, [1, 3, 1, 1])
    g.conv_transpose("up", group=1, out_per_group=2, kernel=(3, 3), strides=(2, 2),
                     dilations=(1, 1), pads=(0, 0, 0, 0), output_padding=(0, 0),
                     per_channel=False, bias="none")
    g.output()
    with pytest.raises(UnsupportedOpError) as e:
        import_onnx(g.model(), "convt.onnx")
    message = str(e.value)
    assert "\n" not in message and "'up' (ConvTranspose)" in message
    assert "1x1-pixel input" in message and "x86-only" in message


def test_inconsistent_output_shape_is_refused_in_one_line():
    """An output_shape the input size does not follow from (onnxruntime refuses it)."""
    g = _Graph(np.random.default_rng(2), False, [1, 2, 3, 3])
    g.conv_transpose("up", group=1, out_per_group=2, kernel=(3, 3), strides=(2, 2),
                     dilations=(1, 1), pads=(0, 0, 0, 0), output_padding=(0, 0),
                     per_channel=False, bias="none")
    g.nodes[-2].attribute.append(helper.make_attribute("output_shape", [9, 7]))
    g.output()
    with pytest.raises(TinyconvError) as e:
        import_onnx(g.model(), "convt.onnx")
    assert "\n" not in str(e.value) and "output_shape 9 is inconsistent" in str(e.value)


def _padding_layers(g: _Graph) -> None:
    """From a [1, 6, 3, 4] input: auto_pad SAME_UPPER / SAME_LOWER with odd total padding
    (and output_padding), output_shape below and above the padless size (its pads
    ignored), each followed by a float Relu or Clip before the QuantizeLinear (random
    output zero points: onnxruntime keeps them in float). Layers with output_shape end a
    branch: ONNX's shape inference gives their output the rank of output_shape."""
    common = dict(dilations=(1, 1), per_channel=True, bias="float")
    g.conv_transpose("su", group=2, out_per_group=2, kernel=(3, 3), strides=(2, 2),
                     pads=(0, 0, 0, 0), output_padding=(1, 0), auto_pad="SAME_UPPER",
                     activation="relu", **common)  # total 2 / 1
    g.conv_transpose("sl", group=1, out_per_group=3, kernel=(3, 2), strides=(2, 1),
                     pads=(0, 0, 0, 0), output_padding=(0, 0), auto_pad="SAME_LOWER",
                     activation=(-0.5, 0.75), **{**common, "dilations": (2, 2)})  # 3 / 2
    g.output()
    branch = g.last, list(g.shape)
    g.conv_transpose("os", group=3, out_per_group=1, kernel=(3, 3), strides=(2, 3),
                     pads=(1, 0, 2, 1), output_padding=(1, 0), output_shape=(25, 26),
                     activation=(0.0, 6.0), **common)  # 26 -> 25 (total 1), 24 -> 26
    g.output()
    g.last, g.shape = branch
    g.conv_transpose("ov", group=1, out_per_group=2, kernel=(2, 2), strides=(1, 1),
                     pads=(0, 0, 0, 0), output_padding=(0, 0), auto_pad="VALID",
                     output_shape=(10, 9), activation="relu",
                     **{**common, "bias": "int32"})  # total 3 / 0
    g.output()


def _one_d_model(unsigned: bool) -> bytes:
    """1D ConvTranspose (onnxruntime: a 2D one of width 1): explicit pads with
    output_padding, SAME_UPPER with a Clip, a group with a Relu, output_shape."""
    g = _Graph(np.random.default_rng(5), unsigned, [1, 4, 5])
    g.conv_transpose("p", group=1, out_per_group=4, kernel=(3,), strides=(3,),
                     dilations=(1,), pads=(1, 2), output_padding=(2,), per_channel=True,
                     bias="float")
    g.conv_transpose("u", group=2, out_per_group=3, kernel=(3,), strides=(2,),
                     dilations=(2,), pads=(0, 0), output_padding=(0,), per_channel=False,
                     bias="int32", auto_pad="SAME_UPPER", activation=(-0.25, 1.5))
    g.output()
    g.conv_transpose("r", group=3, out_per_group=2, kernel=(2,), strides=(1,),
                     dilations=(1,), pads=(0, 0), output_padding=(0,), per_channel=True,
                     bias="none", output_shape=(27,), activation="relu")
    g.output()
    return g.model()


def test_one_d_conv_transpose_imports_as_two_d_of_width_one():
    ops = [op for op in import_onnx(_one_d_model(True), "convt.onnx").ops
           if isinstance(op, OrtConvTranspose)]
    assert [op.y.shape for op in ops] == [(1, 14, 1, 4), (1, 28, 1, 6), (1, 27, 1, 6)]
    assert [op.pads for op in ops] == [(1, 0, 2, 0), (1, 0, 2, 0), (1, 0, 1, 0)]


@pytest.mark.parametrize("unsigned", [True, pytest.param(False, marks=pytest.mark.slow)],
                         ids=["uint8", "int8"])
def test_one_d_conv_transpose_matches_onnxruntime_on_host(unsigned):
    _check(_one_d_model(unsigned), "host", n=4)


@pytest.mark.parametrize("board", board_params(["qemu-m4", "qemu-m7", "qemu-m55"],
                                               slow=True))
def test_one_d_conv_transpose_matches_onnxruntime_in_qemu(board):
    _check(_one_d_model(board != "qemu-m7"), board, n=4)


def test_output_shape_and_auto_pad_import_with_onnxruntimes_pads():
    ops = [op for op in import_onnx(_fixed_model(True), "convt.onnx").ops
           if isinstance(op, OrtConvTranspose)][5:]
    assert [op.pads for op in ops] == [(1, 0, 1, 1), (2, 1, 1, 1), (1, 0, 0, 0),
                                       (2, 0, 1, 0)]
    assert [op.y.shape[1:3] for op in ops] == [(6, 8), (12, 8), (25, 26), (10, 9)]
    assert [(op.act_min, op.act_max) for op in ops][:3] == [
        (0.0, 3.4028234663852886e38), (-0.5, 0.75), (0.0, 6.0)]


def test_clip_with_min_above_max_is_refused_in_one_line():
    g = _Graph(np.random.default_rng(3), True, [1, 2, 3, 3])
    g.conv_transpose("up", group=1, out_per_group=2, kernel=(3, 3), strides=(2, 2),
                     dilations=(1, 1), pads=(0, 0, 0, 0), output_padding=(0, 0),
                     per_channel=False, bias="none", activation=(1.0, 0.5))
    g.output()
    with pytest.raises(UnsupportedOpError) as e:
        import_onnx(g.model(), "convt.onnx")
    assert "\n" not in str(e.value) and "min 1.0 exceeds max 0.5" in str(e.value)
