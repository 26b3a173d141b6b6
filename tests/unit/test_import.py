import numpy as np
import pytest

from tinyconv.errors import TinyconvError, UnsupportedOpError
from tinyconv.ir import ops as O
from tinyconv.ir.tflite_import import import_tflite

import tflite_builder as tb


@pytest.fixture(scope="module")
def convnet() -> bytes:
    return tb.small_convnet_model(np.random.default_rng(1))


def test_small_convnet_imports_with_typed_ops(convnet):
    g = import_tflite(convnet, "convnet")
    kinds = [type(op) for op in g.ops]
    assert kinds == [O.Conv2D, O.DepthwiseConv2D, O.Conv2D, O.Add, O.Mean, O.FullyConnected,
                     O.Softmax]
    conv = g.ops[0]
    assert conv.stride == (2, 2) and conv.filter.quant.per_channel
    assert conv.macs() == int(np.prod(conv.y.shape)) * 3 * 3 * conv.x.shape[3]
    assert g.ops[4].axes == (1, 2)
    assert g.inputs[0].dtype.name == "INT8" and g.outputs[0].quant.zp == -128


def test_truncated_file_is_one_clear_error(convnet):
    with pytest.raises(TinyconvError, match="corrupt or truncated|not a TFLite"):
        import_tflite(convnet[: len(convnet) // 2], "half.tflite")


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_rejected(seed):
    junk = np.random.default_rng(seed).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    with pytest.raises(TinyconvError, match="not a TFLite flatbuffer"):
        import_tflite(junk, "junk.tflite")
    with pytest.raises(TinyconvError, match="corrupt or truncated|malformed|type"):
        import_tflite(junk[:4] + b"TFL3" + junk[8:], "junk.tflite")


def test_float_model_is_named_as_such():
    b = tb.ModelBuilder()
    x = b.tensor((1, 4, 4, 2), "float32")
    w = b.const(np.ones((3, 1, 1, 2), np.float32))
    y = b.tensor((1, 4, 4, 3), "float32")
    b.op("CONV_2D", [x, w, -1], [y], tb.schema.Conv2DOptionsT(padding=1, strideH=1,
                                                               strideW=1))
    with pytest.raises(TinyconvError, match="float model"):
        import_tflite(b.build([x], [y]), "float.tflite")


def test_unsupported_op_is_named_with_its_index_and_the_supported_list():
    b = tb.ModelBuilder()
    x = b.tensor((1, 4), "int8", 0.1, 0)
    y = b.tensor((1, 4), "int8", 0.1, 0)
    z = b.tensor((1, 4), "int8", 0.1, 0)
    b.op("RELU", [x], [y])
    b.op("EMBEDDING_LOOKUP", [y], [z])
    with pytest.raises(UnsupportedOpError, match=r"op #1 EMBEDDING_LOOKUP .*"
                                                 r"supported: .*CONV_2D"):
        import_tflite(b.build([x], [z]), "lookup.tflite")


# --- the one .tflite reader (tinyconv/ir/schema/tflite.py) ---------------------------------

from tinyconv.convert import ops_of  # noqa: E402
from tinyconv.ir import validate as V  # noqa: E402
from tinyconv.ir.schema import tflite as schema  # noqa: E402
from tinyconv.reference import model_io, parse_model  # noqa: E402

S = tb.schema


def _relu_chain(codes: list) -> bytes:
    b = tb.ModelBuilder()
    x = b.tensor((1, 4), "int8", 0.1, 0)
    prev = x
    for code in codes:
        y = b.tensor((1, 4), "int8", 0.1, 0)
        b.op(code, [prev], [y])
        prev = y
    return b.build([x], [prev])


def test_op_names_decode_both_opcode_fields_and_custom_names():
    # 150 does not fit the int8 deprecated field: the builder writes (150, 127).
    blob = _relu_chain(["RELU", 150, "CUSTOM"])
    model = schema.parse(blob, "ops.tflite")
    model.operatorCodes[2].customCode = b"MyOp"
    names = schema.ops_of(model)
    assert names[0] == "RELU" and names[2] == "CUSTOM:MyOp"
    assert names[1] == schema.builtin_names().get(150, "BUILTIN_150")
    # An old file: the code only in the deprecated field.
    model.operatorCodes[0].builtinCode = 0
    assert schema.op_name(model, 0) == "RELU"
    assert ops_of(blob)[:2] == names[:2]  # the converter's listing is the same reader's
    with pytest.raises(TinyconvError, match="op code index 7 is outside the model's 3"):
        schema.op_name(model, 7, "ops.tflite")


def test_the_three_users_share_one_parse_error():
    for blob in (b"", b"\0" * 64, _relu_chain(["RELU"])[:40]):
        messages = set()
        for read in (lambda: import_tflite(blob, "m"), lambda: parse_model(blob, "m"),
                     lambda: ops_of(blob), lambda: model_io(blob)):
            with pytest.raises(TinyconvError) as info:
                read()
            messages.add(str(info.value).split(": ", 1)[1])
        assert len(messages) == 1, messages


def test_model_io_reads_types_and_quantization_through_the_schema_module():
    inputs, outputs = model_io(_relu_chain(["RELU"]))
    assert inputs[0].dtype == np.int8 and inputs[0].quant.zero_point == (0,)
    assert abs(outputs[0].quant.s - 0.1) < 1e-7 and outputs[0].shape == (1, 4)


def _edit(blob: bytes, edit) -> bytes:
    """Parse, change the object tree, write it back."""
    import flatbuffers

    model = schema.parse(blob)
    edit(model)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@pytest.mark.parametrize("edit, message", [
    (lambda m: setattr(m.subgraphs[0].operators[0], "opcodeIndex", 5),
     "op code index 5 is outside"),
    (lambda m: setattr(m.subgraphs[0].operators[0], "inputs", [9]),
     "op #0 RELU refers to tensor 9, the subgraph has 2"),
    (lambda m: setattr(m.subgraphs[0].operators[0], "outputs", [-1]),
     "refers to tensor -1"),
    (lambda m: setattr(m.subgraphs[0], "inputs", [2]), "model input refers to tensor 2"),
    (lambda m: setattr(m.subgraphs[0].tensors[0], "buffer", 40), "refers to buffer 40"),
    (lambda m: setattr(m, "subgraphs", []), "no subgraph"),
    (lambda m: setattr(m.subgraphs[0].tensors[0].quantization, "zeroPoint", [0, 1]),
     "1 scales but 2 zero points"),
])
def test_indices_read_from_the_file_are_bounds_checked(edit, message):
    with pytest.raises(TinyconvError, match=message):
        import_tflite(_edit(_relu_chain(["RELU"]), edit), "m.tflite")


def test_constant_bytes_must_match_the_shape():
    def grow(m):
        m.subgraphs[0].tensors[1].shape = [3, 3, 3, 3]  # the conv's filter
    blob = _conv_model()
    with pytest.raises(TinyconvError, match=r"constant tensor .* has \d+ bytes, its shape "
                                            r"\[3, 3, 3, 3\] of INT8 needs 81"):
        import_tflite(_edit(blob, grow), "m.tflite")


# --- validation (tinyconv/ir/validate.py) ----------------------------------------------------

def test_every_op_kind_has_a_validation_rule():
    assert set(O.SUPPORTED_OPS.values()) <= set(V.RULES)


@pytest.mark.parametrize("kind", sorted(tb.SINGLE_OP_BUILDERS))
def test_valid_single_op_models_pass_validation(kind):
    for seed in range(4):
        import_tflite(tb.SINGLE_OP_BUILDERS[kind](np.random.default_rng(seed)), kind)


def _q(b, shape, dtype="int8"):
    return b.tensor(shape, dtype, 0.05, 0)


def _conv_model(out_hw=3, kernel=3, stride=1, padding=1, dilation=1, bias_len=4,
                filter_scales=1, filter_axis=0, in_shape=(1, 5, 5, 2)):
    b = tb.ModelBuilder()
    x = _q(b, in_shape)
    w = b.const(np.ones((4, kernel, kernel, in_shape[3]), np.int8),
                scale=[0.01] * filter_scales, zero_point=[0] * filter_scales,
                quantized_dimension=filter_axis)
    bias = b.const(np.zeros(bias_len, np.int32))
    y = _q(b, (1, out_hw, out_hw, 4))
    b.op("CONV_2D", [x, w, bias], [y], S.Conv2DOptionsT(
        padding=padding, strideH=stride, strideW=stride, dilationHFactor=dilation,
        dilationWFactor=dilation))
    return b.build([x], [y])


def _one_op(kind, in_shapes, out_shape, options=None, consts=(), dtype="int8"):
    b = tb.ModelBuilder()
    xs = [_q(b, s) for s in in_shapes]
    cs = [b.const(np.asarray(c)) for c in consts]
    y = _q(b, out_shape, dtype)
    b.op(kind, xs + cs, [y], options)
    return b.build(xs, [y])


def _add_model():
    return _one_op("ADD", [(1, 4, 1, 3), (1, 1, 5, 3)], (1, 4, 5, 2), S.AddOptionsT())


@pytest.mark.parametrize("blob, message", [
    (lambda: _conv_model(out_hw=4), r"op #0 CONV_2D \(t3\): tensor 't3': has shape "
                                    r"\[1, 4, 4, 4\], expected 3 on axis 1"),
    (lambda: _conv_model(out_hw=2, stride=2, dilation=2), "expected 1 on axis 1 from input "
                                                          r"\[1, 5, 5, 2\], window 3, stride 2, "
                                                          "dilation 2, VALID"),
    (lambda: _conv_model(kernel=7), "a 7-tap window .* does not fit the input's 5 pixels"),
    (lambda: _conv_model(stride=0), r"stride \(0, 0\) out of range"),
    (lambda: _conv_model(bias_len=3), r"tensor 't2': has shape \[3\], expected \[4\]"),
    (lambda: _conv_model(filter_scales=3), "has 3 scales on axis 0"),
    (lambda: _conv_model(filter_scales=4, filter_axis=3), "4 scales on axis 3, its shape"),
    (lambda: _one_op("FULLY_CONNECTED", [(1, 10)], (1, 3), S.FullyConnectedOptionsT(),
                     [np.ones((3, 4), np.int8)]), "not a multiple of the weights' depth 4"),
    (_add_model, r"has shape \[1, 4, 5, 2\], not the broadcast of \[1, 4, 1, 3\]"),
    (lambda: _one_op("CONCATENATION", [(1, 2, 3), (1, 2, 4)], (1, 2, 8),
                     S.ConcatenationOptionsT(axis=2)), "has 8 on axis 2, the inputs add up "
                                                       "to 7"),
    (lambda: _one_op("CONCATENATION", [(1, 2, 3), (1, 3, 4)], (1, 2, 7),
                     S.ConcatenationOptionsT(axis=-1)), r"has shape \[1, 3, 4\], which "
                                                        r"does not fit"),
    (lambda: _one_op("CONCATENATION", [(1, 2)], (1, 2), S.ConcatenationOptionsT(axis=2)),
     "CONCATENATION axis 2 is outside a rank-2"),
    (lambda: _one_op("RESHAPE", [(1, 6)], (2, 4)), r"\(8 elements\), the input \[1, 6\] "
                                                   r"has 6"),
    (lambda: _one_op("TRANSPOSE", [(2, 3, 4)], (4, 3, 2), consts=[np.array([2, 1, 1],
                                                                            np.int32)]),
     "is not a permutation"),
    (lambda: _one_op("TRANSPOSE", [(2, 3, 4)], (4, 3, 2), consts=[np.array([2, 0, 1],
                                                                            np.int32)]),
     r"expected \[4, 2, 3\]"),
    (lambda: _one_op("PAD", [(1, 3, 3, 2)], (1, 5, 5, 2),
                     consts=[np.array([[0, 0], [1, 1], [1, 1], [0, 1]], np.int32)]),
     r"expected \[1, 5, 5, 3\]"),
    (lambda: _one_op("PAD", [(1, 3, 3, 2)], (1, 3, 3, 2),
                     consts=[np.array([[0, 0], [-1, 1], [0, 0], [0, 0]], np.int32)]),
     "must be non-negative"),
    (lambda: _one_op("MEAN", [(1, 4, 4, 8)], (1, 8), S.ReducerOptionsT(keepDims=True),
                     [np.array([1, 2], np.int32)]), r"expected \[1, 1, 1, 8\]"),
    (lambda: _one_op("MEAN", [(1, 4, 4, 8)], (1, 8), S.ReducerOptionsT(),
                     [np.array([1, 5], np.int32)]), "MEAN axis 5 is outside a rank-4"),
    (lambda: _one_op("SOFTMAX", [(1, 10)], (1, 9), S.SoftmaxOptionsT(beta=1.0)),
     r"has shape \[1, 9\], expected \[1, 10\]"),
    (lambda: _one_op("MAX_POOL_2D", [(1, 6, 6, 2)], (1, 3, 3, 2), S.Pool2DOptionsT(
        padding=1, strideH=2, strideW=2, filterHeight=3, filterWidth=3)),
     "expected 2 on axis 1"),
    (lambda: _one_op("RELU", [(1, 6)], (1, 7)), r"expected \[1, 6\]"),
    (lambda: _one_op("RELU", [(1, 6)], (1, 6), dtype="int16"),
     "is INT16, tensor .* is INT8 .int8 and int16 activations do not mix"),
])
def test_inconsistent_ops_are_rejected_naming_op_and_tensor(blob, message):
    with pytest.raises(TinyconvError, match=message) as info:
        import_tflite(blob(), "bad.tflite")
    assert str(info.value).startswith("bad.tflite: ") and "\n" not in str(info.value)


def test_dataflow_must_be_written_before_read():
    b = tb.ModelBuilder()
    x, y, z = _q(b, (1, 4)), _q(b, (1, 4)), _q(b, (1, 4))
    b.op("RELU", [y], [z])  # y is never written
    b.op("RELU", [x], [y])
    with pytest.raises(TinyconvError, match=r"op #0 RELU \(t2\): tensor 't1': is read "
                                            "before any op writes it"):
        import_tflite(b.build([x], [z]), "order.tflite")
    b = tb.ModelBuilder()
    x, y = _q(b, (1, 4)), _q(b, (1, 4))
    b.op("RELU", [x], [y])
    b.op("RELU", [x], [y])
    with pytest.raises(TinyconvError, match="is written twice"):
        import_tflite(b.build([x], [y]), "twice.tflite")


def test_any_bias_is_accepted_and_only_the_taps_sum_must_fit_int32():
    """LiteRT adds the bias to its int32 accumulator modulo 2^32, and the kernels do too
    (tests/kernels/test_kernels_conv.py runs such models bit-exact): a saturated bias is a
    valid model. The sum over the taps alone must fit int32."""
    def bias(value, weight=None):
        def edit(m):
            tensors = m.subgraphs[0].tensors
            if weight is not None:
                m.buffers[tensors[1].buffer].data[:] = weight
            m.buffers[tensors[2].buffer].data = np.full(4, value, np.int32).view(np.uint8)
        return edit
    import_tflite(_edit(_conv_model(), bias(2**31 - 1)), "bias.tflite")
    # weights quantized to 0 or 1 beside the converter's saturated bias of a dead channel
    import_tflite(_edit(_conv_model(), bias(-2**31, 0)), "dead.tflite")
    import_tflite(_edit(_conv_model(), bias(-2**31, 1)), "dead1.tflite")
    # 3 x 3 x 15,000 taps of weight 127 against |x - zp| <= 128: 2,194,560,000 > 2^31 - 1
    wide = _conv_model(in_shape=(1, 5, 5, 15_000))
    with pytest.raises(TinyconvError, match=r"output channel 0: the sum over its taps can "
                                            r"reach 2194560000 .*beyond the int32"):
        import_tflite(_edit(wide, bias(0, 127)), "taps.tflite")


def test_shapes_whose_size_overflows_int64_are_rejected():
    huge = (2**31 - 1,) * 3  # numpy's int64 product of these wraps around
    with pytest.raises(TinyconvError, match="over the 2147483647 a buffer may hold"):
        import_tflite(_one_op("RELU", [huge], huge), "huge.tflite")


def test_softmax_rows_beyond_the_fixed_point_sum_are_rejected():
    with pytest.raises(TinyconvError, match="rows of 5000 values overflow"):
        import_tflite(_one_op("SOFTMAX", [(1, 5000)], (1, 5000), S.SoftmaxOptionsT(beta=1.0)),
                      "wide.tflite")
