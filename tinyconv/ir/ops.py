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
from dataclasses import dataclass, field
from typing import ClassVar

from .. import kernel_lib
from .graph import DType, Tensor


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
        if self.x.dtype.itemsize == 2:
            return 0  # tc_convolve_s16 (16x8) reads the taps in place
        function = ("tc_convolve_1x1_s8_get_buffer_size" if self.is_pointwise
                    else "tc_convolve_s8_get_buffer_size")
        return kernel_lib.buffer_size(isa.value, function, *self._kernel_dims())

    def fast_scratch_bytes(self, isa: Isa) -> int:
        """tc_convolve_s8_get_fast_buffer_size: optional scratch that makes the SIMD kernels
        faster (about 1.5x on Cortex-M4/M55), im2col columns. A kernel given at least this
        much uses it; the output bytes are the same either way. The 1x1 kernel has none."""
        if self.is_pointwise or self.x.dtype.itemsize == 2:
            return 0
        return kernel_lib.buffer_size(isa.value, "tc_convolve_s8_get_fast_buffer_size",
                                      *self._kernel_dims())

    def stack_columns_bytes(self, isa: Isa) -> int:
        """tc_convolve_s8_get_stack_buffer_size: where the plan gives less than the fast
        scratch, the stack bytes the kernel's im2col columns then take (small columns
        only; 0: it reads the taps in place)."""
        if self.is_pointwise or self.x.dtype.itemsize == 2:
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
        if self.depth_multiplier == 1 and self.x.nhwc()[0] == 1 and self.x.dtype.itemsize == 1:
            return 0
        return None

    def scratch_bytes(self, isa: Isa, inplace: bool = False) -> int:
        """tc_depthwise_conv_inplace_s8_get_buffer_size (one channel block of every output
        pixel) in place, else tc_depthwise_conv_s8_get_buffer_size."""
        if self.x.dtype.itemsize == 2:
            return 0  # tc_depthwise_conv_s16: no scratch, never in place
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
        if self.x.dtype.itemsize == 2:
            return 0  # tc_fully_connected_(f64_)s16: no scratch
        return kernel_lib.buffer_size(isa.value, "tc_fully_connected_s8_get_buffer_size",
                                      (out_units, 1, 1, depth))


@dataclass(eq=False, kw_only=True)
class Add(Op):
    kind: ClassVar[str] = "ADD"
    activation: Activation = Activation.NONE
    # AddOptions/SubOptions.pot_scale_int16 (schema default true): int16 tensors with
    # power-of-two scales then take LiteRT's power-of-two path.
    pot_scale_int16: bool = True

    def inplace_input(self) -> int | None:
        return _elementwise_inplace(self)


@dataclass(eq=False, kw_only=True)
class Sub(Op):
    kind: ClassVar[str] = "SUB"
    activation: Activation = Activation.NONE
    # AddOptions/SubOptions.pot_scale_int16 (schema default true): int16 tensors with
    # power-of-two scales then take LiteRT's power-of-two path.
    pot_scale_int16: bool = True

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
# These ops move elements without arithmetic (MACs 0); their kernels are element-size
# generic (1, 2, 4 or 8 bytes: int8, uint8, int16, int32, int64, float32, bool). Constant
# index tensors (begin/end/strides, sizes, axes, shapes, GATHER's indices) are folded into
# the call's parameters, not counted as weights; only GATHER's constant params are weights.
# Memory rules: SLICE and STRIDED_SLICE with positive strides, and CAST, may write over
# their input (the kernels walk it in an order that reads every element before it is
# overwritten); a slice that is one contiguous range of its input is placed over that
# range (inplace_offset) and moves nothing. SPLIT, SPLIT_V, PACK, UNPACK, GATHER,
# DEPTH_TO_SPACE, SPACE_TO_DEPTH and BROADCAST_TO get their own output buffers. None
# needs scratch.


def contiguous_slice_start(shape, starts, strides, counts) -> int | None:
    """The element offset of a slice of a row-major `shape` when the elements it takes are
    one contiguous range of the input (in order), else None: every axis inside the
    outermost partial one is whole, every axis outside it takes one element."""
    offset, step, partial = 0, 1, False
    for size, start, stride, count in reversed(list(zip(shape, starts, strides, counts))):
        if partial and count != 1:
            return None
        if not partial and not (count == size and (stride == 1 or size == 1)):
            if count != 1 and stride != 1:
                return None
            partial = True
        offset += start * step
        step *= size
    return offset


@dataclass(eq=False, kw_only=True)
class DataMovement(Op):
    """No arithmetic, no scratch, no weights (index tensors are parameters of the call)."""

    def weight_bytes(self) -> int:
        return 0


@dataclass(frozen=True)
class SliceAxis:
    """One axis of STRIDED_SLICE's loop nest (after ellipsis and new axes are expanded):
    input elements start, start + stride, ... (count of them) along `input_axis` (None: a
    new axis of size 1); `shrink`: the axis is dropped from the output."""

    input_axis: int | None
    start: int
    stride: int
    count: int
    shrink: bool


def _clamp(v: int, lo: int, hi: int) -> int:
    return hi if v > hi else lo if v < lo else v


@dataclass(eq=False, kw_only=True)
class StridedSlice(DataMovement):
    kind: ClassVar[str] = "STRIDED_SLICE"
    begin: tuple[int, ...] = ()
    end: tuple[int, ...] = ()
    strides: tuple[int, ...] = ()
    begin_mask: int = 0
    end_mask: int = 0
    ellipsis_mask: int = 0
    new_axis_mask: int = 0
    shrink_axis_mask: int = 0
    offset: bool = False

    def loops(self) -> tuple[list[SliceAxis], tuple[int, ...]]:
        """The loop nest LiteRT's reference StridedSlice runs, and the output shape its
        Prepare (ResizeOutputTensor) gives: strided_slice.cc's BuildStridedSliceParams
        expands the ellipsis and the new axes, then StridedSliceStartForAxis /
        StridedSliceEndForAxis (strided_slice_logic.h) clamp each axis. ValueError where
        LiteRT would read outside its index arrays."""
        import numpy as np

        shape, rank = tuple(self.x.shape), len(self.x.shape)
        count = len(self.begin)
        if not count == len(self.end) == len(self.strides):
            raise ValueError("begin, end and strides differ in length")
        bit = lambda mask, i: bool(mask >> i & 1) if i >= 0 else False  # noqa: E731
        add = sum(1 for i in range(count)
                  if not bit(self.ellipsis_mask, i) and bit(self.new_axis_mask, i))
        dims = rank + add
        ellipsis = new_axes = 0
        ellipsis_start, expanded, i = dims, 0, 0
        while i < dims:
            if bit(self.ellipsis_mask, i):
                ellipsis_start = i
                stop = max(i + 1, min(i + 1 + add + rank - count, dims))
                expanded = stop - ellipsis_start - 1
                while i < stop:
                    ellipsis |= 1 << i
                    i += 1
                continue
            if bit(self.new_axis_mask, i - expanded):
                new_axes |= 1 << i
            i += 1
        axes: list[tuple] = []  # (input axis, size, begin, end, stride, bm, em, shrink)
        added_ellipsis = added_axes = 0
        for i in range(dims):
            if bit(ellipsis, i):
                added_ellipsis = max(0, i - ellipsis_start)
                axes.append((i - added_axes, 0, 0, 1, True, True, False))
            elif bit(new_axes, i):
                axes.append((None, 0, 1, 1, False, False, False))
                added_axes += 1
            elif i >= count + expanded:
                axes.append((i - added_axes, 0, 0, 1, True, True, False))
            else:
                o = i - added_ellipsis
                if not 0 <= o < count:
                    raise ValueError(f"axis {i} has no begin/end/strides entry")
                axes.append((i - added_axes, self.begin[o], self.end[o], self.strides[o],
                             bit(self.begin_mask, o), bit(self.end_mask, o),
                             bit(self.shrink_axis_mask, o)))
        result, out_shape = [], []
        for idx, (axis, b, e, stride, bm, em, shrink) in enumerate(axes):
            if axis is not None and not 0 <= axis < rank:
                raise ValueError(f"the slice spec reaches axis {axis} of a rank-{rank} input")
            if stride == 0:
                raise ValueError("a stride is 0")
            size = shape[axis] if axis is not None else 1
            start = b + size if b < 0 else b
            start = _clamp(start, 0, size) if stride > 0 else _clamp(start, -1, size - 1)
            if bm:
                start = 0 if stride > 0 else size - 1
            if shrink:
                stop = start if start >= size else start + 1
            else:
                stop = e + start if self.offset else e
                stop = stop + size if stop < 0 else stop
                stop = _clamp(stop, 0, size) if stride > 0 else _clamp(stop, -1, size - 1)
                if em:
                    stop = size if stride > 0 else -1
            n = max(0, -(-(stop - start) // stride))  # iterations of LiteRT's loop
            result.append(SliceAxis(axis, start, stride, n, shrink))
            if not shrink:  # ResizeOutputTensor
                if self.offset:
                    if idx >= len(self.end):
                        raise ValueError("offset=true with more axes than end values")
                    extent = self.end[idx]
                else:
                    extent = stop - start
                # std::ceil(extent / static_cast<float>(stride)), in float
                out_shape.append(max(0, int(np.ceil(np.float32(extent) / np.float32(stride)))))
        return result, tuple(out_shape)

    def inplace_input(self) -> int | None:
        # Output element k reads input element p(k) >= k when every stride is positive:
        # copied forward, each element is read before anything overwrites it.
        return 0 if not self.x.is_constant and all(s > 0 for s in self.strides) else None

    def inplace_offset(self) -> int:
        """A slice that is one contiguous range of the input is placed over that range:
        nothing moves (tc_strided_copy skips a run onto itself)."""
        try:
            axes = [a for a in self.loops()[0] if a.input_axis is not None]
        except ValueError:
            return 0
        start = contiguous_slice_start(self.x.shape, [a.start for a in axes],
                                       [a.stride for a in axes], [a.count for a in axes])
        return (start or 0) * self.x.dtype.itemsize


@dataclass(eq=False, kw_only=True)
class Slice(DataMovement):
    kind: ClassVar[str] = "SLICE"
    begin: tuple[int, ...] = ()
    size: tuple[int, ...] = ()  # -1 resolved: the actual extent on every axis

    def inplace_input(self) -> int | None:
        return 0 if not self.x.is_constant else None  # as STRIDED_SLICE with strides 1

    def inplace_offset(self) -> int:
        start = contiguous_slice_start(self.x.shape, self.begin, [1] * len(self.begin),
                                       self.size)
        return (start or 0) * self.x.dtype.itemsize


@dataclass(eq=False, kw_only=True)
class Split(DataMovement):
    """SPLIT (inputs: axis, data) and SPLIT_V (inputs: data, size_splits, axis): outputs
    are consecutive ranges of the data along `axis`."""

    kind: ClassVar[str] = "SPLIT"
    axis: int = 0
    sizes: tuple[int, ...] = ()  # extent of each output along the axis

    @property
    def data(self) -> Tensor:
        return self.inputs[1]  # type: ignore[return-value]


@dataclass(eq=False, kw_only=True)
class SplitV(Split):
    kind: ClassVar[str] = "SPLIT_V"

    @property
    def data(self) -> Tensor:
        return self.inputs[0]  # type: ignore[return-value]


@dataclass(eq=False, kw_only=True)
class Pack(DataMovement):
    kind: ClassVar[str] = "PACK"
    axis: int = 0  # in the output, non-negative


@dataclass(eq=False, kw_only=True)
class Unpack(DataMovement):
    kind: ClassVar[str] = "UNPACK"
    axis: int = 0  # in the input, non-negative


@dataclass(eq=False, kw_only=True)
class Gather(DataMovement):
    kind: ClassVar[str] = "GATHER"
    axis: int = 0        # in params, non-negative
    batch_dims: int = 0  # non-negative

    @property
    def indices(self) -> Tensor:
        return self.inputs[1]  # type: ignore[return-value]

    def weight_bytes(self) -> int:
        return self.x.nbytes if self.x.is_constant else 0  # a constant table is in flash


@dataclass(eq=False, kw_only=True)
class DepthToSpace(DataMovement):
    kind: ClassVar[str] = "DEPTH_TO_SPACE"
    block_size: int = 1


@dataclass(eq=False, kw_only=True)
class SpaceToDepth(DataMovement):
    kind: ClassVar[str] = "SPACE_TO_DEPTH"
    block_size: int = 1


@dataclass(eq=False, kw_only=True)
class BroadcastTo(DataMovement):
    kind: ClassVar[str] = "BROADCAST_TO"


@dataclass(eq=False, kw_only=True)
class Cast(DataMovement):
    kind: ClassVar[str] = "CAST"

    def inplace_input(self) -> int | None:
        # tc_cast walks forward when the output element is no wider than the input's and
        # backward when it is wider: either way each element is read before it is hit.
        return 0 if not self.x.is_constant else None
# -- end of shape and data movement --

# -- elementwise math, comparisons and select --

@dataclass(eq=False, kw_only=True)
class BroadcastOp(Op):
    """Elementwise ops over NumPy-broadcast inputs (MAXIMUM, comparisons, SELECT_V2...).
    The kernels (firmware/kernels/math) read an output index's inputs before writing that
    output element and walk the output in address order: the output may overwrite an input
    of its own shape and element size (a comparison's bool over an int8 input too)."""

    def inplace_input(self) -> int | None:
        return _elementwise_inplace(self)


@dataclass(eq=False, kw_only=True)
class Maximum(BroadcastOp):
    kind: ClassVar[str] = "MAXIMUM"


@dataclass(eq=False, kw_only=True)
class Minimum(BroadcastOp):
    kind: ClassVar[str] = "MINIMUM"


@dataclass(eq=False, kw_only=True)
class SquaredDifference(BroadcastOp):
    kind: ClassVar[str] = "SQUARED_DIFFERENCE"

    def macs(self) -> int:
        return self.y.size


@dataclass(eq=False, kw_only=True)
class Comparison(BroadcastOp):
    """Two inputs of one dtype -> BOOL."""


@dataclass(eq=False, kw_only=True)
class Equal(Comparison):
    kind: ClassVar[str] = "EQUAL"


@dataclass(eq=False, kw_only=True)
class NotEqual(Comparison):
    kind: ClassVar[str] = "NOT_EQUAL"


@dataclass(eq=False, kw_only=True)
class Less(Comparison):
    kind: ClassVar[str] = "LESS"


@dataclass(eq=False, kw_only=True)
class LessEqual(Comparison):
    kind: ClassVar[str] = "LESS_EQUAL"


@dataclass(eq=False, kw_only=True)
class Greater(Comparison):
    kind: ClassVar[str] = "GREATER"


@dataclass(eq=False, kw_only=True)
class GreaterEqual(Comparison):
    kind: ClassVar[str] = "GREATER_EQUAL"


@dataclass(eq=False, kw_only=True)
class SelectV2(BroadcastOp):
    """condition (BOOL), x, y -> condition ? x : y, all three broadcast."""

    kind: ClassVar[str] = "SELECT_V2"


@dataclass(eq=False, kw_only=True)
class Select(SelectV2):
    """SELECT: the condition has the values' shape, or is rank 1 over their first dim."""

    kind: ClassVar[str] = "SELECT"


@dataclass(eq=False, kw_only=True)
class Prelu(BroadcastOp):
    """x, alpha (broadcast to x's shape, the output's)."""

    kind: ClassVar[str] = "PRELU"

    def macs(self) -> int:
        return self.y.size


@dataclass(eq=False, kw_only=True)
class Abs(Elementwise):
    kind: ClassVar[str] = "ABS"


@dataclass(eq=False, kw_only=True)
class Neg(Elementwise):
    kind: ClassVar[str] = "NEG"


@dataclass(eq=False, kw_only=True)
class Rsqrt(Elementwise):
    kind: ClassVar[str] = "RSQRT"


@dataclass(eq=False, kw_only=True)
class Exp(Elementwise):
    kind: ClassVar[str] = "EXP"


@dataclass(eq=False, kw_only=True)
class Elu(Elementwise):
    kind: ClassVar[str] = "ELU"

# -- end of elementwise math --

# -- reductions and normalizations (mean, sum, reduce max, arg max/min, log softmax, l2) --
# MEAN (above) and SUM / REDUCE_MAX reduce any set of axes; their kernels accumulate on the
# stack (tc_reduce_internal.h), so they need no scratch, and they do not run in place (the
# output is smaller than the input: sharing the input's buffer would keep it alive).

@dataclass(eq=False, kw_only=True)
class Reduce(Op):
    """SUM and REDUCE_MAX share MEAN's options."""

    axes: tuple[int, ...] = ()  # distinct, non-negative, sorted
    keep_dims: bool = False

    def weight_bytes(self) -> int:
        return 0  # the axes tensor is folded into the call


@dataclass(eq=False, kw_only=True)
class Sum(Reduce):
    kind: ClassVar[str] = "SUM"


@dataclass(eq=False, kw_only=True)
class ReduceMax(Reduce):
    kind: ClassVar[str] = "REDUCE_MAX"


@dataclass(eq=False, kw_only=True)
class ArgMax(Op):
    """Index of the largest value along `axis` (non-negative); int32 or int64 output."""

    kind: ClassVar[str] = "ARG_MAX"
    axis: int = 0

    def weight_bytes(self) -> int:
        return 0  # the axis tensor is folded into the call


@dataclass(eq=False, kw_only=True)
class ArgMin(ArgMax):
    kind: ClassVar[str] = "ARG_MIN"


@dataclass(eq=False, kw_only=True)
class LogSoftmax(Op):
    """Over the last axis; the kernel reads each row before writing it: may run in place."""

    kind: ClassVar[str] = "LOG_SOFTMAX"

    def inplace_input(self) -> int | None:
        return _elementwise_inplace(self)


@dataclass(eq=False, kw_only=True)
class L2Normalization(Op):
    """Over the last axis; the kernel reads each row before writing it: may run in place."""

    kind: ClassVar[str] = "L2_NORMALIZATION"
    activation: Activation = Activation.NONE

    def inplace_input(self) -> int | None:
        return _elementwise_inplace(self)

# -- end of reductions --

# -- spatial and matrix ops (resize, transpose conv, batch matmul) --

@dataclass(eq=False, kw_only=True)
class Resize(Op):
    """RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR of an NHWC tensor to the constant size of
    input 1. Every output pixel reads input pixels anywhere in its batch, so the output
    never overwrites the input (no in-place rule) and the kernels need no scratch."""

    align_corners: bool = False
    half_pixel_centers: bool = False


@dataclass(eq=False, kw_only=True)
class ResizeNearestNeighbor(Resize):
    kind: ClassVar[str] = "RESIZE_NEAREST_NEIGHBOR"

    def weight_bytes(self) -> int:
        """The size tensor is folded; the kernel reads an int32 input row and column index
        per output row and column (tables in flash)."""
        return 4 * (self.y.shape[1] + self.y.shape[2])


@dataclass(eq=False, kw_only=True)
class ResizeBilinear(Resize):
    kind: ClassVar[str] = "RESIZE_BILINEAR"

    def macs(self) -> int:
        return 4 * self.y.size  # four weighted taps per output element

    def weight_bytes(self) -> int:
        return 0  # the size tensor is folded into the call's scales


@dataclass(eq=False, kw_only=True)
class TransposeConv(Op):
    """TRANSPOSE_CONV: inputs (output_shape, weights OHWI, input, bias?) as TFLite orders
    them. The kernel scatters into an accumulator per output element (int32, or int64 for
    16-bit activations): planner scratch, as LiteRT's scratch tensor."""

    kind: ClassVar[str] = "TRANSPOSE_CONV"
    stride: tuple[int, int] = (1, 1)
    padding: Padding = Padding.SAME
    activation: Activation = Activation.NONE
    # The options' quantized_bias_type for 16-bit activations (INT32 or INT64; None: unset,
    # which LiteRT takes as INT64).
    bias_type: DType | None = None

    @property
    def x(self) -> Tensor:
        return self.inputs[2]  # type: ignore[return-value]

    @property
    def filter(self) -> Tensor:
        return self.inputs[1]  # type: ignore[return-value]

    @property
    def bias(self) -> Tensor | None:
        return self.inputs[3] if len(self.inputs) > 3 else None

    def macs(self) -> int:
        """Every input element times every tap of its output channels (the reference
        kernel's loop; taps that fall outside the output are skipped, not free)."""
        out_channels, kh, kw, _ = self.filter.shape
        return self.x.size * kh * kw * out_channels

    def weight_bytes(self) -> int:
        return self.filter.nbytes + (self.bias.nbytes if self.bias is not None else 0)

    def scratch_bytes(self, isa: Isa, inplace: bool = False) -> int:
        """tc_transpose_conv_s8_get_buffer_size / _s16_: one accumulator per output element."""
        function = ("tc_transpose_conv_s16_get_buffer_size" if self.x.dtype.itemsize == 2
                    else "tc_transpose_conv_s8_get_buffer_size")
        return kernel_lib.buffer_size(isa.value, function, self.y.nhwc())


@dataclass(eq=False, kw_only=True)
class BatchMatMul(Op):
    """BATCH_MATMUL: out[..., i, j] = sum_k lhs[..., i, k] * rhs[..., k, j] (adj_x / adj_y
    transpose the last two axes of an operand first), batch axes broadcast, rank 2 to 5.
    The kernel reads both operands through strides: no scratch, no in-place rule."""

    kind: ClassVar[str] = "BATCH_MATMUL"
    adj_x: bool = False
    adj_y: bool = False

    @property
    def depth(self) -> int:
        lhs = self.inputs[0]
        assert lhs is not None
        return lhs.shape[-2] if self.adj_x else lhs.shape[-1]

    def macs(self) -> int:
        return self.y.size * self.depth

# -- end of spatial --

# -- recurrent and streaming ops (LSTM, SVDF) --
# Their state lives in variable tensors (Tensor.is_variable): inputs that the kernel reads
# and rewrites in place on every invoke, kept by the planner for the whole model.

@dataclass(eq=False, kw_only=True)
class Svdf(Op):
    """SVDF: inputs x [batch, input], weights_feature [filters, input], weights_time
    [filters, memory], bias [units] (optional), state [batch, filters * memory] (variable)."""

    kind: ClassVar[str] = "SVDF"
    rank: int = 1
    activation: Activation = Activation.NONE

    @property
    def state(self) -> Tensor:
        return self.inputs[4]  # type: ignore[return-value]

    @property
    def filters(self) -> int:
        return self.inputs[1].shape[0]  # type: ignore[union-attr]

    @property
    def memory(self) -> int:
        return self.inputs[2].shape[1]  # type: ignore[union-attr]

    def macs(self) -> int:
        batch, depth = self.x.shape[0], self.x.shape[-1]
        return batch * self.filters * (depth + self.memory)

    def scratch_bytes(self, isa: Isa, inplace: bool = False) -> int:
        """The kernel's int32 scratch (tc_nn_recurrent.h): batch * (filters + units)."""
        return 4 * self.x.shape[0] * (self.filters + self.y.shape[-1])


@dataclass(eq=False, kw_only=True)
class UnidirectionalSequenceLstm(Op):
    """UNIDIRECTIONAL_SEQUENCE_LSTM with TFLite's 24 inputs (index constants below):
    output_state (18) and cell_state (19) are variable tensors; `intermediates` are the
    five tensors whose quantization the integer kernel uses (gate outputs and hidden)."""

    kind: ClassVar[str] = "UNIDIRECTIONAL_SEQUENCE_LSTM"
    activation: Activation = Activation.NONE
    # The fused activation code as TFLite stores it (TfLiteFusedActivation): TFLite Micro's
    # 16x8 LSTM applies it to the cell gate (4 tanh, 6 sigmoid); LiteRT's int8 one ignores it.
    cell_activation: int = 4
    cell_clip: float = 0.0
    proj_clip: float = 0.0
    time_major: bool = False
    intermediates: list[Tensor | None] = field(default_factory=list)

    INPUT_TO_GATE: ClassVar[tuple[int, int, int, int]] = (1, 2, 3, 4)   # i, f, c, o
    RECURRENT_TO_GATE: ClassVar[tuple[int, int, int, int]] = (5, 6, 7, 8)
    CELL_TO_GATE: ClassVar[tuple[int, int, int]] = (9, 10, 11)          # i, f, o
    GATE_BIAS: ClassVar[tuple[int, int, int, int]] = (12, 13, 14, 15)
    PROJECTION_WEIGHTS: ClassVar[int] = 16
    PROJECTION_BIAS: ClassVar[int] = 17
    OUTPUT_STATE: ClassVar[int] = 18
    CELL_STATE: ClassVar[int] = 19
    LAYER_NORM: ClassVar[tuple[int, int, int, int]] = (20, 21, 22, 23)

    def input(self, i: int) -> Tensor | None:
        return self.inputs[i] if i < len(self.inputs) else None

    @property
    def cells(self) -> int:
        return self.inputs[4].shape[0]  # type: ignore[union-attr]

    @property
    def output_size(self) -> int:
        return self.inputs[8].shape[1]  # type: ignore[union-attr]

    @property
    def steps(self) -> int:
        """batch * time: how many cell steps one invoke runs."""
        return self.x.size // self.x.shape[-1]

    def macs(self) -> int:
        gates = 4 if self.input(1) is not None else 3
        per_step = gates * self.cells * (self.x.shape[-1] + self.output_size)
        if self.input(self.PROJECTION_WEIGHTS) is not None:
            per_step += self.cells * self.output_size
        return self.steps * per_step

    def scratch_bytes(self, isa: Isa, inplace: bool = False) -> int:
        """int8: four int16 gate vectors and one int8 hidden vector; 16x8: five int16
        vectors (tc_nn_recurrent.h)."""
        return (10 if self.x.dtype is DType.INT16 else 9) * self.cells
# -- end of recurrent --


def _subclasses(base: type[Op]) -> list[type[Op]]:
    return [c for cls in base.__subclasses__() for c in (cls, *_subclasses(cls))]


# Every op kind defined above by its TFLite name: the classes that set their own `kind`
# (Pool2D, Elementwise and the like only share code).
SUPPORTED_OPS: dict[str, type[Op]] = {
    cls.kind: cls for cls in _subclasses(Op) if "kind" in cls.__dict__
}
