"""The model zoo: every family builds at MCU scale, converts to int8 with only supported ops,
and runs in LiteRT's reference interpreter (the bit-exactness oracle)."""

from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pytest
from zoo_models import SPECS, _temper_logits, converted, int8_inputs

from tinyconv import zoo
from tinyconv.convert import ops_of
from tinyconv.errors import TinyconvError

# The int8 ops the firmware has kernels for (the zoo must emit nothing else).
SUPPORTED = {
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "MUL", "AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN",
    "PAD", "RESHAPE", "SQUEEZE", "CONCATENATION", "SOFTMAX", "LOGISTIC", "HARD_SWISH", "RELU", "RELU6",
    "LEAKY_RELU", "TRANSPOSE", "QUANTIZE", "DEQUANTIZE",
}

# The exact op set each family converts to: a change means the converter (or a builder)
# now emits something the deployment path must be checked against.
EXPECTED_OPS = {
    "mobilenetv2": {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MEAN", "FULLY_CONNECTED", "SOFTMAX"},
    "resnet8": {"CONV_2D", "ADD", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"},
    "dscnn": {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"},
    "mobilenetv3_small": {"CONV_2D", "DEPTHWISE_CONV_2D", "HARD_SWISH", "MEAN", "MUL", "ADD", "FULLY_CONNECTED",
                          "SOFTMAX"},
    "squeezenet": {"CONV_2D", "MAX_POOL_2D", "CONCATENATION", "MEAN", "SOFTMAX"},
    "shufflenet": {"CONV_2D", "DEPTHWISE_CONV_2D", "RESHAPE", "TRANSPOSE", "ADD", "CONCATENATION", "RELU",
                   "AVERAGE_POOL_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"},
    "lenet5": {"CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"},
    "alexnet": {"CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"},
    "vgg": {"CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"},
    "inception": {"CONV_2D", "MAX_POOL_2D", "CONCATENATION", "MEAN", "FULLY_CONNECTED", "SOFTMAX"},
    "densenet": {"CONV_2D", "CONCATENATION", "AVERAGE_POOL_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"},
    "mobilenetv1": {"CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"},
    "mcunet": {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MEAN", "FULLY_CONNECTED", "SOFTMAX"},
    "fusednet": {"CONV_2D", "ADD", "MEAN", "FULLY_CONNECTED", "SOFTMAX"},
    "plainnet": {"CONV_2D", "MAX_POOL_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"},
    "resnet": {"CONV_2D", "ADD", "MEAN", "FULLY_CONNECTED", "SOFTMAX"},
    "efficientnet": {"CONV_2D", "DEPTHWISE_CONV_2D", "LOGISTIC", "MUL", "ADD", "MEAN", "FULLY_CONNECTED",
                     "SOFTMAX"},
}

# MCU-scale configurations of the families the deployment tests do not already convert.
SMALL = {
    "lenet5": ((28, 28, 1), 10, 1.0, {}),
    "alexnet": ((32, 32, 3), 10, 0.125, {}),
    "vgg": ((32, 32, 3), 10, 0.25, {}),
    "inception": ((32, 32, 3), 10, 0.25, {"modules": (1, 1, 1)}),
    "densenet": ((32, 32, 3), 10, 0.5, {"blocks": (2, 2, 2)}),
    "mobilenetv1": ((96, 96, 3), 2, 0.25, {}),
    "mcunet": ((64, 64, 3), 10, 0.35, {"depths": (1, 1, 2, 2, 1, 2, 1),
                                      "kernels": (3, 5, 7, 3, 5, 7, 3, 5, 7, 3),
                                      "expansions": (1, 3, 4, 6, 3, 4, 6, 3, 4, 6)}),
    "fusednet": ((32, 32, 3), 10, 0.5, {"depths": (1, 2, 1, 2), "kernels": (3, 5, 3, 3, 5, 3),
                                        "expansions": (1, 2, 3, 1, 2, 3)}),
    "plainnet": ((32, 32, 3), 10, 0.5, {"depths": (2, 1, 2, 1), "kernels": (3, 5, 3, 3, 5, 3)}),
    "resnet": ((32, 32, 3), 10, 0.5, {"depths": (1, 2, 2), "kernels": (3, 5, 3, 3, 5),
                                      "expansions": (1, 2, 1, 2, 1)}),
    "efficientnet": ((32, 32, 3), 10, 0.25, {}),
}


def reference_interpreter(blob: bytes):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_content=blob, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    return interpreter


def run_reference(blob: bytes, x: np.ndarray) -> np.ndarray:
    interpreter = reference_interpreter(blob)
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(out["index"]).copy()


def check_converted(blob: bytes, family: str, input_shape, num_classes: int) -> None:
    ops = ops_of(blob)
    assert set(ops) <= SUPPORTED, f"{family} emits unsupported ops {set(ops) - SUPPORTED}"
    assert set(ops) == EXPECTED_OPS[family]
    interpreter = reference_interpreter(blob)
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert inp["dtype"] == np.int8 and out["dtype"] == np.int8
    assert tuple(inp["shape"]) == (1, *input_shape)
    assert tuple(out["shape"]) == (1, num_classes)
    rng = np.random.default_rng(0)
    outputs = [run_reference(blob, rng.integers(-128, 128, (1, *input_shape), dtype=np.int8)) for _ in range(3)]
    # A softmax over random-init logits still depends on the input: a constant output would
    # mean a dead (all-saturated or all-zero) path somewhere.
    assert any(not np.array_equal(outputs[0], o) for o in outputs[1:]), f"{family}: output ignores the input"
    # Softmax output scale is 1/256 with zero point -128: probabilities sum to ~1.
    for o in outputs:
        assert abs((o.astype(np.int32) + 128).sum() / 256 - 1) < 0.1


# ---- registry ------------------------------------------------------------------------------

def test_registry_lists_every_family_in_priority_order():
    assert list(zoo.FAMILIES)[:6] == ["mobilenetv2", "resnet8", "dscnn", "mobilenetv3_small", "squeezenet",
                                      "shufflenet"]
    assert set(zoo.FAMILIES) == set(EXPECTED_OPS)
    for name, entry in zoo.FAMILIES.items():
        assert entry.name == name and entry.description
        assert len(entry.default_input_shape) == 3 and entry.min_resolution >= 1


@pytest.mark.parametrize("name", list(zoo.FAMILIES))
def test_registry_parameters_match_the_builder(name):
    entry = zoo.FAMILIES[name]
    signature = inspect.signature(entry.builder)
    assert list(signature.parameters)[:3] == ["input_shape", "num_classes", "width"]
    keyword = {p.name: p.default for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY}
    assert keyword == entry.param_defaults()
    assert signature.parameters["input_shape"].default == entry.default_input_shape
    assert signature.parameters["num_classes"].default == entry.default_classes


@pytest.mark.parametrize("name", list(zoo.FAMILIES))
def test_too_small_resolution_names_family_and_minimum(name):
    entry = zoo.FAMILIES[name]
    channels = entry.default_input_shape[2]
    too_small = entry.min_resolution - 1
    if too_small < 1:
        pytest.skip("takes any resolution")
    with pytest.raises(TinyconvError, match=rf"{name}.*{entry.min_resolution}x{entry.min_resolution}"):
        zoo.build(name, (too_small, entry.min_resolution, channels))
    with pytest.raises(TinyconvError, match=rf"{name}.*{entry.min_resolution}"):
        entry.check_resolution((entry.min_resolution, too_small, channels))


@pytest.mark.parametrize("name", list(zoo.FAMILIES))
def test_builds_at_its_minimum_resolution(name):
    entry = zoo.FAMILIES[name]
    r = entry.min_resolution
    model = zoo.build(name, (r, r, entry.default_input_shape[2]), 3, 0.25)
    assert tuple(model.output_shape) == (None, 3)


def test_unknown_family_and_parameter_are_user_errors():
    with pytest.raises(TinyconvError, match="unknown model family 'resnet9'"):
        zoo.build("resnet9")
    with pytest.raises(TinyconvError, match="resnet8 takes no parameter groups"):
        zoo.build("resnet8", groups=2)
    with pytest.raises(TinyconvError, match="width"):
        zoo.build("dscnn", width=0)
    with pytest.raises(TinyconvError, match="mcunet: kernels needs one value per block"):
        zoo.build("mcunet", kernels=(3, 5))


def test_importing_the_zoo_does_not_import_tensorflow():
    code = "import sys, tinyconv.zoo, tinyconv.convert; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_mobilenetv2_035_matches_the_published_shapes():
    # The well-known TFLM arena peak of MobileNetV2-0.35 @ 96 is the 48x48x48 expansion
    # feeding a 24x24x48 depthwise output: check those tensors exist.
    model = zoo.build("mobilenetv2", (96, 96, 3), 2, 0.35)
    shapes = {tuple(layer.output_shape[1:]) for layer in model.layers}
    assert (48, 48, 48) in shapes and (24, 24, 48) in shapes
    assert model.get_layer("stem_conv").output_shape[1:] == (48, 48, 16)


def test_mcunet_uses_the_per_block_kernels_and_expansions():
    kernels = (3, 5, 7, 3, 5, 7, 3, 5, 7, 3)
    expansions = (1, 3, 4, 6, 3, 4, 6, 3, 4, 6)
    model = zoo.build("mcunet", (64, 64, 3), 10, 1.0, depths=(1, 1, 2, 2, 1, 2, 1), kernels=kernels,
                      expansions=expansions)
    depthwise = [layer for layer in model.layers if layer.name.endswith("_dw")]
    assert [layer.kernel_size[0] for layer in depthwise] == list(kernels)
    # Block inputs: stem 32, then stage outputs 16, 24, 32, 32, 64, 64, 96, 160, 160 (width 1.0).
    block_inputs = (32, 16, 24, 32, 32, 64, 64, 96, 160, 160)
    expected_hidden = [i * e for i, e in zip(block_inputs, expansions)]
    assert [layer.output_shape[-1] for layer in depthwise] == expected_hidden


def test_efficientnet_compound_scaling_widens_and_deepens():
    base = zoo.build("efficientnet", (32, 32, 3), 10, 0.5)
    scaled = zoo.build("efficientnet", (32, 32, 3), 10, 0.5, phi=2)
    assert scaled.count_params() > 1.3 * base.count_params()
    assert len(scaled.layers) > len(base.layers)


# ---- conversion ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(SPECS))
def test_deployment_model_converts_to_supported_ops_and_runs(name):
    spec = SPECS[name]
    check_converted(converted(name), spec.family, spec.input_shape, spec.num_classes)


def test_mobilenetv3_small_has_fused_hard_swish_and_broadcast_se_mul():
    blob = converted("mobilenetv3_small")
    interpreter = reference_interpreter(blob)
    ops = interpreter._get_ops_details()
    assert sum(op["op_name"] == "HARD_SWISH" for op in ops) >= 10
    shape = lambda i: tuple(interpreter._get_tensor_details(i, 0)["shape"])  # noqa: E731
    broadcast = [op for op in ops if op["op_name"] == "MUL" and len(op["inputs"]) == 2
                 and {len(shape(i)) for i in op["inputs"]} == {4}
                 and sorted(shape(i)[1] for i in op["inputs"])[0] == 1 < max(shape(i)[1] for i in op["inputs"])]
    assert len(broadcast) >= 8  # one per squeeze-excite block at a map larger than 1x1


def test_shufflenet_keeps_grouped_convs_and_the_channel_shuffle():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(converted("shufflenet")), 0)
    graph = model.subgraphs[0]
    conv = schema.BuiltinOperator.CONV_2D
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    grouped = [op for op in graph.operators if codes[op.opcodeIndex] == conv
               and graph.tensors[op.inputs[1]].shape[3] < graph.tensors[op.inputs[0]].shape[3]]
    assert grouped, "grouped 1x1 convs must stay single grouped CONV_2D ops"
    transposes = [op for op in graph.operators if codes[op.opcodeIndex] == schema.BuiltinOperator.TRANSPOSE]
    assert transposes and all(len(graph.tensors[op.inputs[0]].shape) == 4 for op in transposes)


def test_deployment_inputs_are_reproducible():
    a, b = int8_inputs("dscnn", 2, seed=5), int8_inputs("dscnn", 2, seed=5)
    assert a.dtype == np.int8 and a.shape == (2, 1, 49, 10, 1) and np.array_equal(a, b)


@pytest.fixture(scope="module")
def keras_rng():
    from tinyconv.keras_compat import keras

    keras.utils.set_random_seed(1234)
    return np.random.default_rng(1234)


@pytest.mark.parametrize("name", list(SMALL))
def test_family_converts_to_supported_ops_and_tracks_float(name):
    from tinyconv.convert import to_int8_tflite
    from tinyconv.keras_compat import keras
    from tinyconv.zoo.random_init import randomize_batchnorm

    # Seeded here, not per module, so the weights do not depend on which worker ran what before.
    keras.utils.set_random_seed(1234)
    keras_rng = np.random.default_rng(1234)

    shape, classes, width, params = SMALL[name]
    model = zoo.build(name, shape, classes, width, **params)
    data = keras_rng.uniform(-1, 1, (6, *shape)).astype(np.float32)
    randomize_batchnorm(model, data, seed=1)
    _temper_logits(model, data)  # a peaked softmax would magnify every rounding step
    # Calibrated on every sample it is checked on: with random weights and six samples an
    # unseen input routinely leaves the calibrated ranges, which says nothing about conversion.
    blob = to_int8_tflite(model, data)
    check_converted(blob, name, shape, classes)
    if name == "efficientnet":
        # Random squeeze-excite gates and swish through 16 blocks multiply every rounding step
        # into noise; its int8/float agreement is measured on trained weights (test_training.py).
        return
    # The int8 model approximates the float one (calibration and conversion are sane).
    interpreter = reference_interpreter(blob)
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    in_scale, in_zero = inp["quantization"]
    out_scale, out_zero = out["quantization"]
    for sample in data[4:]:
        q = np.clip(np.round(sample / in_scale) + in_zero, -128, 127).astype(np.int8)[None]
        got = (run_reference(blob, q).astype(np.float32) - out_zero) * out_scale
        want = model(sample[None], training=False).numpy()
        assert np.abs(got - want).max() < 0.15, f"{name}: int8 {got} vs float {want}"


def test_float_io_conversion_adds_quantize_and_dequantize(keras_rng):
    from tinyconv.convert import to_int8_tflite

    model = zoo.build("lenet5", (16, 16, 1), 4, 0.5)
    blob = to_int8_tflite(model, keras_rng.uniform(-1, 1, (2, 16, 16, 1)), int8_io=False)
    ops = ops_of(blob)
    assert ops[0] == "QUANTIZE" and ops[-1] == "DEQUANTIZE"
    interpreter = reference_interpreter(blob)
    assert interpreter.get_input_details()[0]["dtype"] == np.float32


def test_representative_data_of_the_wrong_shape_is_rejected():
    from tinyconv.convert import to_int8_tflite

    model = zoo.build("lenet5", (16, 16, 1), 4, 0.5)
    with pytest.raises(ValueError, match="expected"):
        to_int8_tflite(model, np.zeros((2, 16, 16, 3), np.float32))
