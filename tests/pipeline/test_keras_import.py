"""`graph_from_keras` builds the same graph IR as importing the converter's int8 .tflite.

For every zoo family (and random MCUNet configurations, the NAS's search space) the Keras
model is converted for real (cached on disk, see `converted_spec`) and both graphs are
compared: op kinds in order, every tensor shape and dtype, per-channel quantization
structure, the planner's arena on every ISA, weight (flash) bytes, the deployment's const
arrays, and MACs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import random
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

import zoo_models
from zoo_models import Spec

from tinyconv.ir.ops import Isa

# Small MCU-scale configurations of the families tests/support/zoo_models.py does not cover.
EXTRA_SPECS: dict[str, Spec] = {
    "lenet5": Spec("lenet5", (28, 28, 1), 10),
    "alexnet": Spec("alexnet", (32, 32, 3), 10, 0.25),
    "vgg": Spec("vgg", (32, 32, 3), 10, 0.25),
    "inception": Spec("inception", (32, 32, 3), 10, 0.25, {"modules": (1, 1, 1)}),
    "densenet": Spec("densenet", (32, 32, 3), 10, 0.5, {"blocks": (2, 2, 2)}),
    "mobilenetv1": Spec("mobilenetv1", (48, 48, 3), 10, 0.25),
    "mcunet": Spec("mcunet", (64, 64, 3), 10, 0.35,
                   {"kernels": (3, 5, 7, 3, 5, 7, 3, 5), "expansions": (1, 3, 4, 6, 3, 4, 6, 3),
                    "depths": (1, 1, 2, 1, 1, 1, 1), "last_channels": 160}),
    "efficientnet": Spec("efficientnet", (32, 32, 3), 10, 0.25),
}
ALL_FAMILIES = list(zoo_models.SPECS) + list(EXTRA_SPECS)


def spec_of(name: str) -> Spec:
    return zoo_models.SPECS.get(name) or EXTRA_SPECS[name]


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


def _cache_key(spec: Spec) -> str:
    digest = hashlib.sha256(json.dumps(asdict(spec), sort_keys=True, default=list).encode())
    for path in zoo_models._sources(spec.family):
        digest.update(path.read_bytes())
    digest.update(Path(__file__).read_bytes().split(b"# -- end of cached" + b" definitions")[0])
    import importlib.metadata
    for package in ("tensorflow", "tf-keras"):
        digest.update(importlib.metadata.version(package).encode())
    return digest.hexdigest()[:16]


def representative(spec: Spec, samples: int = zoo_models.CALIBRATION_SAMPLES) -> np.ndarray:
    rng = np.random.default_rng(zoo_models.SEED)
    return rng.uniform(-1.0, 1.0, (samples, *spec.input_shape)).astype(np.float32)


def build_model(spec: Spec):
    from tinyconv import zoo
    from tinyconv.keras_compat import keras

    keras.utils.set_random_seed(zoo_models.SEED)
    return zoo.build(spec.family, spec.input_shape, spec.num_classes, spec.width, **spec.params)


def _convert(spec: Spec) -> bytes:
    from tinyconv.convert import to_int8_tflite
    from tinyconv.zoo.random_init import randomize_batchnorm

    model = build_model(spec)
    data = representative(spec)
    randomize_batchnorm(model, data, seed=zoo_models.SEED)
    zoo_models._temper_logits(model, data)
    return to_int8_tflite(model, data)


_converted: dict[str, bytes] = {}


def converted_spec(label: str, spec: Spec) -> bytes:
    """The int8 .tflite of `spec` (random weights, randomized BN, tempered logits), cached on
    disk under a key of everything that determines it; a cache hit imports no TensorFlow."""
    directory = zoo_models.cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{label}-{_cache_key(spec)}.tflite"
    if str(path) in _converted:
        return _converted[str(path)]
    with open(directory / f"{label}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            blob = _convert(spec)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(blob)
            os.replace(partial, path)
    _converted[str(path)] = path.read_bytes()
    return _converted[str(path)]


def converted_family(name: str) -> bytes:
    if name in zoo_models.SPECS:
        return zoo_models.converted(name)
    return converted_spec(name, EXTRA_SPECS[name])

# -- end of cached definitions (edits below do not invalidate converted models) ------------

# Families whose conversion takes over a minute on a loaded 2-core machine (cold cache).
SLOW_FAMILIES = {"efficientnet"}
FAST_RANDOM_CONFIGS = 2  # more in the slow run; tests/unit/test_space.py converts three more
RANDOM_CONFIGS = 12

_OPTIONS = ("stride", "dilation", "padding", "activation", "depth_multiplier", "keep_num_dims",
            "filter_size", "axes", "keep_dims", "axis", "perm", "paddings", "beta", "alpha")


def _tensor_signature(t):
    if t is None:
        return None
    quant = None if t.quant is None else (len(t.quant.scale), t.quant.axis if t.quant.per_channel else 0)
    return (t.shape, t.dtype.name, t.is_constant, quant)


def signature(graph) -> list[tuple]:
    """Everything about the ops that sizes, plans and codegen depend on (not the values)."""
    return [(op.kind, tuple(_tensor_signature(t) for t in op.inputs),
             tuple(_tensor_signature(t) for t in op.outputs),
             tuple((k, getattr(op, k)) for k in _OPTIONS if hasattr(op, k)))
            for op in graph.ops]


def assert_same_graph(keras_graph, tflite_graph) -> None:
    from tinyconv import deploy, targets
    from tinyconv.planner import plan_memory

    assert [op.kind for op in keras_graph.ops] == [op.kind for op in tflite_graph.ops]
    ours, theirs = signature(keras_graph), signature(tflite_graph)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a == b, f"op #{i} differs:\n predicted {a}\n converted {b}"
    assert [t.shape for t in keras_graph.inputs] == [t.shape for t in tflite_graph.inputs]
    assert [t.shape for t in keras_graph.outputs] == [t.shape for t in tflite_graph.outputs]
    assert keras_graph.weight_bytes() == tflite_graph.weight_bytes()
    assert keras_graph.total_macs() == tflite_graph.total_macs()
    for isa in Isa:
        assert plan_memory(keras_graph, isa).arena_bytes == plan_memory(tflite_graph, isa).arena_bytes, isa
    # What the NAS budgets: the deployment's RAM and the const arrays codegen emits
    # (int8 weights, int32 biases, requantization multipliers and shifts).
    board = targets.get_board("qemu-m7")
    ours_d = deploy.prepare(keras_graph, board, sram=1 << 40, flash=1 << 40)
    theirs_d = deploy.prepare(tflite_graph, board, sram=1 << 40, flash=1 << 40)
    assert ours_d.planned_ram_bytes == theirs_d.planned_ram_bytes
    assert ours_d.source.weights_bytes == theirs_d.source.weights_bytes


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
    from tinyconv.commands.zoo import family_cost
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
