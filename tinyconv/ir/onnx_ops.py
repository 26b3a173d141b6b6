"""Op kinds that compute as onnxruntime's CPU kernels do (the ONNX importer's ops).

They are the IR's own kinds (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD,
AVERAGE_POOL_2D for GlobalAveragePool) with the same shapes, tensors and validation, plus
what onnxruntime's arithmetic needs and TFLite's has no field for: the clamp range in
the output's quantized domain (a fused Relu/Clip, or the uint8 range of a uint8 model)
and, for ADD, the offset between the int8 bytes tinyconv stores and the values
onnxruntime's float arithmetic reads (128 for a uint8 model, whose tensors tinyconv
stores as int8 = uint8 - 128 with zero point - 128). The lowering is
tinyconv/codegen/lowering/onnxrt.py (kernels firmware/kernels/onnxrt/); the arithmetic
is stated there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from .. import kernel_lib
from . import ops as O
from . import validate as V


@dataclass(eq=False, kw_only=True)
class OrtConv2D(O.Conv2D):
    """QLinearConv (or a Conv between DequantizeLinear and QuantizeLinear)."""

    act_min: int = -128
    act_max: int = 127
    filter_zero_point: int = 0  # a per-tensor weight zero point (uint8 weights), int8 domain

    def scratch_bytes(self, isa: O.Isa, inplace: bool = False) -> int:
        """tc_convolve_s8_ort_get_buffer_size: the SIMD kernels' im2col columns."""
        return kernel_lib.buffer_size(isa.value, "tc_convolve_s8_ort_get_buffer_size",
                                      *self._kernel_dims())

    def fast_scratch_bytes(self, isa: O.Isa) -> int:
        return 0

    def stack_columns_bytes(self, isa: O.Isa) -> int:
        return 0


@dataclass(eq=False, kw_only=True)
class OrtDepthwiseConv2D(O.DepthwiseConv2D):
    """QLinearConv with one group per input channel."""

    act_min: int = -128
    act_max: int = 127
    filter_zero_point: int = 0

    def inplace_input(self) -> int | None:
        return None

    def scratch_bytes(self, isa: O.Isa, inplace: bool = False) -> int:
        return 0


@dataclass(eq=False, kw_only=True)
class OrtFullyConnected(O.FullyConnected):
    """QGemm / QLinearMatMul with a constant B."""

    act_min: int = -128
    act_max: int = 127
    alpha: float = 1.0  # QGemm's: its output scale is (alpha * s_a * s_b) / s_y in float32

    def scratch_bytes(self, isa: O.Isa, inplace: bool = False) -> int:
        return 0


@dataclass(eq=False, kw_only=True)
class OrtAdd(O.Add):
    """QLinearAdd of two tensors of one shape (or one of them a single value)."""

    act_min: int = -128
    act_max: int = 127
    value_offset: int = 0  # onnxruntime's value = stored int8 + value_offset
    # Which input onnxruntime treats as one value broadcast over the other: "" (neither),
    # "a" or "b" (its QLinearAdd then adds that value's term to the constant part first).
    scalar: str = ""


@dataclass(eq=False, kw_only=True)
class OrtGlobalAveragePool(O.Op):
    """QLinearGlobalAveragePool: the window is the whole image (VALID padding). Not a
    Pool2D: every output needs every input row (the streamed plans leave it alone)."""

    kind: ClassVar[str] = "AVERAGE_POOL_2D"
    filter_size: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: O.Padding = O.Padding.VALID
    activation: O.Activation = O.Activation.NONE
    act_min: int = -128
    act_max: int = 127


@dataclass(eq=False, kw_only=True)
class OrtMul(O.Mul):
    """QLinearMul of two tensors of one shape (or one of them a single value)."""

    act_min: int = -128
    act_max: int = 127
    value_offset: int = 0


@dataclass(eq=False, kw_only=True)
class OrtAveragePool(O.Op):
    """QLinearAveragePool (a window smaller than the image): onnxruntime dequantizes to
    float32, sums, divides and quantizes. Explicit pads [top, left, bottom, right] (the
    output size follows from them). Not a Pool2D: its window and arithmetic are not
    TFLite's (the streamed plans of tinyconv/stream.py leave it alone)."""

    kind: ClassVar[str] = "AVERAGE_POOL_2D"
    filter_size: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    count_include_pad: bool = False
    act_min: int = -128
    act_max: int = 127
    value_offset: int = 0


@dataclass(eq=False, kw_only=True)
class OrtRequantize(O.Quantize):
    """The requantization of a QLinearConcat input whose scale or zero point differs from
    the output's: onnxruntime's 256-entry table (dequantize, then QuantizeLinear)."""

    value_offset: int = 0


@V.rule(OrtAveragePool, inputs=(1, 1))
def _average_pool(op: OrtAveragePool, check: V.Check) -> None:
    x, y = op.x, op.y
    check.rank(x, 4), check.rank(y, 4)
    V._int8_activations(check, x, y)
    check.require(x.shape[0] == y.shape[0] and x.shape[3] == y.shape[3],
                  f"has shape {list(y.shape)}: batch and channels differ from the input's "
                  f"{list(x.shape)}", y)
    check.window("stride", op.stride)
    check.window("filter size", op.filter_size)
    top, left, bottom, right = op.pads
    check.require(all(0 <= p < k for p, k in ((top, op.filter_size[0]),
                                               (bottom, op.filter_size[0]),
                                               (left, op.filter_size[1]),
                                               (right, op.filter_size[1]))),
                  f"pads {op.pads} must be smaller than the window {op.filter_size}")
    for axis, size, k, s, a, b in ((1, x.shape[1], op.filter_size[0], op.stride[0], top,
                                    bottom),
                                   (2, x.shape[2], op.filter_size[1], op.stride[1], left,
                                    right)):
        expected = (size + a + b - k) // s + 1
        check.require(size + a + b >= k and y.shape[axis] == expected,
                      f"has {y.shape[axis]} on axis {axis}, expected {expected} (input "
                      f"{size}, window {k}, stride {s}, pads {a} and {b})", y)


# -- Softmax, Resize, ConvTranspose and activations -------------------------------------

@dataclass(eq=False, kw_only=True)
class OrtLookup(O.Elementwise):
    """A 256-entry table of an int8/uint8 tensor (onnxruntime's QlinearBuildLookupTable):
    for every input code, dequantize (float32), the function as onnxruntime computes it in
    float32, QuantizeLinear. QLinearSigmoid / QLinearLeakyRelu (com.microsoft; QDQ Sigmoid
    and LeakyRelu are fused into them), and the float ops onnxruntime leaves between
    DequantizeLinear and QuantizeLinear (Tanh, HardSigmoid, HardSwish), which are
    functions of the input code all the same. The table is built by the lowering
    (tinyconv/codegen/lowering/onnxrt.py, lookup_table); the kernel is tc_lut_s8, in
    place."""

    function: ClassVar[str] = ""
    value_offset: int = 0  # onnxruntime's value = stored int8 + value_offset (uint8: 128)


@dataclass(eq=False, kw_only=True)
class OrtSigmoid(OrtLookup):
    kind: ClassVar[str] = "LOGISTIC"
    function: ClassVar[str] = "sigmoid"


@dataclass(eq=False, kw_only=True)
class OrtLeakyRelu(OrtLookup):
    kind: ClassVar[str] = "LEAKY_RELU"
    function: ClassVar[str] = "leaky_relu"
    alpha: float = 0.01


@dataclass(eq=False, kw_only=True)
class OrtTanh(OrtLookup):
    kind: ClassVar[str] = "TANH"
    function: ClassVar[str] = "tanh"


@dataclass(eq=False, kw_only=True)
class OrtHardSigmoid(OrtLookup):
    kind: ClassVar[str] = "HARD_SIGMOID"
    function: ClassVar[str] = "hard_sigmoid"
    alpha: float = 0.2
    beta: float = 0.5


@dataclass(eq=False, kw_only=True)
class OrtHardSwish(OrtLookup):
    kind: ClassVar[str] = "HARD_SWISH"
    function: ClassVar[str] = "hard_swish"


@dataclass(eq=False, kw_only=True)
class OrtSoftmax(O.Op):
    """QLinearSoftmax (com.microsoft; QDQ Softmax is fused into it) over rows of `depth`
    contiguous elements (the softmax axis, or every axis from it for opset < 13, is the
    last physical one). The arithmetic is onnxruntime's (tc_nn_onnxrt.h); the kernel reads
    a row twice before writing it, so it runs in place."""

    kind: ClassVar[str] = "SOFTMAX"
    depth: int = 1
    value_offset: int = 0

    def inplace_input(self) -> int | None:
        return O._elementwise_inplace(self)


@dataclass(eq=False, kw_only=True)
class OrtResizeNearest(O.Op):
    """Resize (mode nearest) of an NHWC tensor, on its integers as onnxruntime runs it
    (its Q/DQ pair is dropped): output pixel (b, y, x, c) = input (b, rows[y], cols[x], c),
    the indices onnxruntime's float32 coordinate transform and nearest_mode give
    (lowering/onnxrt.py, resize_nearest_indices). `scales` are onnxruntime's float32
    scales of H and W (from the scales input, or output size / input size)."""

    kind: ClassVar[str] = "RESIZE_NEAREST_NEIGHBOR"
    scales: tuple[float, float] = (1.0, 1.0)
    coordinate_mode: str = "half_pixel"
    nearest_mode: str = "round_prefer_floor"
    roi: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)  # H start, W start, ends

    def weight_bytes(self) -> int:
        return 4 * (self.y.shape[1] + self.y.shape[2])  # the index tables


COORDINATE_MODES = ("half_pixel", "asymmetric", "pytorch_half_pixel", "tf_half_pixel_for_nn",
                    "align_corners", "tf_crop_and_resize", "half_pixel_symmetric")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "simple")


@V.rule(OrtSigmoid, OrtLeakyRelu, OrtTanh, OrtHardSigmoid, OrtHardSwish, inputs=(1, 1))
def _lookup(op: OrtLookup, check: V.Check) -> None:
    V._int8_activations(check, op.x, op.y)
    check.same_shape(op.x, op.y)
    check.require(op.value_offset in (0, 128), f"value offset {op.value_offset}, expected "
                  "0 (int8) or 128 (uint8)")


@V.rule(OrtSoftmax, inputs=(1, 1))
def _softmax(op: OrtSoftmax, check: V.Check) -> None:
    V._int8_activations(check, op.x, op.y)
    check.same_shape(op.x, op.y)
    shape, depth = op.x.shape, 1
    for d in reversed(shape):
        if depth >= op.depth:
            break
        depth *= d
    check.require(op.depth >= 1 and depth == op.depth,
                  f"rows of {op.depth} elements are not the trailing axes of {list(shape)}")
    check.require(op.value_offset in (0, 128), f"value offset {op.value_offset}, expected "
                  "0 (int8) or 128 (uint8)")


@V.rule(OrtResizeNearest, inputs=(1, 1))
def _resize_nearest(op: OrtResizeNearest, check: V.Check) -> None:
    x, y = op.x, op.y
    check.rank(x, 4), check.rank(y, 4)
    V._int8_activations(check, x, y)
    check.require(x.quant == y.quant, "output quantization differs from the input's", y)
    check.require(x.shape[0] == y.shape[0] and x.shape[3] == y.shape[3],
                  f"has shape {list(y.shape)}: batch and channels differ from the input's "
                  f"{list(x.shape)}", y)
    check.require(all(s > 0 for s in op.scales), f"scales {op.scales} must be positive")
    check.require(op.coordinate_mode in COORDINATE_MODES,
                  f"coordinate transformation mode {op.coordinate_mode!r}")
    check.require(op.nearest_mode in NEAREST_MODES, f"nearest mode {op.nearest_mode!r}")
# ConvTranspose (float path)
from .graph import DType, Tensor  # noqa: E402


@dataclass(eq=False, kw_only=True)
class OrtConvTranspose(O.Op):
    """DequantizeLinear -> ConvTranspose -> QuantizeLinear in onnxruntime's float32
    arithmetic (its CPU EP has no quantized ConvTranspose; tc_nn_onnxrt.h states the
    steps). Inputs: x (int8 NHWC) and the weights as stored, int8 [out_c, k_h, k_w,
    in_c / group] with one scale and zero point per output channel (the float32 weights,
    (float)(w - zp) * scale, are the lowering's). `bias` holds the float32 bias onnxruntime
    adds (dequantized, or quantized by its BiasQuantization pass), empty for none. `pads`
    are ONNX's [top, left, bottom, right]; the output shape carries output_padding. Not
    TransposeConv: neither its arithmetic nor its operands are TFLite's. `act_min` /
    `act_max`: the float32 bounds of a Relu / Clip between ConvTranspose and
    QuantizeLinear, applied (max, then min) after the bias; +-FLT_MAX for none."""

    kind: ClassVar[str] = "TRANSPOSE_CONV"
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    group: int = 1
    bias: tuple[float, ...] = ()
    act_min: float = -3.4028234663852886e38
    act_max: float = 3.4028234663852886e38

    @property
    def filter(self) -> Tensor:
        return self.inputs[1]  # type: ignore[return-value]

    def macs(self) -> int:
        return self.x.size * self.filter.shape[0] // self.group * \
            self.filter.shape[1] * self.filter.shape[2]

    def weight_bytes(self) -> int:
        return 4 * (self.filter.size + len(self.bias))  # float32 in flash


@V.rule(OrtConvTranspose, inputs=(2, 2))
def _conv_transpose(op: OrtConvTranspose, check: V.Check) -> None:
    x, w, y = op.x, op.filter, op.y
    check.rank(x, 4), check.rank(w, 4), check.rank(y, 4)
    V._int8_activations(check, x, y)
    check.dtype(w, DType.INT8)
    check.require(w.is_constant, "weights must be constant", w)
    out_c, k_h, k_w, k_c = w.shape
    check.require(op.group >= 1 and out_c % op.group == 0 and k_c * op.group == x.shape[3],
                  f"group {op.group}: {x.shape[3]} input and {out_c} output channels do not "
                  f"match the weights {list(w.shape)}", w)
    check.require(w.quant is not None and len(w.quant.scale) == out_c
                  and len(w.quant.zero_point) == out_c,
                  f"weights need one scale and zero point per output channel ({out_c})", w)
    check.require(len(op.bias) in (0, out_c), f"{len(op.bias)} bias values for {out_c} "
                  "output channels")
    check.window("stride", op.stride)
    check.window("dilation", op.dilation)
    check.require(x.shape[1] * x.shape[2] > 1, "a 1x1-pixel input takes onnxruntime's "
                  "x86-only SGEMM path (separate multiply and add), not reproducible", x)
    check.require(y.shape[0] == x.shape[0] and y.shape[3] == out_c,
                  f"has shape {list(y.shape)}, expected batch {x.shape[0]} and {out_c} "
                  "channels", y)
    check.require(-3.4028234663852886e38 <= op.act_min <= op.act_max <=
                  3.4028234663852886e38, f"activation bounds [{op.act_min}, {op.act_max}] "
                  "must be ordered float32 numbers")
    top, left, bottom, right = op.pads
    for axis, k, s, d, a, b in ((1, k_h, op.stride[0], op.dilation[0], top, bottom),
                                (2, k_w, op.stride[1], op.dilation[1], left, right)):
        full = s * (x.shape[axis] - 1) + (k - 1) * d + 1 - a - b
        check.require(min(a, b) >= 0 and full <= y.shape[axis] < full + s,
                      f"has {y.shape[axis]} on axis {axis}, expected {full} plus an output "
                      f"padding below the stride {s}", y)
# -- end of Softmax, Resize, ConvTranspose and activations ------------------------------


# The IR's validation rules hold for these kinds as for the ones they extend.
for _cls, _base in ((OrtConv2D, O.Conv2D), (OrtDepthwiseConv2D, O.DepthwiseConv2D),
                    (OrtFullyConnected, O.FullyConnected), (OrtAdd, O.Add),
                    (OrtGlobalAveragePool, O.AveragePool2D), (OrtMul, O.Mul),
                    (OrtRequantize, O.Quantize)):
    V.RULES[_cls] = V.RULES[_base]

ORT_OPS = (OrtConv2D, OrtDepthwiseConv2D, OrtFullyConnected, OrtAdd, OrtGlobalAveragePool,
           OrtMul, OrtAveragePool, OrtRequantize)
# -- Softmax, Resize, ConvTranspose and activations (ORT_OPS += ...) --
ORT_OPS += (OrtSigmoid, OrtLeakyRelu, OrtTanh, OrtHardSigmoid, OrtHardSwish, OrtSoftmax,
            OrtResizeNearest)
ORT_OPS += (OrtConvTranspose,)  # ConvTranspose (float path)
# Resize (linear)
@dataclass(eq=False, kw_only=True)
class OrtResizeLinear(O.Op):
    """Resize (mode linear, bilinear on H and W) of an NHWC tensor as onnxruntime 1.32 runs
    a QDQ one: DequantizeLinear, its float UpsampleBilinear, QuantizeLinear (it keeps the
    Q/DQ pair). Per output pixel (y, x): the input rows y1, y2 and columns x1, x2 and the
    float32 weights dy1, dy2, dx1, dx2 of onnxruntime's SetupUpsampleBilinear (tables
    built by the lowering, lowering/onnxrt.py resize_linear_tables), then in float32
        X = (float)(q - zp_x) * s_x
        Y = dx2*dy2*X11 + dx1*dy2*X21 + dx2*dy1*X12 + dx1*dy1*X22   (left to right)
        y = clamp(round_half_even(Y / s_y)) + zp_y
    `scales` are onnxruntime's float32 scales of H and W (the scales input, or output
    size / input size). `arithmetic` "float" is that QDQ path; a Resize on the quantized
    tensor itself (QOperator form; same quantization in and out, v = stored +
    value_offset) runs, as onnxruntime 1.32 does (measured):
      "truncate" (NCHW, UpsampleBilinear<uint8/int8>): Y as above with X = (float)v,
        y = (T)Y (truncation toward zero);
      "integer" (NHWC, between QLinearConvs: NhwcUpsampleBilinearInteger): 10-bit weights
        d = |(int)(c * 1024) - i * 1024| (c the clamped float32 coordinate; 512 / 512
        where i1 == i2), y = (w11*v11 + w21*v21 + w12*v12 + w22*v22) / 2^20 in int32,
        truncated toward zero, w11 = dx2*dy2 etc."""

    kind: ClassVar[str] = "RESIZE_BILINEAR"
    scales: tuple[float, float] = (1.0, 1.0)
    coordinate_mode: str = "half_pixel"
    arithmetic: str = "float"
    value_offset: int = 0

    def weight_bytes(self) -> int:
        return 16 * (self.y.shape[1] + self.y.shape[2])  # two indices, two weights each


LINEAR_COORDINATE_MODES = tuple(m for m in COORDINATE_MODES if m != "tf_crop_and_resize")


@V.rule(OrtResizeLinear, inputs=(1, 1))
def _resize_linear(op: OrtResizeLinear, check: V.Check) -> None:
    x, y = op.x, op.y
    check.rank(x, 4), check.rank(y, 4)
    V._int8_activations(check, x, y)
    check.require(x.shape[0] == y.shape[0] and x.shape[3] == y.shape[3],
                  f"has shape {list(y.shape)}: batch and channels differ from the input's "
                  f"{list(x.shape)}", y)
    check.require(all(s > 0 for s in op.scales), f"scales {op.scales} must be positive")
    check.require(op.coordinate_mode in LINEAR_COORDINATE_MODES,
                  f"coordinate transformation mode {op.coordinate_mode!r}")
    check.require(op.arithmetic in ("float", "truncate", "integer"),
                  f"arithmetic {op.arithmetic!r}")
    check.require(op.arithmetic == "float" or x.quant == y.quant,
                  f"arithmetic {op.arithmetic!r} keeps the input's quantization", y)
    check.require(op.value_offset in (0, 128), f"value_offset {op.value_offset}")


ORT_OPS += (OrtResizeLinear,)
# -- end of Softmax, Resize, ConvTranspose and activations --
