"""Op kinds of the graph IR, each a dataclass with typed options and its own costs.

Every op knows its MACs, weight bytes, output bytes, kernel scratch bytes and whether its
output may overwrite one of its inputs (in place) or simply alias it (reshape). The
planner, the cost model of the NAS and the reports all call these same methods.

Scratch sizes are not restated here: the scratch methods ask the kernels'
`tc_*_get_buffer_size` functions themselves (tinyconv/kernel_lib.py builds them for the
host, one library per ISA); tests/kernels/test_kernel_buffer_sizes.py checks the wiring.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from .. import kernel_lib
from .graph import Tensor


class Padding(enum.Enum):
    SAME = "same"
    VALID = "valid"


class Activation(enum.Enum):
    NONE = "none"
    RELU = "relu"
    RELU_N1_TO_1 = "relu_n1_to_1"
    RELU6 = "relu6"


class Isa(enum.Enum):
    """Which kernel family a target compiles: portable C, Armv7E-M DSP, or Helium MVE."""

    REF = "ref"
    DSP = "dsp"
    MVE = "mve"


@dataclass(eq=False, kw_only=True)
class Op:
    inputs: list[Tensor | None]
    outputs: list[Tensor]
    index: int = 0
    name: str = ""
    kind: ClassVar[str] = "OP"

    # -- cost model -------------------------------------------------------------------
    def macs(self) -> int:
        return 0

    def weight_bytes(self) -> int:
        return sum(t.nbytes for t in self.inputs if t is not None and t.is_constant)

    def output_bytes(self) -> int:
        return sum(t.nbytes for t in self.outputs)

    def scratch_bytes(self, isa: Isa, inplace: bool = False) -> int:
        """Scratch the kernel cannot run without (planned like a tensor)."""
        return 0

    def fast_scratch_bytes(self, isa: Isa) -> int:
        """Optional scratch that makes the kernel faster; the planner grants it only where
        that many bytes are free at the op's step anyway (the arena never grows for it)."""
        return 0

    # -- memory rules -----------------------------------------------------------------
    def inplace_input(self) -> int | None:
        """Index of an input whose buffer the output may overwrite, if the kernel allows."""
        return None

    @property
    def inplace_optional(self) -> bool:
        """The planner tries this op both in place and not (it only sometimes saves)."""
        return False

    def inplace_offset(self) -> int:
        """Where the output starts relative to that input, in bytes, when in place (0: at
        the same address; negative: before it, as a streamed run's output may start
        below its input and grow into the rows it has consumed)."""
        return 0

    @property
    def is_alias(self) -> bool:
        """True when the output is the input's bytes reinterpreted (no kernel runs)."""
        return False

    # -- helpers ----------------------------------------------------------------------
    @property
    def x(self) -> Tensor:
        return self.inputs[0]  # type: ignore[return-value]

    @property
    def y(self) -> Tensor:
        return self.outputs[0]

    def activation_inputs(self) -> list[Tensor]:
        return [t for t in self.inputs if t is not None and not t.is_constant]

    def describe(self) -> str:
        return f"{self.kind} #{self.index}" + (f" ({self.name})" if self.name else "")


def _elementwise_inplace(op: Op) -> int | None:
    """Elementwise ops may write over an input of the output's exact size and type."""
    for i, t in enumerate(op.inputs):
        if (t is not None and not t.is_constant and t.shape == op.y.shape
                and t.dtype.itemsize == op.y.dtype.itemsize):
            return i
    return None


@dataclass(eq=False, kw_only=True)
class Conv2D(Op):
    kind: ClassVar[str] = "CONV_2D"
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: Padding = Padding.VALID
    activation: Activation = Activation.NONE

    @property
    def filter(self) -> Tensor:
        return self.inputs[1]  # type: ignore[return-value]

    @property
    def bias(self) -> Tensor | None:
        return self.inputs[2] if len(self.inputs) > 2 else None

    @property
    def groups(self) -> int:
        return self.x.shape[3] // self.filter.shape[3]

    def macs(self) -> int:
        n, oh, ow, oc = self.y.nhwc()
        _, kh, kw, ic_per_group = self.filter.shape
        return n * oh * ow * oc * kh * kw * ic_per_group

    @property
    def is_pointwise(self) -> bool:
        """1x1, stride 1, ungrouped: a plain GEMM over pixels (no im2col needed)."""
        _, kh, kw, _ = self.filter.shape
        return kh == 1 and kw == 1 and self.stride == (1, 1) and self.groups == 1

    def _kernel_dims(self) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
        """The kernel's input_dims and filter_dims (OHWI)."""
        return self.x.nhwc(), tuple(self.filter.shape)  # type: ignore[return-value]

    def scratch_bytes(self, isa: Isa, inplace: bool = False) -> int:
        """tc_convolve_1x1_s8 / tc_convolve_s8_get_buffer_size: none, the SIMD kernels read
        the taps in place without im2col columns."""
        function = ("tc_convolve_1x1_s8_get_buffer_size" if self.is_pointwise
                    else "tc_convolve_s8_get_buffer_size")
        return kernel_lib.buffer_size(isa.value, function, *self._kernel_dims())

    def fast_scratch_bytes(self, isa: Isa) -> int:
        """tc_convolve_s8_get_fast_buffer_size: optional scratch that makes the SIMD kernels
        faster (about 1.5x on Cortex-M4/M55), im2col columns. A kernel given at least this
        much uses it; the output bytes are the same either way. The 1x1 kernel has none."""
        if self.is_pointwise:
            return 0
        return kernel_lib.buffer_size(isa.value, "tc_convolve_s8_get_fast_buffer_size",
                                      *self._kernel_dims())

    def stack_columns_bytes(self, isa: Isa) -> int:
        """tc_convolve_s8_get_stack_buffer_size: where the plan gives less than the fast
        scratch, the stack bytes the kernel's im2col columns then take (small columns
        only; 0: it reads the taps in place)."""
        if self.is_pointwise:
            return 0
        return kernel_lib.buffer_size(isa.value, "tc_convolve_s8_get_stack_buffer_size",
                                      *self._kernel_dims())


@dataclass(eq=False, kw_only=True)
class DepthwiseConv2D(Op):
    kind: ClassVar[str] = "DEPTHWISE_CONV_2D"
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: Padding = Padding.VALID
    depth_multiplier: int = 1
    activation: Activation = Activation.NONE

    @property
    def filter(self) -> Tensor:
        return self.inputs[1]  # type: ignore[return-value]

    @property
    def bias(self) -> Tensor | None:
        return self.inputs[2] if len(self.inputs) > 2 else None

    def macs(self) -> int:
        n, oh, ow, oc = self.y.nhwc()
        _, kh, kw, _ = self.filter.shape
        return n * oh * ow * oc * kh * kw

    def inplace_input(self) -> int | None:
        # MCUNet-style: with one output channel per input channel, channel c of the output
        # depends only on channel c of the input, so a block of channels is computed into
        # scratch and copied over the input's (already consumed) channels.
        if self.depth_multiplier == 1 and self.x.nhwc()[0] == 1:
            return 0
        return None

    def scratch_bytes(self, isa: Isa, inplace: bool = False) -> int:
        """tc_depthwise_conv_inplace_s8_get_buffer_size (one channel block of every output
        pixel) in place, else tc_depthwise_conv_s8_get_buffer_size."""
        function = ("tc_depthwise_conv_inplace_s8_get_buffer_size" if inplace
                    else "tc_depthwise_conv_s8_get_buffer_size")
        return kernel_lib.buffer_size(isa.value, function, self.y.nhwc())


@dataclass(eq=False, kw_only=True)
class FullyConnected(Op):
    kind: ClassVar[str] = "FULLY_CONNECTED"
    activation: Activation = Activation.NONE
    keep_num_dims: bool = False

    @property
    def filter(self) -> Tensor:
        return self.inputs[1]  # type: ignore[return-value]

    @property
    def bias(self) -> Tensor | None:
        return self.inputs[2] if len(self.inputs) > 2 else None

    def macs(self) -> int:
        out_units, depth = self.filter.shape
        return (self.x.size // depth) * out_units * depth

    def scratch_bytes(self, isa: Isa, inplace: bool = False) -> int:
        """tc_fully_connected_s8_get_buffer_size (filter_dims as the lowering passes them)."""
        out_units, depth = self.filter.shape
        return kernel_lib.buffer_size(isa.value, "tc_fully_connected_s8_get_buffer_size",
                                      (out_units, 1, 1, depth))


@dataclass(eq=False, kw_only=True)
class Add(Op):
    kind: ClassVar[str] = "ADD"
    activation: Activation = Activation.NONE

    def inplace_input(self) -> int | None:
        return _elementwise_inplace(self)


@dataclass(eq=False, kw_only=True)
class Sub(Op):
    kind: ClassVar[str] = "SUB"
    activation: Activation = Activation.NONE

    def inplace_input(self) -> int | None:
        return _elementwise_inplace(self)


@dataclass(eq=False, kw_only=True)
class Mul(Op):
    kind: ClassVar[str] = "MUL"
    activation: Activation = Activation.NONE

    def macs(self) -> int:
        return self.y.size

    def inplace_input(self) -> int | None:
        return _elementwise_inplace(self)


@dataclass(eq=False, kw_only=True)
class Pool2D(Op):
    filter_size: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: Padding = Padding.VALID
    activation: Activation = Activation.NONE


@dataclass(eq=False, kw_only=True)
class AveragePool2D(Pool2D):
    kind: ClassVar[str] = "AVERAGE_POOL_2D"


@dataclass(eq=False, kw_only=True)
class MaxPool2D(Pool2D):
    kind: ClassVar[str] = "MAX_POOL_2D"


@dataclass(eq=False, kw_only=True)
class Mean(Op):
    kind: ClassVar[str] = "MEAN"
    axes: tuple[int, ...] = ()
    keep_dims: bool = False

    def weight_bytes(self) -> int:
        return 0  # the axes tensor is folded into the call


@dataclass(eq=False, kw_only=True)
class Pad(Op):
    kind: ClassVar[str] = "PAD"
    paddings: tuple[tuple[int, int], ...] = ()
    # PADV2's constant, as a quantized value; None means "the output zero point" (PAD).
    pad_value: int | float | None = None

    def weight_bytes(self) -> int:
        return 0


@dataclass(eq=False, kw_only=True)
class Reshape(Op):
    kind: ClassVar[str] = "RESHAPE"

    def weight_bytes(self) -> int:
        return 0

    @property
    def is_alias(self) -> bool:
        return True


@dataclass(eq=False, kw_only=True)
class Squeeze(Reshape):
    kind: ClassVar[str] = "SQUEEZE"


@dataclass(eq=False, kw_only=True)
class Concatenation(Op):
    kind: ClassVar[str] = "CONCATENATION"
    axis: int = -1
    activation: Activation = Activation.NONE


@dataclass(eq=False, kw_only=True)
class Softmax(Op):
    kind: ClassVar[str] = "SOFTMAX"
    beta: float = 1.0


@dataclass(eq=False, kw_only=True)
class Elementwise(Op):
    """Unary activation functions: same shape in and out, may run in place."""

    def inplace_input(self) -> int | None:
        return _elementwise_inplace(self)


@dataclass(eq=False, kw_only=True)
class Logistic(Elementwise):
    kind: ClassVar[str] = "LOGISTIC"


@dataclass(eq=False, kw_only=True)
class Tanh(Elementwise):
    kind: ClassVar[str] = "TANH"


@dataclass(eq=False, kw_only=True)
class HardSwish(Elementwise):
    kind: ClassVar[str] = "HARD_SWISH"


@dataclass(eq=False, kw_only=True)
class Relu(Elementwise):
    kind: ClassVar[str] = "RELU"


@dataclass(eq=False, kw_only=True)
class Relu6(Elementwise):
    kind: ClassVar[str] = "RELU6"


@dataclass(eq=False, kw_only=True)
class LeakyRelu(Elementwise):
    kind: ClassVar[str] = "LEAKY_RELU"
    alpha: float = 0.2


@dataclass(eq=False, kw_only=True)
class Quantize(Elementwise):
    """float32 -> int8 at the graph input, or int8 -> int8 requantization."""

    kind: ClassVar[str] = "QUANTIZE"


@dataclass(eq=False, kw_only=True)
class Dequantize(Op):
    kind: ClassVar[str] = "DEQUANTIZE"


@dataclass(eq=False, kw_only=True)
class Transpose(Op):
    kind: ClassVar[str] = "TRANSPOSE"
    perm: tuple[int, ...] = ()

    def weight_bytes(self) -> int:
        return 0


# -- op families added for issue 12; each section is kept by one author at a time ----------

# -- shape and data movement (slice, split, pack, gather, depth/space, broadcast, cast) --
# -- end of shape and data movement --

# -- elementwise math, comparisons and select --
# -- end of elementwise math --

# -- reductions and normalizations (mean, sum, reduce max, arg max/min, log softmax, l2) --
# -- end of reductions --

# -- spatial and matrix ops (resize, transpose conv, batch matmul) --
# -- end of spatial --

# -- recurrent and streaming ops (LSTM, SVDF) --
# -- end of recurrent --


def _subclasses(base: type[Op]) -> list[type[Op]]:
    return [c for cls in base.__subclasses__() for c in (cls, *_subclasses(cls))]


# Every op kind defined above by its TFLite name: the classes that set their own `kind`
# (Pool2D, Elementwise and the like only share code).
SUPPORTED_OPS: dict[str, type[Op]] = {
    cls.kind: cls for cls in _subclasses(Op) if "kind" in cls.__dict__
}
