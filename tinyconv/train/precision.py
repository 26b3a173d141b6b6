"""The compute precision of the float training (Recipe.precision, `--precision`).

`fit` trains a bfloat16 twin of the model (`training_twin`): the same layers, rebuilt with
Keras' "mixed_bfloat16" policy, so activations and arithmetic are bfloat16 while weights,
optimizer state and batch-norm statistics stay float32 variables. The output end (the last
layer with weights and everything after it) stays float32, so the logits, the softmax and
the loss keep full precision. At the end of `fit` the twin's weights are copied into the
caller's float32 model: what QAT, conversion and export see is an ordinary float32 model.
defaults.py has the measurements behind `auto`.
"""

from __future__ import annotations

import functools
from pathlib import Path

PRECISION_POLICY = {"bfloat16": "mixed_bfloat16"}
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=1)
def cpu_computes_bf16() -> bool:
    """Whether this CPU has bfloat16 arithmetic in hardware (x86 AVX512-BF16 or AMX-BF16;
    read from /proc/cpuinfo, so False where that does not exist)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def _has_gpu() -> bool:
    from ..keras_compat import tf

    return bool(tf.config.list_logical_devices("GPU"))


def has_depthwise(model) -> bool:
    from ..keras_compat import keras

    kinds = (keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
    return any(isinstance(getattr(layer, "layer", layer), kinds)
               for layer in model._flatten_layers(include_self=False))


def resolve_precision(precision: str, model) -> str:
    """"float32" or "bfloat16": `precision`, with "auto" decided for `model` on this machine."""
    if precision != "auto":
        return precision
    if not cpu_computes_bf16() or _has_gpu() or has_depthwise(model):
        return "float32"
    return "bfloat16"


def training_twin(model, precision: str):
    """`model` itself for float32; for bfloat16 a copy of it (same architecture, names and
    current weights) whose layers compute in bfloat16 up to its output end."""
    if precision == "float32":
        return model
    from ..keras_compat import keras

    weighted = [i for i, layer in enumerate(model.layers) if layer.weights]
    output_end = {layer.name for layer in model.layers[weighted[-1] if weighted else len(model.layers):]}

    def rebuild(layer, policy: str):
        if isinstance(layer, keras.Model):  # a nested model: its layers, one by one
            return keras.models.clone_model(layer, clone_function=lambda inner: rebuild(inner, policy))
        return layer.__class__.from_config(dict(layer.get_config(), dtype=policy))

    twin = keras.models.clone_model(model, clone_function=lambda layer: rebuild(
        layer, "float32" if layer.name in output_end else PRECISION_POLICY[precision]))
    twin.set_weights(model.get_weights())
    return twin
