"""Constant folding at import (tinyconv/ir/fold.py): integer shape arithmetic becomes constants.

Each model here computes an int32 tensor from constants (and from a model input's static
shape) and hands it to a MAXIMUM with an int32 model input, an op that stays. The importer
must fold the whole computation away (the graph holds only the MAXIMUM) and every tensor it
folded must hold what LiteRT computes for it when it runs the model (its intermediates).
"""

from __future__ import annotations

import numpy as np
import pytest
from tflite_builder import ModelBuilder, schema

from tinyconv.errors import TinyconvError, UnsupportedOpError
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.reference import litert_intermediates

X_SHAPE = (1, 3, 5, 2)
INT32 = schema.TensorType.INT32
INT64 = schema.TensorType.INT64


def _options(cls_name: str, **fields):
    options = getattr(schema, cls_name)()
    for key, value in fields.items():
        setattr(options, key, value)
    return options


def _model(chain, shape, *, keep: str = "MAXIMUM") -> tuple[bytes, int]:
    """x: an int8 input of X_SHAPE; chain(b, x) adds ops computing an int32 tensor of
    `shape` and returns it; MAXIMUM(y, it), y an int32 input, is the model's output."""
    b = ModelBuilder()
    x = b.tensor(X_SHAPE, "int8", scale=0.05, zero_point=3, name="x")
    result = chain(b, x)
    y = b.tensor(shape, "int32", name="y")
    out = b.tensor(shape, "int32", name="out")
    b.op(keep, [y, result], [out])
    return b.build([x, y], [out]), result


def _folded(chain, shape, expected=None) -> np.ndarray:
    """Import, check that only the MAXIMUM is left and that every folded tensor is what
    LiteRT computes; returns the folded value the MAXIMUM reads."""
    model, result = _model(chain, shape)
    graph = import_tflite(model)
    assert [op.kind for op in graph.ops] == ["MAXIMUM"]
    value = graph.ops[0].inputs[1].data
    assert value is not None and graph.ops[0].inputs[1].index == result
    x = np.zeros(X_SHAPE, np.int8)
    y = np.full(shape, np.iinfo(np.int32).min, np.int32)
    reference = litert_intermediates(model, [[x, y]])[0]
    compared = 0
    for index, ref in reference.items():
        t = graph.tensors[index]
        if t.is_constant and t.name not in ("x", "y", "out"):
            np.testing.assert_array_equal(t.data, ref, err_msg=t.name)
            assert t.data.dtype == ref.dtype and t.data.shape == ref.shape, t.name
            compared += 1
    assert compared >= 1 and result in reference
    if expected is not None:
        np.testing.assert_array_equal(value, np.asarray(expected, np.int32))
    return value


def _const(b, values, dtype="int32"):
    return b.const(np.asarray(values, dtype))


def _out(b, shape, dtype="int32"):
    return b.tensor(shape, dtype)


# -- each foldable op -----------------------------------------------------------------------

def test_shape_reads_the_static_shape_of_an_activation():
    def chain(b, x):
        s64 = _out(b, (4,), "int64")
        b.op("SHAPE", [x], [s64], _options("ShapeOptionsT", outType=INT64))
        s = _out(b, (4,))
        b.op("CAST", [s64], [s], _options("CastOptionsT", inDataType=INT64, outDataType=INT32))
        return s
    _folded(chain, (4,), X_SHAPE)


def test_rank():
    def chain(b, x):
        r = _out(b, ())
        b.op("RANK", [x], [r], _options("RankOptionsT"))
        return r
    _folded(chain, (), 4)


def test_strided_slice_with_masks_and_negative_strides():
    data = np.arange(60, dtype=np.int32).reshape(3, 4, 5)

    def chain(b, x):
        out = _out(b, (2, 3))
        # [1:, ::-2 from the end, 2] with begin_mask on axis 0 off, end_mask on axis 0,
        # shrink on axis 2.
        b.op("STRIDED_SLICE", [_const(b, data), _const(b, [1, -1, 2]), _const(b, [0, 0, 3]),
                               _const(b, [1, -1, 1])], [out],
             _options("StridedSliceOptionsT", beginMask=0, endMask=0b011, ellipsisMask=0,
                      newAxisMask=0, shrinkAxisMask=0b100))
        return out
    _folded(chain, (2, 4), data[1:, ::-1, 2])


def test_strided_slice_with_ellipsis_and_new_axis():
    data = np.arange(24, dtype=np.int32).reshape(2, 3, 4)

    def chain(b, x):
        out = _out(b, (2, 3, 1, 2))
        b.op("STRIDED_SLICE", [_const(b, data), _const(b, [0, 0, 1]), _const(b, [0, 0, 4]),
                               _const(b, [1, 1, 2])], [out],
             _options("StridedSliceOptionsT", beginMask=0, endMask=0, ellipsisMask=0b001,
                      newAxisMask=0b010, shrinkAxisMask=0))
        return out
    _folded(chain, (2, 3, 1, 2), data[..., None, 1:4:2])


def test_slice_with_size_minus_one():
    data = np.arange(20, dtype=np.int32).reshape(4, 5)

    def chain(b, x):
        out = _out(b, (2, 3))
        b.op("SLICE", [_const(b, data), _const(b, [1, 2]), _const(b, [2, -1])], [out],
             _options("SliceOptionsT"))
        return out
    _folded(chain, (2, 3), data[1:3, 2:])


def test_pack_and_unpack():
    def chain(b, x):
        parts = [_out(b, (2,)) for _ in range(3)]
        b.op("UNPACK", [_const(b, [[1, 2, 3], [4, 5, 6]])], parts,
             _options("UnpackOptionsT", num=3, axis=-1))
        out = _out(b, (2, 2))
        b.op("PACK", [parts[2], parts[0]], [out], _options("PackOptionsT", valuesCount=2,
                                                              axis=1))
        return out
    _folded(chain, (2, 2), [[3, 1], [6, 4]])


def test_concatenation():
    def chain(b, x):
        out = _out(b, (2, 5))
        b.op("CONCATENATION", [_const(b, [[1, 2], [3, 4]]), _const(b, [[5, 6, 7], [8, 9, 0]])],
             [out], _options("ConcatenationOptionsT", axis=-1))
        return out
    _folded(chain, (2, 5), [[1, 2, 5, 6, 7], [3, 4, 8, 9, 0]])


def test_reshape_squeeze_and_expand_dims():
    def chain(b, x):
        r = _out(b, (2, 1, 3))
        b.op("RESHAPE", [_const(b, np.arange(6)), _const(b, [2, 1, -1])], [r],
             _options("ReshapeOptionsT", newShape=[2, 1, -1]))
        s = _out(b, (2, 3))
        b.op("SQUEEZE", [r], [s], _options("SqueezeOptionsT", squeezeDims=[-2]))
        e = _out(b, (2, 3, 1))
        b.op("EXPAND_DIMS", [s, _const(b, -1)], [e], _options("ExpandDimsOptionsT"))
        return e
    _folded(chain, (2, 3, 1), np.arange(6).reshape(2, 3, 1))


def test_gather_with_axis_and_batch_dims():
    params = np.arange(24, dtype=np.int32).reshape(2, 3, 4)

    def chain(b, x):
        g = _out(b, (2, 2, 4))
        b.op("GATHER", [_const(b, params), _const(b, [[2, 0], [1, 1]])], [g],
             _options("GatherOptionsT", axis=1, batchDims=1))
        h = _out(b, (2, 2, 2))
        b.op("GATHER", [g, _const(b, [3, 0])], [h], _options("GatherOptionsT", axis=-1))
        return h
    expected = np.stack([params[0][[2, 0]], params[1][[1, 1]]])[..., [3, 0]]
    _folded(chain, (2, 2, 2), expected)


def test_cast_wraps_int64_as_static_cast():
    def chain(b, x):
        out = _out(b, (3,))
        b.op("CAST", [_const(b, [2**32 + 5, -1, 2**31], "int64")], [out],
             _options("CastOptionsT", inDataType=INT64, outDataType=INT32))
        return out
    _folded(chain, (3,), [5, -1, -(2**31)])


def test_integer_arithmetic_broadcasts_and_applies_the_fused_activation():
    def chain(b, x):
        a, c = _const(b, [[-7, 7, 9]]), _const(b, [[2], [-3]])
        relu = schema.ActivationFunctionType.RELU
        add = _out(b, (2, 3))
        b.op("ADD", [a, c], [add], _options("AddOptionsT", fusedActivationFunction=relu))
        sub = _out(b, (2, 3))
        b.op("SUB", [add, c], [sub], _options("SubOptionsT"))
        mul = _out(b, (2, 3))
        b.op("MUL", [sub, _const(b, 3)], [mul], _options("MulOptionsT"))
        div = _out(b, (2, 3))
        b.op("FLOOR_DIV", [mul, _const(b, [-4, 5, 4])], [div], _options("FloorDivOptionsT"))
        hi = _out(b, (2, 3))
        b.op("MAXIMUM", [div, _const(b, -2)], [hi], _options("MaximumMinimumOptionsT"))
        lo = _out(b, (2, 3))
        b.op("MINIMUM", [hi, _const(b, [[4], [1]])], [lo], _options("MaximumMinimumOptionsT"))
        return lo
    a, c = np.array([[-7, 7, 9]]), np.array([[2], [-3]])
    expected = np.minimum(np.maximum((np.maximum(a + c, 0) - c) * 3 // [-4, 5, 4], -2),
                          [[4], [1]])
    _folded(chain, (2, 3), expected)


def test_fill_and_range():
    def chain(b, x):
        f = _out(b, (2, 3))
        b.op("FILL", [_const(b, [2, 3]), _const(b, 7)], [f], _options("FillOptionsT"))
        r = _out(b, (3,))
        b.op("RANGE", [_const(b, 10), _const(b, 1), _const(b, -4)], [r],
             _options("RangeOptionsT"))
        out = _out(b, (2, 3))
        b.op("SUB", [f, r], [out], _options("SubOptionsT"))
        return out
    _folded(chain, (2, 3), 7 - np.array([[10, 6, 2]] * 2))


# -- a chain, as Keras 3's Conv2DTranspose with a free batch writes it ----------------------

def test_shape_chain_into_a_kept_op_leaves_only_that_op_and_no_dead_constants():
    b = ModelBuilder()
    x = b.tensor(X_SHAPE, "int8", scale=0.05, zero_point=3, name="x")
    shape = _out(b, (4,))
    b.op("SHAPE", [x], [shape], _options("ShapeOptionsT", outType=INT32))
    batch = _out(b, ())
    b.op("STRIDED_SLICE", [shape, _const(b, [0]), _const(b, [1]), _const(b, [1])], [batch],
         _options("StridedSliceOptionsT", shrinkAxisMask=1))
    hw = _out(b, (1,))
    b.op("STRIDED_SLICE", [shape, _const(b, [1]), _const(b, [2]), _const(b, [1])], [hw],
         _options("StridedSliceOptionsT"))
    h = _out(b, ())
    b.op("SQUEEZE", [hw], [h], _options("SqueezeOptionsT"))
    cols = _out(b, ())
    b.op("MUL", [h, _const(b, 2)], [cols], _options("MulOptionsT"))
    packed = _out(b, (3,))
    b.op("PACK", [batch, cols, _const(b, 5)], [packed], _options("PackOptionsT", valuesCount=3))
    y = b.tensor((1, 6, 5), "int8", scale=0.05, zero_point=3, name="y")
    b.op("RESHAPE", [x, packed], [y], _options("ReshapeOptionsT"))
    model = b.build([x], [y])
    graph = import_tflite(model)
    assert [op.kind for op in graph.ops] == ["RESHAPE"]
    assert graph.ops[0].inputs[1].data.tolist() == [1, 6, 5]
    referenced = {t.index for op in graph.ops for t in op.inputs + op.outputs}
    assert referenced == {x, packed, y}  # the SHAPE ... PACK tensors are read by nothing
    lite = litert_intermediates(model, [[np.zeros(X_SHAPE, np.int8)]])[0]
    np.testing.assert_array_equal(lite[packed], graph.tensors[packed].data)


# -- what must not fold ----------------------------------------------------------------------

def test_an_op_reading_an_activation_is_kept():
    model, result = _model(lambda b, x: _const(b, [4, -4]), (2,))
    graph = import_tflite(model)
    assert [op.kind for op in graph.ops] == ["MAXIMUM"]  # MAXIMUM(y, constant): y is not


def test_shape_as_a_model_output_is_not_folded_and_says_why():
    b = ModelBuilder()
    x = b.tensor(X_SHAPE, "int8", scale=0.05, zero_point=3)
    shape = _out(b, (4,))
    b.op("SHAPE", [x], [shape], _options("ShapeOptionsT", outType=INT32))
    with pytest.raises(UnsupportedOpError, match="SHAPE is not supported as an op that runs "
                       r"\(SHAPE is evaluated at import where"):
        import_tflite(b.build([x], [shape]))


def test_quantized_constants_are_not_folded():
    b = ModelBuilder()
    x = b.tensor((1, 6), "int8", scale=0.05, zero_point=3)
    w = b.const(np.arange(6, dtype=np.int8).reshape(2, 3), scale=0.05, zero_point=3)
    flat = b.tensor((1, 6), "int8", scale=0.05, zero_point=3)
    b.op("RESHAPE", [w, _const(b, [1, 6])], [flat], _options("ReshapeOptionsT"))
    y = b.tensor((1, 6), "int8", scale=0.05, zero_point=3)
    b.op("ADD", [x, flat], [y], _options("AddOptionsT"))
    # Left to the validator (and refused there), not evaluated: folding touches no
    # quantized data.
    with pytest.raises(TinyconvError, match="op #0 RESHAPE .*a constant cannot be reshaped"):
        import_tflite(b.build([x], [y]))


def test_what_litert_refuses_is_a_malformed_op():
    def by_zero(b, x):
        out = _out(b, (2,))
        b.op("FLOOR_DIV", [_const(b, [4, 5]), _const(b, [1, 0])], [out],
             _options("FloorDivOptionsT"))
        return out

    def backwards(b, x):
        out = _out(b, (3,))
        b.op("RANGE", [_const(b, 1), _const(b, 10), _const(b, -1)], [out],
             _options("RangeOptionsT"))
        return out

    def out_of_range(b, x):
        out = _out(b, (1,))
        b.op("GATHER", [_const(b, [1, 2]), _const(b, [2])], [out], _options("GatherOptionsT"))
        return out

    for chain, name in ((by_zero, "FLOOR_DIV"), (backwards, "RANGE"), (out_of_range, "GATHER")):
        model, _ = _model(chain, (3,))
        with pytest.raises(TinyconvError, match=f"op #0 {name} is malformed"):
            import_tflite(model)
