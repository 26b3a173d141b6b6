"""The oracles: LiteRT's reference interpreter (and, where it cannot run a model, TFLite
Micro), and the inputs fed to them.

Every bit-exactness claim of tinyconv is measured against LiteRT with
`OpResolverType.BUILTIN_REF` (TFLite's reference kernels). The default resolver uses
optimized/XNNPACK kernels whose int8 results differ by a few LSB, so it is never used.

LiteRT runs in a child process (tinyconv/worker.py), as TFLM does: a crash there (an
abort, a corrupted heap) becomes one line naming the oracle and the model. With
`match="auto"` (the default) `reference_outputs` compares with LiteRT where it loads and
runs the model, else with TFLite Micro, and says why in `Reference.note`: LiteRT refuses
some models TFLM runs (a rank-1 bias whose per-channel `quantized_dimension` is 3, as old
converters wrote it, "quantized_dimension must be in range [0, 1)").
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from . import worker
from .errors import TinyconvError
from .ir.graph import Quant
from .ir.schema import tflite as schema

# Quiet TensorFlow/LiteRT's C++ logging (INFO lines on every interpreter creation).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclass(frozen=True)
class IoTensor:
    """A model input or output as a caller must feed or read it."""

    index: int  # tensor index in the subgraph
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    quant: Quant | None  # None for float tensors and unquantized ones


def parse_model(model: bytes, source: str = "model"):
    """The flatbuffer's object tree (schema ModelT); TinyconvError when it is no .tflite."""
    return schema.parse(model, source)


def _io_tensor(subgraph, index: int) -> IoTensor:
    tensors = subgraph.tensors or []
    if not 0 <= index < len(tensors):
        raise TinyconvError(f"malformed .tflite model: tensor {index} does not exist (the "
                            f"subgraph has {len(tensors)})")
    t = tensors[index]
    name = schema.tensor_name(t, index)
    dtype = schema.tensor_dtype(t, name)
    return IoTensor(index, name, schema.tensor_shape(t), dtype.numpy,
                    schema.quantization(t, name))


def model_io(model: bytes) -> tuple[list[IoTensor], list[IoTensor]]:
    """Inputs and outputs of the main subgraph: shapes, dtypes and quantization."""
    parsed = parse_model(model)
    subgraph = schema.main_subgraph(parsed)
    return ([_io_tensor(subgraph, i) for i in schema.ints(subgraph.inputs)],
            [_io_tensor(subgraph, i) for i in schema.ints(subgraph.outputs)])


def _quantize_consumers(model: bytes) -> dict[int, Quant]:
    """Input tensor index -> quantization of the int8 output of the QUANTIZE that reads it."""
    parsed = parse_model(model)
    subgraph = schema.main_subgraph(parsed)
    result: dict[int, Quant] = {}
    graph_inputs = set(schema.ints(subgraph.inputs))
    for op in subgraph.operators or []:
        inputs, outputs = schema.ints(op.inputs), schema.ints(op.outputs)
        if schema.op_name(parsed, int(op.opcodeIndex)) != "QUANTIZE" or not inputs \
                or not outputs:
            continue
        src = inputs[0]
        if src in graph_inputs and src not in result:
            out = _io_tensor(subgraph, outputs[0])
            if out.quant is not None and out.dtype == np.int8:
                result[src] = out.quant
    return result


def random_inputs(model: bytes, n: int, seed: int) -> list[list[np.ndarray]]:
    """`n` samples, each one array per model input, reproducible from `seed`.

    int8 and int16 inputs are uniform over their whole range, int32 / int64 ones over
    [-32768, 32767], bool ones fair coins. A float input read by a QUANTIZE gets
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
            elif t.dtype == np.int16:
                sample.append(rng.integers(-32768, 32768, size=t.shape, dtype=np.int16))
            elif t.dtype in (np.int32, np.int64):
                sample.append(rng.integers(-32768, 32768, size=t.shape, dtype=t.dtype))
            elif t.dtype == np.bool_:
                sample.append(rng.integers(0, 2, size=t.shape).astype(np.bool_))
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


def litert_interpreter(model: bytes, *, preserve_all_tensors: bool = False):
    """A LiteRT interpreter on TFLite's reference kernels, tensors allocated.
    `preserve_all_tensors` keeps every intermediate tensor readable after invoke()."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    parse_model(model)  # a clear error for non-models before LiteRT's own messages
    try:
        interpreter = Interpreter(
            model_content=bytes(model),
            experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
            experimental_preserve_all_tensors=preserve_all_tensors)
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
        arrays.append(np.array(x, order="C"))  # ascontiguousarray makes a scalar 1-d
    return arrays


# Whose outputs a comparison uses: "auto" (LiteRT where it runs the model, else TFLM),
# "litert" or "tflm"; and what each is called in reports.
ORACLE_NAMES = {"litert": "LiteRT (reference kernels)", "tflm": "TFLite Micro",
                "onnxruntime": "onnxruntime (CPU execution provider)"}


@dataclass
class Reference:
    """An oracle's outputs for some samples, and why it is not LiteRT when it is not."""

    name: str                          # a key of ORACLE_NAMES
    outputs: list[list[np.ndarray]]
    note: str = ""                     # e.g. "LiteRT cannot load the model: ..."

    def describe(self) -> str:
        return ORACLE_NAMES[self.name] + (f" ({self.note})" if self.note else "")


def reference_outputs(model: bytes, samples: list[list[np.ndarray]],
                      match: str = "auto") -> Reference:
    """The oracle's outputs for `samples`: LiteRT's, TFLM's, or with "auto" LiteRT's unless
    LiteRT cannot load or run the model (or crashes) and TFLM can."""
    from . import tflm

    if match == "tflm":
        return Reference("tflm", tflm.tflm_outputs(model, samples))
    if match == "litert":
        return Reference("litert", litert_outputs(model, samples))
    if match != "auto":
        raise TinyconvError(f"unknown reference {match!r} (choose auto, litert or tflm)")
    inputs, _ = model_io(model)
    for k, sample in enumerate(samples):  # bad input is the user's error, not LiteRT's
        check_sample(sample, inputs, k)
    wrong = litert_known_wrong(model)
    if wrong:
        return Reference("tflm", tflm.tflm_outputs(model, samples), note=wrong)
    try:
        return Reference("litert", litert_outputs(model, samples))
    except (worker.OracleError, worker.OracleCrashed) as litert_failure:
        try:
            outputs = tflm.tflm_outputs(model, samples)
        except (worker.OracleError, worker.OracleCrashed) as tflm_failure:
            raise TinyconvError(f"no reference runs this model: {litert_failure}; and "
                                f"{tflm_failure}") from None
        return Reference("tflm", outputs, note=str(litert_failure))


def litert_known_wrong(model: bytes) -> str:
    """Why LiteRT's reference kernels cannot be the oracle of `model`, if they cannot: an op
    they are measured to compute wrongly (tests keep each case). Empty when none."""
    parsed = parse_model(model)
    subgraph = schema.main_subgraph(parsed)
    for index, op in enumerate(subgraph.operators or []):
        name = schema.op_name(parsed, int(op.opcodeIndex))
        inputs = schema.ints(op.inputs)
        if name == "SUM" and inputs:
            t = _io_tensor(subgraph, inputs[0])
            if t.dtype in (np.int8, np.int16) and t.quant is not None:
                # LiteRT 2.3's quantized SUM reads int8 values as unsigned (eight -10s sum
                # to -67) and gives garbage for int16; TFLM computes what LiteRT's source
                # says (tests/kernels/test_kernels_reduce_ops.py).
                return (f"LiteRT's reference SUM is wrong for {t.dtype} (op #{index}); "
                        "TFLite Micro's is right")
    return ""


def choose_reference(model: bytes, match: str = "auto") -> Reference:
    """Which oracle `match` means for `model` (one all-zero sample is run to find out)."""
    inputs, _ = model_io(model)
    return reference_outputs(model, [[np.zeros(t.shape, t.dtype) for t in inputs]], match)


def litert_outputs(model: bytes, samples: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    """Run every sample through one LiteRT BUILTIN_REF interpreter (in LiteRT's child
    process); one list per sample. Stateful models carry their state from sample to
    sample, as on the device."""
    inputs, _ = model_io(model)
    checked = [check_sample(s, inputs, k) for k, s in enumerate(samples)]
    reply, _ = worker.run(__name__, "LiteRT",
                          {"kind": "outputs", "model": bytes(model), "samples": checked})
    return reply["outputs"]


def litert_intermediates(model: bytes,
                         samples: list[list[np.ndarray]]) -> list[dict[int, np.ndarray]]:
    """Every op's output tensors after running each sample through LiteRT BUILTIN_REF
    (all tensors preserved; in LiteRT's child process): one dict per sample, tensor
    index -> value, in LiteRT's execution order."""
    inputs, _ = model_io(model)
    checked = [check_sample(s, inputs, k) for k, s in enumerate(samples)]
    reply, _ = worker.run(__name__, "LiteRT",
                          {"kind": "intermediates", "model": bytes(model), "samples": checked})
    return reply["intermediates"]


def _serve(request: dict) -> dict:
    """LiteRT's child process (tinyconv/worker.py) serves one request."""
    if request["kind"] == "outputs":
        return {"outputs": _outputs_here(request["model"], request["samples"])}
    return {"intermediates": _intermediates_here(request["model"], request["samples"])}


def _outputs_here(model: bytes, samples: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    interpreter = litert_interpreter(model)
    inputs, outputs = model_io(model)
    results = []
    for k, sample in enumerate(samples):
        _invoke(interpreter, inputs, sample, k)
        results.append([interpreter.get_tensor(t.index).copy() for t in outputs])
    return results


def _invoke(interpreter, inputs: list[IoTensor], sample: list[np.ndarray], k: int) -> None:
    """Set sample `k`'s inputs and run it; a LiteRT failure is one TinyconvError line."""
    for t, x in zip(inputs, check_sample(sample, inputs, k)):
        interpreter.set_tensor(t.index, x)
    try:
        interpreter.invoke()
    except RuntimeError as exc:
        raise TinyconvError(f"LiteRT failed on sample {k}: {_one_line(exc)}") from None


def _intermediates_here(model: bytes,
                        samples: list[list[np.ndarray]]) -> list[dict[int, np.ndarray]]:
    interpreter = litert_interpreter(model, preserve_all_tensors=True)
    inputs, _ = model_io(model)
    produced = [int(t) for op in interpreter._get_ops_details() for t in op["outputs"]
                if int(t) >= 0]
    results = []
    for k, sample in enumerate(samples):
        _invoke(interpreter, inputs, sample, k)
        results.append({t: interpreter.get_tensor(t).copy() for t in produced})
    return results
