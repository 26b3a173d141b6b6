"""The contract between the IR and the C kernels.

A lowering turns one IR op into one `KernelCall`: the kernel's name and its C arguments,
with every requantization parameter precomputed on the host (tinyconv/quant.py). It asks
the `LowerContext` for pointers to tensors, for const arrays (placed in flash) and for
static const parameter structs; codegen renders the result through templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from ...errors import UnsupportedOpError
from ...ir.graph import Quant, Tensor
from ...ir.ops import Isa, Op


@dataclass
class CStruct:
    """A C struct initializer: fields render as designated initializers, in order."""

    fields: dict[str, "CValue"]


@dataclass(frozen=True)
class CExpr:
    """A C expression rendered verbatim (a symbol, a pointer, a macro)."""

    text: str


CValue = int | float | bool | CExpr | CStruct


def c_initializer(value: CValue) -> str:
    if isinstance(value, CStruct):
        inner = ", ".join(f".{k} = {c_initializer(v)}" for k, v in value.fields.items())
        return "{" + inner + "}"
    if isinstance(value, CExpr):
        return value.text
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{float(np.float32(value))!r}f"
    if isinstance(value, (int, np.integer)):
        v = int(value)
        if v == -(2**31):
            return "INT32_MIN"
        return str(v)
    raise TypeError(f"cannot render {value!r} as C")


def dims(t: Tensor) -> CStruct:
    n, h, w, c = t.nhwc()
    return CStruct({"n": n, "h": h, "w": w, "c": c})


def dims_of(shape: tuple[int, int, int, int]) -> CStruct:
    n, h, w, c = shape
    return CStruct({"n": n, "h": h, "w": w, "c": c})


def tile(h: int, w: int) -> CStruct:
    return CStruct({"h": h, "w": w})


def activation(lo: int, hi: int) -> CStruct:
    return CStruct({"min": lo, "max": hi})


@dataclass
class KernelCall:
    function: str
    args: list[str]
    comment: str = ""
    # Extra C statements emitted before the call (rare: e.g. a memcpy for concatenation).
    prologue: list[str] = field(default_factory=list)


class LowerContext(Protocol):
    isa: Isa
    inplace: bool  # the planner put this op's output over its inplace_input()
    # Which runtime's bytes to reproduce where LiteRT's reference kernels and TFLite Micro
    # disagree (FULLY_CONNECTED requantization): "litert" (default) or "tflm".
    match: str

    def tensor_ptr(self, t: Tensor) -> str:
        """C expression of type `<ctype> *` for the tensor's bytes (arena or flash)."""

    def elements(self, t: Tensor) -> str:
        """C expression of the number of elements of `t` the call processes (all of them,
        or a streamed call's rows: see tinyconv/stream.py)."""

    def const_array(self, values: np.ndarray, ctype: str, hint: str) -> str:
        """Emit `const <ctype> sym[] = {...}` in flash (aligned); return the symbol."""

    def param(self, ctype: str, value: CValue, hint: str) -> str:
        """Emit `static const <ctype> sym = <value>;`; return `&sym`. A streamed call
        (tinyconv/stream.py) replaces the tensors' row counts of the dims with the hints
        of ROW_DIMS, and the top padding of the structs of PADDED_PARAMS, per call."""

    def scratch(self) -> str:
        """`&ctx` of a `tc_context` whose buf is this op's scratch in the arena."""


# The hints of the tc_dims a streamed call sets per call (the tensor's rows in this call),
# by the index of the op's input (None: its output), and the parameter structs whose
# padding.h it sets (the window's top overhang in this call).
ROW_DIMS = {"input_dims": 0, "input1_dims": 0, "input2_dims": 1, "output_dims": None}
PADDED_PARAMS = ("tc_conv_params", "tc_dw_conv_params", "tc_pool_params")

Lowering = Callable[[Op, LowerContext], KernelCall | None]
_LOWERINGS: dict[type[Op], Lowering] = {}
# The kernels each op's lowering may call (what `tinyconv ops` lists; `lower` holds every
# lowering to its list, so the table cannot drift from the code).
KERNELS: dict[type[Op], tuple[str, ...]] = {}
# The activation dtypes each op's lowering takes ("int8", "int16").
DTYPES: dict[type[Op], tuple[str, ...]] = {}


def lowering(*op_types: type[Op],
             kernels: tuple[str, ...] | dict[type[Op], tuple[str, ...]] = (),
             dtypes: tuple[str, ...] = ()) -> Callable[[Lowering], Lowering]:
    """Register `fn` as the lowering of `op_types`; `kernels`: every C function it may call
    (none for an alias), or those of each op type; `dtypes`: the activation dtypes it
    takes."""
    def register(fn: Lowering) -> Lowering:
        for t in op_types:
            _LOWERINGS[t] = fn
            KERNELS[t] = tuple(kernels[t] if isinstance(kernels, dict) else kernels)
            DTYPES[t] = tuple(dtypes)
        return fn

    return register


def lowered_ops() -> dict[type[Op], tuple[str, ...]]:
    """Every op type with a lowering, and the kernels it may call."""
    return {t: KERNELS[t] for t in _LOWERINGS}


def lower(op: Op, ctx: LowerContext) -> KernelCall | None:
    """None means no kernel runs (an alias such as RESHAPE)."""
    fn = _LOWERINGS.get(type(op))
    if fn is None:
        raise UnsupportedOpError(f"{op.describe()}: no kernel for {op.kind} (see `tinyconv "
                                 "ops`)")
    call = fn(op, ctx)
    if call is not None and call.function not in KERNELS[type(op)]:
        raise AssertionError(f"the lowering of {op.kind} called {call.function}, which its "
                             f"@lowering(kernels=...) does not list")
    return call


def require(condition: bool, op: Op, message: str) -> None:
    """Reject a case the kernels do not implement, naming the op (one clear error)."""
    if not condition:
        raise UnsupportedOpError(f"{op.describe()}: {message}")


def tensor_quant(op: Op, t: Tensor) -> Quant:
    """An activation's per-tensor quantization, or one clear error naming op and tensor."""
    require(t.quant is not None and len(t.quant.scale) >= 1, op,
            f"tensor {t.name!r} has no quantization parameters")
    require(not t.quant.per_channel, op, f"tensor {t.name!r} is quantized per channel; "
            "the kernel takes one scale and zero point per tensor")
    return t.quant


def conv_padding(in_size: int, filter_size: int, stride: int, dilation: int,
                 out_size: int) -> int:
    """Top/left padding as TFLite's ComputePaddingHeightWidth derives it from the shapes."""
    effective = (filter_size - 1) * dilation + 1
    total = (out_size - 1) * stride + effective - in_size
    return max(total // 2, 0)
