"""Run an exported model on the (emulated) device and compare every output byte with
LiteRT's reference kernels; report memory and instructions beside it.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import deploy, firmware, reference
from .errors import TinyconvError
from .ir.graph import Graph
from .ir.tflite_import import import_tflite
from .targets import Board


@dataclass
class VerifyReport:
    model: str
    board: str
    cpu: str
    kernels: str
    reference: str  # whose outputs were compared: "litert" (reference kernels) or "tflm"
    samples: int
    outputs_compared: int
    mismatched_bytes: int
    max_abs_diff: int
    arena_bytes: int
    planned_peak_live_bytes: int
    layer_lower_bound_bytes: int
    stack_bytes: int
    stack_reserved_bytes: int
    static_ram_bytes: int
    ram_bytes: int
    flash_bytes: int
    instructions_per_inference: int | None
    tflm_arena_bytes: int | None = None
    tflm_mismatched_bytes: int | None = None
    plan_strategy: str = ""
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.mismatched_bytes == 0

    def write_json(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")


def samples_to_bytes(samples: list[list[np.ndarray]]) -> bytes:
    return b"".join(np.ascontiguousarray(a).tobytes() for sample in samples for a in sample)


def split_outputs(raw: bytes, graph: Graph, count: int) -> list[list[np.ndarray]]:
    result, pos = [], 0
    for _ in range(count):
        sample = []
        for t in graph.outputs:
            n = t.nbytes
            sample.append(np.frombuffer(raw[pos:pos + n], dtype=t.dtype.numpy).reshape(t.shape))
            pos += n
        result.append(sample)
    if pos != len(raw):
        raise TinyconvError(f"firmware wrote {len(raw)} output bytes, expected {pos}")
    return result


def load_inputs(path: Path, graph: Graph) -> list[list[np.ndarray]]:
    """A .npy (or .npz with one array per model input) of a batch of inputs."""
    try:
        loaded = np.load(path)
    except (OSError, ValueError) as e:
        raise TinyconvError(f"cannot read inputs {path}: {e}") from None
    arrays = [loaded[k] for k in loaded.files] if hasattr(loaded, "files") else [loaded]
    if len(arrays) != len(graph.inputs):
        raise TinyconvError(f"{path}: {len(arrays)} arrays for {len(graph.inputs)} inputs")
    batches = []
    for a, t in zip(arrays, graph.inputs):
        if tuple(a.shape[1:]) != tuple(t.shape[1:]) and tuple(a.shape) != tuple(t.shape):
            raise TinyconvError(f"{path}: input shape {a.shape} does not match the model's "
                                f"{t.shape} (expected a batch of them)")
        a = a.reshape((-1,) + tuple(t.shape))
        if a.dtype != t.dtype.numpy:
            raise TinyconvError(f"{path}: inputs are {a.dtype}, the model takes "
                                f"{t.dtype.numpy_name}")
        batches.append(a)
    return [[b[i] for b in batches] for i in range(len(batches[0]))]


def _diff(ours: list[list[np.ndarray]], theirs: list[list[np.ndarray]],
          examples: list[str] | None = None) -> tuple[int, int, int]:
    """(bytes compared, bytes that differ, largest integer difference)."""
    compared = mismatched = max_diff = 0
    for s, (sample_ours, sample_theirs) in enumerate(zip(ours, theirs)):
        for o, (a, b) in enumerate(zip(sample_ours, sample_theirs)):
            if examples is not None and len(examples) < 10 and not np.array_equal(a, b):
                where = np.argwhere(a != np.asarray(b))[:3]
                examples += [f"sample {s} output {o} at {tuple(int(i) for i in w)}: "
                             f"ours {a[tuple(w)]} reference {np.asarray(b)[tuple(w)]}"
                             for w in where]
            a_bytes = np.frombuffer(a.tobytes(), np.uint8)
            b_bytes = np.frombuffer(np.ascontiguousarray(b, dtype=a.dtype).tobytes(), np.uint8)
            compared += a_bytes.size
            mismatched += int(np.count_nonzero(a_bytes != b_bytes))
            if np.issubdtype(a.dtype, np.integer):
                d = np.abs(a.astype(np.int64) - np.asarray(b).astype(np.int64))
                max_diff = max(max_diff, int(d.max(initial=0)))
    return compared, mismatched, max_diff


def verify(model_bytes: bytes, board: Board, *, source: str = "<model>", n: int = 20,
           seed: int = 0, inputs: list[list[np.ndarray]] | None = None,
           kernels: str = "opt", sram: int | None = None, flash: int | None = None,
           stack_bytes: int = deploy.DEFAULT_STACK_BYTES, count_instructions: bool = True,
           compare_tflm: bool = False, work_dir: Path | None = None,
           match: str = "litert") -> VerifyReport:
    """`match="tflm"` generates code that reproduces TFLite Micro where it differs from
    LiteRT's reference kernels, and then TFLite Micro's outputs are the ones compared."""
    graph = import_tflite(model_bytes, source=source)
    deployment = deploy.prepare(graph, board, kernels=kernels, sram=sram, flash=flash,
                                stack_bytes=stack_bytes, match=match)
    samples = inputs if inputs is not None else reference.random_inputs(model_bytes, n, seed)
    if match == "tflm":
        from . import tflm
        expected = tflm.tflm_outputs(model_bytes, samples)
    else:
        expected = reference.litert_outputs(model_bytes, samples)

    with tempfile.TemporaryDirectory(prefix="tinyconv-verify-") as tmp:
        root = Path(work_dir) if work_dir is not None else Path(tmp)
        model_dir = root / "model"
        deploy.write_model_dir(deployment, model_dir)
        built = firmware.build(model_dir, board, root / "build", kernels=kernels,
                               ram_bytes=deployment.ram_budget,
                               flash_bytes=deployment.flash_budget, stack_bytes=stack_bytes)
        run = firmware.run(built, samples_to_bytes(samples), len(samples),
                           count_instructions=count_instructions and board.qemu_machine is not None)
    ours = split_outputs(run.outputs, graph, len(samples))
    examples: list[str] = []
    compared, mismatched, max_diff = _diff(ours, expected, examples)

    report = VerifyReport(
        model=source, board=board.name, cpu=board.cpu, kernels=kernels, reference=match,
        samples=len(samples),
        outputs_compared=compared, mismatched_bytes=mismatched, max_abs_diff=max_diff,
        arena_bytes=deployment.plan.arena_bytes,
        planned_peak_live_bytes=deployment.plan.peak_live_bytes,
        layer_lower_bound_bytes=deployment.plan.layer_lower_bound,
        stack_bytes=run.stack_bytes, stack_reserved_bytes=built.stack_reserved,
        static_ram_bytes=built.static_ram_bytes,
        ram_bytes=built.static_ram_bytes + run.stack_bytes,
        flash_bytes=built.flash_bytes,
        instructions_per_inference=run.instructions_per_inference,
        plan_strategy=deployment.plan.strategy, mismatches=examples)
    if built.arena_bytes != deployment.plan.arena_bytes:
        raise TinyconvError(f"firmware arena is {built.arena_bytes} B, the plan said "
                            f"{deployment.plan.arena_bytes} B")
    if compare_tflm:
        from . import tflm
        report.tflm_arena_bytes = tflm.tflm_arena(model_bytes).head_bytes
        _, report.tflm_mismatched_bytes, _ = _diff(ours, tflm.tflm_outputs(model_bytes, samples))
    return report
