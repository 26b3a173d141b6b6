"""Spatial and matrix kernels vs LiteRT BUILTIN_REF, bit exact: RESIZE_NEAREST_NEIGHBOR,
RESIZE_BILINEAR, TRANSPOSE_CONV and BATCH_MATMUL, int8 and 16-bit.

Builds are the cost, so each test packs many independent ops into one model ("battery"):
every op gets its own graph inputs, random shapes, options and quantization, and every
output byte is compared with LiteRT's reference interpreter. Boards: `host` builds with
-fsanitize=address,undefined; qemu-m4 runs the Armv7E-M build, qemu-m55 the Helium build.
The battery also holds (kernels of the convolution family, checked here) depthwise
convolutions with a channel multiplier above 1 and dilated convolutions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tflite_builder as tb
from battery import Battery, check_battery
from harness import board_params
from tflite_builder import ModelBuilder, schema
from tinyconv.errors import TinyconvError
from tinyconv.ir.graph import Quant
from tinyconv.ir.tflite_import import import_tflite

FAST_BOARDS = board_params(["host", "qemu-m4", "qemu-m55"])
ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
RANGES = {"int8": (-128, 127), "int16": (-32768, 32767)}


def _uniform(shape, dtype: str, spread: float = 1.0):
    """Uniform codes over the middle `spread` of the dtype's range."""
    lo, hi = RANGES[dtype]
    lo, hi = int(lo * spread), int(hi * spread)
    return lambda rng, _i: rng.integers(lo, hi + 1, size=shape).astype(dtype)


FEEDS = {dtype: (lambda shape, dtype=dtype: _uniform(shape, dtype)) for dtype in RANGES}


def _narrow(shape, dtype: str):
    """int8 codes over the whole range, int16 ones over a tenth of it."""
    return _uniform(shape, dtype, 1.0 if dtype == "int8" else 0.1)


def _quant(rng, dtype: str, low=1e-3, high=0.2) -> tuple[float, int]:
    zp = 0 if dtype == "int16" else int(rng.integers(-100, 100))
    return tb.random_scale(rng, low, high), zp


def _rms(dtype: str, quant: tuple[float, int], spread: float = 1.0) -> float:
    """The real RMS of inputs drawn uniformly over the (spread) code range."""
    lo, hi = RANGES[dtype]
    std = (hi - lo) * spread / math.sqrt(12)
    return math.hypot(std, (lo + hi) * spread / 2 - quant[1]) * quant[0]


# -- resize ------------------------------------------------------------------------------------

def _bilinear_reads_inside(size_in: int, size_out: int, align: bool, half: bool) -> bool:
    """Whether LiteRT's integer bilinear kernel stays inside the input (see validate)."""
    if align and size_out > 1:
        scale = ((1 << 10) * (size_in - 1) + (size_out - 1) // 2) // (size_out - 1)
    else:
        scale = ((1 << 10) * size_in + size_out // 2) // size_out
    reach = (size_out - 1) * scale + (scale // 2 if half else 0)
    return reach // 1024 <= size_in - 1


RESIZE_OPTIONS = {"RESIZE_NEAREST_NEIGHBOR": [(False, False), (True, False), (False, True),
                                              (True, True)],
                  "RESIZE_BILINEAR": [(False, False), (True, False), (False, True)]}


def add_resize(bat: Battery, rng, kind: str, dtype: str, align: bool, half: bool) -> None:
    while True:
        n, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
        ih, iw = int(rng.integers(1, 7)), int(rng.integers(1, 7))
        oh, ow = int(rng.integers(1, 13)), int(rng.integers(1, 13))
        if kind == "RESIZE_NEAREST_NEIGHBOR" or (
                _bilinear_reads_inside(ih, oh, align, half)
                and _bilinear_reads_inside(iw, ow, align, half)):
            break
    q = _quant(rng, dtype)
    x = bat.input((n, ih, iw, c), dtype, q)
    size = bat.b.const(np.array([oh, ow], np.int32))
    y = bat.output((n, oh, ow, c), dtype, q)
    options = (schema.ResizeBilinearOptionsT if kind == "RESIZE_BILINEAR"
               else schema.ResizeNearestNeighborOptionsT)(alignCorners=align,
                                                          halfPixelCenters=half)
    bat.b.op(kind, [x, size], [y], options, version=3 if dtype == "int16" else 2)


def add_resize_ops(bat: Battery, rng, dtypes=("int8", "int16")) -> None:
    for kind, combos in RESIZE_OPTIONS.items():
        for dtype in dtypes:
            for align, half in combos:
                add_resize(bat, rng, kind, dtype, align, half)


# -- transpose convolution ----------------------------------------------------------------------

def add_transpose_conv(bat: Battery, rng, dtype: str, padding: str, activation: str,
                       with_bias: bool) -> None:
    n, ih, iw = int(rng.integers(1, 3)), int(rng.integers(1, 6)), int(rng.integers(1, 6))
    ic, oc = int(rng.integers(1, 7)), int(rng.integers(1, 7))
    kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    if padding == "SAME":
        oh, ow = ih * sh, iw * sw
    else:
        oh, ow = (ih - 1) * sh + kh, (iw - 1) * sw + kw
    if padding == "SAME" and rng.random() < 0.3:  # the other output size SAME maps back
        oh, ow = max(1, oh - int(rng.integers(0, sh))), max(1, ow - int(rng.integers(0, sw)))
    qx = _quant(rng, dtype, 2e-3, 0.05)
    x = bat.input((n, ih, iw, ic), dtype, qx, _narrow((n, ih, iw, ic), dtype))
    per_channel = rng.random() < 0.8
    w_scales = np.array([tb.random_scale(rng, 2e-3, 2e-2)
                         for _ in range(oc if per_channel else 1)], np.float32)
    w = rng.integers(-127, 128, size=(oc, kh, kw, ic)).astype(np.int8)
    wt = bat.b.const(w, scale=w_scales, zero_point=[0] * len(w_scales), quantized_dimension=0)
    taps = max(1, math.ceil(kh / sh) * math.ceil(kw / sw)) * ic
    x_rms = _rms(dtype, qx, 1.0 if dtype == "int8" else 0.1)
    real_std = math.sqrt(taps) * x_rms * float(np.mean(w_scales)) * 73
    bias = -1
    if with_bias:
        bias_scales = np.broadcast_to(np.float32(qx[0]) * w_scales, (oc,))
        bias_q = np.round(rng.normal(0, real_std / (qx[0] * float(np.mean(w_scales))) * 0.3,
                                     size=oc))
        bias = bat.b.const(bias_q.astype(np.int32 if dtype == "int8" else np.int64),
                           scale=bias_scales, zero_point=[0] * oc)
    out_std_codes = 40 if dtype == "int8" else 6000
    qy = (float(real_std / out_std_codes * math.exp(rng.uniform(-0.5, 0.5))),
          0 if dtype == "int16" else int(rng.integers(-60, 60)))
    y = bat.output((n, oh, ow, oc), dtype, qy)
    shape = bat.b.const(np.array([n, oh, ow, oc], np.int32))
    options = schema.TransposeConvOptionsT(
        padding=tb._PADDINGS[padding], strideH=sh, strideW=sw,
        fusedActivationFunction=tb.ACTIVATIONS[activation])
    bat.b.op("TRANSPOSE_CONV", [shape, wt, x, bias], [y], options, version=4)


def add_transpose_conv_ops(bat: Battery, rng, count: int = 1,
                           dtypes=("int8", "int16")) -> None:
    for dtype in dtypes:
        for i in range(count):
            for j, padding in enumerate(("SAME", "VALID")):
                add_transpose_conv(bat, rng, dtype, padding,
                                   ACTIVATIONS[(2 * i + j) % 4], with_bias=(i + j) % 3 != 2)


# -- batch matmul ------------------------------------------------------------------------------

def _broadcast_batches(rng) -> tuple[tuple[int, ...], tuple[int, ...]]:
    rank = int(rng.integers(0, 4))  # batch axes of the output
    dims = [int(rng.integers(1, 4)) for _ in range(rank)]
    lhs = [d if rng.random() < 0.7 else 1 for d in dims]
    rhs = [d if rng.random() < 0.7 else 1 for d in dims]
    # a lower-rank operand (its leading axes broadcast)
    cut_l = int(rng.integers(0, rank + 1)) if rng.random() < 0.3 else 0
    cut_r = int(rng.integers(0, rank + 1)) if rng.random() < 0.3 else 0
    return tuple(lhs[cut_l:]), tuple(rhs[cut_r:])


def add_batch_matmul(bat: Battery, rng, lhs_dtype: str, rhs_dtype: str, adj_x: bool,
                     adj_y: bool, const_rhs: bool) -> None:
    lb, rb = _broadcast_batches(rng)
    m, k, n = (int(v) for v in rng.integers(1, 9, size=3))
    if rng.random() < 0.2:
        k = int(rng.integers(20, 70))
    lhs_shape = lb + ((k, m) if adj_x else (m, k))
    rhs_shape = rb + ((n, k) if adj_y else (k, n))
    ql = _quant(rng, lhs_dtype, 2e-3, 0.05)
    qr = _quant(rng, lhs_dtype, 2e-3, 0.05)  # LiteRT: all zero points 0 with int16 LHS
    lhs = bat.input(lhs_shape, lhs_dtype, ql, _narrow(lhs_shape, lhs_dtype))
    if const_rhs:
        lo, hi = RANGES[rhs_dtype]
        data = rng.integers(lo, hi + 1, size=rhs_shape).astype(rhs_dtype)
        rhs = bat.b.const(data, scale=qr[0], zero_point=qr[1])
    else:
        rhs = bat.input(rhs_shape, rhs_dtype, qr, _narrow(rhs_shape, rhs_dtype))
    rank = max(len(lhs_shape), len(rhs_shape))
    lp = (1,) * (rank - len(lhs_shape)) + lhs_shape
    rp = (1,) * (rank - len(rhs_shape)) + rhs_shape
    batch = tuple(max(a, b) for a, b in zip(lp[:-2], rp[:-2]))
    l_rms = _rms(lhs_dtype, ql, 1.0 if lhs_dtype == "int8" else 0.1)
    r_rms = _rms(rhs_dtype, qr, 1.0 if rhs_dtype == "int8" or const_rhs else 0.1)
    real_std = math.sqrt(k) * l_rms * r_rms
    out_std_codes = 40 if lhs_dtype == "int8" else 6000
    qy = (float(real_std / out_std_codes * math.exp(rng.uniform(-0.5, 0.5))),
          0 if lhs_dtype == "int16" else int(rng.integers(-60, 60)))
    y = bat.output(batch + (m, n), lhs_dtype, qy)
    bat.b.op("BATCH_MATMUL", [lhs, rhs], [y],
             schema.BatchMatMulOptionsT(adjX=adj_x, adjY=adj_y), version=4)


def add_batch_matmul_ops(bat: Battery, rng, rounds: int = 1) -> None:
    for r in range(rounds):
        for i, (adj_x, adj_y) in enumerate(((False, False), (True, False), (False, True),
                                            (True, True))):
            add_batch_matmul(bat, rng, "int8", "int8", adj_x, adj_y, const_rhs=(i + r) % 2 == 0)
        add_batch_matmul(bat, rng, "int16", "int16", bool(r % 2), bool(rng.random() < 0.5),
                         const_rhs=r % 2 == 1)
        add_batch_matmul(bat, rng, "int16", "int8", bool(rng.random() < 0.5), bool(r % 2),
                         const_rhs=r % 2 == 0)


def battery(seed: int, rounds: int = 1) -> Battery:
    """The family's ops and the convolution variants, in one model (one build)."""
    rng = np.random.default_rng(seed)
    bat = Battery(f"spatial battery {seed}", feeds=FEEDS)
    for _ in range(rounds):
        add_resize_ops(bat, rng)
        add_transpose_conv_ops(bat, rng)
        add_batch_matmul_ops(bat, rng)
        add_conv_variants(bat, rng)
    return bat


# -- tests ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("board", FAST_BOARDS)
def test_spatial_ops_one_build(board):
    """Every op of the family, every option combination LiteRT accepts, int8 and 16-bit,
    random shapes and quantization, in one model per board."""
    check_battery(battery(seed=1), board, seed=1)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12, 13])
@pytest.mark.parametrize("board", board_params(["host", "qemu-m4", "qemu-m55", "qemu-m3",
                                                   "qemu-m0plus"]))
def test_spatial_sweep(board, seed):
    """Three rounds of the battery per seed; also the portable kernels on Cortex-M3 and
    the ARMv6-M build (Cortex-M0+: no unaligned word access)."""
    check_battery(battery(seed, rounds=3), board, seed)


def add_conv_variants(bat: Battery, rng) -> None:
    """DEPTHWISE_CONV_2D with a channel multiplier above 1, dilated CONV_2D and
    DEPTHWISE_CONV_2D (kernels of the convolution family, checked here)."""
    for i in range(6):
        model_fn = tb.depthwise_conv2d_model if i % 2 == 0 else tb.conv2d_model
        kwargs = dict(dilation=(int(rng.integers(1, 4)), int(rng.integers(2, 4))),
                      padding=("SAME", "VALID")[i // 2 % 2])
        if model_fn is tb.depthwise_conv2d_model:
            kwargs["depth_multiplier"] = int(rng.choice([2, 3, 4]))
            if i == 4:
                kwargs["dilation"] = (1, 1)
        _merge_single_op(bat, model_fn(rng, **kwargs))


def _merge_single_op(bat: Battery, model: bytes) -> None:
    """Copy the one op of a single-op model (its input, constants, output) into `bat`."""
    from tinyconv.ir.schema.tflite import parse
    m = parse(model, "single op")
    sub = m.subgraphs[0]
    op = sub.operators[0]
    index = {}
    for i in list(op.inputs) + list(op.outputs):
        if i < 0:
            continue
        t = sub.tensors[i]
        shape = [int(d) for d in t.shape]
        dtype = {schema.TensorType.INT8: "int8", schema.TensorType.INT32: "int32"}[t.type]
        q = t.quantization
        quant = dict(scale=list(q.scale), zero_point=list(q.zeroPoint),
                     quantized_dimension=int(q.quantizedDimension)) if q is not None \
            and q.scale is not None else {}
        buf = m.buffers[t.buffer].data if t.buffer else None
        if buf is not None and len(buf):
            data = np.frombuffer(bytes(buf), dtype=dtype).reshape(shape)
            index[i] = bat.b.const(data, **quant)
        elif i in op.inputs:
            index[i] = bat.input(shape, dtype, (quant["scale"][0], quant["zero_point"][0]))
        else:
            index[i] = bat.output(shape, dtype, (quant["scale"][0], quant["zero_point"][0]))
    code = m.operatorCodes[op.opcodeIndex]
    bat.b.op(max(code.builtinCode, code.deprecatedBuiltinCode),
             [index.get(i, -1) for i in op.inputs], [index[i] for i in op.outputs],
             op.builtinOptions, version=code.version)


def test_battery_holds_the_conv_variants():
    """The one-build battery does check depth multipliers above 1 and dilations."""
    graph = import_tflite(battery(seed=1).model())
    kinds = {op.kind for op in graph.ops}
    assert {"RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR", "TRANSPOSE_CONV",
            "BATCH_MATMUL"} <= kinds
    assert any(op.kind == "DEPTHWISE_CONV_2D" and op.depth_multiplier > 1 for op in graph.ops)
    assert any(op.kind == "DEPTHWISE_CONV_2D" and op.dilation != (1, 1) for op in graph.ops)
    assert any(op.kind == "CONV_2D" and op.dilation != (1, 1) for op in graph.ops)
    assert any(op.x.dtype.name == "INT16" for op in graph.ops if op.kind == "TRANSPOSE_CONV")


# -- refusals ------------------------------------------------------------------------------------

def _single(kind: str, build) -> bytes:
    b = ModelBuilder(kind)
    inputs, outputs = build(b)
    return b.build(inputs, outputs)


def test_unsupported_cases_give_one_clear_error():
    """Cases LiteRT itself refuses or cannot run exactly: one TinyconvError line naming the
    op."""
    def bilinear_both(b):
        x = b.tensor((1, 3, 3, 2), "int8", 0.1, 0)
        size = b.const(np.array([5, 5], np.int32))
        y = b.tensor((1, 5, 5, 2), "int8", 0.1, 0)
        b.op("RESIZE_BILINEAR", [x, size], [y],
             schema.ResizeBilinearOptionsT(alignCorners=True, halfPixelCenters=True))
        return [x], [y]

    def tconv_int32_bias_16x8(b):
        x = b.tensor((1, 2, 2, 3), "int16", 0.01, 0)
        w = b.const(np.ones((4, 3, 3, 3), np.int8), scale=[0.01] * 4, zero_point=[0] * 4)
        bias = b.const(np.zeros(4, np.int32), scale=[1e-4] * 4, zero_point=[0] * 4)
        shape = b.const(np.array([1, 4, 4, 4], np.int32))
        y = b.tensor((1, 4, 4, 4), "int16", 0.01, 0)
        b.op("TRANSPOSE_CONV", [shape, w, x, bias], [y], schema.TransposeConvOptionsT(
            padding=tb._PADDINGS["SAME"], strideH=2, strideW=2,
            quantizedBiasType=schema.TensorType.INT32), version=4)
        return [x], [y]

    def matmul_int32_out(b):
        a = b.tensor((2, 3), "int8", 0.1, 0)
        c = b.tensor((3, 4), "int8", 0.1, 0)
        y = b.tensor((2, 4), "int32")
        b.op("BATCH_MATMUL", [a, c], [y], schema.BatchMatMulOptionsT())
        return [a, c], [y]

    def bilinear_overshoot(b):  # 1 -> 89 rows: the rounded scale reads past row 0
        x = b.tensor((1, 1, 2, 1), "int8", 0.1, 0)
        size = b.const(np.array([89, 2], np.int32))
        y = b.tensor((1, 89, 2, 1), "int8", 0.1, 0)
        b.op("RESIZE_BILINEAR", [x, size], [y], schema.ResizeBilinearOptionsT())
        return [x], [y]

    cases = {"RESIZE_BILINEAR": (bilinear_both, "align_corners and half_pixel_centers"),
             "TRANSPOSE_CONV": (tconv_int32_bias_16x8, "quantized_bias_type INT32"),
             "BATCH_MATMUL": (matmul_int32_out, "int32 outputs are not supported"),
             "RESIZE_BILINEAR ": (bilinear_overshoot, "read past the input")}
    for kind, (build, message) in cases.items():
        with pytest.raises(TinyconvError) as info:
            import_tflite(_single(kind.strip(), build))
        text = str(info.value)
        assert "\n" not in text and kind.strip() in text and message in text, text


class _Scaled:
    """What batch_matmul_multiplier reads of a tensor: quant.s."""

    def __init__(self, scale: float):
        self.quant = Quant(scale=(scale,), zero_point=(0,))


def test_batch_matmul_multiplier_is_litert_prepare():
    """LiteRT's Prepare multiplies the two scales in float, then divides by the output
    scale in double (GetQuantizedConvolutionMultipler). Where that differs from the
    all-double product in the output (found by search), LiteRT's bytes are the float
    product's: checked against LiteRT on a crafted accumulator (no firmware build)."""
    from tinyconv.codegen.lowering.spatial import batch_matmul_multiplier
    from tinyconv.quant import effective_scale, multiply_by_quantized_multiplier, \
        quantize_multiplier
    from tinyconv.reference import litert_outputs
    rng = np.random.default_rng(5)
    for _ in range(200):
        sl, sr = (float(np.float32(rng.uniform(1e-2, 0.1))) for _ in range(2))
        so = float(np.float32(sl * sr * rng.uniform(5e3, 1e4)))
        ours = quantize_multiplier(batch_matmul_multiplier(
            *(_Scaled(s) for s in (sl, sr, so))))
        double = quantize_multiplier(effective_scale(sl, sr, so))
        accs = np.arange(100000, 1200000)
        near = accs[np.abs((accs * effective_scale(sl, sr, so)) % 1.0 - 0.5) < 1e-4][:400]
        for acc in (int(a) for a in near):
            mine = multiply_by_quantized_multiplier(acc, *ours)
            if mine != multiply_by_quantized_multiplier(acc, *double) and abs(mine) < 120:
                break
        else:
            continue
        k = acc // (127 * 127) + 2
        r = np.full((k, 1), 127, np.int8)
        r[-1, 0] = 1
        lhs = np.zeros((1, k), np.int8)
        rest = acc
        for i in range(k - 1):
            lhs[0, i] = min(127, rest // 127)
            rest -= int(lhs[0, i]) * 127
        lhs[0, -1] = rest
        b = ModelBuilder("bm")
        lt = b.tensor((1, k), "int8", sl, 0)
        rt = b.const(r, scale=sr, zero_point=0)
        y = b.tensor((1, 1), "int8", so, 0)
        b.op("BATCH_MATMUL", [lt, rt], [y], schema.BatchMatMulOptionsT())
        expected = int(litert_outputs(b.build([lt], [y]), [[lhs]])[0][0][0, 0])
        assert mine == expected
        return
    pytest.fail("no scales found where the float and double products differ")


def test_memory_rules_and_costs():
    """TRANSPOSE_CONV's scratch is its kernel's get_buffer_size (one int32, or int64 for
    16-bit activations, accumulator per output element) on every ISA; the resizes and
    BATCH_MATMUL need none; none of them runs in place; MACs and weight bytes count what
    the kernels do and what the export puts in flash."""
    from tinyconv.ir.ops import Isa
    graph = import_tflite(battery(seed=2).model())
    seen = set()
    for op in graph.ops:
        if op.kind not in ("RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR", "TRANSPOSE_CONV",
                           "BATCH_MATMUL"):
            continue
        seen.add(op.kind)
        assert op.inplace_input() is None and not op.is_alias
        for isa in Isa:
            expected = op.y.size * op.x.dtype.itemsize * 4 if op.kind == "TRANSPOSE_CONV" \
                else 0
            assert op.scratch_bytes(isa) == expected, op.describe()
        if op.kind == "TRANSPOSE_CONV":
            oc, kh, kw, ic = op.filter.shape
            assert op.macs() == op.x.size * kh * kw * oc
            assert op.weight_bytes() == op.filter.nbytes + (op.bias.nbytes if op.bias else 0)
        elif op.kind == "BATCH_MATMUL":
            assert op.macs() == op.y.size * op.depth
            rhs = op.inputs[1]
            assert op.weight_bytes() == (rhs.nbytes if rhs.is_constant else 0)
        elif op.kind == "RESIZE_BILINEAR":
            assert op.macs() == 4 * op.y.size and op.weight_bytes() == 0
        else:
            assert op.macs() == 0 and op.weight_bytes() == 4 * (op.y.shape[1] + op.y.shape[2])
    assert len(seen) == 4
