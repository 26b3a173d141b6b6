"""Converted int8 zoo models shared by the tests, cached on disk.

`converted_spec(label, spec)` returns the .tflite bytes of any zoo model `Spec` (random-init
weights with randomized BatchNorm statistics and tempered logits, calibrated on fixed-seed
data); `converted(name)` those of the six deployment models in `SPECS`, `converted_family`
also those of the small configurations in `EXTRA_SPECS` (every family). Converting takes
5-35 s per model, so the result is cached under `$TINYCONV_CACHE` (or
`~/.cache/tinyconv/zoo/`), keyed by a hash of everything that determines it: the spec, the
zoo and converter sources, this module's definitions above the "end of cached definitions"
line, and the TensorFlow version. A cache hit imports no TensorFlow. Safe under
pytest-xdist: a file lock makes one worker convert while the others wait.

Import it as `from zoo_models import converted` (tests/conftest.py puts tests/support on
sys.path).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SEED = 20240607
CALIBRATION_SAMPLES = 8


@dataclass(frozen=True)
class Spec:
    family: str
    input_shape: tuple[int, int, int]
    num_classes: int
    width: float = 1.0
    params: dict[str, Any] = field(default_factory=dict)
    # An untrained classifier's Dense bias is zero and the converter drops it; a trained one
    # is not (True: a random nonzero bias is set before converting, as training would).
    classifier_bias: bool = False


SPECS: dict[str, Spec] = {
    "mobilenetv2": Spec("mobilenetv2", (96, 96, 3), 2, 0.35),
    "resnet8": Spec("resnet8", (32, 32, 3), 10),
    "dscnn": Spec("dscnn", (49, 10, 1), 12),
    "mobilenetv3_small": Spec("mobilenetv3_small", (64, 64, 3), 10, 0.5, {"last_channels": 256}),
    "squeezenet": Spec("squeezenet", (32, 32, 3), 10, 0.5),
    "shufflenet": Spec("shufflenet", (32, 32, 3), 10, 0.5, {"groups": 2, "repeats": (2, 3, 2)}),
}

# Small MCU-scale configurations of the other families (with SPECS: every zoo family).
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
    "fusednet": Spec("fusednet", (32, 32, 3), 10, 0.5,
                     {"kernels": (3, 5, 3, 3, 3, 5), "expansions": (1, 2, 3, 3, 2, 1),
                      "depths": (2, 1, 2, 1)}),
    "plainnet": Spec("plainnet", (32, 32, 3), 10, 0.5,
                     {"kernels": (3, 5, 3, 3, 3), "depths": (1, 2, 1, 1)}),
    "resnet": Spec("resnet", (32, 32, 3), 10, 0.5,
                   {"kernels": (3, 5, 3, 3), "expansions": (1, 2, 1, 1), "depths": (2, 1, 1)}),
    "efficientnet": Spec("efficientnet", (32, 32, 3), 10, 0.25),
}
ALL_FAMILIES = list(SPECS) + list(EXTRA_SPECS)

# Zoo modules a family's builder imports besides its own, _common, arch and random_init.
_ZOO_IMPORTS = {"mcunet": ("backbone", "mobilenetv2"), "fusednet": ("backbone", "mobilenetv2"),
                "plainnet": ("backbone", "mobilenetv2"), "resnet": ("backbone", "mobilenetv2"),
                "efficientnet": ("mobilenetv2",)}


def spec_of(name: str) -> Spec:
    return SPECS.get(name) or EXTRA_SPECS[name]


def cache_dir() -> Path:
    root = os.environ.get("TINYCONV_CACHE")
    return Path(root) / "zoo" if root else Path.home() / ".cache" / "tinyconv" / "zoo"


def representative(spec: Spec | str, samples: int = CALIBRATION_SAMPLES) -> np.ndarray:
    """The fixed-seed float calibration batch of `spec` (uniform in [-1, 1])."""
    spec = SPECS[spec] if isinstance(spec, str) else spec
    rng = np.random.default_rng(SEED)
    return rng.uniform(-1.0, 1.0, (samples, *spec.input_shape)).astype(np.float32)


def _sources(family: str) -> list[Path]:
    zoo = REPO / "tinyconv" / "zoo"
    modules = (family, "_common", "arch", "random_init", *_ZOO_IMPORTS.get(family, ()))
    return [zoo / f"{m}.py" for m in modules] + [REPO / "tinyconv" / "convert.py",
                                                 REPO / "tinyconv" / "keras_compat.py"]


def cache_key(spec: Spec) -> str:
    digest = hashlib.sha256(json.dumps(asdict(spec), sort_keys=True, default=list).encode())
    digest.update(Path(__file__).read_bytes().split(b"# -- end of cached" + b" definitions")[0])
    for path in _sources(spec.family):
        digest.update(path.read_bytes())
    for package in ("tensorflow", "tf-keras"):
        digest.update(importlib.metadata.version(package).encode())
    return digest.hexdigest()[:16]


def build_model(spec: Spec):
    """The float Keras model of `spec`, with the weights every conversion of it starts from."""
    from tinyconv import zoo
    from tinyconv.keras_compat import keras

    keras.utils.set_random_seed(SEED)
    return zoo.build(spec.family, spec.input_shape, spec.num_classes, spec.width, **spec.params)


def prepared_model(spec: Spec):
    """`build_model` with randomized BatchNorm statistics, tempered logits and (when the spec
    asks) a trained-like classifier bias: the float model that is converted."""
    from tinyconv.zoo.random_init import randomize_batchnorm

    model = build_model(spec)
    data = representative(spec)
    randomize_batchnorm(model, data, seed=SEED)
    if spec.classifier_bias:
        dense = model.get_layer("classifier_dense")
        kernel, bias = dense.get_weights()
        rng = np.random.default_rng(SEED)
        dense.set_weights([kernel, rng.normal(0, 0.1, bias.shape).astype(np.float32)])
    _temper_logits(model, data)
    return model


def _convert(spec: Spec) -> bytes:
    from tinyconv.convert import to_int8_tflite

    return to_int8_tflite(prepared_model(spec), representative(spec))


def int8_inputs(name: str, count: int = 2, seed: int = 1) -> np.ndarray:
    """`count` random int8 input tensors [count, 1, H, W, C] for model `name`, full int8 range."""
    spec = SPECS[name]
    rng = np.random.default_rng(seed)
    return rng.integers(-128, 128, (count, 1, *spec.input_shape), dtype=np.int8)


def _temper_logits(model, data, target_std: float = 1.0) -> None:
    """Scale the classifier so logits spread ~`target_std`: a saturated softmax (one 127, the
    rest -128) would hide any error upstream from an output comparison.

    The last weighted layer is scaled; what lies between it and the softmax (ReLU, global
    pooling, reshape) is positively homogeneous, so the logits scale by the same factor.
    """
    from tinyconv.keras_compat import keras

    logits = keras.Model(model.inputs, model.layers[-1].input)(data).numpy()
    spread = float(logits.std(axis=-1).mean())
    last = next(layer for layer in reversed(model.layers) if layer.get_weights())
    factor = target_std / max(spread, 1e-6)
    last.set_weights([w * factor for w in last.get_weights()])


_converted: dict[str, bytes] = {}


def converted_spec(label: str, spec: Spec) -> bytes:
    """The int8 .tflite of `spec`, from the disk cache when fresh (`label` names the file)."""
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{label}-{cache_key(spec)}.tflite"
    if str(path) in _converted:
        return _converted[str(path)]
    with open(directory / f"{label}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not path.exists():
            blob = _convert(spec)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(blob)
            os.replace(partial, path)
    _converted[str(path)] = path.read_bytes()
    return _converted[str(path)]

# -- end of cached definitions (edits below do not invalidate converted models) ------------


def converted(name: str) -> bytes:
    """The int8 .tflite of deployment model `name` (one of SPECS)."""
    if name not in SPECS:
        raise KeyError(f"no deployment model {name!r}; known: {', '.join(SPECS)}")
    return converted_spec(name, SPECS[name])


def converted_family(name: str) -> bytes:
    """The int8 .tflite of family `name` (SPECS or EXTRA_SPECS)."""
    return converted_spec(name, spec_of(name))


# -- comparing a predicted graph with the converted one -------------------------------------
_OPTIONS = ("stride", "dilation", "padding", "activation", "depth_multiplier", "keep_num_dims",
            "filter_size", "axes", "keep_dims", "axis", "perm", "paddings", "beta", "alpha")
# One board per kernel family: portable C, Armv7E-M DSP, Helium MVE.
ISA_BOARDS = ("qemu-m3", "qemu-m7", "qemu-m55")


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


def assert_same_signature(predicted, converted) -> None:
    assert [op.kind for op in predicted.ops] == [op.kind for op in converted.ops]
    for i, (a, b) in enumerate(zip(signature(predicted), signature(converted))):
        assert a == b, f"op #{i} differs:\n predicted {a}\n converted {b}"
    assert [t.shape for t in predicted.inputs] == [t.shape for t in converted.inputs]
    assert [t.shape for t in predicted.outputs] == [t.shape for t in converted.outputs]


def deployment_numbers(graph) -> dict[str, int]:
    """What the NAS budgets, per kernel family: the planned arena, the deployment's RAM, the
    const arrays codegen emits (int8 weights, int32 biases, requantization multipliers and
    shifts) and flash (those + the code estimate), plus MACs and weight bytes."""
    from tinyconv import cost, deploy, targets

    numbers = {"macs": graph.total_macs(), "weight_bytes": graph.weight_bytes()}
    for name in ISA_BOARDS:
        board = targets.get_board(name)
        d = deploy.prepare(graph, board, sram=1 << 40, flash=1 << 40)
        consts = d.source.weights_bytes
        numbers.update({f"{name} arena": d.plan.arena_bytes,
                        f"{name} planned ram": d.planned_ram_bytes,
                        f"{name} constants": consts,
                        f"{name} flash": consts + cost.code_bytes(graph, d.plan.isa)})
    return numbers


def assert_same_graph(predicted, converted) -> None:
    """`predicted` (graph_from_keras, ArchConfig.graph) is the converted model's graph as far
    as anything sized, planned or generated goes, and deploys to the same arena and flash."""
    assert_same_signature(predicted, converted)
    assert deployment_numbers(predicted) == deployment_numbers(converted)
