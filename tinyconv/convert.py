"""Keras model -> int8 .tflite (full-integer post-training quantization), and op listing.

`ops_of` reads the file through the one .tflite reader (tinyconv/ir/schema, no
TensorFlow); `to_int8_tflite` imports TensorFlow lazily through `tinyconv.keras_compat`.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from tinyconv.keras_compat import keras


def to_int8_tflite(
    model: "keras.Model",
    representative: np.ndarray,
    *,
    int8_io: bool = True,
) -> bytes:
    """Convert `model` to a fully int8 .tflite calibrated on `representative`.

    `representative` is a float batch [N, *input_shape]; each sample is fed
    separately (batch 1) so the calibration matches inference shapes. With
    `int8_io` the model's input and output tensors are int8 too (no QUANTIZE /
    DEQUANTIZE at the edges); otherwise they stay float32.
    """
    from tinyconv.keras_compat import tf

    samples = np.asarray(representative, dtype=np.float32)
    expected = tuple(model.input_shape[1:])
    if samples.ndim != len(expected) + 1 or tuple(samples.shape[1:]) != expected:
        raise ValueError(
            f"representative data has shape {samples.shape}, expected [N, {', '.join(map(str, expected))}]"
        )
    if len(samples) == 0:
        raise ValueError("representative data is empty: calibration needs at least one sample")

    def representative_dataset():
        for sample in samples:
            yield [sample[None, ...]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if int8_io:
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    from tinyconv.quiet import native_stderr

    with warnings.catch_warnings(), native_stderr():
        # Emitted whenever int8 I/O is requested; the statistics come from calibration.
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected")
        return bytes(converter.convert())


def ops_of(tflite_bytes: bytes) -> list[str]:
    """Builtin op names of every operator in the model, in execution order (all subgraphs).

    Custom ops are listed as `CUSTOM:<code>`.
    """
    from tinyconv.ir.schema import tflite as schema

    return schema.ops_of(schema.parse(tflite_bytes))
