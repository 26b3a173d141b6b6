"""The test model builder makes valid models: LiteRT and TFLM load and run them."""

from __future__ import annotations

import numpy as np
import pytest
import tflite_builder as tb
from tflite_builder import ModelBuilder, schema

from tinyconv.reference import litert_outputs, model_io, parse_model, random_inputs
from tinyconv.tflm import tflm_outputs

SEEDS = range(20)
ALL_BUILDERS = {**tb.SINGLE_OP_BUILDERS, **tb.MULTI_OP_BUILDERS}


def _op_names(model: bytes) -> list[str]:
    parsed = parse_model(model)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    return [names[max(parsed.operatorCodes[op.opcodeIndex].builtinCode,
                      parsed.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode)]
            for op in parsed.subgraphs[0].operators]


@pytest.mark.parametrize("kind", sorted(ALL_BUILDERS))
def test_models_run_in_litert_with_declared_output_shapes(kind):
    for seed in SEEDS:
        model = ALL_BUILDERS[kind](np.random.default_rng(seed))
        if kind in tb.SINGLE_OP_BUILDERS:
            assert _op_names(model) == [kind]
        samples = random_inputs(model, 2, seed)
        _, outputs = model_io(model)
        for result in litert_outputs(model, samples):
            assert [y.shape for y in result] == [t.shape for t in outputs], (kind, seed)
            assert [y.dtype for y in result] == [t.dtype for t in outputs], (kind, seed)


def test_same_seed_same_model_and_other_seed_other_model():
    for kind, build in ALL_BUILDERS.items():
        a = build(np.random.default_rng(5))
        assert a == build(np.random.default_rng(5)), kind
    assert tb.conv2d_model(np.random.default_rng(1)) != tb.conv2d_model(np.random.default_rng(2))


def test_outputs_use_the_int8_range_without_saturating():
    """Random output quantization must keep results informative, or tests compare clamps."""
    for kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "MUL", "MEAN"):
        saturated, distinct = [], []
        for seed in SEEDS:
            model = tb.SINGLE_OP_BUILDERS[kind](np.random.default_rng(seed))
            y = np.concatenate([r[0].ravel() for r in
                                litert_outputs(model, random_inputs(model, 2, seed))])
            saturated.append(np.mean((y == -128) | (y == 127)))
            distinct.append(len(np.unique(y)) / min(256, y.size))
        assert np.mean(saturated) < 0.1, kind
        assert np.mean(distinct) > 0.2, kind


def test_conv2d_overrides_and_quantization_follow_the_int8_spec():
    model = tb.conv2d_model(np.random.default_rng(0), input_shape=(1, 9, 9, 5), filters=7,
                            kernel=(3, 3), stride=(2, 2), padding="SAME", dilation=(1, 1),
                            groups=1, activation="RELU6")
    parsed = parse_model(model)
    sub = parsed.subgraphs[0]
    op = sub.operators[0]
    x, w, b = (sub.tensors[i] for i in op.inputs)
    y = sub.tensors[op.outputs[0]]
    assert list(y.shape) == [1, 5, 5, 7]
    assert list(w.shape) == [7, 3, 3, 5]
    assert len(w.quantization.scale) == 7 and set(w.quantization.zeroPoint) == {0}
    weights = np.frombuffer(bytes(parsed.buffers[w.buffer].data), np.int8)
    assert weights.min() >= -127  # symmetric range: -128 never appears
    expected_bias_scale = np.float32(x.quantization.scale[0]) * np.float32(w.quantization.scale)
    np.testing.assert_array_equal(np.float32(b.quantization.scale), expected_bias_scale)
    assert op.builtinOptions.fusedActivationFunction == schema.ActivationFunctionType.RELU6
    assert (op.builtinOptions.strideH, op.builtinOptions.strideW) == (2, 2)


def test_grouped_conv_and_depth_multiplier_shapes():
    grouped = parse_model(tb.conv2d_model(np.random.default_rng(3), input_shape=(1, 6, 6, 8),
                                          filters=4, groups=2, kernel=(3, 3)))
    sub = grouped.subgraphs[0]
    assert list(sub.tensors[sub.operators[0].inputs[1]].shape) == [4, 3, 3, 4]
    dw = parse_model(tb.depthwise_conv2d_model(np.random.default_rng(3),
                                               input_shape=(1, 6, 6, 3), depth_multiplier=2,
                                               kernel=(3, 3), stride=(1, 1), padding="SAME"))
    sub = dw.subgraphs[0]
    w = sub.tensors[sub.operators[0].inputs[1]]
    assert list(w.shape) == [1, 3, 3, 6] and w.quantization.quantizedDimension == 3
    assert list(sub.tensors[sub.operators[0].outputs[0]].shape) == [1, 6, 6, 6]


def test_constant_buffers_are_16_byte_aligned():
    model = tb.fully_connected_model(np.random.default_rng(0), input_shape=(1, 13), units=3)
    root = schema.Model.GetRootAs(model, 0)
    for i in range(1, root.BuffersLength()):
        buf = root.Buffers(i)
        if buf.DataLength():
            start = buf._tab.Vector(buf._tab.Offset(4))
            assert start % 16 == 0


def test_large_opcodes_use_the_placeholder_in_the_deprecated_field():
    b = ModelBuilder()
    x = b.tensor((4,), "float32")
    y = b.tensor((4,), "float32")
    b.op(150, [x], [y])  # any code above 127
    code = parse_model(b.build([x], [y])).operatorCodes[0]
    assert (code.builtinCode, code.deprecatedBuiltinCode) == (150, 127)


def test_concatenation_with_mixed_quantization_is_rejected_by_litert():
    from tinyconv.errors import TinyconvError
    model = tb.concatenation_model(np.random.default_rng(0), same_quant=False)
    with pytest.raises(TinyconvError, match="CONCATENATION"):
        litert_outputs(model, random_inputs(model, 1, 0))


# TFLM runs the same models. Its int8 results equal LiteRT BUILTIN_REF's except in two
# documented places (see tinyconv/tflm.py): FULLY_CONNECTED requantization (±1) and
# RELU6 with different input/output quantization.
TFLM_EXACT = sorted(set(ALL_BUILDERS) - {"FULLY_CONNECTED", "RELU6", "small_convnet"})


@pytest.mark.parametrize("kind", TFLM_EXACT)
def test_models_run_in_tflm_bit_exact_with_litert(kind):
    for seed in range(12):
        model = ALL_BUILDERS[kind](np.random.default_rng(seed))
        samples = random_inputs(model, 2, seed)
        for want, got in zip(litert_outputs(model, samples), tflm_outputs(model, samples)):
            for a, b in zip(want, got):
                np.testing.assert_array_equal(a, b, err_msg=f"{kind} seed {seed}")


@pytest.mark.parametrize("kind", ["FULLY_CONNECTED", "small_convnet"])
def test_models_with_fully_connected_run_in_tflm_within_one_lsb(kind):
    for seed in range(12):
        model = ALL_BUILDERS[kind](np.random.default_rng(seed))
        samples = random_inputs(model, 2, seed)
        for want, got in zip(litert_outputs(model, samples), tflm_outputs(model, samples)):
            for a, b in zip(want, got):
                # small_convnet's softmax can turn a ±1 logit into a few LSB
                limit = 1 if kind == "FULLY_CONNECTED" else 8
                assert np.max(np.abs(a.astype(int) - b.astype(int))) <= limit, (kind, seed)


def test_relu6_agrees_with_tflm_when_quantization_is_unchanged():
    for seed in range(12):
        rng = np.random.default_rng(seed)
        quant = (tb.random_scale(rng, 0.02, 0.1), tb.random_zero_point(rng))
        model = tb.relu6_model(rng, input_quant=quant, output_quant=quant)
        samples = random_inputs(model, 2, seed)
        for want, got in zip(litert_outputs(model, samples), tflm_outputs(model, samples)):
            np.testing.assert_array_equal(want[0], got[0])


def test_keras_converted_model_parses_and_runs():
    import tensorflow as tf  # installed by `make deps` (the train extra): a missing one fails
    rng = np.random.default_rng(0)
    inputs = tf.keras.Input((8, 8, 3), batch_size=1)
    h = tf.keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    h = tf.keras.layers.DepthwiseConv2D(3, padding="same")(h)
    h = tf.keras.layers.GlobalAveragePooling2D()(h)
    outputs = tf.keras.layers.Dense(3, activation="softmax")(h)
    keras_model = tf.keras.Model(inputs, outputs)

    def representative():
        for _ in range(8):
            yield [rng.standard_normal((1, 8, 8, 3)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    model = converter.convert()

    inputs_io, outputs_io = model_io(model)
    assert [t.shape for t in inputs_io] == [(1, 8, 8, 3)]
    assert inputs_io[0].dtype == np.int8 and inputs_io[0].quant is not None
    assert outputs_io[0].quant.zp == -128  # int8 softmax output
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX"} <= set(_op_names(model))
    result = litert_outputs(model, random_inputs(model, 2, 0))
    assert result[0][0].shape == (1, 3)
