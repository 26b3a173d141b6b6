"""The typed graph IR shared by importers, planner, cost model, codegen and reports.

A Graph is a list of Tensors and a list of Ops in a valid execution order. Tensors hold
their shape, dtype, quantization and, for constants, their data. Op kinds are dataclass
subclasses of Op (see ops.py) with typed options and cost methods.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .ops import Op


class DType(enum.Enum):
    INT8 = ("int8", "int8_t", 1)
    UINT8 = ("uint8", "uint8_t", 1)
    INT16 = ("int16", "int16_t", 2)
    INT32 = ("int32", "int32_t", 4)
    INT64 = ("int64", "int64_t", 8)
    FLOAT32 = ("float32", "float", 4)
    BOOL = ("bool", "bool", 1)

    def __init__(self, numpy_name: str, c_type: str, itemsize: int):
        self.numpy_name = numpy_name
        self.c_type = c_type
        self.itemsize = itemsize

    @property
    def numpy(self) -> np.dtype:
        return np.dtype(self.numpy_name)


@dataclass(frozen=True)
class Quant:
    """Affine quantization: real = scale * (q - zero_point), per tensor or per channel."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0  # the channel axis when per-channel

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1

    def scale_at(self, channel: int) -> float:
        return self.scale[channel if self.per_channel else 0]

    @property
    def zp(self) -> int:
        """Zero point of a per-tensor quantized tensor (activations)."""
        return self.zero_point[0]

    @property
    def s(self) -> float:
        """Scale of a per-tensor quantized tensor (activations)."""
        return self.scale[0]


@dataclass(eq=False)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: DType
    quant: Quant | None = None
    data: np.ndarray | None = None  # set for constants (weights, biases, shapes)
    # A TFLite variable tensor: state an op (LSTM, SVDF) reads and rewrites in place on every
    # invoke, kept across invokes; it starts as zeros (its zero point for int8).
    is_variable: bool = False

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def nhwc(self) -> tuple[int, int, int, int]:
        """The shape as 4D NHWC, padding leading dimensions with 1 (TFLite's convention)."""
        if len(self.shape) > 4:
            raise ValueError(f"tensor {self.name!r} has {len(self.shape)} dimensions")
        return tuple([1] * (4 - len(self.shape)) + list(self.shape))  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"Tensor({self.index}, {self.name!r}, {self.shape}, {self.dtype.name})"


@dataclass(eq=False)
class Graph:
    name: str
    tensors: list[Tensor]
    ops: list["Op"]
    inputs: list[Tensor]
    outputs: list[Tensor]
    source: str = ""  # where it came from (file name), for error messages
    metadata: dict = field(default_factory=dict)

    def activations(self) -> list[Tensor]:
        """Non-constant tensors that some op produces or consumes: what the arena holds."""
        seen: dict[int, Tensor] = {}
        for t in self.inputs:
            seen[t.index] = t
        for op in self.ops:
            for t in list(op.inputs) + list(op.outputs):
                if t is not None and not t.is_constant:
                    seen.setdefault(t.index, t)
        return list(seen.values())

    def producers(self) -> dict[int, "Op"]:
        return {t.index: op for op in self.ops for t in op.outputs}

    def consumers(self) -> dict[int, list["Op"]]:
        result: dict[int, list[Op]] = {}
        for op in self.ops:
            for t in op.inputs:
                if t is not None:
                    result.setdefault(t.index, []).append(op)
        return result

    def total_macs(self) -> int:
        return sum(op.macs() for op in self.ops)

    def weight_bytes(self) -> int:
        return sum(op.weight_bytes() for op in self.ops)
