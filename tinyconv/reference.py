"""The oracle: LiteRT's reference interpreter, and the inputs fed to it.

Every bit-exactness claim of tinyconv is measured against LiteRT with
`OpResolverType.BUILTIN_REF` (TFLite's reference kernels). The default resolver uses
optimized/XNNPACK kernels whose int8 results differ by a few LSB, so it is never used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .errors import TinyconvError
from .ir.graph import Quant

# Quiet TensorFlow/LiteRT's C++ logging (INFO lines on every interpreter creation).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_TENSOR_TYPE_NAMES = {
    0: "float32", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8",
}


@dataclass(frozen=True)
class IoTensor:
    """A model input or output as a caller must feed or read it."""

    index: int  # tensor index in the subgraph
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    quant: Quant | None  # None for float tensors and unquantized ones


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
    return schema


def parse_model(model: bytes):
    """The flatbuffer's object tree (schema ModelT); TinyconvError when it is no .tflite."""
    if not isinstance(model, (bytes, bytearray, memoryview)) or len(model) < 8:
        raise TinyconvError("not a .tflite model: too short")
    if bytes(model[4:8]) != b"TFL3":
        raise TinyconvError("not a .tflite model: missing the TFL3 file identifier")
    schema = _schema()
    try:
        parsed = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    except Exception as exc:  # a corrupt flatbuffer raises anything from struct to index errors
        raise TinyconvError(f"corrupt .tflite model: {type(exc).__name__}: {exc}") from None
    if not parsed.subgraphs:
        raise TinyconvError("the .tflite model has no subgraph")
    return parsed


def _io_tensor(subgraph, index: int) -> IoTensor:
    t = subgraph.tensors[index]
    name = t.name.decode() if isinstance(t.name, bytes) else (t.name or f"t{index}")
    dtype_name = _TENSOR_TYPE_NAMES.get(t.type)
    if dtype_name is None:
        raise TinyconvError(f"tensor {name!r} has an unsupported type code {t.type}")
    q = t.quantization
    quant = None
    if q is not None and q.scale is not None and len(q.scale) > 0:
        zps = [int(z) for z in q.zeroPoint] if q.zeroPoint is not None else [0] * len(q.scale)
        quant = Quant(tuple(float(s) for s in q.scale), tuple(zps), int(q.quantizedDimension))
    shape = tuple(int(d) for d in t.shape) if t.shape is not None else ()
    return IoTensor(index, name, shape, np.dtype(dtype_name), quant)


def model_io(model: bytes) -> tuple[list[IoTensor], list[IoTensor]]:
    """Inputs and outputs of the main subgraph: shapes, dtypes and quantization."""
    subgraph = parse_model(model).subgraphs[0]
    try:
        return ([_io_tensor(subgraph, int(i)) for i in subgraph.inputs],
                [_io_tensor(subgraph, int(i)) for i in subgraph.outputs])
    except (IndexError, TypeError) as exc:
        raise TinyconvError(f"malformed .tflite model: bad input/output tensor ({exc})") from None


def _quantize_consumers(model: bytes) -> dict[int, Quant]:
    """Input tensor index -> quantization of the int8 output of the QUANTIZE that reads it."""
    parsed = parse_model(model)
    subgraph = parsed.subgraphs[0]
    schema = _schema()
    result: dict[int, Quant] = {}
    graph_inputs = {int(i) for i in subgraph.inputs}
    for op in subgraph.operators or []:
        opcode = parsed.operatorCodes[op.opcodeIndex]
        code = max(opcode.builtinCode, opcode.deprecatedBuiltinCode)
        # op.inputs is a numpy array: test its length, not its truth value
        if code != schema.BuiltinOperator.QUANTIZE or op.inputs is None or len(op.inputs) == 0:
            continue
        src = int(op.inputs[0])
        if src in graph_inputs and src not in result:
            out = _io_tensor(subgraph, int(op.outputs[0]))
            if out.quant is not None and out.dtype == np.int8:
                result[src] = out.quant
    return result


def random_inputs(model: bytes, n: int, seed: int) -> list[list[np.ndarray]]:
    """`n` samples, each one array per model input, reproducible from `seed`.

    int8 inputs are uniform over [-128, 127]. A float input read by a QUANTIZE gets
    values of the dequantized int8 grid of that QUANTIZE, uniform over its whole range,
    so the quantization is exact and the int8 path sees every code; other float inputs
    are standard normal.
    """
    inputs, _ = model_io(model)
    quantized_by = _quantize_consumers(model)
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n):
        sample = []
        for t in inputs:
            if t.dtype == np.int8:
                sample.append(rng.integers(-128, 128, size=t.shape, dtype=np.int8))
            elif t.dtype == np.uint8:
                sample.append(rng.integers(0, 256, size=t.shape, dtype=np.uint8))
            elif t.dtype == np.float32 and t.index in quantized_by:
                q = quantized_by[t.index]
                codes = rng.integers(-128, 128, size=t.shape).astype(np.float32)
                sample.append(((codes - np.float32(q.zp)) * np.float32(q.s)).astype(np.float32))
            elif t.dtype == np.float32:
                sample.append(rng.standard_normal(size=t.shape).astype(np.float32))
            else:
                raise TinyconvError(f"input {t.name!r}: cannot draw random {t.dtype} values")
        samples.append(sample)
    return samples


def litert_interpreter(model: bytes):
    """A LiteRT interpreter on TFLite's reference kernels, tensors allocated."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    parse_model(model)  # a clear error for non-models before LiteRT's own messages
    try:
        interpreter = Interpreter(
            model_content=bytes(model),
            experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise TinyconvError(f"LiteRT cannot load the model: {_one_line(exc)}") from None
    return interpreter


def _one_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return "; ".join(lines[:3]) if lines else type(exc).__name__


def check_sample(sample: list[np.ndarray], inputs: list[IoTensor], k: int) -> list[np.ndarray]:
    """The sample's arrays in the inputs' dtypes and shapes; TinyconvError when they differ."""
    if len(sample) != len(inputs):
        raise TinyconvError(f"sample {k} has {len(sample)} arrays, the model takes {len(inputs)}")
    arrays = []
    for t, x in zip(inputs, sample):
        x = np.asarray(x)
        if x.dtype != t.dtype:
            raise TinyconvError(f"sample {k}, input {t.name!r}: dtype {x.dtype}, "
                                f"expected {t.dtype}")
        if tuple(x.shape) != t.shape:
            if x.size != int(np.prod(t.shape, dtype=np.int64)):
                raise TinyconvError(f"sample {k}, input {t.name!r}: shape {x.shape}, "
                                    f"expected {t.shape}")
            x = x.reshape(t.shape)
        arrays.append(np.ascontiguousarray(x))
    return arrays


def litert_outputs(model: bytes, samples: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    """Run every sample through one LiteRT BUILTIN_REF interpreter; one list per sample."""
    interpreter = litert_interpreter(model)
    inputs, outputs = model_io(model)
    results = []
    for k, sample in enumerate(samples):
        for t, x in zip(inputs, check_sample(sample, inputs, k)):
            interpreter.set_tensor(t.index, x)
        try:
            interpreter.invoke()
        except RuntimeError as exc:
            raise TinyconvError(f"LiteRT failed on sample {k}: {_one_line(exc)}") from None
        results.append([interpreter.get_tensor(t.index).copy() for t in outputs])
    return results
