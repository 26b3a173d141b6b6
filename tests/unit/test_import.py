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
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [y], [z])
    with pytest.raises(UnsupportedOpError, match=r"op #1 UNIDIRECTIONAL_SEQUENCE_LSTM .*"
                                                 r"supported: .*CONV_2D"):
        import_tflite(b.build([x], [z]), "lstm.tflite")
