"""Kernel scratch sizes: defined once in C, asked for by Python (tinyconv/kernel_lib.py).

- Every `*_get_buffer_size` the kernel headers declare is one tinyconv asks, and the
  host library per ISA defines exactly those.
- The ISA a host library is forced to is the ISA the real target compiles: the macros of
  tc_nn_math_types.h under each board's CPU flags equal the forced ones, and the portable
  answers equal those of the whole portable kernel library built as the firmware is.
- For every op with scratch and every ISA, the value the IR ops give the planner equals
  the C function's, called here directly with the kernel's own argument layout.
- The planner reserves that much and the generated code hands the kernel that much.
"""

from __future__ import annotations

import ctypes
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tflite_builder as tb
from kernel_abi import Dims
from tinyconv import kernel_lib
from tinyconv.codegen import emit
from tinyconv.ir.graph import DType, Tensor
from tinyconv.ir.ops import Conv2D, DepthwiseConv2D, FullyConnected, Isa
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.planner import ALIGNMENT, plan_memory

ROOT = Path(__file__).resolve().parents[2]
KERNELS = ROOT / "firmware" / "kernels"
ISA_MACROS = {Isa.REF: (0, 0), Isa.DSP: (0, 1), Isa.MVE: (1, 0)}  # (TC_ISA_MVE, TC_ISA_DSP)


def _c(isa: Isa, function: str, *dims) -> int:
    """The C function of the host library for `isa`, called directly (its own handle, not
    kernel_lib's wrappers)."""
    fn = getattr(ctypes.CDLL(kernel_lib.library(isa.value)._name), function)
    fn.restype = ctypes.c_int32
    return fn(*[ctypes.byref(Dims(*d)) for d in dims])


def test_every_declared_size_function_is_asked_and_defined():
    declared = set()
    for header in (KERNELS / "include").glob("tc_nn_*.h"):
        declared |= set(re.findall(r"int32_t (tc_\w+_get_(?:fast_|stack_)?buffer_size)\(",
                                   header.read_text()))
    assert declared == set(kernel_lib.SIZE_FUNCTIONS)
    for isa in Isa:
        lib = kernel_lib.library(isa.value)
        symbols = subprocess.run(["nm", "-D", "--defined-only", lib._name],
                                 capture_output=True, text=True, check=True).stdout
        defined = set(re.findall(r" T (tc_\w+)$", symbols, re.M))
        assert defined == declared, isa


def _isa_macros(cc: list[str]) -> tuple[int, int]:
    out = subprocess.run([*cc, "-dM", "-E", "-x", "c", "-"], input='#include "tc_nn_math_types.h"\n',
                         capture_output=True, text=True, check=True).stdout
    found = dict(re.findall(r"#define (TC_ISA_MVE|TC_ISA_DSP) (\d)", out))
    return int(found["TC_ISA_MVE"]), int(found["TC_ISA_DSP"])


def test_forced_isa_is_the_isa_of_the_host_library():
    for isa, define in kernel_lib.ISA_DEFINES.items():
        assert _isa_macros(["gcc", define, f"-I{KERNELS / 'include'}"]) == ISA_MACROS[Isa(isa)]


@pytest.mark.arm
@pytest.mark.parametrize("board,kernels", [("qemu-m3", "opt"), ("qemu-m4", "opt"),
                                           ("qemu-m7", "opt"), ("qemu-m55", "opt"),
                                           ("qemu-m55", "ref"), ("qemu-m4", "ref")])
def test_each_board_compiles_the_isa_its_host_library_answers_for(board, kernels):
    """The ISA macros under the board's real CPU flags (and KERNELS=ref) are those the host
    library of the board's ISA (targets, deploy.kernel_isa) is forced to."""
    from tinyconv import deploy, targets
    config = subprocess.run(["make", "-s", "-C", str(ROOT / "firmware"), f"TARGET={board}",
                             f"KERNELS={kernels}", "print-config"],
                            capture_output=True, text=True, check=True).stdout
    cflags = re.search(r"^CFLAGS=(.*)$", config, re.M).group(1).split()
    cpu = [f for f in cflags if f.startswith(("-mcpu", "-mfpu", "-mfloat-abi", "-mthumb", "-D"))]
    isa = deploy.kernel_isa(targets.get_board(board), kernels)
    assert _isa_macros(["arm-none-eabi-gcc", *cpu, f"-I{KERNELS / 'include'}"]) == ISA_MACROS[isa]


@pytest.fixture(scope="module")
def portable_kernels(tmp_path_factory) -> ctypes.CDLL:
    """Every kernel source built for the host as the firmware's portable build is."""
    lib = tmp_path_factory.mktemp("portable") / "libtc.so"
    sources = sorted(KERNELS.glob("*/*.c"))
    subprocess.run(["gcc", "-std=c99", "-O2", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror",
                    f"-I{KERNELS / 'include'}", *map(str, sources), "-o", str(lib), "-lm"],
                   check=True, capture_output=True, text=True)
    return ctypes.CDLL(str(lib))


def _conv(input_shape, filter_shape, stride=(1, 1)) -> Conv2D:
    x = Tensor(0, "x", input_shape, DType.INT8)
    w = Tensor(1, "w", filter_shape, DType.INT8, data=np.zeros(filter_shape, np.int8))
    y = Tensor(2, "y", input_shape[:3] + (filter_shape[0],), DType.INT8)
    return Conv2D(inputs=[x, w], outputs=[y], stride=stride)


def _depthwise(output_shape) -> DepthwiseConv2D:
    c = output_shape[3]
    x = Tensor(0, "x", output_shape, DType.INT8)
    w = Tensor(1, "w", (1, 3, 3, c), DType.INT8, data=np.zeros((1, 3, 3, c), np.int8))
    return DepthwiseConv2D(inputs=[x, w], outputs=[Tensor(2, "y", output_shape, DType.INT8)])


def _fully_connected(units, depth) -> FullyConnected:
    x = Tensor(0, "x", (1, depth), DType.INT8)
    w = Tensor(1, "w", (units, depth), DType.INT8, data=np.zeros((units, depth), np.int8))
    return FullyConnected(inputs=[x, w], outputs=[Tensor(2, "y", (1, units), DType.INT8)])


CONV_CASES = [((1, 9, 9, 8), (16, 3, 3, 8)), ((1, 5, 7, 3), (4, 5, 1, 3)),
              ((2, 6, 6, 12), (6, 3, 3, 4)),  # 3 groups
              ((1, 4, 4, 6), (5, 1, 1, 6)),   # pointwise: the 1x1 kernel
              ((1, 33, 17, 64), (1, 7, 7, 64))]
DW_CASES = [(1, 1, 1, 1), (1, 5, 7, 3), (1, 5, 7, 4), (1, 12, 3, 37), (1, 48, 48, 16)]
FC_CASES = [(10, 256), (1, 1), (33, 7)]


@pytest.mark.parametrize("isa", list(Isa), ids=lambda i: i.value)
def test_ops_give_the_planner_what_the_c_functions_say(isa, portable_kernels):
    for input_shape, filter_shape in CONV_CASES:
        op = _conv(input_shape, filter_shape)
        if op.is_pointwise:
            assert op.scratch_bytes(isa) == _c(isa, "tc_convolve_1x1_s8_get_buffer_size",
                                               input_shape, filter_shape) == 0
            assert op.fast_scratch_bytes(isa) == 0  # the 1x1 kernel has no fast size
            continue
        assert op.scratch_bytes(isa) == _c(isa, "tc_convolve_s8_get_buffer_size",
                                           input_shape, filter_shape) == 0
        fast = _c(isa, "tc_convolve_s8_get_fast_buffer_size", input_shape, filter_shape)
        assert op.fast_scratch_bytes(isa) == fast
        _, kh, kw, cin = filter_shape
        k = kh * kw * cin
        if isa is Isa.DSP:  # two int16 columns of K rounded up to 4, + a word to align
            assert fast == (0 if k < 4 else 4 * ((k + 3) // 4 * 4) + 4)
        else:  # MVE: four int8 columns; the portable kernel none
            assert fast == (0 if isa is Isa.REF else 4 * k)
        stack = _c(isa, "tc_convolve_s8_get_stack_buffer_size", input_shape, filter_shape)
        assert op.stack_columns_bytes(isa) == stack
        assert stack == (fast if fast <= 512 else 0)  # small columns (SIMD kernels)
    for shape in DW_CASES:
        op = _depthwise(shape)
        inplace = _c(isa, "tc_depthwise_conv_inplace_s8_get_buffer_size", shape)
        assert op.scratch_bytes(isa, inplace=True) == inplace
        assert inplace == shape[1] * shape[2] * min(shape[3], 4)  # one block of 4 channels
        assert op.scratch_bytes(isa) == _c(isa, "tc_depthwise_conv_s8_get_buffer_size",
                                           shape) == 0
    for units, depth in FC_CASES:
        assert _fully_connected(units, depth).scratch_bytes(isa) == _c(
            isa, "tc_fully_connected_s8_get_buffer_size", (units, 1, 1, depth)) == 0
    if isa is Isa.REF:
        # The host library's portable answers are those of the real portable kernels.
        for function, count in kernel_lib.SIZE_FUNCTIONS.items():
            fn = getattr(portable_kernels, function)
            fn.restype = ctypes.c_int32
            for shape in DW_CASES:
                dims = [ctypes.byref(Dims(*shape))] * count
                assert fn(*dims) == _c(isa, function, *[shape] * count), function


def _c_size(isa: Isa, op, inplace: bool) -> int:
    """The scratch the C functions give op's kernel: required, else the optional fast size."""
    if isinstance(op, DepthwiseConv2D):
        return _c(isa, "tc_depthwise_conv_inplace_s8_get_buffer_size" if inplace
                  else "tc_depthwise_conv_s8_get_buffer_size", op.y.nhwc())
    if isinstance(op, Conv2D) and not op.is_pointwise:
        return _c(isa, "tc_convolve_s8_get_fast_buffer_size", op.x.nhwc(),
                  tuple(op.filter.shape))
    return 0


@pytest.mark.parametrize("isa", list(Isa), ids=lambda i: i.value)
def test_planned_and_generated_scratch_is_the_c_size(isa):
    """LeNet-5 (3x3 convs: optional im2col scratch, granted where the arena has a gap) and
    an in-place depthwise conv (required scratch): every scratch the plan reserves is the C
    size, word aligned, inside the arena, and the generated code hands the kernel exactly
    that; the SIMD ISAs get im2col somewhere, the portable one nowhere."""
    rng = np.random.default_rng(0)
    dw = tb.depthwise_conv2d_model(rng, input_shape=(1, 8, 8, 6), depth_multiplier=1,
                                   kernel=(3, 3), stride=(1, 1), padding="SAME",
                                   dilation=(1, 1))
    lenet = (ROOT / "models" / "fashion_mnist_lenet5" / "model_int8.tflite").read_bytes()
    granted = 0
    for model in (lenet, dw):
        graph = import_tflite(model, source="scratch")
        plan = plan_memory(graph, isa)
        code = "\n".join(p.init for p in emit.generate(graph, plan).params)
        for op in graph.ops:
            c_size = _c_size(isa, op, op.index in plan.inplace_ops)
            offset, size = plan.scratch.get(op.index, (0, 0))
            if isinstance(op, DepthwiseConv2D):
                assert op.index in plan.inplace_ops and c_size > 0
            if size:
                assert size == -(-c_size // ALIGNMENT) * ALIGNMENT
                assert offset + size <= plan.arena_bytes
                assert f"{{.buf = tc_arena + {offset}, .size = {size}}}" in code
                granted += isinstance(op, Conv2D)
            else:
                assert c_size == 0 or isinstance(op, Conv2D), op.describe()  # optional
    assert (granted > 0) == (isa is not Isa.REF)
