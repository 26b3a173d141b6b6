"""Keras model -> float ONNX (tf2onnx, opset 17) -> QDQ int8 ONNX (onnxruntime static quantization).

The float graph keeps Keras' NHWC input (tf2onnx adds the NCHW transposes inside), so both
files take the same [N, H, W, C] float32 images as the Keras model. The int8 file is
calibrated on real images through a `CalibrationDataReader`; weights are per-channel int8.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import TinyconvError

OPSET = 17


@dataclass
class OnnxCheck:
    samples: int
    float_max_abs_diff: float     # float ONNX vs Keras outputs
    int8_top1_agreement: float    # QDQ int8 ONNX top-1 == Keras top-1


def export_float(model, path: Path) -> Path:
    """Write `model` as float ONNX to `path` (atomically); returns the path."""
    import tf2onnx

    from .keras_compat import tf

    spec = [tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name="input")]
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET, output_path=str(tmp))
    except Exception as e:  # tf2onnx raises anything from its graph rewriters
        tmp.unlink(missing_ok=True)
        raise TinyconvError(f"ONNX export of {model.name} failed: {type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else ''}") from None
    os.replace(tmp, path)
    return path


def quantize_qdq(float_path: Path, out_path: Path, calibration: np.ndarray) -> Path:
    """QDQ int8 ONNX (per-channel weights, int8 activations) calibrated on `calibration`."""
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    input_name = _input_name(float_path)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._it = iter(np.asarray(calibration, np.float32)[:, None])

        def get_next(self):
            sample = next(self._it, None)
            return None if sample is None else {input_name: sample}

    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=".qdq-") as tmpdir:
        tmp = Path(tmpdir) / out_path.name
        try:
            quantize_static(str(float_path), str(tmp), Reader(), quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType.QInt8,
                            weight_type=QuantType.QInt8)
        except Exception as e:  # onnxruntime's quantizer raises bare Exceptions
            raise TinyconvError(f"ONNX int8 quantization of {float_path.name} failed: "
                                f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
        os.replace(tmp, out_path)
    return out_path


def _input_name(path: Path) -> str:
    import onnx

    return onnx.load(str(path), load_external_data=False).graph.input[0].name


def run(path: Path, x: np.ndarray) -> np.ndarray:
    """Outputs of an ONNX model on float images `x` with onnxruntime (CPU)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return session.run(None, {name: np.asarray(x, np.float32)})[0]


def export(model, float_path: Path, int8_path: Path, calibration: np.ndarray,
           check_images: np.ndarray) -> OnnxCheck:
    """Both ONNX files, then a check of each against Keras on `check_images`."""
    export_float(model, float_path)
    quantize_qdq(float_path, int8_path, calibration)
    keras_out = model.predict(check_images, verbose=0)
    float_out = run(float_path, check_images)
    int8_out = run(int8_path, check_images)
    return OnnxCheck(len(check_images), float(np.max(np.abs(float_out - keras_out))),
                     float(np.mean(np.argmax(int8_out, 1) == np.argmax(keras_out, 1))))
