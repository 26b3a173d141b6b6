"""The oracles: LiteRT BUILTIN_REF wiring, random inputs, TFLM outputs and arena."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tflite_builder as tb
from tflite_builder import ModelBuilder, schema

from tinyconv import quant as q
from tinyconv.errors import TinyconvError
from tinyconv.reference import litert_outputs, model_io, random_inputs
from tinyconv.tflm import tflm_arena, tflm_loads, tflm_min_arena, tflm_outputs


def _concat_model(shapes, axis):
    return tb.concatenation_model(np.random.default_rng(0), shapes=shapes, axis=axis)


# -- LiteRT --------------------------------------------------------------------------------

def test_litert_feeds_inputs_in_order_and_returns_every_sample():
    model = _concat_model([(2, 3), (2, 1), (2, 2)], axis=1)
    samples = random_inputs(model, 3, 7)
    results = litert_outputs(model, samples)
    assert len(results) == 3
    for sample, result in zip(samples, results):
        np.testing.assert_array_equal(result[0], np.concatenate(sample, axis=1))


def test_litert_matches_numpy_on_exactly_specified_ops():
    rng = np.random.default_rng(1)
    model = tb.dequantize_model(rng, input_shape=(3, 5), input_quant=(0.037, -11))
    (x,), = random_inputs(model, 1, 0)
    (y,), = litert_outputs(model, [[x]])
    np.testing.assert_array_equal(y, np.float32(0.037) * (x.astype(np.float32) + 11))

    model = tb.pad_model(rng, input_shape=(2, 3), paddings=[[1, 0], [0, 2]], v2=False)
    (inp,), _ = model_io(model)
    (x,), = random_inputs(model, 1, 0)
    (y,), = litert_outputs(model, [[x]])
    np.testing.assert_array_equal(y, np.pad(x, [[1, 0], [0, 2]], constant_values=inp.quant.zp))


def test_model_io_reports_what_the_builder_wrote():
    b = ModelBuilder()
    x = b.tensor((1, 4), "int8", 0.5, -3, name="features")
    f = b.tensor((1, 4), "float32")
    y = b.tensor((1, 4), "int8", 0.25, 7)
    b.op("QUANTIZE", [f], [y], schema.QuantizeOptionsT())
    inputs, outputs = model_io(b.build([x, f], [y]))
    assert [(t.name, t.shape, t.dtype) for t in inputs] == [
        ("features", (1, 4), np.int8), ("t1", (1, 4), np.float32)]
    assert inputs[0].quant.scale == (0.5,) and inputs[0].quant.zero_point == (-3,)
    assert inputs[1].quant is None
    assert outputs[0].index == y and outputs[0].quant.zp == 7


def test_random_int8_inputs_cover_the_range_and_follow_the_seed():
    model = tb.relu_model(np.random.default_rng(0), input_shape=(64, 64))
    a = random_inputs(model, 2, 3)
    assert a[0][0].dtype == np.int8 and a[0][0].shape == (64, 64)
    assert a[0][0].min() == -128 and a[0][0].max() == 127
    np.testing.assert_array_equal(a[1][0], random_inputs(model, 2, 3)[1][0])
    assert not np.array_equal(a[0][0], random_inputs(model, 1, 4)[0][0])
    assert not np.array_equal(a[0][0], a[1][0])


def test_random_float_inputs_lie_on_the_quantize_grid():
    model = tb.quantize_model(np.random.default_rng(0), input_shape=(50, 40), from_float=True,
                              output_quant=(0.0123, 17))
    (x,), = random_inputs(model, 1, 0)
    assert x.dtype == np.float32
    codes = x / np.float32(0.0123) + 17
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-3)
    assert codes.min() < -127 and codes.max() > 126  # the whole int8 range
    (y,), = litert_outputs(model, [[x]])
    np.testing.assert_array_equal(y, np.round(codes).astype(np.int8))  # quantizes exactly


def test_float_inputs_without_quantize_are_standard_normal():
    b = ModelBuilder()
    x = b.tensor((100, 100), "float32")
    y = b.tensor((100, 100), "float32")
    b.op("RELU", [x], [y])
    (v,), = random_inputs(b.build([x], [y]), 1, 0)
    assert abs(float(v.mean())) < 0.05 and abs(float(v.std()) - 1) < 0.05


@pytest.mark.parametrize("blob, message", [
    (b"", "too short"),
    (b"\x00" * 64, "TFL3"),
    (tb.relu_model(np.random.default_rng(0))[:60], "corrupt|malformed|LiteRT"),
])
def test_bad_models_raise_one_line_errors(blob, message):
    with pytest.raises(TinyconvError, match=message) as info:
        litert_outputs(blob, [])
    assert "\n" not in str(info.value)


def test_a_model_litert_rejects_raises_one_line_error():
    model = tb.concatenation_model(np.random.default_rng(0), same_quant=False)
    with pytest.raises(TinyconvError) as info:
        litert_outputs(model, random_inputs(model, 1, 0))
    assert "\n" not in str(info.value)


def test_samples_must_match_the_inputs():
    model = tb.relu_model(np.random.default_rng(0), input_shape=(2, 3))
    with pytest.raises(TinyconvError, match="dtype"):
        litert_outputs(model, [[np.zeros((2, 3), np.float32)]])
    with pytest.raises(TinyconvError, match="shape"):
        litert_outputs(model, [[np.zeros((4, 3), np.int8)]])
    with pytest.raises(TinyconvError, match="arrays"):
        litert_outputs(model, [[]])
    # the same elements in another layout are accepted (reshaped)
    assert litert_outputs(model, [[np.zeros(6, np.int8)]])[0][0].shape == (2, 3)


# -- TFLM ----------------------------------------------------------------------------------

def test_tflm_outputs_match_litert_on_a_conv_model():
    model = tb.conv2d_model(np.random.default_rng(0), input_shape=(1, 9, 9, 5), filters=7,
                            kernel=(3, 3), stride=(2, 2), padding="SAME", activation="RELU6")
    samples = random_inputs(model, 4, 0)
    got = tflm_outputs(model, samples)
    assert len(got) == 4
    for a, b in zip(litert_outputs(model, samples), got):
        np.testing.assert_array_equal(a[0], b[0])


def test_tflm_failure_is_an_error_and_the_next_call_works():
    model = tb.conv2d_model(np.random.default_rng(0))
    samples = random_inputs(model, 1, 0)
    with pytest.raises(TinyconvError, match="TFLM"):
        tflm_outputs(model, samples, arena_size=64)
    assert tflm_outputs(model, samples)[0][0].dtype == np.int8


def test_tflm_arena_of_a_small_convnet_is_plausible():
    model = tb.small_convnet_model(np.random.default_rng(0), input_shape=(1, 16, 16, 3),
                                   width=8)
    arena = tflm_arena(model)
    assert arena.total_bytes == arena.head_bytes + arena.tail_bytes
    # The head holds at least the largest input+output pair of any op: here the first
    # conv, 16*16*3 in and 8*8*8 out; and at most every activation plus alignment.
    assert arena.head_bytes >= 16 * 16 * 3 + 8 * 8 * 8
    activations = 16 * 16 * 3 + 3 * 8 * 8 * 8 + 8 + 5 + 5
    assert arena.head_bytes <= activations + 16 * 8
    assert 0 < arena.tail_bytes < 64 * 1024
    # TFLM needs at least the reported total (less the arena-start alignment); Prepare's
    # temporaries may need more.
    smallest = tflm_min_arena(model)
    assert smallest >= arena.total_bytes - 16
    assert tflm_loads(model, smallest) and not tflm_loads(model, smallest - 1)


def test_tflm_arena_grows_with_the_activations():
    small = tflm_arena(tb.small_convnet_model(np.random.default_rng(0),
                                              input_shape=(1, 8, 8, 3)))
    large = tflm_arena(tb.small_convnet_model(np.random.default_rng(0),
                                              input_shape=(1, 32, 32, 3)))
    assert large.head_bytes > 10 * small.head_bytes


# -- Where TFLM and LiteRT BUILTIN_REF differ (documented in tinyconv/tflm.py) ------------

def _one_weight_model(kind: str) -> bytes:
    """acc = x for every int8 x, with the exact multiplier 0.75 * 0.25 / 1.0 = 0.1875."""
    b = ModelBuilder(kind)
    if kind == "FULLY_CONNECTED":
        x = b.tensor((256, 1), "int8", 0.75, 0)
        w = b.const(np.ones((1, 1), np.int8), scale=0.25, zero_point=0)
        bias = b.const(np.zeros(1, np.int32), scale=0.1875, zero_point=0)
        y = b.tensor((256, 1), "int8", 1.0, 0)
        b.op(kind, [x, w, bias], [y], schema.FullyConnectedOptionsT())
    else:
        x = b.tensor((1, 16, 16, 1), "int8", 0.75, 0)
        w = b.const(np.ones((1, 1, 1, 1), np.int8), scale=[0.25], zero_point=[0])
        bias = b.const(np.zeros(1, np.int32), scale=[0.1875], zero_point=[0])
        y = b.tensor((1, 16, 16, 1), "int8", 1.0, 0)
        b.op(kind, [x, w, bias], [y], schema.Conv2DOptionsT(
            padding=schema.Padding.VALID, strideH=1, strideW=1, dilationHFactor=1,
            dilationWFactor=1))
    return b.build([x], [y])


def _round_half_away(v: float) -> int:
    return int(np.sign(v) * np.floor(abs(v) + 0.5))


def test_fully_connected_rounding_differs_between_litert_and_tflm():
    """LiteRT's reference FC rounds acc * M once, in double; TFLM and every conv round twice.

    x = 2: 2 * 0.1875 = 0.375 -> 0 in one rounding; the fixed-point path first rounds
    2 * 0.75 = 1.5 to 2 (SaturatingRoundingDoublingHighMul), then 2 / 4 = 0.5 to 1.
    """
    codes = np.arange(-128, 128, dtype=np.int8)
    multiplier, shift = q.quantize_multiplier(0.75 * 0.25 / 1.0)
    double_rounding = np.array([q.multiply_by_quantized_multiplier(int(c), multiplier, shift)
                                for c in codes])
    single_rounding = np.array([_round_half_away(int(c) * 0.1875) for c in codes])
    assert double_rounding[130] == 1 and single_rounding[130] == 0  # x = 2

    fc = _one_weight_model("FULLY_CONNECTED")
    fc_in = [[codes.reshape(256, 1)]]
    np.testing.assert_array_equal(litert_outputs(fc, fc_in)[0][0].ravel(), single_rounding)
    np.testing.assert_array_equal(tflm_outputs(fc, fc_in)[0][0].ravel(), double_rounding)

    conv = _one_weight_model("CONV_2D")
    conv_in = [[codes.reshape(1, 16, 16, 1)]]
    np.testing.assert_array_equal(litert_outputs(conv, conv_in)[0][0].ravel(), double_rounding)
    np.testing.assert_array_equal(tflm_outputs(conv, conv_in)[0][0].ravel(), double_rounding)


def test_tflm_relu6_ignores_the_output_quantization():
    """TFLM clamps RELU6 in the input's quantization; LiteRT requantizes to the output's."""
    in_quant, out_quant = (0.05, -20), (0.1, 5)
    model = tb.relu6_model(np.random.default_rng(0), input_shape=(256,), input_quant=in_quant,
                           output_quant=out_quant)
    codes = np.arange(-128, 128, dtype=np.int8)
    six = in_quant[1] + round(6.0 / in_quant[0])
    tflm = tflm_outputs(model, [[codes]])[0][0]
    np.testing.assert_array_equal(tflm, np.clip(codes, in_quant[1], min(six, 127)))
    real = (codes.astype(np.float64) - in_quant[1]) * in_quant[0]
    litert = litert_outputs(model, [[codes]])[0][0].astype(int)
    expected = np.clip(np.round(np.clip(real, 0, 6) / out_quant[0]) + out_quant[1], -128, 127)
    assert np.max(np.abs(litert - expected)) <= 1  # requantized, up to rounding


def test_a_tflm_crash_is_an_error_not_the_end_of_the_caller():
    b = ModelBuilder()
    x = b.tensor((4,), "int8", 0.1, 0)
    y = b.tensor((4,), "int8", 0.1, 0)
    b.op("RELU", [x + 1000], [y])  # a tensor index TFLM does not check: reads garbage
    broken = b.build([x], [y])
    with pytest.raises(TinyconvError, match="TFLM (crashed|failed)"):  # either, by luck
        tflm_outputs(broken, [[np.zeros(4, np.int8)]])
    with pytest.raises(TinyconvError, match="Invalid tensor index"):
        litert_outputs(broken, [[np.zeros(4, np.int8)]])
    model = tb.relu_model(np.random.default_rng(0), input_shape=(4,))
    assert tflm_outputs(model, [[np.zeros(4, np.int8)]])[0][0].shape == (4,)


def test_a_worker_that_dies_mid_request_raises_and_is_replaced():
    import signal

    from tinyconv.worker import Worker

    worker = Worker("tinyconv.tflm", "TFLM")
    os.kill(worker.pid, signal.SIGKILL)
    with pytest.raises(TinyconvError, match="TFLM crashed .*SIGKILL"):
        worker.request({"model": b"", "samples": [], "n_outputs": 0, "arena_size": 0}, 10)
    model = tb.relu_model(np.random.default_rng(0), input_shape=(4,))
    assert tflm_outputs(model, [[np.zeros(4, np.int8)]])[0][0].shape == (4,)
