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
from . import ops as O
from . import validate as V


@dataclass(eq=False, kw_only=True)
class OrtConv2D(O.Conv2D):
    """QLinearConv (or a Conv between DequantizeLinear and QuantizeLinear)."""

    act_min: int = -128
    act_max: int = 127
    filter_zero_point: int = 0  # a per-tensor weight zero point (uint8 weights), int8 domain

    def scratch_bytes(self, isa: O.Isa, inplace: bool = False) -> int:
        return 0

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
# -- end of Softmax, Resize, ConvTranspose and activations --
