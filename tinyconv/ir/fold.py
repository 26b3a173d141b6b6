"""Constant folding at import: integer shape arithmetic evaluated once, on the host.

Converters leave shape computations in a graph that the MCU has no reason to run: a Keras 3
Conv2DTranspose converted with a free batch computes its output shape at run time (SHAPE ->
STRIDED_SLICE -> PACK -> TRANSPOSE_CONV's output_shape). Every op of FOLDABLE whose result
depends only on constants, or (SHAPE, RANK) only on a static shape, is evaluated here with
TFLite's semantics and its outputs become constant tensors; the importer drops the op, so
neither the validator, the planner nor the kernels ever see it, and constants only such ops
read are referenced by no op (nothing emits them).

What folds (`foldable`): an op of FOLDABLE whose inputs are all constant (SHAPE and RANK:
any input, only its shape is read) and whose inputs and outputs are all unquantized int32 /
int64 tensors (shape arithmetic; quantized data is never touched here), and none of whose
outputs is a model output (a model output must stay a computed tensor). A tensor's batch
dimension declared -1 (None in Keras: its shape_signature) is already 1 in its `shape`,
which the converter writes with batch 1; that is the shape read here.

Semantics: where tinyconv has the IR op (STRIDED_SLICE, SLICE, PACK, UNPACK, GATHER,
CONCATENATION, ADD, SUB, MUL ...), the importer's builder parses and normalizes its options
(axes, masks, SLICE's -1 sizes) and this module evaluates that op, STRIDED_SLICE through
`StridedSlice.loops`, the one definition of its indexing; the others (SHAPE, RANK, FILL,
RANGE, FLOOR_DIV) are read from their options here. Arithmetic is in the output's dtype and
wraps as the C++ kernels do; the fused activation clamps as CalculateActivationRange<int32>.
Whatever LiteRT refuses at Prepare/Eval (division by zero, an index outside its axis, a
RANGE that never reaches its limit) raises ValueError, which the importer reports as a
malformed op.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from . import ops as O
from .graph import DType, Tensor

_INTEGER = (DType.INT32, DType.INT64)
# FILL and RANGE make tensors of any size from a few numbers; shape arithmetic needs small
# ones, and a corrupt file must not make the host allocate gigabytes (nor a broadcast or
# a GATHER of two small constants).
MAX_FOLDED_ELEMENTS = 1 << 20
# Ops whose only data input is read for its shape alone.
_SHAPE_ONLY = ("SHAPE", "RANK")


def _value(t: Tensor) -> np.ndarray:
    assert t.data is not None
    return t.data


def _scalar(t: Tensor, what: str) -> int:
    values = _value(t).reshape(-1)
    if values.size != 1:
        raise ValueError(f"{what} has {values.size} values, expected 1")
    return int(values[0])


_CLAMPS = {O.Activation.NONE: (None, None), O.Activation.RELU: (0, None),
           O.Activation.RELU6: (0, 6), O.Activation.RELU_N1_TO_1: (-1, 1)}


def _activate(values: np.ndarray, activation: O.Activation) -> np.ndarray:
    low, high = _CLAMPS[activation]
    if low is None and high is None:
        return values
    return np.clip(values, low, high).astype(values.dtype)


def _arith(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Callable:
    def evaluate(op: O.Op | None, inputs: list[Tensor], outputs: list[Tensor],
                 options: Any) -> list[np.ndarray]:
        dtype = outputs[0].dtype.numpy
        a, b = (_value(t).astype(dtype) for t in inputs[:2])
        _bounded(int(np.prod(np.broadcast_shapes(a.shape, b.shape), dtype=object)),
                 "the broadcast")
        with warnings.catch_warnings():  # int32 wraps, as the kernels' arithmetic does
            warnings.simplefilter("ignore", RuntimeWarning)
            result = np.asarray(fn(a, b), dtype=dtype)
        activation = getattr(op, "activation", O.Activation.NONE)
        return [_activate(result, activation)]
    return evaluate


def _floor_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.any(b == 0):  # floor_div.cc: "Division by 0"
        raise ValueError("FLOOR_DIV divides by 0")
    return np.floor_divide(a, b)


def _shape(op, inputs, outputs, options) -> list[np.ndarray]:
    return [np.array(inputs[0].shape, dtype=outputs[0].dtype.numpy)]


def _rank(op, inputs, outputs, options) -> list[np.ndarray]:
    return [np.array(len(inputs[0].shape), dtype=outputs[0].dtype.numpy)]


def _strided_slice(op: O.StridedSlice, inputs, outputs, options) -> list[np.ndarray]:
    axes, shape = op.loops()
    index = [np.arange(a.count) * a.stride + a.start for a in axes if a.input_axis is not None]
    taken = _value(inputs[0])[np.ix_(*index)] if index else _value(inputs[0])
    if taken.size != int(np.prod(shape, dtype=np.int64)):
        raise ValueError(f"takes {taken.size} elements for an output of shape {list(shape)}")
    return [taken.reshape(shape)]


def _slice(op: O.Slice, inputs, outputs, options) -> list[np.ndarray]:
    x = _value(inputs[0])
    for axis, (b, s, d) in enumerate(zip(op.begin, op.size, x.shape)):
        if b < 0 or s < 0 or b + s > d:  # slice.cc: "begin + size must be <= input size"
            raise ValueError(f"axis {axis}: begin {b} size {s} leave its {d} elements")
    return [x[tuple(slice(b, b + s) for b, s in zip(op.begin, op.size))]]


def _pack(op: O.Pack, inputs, outputs, options) -> list[np.ndarray]:
    values = [_value(t) for t in inputs]
    if any(v.shape != values[0].shape for v in values):
        raise ValueError("PACK inputs differ in shape")
    return [np.stack(values, axis=op.axis)]


def _unpack(op: O.Unpack, inputs, outputs, options) -> list[np.ndarray]:
    x = _value(inputs[0])
    if x.shape[op.axis] != len(outputs):
        raise ValueError(f"axis {op.axis} has {x.shape[op.axis]} elements for "
                         f"{len(outputs)} outputs")
    return [np.take(x, i, axis=op.axis) for i in range(len(outputs))]


def _concatenation(op: O.Concatenation, inputs, outputs, options) -> list[np.ndarray]:
    # concatenation.cc: int32/int64 are copied; the fused activation applies to floats only.
    return [np.concatenate([_value(t) for t in inputs], axis=op.axis)]


def _reshape(op, inputs, outputs, options) -> list[np.ndarray]:
    """reshape.cc GetOutputShape: the shape input when there is one (a legacy [0]: a
    scalar), else the options' new_shape, else the declared output shape; one -1 takes
    what the others leave."""
    x = _value(inputs[0])
    if len(inputs) > 1 and inputs[1] is not None:
        shape = [int(v) for v in _value(inputs[1]).reshape(-1)]
        if len(inputs[1].shape) == 1 and shape == [0]:
            shape = []
    elif options is not None and getattr(options, "newShape", None) is not None:
        shape = [int(v) for v in options.newShape]
    else:
        shape = list(outputs[0].shape)
    if shape.count(-1) > 1:
        raise ValueError(f"new shape {shape} has more than one -1")
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
        if known == 0 or x.size % known:
            raise ValueError(f"{x.size} elements do not reshape to {shape}")
        shape[shape.index(-1)] = x.size // known
    return [x.reshape(shape)]


def _squeeze(op, inputs, outputs, options) -> list[np.ndarray]:
    x = _value(inputs[0])
    dims = [int(d) for d in getattr(options, "squeezeDims", None) or []]
    if not dims:
        return [x.reshape([d for d in x.shape if d != 1])]
    axes = {_axis(d, x.ndim, "SQUEEZE dim") for d in dims}
    if any(x.shape[a] != 1 for a in axes):
        raise ValueError(f"SQUEEZE dims {dims} of shape {list(x.shape)} are not all 1")
    return [x.reshape([d for a, d in enumerate(x.shape) if a not in axes])]


def _expand_dims(op, inputs, outputs, options) -> list[np.ndarray]:
    x = _value(inputs[0])
    axis = _scalar(inputs[1], "EXPAND_DIMS axis")
    return [np.expand_dims(x, _axis(axis, x.ndim + 1, "EXPAND_DIMS axis"))]


def _gather(op: O.Gather, inputs, outputs, options) -> list[np.ndarray]:
    params, indices = _value(inputs[0]), _value(inputs[1])
    size = params.shape[op.axis]
    if np.any(indices < 0) or np.any(indices >= size):  # gather.cc: index out of bounds
        raise ValueError(f"GATHER index outside the {size} elements of axis {op.axis}")
    batch = op.batch_dims
    _bounded(indices.size * params.size // max(size, 1), "GATHER")
    if batch == 0:
        return [np.take(params, indices, axis=op.axis)]
    if batch > op.axis or params.shape[:batch] != indices.shape[:batch]:
        raise ValueError(f"batch_dims {batch} do not match params {list(params.shape)} and "
                         f"indices {list(indices.shape)}")
    lead = params.shape[:batch]
    flat_p = params.reshape(-1, *params.shape[batch:])
    flat_i = indices.reshape(-1, *indices.shape[batch:])
    parts = [np.take(p, i, axis=op.axis - batch) for p, i in zip(flat_p, flat_i)]
    return [np.stack(parts).reshape(*lead, *parts[0].shape)]


def _cast(op, inputs, outputs, options) -> list[np.ndarray]:
    return [_value(inputs[0]).astype(outputs[0].dtype.numpy)]  # static_cast: wraps


def _bounded(count: int, what: str) -> None:
    if count > MAX_FOLDED_ELEMENTS:
        raise ValueError(f"{what} makes {count} elements, over the {MAX_FOLDED_ELEMENTS} "
                         "evaluated at import")


def _fill(op, inputs, outputs, options) -> list[np.ndarray]:
    dims = [int(d) for d in _value(inputs[0]).reshape(-1)]
    if any(d < 0 for d in dims):
        raise ValueError(f"FILL dims {dims} has a negative size")
    _bounded(int(np.prod(dims, dtype=object)), "FILL")
    return [np.full(dims, _scalar(inputs[1], "FILL value"), dtype=outputs[0].dtype.numpy)]


def _range(op, inputs, outputs, options) -> list[np.ndarray]:
    start, limit, delta = (_scalar(t, f"RANGE {w}")
                           for t, w in zip(inputs, ("start", "limit", "delta")))
    # range.cc GetSize: delta != 0 and it must move from start towards limit.
    if delta == 0 or not ((start >= limit and delta < 0) or (start <= limit and delta > 0)):
        raise ValueError(f"RANGE({start}, {limit}, {delta}) never reaches its limit")
    _bounded((abs(limit - start) + abs(delta) - 1) // abs(delta), "RANGE")
    return [np.arange(start, limit, delta, dtype=outputs[0].dtype.numpy)]


def _axis(axis: int, rank: int, what: str) -> int:
    from .tflite_import import _axis as normalized  # the importer's, for its own options
    return normalized(axis, rank, what)


# Op name -> evaluate(ir_op or None, inputs, outputs, options) -> the outputs' values.
FOLDABLE: dict[str, Callable[..., list[np.ndarray]]] = {
    "SHAPE": _shape,
    "RANK": _rank,
    "STRIDED_SLICE": _strided_slice,
    "SLICE": _slice,
    "PACK": _pack,
    "UNPACK": _unpack,
    "CONCATENATION": _concatenation,
    "RESHAPE": _reshape,
    "SQUEEZE": _squeeze,
    "EXPAND_DIMS": _expand_dims,
    "GATHER": _gather,
    "CAST": _cast,
    "ADD": _arith(np.add),
    "SUB": _arith(np.subtract),
    "MUL": _arith(np.multiply),
    "FLOOR_DIV": _arith(_floor_div),
    "MAXIMUM": _arith(np.maximum),
    "MINIMUM": _arith(np.minimum),
    "FILL": _fill,
    "RANGE": _range,
}


def _integer(t: Tensor) -> bool:
    return t.dtype in _INTEGER and t.quant is None


def foldable(name: str, inputs: list[Tensor | None], outputs: list[Tensor],
             model_outputs: set[int]) -> bool:
    """Whether the op `name` with these tensors is evaluated at import (see the module)."""
    if name not in FOLDABLE or not outputs:
        return False
    if any(t.index in model_outputs or not _integer(t) for t in outputs):
        return False
    if name in _SHAPE_ONLY:
        return len(inputs) == 1 and inputs[0] is not None and not inputs[0].is_variable
    return bool(inputs) and all(t is not None and t.is_constant and _integer(t)
                                for t in inputs)


def fold(name: str, op: O.Op | None, inputs: list[Tensor], outputs: list[Tensor],
         options: Any) -> None:
    """Evaluate a `foldable` op and make its outputs constants (their data and shape).
    `op`: the IR op the importer's builder made of it, where tinyconv has one."""
    values = FOLDABLE[name](op, inputs, outputs, options)
    if len(values) != len(outputs):
        raise ValueError(f"gives {len(values)} values for {len(outputs)} outputs")
    for t, value in zip(outputs, values):
        value = np.array(value, dtype=t.dtype.numpy, order="C")  # (0-d stays 0-d)
        t.data, t.shape = value, tuple(int(d) for d in value.shape)
