"""`graph_from_keras` builds the same graph IR as importing the converter's int8 .tflite.

For every zoo family (and random MCUNet configurations, the NAS's search space) the Keras
model is converted for real (cached on disk, see zoo_models.converted_spec) and both graphs
are compared (zoo_models.assert_same_graph): op kinds in order, every tensor shape and
dtype, per-channel quantization structure, MACs, weight bytes, and per kernel family (ref,
DSP, MVE) the planned arena, the deployment's RAM, its const arrays and its flash. The
search space's own graph (`ArchConfig.graph`, the same ir.builder without Keras) is compared
with `graph_from_keras` of the same config here, and with converted models in
tests/unit/test_space.py.
"""

from __future__ import annotations

import random

import pytest

from zoo_models import (ALL_FAMILIES, EXTRA_SPECS, Spec, assert_same_graph,  # noqa: F401
                        assert_same_signature, build_model, converted_family, converted_spec,
                        spec_of)


def random_mcunet_spec(seed: int) -> Spec:
    """An MCUNet-space sample: per-block kernel {3,5,7} and expansion {3,4,6}, per-stage
    depth, width 0.2-1.0, resolution 48-176 step 16 (what the NAS draws)."""
    rng = random.Random(seed)
    depths = (1, rng.choice([1, 2]), rng.choice([1, 2, 3]), rng.choice([1, 2, 3, 4]),
              rng.choice([1, 2, 3]), rng.choice([1, 2, 3]), 1)
    n = sum(depths)
    kernels = tuple(rng.choice([3, 5, 7]) for _ in range(n))
    expansions = (1,) + tuple(rng.choice([3, 4, 6]) for _ in range(n - 1))
    width = rng.choice([0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.75, 1.0])
    resolution = rng.choice(range(48, 177, 16))
    last = rng.choice([0, 0, 320])
    return Spec("mcunet", (resolution, resolution, 3), rng.choice([2, 10]), width,
                {"kernels": kernels, "expansions": expansions, "depths": depths,
                 "last_channels": last})


# Families whose conversion takes over a minute on a loaded 2-core machine (cold cache).
SLOW_FAMILIES = {"efficientnet"}
FAST_RANDOM_CONFIGS = 2  # more in the slow run; tests/unit/test_space.py converts three more
RANDOM_CONFIGS = 12


def _family_param(name: str):
    marks = [pytest.mark.slow] if name in SLOW_FAMILIES else []
    return pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("family", [_family_param(n) for n in ALL_FAMILIES])
def test_family_graph_equals_converted(family):
    from tinyconv.ir.keras_import import graph_from_keras
    from tinyconv.ir.tflite_import import import_tflite

    blob = converted_family(family)
    assert_same_graph(graph_from_keras(build_model(spec_of(family))), import_tflite(blob))


@pytest.mark.parametrize("seed", [
    pytest.param(s, marks=[pytest.mark.slow] if s >= FAST_RANDOM_CONFIGS else [], id=f"seed{s}")
    for s in range(RANDOM_CONFIGS)])
def test_random_mcunet_config_equals_converted(seed):
    from tinyconv.ir.keras_import import graph_from_keras
    from tinyconv.ir.tflite_import import import_tflite

    spec = random_mcunet_spec(seed)
    blob = converted_spec(f"mcunet-rand{seed}", spec)
    assert_same_graph(graph_from_keras(build_model(spec)), import_tflite(blob))


@pytest.mark.parametrize("seed", range(4))
def test_search_space_graph_equals_keras_import(seed):
    """Both predictors emit through ir.builder from zoo.arch's constants: the search space's
    converter-free graph of a config is graph_from_keras of the Keras model it builds."""

    from tinyconv.ir.keras_import import graph_from_keras
    from tinyconv.keras_compat import keras
    from tinyconv.space import ArchConfig, SearchSpace

    rng = random.Random(seed)
    cfg = SearchSpace().sample(rng) if seed else ArchConfig.mobilenetv2(0.35, 64)
    channels, classes = rng.choice((1, 3)), rng.choice((2, 10))
    keras.utils.set_random_seed(seed)
    model = cfg.build_keras(channels, classes)
    dense = model.get_layer("classifier_dense")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, bias + 0.1])  # trained: the converter keeps the bias
    assert_same_signature(cfg.graph(channels, classes), graph_from_keras(model))


def test_prediction_is_fast_on_the_largest_search_space_model():
    """The NAS checks thousands of candidates: well under a second each (build excluded)."""
    import time

    from tinyconv.ir.keras_import import graph_from_keras
    from tinyconv.planner import plan_memory

    spec = Spec("mcunet", (176, 176, 3), 10, 1.0,
                {"kernels": [7] * 17, "expansions": [1] + [6] * 16, "last_channels": 320})
    model = build_model(spec)
    start = time.perf_counter()
    graph = graph_from_keras(model)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, elapsed
    assert plan_memory(graph).arena_bytes > 176 * 176 * 16  # the first blocks' maps are live


def test_unsupported_layer_is_one_clear_error():
    from tinyconv.errors import TinyconvError
    from tinyconv.ir.keras_import import graph_from_keras
    from tinyconv.keras_compat import keras, layers

    inputs = layers.Input((8, 8, 3))
    x = layers.BatchNormalization(name="lonely_bn")(inputs)  # nothing to fold into
    model = keras.Model(inputs, layers.GlobalAveragePooling2D()(x))
    with pytest.raises(TinyconvError, match="lonely_bn"):
        graph_from_keras(model)

    inputs = layers.Input((8, 8, 3))
    x = layers.Conv2D(4, 3)(inputs)
    model = keras.Model(inputs, layers.UpSampling2D(name="upsample")(x))
    with pytest.raises(TinyconvError, match="upsample"):
        graph_from_keras(model)


def test_variable_input_shape_is_refused():
    from tinyconv.errors import TinyconvError
    from tinyconv.ir.keras_import import graph_from_keras
    from tinyconv.keras_compat import keras, layers

    inputs = layers.Input((None, None, 3))
    model = keras.Model(inputs, layers.Conv2D(4, 3)(inputs))
    with pytest.raises(TinyconvError, match="unknown dimension"):
        graph_from_keras(model)


def test_dense_bias_follows_the_converter():
    """A zero Dense bias is dropped (converter behaviour); a trained, non-zero one is kept."""
    from tinyconv.ir.keras_import import graph_from_keras
    from tinyconv.keras_compat import keras, layers

    inputs = layers.Input((16,))
    dense = layers.Dense(4, name="fc")
    model = keras.Model(inputs, dense(inputs))
    assert graph_from_keras(model).ops[0].bias is None
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, bias + 0.5])
    fc = graph_from_keras(model).ops[0]
    assert fc.bias is not None and fc.bias.shape == (4,) and fc.bias.dtype.name == "INT32"


def test_zoo_command_reports_the_predicted_deployment():
    from click.testing import CliRunner

    from tinyconv.cli import cli
    from tinyconv.cli.zoo import family_cost
    from tinyconv.units import format_bytes

    result = CliRunner().invoke(cli, ["zoo", "--family", "lenet5", "--resolution", "32"])
    assert result.exit_code == 0, result.output
    cost = family_cost("lenet5", 32)
    assert cost.input_shape == (32, 32, 1) and cost.macs > 0
    assert f"flash {format_bytes(cost.flash_bytes)}" in result.output
    assert f"peak SRAM {format_bytes(cost.peak_sram_bytes)}" in result.output
    assert "pool=" in result.output  # the family's parameters are listed


@pytest.mark.parametrize("args, message", [
    (["--family", "nope"], "unknown model family 'nope'"),
    (["--family", "mobilenetv2", "--resolution", "16"], "at least 32x32"),
])
def test_zoo_command_errors_are_one_line(args, message):
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", "from tinyconv.cli import main; main()", "zoo",
                          *args], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr
    assert run.stderr.strip().count("\n") == 0
