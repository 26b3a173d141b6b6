"""The onnxruntime-arithmetic convolution, depthwise and fully connected kernels
(firmware/kernels/onnxrt/tc_{convolve,depthwise_conv,fully_connected}_s8_ort.c) on
hand-built quantized ONNX graphs (QLinearConv, QLinearMatMul, com.microsoft QGemm):
randomized shapes (kernel sizes, strides, dilations, pads, groups, channel counts that are
not multiples of 4), uint8 and int8 weights with non-zero zero points, per-channel and
per-tensor scales. Every layer's output is compared with onnxruntime's, 0 mismatched
bytes, on the host (ASan/UBSan, portable C), qemu-m3 (portable), qemu-m4 (DSP) and
qemu-m55 (Helium); the SIMD paths must give the portable kernel's bytes."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.harness import bias_at_the_int32_limits, board_params
from tinyconv import targets
from tinyconv.ir.onnx_import import import_onnx
from tinyconv.ir.onnx_ops import OrtConv2D, OrtDepthwiseConv2D, OrtFullyConnected
from tinyconv.verify import verify

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from tests.support.onnx_qlinear import S8, U8, QLinearGraph  # noqa: E402

def _battery(seed: int = 0, bias=None) -> QLinearGraph:
    """Fixed shapes that reach every path of the SIMD kernels: K < 4 (portable fallback),
    K % 4 = 1, 2, 3, odd channel counts and output pixels, groups, dilation, stride,
    explicit (non-SAME) pads, depthwise with C % 4 != 0 and a depth multiplier, uint8 and
    int8 weights (non-zero zero points), per-channel and per-tensor scales, FC rows."""
    g = QLinearGraph(seed, bias=bias)
    g.conv(3, 5, (7, 6), (3, 3), stride=(2, 2), w_type=U8)            # RGB stem, K = 27
    g.conv(6, 7, (5, 5), (3, 3), dilation=(2, 1), per_channel=False)  # K = 54
    g.conv(5, 6, (4, 5), (1, 1), w_type=U8, per_channel=False)        # pointwise, K = 5
    g.conv(3, 4, (3, 3), (1, 1), bias=False)                          # K = 3 < 4
    g.conv(8, 6, (6, 5), (3, 2), group=2, pads=[1, 0, 0, 1], w_type=U8)  # groups, Pad
    g.conv(7, 3, (5, 4), (2, 2), stride=(1, 2), pads=[0, 0, 0, 0])    # VALID, K = 28
    g.conv(9, 9, (6, 7), (3, 3), group=9, w_type=U8)                  # depthwise, C = 9
    g.conv(4, 8, (5, 5), (3, 3), stride=(2, 2), group=4, per_channel=False)  # x2 mult
    g.conv(6, 6, (8, 5), (5, 3), dilation=(1, 2), group=6, pads=[2, 1, 1, 3], w_type=U8)
    g.matmul(1, 37, 5, w_type=U8)                                     # odd depth / units
    g.matmul(3, 20, 6, per_channel=True)
    g.matmul(2, 13, 7, w_type=U8, gemm=True)
    return g


def test_battery_imports_as_the_ort_kernels():
    graph = import_onnx(_battery().bytes(), "ort_kernels.onnx")
    kinds = [type(op) for op in graph.ops]
    assert kinds.count(OrtConv2D) == 6
    assert kinds.count(OrtDepthwiseConv2D) == 3
    assert kinds.count(OrtFullyConnected) == 3
    zps = {op.filter_zero_point for op in graph.ops if isinstance(op, OrtConv2D)}
    assert len(zps - {0}) >= 3  # uint8 and int8 weights with non-zero zero points
    assert any(op.depth_multiplier == 2 for op in graph.ops
               if isinstance(op, OrtDepthwiseConv2D))


def _check(data: bytes, board: str, n: int = 3, seed: int = 0) -> None:
    report = verify(data, targets.get_board(board), source="ort_kernels.onnx", n=n,
                    seed=seed, count_instructions=False)
    assert report.reference == "onnxruntime"
    assert report.outputs_compared > 0
    assert report.mismatched_bytes == 0, report.mismatches


@pytest.mark.parametrize("board", board_params(["host", "qemu-m4", "qemu-m55"]) +
                         board_params(["qemu-m3", "qemu-m7"], slow=True))
def test_battery_matches_onnxruntime(board):
    _check(_battery().bytes(), board)


@pytest.mark.parametrize("board", board_params(["host", "qemu-m3", "qemu-m4", "qemu-m55"]))
def test_bias_at_the_int32_limits_wraps_as_onnxruntime(board):
    """onnxruntime adds the bias to its int32 accumulator modulo 2^32 (a bias near
    +-2^31 with the taps' sum past the int32 range): the kernels give its bytes on every
    path (the host build runs under UBSan, which fails on a signed overflow in C)."""
    _check(_battery(bias=bias_at_the_int32_limits(np.random.default_rng(2031))).bytes(),
           board)


def _random_graph(seed: int) -> QLinearGraph:
    """Random layers: kernel sizes 1-5, strides 1-2, dilations 1-2, SAME, VALID or
    explicit pads, groups, channel counts 1-19, both weight types, both scale kinds; int8
    activations for odd seeds."""
    rng = np.random.default_rng(1000 + seed)
    g = QLinearGraph(seed, act=S8 if seed % 2 else U8)
    for _ in range(5):
        kind = rng.choice(["conv", "conv", "depthwise", "fc"])
        # uint8 weights with uint8 activations (onnxruntime has no int8 x uint8 kernels)
        w_type = U8 if g.act is U8 and rng.random() < 0.5 else S8
        per_channel = bool(rng.random() < 0.6)
        if kind == "fc":
            g.matmul(int(rng.integers(1, 4)), int(rng.integers(1, 70)),
                     int(rng.integers(1, 12)), w_type=w_type, per_channel=per_channel,
                     gemm=bool(rng.random() < 0.5))
            continue
        k = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        dilation = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        hw = tuple(int(rng.integers((kk - 1) * d + 1, (kk - 1) * d + 8))
                   for kk, d in zip(k, dilation))
        pads = rng.choice(["same", "valid", "explicit"])
        pads = ("same" if pads == "same" else [0, 0, 0, 0] if pads == "valid"
                else [int(v) for v in rng.integers(0, 3, 4)])
        if kind == "depthwise":
            c = int(rng.integers(1, 20))
            g.conv(c, c * int(rng.choice([1, 1, 2, 3])), hw, k, stride, dilation, group=c,
                   pads=pads, w_type=w_type, per_channel=per_channel)
        else:
            group = int(rng.choice([1, 1, 1, 2, 3]))
            cin = group * int(rng.integers(1, 8))
            cout = group * int(rng.integers(1, 7))
            g.conv(cin, cout, hw, k, stride, dilation, group=group, pads=pads,
                   w_type=w_type, per_channel=per_channel, bias=bool(rng.random() < 0.8))
    return g


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("board", board_params(["host", "qemu-m3", "qemu-m4", "qemu-m7",
                                                "qemu-m55"]))
def test_random_layers_match_onnxruntime(board, seed):
    _check(_random_graph(seed).bytes(), board, seed=seed)
