"""The one reader of .tflite flatbuffers.

Parses bytes into the schema's object tree (the `*T` classes generated from TFLite's
schema.fbs, shipped by the `tflite-micro` package: flatbuffers and numpy only, no
TensorFlow) and answers what every user of a .tflite needs: op names, tensor types and
shapes, constant data and quantization parameters. Whatever the bytes, every failure is
a TinyconvError naming `source` and the cause; indices read from the file are bounds-checked
before use.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ...errors import TinyconvError
from ..graph import DType, Quant

IDENTIFIER = b"TFL3"  # the flatbuffer file identifier at bytes 4..8

# TensorType code -> DType, for the types tinyconv handles.
TENSOR_TYPES: dict[int, DType] = {
    0: DType.FLOAT32, 2: DType.INT32, 3: DType.UINT8, 4: DType.INT64, 6: DType.BOOL,
    7: DType.INT16, 9: DType.INT8,
}


@functools.lru_cache(maxsize=1)
def bindings() -> Any:
    """The generated schema module (schema_py_generated of tflite-micro)."""
    try:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated
    except ImportError as e:  # pragma: no cover - a dependency of the package
        raise TinyconvError(f"reading .tflite files needs the tflite-micro package ({e})") \
            from None
    return schema_py_generated


def parse(data: bytes | bytearray | memoryview, source: str = "model") -> Any:
    """The model's object tree (schema ModelT) with at least one subgraph.

    A file without the TFL3 identifier, a truncated or corrupt flatbuffer: TinyconvError.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TinyconvError(f"{source}: not a TFLite flatbuffer (got {type(data).__name__}, "
                            "not bytes)")
    data = bytes(data)
    if len(data) < 8:
        raise TinyconvError(f"{source}: not a TFLite flatbuffer ({len(data)} bytes: too short "
                            "for the 'TFL3' identifier); expected an int8 .tflite model")
    if data[4:8] != IDENTIFIER:
        raise TinyconvError(f"{source}: not a TFLite flatbuffer (no 'TFL3' identifier); "
                            "expected an int8 .tflite model")
    try:
        model = bindings().ModelT.InitFromPackedBuf(bytearray(data), 0)
    except Exception as e:  # flatbuffers raises anything on garbage: IndexError, struct.error
        kind = type(e).__name__ if type(e).__module__ == "builtins" else \
            f"{type(e).__module__}.{type(e).__name__}"
        raise TinyconvError(f"{source}: corrupt or truncated .tflite file "
                            f"({kind} while parsing)") from None
    if not model.subgraphs:
        raise TinyconvError(f"{source}: corrupt .tflite file: it has no subgraph")
    return model


def main_subgraph(model: Any) -> Any:
    """Subgraph 0, the one the interpreter runs."""
    return model.subgraphs[0]


def ints(values: Any) -> list[int]:
    """A flatbuffer int vector (None, list or numpy array) as Python ints."""
    return [] if values is None else [int(v) for v in values]


def text(value: Any, default: str = "") -> str:
    """A flatbuffer string (bytes, possibly not UTF-8) as one printable line."""
    if value is None:
        return default
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return "".join(c if c.isprintable() else "?" for c in str(value))


# -- operators -----------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def builtin_names() -> dict[int, str]:
    """BuiltinOperator code -> name (CONV_2D, ...)."""
    return {value: name for name, value in vars(bindings().BuiltinOperator).items()
            if name.isupper() and isinstance(value, int)}


def builtin_code(opcode: Any) -> int:
    """The op code of an OperatorCode: old converters wrote it into the int8
    `deprecatedBuiltinCode`, new ones into the int32 `builtinCode` (127, the placeholder
    for greater codes, in the deprecated slot), so the larger is the real one."""
    return max(int(opcode.builtinCode), int(opcode.deprecatedBuiltinCode))


def op_name(model: Any, opcode_index: int, source: str = "model") -> str:
    """`CONV_2D` for builtins, `CUSTOM:<name>` for custom ops, `BUILTIN_<n>` for codes this
    schema does not know; TinyconvError when the index is outside the model's op codes."""
    codes = model.operatorCodes or []
    if not 0 <= opcode_index < len(codes):
        raise TinyconvError(f"{source}: corrupt .tflite file: op code index {opcode_index} "
                            f"is outside the model's {len(codes)} op codes")
    opcode = codes[opcode_index]
    code = builtin_code(opcode)
    if code == bindings().BuiltinOperator.CUSTOM:
        return f"CUSTOM:{text(opcode.customCode)}"
    return builtin_names().get(code, f"BUILTIN_{code}")


def ops_of(model: Any, source: str = "model") -> list[str]:
    """Op names of every operator of every subgraph, in order."""
    return [op_name(model, int(op.opcodeIndex), source)
            for subgraph in model.subgraphs or [] for op in subgraph.operators or []]


# -- tensors -------------------------------------------------------------------------------

def type_name(code: int) -> str:
    """TensorType code -> its schema name (FLOAT16, INT4...), for messages."""
    names = {v: k for k, v in vars(bindings().TensorType).items() if k.isupper()}
    return names.get(code, f"type code {code}")


def tensor_name(t: Any, index: int) -> str:
    return text(t.name) or f"t{index}"


def tensor_dtype(t: Any, name: str, source: str = "model") -> DType:
    dtype = TENSOR_TYPES.get(int(t.type))
    if dtype is None:
        raise TinyconvError(f"{source}: tensor {name!r} has type {type_name(int(t.type))}, "
                            "which tinyconv does not support")
    return dtype


def tensor_shape(t: Any) -> tuple[int, ...]:
    return tuple(ints(t.shape))


def quantization(t: Any, name: str, source: str = "model") -> Quant | None:
    """The tensor's affine quantization, or None when it has none (float, int32 shapes).

    Zero points, when present, must be one per scale (the schema allows anything).
    """
    q = t.quantization
    if q is None or q.scale is None or len(q.scale) == 0:
        return None
    scales = tuple(float(s) for s in q.scale)
    zero_points = tuple(ints(q.zeroPoint)) or (0,) * len(scales)
    if len(zero_points) != len(scales):
        raise TinyconvError(f"{source}: tensor {name!r} has {len(scales)} scales but "
                            f"{len(zero_points)} zero points")
    if not all(math.isfinite(s) for s in scales):
        raise TinyconvError(f"{source}: tensor {name!r} has a non-finite quantization scale")
    return Quant(scale=scales, zero_point=zero_points, axis=int(q.quantizedDimension))


def buffer_bytes(model: Any, t: Any, data: bytes, name: str,
                 source: str = "model") -> bytes | None:
    """The raw bytes of a constant tensor's buffer, or None for an activation (empty
    buffer). Buffers stored inline or, in files over 2 GB, at an offset past the
    flatbuffer (`offset`/`size`) are both read; indices and ranges are checked."""
    buffers = model.buffers or []
    index = int(t.buffer)
    if not 0 <= index < len(buffers):
        if index == 0:
            return None  # buffer 0 is the conventional empty buffer; some writers omit it
        raise TinyconvError(f"{source}: corrupt .tflite file: tensor {name!r} refers to "
                            f"buffer {index}, the model has {len(buffers)}")
    buffer = buffers[index]
    if buffer.data is not None and len(buffer.data) > 0:
        return np.asarray(buffer.data, dtype=np.uint8).tobytes()
    offset, size = int(buffer.offset or 0), int(buffer.size or 0)
    if offset > 1:
        if size < 0 or offset + size > len(data):
            raise TinyconvError(f"{source}: corrupt .tflite file: tensor {name!r}'s buffer "
                                f"lies at bytes {offset}..{offset + size}, past the end of "
                                f"the {len(data)}-byte file")
        return data[offset:offset + size] if size > 0 else None
    return None


def constant(raw: bytes | None, dtype: DType, shape: tuple[int, ...], name: str,
             source: str = "model") -> np.ndarray | None:
    """A constant's bytes as an array of its dtype and shape; the byte count must be
    exactly product(shape) * itemsize."""
    if raw is None:
        return None
    if any(d < 0 for d in shape):
        raise TinyconvError(f"{source}: constant tensor {name!r} has a negative dimension "
                            f"in its shape {list(shape)}")
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        raise TinyconvError(f"{source}: constant tensor {name!r} has {len(raw)} bytes, its "
                            f"shape {list(shape)} of {dtype.name} needs {expected}")
    return np.frombuffer(raw, dtype=dtype.numpy).reshape(shape)
