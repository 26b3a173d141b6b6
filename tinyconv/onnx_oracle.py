"""onnxruntime as the oracle of ONNX models: the same inputs, the bytes tinyconv's must equal.

tinyconv's model of an ONNX file takes and gives int8 NHWC bytes (tinyconv/ir/onnx_import.py);
onnxruntime takes the ONNX model's own inputs. The boundaries recorded by the importer map
one to the other exactly:
- input: stored int8 + offset is the ONNX quantized value (uint8 models: + 128); where the
  model input is float (a QuantizeLinear first), it is fed (q - zp) * scale in float32,
  which onnxruntime's QuantizeLinear (round half even of x / scale, + zp) turns back into
  exactly q (|q - zp| <= 255, the float32 product and quotient err by under an ulp);
- output: a float output (a DequantizeLinear last) is (q - zp) * scale, from which q is
  recovered exactly the same way; then - offset, and the NCHW -> NHWC permutation.
onnxruntime runs with the CPU execution provider and default session options, except for
QDQ models with int8 activations (session_config): on x86-64 onnxruntime keeps those
QDQ groups in float by default (QDQIsInt8Allowed() is false there; true on Arm64), and
MLAS's float convolutions and GEMMs sum in an order that depends on the host's ISA
(NCHWc blocks of 8 channels with AVX2, 16 with AVX-512F; FMA3 vs AVX-512 SGEMM
kernels), so those bytes cannot be reproduced independently of the host. With
`session.qdqisint8allowed=1` (onnxruntime's own default on Arm64) it fuses them into the
integer QLinear kernels, as it does for uint8 activations; tinyconv reproduces those.
On x86-64 MLAS runs int8 activations through its u8s8 kernels with A ^ 0x80 and the
zero point + 128 (exact; s8s8 kernels only with AVX-VNNI-INT8). Their sums are exact
int32 with VNNI (vpdpbusd) or AMX, but vpmaddubsw (AVX2, or AVX-512 without VNNI) adds
pairs of u8 x s8 products in int16 with saturation (255 * 127 * 2 > 32767), so on such
hosts onnxruntime itself can differ where the weights are large, for uint8 and int8
activations alike: its integer results depend on the host's ISA there. tinyconv computes
the exact sums (those of VNNI/AMX hosts, such as this one, and of Arm64).
"""

from __future__ import annotations

import numpy as np

from . import reference, worker
from .errors import TinyconvError
from .ir.graph import Graph
from .ir.onnx_import import Boundary, import_onnx


def _inverse(perm: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(perm.index(i) for i in range(len(perm)))


def to_onnx(stored: np.ndarray, b: Boundary) -> np.ndarray:
    """One IR input array (int8, physical order) as the ONNX model's input."""
    q = np.asarray(stored, np.int32) + b.offset
    q = np.transpose(q, _inverse(b.perm)) if q.ndim == len(b.perm) else q
    if b.onnx_dtype == "float32":
        return ((q - b.zero_point).astype(np.float32) * np.float32(b.scale)).astype(np.float32)
    return q.astype(np.uint8 if b.onnx_dtype == "uint8" else np.int8)


def from_onnx(value: np.ndarray, b: Boundary) -> np.ndarray:
    """One ONNX output as the IR's int8 array (physical order)."""
    value = np.asarray(value)
    if b.onnx_dtype == "float32":
        q = np.rint(value.astype(np.float32) / np.float32(b.scale)).astype(np.int64) \
            + b.zero_point
    else:
        q = value.astype(np.int64)
    low = 0 if b.offset else -128
    q = np.clip(q, low, low + 255) - b.offset
    if q.ndim == len(b.perm):
        q = np.transpose(q, b.perm)
    return np.ascontiguousarray(q.astype(np.int8))


def random_inputs(graph: Graph, n: int, seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.integers(-128, 128, size=t.shape, dtype=np.int64).astype(np.int8)
             for t in graph.inputs] for _ in range(n)]


# QDQ with int8 activations: onnxruntime fuses the groups into its integer kernels (its
# default on Arm64) instead of running them in float (its default on x86-64).
INT8_QDQ_CONFIG = {"session.qdqisint8allowed": "1"}


def session_config(graph: Graph) -> dict[str, str]:
    """The session config entries the oracle sets for this model (none: the defaults)."""
    return dict(INT8_QDQ_CONFIG) if graph.metadata["onnx"].get("qdq_int8") else {}


def session_note(graph: Graph) -> str:
    """The oracle's session options, in words (verify's reference note)."""
    config = session_config(graph)
    if not config:
        return "default session options"
    entries = ", ".join(f"{k}={v}" for k, v in config.items())
    return (f"session options {entries}: QDQ with int8 activations run in onnxruntime's "
            "integer kernels, its default on Arm64; x86-64's default runs them in float")


def onnxruntime_outputs(model_bytes: bytes, samples: list[list[np.ndarray]],
                        graph: Graph | None = None,
                        config: dict[str, str] | None = None) -> list[list[np.ndarray]]:
    """onnxruntime's outputs (CPU execution provider; session config entries `config`,
    by default session_config(graph)) on `samples` (IR int8 arrays), as IR int8 arrays.
    onnxruntime runs in a child process of its own (tinyconv/worker.py), so a crash there
    is one line."""
    graph = graph if graph is not None else import_onnx(model_bytes)
    io = graph.metadata["onnx"]
    feeds = [{b.name: to_onnx(a, b) for a, b in zip(sample, io["inputs"])}
             for sample in samples]
    reply, _ = worker.run(__name__, "onnxruntime", {
        "model": bytes(model_bytes), "feeds": feeds, "names": [b.name for b in io["outputs"]],
        "config": session_config(graph) if config is None else dict(config)})
    return [[from_onnx(v, b) for v, b in zip(out, io["outputs"])] for out in reply["outputs"]]


def _serve(request: dict) -> dict:
    """onnxruntime's child process (tinyconv/worker.py) serves one request."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    for key, value in request.get("config", {}).items():
        options.add_session_config_entry(key, value)
    try:
        session = ort.InferenceSession(request["model"], options,
                                       providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        raise TinyconvError(f"onnxruntime cannot load the model: "
                            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") \
            from None
    return {"outputs": [session.run(request["names"], feed) for feed in request["feeds"]]}


ORACLE = "onnxruntime"


def check_setup(model_bytes: bytes, source: str, inputs: list[list[np.ndarray]] | None,
                n: int, seed: int, match: str
                ) -> tuple[Graph, list[list[np.ndarray]], "reference.Reference"]:
    """verify's start for an ONNX model: the graph, the samples (random int8 ones unless
    given) and onnxruntime's outputs for them. `match` must be "auto" or "onnxruntime"."""
    if match not in ("auto", ORACLE):
        raise TinyconvError(f"{source} is an ONNX model: its reference is onnxruntime "
                            f"(--match {ORACLE} or auto), not {match}")
    graph = import_onnx(model_bytes, source=source)
    samples = inputs if inputs is not None else random_inputs(graph, n, seed)
    for k, sample in enumerate(samples):
        if len(sample) != len(graph.inputs) or any(
                a.shape != t.shape or a.dtype != t.dtype.numpy
                for a, t in zip(sample, graph.inputs)):
            raise TinyconvError(f"sample {k} does not match the model's inputs "
                                f"{[(t.shape, t.dtype.numpy_name) for t in graph.inputs]}")
    return graph, samples, reference.Reference(
        ORACLE, onnxruntime_outputs(model_bytes, samples, graph), session_note(graph))
