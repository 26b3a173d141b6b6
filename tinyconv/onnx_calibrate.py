"""Float ONNX + a calibration set -> the int8 ONNX that tinyconv imports (`--calibrate`).

onnxruntime's own tool quantizes: quantize_static, QDQ format, per-channel int8 weights and
uint8 activations. uint8 because that is the form onnxruntime (x86-64) runs entirely in its
integer kernels (QLinearConv, QGemm, QLinearAdd...): with int8 activations its graph
optimizer converts what it can to uint8 and leaves the rest (a Conv whose input and output
types differ after that) as DequantizeLinear -> float op -> QuantizeLinear, whose float
sums tinyconv does not reproduce bit for bit. The int8 file is written where the caller
says (next to the output) so the user can check it with onnxruntime.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import TinyconvError

MIN_OPSET = 13
QUANTIZED_OPS = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul",
                 "QGemm", "QLinearAdd", "QLinearMul", "ConvInteger", "MatMulInteger"}


def is_float_onnx(data: bytes) -> bool:
    """An ONNX model without any quantized op (a float model to calibrate)."""
    import onnx

    try:
        model = onnx.load_model_from_string(bytes(data))
    except Exception as e:
        raise TinyconvError(f"not a readable ONNX model ({type(e).__name__})") from None
    return not any(n.op_type in QUANTIZED_OPS for n in model.graph.node)


def _input(model) -> tuple[str, tuple[int, ...]]:
    inits = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise TinyconvError(f"--calibrate needs a model with one input, this one has "
                            f"{len(inputs)}")
    dims = [d.dim_value if d.HasField("dim_value") else 1 for d in
            inputs[0].type.tensor_type.shape.dim]
    return inputs[0].name, tuple(int(d) for d in dims)


def calibration_samples(spec: str, shape: tuple[int, ...], n: int = 200) -> np.ndarray:
    """[k, *shape[1:]] float32 calibration inputs: a .npy file of a batch of model inputs,
    or a dataset (a name of tinyconv's datasets, a folder, a .npz) whose images are laid
    out for the model: NHWC, or NCHW where the model's input is [N, C, H, W] with C 1 or 3."""
    if str(spec).endswith(".npy"):
        try:
            x = np.load(spec)
        except (OSError, ValueError) as e:
            raise TinyconvError(f"cannot read calibration inputs {spec}: {e}") from None
        x = np.asarray(x, np.float32)
        if tuple(x.shape[1:]) != tuple(shape[1:]):
            if tuple(x.shape) == tuple(shape[1:]):
                x = x[None]
            else:
                raise TinyconvError(f"{spec}: calibration inputs {list(x.shape)} do not "
                                    f"match the model's input {list(shape)} (a batch of them)")
        return x
    from .data.load import load_dataset

    if len(shape) != 4:
        raise TinyconvError(f"--calibrate {spec}: a dataset calibrates image models; the "
                            f"input here is {list(shape)} (give a .npy of inputs)")
    nchw = shape[1] in (1, 3) and shape[3] not in (1, 3)
    hwc = (shape[2], shape[3], shape[1]) if nchw else (shape[1], shape[2], shape[3])
    images = load_dataset(spec, input_shape=hwc).calibration(n)
    images = np.asarray(images, np.float32)
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2)) if nchw else images


def quantize(data: bytes, spec: str, out_path: Path) -> bytes:
    """quantize_static of the float model `data` on the inputs `spec` names; the QDQ int8
    model is written to `out_path` and returned."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    model = onnx.load_model_from_string(bytes(data))
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < MIN_OPSET:  # per-channel DequantizeLinear (its axis) needs opset 13
        try:
            model = onnx.version_converter.convert_version(model, MIN_OPSET)
        except Exception as e:
            raise TinyconvError(f"cannot convert the model from opset {opset} to "
                                f"{MIN_OPSET}: {type(e).__name__}: {e}") from None
        data = model.SerializeToString()
    name, shape = _input(model)
    samples = calibration_samples(spec, shape)
    batch = max(shape[0], 1)  # the model's own (fixed) batch size
    if len(samples) < batch:
        samples = np.concatenate([samples] * -(-batch // len(samples)))
    batches = samples[:len(samples) // batch * batch].reshape((-1, batch) + samples.shape[1:])

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(batches)

        def get_next(self):
            sample = next(self.it, None)
            return None if sample is None else {name: sample}

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".calibrate-") as tmp:
        float_path, int8_path = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        float_path.write_bytes(bytes(data))
        try:
            quantize_static(str(float_path), str(int8_path), Reader(),
                            quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        except Exception as e:  # onnxruntime's quantizer raises bare Exceptions
            raise TinyconvError(f"onnxruntime's quantize_static failed: {type(e).__name__}: "
                                f"{str(e).splitlines()[0] if str(e) else ''}") from None
        result = int8_path.read_bytes()
    tmp_out = out_path.with_name(f".{out_path.name}.tmp")
    tmp_out.write_bytes(result)
    os.replace(tmp_out, out_path)
    return result


def load(path: Path, calibrate: str | None) -> tuple[bytes, bool]:
    """The model file's bytes, quantized first where it is a float ONNX model and
    `calibrate` names the inputs (the bool: whether it was). A float ONNX model without
    `calibrate`, or `calibrate` on anything but a float ONNX model, is an error."""
    from .ir.onnx_import import is_onnx

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TinyconvError(f"cannot read model {path}: {e.strerror or e}") from None
    onnx_model = is_onnx(data, path.name)
    if not onnx_model or not is_float_onnx(data):
        if calibrate:
            raise TinyconvError(f"--calibrate quantizes a float ONNX model; {path} is "
                                + ("already quantized" if onnx_model else "not ONNX"))
        return data, False
    if not calibrate:
        raise TinyconvError(f"{path} is a float ONNX model: give --calibrate DATASET or "
                            "--calibrate inputs.npy to quantize it (onnxruntime's "
                            "quantize_static)")
    with tempfile.TemporaryDirectory(prefix="tinyconv-calibrate-") as tmp:
        return quantize(data, calibrate, Path(tmp) / "int8.onnx"), True


def int8_name(model: Path) -> str:
    return f"{Path(model).stem}_int8.onnx"
